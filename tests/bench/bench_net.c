/* make bench: four sealchaind processes under seal-use load, held against the Ed25519 ceiling. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/cert.h"
#include "ledger/crypto.h"
#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/store.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "node/client.h"
#include "node/keyfile.h"
#include "tests/integration/cluster.h"

/*
 * What it does (issue "Performance", tests/bench/README in BENCHMARKS.md):
 *  1. `sealctl testnet` with 4 validators, durable commits on every node (the
 *     store never uses MDB_NOSYNC), started as real processes on 127.0.0.1.
 *  2. Set-up, not timed: 100 seals of agency0 and 1,000 users granted silent
 *     sealing (10 per seal), committed.
 *  3. The ceiling, measured now: Ed25519 verifications/s with one thread per
 *     core at once, ÷ (4 nodes × 2 signatures per use).
 *  4. Pre-signed uses (signing is not timed), submitted evenly to the 4
 *     sockets with many requests in flight:
 *     saturation: more than the cluster takes, first for a warm-up of
 *       BENCH_WARMUP seconds (default 10; it fills the mempools), then for the
 *       window of BENCH_SECONDS; committed tx/s counted from the blocks whose
 *       time falls in the window;
 *     half load: half that rate, every submit waiting for its commit;
 *       submit→commit latency p50 and p99.
 *  5. Per node: CPU seconds, peak RssAnon (sampled), disk bytes per committed
 *     transaction (LMDB pages in use, read after a clean stop), and for each
 *     phase the fsync p99 (its sealchain_store_sync_seconds histogram, read
 *     at the phase's start and end): block commits and vote snapshots apart.
 *
 * BENCH_INI: lines appended to every node's node.ini (e.g. "[block]\nmax_txs
 * = 2000"), to measure a setting; the default run uses the defaults.
 */

#define NODES         4
#define SEALS         100
#define USERS         1000
#define INFLIGHT      3000 /* per socket, saturation */
#define HALF_SECS_MAX 20

struct user {
    uint8_t pk[32], sk[64];
    uint8_t grant[32];
    unsigned seal;
};

struct seal {
    uint8_t pk[32], sk[64];
    uint8_t id[32];
};

struct tx {
    uint8_t *bytes;
    size_t len;
};

static struct cluster C;
static struct seal seals[SEALS];
static struct user users[USERS];
static uint64_t peak_rss_kb[NODES];

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    cluster_free(&C, true);
    exit(1);
}

/* ---- fsync latency: each node's sealchain_store_sync_seconds -------------------------- */

#define SYNC_KINDS  2
#define SYNC_LE_MAX 40
static const char *const sync_kind[SYNC_KINDS] = { "block", "consensus" };
static const char *const sync_noun[SYNC_KINDS] = { "block commits", "vote snapshots" };

/* One scrape of node i: the cumulative buckets of each kind, in order. */
struct sync_hist {
    size_t n[SYNC_KINDS];
    double le[SYNC_KINDS][SYNC_LE_MAX], cum[SYNC_KINDS][SYNC_LE_MAX];
};

static void sync_scrape(unsigned i, struct sync_hist *h)
{
    memset(h, 0, sizeof *h);
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__MetricsRequest m = SEALCHAIN__METRICS_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_METRICS;
    req.metrics = &m;
    Sealchain__ApiReply *r;
    if (cluster_call(&C, i, &req, 10000, &r) != 0)
        die("metrics query");
    const char *p = r->metrics != NULL ? r->metrics->text : NULL;
    for (; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL)
        for (int k = 0; k < SYNC_KINDS; k++) {
            char pre[96];
            int len =
                snprintf(pre, sizeof pre, "sealchain_store_sync_seconds_bucket{what=\"%s\",le=\"",
                         sync_kind[k]);
            if (strncmp(p, pre, (size_t)len) != 0 || h->n[k] == SYNC_LE_MAX)
                continue;
            const char *close = strstr(p, "} ");
            if (close == NULL)
                continue;
            h->le[k][h->n[k]] = strtod(p + len, NULL); /* "+Inf" reads as infinity */
            h->cum[k][h->n[k]++] = strtod(close + 2, NULL);
        }
    sealchain__api_reply__free_unpacked(r, NULL);
}

/* The p99 of kind k's commits between two scrapes, in ms: the upper bound of
 * the bucket holding it (INFINITY above the last bound, NAN with none);
 * *out_n: how many commits. */
static double sync_p99(const struct sync_hist *a, const struct sync_hist *b, int k, double *out_n)
{
    size_t n = b->n[k];
    *out_n = 0;
    if (n == 0 || a->n[k] != n)
        return NAN;
    double total = b->cum[k][n - 1] - a->cum[k][n - 1];
    *out_n = total;
    for (size_t j = 0; total > 0 && j < n; j++)
        if (b->cum[k][j] - a->cum[k][j] >= 0.99 * total)
            return b->le[k][j] * 1e3;
    return NAN;
}

static void sync_scrape_all(struct sync_hist h[NODES])
{
    for (unsigned i = 0; i < NODES; i++)
        sync_scrape(i, &h[i]);
}

static void sync_report(const char *phase, const struct sync_hist a[NODES],
                        const struct sync_hist b[NODES])
{
    for (unsigned i = 0; i < NODES; i++) {
        char part[SYNC_KINDS][96];
        for (int k = 0; k < SYNC_KINDS; k++) {
            double n, p99 = sync_p99(&a[i], &b[i], k, &n);
            if (isnan(p99))
                snprintf(part[k], sizeof part[k], "none of %s", sync_noun[k]);
            else if (isinf(p99))
                snprintf(part[k], sizeof part[k], "> 2000 ms over %.0f %s", n, sync_noun[k]);
            else
                snprintf(part[k], sizeof part[k], "<= %g ms over %.0f %s", p99, n, sync_noun[k]);
        }
        fprintf(stderr, "bench: %s: node %u: fsync p99 %s, %s\n", phase, i, part[0], part[1]);
    }
}

/* ---- /proc sampling ------------------------------------------------------------ */

static void sample_rss(void)
{
    for (unsigned i = 0; i < NODES; i++) {
        if (C.pid[i] <= 0)
            continue;
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%d/status", (int)C.pid[i]);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        while (fgets(line, sizeof line, f) != NULL) {
            unsigned long kb;
            if (sscanf(line, "RssAnon: %lu kB", &kb) == 1 && kb > peak_rss_kb[i])
                peak_rss_kb[i] = kb;
        }
        fclose(f);
    }
}

static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    unsigned long utime = 0, stime = 0;
    /* fields after the command: state ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the ceiling ------------------------------------------------------------------ */

struct verifier {
    double secs;
    uint64_t count;
};

static void *verify_loop(void *arg)
{
    struct verifier *v = arg;
    uint8_t pk[32], sk[64], msg[180], sig[64];
    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    double end = mono_s() + v->secs;
    uint64_t n = 0;
    while (mono_s() < end) {
        for (int k = 0; k < 64; k++)
            if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) == 0)
                n++;
    }
    v->count = n;
    return NULL;
}

/* Verifications per second with one thread per core, all at once. */
static double ceiling_verifies(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    if (cores > 64)
        cores = 64;
    pthread_t t[64];
    struct verifier v[64];
    for (long i = 0; i < cores; i++) {
        v[i] = (struct verifier){ .secs = 3.0 };
        pthread_create(&t[i], NULL, verify_loop, &v[i]);
    }
    uint64_t total = 0;
    for (long i = 0; i < cores; i++) {
        pthread_join(t[i], NULL);
        total += v[i].count;
    }
    return (double)total / 3.0;
}

/* ---- submitting ---------------------------------------------------------------------- */

struct conn {
    struct node_client *cl;
    size_t outstanding;
    uint64_t *sent_at_ms; /* by request id (ids are 1, 2, ...) */
    size_t sent_cap;
};

static void conn_open(struct conn *k, unsigned i, size_t cap)
{
    char path[400], err[512];
    snprintf(path, sizeof path, "%s/node%u/node.sock", C.dir, i);
    if (node_client_open(path, &k->cl, err, sizeof err) != 0)
        die(err);
    k->outstanding = 0;
    k->sent_cap = cap + 1;
    k->sent_at_ms = calloc(k->sent_cap, sizeof *k->sent_at_ms);
}

static void conn_close(struct conn *k)
{
    node_client_close(k->cl);
    free(k->sent_at_ms);
}

static void send_tx(struct conn *k, const struct tx *t, bool wait)
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SubmitRequest s = SEALCHAIN__SUBMIT_REQUEST__INIT;
    s.tx.data = t->bytes;
    s.tx.len = t->len;
    s.wait = wait;
    s.wait_ms = 60000;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
    req.submit = &s;
    uint64_t id;
    char err[512];
    if (node_client_send(k->cl, &req, &id, err, sizeof err) != 0)
        die(err);
    if (id < k->sent_cap)
        k->sent_at_ms[id] = wall_ms();
    k->outstanding++;
}

/* Reads every reply that is ready (or waits up to wait_ms for one). Latency
 * samples (ms) of committed replies go to lat when it is not NULL. */
static size_t drain(struct conn *k, int wait_ms, double *lat, size_t *n_lat, size_t *admitted)
{
    size_t got = 0;
    for (;;) {
        struct pollfd p = { .fd = node_client_fd(k->cl), .events = POLLIN };
        if (k->outstanding == 0 || poll(&p, 1, got == 0 ? wait_ms : 0) <= 0)
            return got;
        Sealchain__ApiReply *r;
        char err[512];
        if (node_client_recv(k->cl, 60000, &r, err, sizeof err) != 0)
            die(err);
        k->outstanding--;
        got++;
        if (r->outcome == SEALCHAIN__API_OUTCOME__API_OUTCOME_OK) {
            if (admitted != NULL)
                (*admitted)++;
            if (lat != NULL && r->rep_case == SEALCHAIN__API_REPLY__REP_SUBMIT &&
                strcmp(r->submit->status, "committed") == 0 && r->id < k->sent_cap)
                lat[(*n_lat)++] = (double)(wall_ms() - k->sent_at_ms[r->id]);
        }
        sealchain__api_reply__free_unpacked(r, NULL);
    }
}

/* Submits txs[0..n) round-robin with wait and blocks until all replied. */
static void submit_all_wait(struct tx *txs, size_t n)
{
    struct conn k[NODES];
    for (unsigned i = 0; i < NODES; i++)
        conn_open(&k[i], i, n);
    for (size_t j = 0; j < n; j++)
        send_tx(&k[j % NODES], &txs[j], true);
    size_t admitted = 0;
    for (unsigned i = 0; i < NODES; i++) {
        while (k[i].outstanding > 0)
            drain(&k[i], 1000, NULL, NULL, &admitted);
        conn_close(&k[i]);
    }
    if (admitted != n) {
        char msg[96];
        snprintf(msg, sizeof msg, "set-up transactions committed: %zu of %zu", admitted, n);
        die(msg);
    }
}

/* ---- set-up ---------------------------------------------------------------------------- */

static void setup_chain(void)
{
    uint64_t until = wall_ms() + 23 * 3600 * 1000ull;
    struct tx *txs = calloc(USERS, sizeof *txs);
    for (unsigned s = 0; s < SEALS; s++) {
        crypto_sign_keypair(seals[s].pk, seals[s].sk);
        char name[32];
        snprintf(name, sizeof name, "bench seal %u", s);
        struct ledger_txb_seal p = { .org_id = C.g.validators[0].org_id,
                                     .type = SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT,
                                     .name = name,
                                     .seal_key = seals[s].pk };
        if (ledger_txb_seal_register(&C.g, C.admin_sk[0], until, &p, &txs[s].bytes, &txs[s].len) !=
            0)
            die("build seal register");
        ledger_tx_id(txs[s].bytes, txs[s].len, seals[s].id);
    }
    submit_all_wait(txs, SEALS);
    for (unsigned s = 0; s < SEALS; s++)
        free(txs[s].bytes);
    for (unsigned u = 0; u < USERS; u++) {
        crypto_sign_keypair(users[u].pk, users[u].sk);
        users[u].seal = u % SEALS;
        struct ledger_txb_grant p = { .seal_id = seals[users[u].seal].id, .user_key = users[u].pk };
        if (ledger_txb_grant(&C.g, C.admin_sk[0], until, &p, &txs[u].bytes, &txs[u].len) != 0)
            die("build grant");
        ledger_tx_id(txs[u].bytes, txs[u].len, users[u].grant);
    }
    submit_all_wait(txs, USERS);
    for (unsigned u = 0; u < USERS; u++)
        free(txs[u].bytes);
    free(txs);
}

static struct tx *presign(size_t n)
{
    uint64_t until = wall_ms() + 23 * 3600 * 1000ull;
    struct tx *txs = calloc(n, sizeof *txs);
    for (size_t j = 0; j < n; j++) {
        struct user *u = &users[j % USERS];
        struct seal *s = &seals[u->seal];
        uint8_t doc[32], nonce[16], sig[64];
        randombytes_buf(doc, sizeof doc);
        if (ledger_txb_use(&C.g, u->sk, until, s->sk, s->id, u->grant, doc, nonce, sig,
                           &txs[j].bytes, &txs[j].len) != 0)
            die("build use");
    }
    return txs;
}

/* Transactions in the blocks of node 0 whose time is in [t0, t1]. */
static uint64_t committed_between(uint64_t t0, uint64_t t1, uint64_t *out_first_h,
                                  uint64_t *out_last_h)
{
    uint64_t top = cluster_height(&C, 0), txs = 0;
    *out_first_h = *out_last_h = 0;
    for (uint64_t h = top; h >= 1; h--) {
        Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
        Sealchain__BlockRequest b = SEALCHAIN__BLOCK_REQUEST__INIT;
        b.height = h;
        req.req_case = SEALCHAIN__API_REQUEST__REQ_BLOCK;
        req.block = &b;
        Sealchain__ApiReply *r;
        if (cluster_call(&C, 0, &req, 10000, &r) != 0 || r->block == NULL)
            die("block query");
        uint64_t t = r->block->time_ms;
        size_t n = r->block->n_txs;
        sealchain__api_reply__free_unpacked(r, NULL);
        if (t < t0)
            break;
        if (t <= t1) {
            txs += n;
            if (*out_last_h == 0)
                *out_last_h = h;
            *out_first_h = h;
        }
    }
    return txs;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- the phases ------------------------------------------------------------------------ */

static double saturate(struct tx *txs, size_t n, double warmup, double secs)
{
    struct sync_hist sync_sat0[NODES];
    struct conn k[NODES];
    for (unsigned i = 0; i < NODES; i++)
        conn_open(&k[i], i, n);
    size_t next = 0;
    double start = mono_s(), end = start + warmup + secs, last_sample = 0;
    double cpu0[NODES] = { 0 };
    uint64_t t0 = 0;
    if (warmup > 0)
        fprintf(stderr, "bench: warm-up for %.0f s (not counted)\n", warmup);
    while (mono_s() < end && next < n) {
        if (t0 == 0 && mono_s() - start >= warmup) {
            t0 = wall_ms();
            for (unsigned i = 0; i < NODES; i++)
                cpu0[i] = cpu_seconds(C.pid[i]);
            sync_scrape_all(sync_sat0);
            /* tests/bench/profile.sh starts perf on this line. */
            fprintf(stderr, "bench: saturation for %.0f s\n", secs);
        }
        for (unsigned i = 0; i < NODES; i++)
            while (k[i].outstanding < INFLIGHT && next < n)
                send_tx(&k[i], &txs[next++], false);
        for (unsigned i = 0; i < NODES; i++)
            drain(&k[i], i == 0 ? 2 : 0, NULL, NULL, NULL);
        if (mono_s() - last_sample > 0.2) {
            sample_rss();
            last_sample = mono_s();
        }
    }
    if (t0 == 0) {
        t0 = wall_ms(); /* all offered during the warm-up: the warning below says so */
        sync_scrape_all(sync_sat0);
    }
    uint64_t t1 = wall_ms();
    double cpu1[NODES];
    for (unsigned i = 0; i < NODES; i++)
        cpu1[i] = cpu_seconds(C.pid[i]);
    struct sync_hist sync_sat1[NODES];
    sync_scrape_all(sync_sat1);
    if (next == n)
        fprintf(stderr,
                "bench: warning: all %zu pre-signed uses were offered before the "
                "window ended; offer was not above capacity\n",
                n);
    for (unsigned i = 0; i < NODES; i++) {
        while (k[i].outstanding > 0)
            drain(&k[i], 1000, NULL, NULL, NULL);
        conn_close(&k[i]);
    }
    /* Let the backlog drain on every node (not counted: only blocks timed inside the
     * window), so that half load starts from empty mempools: transactions a backup admitted
     * while the primary's pool was full reach the primary only when forwarded, and their
     * burst would otherwise land in the half-load phase. */
    for (int w = 0; w < 600; w++) {
        uint64_t pool = 0;
        for (unsigned i = 0; i < NODES; i++) {
            Sealchain__StatusReply *s;
            Sealchain__ApiReply *r;
            if (cluster_status(&C, i, &s, &r) != 0)
                continue;
            pool += s->mempool_txs;
            sealchain__api_reply__free_unpacked(r, NULL);
        }
        if (pool == 0)
            break;
        usleep(100000);
    }
    uint64_t h0, h1;
    uint64_t txs_in = committed_between(t0, t1, &h0, &h1);
    double tps = (double)txs_in / ((double)(t1 - t0) / 1000.0);
    /* CPU per committed transaction is steadier than tx/s on a shared machine:
     * compare it between builds when other work runs. */
    for (unsigned i = 0; i < NODES; i++)
        fprintf(stderr, "bench: saturation: node %u: %.0f CPU-us per committed tx\n", i,
                txs_in ? (cpu1[i] - cpu0[i]) * 1e6 / (double)txs_in : 0);
    fprintf(stderr,
            "bench: saturation: offered %zu in %.1f s, %" PRIu64 " committed in blocks %" PRIu64
            "..%" PRIu64 ": %.0f tx/s\n",
            next, (double)(t1 - t0) / 1000.0, txs_in, h0, h1, tps);
    sync_report("saturation", sync_sat0, sync_sat1);
    return tps;
}

static void half_load(struct tx *txs, size_t n, double rate, double secs, double *p50, double *p99)
{
    struct conn k[NODES];
    for (unsigned i = 0; i < NODES; i++)
        conn_open(&k[i], i, n);
    double *lat = calloc(n, sizeof *lat);
    size_t n_lat = 0, next = 0;
    struct sync_hist sync0[NODES], sync1[NODES];
    sync_scrape_all(sync0);
    double start = mono_s(), last_sample = 0;
    while (mono_s() - start < secs && next < n) {
        size_t due = (size_t)((mono_s() - start) * rate);
        while (next < due && next < n) {
            send_tx(&k[next % NODES], &txs[next], true);
            next++;
        }
        for (unsigned i = 0; i < NODES; i++)
            drain(&k[i], i == 0 ? 1 : 0, lat, &n_lat, NULL);
        if (mono_s() - last_sample > 0.2) {
            sample_rss();
            last_sample = mono_s();
        }
    }
    for (unsigned i = 0; i < NODES; i++) {
        while (k[i].outstanding > 0)
            drain(&k[i], 1000, lat, &n_lat, NULL);
        conn_close(&k[i]);
    }
    sync_scrape_all(sync1);
    qsort(lat, n_lat, sizeof *lat, cmp_double);
    *p50 = n_lat ? lat[n_lat / 2] : 0;
    *p99 = n_lat ? lat[(size_t)((double)n_lat * 0.99)] : 0;
    fprintf(stderr,
            "bench: half load: %.0f tx/s offered for %.0f s, %zu committed, p50 %.1f ms, "
            "p99 %.1f ms\n",
            rate, secs, n_lat, *p50, *p99);
    sync_report("half load", sync0, sync1);
    free(lat);
}

/* Disk bytes per committed transaction, from node i's store after its stop. */
static double disk_per_tx(unsigned i)
{
    char dir[400], err[512];
    snprintf(dir, sizeof dir, "%s/node%u/data", C.dir, i);
    struct ledger *l;
    if (ledger_open(dir, &C.g, NULL, &l, err, sizeof err) != 0)
        return -1;
    struct ledger_store_stats st;
    struct ledger_tip tip;
    ledger_tip_get(l, &tip);
    int rc = ledger_store_stats(ledger_store_get(l), &st);
    /* count every committed tx */
    uint64_t txs = 0;
    struct ledger_rtxn *r;
    if (rc == 0 && ledger_rtxn_begin(ledger_store_get(l), &r) == 0) {
        for (uint64_t h = 1; h <= tip.height; h++) {
            struct ledger_stored_block b;
            if (ledger_rtxn_block_load(r, h, &b) != 0)
                break;
            txs += b.header->tx_count;
            ledger_stored_block_close(&b);
        }
        ledger_rtxn_end(r);
    }
    ledger_close(l);
    return rc == 0 && txs > 0 ? (double)(st.pages_in_use * st.page_size) / (double)txs : -1;
}

/* ---- BENCH_PREFILL: the same certified chain of N uses on every node -------------------- */

#define PREFILL_BLOCK 1000

/* The node whose data directory stays empty (bench-sync), or NODES: none. */
static unsigned prefill_empty = NODES;

/* A commit certificate of validators 0..q-1 (their node keys from the
 * testnet directory) for the block at height in view 0. */
static void prefill_cert(uint8_t (*node_sk)[64], uint32_t q, uint64_t height,
                         const uint8_t hash[32], uint8_t **out, size_t *out_len)
{
    uint8_t payload[LEDGER_COMMIT_PAYLOAD_LEN], sigs[LEDGER_MAX_VALIDATORS][LEDGER_SIG_LEN];
    uint32_t signers[LEDGER_MAX_VALIDATORS];
    ledger_commit_payload(height, 0, hash, payload);
    for (uint32_t i = 0; i < q; i++) {
        signers[i] = i;
        ledger_sign(LEDGER_TAG_COMMIT, C.g.hash, payload, sizeof payload, node_sk[i], sigs[i]);
    }
    if (ledger_cert_build(height, 0, hash, signers, (const uint8_t(*)[LEDGER_SIG_LEN])sigs, q, out,
                          out_len) != 0)
        die("prefill certificate");
}

/* Builds (as view 0's primary), certifies and commits one block of txs. */
static void prefill_block(struct ledger *l, uint8_t (*node_sk)[64], struct tx *txs, size_t n,
                          uint64_t time_ms)
{
    struct ledger_txref *refs = calloc(n, sizeof *refs);
    for (size_t i = 0; i < n; i++)
        refs[i] = (struct ledger_txref){ .data = txs[i].bytes, .len = txs[i].len };
    struct ledger_tip tip;
    ledger_tip_get(l, &tip);
    uint8_t *block, *cert, hash[32];
    size_t len, cert_len, refused = 0, used = 0;
    struct ledger_refusal *why = calloc(n, sizeof *why);
    if (ledger_build_block(l, refs, n, time_ms, 0, 0, &block, &len, hash, why, &refused, &used) !=
            0 ||
        refused != 0)
        die(refused ? why[0].reason : ledger_errmsg(l));
    prefill_cert(node_sk, ledger_genesis_quorum(C.g.n), tip.height + 1, hash, &cert, &cert_len);
    if (ledger_commit_block(l, block, len, cert, cert_len) != 0)
        die(ledger_errmsg(l));
    free(block);
    free(cert);
    free(refs);
    free(why);
}

/* One seal and one silent grant of agency0, then n uses in blocks of
 * PREFILL_BLOCK, written to node 0's data directory and copied to the
 * others before any node starts. Signing and building are not timed. */
static void prefill(uint64_t n)
{
    char dir[400], err[512], cmd[1400];
    uint8_t(*node_sk)[64] = calloc(NODES, 64);
    for (unsigned i = 0; i < NODES; i++) {
        struct node_key k;
        snprintf(dir, sizeof dir, "%s/node%u/node.key", C.dir, i);
        if (node_keyfile_read(dir, &k, err, sizeof err) != 0)
            die(err);
        memcpy(node_sk[i], k.sk, 64);
        node_key_close(&k);
    }
    snprintf(dir, sizeof dir, "%s/node0/data", C.dir);
    struct ledger *l;
    if (ledger_open(dir, &C.g, NULL, &l, err, sizeof err) != 0)
        die(err);
    uint64_t t = C.g.time_ms + 1, until = wall_ms() + 23 * 3600 * 1000ull;
    struct seal s;
    struct user u;
    crypto_sign_keypair(s.pk, s.sk);
    crypto_sign_keypair(u.pk, u.sk);
    struct tx one;
    struct ledger_txb_seal sp = { .org_id = C.g.validators[0].org_id,
                                  .type = SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT,
                                  .name = "prefill seal",
                                  .seal_key = s.pk };
    if (ledger_txb_seal_register(&C.g, C.admin_sk[0], until, &sp, &one.bytes, &one.len) != 0)
        die("prefill seal");
    ledger_tx_id(one.bytes, one.len, s.id);
    prefill_block(l, node_sk, &one, 1, t++);
    free(one.bytes);
    struct ledger_txb_grant gp = { .seal_id = s.id, .user_key = u.pk };
    if (ledger_txb_grant(&C.g, C.admin_sk[0], until, &gp, &one.bytes, &one.len) != 0)
        die("prefill grant");
    ledger_tx_id(one.bytes, one.len, u.grant);
    prefill_block(l, node_sk, &one, 1, t++);
    free(one.bytes);
    struct tx *txs = calloc(PREFILL_BLOCK, sizeof *txs);
    double t0 = mono_s();
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < PREFILL_BLOCK ? (size_t)(n - done) : PREFILL_BLOCK;
        for (size_t j = 0; j < k; j++) {
            uint8_t doc[32], nonce[16], sig[64];
            randombytes_buf(doc, sizeof doc);
            if (ledger_txb_use(&C.g, u.sk, until, s.sk, s.id, u.grant, doc, nonce, sig,
                               &txs[j].bytes, &txs[j].len) != 0)
                die("prefill use");
        }
        prefill_block(l, node_sk, txs, k, t++);
        for (size_t j = 0; j < k; j++)
            free(txs[j].bytes);
        done += k;
        if (done % 100000 == 0 || done == n)
            fprintf(stderr, "bench: prefill %" PRIu64 " of %" PRIu64 " uses (%.0f s)\n", done, n,
                    mono_s() - t0);
    }
    free(txs);
    ledger_close(l);
    sodium_memzero(node_sk, NODES * 64);
    free(node_sk);
    for (unsigned i = 1; i < NODES; i++) {
        if (i == prefill_empty)
            continue;
        snprintf(cmd, sizeof cmd,
                 "mkdir -p '%s/node%u/data' && cp '%s/node0/data/data.mdb' '%s/node%u/data/'",
                 C.dir, i, C.dir, C.dir, i);
        if (system(cmd) != 0)
            die("copy the prefilled store");
    }
}

/* ---- BENCH_SYNC (make bench-sync): an empty node catches up -------------------------- */

/* Nodes 0-2 hold the prefilled chain of n uses; node 3 starts with an empty
 * data directory and syncs it from them. Timed from node 3's start to its
 * tip reaching the others'. */
static int bench_sync(uint64_t n)
{
    const unsigned empty = NODES - 1;
    prefill_empty = empty;
    prefill(n);
    for (unsigned i = 0; i < NODES; i++)
        if (i != empty && cluster_start(&C, i) != 0)
            die("start");
    for (unsigned i = 0; i < NODES; i++)
        if (i != empty && cluster_wait_up(&C, i, 60000) != 0)
            die("a node did not come up");
    uint64_t target = cluster_height(&C, 0);
    if (target == UINT64_MAX || target == 0)
        die("node 0 reports no chain");
    fprintf(stderr, "bench-sync: 3 nodes up at height %" PRIu64 "; starting node %u empty\n",
            target, empty);
    /* From the start of the process: it syncs before its socket answers (a
     * batch being applied holds its loop). */
    double t0 = mono_s(), last_report = t0;
    if (cluster_start(&C, empty) != 0)
        die("the empty node did not start");
    uint64_t h = 0;
    while ((h = cluster_height(&C, empty)) == UINT64_MAX || h < target) {
        cluster_sleep_ms(50);
        if (mono_s() - last_report >= 5) {
            last_report = mono_s();
            fprintf(stderr, "bench-sync: node %u at %" PRIu64 " of %" PRIu64 " (%.0f s)\n", empty,
                    h == UINT64_MAX ? 0 : h, target, last_report - t0);
        }
        if (mono_s() - t0 > 1800)
            die("sync did not finish in 30 minutes");
    }
    double secs = mono_s() - t0;
    double cpu = cpu_seconds(C.pid[empty]);
    fprintf(stderr, "bench-sync: node %u: cpu %.1f s\n", empty, cpu);
    cluster_free(&C, getenv("BENCH_KEEP") != NULL);
    uint64_t txs = n + 2; /* the seal and the grant ahead of the uses */
    printf("bench-sync: blocks=%" PRIu64 " txs=%" PRIu64 " seconds=%.1f blocks_per_s=%.0f "
           "tx_per_s=%.0f\n",
           target, txs, secs, target / secs, txs / secs);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0 || ledger_crypto_init() != 0)
        return 1;
    const char *s = getenv("BENCH_SECONDS");
    double secs = s && *s ? atof(s) : 30;
    if (secs < 1)
        secs = 1;
    /* The window measures the steady state: the offer first fills every node's
     * mempool (20,000 transactions each, verified ahead of their blocks), which
     * would count verification work for transactions that commit after the window. */
    const char *w = getenv("BENCH_WARMUP");
    double warmup = w && *w ? atof(w) : 10;
    if (warmup < 0)
        warmup = 0;
    const char *pre = getenv("BENCH_PREFILL");
    uint64_t prefill_n = pre != NULL && *pre ? strtoull(pre, NULL, 10) : 0;
    if (cluster_new(&C, NODES, getenv("BENCH_INI")) != 0)
        die("cluster_new (is build/sealctl built?)");
    if (getenv("BENCH_SYNC") != NULL)
        return bench_sync(prefill_n > 0 ? prefill_n : 200000);
    if (prefill_n > 0)
        prefill(prefill_n);
    for (unsigned i = 0; i < NODES; i++)
        if (cluster_start(&C, i) != 0)
            die("start");
    for (unsigned i = 0; i < NODES; i++)
        if (cluster_wait_up(&C, i, 30000) != 0)
            die("a node did not come up");
    fprintf(stderr, "bench: 4 nodes up in %s; set-up: %d seals, %d silent grants\n", C.dir, SEALS,
            USERS);
    setup_chain();
    double verifies = ceiling_verifies();
    double ceiling = verifies / (NODES * 2.0);
    fprintf(stderr,
            "bench: ceiling: %.0f Ed25519 verifications/s on %ld cores = %.0f use tx/s "
            "for 4 nodes\n",
            verifies, sysconf(_SC_NPROCESSORS_ONLN), ceiling);
    size_t n_sat = (size_t)(ceiling * (warmup + secs) * 1.5) + 1000;
    fprintf(stderr, "bench: pre-signing %zu uses (not timed)\n", n_sat);
    struct tx *sat = presign(n_sat);
    double tps = saturate(sat, n_sat, warmup, secs);
    double half_secs = secs < HALF_SECS_MAX ? secs : HALF_SECS_MAX;
    size_t n_half = (size_t)(tps / 2 * half_secs) + 100;
    struct tx *half = presign(n_half);
    double p50, p99;
    half_load(half, n_half, tps / 2, half_secs, &p50, &p99);
    double rss_max = 0;
    for (unsigned i = 0; i < NODES; i++) {
        double cpu = cpu_seconds(C.pid[i]);
        fprintf(stderr, "bench: node %u: cpu %.1f s, peak RssAnon %.1f MB\n", i, cpu,
                (double)peak_rss_kb[i] / 1024.0);
        if ((double)peak_rss_kb[i] / 1024.0 > rss_max)
            rss_max = (double)peak_rss_kb[i] / 1024.0;
    }
    for (unsigned i = 0; i < NODES; i++)
        cluster_signal(&C, i, SIGTERM, NULL);
    double disk = 0;
    for (unsigned i = 0; i < NODES; i++) {
        double d = disk_per_tx(i);
        fprintf(stderr, "bench: node %u: %.0f disk bytes per committed tx\n", i, d);
        if (d > disk)
            disk = d;
    }
    for (size_t j = 0; j < n_sat; j++)
        free(sat[j].bytes);
    for (size_t j = 0; j < n_half; j++)
        free(half[j].bytes);
    free(sat);
    free(half);
    cluster_free(&C, getenv("BENCH_KEEP") != NULL);
    if (prefill_n > 0)
        fprintf(stderr, "bench: on a chain prefilled with %" PRIu64 " uses\n", prefill_n);
    printf("bench: nodes=4 seconds=%.0f committed_tps=%.0f ceiling_tps=%.0f ratio=%.2f "
           "p50_ms=%.1f p99_ms=%.1f rss_mb_max=%.1f disk_bytes_per_tx=%.0f\n",
           secs, tps, ceiling, tps / ceiling, p50, p99, rss_max, disk);
    return 0;
}
