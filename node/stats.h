/* The node's metric set: what sealchaind exports at /metrics and to `sealctl metrics`. */
#ifndef SEALCHAIN_NODE_STATS_H
#define SEALCHAIN_NODE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/store.h"

/*
 * Registered at start (node/metrics.h), every series at 0, so a scraper
 * sees all of them from the first scrape:
 *
 *   sealchain_height                                gauge
 *   sealchain_transactions_committed_total{type=}   counter, one series per tx type
 *   sealchain_view, sealchain_view_changes_total    gauge, counter
 *   sealchain_peers_connected                       gauge
 *   sealchain_mempool_transactions                  gauge
 *   sealchain_syncing                               gauge, 0 or 1
 *   sealchain_submit_commit_latency_seconds         histogram: admission of a tx submitted
 *                                                   at this node's socket to its commit here
 *   sealchain_block_execution_seconds               histogram: validation (or building) plus
 *                                                   the durable commit of one block
 *   sealchain_store_sync_seconds{what=}             histogram: each durable LMDB commit (page
 *                                                   writes + fdatasync), what="block" or
 *                                                   "consensus" (a vote's snapshot)
 *   sealchain_best_peer_height                      gauge
 *   sealchain_seconds_since_last_commit             gauge
 *   sealchain_peer_clock_offset_seconds{peer=}      gauge per other validator (its clock
 *                                                   minus ours at handshake; NaN before one)
 *
 * Counters count from the node's start: blocks committed before it (in an
 * earlier run) are not counted again.
 */

/* Submitted transactions whose latency is tracked at once (above the
 * mempool's default bound of 10,000; each entry is 48 bytes). Beyond it a
 * submit goes untimed. */
#define NODE_STATS_TRACKED_MAX 24576
/* A tracked submit still uncommitted after this long is forgotten. */
#define NODE_STATS_TRACK_MS (10u * 60 * 1000)

struct node_stats;

/* What the node reads at render time. */
struct node_stats_sample {
    uint64_t height, view, view_changes, mempool_txs, best_peer_height;
    unsigned peers_connected;
    bool syncing;
    bool has_offset[LEDGER_MAX_VALIDATORS]; /* by validator index */
    int64_t offset_ms[LEDGER_MAX_VALIDATORS];
    struct ledger_store_sync_stats sync[LEDGER_STORE_SYNC_KINDS]; /* ledger_store_sync_stats */
};

/* The metric set of validator self of n, its blocks counted from tip
 * (tip_time_ms: that block's time, for seconds since the last commit).
 * *out owned by the caller (node_stats_free). Returns 0 or a
 * NODE_METRICS_E_* code. */
int node_stats_new(unsigned n, unsigned self, uint64_t tip, uint64_t tip_time_ms,
                   struct node_stats **out);
/* node_stats_free(NULL) does nothing. */
void node_stats_free(struct node_stats *s);

/* A transaction submitted at this node's socket entered the mempool at
 * mono_ms (a monotonic clock in ms). */
void node_stats_submitted(struct node_stats *s, const uint8_t id[LEDGER_HASH_LEN],
                          uint64_t mono_ms);
/* A held transaction left the mempool without being committed. */
void node_stats_forget(struct node_stats *s, const uint8_t id[LEDGER_HASH_LEN]);

/* Counts the blocks l holds above those counted so far (consensus or sync):
 * each transaction by type, the latency of those submitted here. wall_ms is
 * now (for seconds since the last commit). Returns 0 or a ledger error (a
 * store read failed; counted again next time). */
int node_stats_blocks(struct node_stats *s, struct ledger *l, uint64_t mono_ms, uint64_t wall_ms);

/* One block took this long to execute and commit. */
void node_stats_block_exec(struct node_stats *s, double seconds);

/* The exposition text with the gauges of x (borrowed) at wall_ms. *out
 * malloc'd (NUL-terminated), owned by the caller. Returns 0 or
 * NODE_METRICS_E_NOMEM. */
int node_stats_render(struct node_stats *s, const struct node_stats_sample *x, uint64_t wall_ms,
                      char **out, size_t *out_len);

/* Internal, for tests: whether id's submit is being timed, and how many are. */
bool node__stats_tracking(struct node_stats *s, const uint8_t id[LEDGER_HASH_LEN]);
size_t node__stats_tracked(const struct node_stats *s);

#endif
