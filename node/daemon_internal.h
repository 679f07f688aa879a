/* sealchaind's core, shared by its files: daemon.c (the loop, peers, the
 * socket, the lifecycle), daemon_sync.c (catching up and serving blocks) and
 * daemon_admit.c (admission and the submits that wait). Internal: nothing
 * outside these files includes it. */
#ifndef SEALCHAIN_NODE_DAEMON_INTERNAL_H
#define SEALCHAIN_NODE_DAEMON_INTERNAL_H

#include "node/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "ledger/err.h"
#include "ledger/exec.h"
#include "ledger/ledger.h"
#include "ledger/query.h"
#include "ledger/tx.h"
#include "node/api.h"
#include "node/api_query.h"
#include "node/chain_timed.h"
#include "node/driver.h"
#include "node/http.h"
#include "node/log.h"
#include "node/metrics.h"
#include "node/stats.h"
#include "node/wire.h"
#include "proto/api.pb-c.h"
#include "proto/block.pb-c.h"

/* Housekeeping period: the driver's overdue check and proposals, sync
 * retries, waiter time-outs. Short enough that a request never waits on it
 * noticeably, long enough to cost nothing when idle. */
#define TICK_MS 50
/* A sync request that brings no block for this long is given up and asked
 * elsewhere. An honest server queues its whole answer at once, so blocks
 * flow within a round trip; 3 s covers a maximal block (16 MiB) on a
 * 50 Mbit/s link, and bounds what a peer that never answers costs. */
#define SYNC_STALL_MS 3000
/* A peer one block ahead for this long means we missed a commit: sync. */
#define LAG_MS 1000
/* Peers this many blocks ahead: sync at once (fewer is consensus in flight,
 * which the lag timer and the core's own "behind" notice cover). */
#define SYNC_GAP 8
/* The core's "behind" notice for fewer than SYNC_GAP heights is acted on
 * only once the tip has not moved for this long. A node a height or two
 * late (its peers' messages for the next height came before it finished
 * this one) commits those heights from the PRE-PREPAREs and COMMITs its core
 * kept, with no round trip; fetching each one by sync instead costs a round
 * trip per block, and kept a node one block late for a whole benchmark
 * run, out of every vote (BENCHMARKS.md, third round). Long enough for a
 * full block's execution and commit under load. */
#define SYNC_BEHIND_MS 500
/* Bytes of blocks in one sync answer: big enough to amortise the round trip,
 * small enough to sit in a peer's send queue beside consensus traffic. */
#define SYNC_ANSWER_BYTES (8u << 20)
/* A TIP is re-announced this often, so a peer that missed one still learns
 * how far we are (and a new node learns it has to sync). */
#define TIP_EVERY_MS 2000
/* A peer link that brought nothing for ten TIP periods is dead even if TCP
 * has not noticed (a firewall that dropped its state, a host gone without a
 * RST: TCP gives up after its ~15 minute retransmission time-out, and never
 * on a link whose sends still fit in the buffers): it is closed and re-dialled.
 * Ten periods, so a peer whose loop is busy applying a large sync batch for
 * several seconds is not taken for dead. */
#define PEER_SILENT_MS (10 * TIP_EVERY_MS)
/* Serving sync, per peer: a token bucket in bytes. Each answer costs its
 * bytes, and at least SYNC_ANSWER_MIN_COST, so a flood of 12-byte requests
 * for small blocks cannot buy hundreds of answers a second either. An
 * honest requester asks again only after applying the last answer, which
 * takes longer than the bucket needs to refill (8 MiB of blocks take far
 * more than the quarter second 8 MiB of credit takes at this rate); a
 * request that finds the bucket empty is owed and answered when it refills,
 * and a second request while one is owed is a flood: the peer is dropped. */
#define SYNC_SERVE_RATE      (32u << 20) /* bytes per second */
#define SYNC_ANSWER_MIN_COST (256u << 10)
#define SYNC_SERVE_BURST     (2 * SYNC_ANSWER_MIN_COST)

struct waiter {
    uint8_t id[LEDGER_HASH_LEN];
    uint64_t client, req;
    uint64_t deadline;
};

struct peer {
    bool up;
    uint64_t tip;        /* claimed in its last TIP: a hint until blocks back it */
    unsigned sync_fails; /* our requests it left unanswered (reset by an answer) */
    /* serving its sync requests (SYNC_SERVE_RATE) */
    int64_t credit;
    uint64_t credit_at;
    bool owed;
    uint8_t owed_req[NODE_WIRE_SYNC_REQ_LEN];
};

struct sync_item {
    uint8_t *block, *cert;
    size_t block_len, cert_len;
    uint64_t height;
};

struct daemon {
    uv_loop_t loop;
    const struct node_daemon_opts *o;
    struct ledger *l;
    struct node_driver *d;
    struct node_chain_ledger cl;   /* the ledger's chain table, */
    struct node_chain_timed timed; /* timed for the metrics, */
    struct node_chain chain;       /* as the driver sees it */
    struct node_p2p *p2p;
    struct node_api *api;
    struct node_stats *stats;
    struct node_http *http; /* NULL unless metrics_listen is set */
    uv_timer_t timer;
    uv_signal_t sigterm, sigint;
    bool handles_open;
    struct peer peers[LEDGER_MAX_VALIDATORS];
    struct waiter *waiters;
    size_t n_waiters;
    /* sync */
    bool sync_active;
    unsigned sync_peer;
    uint64_t sync_from, sync_started, sync_retry_at, lag_since;
    uint64_t behind_since, behind_tip; /* since when the core says we are behind, at which tip */
    uint32_t sync_count;
    struct sync_item batch[NODE_SYNC_BATCH];
    size_t batch_len, batch_bytes;
    uint64_t sync_t0, sync_applied; /* progress of the current catch-up */
    uint64_t last_tip_sent;
    unsigned verifying; /* admissions in the thread pool */
    uint64_t logged_view;
    int exit_code;
    bool stopping;
};

uint64_t node__now_ms(void);
uint64_t node__mono_ms(void);
uint64_t node__mono_ns(void);
void node__fatal(struct daemon *dm, const char *what, const char *why);
void node__checked(struct daemon *dm, int rc, const char *what);
void node__short_hex(const uint8_t *h, char out[17]);
void node__send_tip(struct daemon *dm, int to);
uint64_t node__best_peer_height(const struct daemon *dm);
uint64_t node__vouched_height(const struct daemon *dm);
bool node__syncing(const struct daemon *dm);
void node__reply(struct daemon *dm, uint64_t client, Sealchain__ApiReply *r);
void node__reply_submit(struct daemon *dm, uint64_t client, uint64_t req, const uint8_t *id,
                        const char *status, uint64_t height, Sealchain__ApiOutcome outcome,
                        int code, const char *error);
void node__reply_error(struct daemon *dm, uint64_t client, uint64_t req,
                       Sealchain__ApiOutcome outcome, int code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void node__resolve_committed(struct daemon *dm);
void node__maybe_sync(struct daemon *dm, uint64_t now);
void node__serve_sync(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len,
                      uint64_t now);
uint64_t node__serve_owed(struct daemon *dm, uint64_t now);
void node__take_block(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len);
void node__apply_batch(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len);
void node__batch_clear(struct daemon *dm);
/* client: the API client, or for gossip (!from_api) the peer it came from. */
int node__admit_start(struct daemon *dm, const uint8_t *tx, size_t len, bool from_api,
                      uint64_t client, uint64_t req, bool wait, uint32_t wait_ms);
void node__expire_waiters(struct daemon *dm, uint64_t now);
void node__on_drop(void *ctx, const uint8_t id[LEDGER_HASH_LEN], int code, const char *reason);
void node__on_commit(void *ctx, uint64_t height, size_t txs);
void node__on_forward(void *ctx, const uint8_t *tx, size_t len);
void node__stop(struct daemon *dm, int code);
void node__note_view(struct daemon *dm);

#endif
