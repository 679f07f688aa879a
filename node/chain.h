/* The driver's chain seam: block format, validity, state and durability behind one table. */
#ifndef SEALCHAIN_NODE_CHAIN_H
#define SEALCHAIN_NODE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/pbft.h"

/*
 * node/driver.c runs the PBFT core against a chain it knows only through this
 * table: the LMDB ledger is the production implementation
 * (node_chain_ledger_init), the simulator supplies its own opaque test blocks
 * and in-memory state (tests/sim/chain.c). The driver keeps the rules that
 * are the same whatever the block format: the block's digest and height are
 * the ones consensus names, its time is within Δ of the backup's clock unless
 * re-proposed, a certified block must apply (fail-stop), the snapshot is
 * durable before the votes that depend on it leave, the mempool and the
 * request timer.
 *
 * Return codes are the ledger's (ledger/err.h): 0, a refusal, or
 * LEDGER_E_FATAL after which failed() is true. All pointers passed to the
 * table are borrowed for the call unless said otherwise.
 */

/* persist(), validate(), build(): the work goes on after the call returns;
 * node_driver_persisted(), node_driver_validated() or node_driver_proposal()
 * follows. */
#define NODE_CHAIN_PENDING (-1)

/* What the driver reads from a block's header. */
struct node_block_info {
    uint64_t height;
    uint64_t time_ms; /* the proposer's clock */
    uint8_t digest[PBFT_DIGEST_SIZE];
    size_t tx_count;
};

/* A transaction offered to build(), borrowed. */
struct node_txref {
    const uint8_t *data;
    size_t len;
    /* id and leaf computed from data (ledger_tx_id, ledger_merkle_tx_leaf), or NULL */
    const uint8_t *id, *leaf;
};

struct node_chain {
    void *ctx; /* borrowed; passed back to every call */
    /* Signing and verification of consensus messages, and the digest rule
     * (pbft.h); crypto.ctx is its own. */
    struct pbft_crypto crypto;
    /* Reads the header: 0, or a refusal when the bytes are not a block. */
    int (*block_info)(void *ctx, const uint8_t *block, size_t len, struct node_block_info *out);
    /* Execute, then agree: every rule beyond digest, height and clock (chain,
     * parent, proposer of `view`, transactions over committed state). 0 when
     * the block may follow the tip (the execution may be kept for commit),
     * NODE_CHAIN_PENDING when the verdict comes later, else the refusal. */
    int (*validate)(void *ctx, const uint8_t *block, size_t len, uint64_t view, bool reproposal);
    /* Builds block tip + 1 from the candidates (in order; it may leave some
     * out) at time_ms. *out_block is transferred (free()). NODE_CHAIN_PENDING:
     * the block comes later (or never: the core asks again in a new view). */
    int (*build)(void *ctx, const struct node_txref *txs, size_t count, uint64_t time_ms,
                 unsigned proposer, uint64_t view, uint8_t **out_block, size_t *out_len,
                 uint8_t out_digest[PBFT_DIGEST_SIZE]);
    /* Applies certified block tip + 1 durably with its certificate. */
    int (*commit)(void *ctx, const struct pbft_cert *cert, const uint8_t *block, size_t len);
    /* Makes the core's snapshot `seq` durable: 0 when it is on return,
     * NODE_CHAIN_PENDING when the caller reports it later with
     * node_driver_persisted(), else an error. */
    int (*persist)(void *ctx, uint64_t seq, const uint8_t *snap, size_t len);
    /* The last durable snapshot: *out_snap transferred (free()), NULL/0 with
     * return 0 when there is none. */
    int (*load)(void *ctx, uint8_t **out_snap, size_t *out_len);
    /* The applied tip: height (0 = genesis) and its block time. */
    void (*tip)(void *ctx, uint64_t *out_height, uint64_t *out_time_ms);
    /* The commit certificate of the tip (height >= 1). */
    int (*tip_cert)(void *ctx, struct pbft_cert *out);
    /* Mempool admission over committed state at now_ms: 0 and the tx id, or
     * the refusal with the reason in why. With `verified` the caller already
     * checked the signatures (a re-check after a block, or a split admission). */
    int (*check_tx)(void *ctx, const uint8_t *tx, size_t len, uint64_t now_ms, bool verified,
                    uint8_t out_id[PBFT_DIGEST_SIZE], char *why, size_t why_len);
    /* Optional (NULL: the driver re-checks its whole pool after each block):
     * the ids of a block's transactions, *out malloc'd (owned by the caller),
     * so the driver drops what a block included without re-checking all it
     * holds. Returns 0 or an error. */
    int (*tx_ids)(void *ctx, const uint8_t *block, size_t len, uint8_t (**out)[PBFT_DIGEST_SIZE],
                  size_t *out_n);
    /* Optional, both or neither (NULL: admission sees committed state only):
     * the mempool's view, committed state plus the transactions the pool
     * holds (ledger/mempool.h). pool_admit checks a tx whose signatures were
     * verified against that view and adds it (0, or the refusal with the
     * reason in why); pool_clear empties the view before the pool re-admits
     * what it holds, in order, after a block. */
    int (*pool_admit)(void *ctx, const uint8_t *tx, size_t len, const uint8_t id[PBFT_DIGEST_SIZE],
                      uint64_t now_ms, char *why, size_t why_len);
    void (*pool_clear)(void *ctx);
    /* Optional, with pool_admit: after a block, its ids leave the view
     * (ledger_mempool_forget), which then holds only what still waits. */
    void (*pool_forget)(void *ctx, const uint8_t (*ids)[PBFT_DIGEST_SIZE], size_t n);
    /* True once the chain failed (fail-stop); errmsg says why (borrowed). */
    bool (*failed)(void *ctx);
    const char *(*errmsg)(void *ctx);
};

struct ledger;

/* The production chain: the LMDB ledger, signing with the node key under the
 * ledger's domain tags. */
struct node_chain_ledger {
    struct ledger *l;       /* borrowed */
    const uint8_t *node_sk; /* 64 bytes, borrowed */
};

/* Fills *out with the ledger's table; cl (caller-owned, and l and node_sk)
 * must outlive every use of *out. */
void node_chain_ledger_init(struct node_chain_ledger *cl, struct node_chain *out);

#endif
