/* The consensus driver: binds a PBFT replica to the ledger and a mempool. */
#ifndef SEALCHAIN_NODE_DRIVER_H
#define SEALCHAIN_NODE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/pbft.h"
#include "ledger/ledger.h"
#include "node/chain.h"

/*
 * The driver is where the pure core meets effects: it signs and verifies
 * consensus messages with the node key under the ledger's domain tags,
 * persists the core's snapshot in the store's consensus table before the
 * votes that depend on it leave, executes proposed blocks with the ledger
 * (execute, then agree), builds proposals from its mempool, and commits
 * certified blocks. It owns no clock and no sockets: the caller passes `now`
 * and a send callback, so the same code runs under libuv, in the demo's
 * in-process consortium, in tests and in the simulator (tests/sim), which
 * puts its own chain behind the seam of node/chain.h.
 *
 * Each call steps the core once and then every event its updates owe the
 * core (a durable snapshot, a verdict, a proposal) from a small local queue,
 * one after the other: an update is always carried out in full before the
 * next step.
 *
 * Fail-stop: once the chain fails (a commit that cannot be written, or a
 * certified block that executes differently here), every call returns
 * LEDGER_E_FATAL and node_driver_errmsg() says why; the node must stop.
 */

/* Mempool bounds (defaults): a node holds at most this many admitted
 * transactions, and this many bytes of them: 10 blocks of the default size
 * (node/config.c says why not more). */
#define NODE_MEMPOOL_MAX       10000
#define NODE_MEMPOOL_MAX_BYTES (32u << 20)
/* Block time may differ from a backup's clock by at most this (DESIGN §3 Δ). */
#define NODE_DEFAULT_CLOCK_SKEW_MS 10000
/* A block carries at most this many transactions (the bench's block size). */
#define NODE_DEFAULT_BLOCK_TXS 1000

struct node_driver_config {
    unsigned self; /* validator index in genesis */
    /* Borrowed; must outlive the driver. With `chain`, optional: the ledger
     * beneath that chain (a wrapper such as node/chain_timed.h), told which
     * transactions the mempool verified so blocks skip their signatures. */
    struct ledger *l;
    const uint8_t *node_sk; /* 64-byte secret key, borrowed (unused with `chain`) */
    /* The chain behind the driver (copied; its ctx borrowed for the driver's
     * life). NULL: the ledger `l` signing with `node_sk`. */
    const struct node_chain *chain;
    unsigned n; /* validators, with `chain` (the ledger's genesis says it otherwise) */
    /* Sends bytes (borrowed for the call) to replica `to`, or to every
     * other replica when to == PBFT_BROADCAST. Neither callback may call
     * back into the driver: the update being handled would be freed. */
    void (*send)(void *ctx, int to, const uint8_t *bytes, size_t len);
    void *send_ctx;
    /* Called once per committed block (may be NULL): height, tx count. */
    void (*on_commit)(void *ctx, uint64_t height, size_t txs);
    void *commit_ctx;
    /* Called (with commit_ctx; may be NULL) for each held transaction that a
     * committed or synced block made invalid, with the refusal's code and
     * reason (borrowed for the call), just before it leaves the mempool. */
    void (*on_drop)(void *ctx, const uint8_t id[LEDGER_HASH_LEN], int code, const char *reason);
    /* Called (with commit_ctx; may be NULL) once for a held transaction that
     * blocks with room have left out for half the request time-out: the
     * caller sends it (borrowed for the call) to its peers again, as PBFT's
     * backups forward a request to the primary before they suspect it. A
     * primary that merely missed the gossip (its mempool was full) then
     * includes it; one that censors is still replaced at the full time-out. */
    void (*on_forward)(void *ctx, const uint8_t *tx, size_t len);
    uint64_t clock_skew_ms; /* 0 = NODE_DEFAULT_CLOCK_SKEW_MS */
    /* The core's timeouts (struct pbft_config; 0 = the core's defaults). The
     * request timeout also sets the mempool's request timer. */
    uint64_t progress_timeout_ms, view_change_timeout_ms, view_change_max_ms;
    uint64_t request_timeout_ms;
    uint64_t resend_ms; /* the core's retransmission interval (0 = its default) */
    /* Ask the chain for a block as soon as the core wants one, even with an
     * empty mempool (a chain that fills its blocks itself, or sends empty
     * ones). false: only when transactions are held. */
    bool propose_idle;
    /* Largest block proposed or accepted; 0 = block_txs of the largest
     * ledger transactions (within PBFT_MAX_PAYLOAD_LIMIT). */
    size_t max_payload;
    /* 0 = NODE_DEFAULT_BLOCK_TXS. The same on every validator: the request
     * timer reads a committed block with fewer transactions as one that had
     * room for those it left out (censorship evidence, node/reqtimer.h). */
    size_t block_txs;
    /* [block] max_wait_ms. Holding fewer than block_txs transactions, the
     * primary proposes once the oldest of them has waited this long, so that
     * a trickle batches into fewer blocks; 0 proposes at once. Capped at a
     * quarter of the request time-out, which backups hold the primary to. */
    uint64_t batch_wait_ms;
    size_t mempool_max_txs;   /* 0 = NODE_MEMPOOL_MAX */
    size_t mempool_max_bytes; /* 0 = NODE_MEMPOOL_MAX_BYTES */
    pbft_trace_fn trace;      /* optional */
    void *trace_ctx;
};

struct node_driver;

/* Creates the replica and starts it from the store's persisted snapshot and
 * the ledger tip. *out owned by the caller (node_driver_free).
 * Returns 0, or a node/err.h code with the reason in errmsg: NODE_E_NOMEM,
 * NODE_E_CONFIG (the core refuses the configuration: self, n, timeouts) or
 * NODE_E_STATE (the stored consensus state or the tip's certificate cannot
 * be read or resumed). */
int node_driver_new(const struct node_driver_config *cfg, uint64_t now, struct node_driver **out,
                    char *errmsg, size_t errmsg_len);
void node_driver_free(struct node_driver *d);

/* Admits a transaction to the mempool (ledger rules over committed state,
 * no duplicate). out_id may be NULL. Returns 0, LEDGER_E_DUPLICATE_TX (already
 * held), LEDGER_E_TOO_LARGE (mempool full) or the ledger's refusal, with the
 * reason in errmsg. */
int node_driver_submit(struct node_driver *d, const uint8_t *tx, size_t len, uint64_t now,
                       uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len);

/* Admits a transaction whose signatures the caller has verified
 * (ledger_check_tx_split, then ledger_sigjobs_verify): the state rules run
 * again without them (ledger_recheck_tx), then the mempool bounds. Same
 * returns as node_driver_submit. Never for a tx not verified so. */
int node_driver_admit(struct node_driver *d, const uint8_t *tx, size_t len, uint64_t now,
                      uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len);

/* node_driver_admit for a tx whose state rules passed over the tip at
 * checked_height (ledger_check_tx_split) and whose signatures then passed:
 * while the tip is still there, nothing the rules read can have changed, so
 * they are not run again; otherwise as node_driver_admit. id is the tx's. */
int node_driver_admit_checked(struct node_driver *d, const uint8_t *tx, size_t len,
                              const uint8_t id[LEDGER_HASH_LEN], uint64_t checked_height,
                              uint64_t now, char *errmsg, size_t errmsg_len);

/* A consensus message from replica `from` (borrowed). */
int node_driver_receive(struct node_driver *d, unsigned from, const uint8_t *bytes, size_t len,
                        uint64_t now);

/* The chain made snapshot `seq` durable after its persist() answered
 * NODE_CHAIN_PENDING (node/chain.h): the votes held for it leave now. */
int node_driver_persisted(struct node_driver *d, uint64_t seq, uint64_t now);

/* The chain's verdict on a block whose validate() answered
 * NODE_CHAIN_PENDING: height and digest of update.validate, ok. A stale one
 * is ignored by the core. */
int node_driver_validated(struct node_driver *d, uint64_t height,
                          const uint8_t digest[PBFT_DIGEST_SIZE], bool ok, uint64_t now);

/* The block a build() that answered NODE_CHAIN_PENDING made for `height`
 * (block borrowed; the core copies it). Ignored unless still wanted. */
int node_driver_proposal(struct node_driver *d, uint64_t height,
                         const uint8_t digest[PBFT_DIGEST_SIZE], const uint8_t *block, size_t len,
                         uint64_t now);

/* A request the caller tracks itself (not through this mempool) is overdue:
 * PBFT_EV_REQUEST_OVERDUE (pbft.h). The mempool's own are reported by
 * node_driver_tick. */
int node_driver_request_overdue(struct node_driver *d, uint64_t now);

/* Fires the core's timer if due, and reports overdue requests: PBFT's
 * request timer, restarted by every committed block, or a block with room
 * that left a held transaction out (node/reqtimer.h). */
int node_driver_tick(struct node_driver *d, uint64_t now);

/* True when the core reported certified blocks above the tip (sync needed):
 * the height it knows of and a peer that has it. Syncing is the caller's. */
bool node_driver_behind(const struct node_driver *d, uint64_t *out_height, unsigned *out_peer);

/* Tells the core that the caller applied certified blocks up to the ledger's
 * tip (sync): it moves on to the next height. */
int node_driver_synced(struct node_driver *d, uint64_t now);

/* The next time node_driver_tick must be called (absolute ms; 0 = none). */
uint64_t node_driver_deadline(const struct node_driver *d);

/* True when the mempool holds the transaction with this id. */
bool node_driver_holds(const struct node_driver *d, const uint8_t id[LEDGER_HASH_LEN]);

/* Number of transactions held. */
size_t node_driver_mempool_len(const struct node_driver *d);

/* True when the mempool has room for `txs` more transactions of `bytes` in
 * all: checked before signatures are, so that a full pool does not cost a
 * signature check for every copy it turns away. */
bool node_driver_mempool_room(const struct node_driver *d, size_t txs, size_t bytes);

/* Why the last call failed; valid until the next call. */
const char *node_driver_errmsg(const struct node_driver *d);

/* The replica's counters (view, height, view changes, drops). */
void node_driver_stats(const struct node_driver *d, struct pbft_stats *out);

#endif
