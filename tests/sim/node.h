/* The simulated chain state of one replica: applied tip, block rules, clock skew. */
#ifndef SIM_NODE_H
#define SIM_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/sim/block.h"

/*
 * Pending transactions a node's mempool (the driver's) holds: random runs stay well below
 * this; the backlog scenario (1,000 queued, then 30 s above the drain rate) stays below it too.
 */
#define SIM_POOL_MAX 4096

/* Why the simulated chain refused a block (0: valid). */
enum sim_verdict {
    SIM_VALID = 0,
    SIM_BAD_ENCODING,
    SIM_BAD_HEIGHT,
    SIM_BAD_PARENT,
    SIM_BAD_TIME_PARENT,
    SIM_BAD_TX,
};

struct sim_node {
    int64_t skew;    /* this node's clock minus virtual time, ms */
    uint64_t height; /* applied tip */
    unsigned char tip[SIM_DIGEST_LEN];
    uint64_t tip_time;
};

/* Fresh node at genesis (height 0, zero digest, time 0). */
void sim_node_init(struct sim_node *nd, int64_t skew);
/* The node's own clock at virtual time now. */
uint64_t sim_node_clock(const struct sim_node *nd, uint64_t now);
/*
 * Builds block tip+1 at `time` from txs (ntx of them, at most SIM_BLOCK_MAX_TX taken). Writes
 * the encoding to out (SIM_BLOCK_MAX_LEN bytes) and returns its length.
 */
size_t sim_node_build(const struct sim_node *nd, uint64_t time, uint32_t proposer,
                      const uint64_t *txs, size_t ntx, unsigned char *out);
/*
 * The simulated chain's own rules for block tip+1: encoding, height, parent, time after
 * the parent's, every tx well-formed. (Digest and clock are the driver's rules.)
 */
enum sim_verdict sim_node_validate(const struct sim_node *nd, const unsigned char *p, size_t len);
/* Applies a block that follows the tip (the caller checked it). */
void sim_node_apply(struct sim_node *nd, const unsigned char *p, size_t len);
/* Name of a verdict for traces. */
const char *sim_verdict_str(enum sim_verdict v);

#endif
