/* The ledger facade the node uses: admission, build, validate and commit of blocks. */
#ifndef SEALCHAIN_LEDGER_LEDGER_H
#define SEALCHAIN_LEDGER_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/exec.h"
#include "ledger/genesis.h"
#include "ledger/store.h"

/*
 * struct ledger = genesis + store + tip. It executes blocks with ledger/exec.h
 * (the one validate-then-apply path) over committed state and writes them
 * with ledger_store_commit (one durable LMDB transaction per block or sync
 * batch).
 *
 * Fail-stop (DESIGN.md §4): when a commit fails, or a block that carries a
 * valid commit certificate executes differently here (a refused tx, another
 * state root), the ledger enters the failed state: that call and every later
 * write return LEDGER_E_FATAL, ledger_errmsg() says why, and the node must
 * stop. Refusing a bad block (bad decoding, wrong parent, bad certificate) is
 * not a failure: it returns a refusal code and changes nothing.
 *
 * Messages: every call that fails leaves a reason with context in
 * ledger_errmsg() (valid until the next call on the ledger).
 * Threads: one thread drives a struct ledger.
 */

/* A block is at most LEDGER_MAX_BLOCK_TXS txs of LEDGER_MAX_TX_LEN bytes with
 * their framing, plus the header: anything longer is refused before decoding. */
#define LEDGER_MAX_HEADER_LEN 512
#define LEDGER_MAX_BLOCK_LEN                                                                       \
    (LEDGER_MAX_BLOCK_TXS * (LEDGER_MAX_TX_LEN + 4) + LEDGER_MAX_HEADER_LEN)
#define LEDGER_ERRMSG_LEN 512
#define LEDGER_REASON_LEN 200

struct ledger;

/* A decoded block header, plain values. */
struct ledger_header {
    uint8_t chain[LEDGER_HASH_LEN];
    uint64_t height;
    uint64_t view;
    uint8_t prev_hash[LEDGER_HASH_LEN];
    uint64_t time_ms;
    uint32_t proposer;
    uint8_t tx_root[LEDGER_HASH_LEN];
    uint8_t state_root[LEDGER_HASH_LEN];
    uint32_t tx_count;
    uint8_t hash[LEDGER_HASH_LEN]; /* SHA-256 of the header bytes */
};

/* Strictly decodes an encoded header (ledger/codec.h rules, fields of the
 * right sizes) into *out. Returns 0, LEDGER_E_TOO_LARGE or LEDGER_E_MALFORMED. */
int ledger_header_decode(const uint8_t *hdr, size_t len, struct ledger_header *out);

/* Strictly decodes an encoded Block and its header (for the node's clock
 * check before validation, and for sync). Returns 0, LEDGER_E_TOO_LARGE,
 * LEDGER_E_MALFORMED or NOMEM. */
int ledger_block_header(const uint8_t *block, size_t len, struct ledger_header *out);

/* True-or-why for a block's bytes against the digest consensus names it by:
 * strict decoding, the header hashes to digest, and the body matches the
 * header's tx count and tx root (so every signature in it). No execution.
 * Returns 0, LEDGER_E_TOO_LARGE, LEDGER_E_MALFORMED, LEDGER_E_BAD_BLOCK (other
 * digest), LEDGER_E_BAD_TX_ROOT or LEDGER_E_NOMEM. */
int ledger_block_matches(const uint8_t *block, size_t len,
                         const uint8_t digest[static LEDGER_HASH_LEN]);

/* ledger_block_matches for a node: the same checks (when digest is not
 * NULL), and the block stays opened in l, so that ledger_validate_block or
 * ledger_commit_block handed the same bytes next do not decode it or
 * recompute its tx root again (one opening per block; DESIGN.md §3). The
 * header goes to *out_hdr (may be NULL). Returns the codes of
 * ledger_block_matches, with the reason in ledger_errmsg(l). */
int ledger_block_check(struct ledger *l, const uint8_t *block, size_t len,
                       const uint8_t digest[LEDGER_HASH_LEN], struct ledger_header *out_hdr);

/* Backup (DESIGN.md §3): the header h of a block that came in a PRE-PREPARE
 * of view pp_view (reproposal: a prepared block re-proposed after a view
 * change). h must name as proposer the primary of its own view (view mod n),
 * and that view must be pp_view, or for a re-proposal not above it (the
 * block keeps the view it was first proposed in). g borrowed for the call.
 * Returns 0, LEDGER_E_BAD_PROPOSER or LEDGER_E_BAD_VIEW, with the reason in
 * errmsg (errmsg_len bytes; may be NULL). */
int ledger_header_check_proposal(const struct ledger_genesis *g, const struct ledger_header *h,
                                 uint64_t pp_view, bool reproposal, char *errmsg,
                                 size_t errmsg_len);

/* Opens the ledger in dir for genesis g (borrowed; copied). On first open the
 * store is created and the genesis organisations written at height 0
 * (ledger_state_genesis). A store made for another genesis is refused
 * (LEDGER_E_WRONG_CHAIN). opt may be NULL. *out owned by the caller
 * (ledger_close); on failure NULL, with the reason in errmsg.
 * ledger_crypto_init() must have been called. */
int ledger_open(const char *dir, const struct ledger_genesis *g,
                const struct ledger_store_options *opt, struct ledger **out, char *errmsg,
                size_t errmsg_len);
/* Frees everything; NULL is a no-op. */
void ledger_close(struct ledger *l);

/* Borrowed, valid until ledger_close. The last refusal's reason; once
 * failed, the cause of the failure as the store keeps it, with LMDB's own
 * reason ("commit block 812: mdb_txn_commit: No space left on device"). */
const char *ledger_errmsg(const struct ledger *l);
const struct ledger_genesis *ledger_genesis_get(const struct ledger *l);
struct ledger_store *ledger_store_get(struct ledger *l);
/* The one failed state (fail-stop) is the store's: true once a write failed
 * or a certified block diverged (ledger_store_failed). */
bool ledger_failed(const struct ledger *l);
void ledger_tip_get(const struct ledger *l, struct ledger_tip *out);

/* Mempool admission: the rules of ledger_exec_check for a tx in block
 * tip + 1 at time now_ms, over committed state (a tx the mempool holds is
 * not seen). out_id (may be NULL) gets the tx id. Returns 0 or the refusal
 * code, with the reason in errmsg (errmsg_len bytes; may be NULL). */
int ledger_check_tx(struct ledger *l, const uint8_t *tx, size_t tx_len, uint64_t now_ms,
                    uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len);

/* The mempool's view of state (ledger/mempool.h): committed state plus the
 * transactions the node's mempool holds. Borrowed, valid until ledger_close. */
struct ledger_mempool;
struct ledger_mempool *ledger_mempool_get(struct ledger *l);

/* Signatures this node already verified (exec.h, ledger_verified_fn): block
 * building, validation and sync skip the Ed25519 work for transactions fn
 * names, and run every rule. fn NULL (the default) verifies everything. fn
 * is called on the thread that drives the ledger. */
void ledger_set_verified(struct ledger *l, ledger_verified_fn fn, void *ctx);

/* Mempool admission in two halves, so that the Ed25519 work can leave the
 * thread that owns the store: the rules of ledger_check_tx, but the
 * signature checks are listed in *out_jobs instead of made. The caller runs
 * ledger_sigjobs_verify (exec.h; pure, any thread) and, when that passes,
 * admits with ledger_recheck_tx (state may have moved meanwhile). */
struct ledger_sigjobs;
int ledger_check_tx_split(struct ledger *l, const uint8_t *tx, size_t tx_len, uint64_t now_ms,
                          struct ledger_sigjobs *out_jobs, uint8_t out_id[LEDGER_HASH_LEN],
                          char *errmsg, size_t errmsg_len);

/* ledger_check_tx_split for a tx whose id the caller computed from these
 * very bytes (ledger_tx_id): it is not hashed again. */
int ledger_check_tx_split_known(struct ledger *l, const uint8_t *tx, size_t tx_len,
                                const uint8_t id[LEDGER_HASH_LEN], uint64_t now_ms,
                                struct ledger_sigjobs *out_jobs, char *errmsg, size_t errmsg_len);

/* After a block: the same rules for a tx that ledger_check_tx admitted
 * before, without the signature checks (ledger_exec_recheck says why that
 * is sound), so a mempool re-check costs no Ed25519 verifications. */
int ledger_recheck_tx(struct ledger *l, const uint8_t *tx, size_t tx_len, uint64_t now_ms,
                      uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len);

/* An encoded tx, borrowed. */
struct ledger_txref {
    const uint8_t *data;
    size_t len;
    /* Optional (NULL: computed): the tx's id and leaf, computed by the caller
     * from these very bytes (ledger_exec_known). */
    const uint8_t *id, *leaf;
};

/* A candidate tx that ledger_build_block left out, and why. */
struct ledger_refusal {
    size_t index; /* into the candidates */
    int code;
    char reason[LEDGER_REASON_LEN];
};

/* Primary: executes the candidates in order over the tip, as block tip + 1
 * at time_ms (must be after the tip's time), skipping each refused one (it
 * goes to refusals[*out_refused_count++]; refusals may be NULL, else it has
 * room for count entries). The block holds at most LEDGER_MAX_BLOCK_TXS txs
 * and LEDGER_MAX_BLOCK_LEN bytes: candidates beyond that are neither included
 * nor refused (*out_used says how many candidates were looked at). Returns
 * the encoded Block in *out_block (malloc'd, owned by the caller) and its
 * hash; the execution is kept so that committing this block does not
 * execute it again. An empty block (every candidate refused) is valid.
 * proposer must be the primary of view (ledger_genesis_primary), else
 * LEDGER_E_INVALID: no backup would accept the block.
 * Returns 0, LEDGER_E_BAD_TIME, LEDGER_E_INVALID, LEDGER_E_NOMEM, LEDGER_E_FATAL. */
int ledger_build_block(struct ledger *l, const struct ledger_txref *txs, size_t count,
                       uint64_t time_ms, uint32_t proposer, uint64_t view, uint8_t **out_block,
                       size_t *out_len, uint8_t out_hash[static LEDGER_HASH_LEN],
                       struct ledger_refusal *refusals, size_t *out_refused_count,
                       size_t *out_used);

/* Backup: checks a proposed block against the tip: strict decoding, chain =
 * genesis hash, height = tip + 1, prev_hash = tip hash, time after the tip's
 * time (the genesis time for block 1), proposer = the primary of the
 * header's view (LEDGER_E_BAD_PROPOSER), tx_count, every tx
 * valid in order (one refused tx refuses the block), tx root and state root.
 * (The clock check against this node's time, and the header's view against
 * the PRE-PREPARE's (ledger_header_check_proposal), are the caller's: it
 * alone knows the clock, the PRE-PREPARE and whether the block is exempt.) The execution is kept
 * for ledger_commit_block. out_hdr may be NULL. Returns 0, LEDGER_E_TOO_LARGE, LEDGER_E_MALFORMED,
 * LEDGER_E_WRONG_CHAIN, LEDGER_E_BAD_PARENT, LEDGER_E_BAD_TIME, LEDGER_E_BAD_PROPOSER,
 * LEDGER_E_BAD_BLOCK (a tx refused),
 * LEDGER_E_BAD_TX_ROOT, LEDGER_E_BAD_STATE_ROOT, NOMEM, FATAL. */
int ledger_validate_block(struct ledger *l, const uint8_t *block, size_t len,
                          struct ledger_header *out_hdr);

/* Commits block tip + 1 with its encoded CommitCert: the certificate is
 * checked (ledger_cert_check: q distinct validators of genesis; its view not
 * lower than the header's), the header's proposer is the primary of its
 * view, the block
 * re-executed unless this very block (same bytes) was just built or
 * validated, and everything written in one durable transaction.
 * Committing the block already at the tip again (same hash) returns 0.
 * Refusals (nothing changes): TOO_LARGE, MALFORMED, WRONG_CHAIN, BAD_PARENT
 * (not tip + 1), BAD_PROPOSER, BAD_CERT, BAD_TX_ROOT (body does not match
 * the header).
 * LEDGER_E_FATAL: a certified block whose execution here differs (refused
 * tx, other state root, other parent), or a storage failure. */
int ledger_commit_block(struct ledger *l, const uint8_t *block, size_t len, const uint8_t *cert,
                        size_t cert_len);

/* A block with its certificate, borrowed. */
struct ledger_certified {
    const uint8_t *block;
    size_t block_len;
    const uint8_t *cert;
    size_t cert_len;
};

/* Sync: commits count consecutive certified blocks (the first at tip + 1),
 * each checked and executed as by ledger_commit_block, in ONE durable
 * transaction. Nothing is written unless every block passes. At most
 * LEDGER_MAX_SYNC_BATCH blocks (execution chains their overlays in memory).
 * Each block's signature checks are made after its rules ran, on one thread
 * per online core (sigbatch.h; the calling thread among them, the others
 * started and joined within the call). */
#define LEDGER_MAX_SYNC_BATCH 64
int ledger_commit_blocks(struct ledger *l, const struct ledger_certified *blocks, size_t count);

#endif
