/* Block execution: validate and apply transactions against an overlay. */
#ifndef SEALCHAIN_LEDGER_EXEC_H
#define SEALCHAIN_LEDGER_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/genesis.h"
#include "ledger/state.h"

/* Size limits: a transaction body is small (names, keys, hashes); a block of
 * LEDGER_MAX_BLOCK_TXS stays a few MB, well under a peer frame. */
#define LEDGER_MAX_TX_LEN    4096
#define LEDGER_MAX_BLOCK_TXS 4096
/* A transaction may not claim validity further ahead than this, so a signed
 * but refused one cannot be held back and slipped in much later (DESIGN §4). */
#define LEDGER_MAX_TX_VALIDITY_MS (24ull * 3600 * 1000)
/* Default approval window of a grant (DESIGN §1: 7 days). */
#define LEDGER_DEFAULT_APPROVAL_WINDOW_MS (7ull * 24 * 3600 * 1000)

/* One block's execution at (height, time_ms) over committed state. Every
 * transaction goes through the one validate-then-apply path of the rules,
 * whether the caller is mempool admission, the primary building a block, a
 * backup checking one, or sync replaying one. */
struct ledger_exec;

/* base and g are borrowed and must outlive the exec. NULL on out-of-memory. */
struct ledger_exec *ledger_exec_new(const struct ledger_genesis *g,
                                    const struct ledger_state_base *base, uint64_t height,
                                    uint64_t time_ms);
void ledger_exec_free(struct ledger_exec *ex);

/* Signature checks this node already made: fn(ctx, id, leaf) is true when
 * the transaction of that id whose whole encoding hashes to leaf (ledger_merkle_tx_leaf:
 * SHA-256 of body, signer and signature together) had every signature
 * verified here before (mempool admission). Sound because every signed byte
 * is inside those bytes and a seal's key never changes: the same bytes
 * verify the same way again. Only the Ed25519 work is skipped; every rule
 * still runs. */
typedef bool (*ledger_verified_fn)(void *ctx, const uint8_t id[LEDGER_HASH_LEN],
                                   const uint8_t leaf[LEDGER_HASH_LEN]);

/* For the next ledger_exec_* call on ex only: the caller computed the tx's id
 * (ledger_tx_id) and, may be NULL, its leaf (ledger_merkle_tx_leaf) from the
 * very bytes it passes, and the execution uses them instead of hashing the
 * tx again (each hash is a pass over the tx, several per tx per node).
 * Both borrowed until that call returns. */
void ledger_exec_known(struct ledger_exec *ex, const uint8_t *id, const uint8_t *leaf);

/* Consulted by ledger_exec_tx from now on (fn NULL: verify everything). */
void ledger_exec_set_verified(struct ledger_exec *ex, ledger_verified_fn fn, void *ctx);

/* Validates one encoded Tx against the state so far (cheap checks first, then
 * signatures) and, if valid, applies it. On refusal nothing is written and
 * the error code is returned with an operator-readable reason in errmsg.
 * out_id (may be NULL) receives the tx id. */
int ledger_exec_tx(struct ledger_exec *ex, const uint8_t *tx, size_t tx_len,
                   uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len);

/* Same checks as ledger_exec_tx, writes nothing (mempool admission). */
int ledger_exec_check(struct ledger_exec *ex, const uint8_t *tx, size_t tx_len,
                      uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len);

/* Turns ex into the mempool's view (ledger/mempool.h) and moves it to block
 * height at time_ms: from then on ledger_exec_tx runs every rule but the
 * signature checks (each tx it is given was verified at admission, see
 * ledger_exec_recheck) and then its state writes, with no block cap, so the
 * next transaction is checked against the ones applied before it. No replay
 * record and no tx ids or leaves are kept (the mempool finds duplicates by id
 * itself): ledger_exec_count counts, ledger_exec_ids/_leaves are not for it.
 * Called before each admission as the tip and the clock move; never for a
 * block. */
void ledger_exec_mempool(struct ledger_exec *ex, uint64_t height, uint64_t time_ms);

/* The checks of ledger_exec_check but the signature checks, for a tx that
 * passed ledger_exec_check before (a mempool re-check after a block): the
 * signer's signature is over bytes that cannot change, and the seal
 * signature is under the key of a seal whose key never changes, so only
 * the state-dependent rules can have turned. Never for a tx not yet checked. */
int ledger_exec_recheck(struct ledger_exec *ex, const uint8_t *tx, size_t tx_len,
                        uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len);

/* One Ed25519 check a transaction needs: sig by key over tag ‖ genesis hash
 * ‖ payload. A plain value (no pointers), so it can travel to another thread. */
struct ledger_sigjob {
    int tag;  /* enum ledger_tag */
    int code; /* the refusal when it fails: BAD_SIGNATURE or BAD_SEAL_SIGNATURE */
    uint8_t key[LEDGER_KEY_LEN];
    uint8_t sig[LEDGER_SIG_LEN];
    size_t payload_len;
    uint8_t payload[LEDGER_MAX_TX_LEN];
};
/* A transaction needs at most two: its signer's and, for a use, the seal's. */
#define LEDGER_MAX_SIGJOBS 2
struct ledger_sigjobs {
    size_t n;
    struct ledger_sigjob job[LEDGER_MAX_SIGJOBS];
};

/* The checks of ledger_exec_check, except that the signature checks are not
 * made but listed in *out_jobs: mempool admission split so that the
 * Ed25519 work can run on another thread (ledger_sigjobs_verify) while the
 * state rules run on the thread that owns the store. */
int ledger_exec_collect(struct ledger_exec *ex, const uint8_t *tx, size_t tx_len,
                        struct ledger_sigjobs *out_jobs, uint8_t out_id[LEDGER_HASH_LEN],
                        char *errmsg, size_t errmsg_len);

/* ledger_exec_tx, but the signature checks are listed in *out_jobs (emptied
 * first) instead of made (none for a tx the verified callback names): the
 * caller must make every one before it uses anything this execution
 * produced, and drop the execution when one fails (a certified sync batch:
 * ledger.c verifies a block's checks on all cores at once). */
int ledger_exec_tx_deferred(struct ledger_exec *ex, const uint8_t *tx, size_t tx_len,
                            struct ledger_sigjobs *out_jobs, uint8_t out_id[LEDGER_HASH_LEN],
                            char *errmsg, size_t errmsg_len);

/* Makes the checks (pure; any thread). Returns 0, or the failing job's code
 * with a reason in errmsg (may be NULL). */
int ledger_sigjobs_verify(const struct ledger_sigjobs *jobs,
                          const uint8_t genesis[static LEDGER_HASH_LEN], char *errmsg,
                          size_t errmsg_len);

/* The same checks as a single allocation sized to what they cover (a
 * struct ledger_sigjobs reserves two whole transactions, ~8 KiB, for each
 * admission waiting in the thread pool; this holds ~100 bytes plus the
 * signed bytes). Plain memory: it can travel to another thread. NULL on
 * out-of-memory; free() it. */
struct ledger_sigjobs_packed;
struct ledger_sigjobs_packed *ledger_sigjobs_pack(const struct ledger_sigjobs *jobs);
/* As ledger_sigjobs_verify, over a packed copy. */
int ledger_sigjobs_packed_verify(const struct ledger_sigjobs_packed *p,
                                 const uint8_t genesis[static LEDGER_HASH_LEN], char *errmsg,
                                 size_t errmsg_len);

/* Computes the tx root over the applied txs' ids and the new cumulative state
 * root from prev_state_root. Call once, after the last ledger_exec_tx.
 * out_tx_root may be NULL: a block opened before execution had its tx root
 * checked then (ledger/block.h), and is not hashed twice. */
int ledger_exec_finish(struct ledger_exec *ex,
                       const uint8_t prev_state_root[static LEDGER_HASH_LEN], uint8_t *out_tx_root,
                       uint8_t out_state_root[static LEDGER_HASH_LEN]);

/* The writes so far; borrowed, valid until ledger_exec_free. */
struct ledger_overlay *ledger_exec_overlay(struct ledger_exec *ex);

/* Number of applied txs and their ids (borrowed, valid until the next call
 * that applies a tx or ledger_exec_free). */
size_t ledger_exec_count(const struct ledger_exec *ex);
const uint8_t (*ledger_exec_ids(const struct ledger_exec *ex))[LEDGER_HASH_LEN];
/* The tx tree's values of the applied txs (ledger_merkle_tx_leaf), same
 * lifetime as ledger_exec_ids. */
const uint8_t (*ledger_exec_leaves(const struct ledger_exec *ex))[LEDGER_HASH_LEN];

/* The status a query reports for a use at time now_ms (usually the tip's
 * block time). Pending uses lapse lazily: the stored record stays PENDING
 * until a later use, approval or rejection under the same grant touches it,
 * so a query must compute the lapse itself. Returns stored_status
 * (a UsageStatus value), or USAGE_STATUS_LAPSED when it is PENDING and
 * now_ms > usage_time_ms + approval_window_ms (the grant's resolved window). */
int ledger_usage_status_at(int stored_status, uint64_t usage_time_ms, uint64_t approval_window_ms,
                           uint64_t now_ms);

/* Writes the genesis organisations (one OrgRecord per validator, height 0)
 * into ov. Called once when a store is created. */
int ledger_state_genesis(const struct ledger_genesis *g, struct ledger_overlay *ov);

#endif
