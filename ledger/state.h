/* The state key space and the write overlay that block execution runs against. */
#ifndef SEALCHAIN_LEDGER_STATE_H
#define SEALCHAIN_LEDGER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"

/*
 * All seal-registry state is one sorted key/value space. Values are encoded
 * proto/state.proto records (or raw bytes where noted). Every key starts with
 * a one-byte prefix; multi-byte integers in keys are big-endian so that LMDB's
 * order is numeric order and appends stay sequential.
 *
 *   'O' ‖ org_id (UTF-8, no NUL)                     -> OrgRecord
 *   'S' ‖ seal_id(32)                                -> SealRecord
 *   'H' ‖ seal_id(32) ‖ seq(u32)                     -> HistoryEntry  (seq 0 = register)
 *   'K' ‖ seal_key(32)                               -> seal_id(32)   (a key registers once)
 *   'G' ‖ seal_id(32) ‖ user_key(32)                 -> grant id(32)  (the live or latest grant)
 *   'R' ‖ grant_id(32)                               -> GrantRecord
 *   'g' ‖ seal_id(32) ‖ height(u64) ‖ index(u32)     -> grant id(32)  (all grants of a seal, in
 * order) 'U' ‖ usage_id(32)                               -> UsageRecord 'D' ‖ doc_hash(32) ‖
 * usage_id(32)                -> empty          (usages by document) 'E' ‖ seal_id(32) ‖
 * height(u64) ‖ index(u32)     -> usage_id(32)  (usages by seal, in order) 'T' ‖ tx_id(32) ->
 * TxLocation     (every committed tx: replay)
 *
 * The state root is cumulative: root(h) = SHA-256(root(h−1) ‖ D(h)), where
 * D(h) = SHA-256 over the block's writes sorted by key, each written as
 * u32be(key_len) ‖ key ‖ u32be(val_len) ‖ val. root(0) = the genesis hash.
 * Genesis orgs (validator organisations) are written by ledger_state_genesis()
 * at height 0 and do not feed root(0).
 */
enum {
    LEDGER_K_ORG = 'O',
    LEDGER_K_SEAL = 'S',
    LEDGER_K_HISTORY = 'H',
    LEDGER_K_SEAL_KEY = 'K',
    LEDGER_K_GRANT_LIVE = 'G',
    LEDGER_K_GRANT = 'R',
    LEDGER_K_SEAL_GRANTS = 'g',
    LEDGER_K_USAGE = 'U',
    LEDGER_K_DOC = 'D',
    LEDGER_K_SEAL_USAGES = 'E',
    LEDGER_K_TX = 'T',
};

#define LEDGER_KEY_MAX 128

/* Read access to committed state (an LMDB read transaction, or an in-memory
 * map in tests). get() returns 0 and a value borrowed until the end of the
 * base's transaction, LEDGER_E_NOT_FOUND, or another ledger error. */
struct ledger_state_base {
    void *ctx;
    int (*get)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t **out_val,
               size_t *out_val_len);
};

/* Pending writes of one block (or one mempool check) over a base. */
struct ledger_overlay;

/* Creates an empty overlay over base (borrowed; must outlive the overlay).
 * Returns NULL on out-of-memory. */
struct ledger_overlay *ledger_overlay_new(const struct ledger_state_base *base);
/* Frees an overlay and all its copies. NULL is a no-op. */
void ledger_overlay_free(struct ledger_overlay *ov);

/* Reads key: the overlay's own write if any, else the base. The value is
 * borrowed until the next put on this overlay (or the base's end). */
int ledger_overlay_get(struct ledger_overlay *ov, const uint8_t *key, size_t key_len,
                       const uint8_t **out_val, size_t *out_val_len);

/* Writes key = val (both copied). Returns 0 or LEDGER_E_NOMEM. */
int ledger_overlay_put(struct ledger_overlay *ov, const uint8_t *key, size_t key_len,
                       const uint8_t *val, size_t val_len);

/* Number of distinct keys written. */
size_t ledger_overlay_count(const struct ledger_overlay *ov);

/* Tags every later put with writer (0 until set), so that the writes whose
 * last writer is gone can be forgotten (the mempool's view, ledger/mempool.h). */
void ledger_overlay_set_writer(struct ledger_overlay *ov, uint32_t writer);

/* Drops every write whose last writer gone(ctx, writer) says is gone; reads
 * of those keys go to the base again. Returns 0 or LEDGER_E_NOMEM (then
 * nothing is dropped). */
int ledger_overlay_forget(struct ledger_overlay *ov, bool (*gone)(void *ctx, uint32_t writer),
                          void *ctx);

/* Calls fn for every write in ascending key order (memcmp order, shorter
 * first on a common prefix). Stops and returns fn's result if non-zero.
 * Pointers are borrowed for the duration of the call; fn must not write to
 * ov. The order is kept for the next call until a new key is written.
 * Returns LEDGER_E_NOMEM if sorting needs memory it cannot get. */
int ledger_overlay_foreach(struct ledger_overlay *ov,
                           int (*fn)(void *arg, const uint8_t *key, size_t key_len,
                                     const uint8_t *val, size_t val_len),
                           void *arg);

/* D(h): SHA-256 of the sorted writes, as described above. */
int ledger_overlay_digest(struct ledger_overlay *ov, uint8_t out[static LEDGER_HASH_LEN]);

/* root(h) = SHA-256(prev ‖ digest). */
void ledger_state_root_next(const uint8_t prev[static LEDGER_HASH_LEN],
                            const uint8_t digest[static LEDGER_HASH_LEN],
                            uint8_t out[static LEDGER_HASH_LEN]);

#endif
