/* The mempool's view of state: committed state plus the transactions waiting to be proposed. */
#ifndef SEALCHAIN_LEDGER_MEMPOOL_H
#define SEALCHAIN_LEDGER_MEMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/genesis.h"
#include "ledger/store.h"

/*
 * Admission checks a transaction against committed state and the ones the
 * node already holds, so that of two that conflict (two filings of one
 * organisation, two registrations of one seal key, a use beyond a grant's
 * limit, a grant after a destroy) the second is refused at submit, with its
 * rule's code, instead of waiting for a block to skip it. The waiting
 * transactions are applied, in admission order, to one execution (exec.h,
 * ledger_exec_mempool) over committed state; each admission runs one
 * transaction's rules (no signature checks: the caller verified them), never
 * the whole pool. After a block the view goes stale (it still holds what the
 * block included, over the new state) until the caller rebuilds it, clearing
 * it and admitting what it still holds in order (the driver's periodic full
 * re-check). No read snapshot stays open between calls, so the store's map
 * may grow in between.
 */
struct ledger_mempool;

/* g and s borrowed, must outlive the mempool. NULL on out-of-memory. */
struct ledger_mempool *ledger_mempool_new(const struct ledger_genesis *g, struct ledger_store *s);
/* NULL is a no-op. */
void ledger_mempool_free(struct ledger_mempool *m);

/* Forgets every waiting transaction. */
void ledger_mempool_clear(struct ledger_mempool *m);

/* Checks tx (tx_len bytes, borrowed), whose signatures the caller verified,
 * as a tx of block tip + 1 at now_ms after the waiting ones, and on success
 * adds it to them. known_id (may be NULL): its id, computed by the caller from
 * these bytes (ledger_exec_known). Returns 0 or the
 * refusal code with the reason in errmsg (may be NULL); LEDGER_E_STORE when
 * state cannot be read; LEDGER_E_NOMEM (the view is then cleared). */
int ledger_mempool_admit(struct ledger_mempool *m, const uint8_t *tx, size_t tx_len,
                         const uint8_t *known_id, uint64_t now_ms, char *errmsg, size_t errmsg_len);

/* After a block: forgets the writes whose last writer is one of the n ids
 * (included by the block, so committed state holds them now), so the view
 * keeps only what still waits and reads the rest from committed state. A
 * write a later waiting transaction made over one of theirs stays. Batched:
 * the writes go once the ids forgotten are as many as the transactions still
 * in the view (so it holds at most about twice those), each time rebuilding
 * the overlay's table. Returns 0, or LEDGER_E_NOMEM (the view is then
 * cleared). */
int ledger_mempool_forget(struct ledger_mempool *m, const uint8_t (*ids)[LEDGER_HASH_LEN],
                          size_t n);

/* Number of transactions in the view (admitted and not forgotten). */
size_t ledger_mempool_count(const struct ledger_mempool *m);

#endif
