/* The node's metric set over node/metrics.h: registration, block counting, submit latency. */
#include "node/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/query.h"
#include "ledger/store.h"
#include "ledger/tx.h"
#include "node/metrics.h"
#include "proto/tx.pb-c.h"

/* Transaction types: TxBody op cases 10..19 (proto/tx.proto). */
#define OP_FIRST SEALCHAIN__TX_BODY__OP_ORG_REGISTER
#define OP_COUNT 10

/* Open addressing with linear probing; a power of two above
 * NODE_STATS_TRACKED_MAX so probes stay short. */
#define TABLE_SLOTS 32768

/* Submit to commit: a lone validator commits in milliseconds, a consortium
 * in a few hundred, a view change in seconds, a --wait gives up at 30 s. */
static const double latency_buckets[] = {
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};
/* One block: an empty one in well under a millisecond, 1,000 uses in
 * ~150 ms on the development machine (README, Benchmarks). */
static const double exec_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,   0.25,   0.5,   1,    2.5 };

struct tracked {
    uint8_t id[LEDGER_HASH_LEN];
    uint64_t at_ms; /* 0 = free slot */
};

enum {
    M_HEIGHT,
    M_TXS,
    M_VIEW,
    M_VIEW_CHANGES,
    M_PEERS,
    M_MEMPOOL,
    M_SYNCING,
    M_LATENCY,
    M_EXEC,
    M_BEST_PEER,
    M_SINCE_COMMIT,
    M_CLOCK_OFFSET,
    M_SYNC,
    M__COUNT
};

struct node_stats {
    struct node_metrics *m;
    size_t id[M__COUNT];
    unsigned n, self;
    unsigned peer_of_series[LEDGER_MAX_VALIDATORS]; /* clock offset series -> validator */
    uint64_t counted;                               /* blocks counted up to this height */
    uint64_t last_commit_ms;                        /* wall clock */
    struct tracked *table;
    size_t tracked;
};

static int add(struct node_stats *s, int which, const char *name, const char *help,
               enum node_metric_kind kind)
{
    struct node_metric_def d = { .name = name, .help = help, .kind = kind };
    return node_metrics_add(s->m, &d, &s->id[which]);
}

static int add_histogram(struct node_stats *s, int which, const char *name, const char *help,
                         const double *buckets, size_t n_buckets)
{
    struct node_metric_def d = { .name = name,
                                 .help = help,
                                 .kind = NODE_METRIC_HISTOGRAM,
                                 .buckets = buckets,
                                 .n_buckets = n_buckets };
    return node_metrics_add(s->m, &d, &s->id[which]);
}

static int add_labelled(struct node_stats *s, int which, const char *name, const char *help,
                        const char *label, const char *const *values, size_t n)
{
    struct node_metric_def d = { .name = name,
                                 .help = help,
                                 .kind = which == M_TXS ? NODE_METRIC_COUNTER : NODE_METRIC_GAUGE,
                                 .label = label,
                                 .values = values,
                                 .n_values = n };
    return node_metrics_add(s->m, &d, &s->id[which]);
}

static int register_all(struct node_stats *s)
{
    const char *types[OP_COUNT], *peers[LEDGER_MAX_VALIDATORS];
    char peer_names[LEDGER_MAX_VALIDATORS][12];
    size_t np = 0;
    for (int i = 0; i < OP_COUNT; i++)
        types[i] = ledger_q_tx_type_name(OP_FIRST + i);
    for (unsigned i = 0; i < s->n; i++) {
        if (i == s->self)
            continue;
        snprintf(peer_names[np], sizeof peer_names[np], "%u", i);
        peers[np] = peer_names[np];
        s->peer_of_series[np++] = i;
    }
    int rc = 0;
    rc = rc ? rc
            : add(s, M_HEIGHT, "sealchain_height", "Height of the last committed block.",
                  NODE_METRIC_GAUGE);
    rc = rc ? rc
            : add_labelled(s, M_TXS, "sealchain_transactions_committed_total",
                           "Transactions committed at this node since it started, by type.", "type",
                           types, OP_COUNT);
    rc = rc ? rc : add(s, M_VIEW, "sealchain_view", "Current PBFT view.", NODE_METRIC_GAUGE);
    rc = rc ? rc
            : add(s, M_VIEW_CHANGES, "sealchain_view_changes_total",
                  "View changes this replica has gone through.", NODE_METRIC_COUNTER);
    rc = rc ? rc
            : add(s, M_PEERS, "sealchain_peers_connected", "Validators linked to this node.",
                  NODE_METRIC_GAUGE);
    rc = rc ? rc
            : add(s, M_MEMPOOL, "sealchain_mempool_transactions",
                  "Transactions held in the mempool.", NODE_METRIC_GAUGE);
    rc = rc ? rc
            : add(s, M_SYNCING, "sealchain_syncing", "1 while the node catches up by sync, else 0.",
                  NODE_METRIC_GAUGE);
    rc = rc ? rc
            : add_histogram(
                  s, M_LATENCY, "sealchain_submit_commit_latency_seconds",
                  "From admission to commit, for transactions submitted at this node's socket.",
                  latency_buckets, sizeof latency_buckets / sizeof latency_buckets[0]);
    rc = rc ? rc
            : add_histogram(s, M_EXEC, "sealchain_block_execution_seconds",
                            "Execution (validation, or building when proposed here) plus durable "
                            "commit of one block.",
                            exec_buckets, sizeof exec_buckets / sizeof exec_buckets[0]);
    rc = rc ? rc
            : add(s, M_BEST_PEER, "sealchain_best_peer_height",
                  "Highest tip announced by a connected peer.", NODE_METRIC_GAUGE);
    rc = rc ? rc
            : add(s, M_SINCE_COMMIT, "sealchain_seconds_since_last_commit",
                  "Seconds since this node last committed a block (or since the tip block's time "
                  "before its first).",
                  NODE_METRIC_GAUGE);
    rc = rc ? rc
            : add_labelled(
                  s, M_CLOCK_OFFSET, "sealchain_peer_clock_offset_seconds",
                  "A peer's clock minus ours, measured at the last handshake; NaN before one.",
                  "peer", peers, np);
    static const char *const sync_kinds[LEDGER_STORE_SYNC_KINDS] = {
        [LEDGER_STORE_SYNC_BLOCKS] = "block", [LEDGER_STORE_SYNC_CONSENSUS] = "consensus"
    };
    struct node_metric_def sync = {
        .name = "sealchain_store_sync_seconds",
        .help = "Durable LMDB commits (the pages' writes and fdatasync): of blocks, and of the "
                "consensus snapshot each vote waits for.",
        .kind = NODE_METRIC_HISTOGRAM,
        .label = "what",
        .values = sync_kinds,
        .n_values = LEDGER_STORE_SYNC_KINDS,
        .buckets = ledger_store_sync_bounds,
        .n_buckets = LEDGER_STORE_SYNC_BUCKETS,
    };
    rc = rc ? rc : node_metrics_add(s->m, &sync, &s->id[M_SYNC]);
    return rc;
}

int node_stats_new(unsigned n, unsigned self, uint64_t tip, uint64_t tip_time_ms,
                   struct node_stats **out)
{
    struct node_stats *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NODE_METRICS_E_NOMEM;
    s->n = n > LEDGER_MAX_VALIDATORS ? LEDGER_MAX_VALIDATORS : n;
    s->self = self;
    s->counted = tip;
    s->last_commit_ms = tip_time_ms;
    s->table = calloc(TABLE_SLOTS, sizeof *s->table);
    int rc = s->table == NULL ? NODE_METRICS_E_NOMEM : node_metrics_new(&s->m);
    if (rc == 0)
        rc = register_all(s);
    if (rc != 0) {
        node_stats_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void node_stats_free(struct node_stats *s)
{
    if (s == NULL)
        return;
    node_metrics_free(s->m);
    free(s->table);
    free(s);
}

/* ---- tracked submits --------------------------------------------------------------- */

static size_t slot_of(const uint8_t id[LEDGER_HASH_LEN])
{
    size_t h = 0;
    memcpy(&h, id, sizeof h); /* a tx id is a SHA-256: its bytes are uniform */
    return h & (TABLE_SLOTS - 1);
}

static struct tracked *find(struct node_stats *s, const uint8_t id[LEDGER_HASH_LEN])
{
    for (size_t i = slot_of(id);; i = (i + 1) & (TABLE_SLOTS - 1)) {
        struct tracked *t = &s->table[i];
        if (t->at_ms == 0 || memcmp(t->id, id, LEDGER_HASH_LEN) == 0)
            return t;
    }
}

/* Backward-shift deletion: no tombstones, so probes never lengthen. */
static void erase(struct node_stats *s, struct tracked *t)
{
    size_t i = (size_t)(t - s->table);
    for (size_t j = (i + 1) & (TABLE_SLOTS - 1);; j = (j + 1) & (TABLE_SLOTS - 1)) {
        struct tracked *u = &s->table[j];
        if (u->at_ms == 0)
            break;
        size_t home = slot_of(u->id);
        /* u may move to i when its home is not in (i, j] (cyclically). */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        s->table[i] = *u;
        i = j;
    }
    s->table[i].at_ms = 0;
    s->tracked--;
}

static void expire(struct node_stats *s, uint64_t mono_ms)
{
    for (size_t i = 0; i < TABLE_SLOTS; i++) {
        struct tracked *t = &s->table[i];
        while (t->at_ms != 0 && mono_ms - t->at_ms > NODE_STATS_TRACK_MS)
            erase(s, t); /* the slot may now hold a shifted entry: look again */
    }
}

void node_stats_submitted(struct node_stats *s, const uint8_t id[LEDGER_HASH_LEN], uint64_t mono_ms)
{
    if (s->tracked == NODE_STATS_TRACKED_MAX)
        expire(s, mono_ms);
    struct tracked *t = find(s, id);
    if (t->at_ms != 0 || s->tracked == NODE_STATS_TRACKED_MAX)
        return;
    memcpy(t->id, id, LEDGER_HASH_LEN);
    t->at_ms = mono_ms ? mono_ms : 1;
    s->tracked++;
}

void node_stats_forget(struct node_stats *s, const uint8_t id[LEDGER_HASH_LEN])
{
    struct tracked *t = find(s, id);
    if (t->at_ms != 0)
        erase(s, t);
}

bool node__stats_tracking(struct node_stats *s, const uint8_t id[LEDGER_HASH_LEN])
{
    return find(s, id)->at_ms != 0;
}

size_t node__stats_tracked(const struct node_stats *s)
{
    return s->tracked;
}

/* ---- blocks ------------------------------------------------------------------------- */

/* Counts one committed block: the block is loaded and decoded once, and each
 * transaction's body once for its type (per-id lookups would load the whole
 * block again for every transaction). */
static int count_block(struct node_stats *s, struct ledger_rtxn *rt, uint64_t height,
                       uint64_t mono_ms)
{
    struct ledger_stored_block sb;
    int rc = ledger_rtxn_block_load(rt, height, &sb);
    if (rc != 0)
        return rc;
    const Sealchain__Block *b = sb.stored->block;
    for (size_t i = 0; i < b->n_txs; i++) {
        struct ledger_tx t = { 0 };
        const ProtobufCBinaryData *raw = &b->txs[i];
        if (ledger_tx_open(raw->data, raw->len, &t, NULL, 0) == 0 &&
            ledger_tx_parse(&t, raw->data, raw->len, NULL, 0) == 0) {
            int type = (int)t.body->op_case;
            if (type >= OP_FIRST && type < OP_FIRST + OP_COUNT)
                node_metrics_add_to(s->m, s->id[M_TXS], (size_t)(type - OP_FIRST), 1);
            struct tracked *k = find(s, t.id);
            if (k->at_ms != 0) {
                node_metrics_observe(s->m, s->id[M_LATENCY], 0, (double)(mono_ms - k->at_ms) / 1e3);
                erase(s, k);
            }
        }
        ledger_tx_close(&t);
    }
    ledger_stored_block_close(&sb);
    return 0;
}

int node_stats_blocks(struct node_stats *s, struct ledger *l, uint64_t mono_ms, uint64_t wall_ms)
{
    struct ledger_tip tip;
    ledger_tip_get(l, &tip);
    if (tip.height <= s->counted)
        return 0;
    struct ledger_rtxn *rt;
    int rc = ledger_rtxn_begin(ledger_store_get(l), &rt);
    if (rc != 0)
        return rc;
    for (; rc == 0 && s->counted < tip.height; s->counted++)
        rc = count_block(s, rt, s->counted + 1, mono_ms);
    ledger_rtxn_end(rt);
    s->last_commit_ms = wall_ms;
    return rc;
}

void node_stats_block_exec(struct node_stats *s, double seconds)
{
    node_metrics_observe(s->m, s->id[M_EXEC], 0, seconds);
}

int node_stats_render(struct node_stats *s, const struct node_stats_sample *x, uint64_t wall_ms,
                      char **out, size_t *out_len)
{
    struct node_metrics *m = s->m;
    node_metrics_set(m, s->id[M_HEIGHT], 0, (double)x->height);
    node_metrics_set(m, s->id[M_VIEW], 0, (double)x->view);
    node_metrics_set(m, s->id[M_VIEW_CHANGES], 0, (double)x->view_changes);
    node_metrics_set(m, s->id[M_PEERS], 0, x->peers_connected);
    node_metrics_set(m, s->id[M_MEMPOOL], 0, (double)x->mempool_txs);
    node_metrics_set(m, s->id[M_SYNCING], 0, x->syncing ? 1 : 0);
    node_metrics_set(m, s->id[M_BEST_PEER], 0, (double)x->best_peer_height);
    double since = wall_ms > s->last_commit_ms ? (double)(wall_ms - s->last_commit_ms) / 1e3 : 0;
    node_metrics_set(m, s->id[M_SINCE_COMMIT], 0, since);
    for (unsigned k = 0; k + 1 < s->n; k++) {
        unsigned v = s->peer_of_series[k];
        node_metrics_set(m, s->id[M_CLOCK_OFFSET], k,
                         x->has_offset[v] ? (double)x->offset_ms[v] / 1e3 : NAN);
    }
    for (size_t k = 0; k < LEDGER_STORE_SYNC_KINDS; k++)
        node_metrics_set_histogram(m, s->id[M_SYNC], k, x->sync[k].hits, LEDGER_STORE_SYNC_BUCKETS,
                                   x->sync[k].count, x->sync[k].sum_seconds);
    return node_metrics_render(m, out, out_len);
}
