/* sealchaind's core: one libuv loop joining the driver, the peers and the socket. */
#ifndef SEALCHAIN_NODE_DAEMON_H
#define SEALCHAIN_NODE_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/genesis.h"
#include "node/p2p.h"

/* What the daemon needs, resolved from the node config by the caller. */
struct node_daemon_opts {
    const char *data_dir;           /* LMDB environment; created if missing */
    const char *api_path;           /* the operator socket */
    const struct ledger_genesis *g; /* borrowed, must outlive the daemon */
    unsigned self;                  /* this node's validator index */
    const uint8_t *node_sk;         /* 64 bytes (sodium_malloc'd), borrowed */
    struct node_p2p_addr listen;
    struct node_p2p_addr metrics_listen; /* GET /metrics over HTTP; host "" = off */
    struct node_p2p_addr peers[LEDGER_MAX_VALIDATORS];
    uint64_t clock_skew_ms; /* 0 = the driver's default */
    uint64_t progress_timeout_ms, view_change_timeout_ms, view_change_max_ms;
    uint64_t request_timeout_ms; /* each 0 = the core's default */
    size_t block_txs;            /* 0 = the driver's default */
    uint64_t block_wait_ms;      /* [block] max_wait_ms (node_driver_config.batch_wait_ms) */
    size_t mempool_max_txs;      /* 0 = NODE_MEMPOOL_MAX */
    size_t mempool_max_bytes;    /* 0 = NODE_MEMPOOL_MAX_BYTES */
    size_t queue_max_bytes;      /* per-peer send queue; 0 = NODE_DAEMON_QUEUE_MAX */
};

/* A peer is dropped when more than this is queued for it: a few full
 * sync answers, far more than consensus ever keeps in flight. */
#define NODE_DAEMON_QUEUE_MAX (48u << 20)
/* A submit that waits gives up after this, as sealctl's --wait does. */
#define NODE_DAEMON_WAIT_MS 30000
/* Waiting submits held at once (each a few dozen bytes). */
#define NODE_DAEMON_WAITERS_MAX 65536
/* Waiting submits one operator connection may hold (a benchmark keeps 3,000
 * in flight on one): beyond it a submit is admitted and answered at once,
 * "pending" and UNAVAILABLE, so one client cannot take every waiting slot. */
#define NODE_DAEMON_WAITERS_PER_CLIENT 4096

/* Transactions awaiting their signature checks in the thread pool at once
 * (each holds ~8 KiB): beyond it a submit is told the node is busy. */
#define NODE_DAEMON_VERIFY_MAX 4096

/* Opens the store, starts consensus, the peer links and the operator socket,
 * and runs until SIGTERM or SIGINT (returns 0) or a fatal error (returns 1,
 * after logging why: a failed commit, a certified block that executes
 * differently here, a socket that cannot be bound). Blocks the caller. */
int node_daemon_run(const struct node_daemon_opts *opts);

#endif
