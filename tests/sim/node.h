/* The caller side of one replica: mempool, block building, validation, applying commits. */
#ifndef SIM_NODE_H
#define SIM_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/reqtimer.h"
#include "tests/sim/block.h"

/*
 * Pending transactions a node holds: random runs stay well below this; the backlog
 * scenario (1,000 queued, then 30 s above the drain rate) stays below it too.
 */
#define SIM_POOL_MAX 4096

/* Why a caller refused a block (0: valid). */
enum sim_verdict {
    SIM_VALID = 0,
    SIM_BAD_ENCODING,
    SIM_BAD_DIGEST,
    SIM_BAD_HEIGHT,
    SIM_BAD_PARENT,
    SIM_BAD_TIME_PARENT,
    SIM_BAD_TIME_CLOCK,
    SIM_BAD_TX,
};

struct sim_pool_tx {
    uint64_t tx;
    struct node_reqwait wait; /* censorship evidence (node/reqtimer.h) */
};

struct sim_node {
    int64_t skew;    /* this node's clock minus virtual time, ms */
    uint64_t height; /* applied tip */
    unsigned char tip[SIM_DIGEST_LEN];
    uint64_t tip_time;
    struct sim_pool_tx pool[SIM_POOL_MAX]; /* in arrival order: blocks take the oldest */
    size_t npool;
    struct node_reqtimer req; /* PBFT's request timer, on the node's clock */
    uint64_t censor_tx;       /* a censoring primary leaves this tx out (0: none) */
};

/*
 * Fresh node at genesis (height 0, zero digest, time 0) with an empty mempool and a
 * request timer of request_ms.
 */
void sim_node_init(struct sim_node *nd, int64_t skew, uint64_t request_ms);
/* The node's own clock at virtual time now. */
uint64_t sim_node_clock(const struct sim_node *nd, uint64_t now);
/* Adds a tx to the mempool unless present, already applied-over, or the pool is full. */
void sim_node_add_tx(struct sim_node *nd, uint64_t tx, uint64_t now);
/* Empties the mempool (a crash loses it). */
void sim_node_drop_pool(struct sim_node *nd);
/*
 * Builds the block for height tip+1 from the mempool at virtual time now. Writes the
 * encoding to out (SIM_BLOCK_MAX_LEN bytes) and returns its length.
 */
size_t sim_node_build(const struct sim_node *nd, uint64_t now, uint32_t proposer,
                      unsigned char *out);
/*
 * Executes a proposed block: encoding, digest (when digest != NULL), height, parent,
 * time after the parent's and, unless `reproposal`, within delta of this node's clock,
 * and every tx well-formed. Returns SIM_VALID or the reason for refusing.
 */
enum sim_verdict sim_node_validate(const struct sim_node *nd, uint64_t now, const unsigned char *p,
                                   size_t len, const unsigned char *digest, bool reproposal,
                                   uint64_t delta);
/*
 * Applies a committed block on the tip at virtual time now (the caller checked it
 * follows): drops its txs and restarts the request timer; when `committed` (not a sync)
 * it also marks the txs it left out if it had room. As node/driver.c does.
 */
void sim_node_apply(struct sim_node *nd, const unsigned char *p, size_t len, uint64_t now,
                    bool committed);
/*
 * True when a pooled tx is overdue by the request-timer rule of node/reqtimer.h (the
 * chain stalled a time-out while it waited, or a block with room left it out a time-out
 * ago); stores one such tx in *out_tx.
 */
bool sim_node_overdue(const struct sim_node *nd, uint64_t now, uint64_t *out_tx);
/* Name of a verdict for traces. */
const char *sim_verdict_str(enum sim_verdict v);

#endif
