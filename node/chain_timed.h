/* A chain (node/chain.h) that times each block's execution, for the node's metrics. */
#ifndef SEALCHAIN_NODE_CHAIN_TIMED_H
#define SEALCHAIN_NODE_CHAIN_TIMED_H

#include <stdint.h>

#include "node/chain.h"

/*
 * Wraps another chain and forwards every call to it unchanged, timing three
 * of them with a monotonic clock: validate() and build() (the block's
 * execution, on a backup and on the primary) and commit() (its durable
 * write). A block's time is its execution, when this chain saw it, plus its
 * commit. A validation answered later (NODE_CHAIN_PENDING) is not timed.
 */
struct node_chain_timed {
    struct node_chain inner;
    uint64_t (*clock_ns)(void);
    uint64_t exec_height, exec_ns; /* the block validated or built last */
    uint64_t last_ns;              /* the block committed last */
};

/* Fills *out with the timing table over inner (copied; its ctx must outlive
 * t). t is caller-owned and must outlive every use of *out. */
void node_chain_timed_init(struct node_chain_timed *t, const struct node_chain *inner,
                           uint64_t (*clock_ns)(void), struct node_chain *out);

/* Nanoseconds the last committed block took (execution + commit); 0 before one. */
uint64_t node_chain_timed_last_ns(const struct node_chain_timed *t);

#endif
