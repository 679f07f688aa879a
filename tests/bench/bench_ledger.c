/* bench-ledger: use-transaction throughput with durable commits, and disk bytes per tx. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger/cert.h"
#include "ledger/creditcode.h"
#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/store.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"

/*
 * One organisation, one seal, one silent grant with unlimited uses, then
 * --txs use transactions in blocks of --block, each block through the path a
 * primary takes: ledger_build_block (execution), a commit certificate of q of
 * 4 validators, ledger_commit_block (certificate check, one durable LMDB
 * write). Generating and signing the use transactions (a client's work) is
 * done just in time per block and kept out of the timings.
 */

#define N_VALIDATORS 4
#define WINDOW_TXS   100000 /* the "first" and "last" windows of the report */

struct opts {
    uint64_t txs;
    size_t block;
    const char *dir;
    int keep;
    int backup;
};

/* --backup: the primary that builds each block (untimed), while the measured
 * ledger takes the backup's path: ledger_validate_block, then
 * ledger_commit_block, which reuses that execution. */
static struct ledger *primary;

struct keys {
    uint8_t node_sk[N_VALIDATORS][LEDGER_SECRET_LEN], admin_sk[N_VALIDATORS][LEDGER_SECRET_LEN];
    uint8_t org_pk[LEDGER_KEY_LEN], org_sk[LEDGER_SECRET_LEN];
    uint8_t seal_pk[LEDGER_KEY_LEN], seal_sk[LEDGER_SECRET_LEN];
    uint8_t user_pk[LEDGER_KEY_LEN], user_sk[LEDGER_SECRET_LEN];
    uint8_t seal_id[LEDGER_HASH_LEN], grant_id[LEDGER_HASH_LEN];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "bench-ledger: %s: %s (%s)\n", what, ledger_strerror(rc), msg ? msg : "");
    exit(1);
}

static void keypair(const char *tag, uint32_t i, uint8_t *pk, uint8_t *sk)
{
    char buf[64];
    uint8_t seed[LEDGER_HASH_LEN];
    int n = snprintf(buf, sizeof(buf), "bench/%s/%u", tag, (unsigned)i);
    ledger_sha256(buf, (size_t)n, seed);
    crypto_sign_seed_keypair(pk, sk, seed);
}

static void make_genesis(struct ledger_genesis *g, struct keys *k)
{
    memset(g, 0, sizeof(*g));
    snprintf(g->chain_id, sizeof(g->chain_id), "bench");
    g->time_ms = 1795000000000ull;
    g->n = N_VALIDATORS;
    for (uint32_t i = 0; i < N_VALIDATORS; i++) {
        keypair("node", i, g->validators[i].node_key, k->node_sk[i]);
        keypair("admin", i, g->validators[i].admin_key, k->admin_sk[i]);
        snprintf(g->validators[i].org_id, sizeof(g->validators[i].org_id), "agency%u", i);
        snprintf(g->validators[i].org_name, sizeof(g->validators[i].org_name), "Agency %u", i);
    }
    char err[256];
    int rc = ledger_genesis_finish(g, err, sizeof(err));
    if (rc != 0)
        die("genesis", rc, err);
}

static void cert_for(const struct ledger_genesis *g, const struct keys *k, uint64_t height,
                     const uint8_t hash[LEDGER_HASH_LEN], uint8_t **out, size_t *out_len)
{
    uint32_t q = ledger_genesis_quorum(g->n), signers[N_VALIDATORS];
    uint8_t sigs[N_VALIDATORS][LEDGER_SIG_LEN], payload[LEDGER_COMMIT_PAYLOAD_LEN];
    ledger_commit_payload(height, 0, hash, payload);
    for (uint32_t i = 0; i < q; i++) {
        signers[i] = i;
        ledger_sign(LEDGER_TAG_COMMIT, g->hash, payload, sizeof(payload), k->node_sk[i], sigs[i]);
    }
    int rc = ledger_cert_build(height, 0, hash, signers, (const uint8_t(*)[LEDGER_SIG_LEN])sigs, q,
                               out, out_len);
    if (rc != 0)
        die("certificate", rc, NULL);
}

/* Wall seconds of execution and of the commit, and the commit's CPU
 * seconds (its wall time less this is the wait on the disk). */
struct timing {
    double build, commit, commit_cpu;
};

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The backup's path for a block the primary built and committed. */
static void backup_block(struct ledger *l, const struct keys *k, const struct ledger_txref *txs,
                         size_t n, uint64_t time_ms, struct timing *t)
{
    struct ledger_tip tip;
    ledger_tip_get(primary, &tip);
    uint8_t *block, *cert, hash[LEDGER_HASH_LEN];
    size_t len, cert_len;
    int rc = ledger_build_block(primary, txs, n, time_ms, 0, 0, /* view 0's primary */
                                &block, &len, hash, NULL, NULL, NULL);
    if (rc != 0)
        die("primary: build block", rc, ledger_errmsg(primary));
    cert_for(ledger_genesis_get(l), k, tip.height + 1, hash, &cert, &cert_len);
    if ((rc = ledger_commit_block(primary, block, len, cert, cert_len)) != 0)
        die("primary: commit block", rc, ledger_errmsg(primary));
    double t0 = now_s();
    if ((rc = ledger_validate_block(l, block, len, NULL)) != 0)
        die("validate block", rc, ledger_errmsg(l));
    double t1 = now_s(), c1 = cpu_s();
    if ((rc = ledger_commit_block(l, block, len, cert, cert_len)) != 0)
        die("commit block", rc, ledger_errmsg(l));
    t->build += t1 - t0;
    t->commit += now_s() - t1;
    t->commit_cpu += cpu_s() - c1;
    free(block);
    free(cert);
}

/* Builds, certifies and commits one block; refusals are fatal here. */
static void run_block(struct ledger *l, const struct keys *k, const struct ledger_txref *txs,
                      size_t n, uint64_t time_ms, struct timing *t)
{
    if (primary != NULL) {
        backup_block(l, k, txs, n, time_ms, t);
        return;
    }

    struct ledger_tip tip;
    ledger_tip_get(l, &tip);
    uint8_t *block, *cert, hash[LEDGER_HASH_LEN];
    size_t len, cert_len, refused = 0;
    struct ledger_refusal ref;
    double t0 = now_s();
    int rc = ledger_build_block(l, txs, n, time_ms, 0, 0, /* view 0's primary */
                                &block, &len, hash, n == 1 ? &ref : NULL, &refused, NULL);
    if (rc != 0)
        die("build block", rc, ledger_errmsg(l));
    double t1 = now_s();
    cert_for(ledger_genesis_get(l), k, tip.height + 1, hash, &cert, &cert_len);
    double t2 = now_s(), c2 = cpu_s();
    rc = ledger_commit_block(l, block, len, cert, cert_len);
    if (rc != 0)
        die("commit block", rc, ledger_errmsg(l));
    double t3 = now_s();
    t->commit_cpu += cpu_s() - c2;
    struct ledger_header h;
    if (ledger_block_header(block, len, &h) != 0 || h.tx_count != n) {
        fprintf(stderr, "bench-ledger: %zu of %zu txs refused%s%s\n", n - h.tx_count, n,
                n == 1 ? ": " : "", n == 1 ? ref.reason : "");
        exit(1);
    }
    t->build += t1 - t0;
    t->commit += t3 - t2;
    free(block);
    free(cert);
}

static uint64_t block_time(const struct ledger *l)
{
    struct ledger_tip tip;
    ledger_tip_get(l, &tip);
    return tip.time_ms + 1000;
}

/* Blocks 1-3: the organisation, its seal, the silent unlimited grant. */
static void setup_chain(struct ledger *l, struct keys *k)
{
    const struct ledger_genesis *g = ledger_genesis_get(l);
    struct timing t = { 0 };
    uint8_t *tx;
    size_t len;
    uint64_t time = block_time(l);
    char code[LEDGER_CREDIT_CODE_LEN + 1] = "91330100MA2BENCH0";
    code[17] = ledger_credit_code_check_char(code);
    keypair("org", 0, k->org_pk, k->org_sk);
    keypair("seal", 0, k->seal_pk, k->seal_sk);
    keypair("user", 0, k->user_pk, k->user_sk);
    if (ledger_txb_org_register(g, k->admin_sk[0], time + 3600000, code, "Bench Org", k->org_pk,
                                NULL, &tx, &len) != 0)
        die("org tx", LEDGER_E_NOMEM, NULL);
    run_block(l, k, &(struct ledger_txref){ .data = tx, .len = len }, 1, time, &t);
    free(tx);
    time = block_time(l);
    struct ledger_txb_seal sp = { .org_id = code,
                                  .type = SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT,
                                  .name = "Bench Seal",
                                  .seal_key = k->seal_pk };
    if (ledger_txb_seal_register(g, k->org_sk, time + 3600000, &sp, &tx, &len) != 0)
        die("seal tx", LEDGER_E_NOMEM, NULL);
    ledger_tx_id(tx, len, k->seal_id);
    run_block(l, k, &(struct ledger_txref){ .data = tx, .len = len }, 1, time, &t);
    free(tx);
    time = block_time(l);
    struct ledger_txb_grant gp = { .seal_id = k->seal_id, .user_key = k->user_pk };
    if (ledger_txb_grant(g, k->org_sk, time + 3600000, &gp, &tx, &len) != 0)
        die("grant tx", LEDGER_E_NOMEM, NULL);
    ledger_tx_id(tx, len, k->grant_id);
    run_block(l, k, &(struct ledger_txref){ .data = tx, .len = len }, 1, time, &t);
    free(tx);
}

/* n signed uses for block time `time` (the client's work, not timed). */
static void make_uses(const struct ledger_genesis *g, const struct keys *k, uint64_t time,
                      uint64_t first, size_t n, struct ledger_txref *refs)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t doc[LEDGER_HASH_LEN], *tx;
        size_t len;
        uint64_t seq = first + i;
        ledger_sha256(&seq, sizeof(seq), doc); /* a fresh document each time */
        if (ledger_txb_use(g, k->user_sk, time + 3600000, k->seal_sk, k->seal_id, k->grant_id, doc,
                           NULL, NULL, &tx, &len) != 0)
            die("use tx", LEDGER_E_NOMEM, NULL);
        refs[i] = (struct ledger_txref){ .data = tx, .len = len };
    }
}

/* The Ed25519 ceiling: verifies per second on this core over a use-sized
 * message, through the same ledger_verify the rules call. */
static double verify_rate(void)
{
    uint8_t pk[LEDGER_KEY_LEN], sk[LEDGER_SECRET_LEN], g[LEDGER_HASH_LEN] = { 1 };
    uint8_t msg[220], sig[LEDGER_SIG_LEN];
    keypair("verify", 0, pk, sk);
    randombytes_buf(msg, sizeof(msg));
    ledger_sign(LEDGER_TAG_TX, g, msg, sizeof(msg), sk, sig);
    int n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 1000; i++)
            if (ledger_verify(LEDGER_TAG_TX, g, msg, sizeof(msg), pk, sig) != 0)
                die("verify", LEDGER_E_BAD_SIGNATURE, NULL);
        n += 1000;
    } while ((t = now_s() - t0) < 2.0);
    return n / t;
}

static void wipe(const char *dir)
{
    char path[4096];
    const char *files[] = { "data.mdb", "lock.mdb" };
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        if (unlink(path) != 0 && errno != ENOENT) {
            fprintf(stderr, "bench-ledger: %s: %s\n", path, strerror(errno));
            exit(1);
        }
    }
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){ .txs = 1000000, .block = 1000, .dir = "build/bench-ledger-data" };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--txs") == 0 && i + 1 < argc)
            o->txs = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--block") == 0 && i + 1 < argc)
            o->block = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            o->dir = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            o->keep = 1;
        else if (strcmp(argv[i], "--backup") == 0)
            o->backup = 1;
        else {
            fprintf(stderr, "usage: bench-ledger [--txs N] [--block B] [--dir DIR] [--keep] "
                            "[--backup]\n"
                            "  --backup: time validate + commit of blocks built by a primary in "
                            "DIR/primary (untimed)\n"
                            "  DIR's data.mdb/lock.mdb are replaced (default "
                            "build/bench-ledger-data); --keep leaves them afterwards\n");
            exit(2);
        }
    }
    if (o->block == 0 || o->block > LEDGER_MAX_BLOCK_TXS || o->txs == 0) {
        fprintf(stderr, "bench-ledger: need --txs >= 1 and 1 <= --block <= %d\n",
                LEDGER_MAX_BLOCK_TXS);
        exit(2);
    }
}

struct window {
    uint64_t txs;
    struct timing t;
};

static void print_window(const char *name, const struct window *w)
{
    double total = w->t.build + w->t.commit;
    double blocks = (double)w->txs / 1000;
    printf("%-8s %9" PRIu64 " txs  %9.0f tx/s   (execute %.0f%%, commit %.0f%%; commit %.1f ms "
           "per block, %.1f ms of it on the CPU)\n",
           name, w->txs, w->txs / total, 100 * w->t.build / total, 100 * w->t.commit / total,
           1000 * w->t.commit / blocks, 1000 * w->t.commit_cpu / blocks);
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_args(argc, argv, &o);
    if (ledger_crypto_init() != 0)
        die("sodium_init", LEDGER_E_FATAL, NULL);
    if (mkdir(o.dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench-ledger: %s: %s\n", o.dir, strerror(errno));
        return 1;
    }
    wipe(o.dir);
    struct keys *k = sodium_malloc(sizeof(*k)); /* secret keys: guarded, wiped on free */
    struct ledger_genesis *g = malloc(sizeof(*g));
    struct ledger_txref *refs = malloc(o.block * sizeof(*refs));
    if (k == NULL || g == NULL || refs == NULL)
        die("alloc", LEDGER_E_NOMEM, NULL);
    make_genesis(g, k);
    struct ledger *l;
    char err[512];
    int rc = ledger_open(o.dir, g, NULL, &l, err, sizeof(err));
    if (rc != 0)
        die("open", rc, err);
    char pdir[4096];
    snprintf(pdir, sizeof(pdir), "%s/primary", o.dir);
    if (o.backup) {
        if (mkdir(pdir, 0700) != 0 && errno != EEXIST)
            die("mkdir primary", LEDGER_E_STORE, pdir);
        wipe(pdir);
        if ((rc = ledger_open(pdir, g, NULL, &primary, err, sizeof(err))) != 0)
            die("open primary", rc, err);
    }
    setup_chain(l, k);
    printf("bench-ledger: %" PRIu64 " use txs in blocks of %zu, durable commits, store %s, %s\n",
           o.txs, o.block, o.dir,
           o.backup ? "backup path (validate + commit; the primary's work untimed)"
                    : "primary path (build + commit)");
    fflush(stdout);
    struct window first = { 0 }, last = { 0 }, all = { 0 };
    struct timing *ring = calloc(o.txs / o.block + 2, sizeof(*ring));
    size_t *ring_n = calloc(o.txs / o.block + 2, sizeof(*ring_n));
    if (ring == NULL || ring_n == NULL)
        die("alloc", LEDGER_E_NOMEM, NULL);
    size_t nblocks = 0;
    double gen = 0;
    for (uint64_t done = 0; done < o.txs; nblocks++) {
        size_t n = o.txs - done < o.block ? (size_t)(o.txs - done) : o.block;
        uint64_t time = block_time(l);
        double g0 = now_s();
        make_uses(g, k, time, done, n, refs);
        gen += now_s() - g0;
        run_block(l, k, refs, n, time, &ring[nblocks]);
        ring_n[nblocks] = n;
        for (size_t i = 0; i < n; i++)
            free((void *)refs[i].data);
        if (done < WINDOW_TXS) {
            first.txs += n;
            first.t.build += ring[nblocks].build;
            first.t.commit += ring[nblocks].commit;
            first.t.commit_cpu += ring[nblocks].commit_cpu;
        }
        all.txs += n;
        all.t.build += ring[nblocks].build;
        all.t.commit += ring[nblocks].commit;
        all.t.commit_cpu += ring[nblocks].commit_cpu;
        done += n;
        if (nblocks % 100 == 99) {
            struct timing w = { 0 };
            for (size_t b = nblocks - 99; b <= nblocks; b++) {
                w.commit += ring[b].commit;
                w.commit_cpu += ring[b].commit_cpu;
            }
            printf("  %9" PRIu64 " txs, %.0f tx/s so far; last 100 blocks: commit %.1f ms per "
                   "block (CPU %.1f)\n",
                   done, all.txs / (all.t.build + all.t.commit), 10 * w.commit, 10 * w.commit_cpu);
            fflush(stdout);
        }
    }
    for (size_t b = nblocks; b-- > 0 && last.txs < WINDOW_TXS;) {
        last.txs += ring_n[b];
        last.t.build += ring[b].build;
        last.t.commit += ring[b].commit;
        last.t.commit_cpu += ring[b].commit_cpu;
    }
    printf("\n");
    print_window("first", &first);
    print_window("last", &last);
    print_window("total", &all);
    printf("(tx generation and signing, excluded: %.1f s)\n", gen);
    struct ledger_store_stats st;
    if (ledger_store_stats(ledger_store_get(l), &st) != 0)
        die("stats", LEDGER_E_STORE, NULL);
    struct stat fs;
    char path[4096];
    snprintf(path, sizeof(path), "%s/data.mdb", o.dir);
    long long file = stat(path, &fs) == 0 ? (long long)fs.st_blocks * 512 : -1;
    double bytes = (double)st.pages_in_use * (double)st.page_size;
    printf("disk: %zu pages in use x %zu B = %.1f MB, %.0f bytes per tx (all %" PRIu64
           " txs incl. setup); file %.1f MB allocated, map %.1f MB; %zu state entries\n",
           st.pages_in_use, st.page_size, bytes / 1e6, bytes / (double)(all.txs + 3), all.txs + 3,
           file / 1e6, st.map_size / 1e6, st.entries);
    double vps = verify_rate();
    double ceiling = vps / 2; /* a use carries 2 signatures: the user's and the seal's */
    printf("ed25519: %.0f verifies/s on one core -> ceiling %.0f use tx/s (2 signatures each)\n",
           vps, ceiling);
    printf("ratio: total %.0f tx/s = %.0f%% of the signature ceiling\n",
           all.txs / (all.t.build + all.t.commit),
           100 * (all.txs / (all.t.build + all.t.commit)) / ceiling);
    ledger_close(l);
    ledger_close(primary);
    if (!o.keep) {
        wipe(o.dir);
        if (o.backup) {
            wipe(pdir);
            rmdir(pdir);
        }
    }
    free(ring);
    free(ring_n);
    free(refs);
    free(g);
    sodium_free(k);
    return 0;
}
