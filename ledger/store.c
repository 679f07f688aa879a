/* The LMDB block store: durable single-transaction commits, map growth, fail-stop. */
#include "ledger/store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ledger/err.h"
#include "ledger/store_compact.h"
#include "proto/state.pb-c.h"

/* The map is address space, not disk: without MDB_WRITEMAP LMDB's file only
 * grows as pages are written, and a read-only mapping larger than the file
 * costs neither memory nor disk. So on 64-bit the map starts at 64 GiB,
 * about 64 million use transactions (bench-ledger measures ~1 KiB of pages
 * per use tx): a node never grows it at run time, where growing is only safe
 * with no read snapshot open in the process (mdb_env_set_mapsize remaps
 * under them). 32-bit address space cannot spare that: 1 GiB there. */
#define LEDGER_STORE_MAP_INITIAL (sizeof(size_t) >= 8 ? (size_t)64 << 30 : (size_t)1 << 30)
/* Where a process that cannot reserve the initial map stops halving it: the
 * map then grows at run time (never under a read snapshot). */
#define LEDGER_STORE_MAP_FLOOR ((size_t)1 << 30)
/* Growth policy on MDB_MAP_FULL: double the map, but by at most 8 GiB per
 * step. Doubling keeps growth events (each one aborts and retries a commit)
 * logarithmic in the chain size; the cap keeps the reservation from leaping
 * to terabytes on a big chain. A commit retries at most this many times:
 * one block never needs more than a few doublings. */
#define LEDGER_STORE_MAP_STEP_MAX ((size_t)8 << 30)
#define LEDGER_STORE_GROW_TRIES   16
/* Named databases: blocks, hashes, state, ids, meta, consensus. */
#define STORE_MAX_DBS    8
#define STORE_ERRMSG_LEN 512
#define TIP_LEN          (8 + LEDGER_HASH_LEN + LEDGER_HASH_LEN + 8)
/* The on-disk layout's version, meta "format" (u32 BE). 1 (no key): values
 * as they are; 2: usage records in their compact form (store_compact.h). A
 * store of another version is refused at open, never misread. */
#define STORE_FORMAT 2u

struct ledger_store {
    MDB_env *env;
    MDB_dbi blocks, hashes, state, ids, meta, consensus;
    struct ledger_genesis genesis;
    struct ledger_tip tip;
    bool is_new;
    bool failed;
    size_t map_max;
    /* Read snapshots open (ledger_rtxn_begin .. _end), from any thread: the
     * map grows only when none is, since growing remaps the file under them. */
    atomic_uint readers;
    /* ledger_store_sync_stats: commits per bucket and their total time. */
    atomic_uint_fast64_t sync_hits[LEDGER_STORE_SYNC_KINDS][LEDGER_STORE_SYNC_BUCKETS + 1];
    atomic_uint_fast64_t sync_ns[LEDGER_STORE_SYNC_KINDS];
    char errmsg[STORE_ERRMSG_LEN];
};

struct ledger_rtxn {
    struct ledger_store *s;
    MDB_txn *txn;
    struct ledger__rbuf *bufs; /* rebuilt usage records, freed at the end */
};

static void serr(struct ledger_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void serr(struct ledger_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ledger_verrf(0, s->errmsg, sizeof(s->errmsg), fmt, ap);
    va_end(ap);
}

static MDB_val mval(const void *p, size_t len)
{
    MDB_val v = { .mv_size = len, .mv_data = (void *)p };
    return v;
}

static void tip_encode(const struct ledger_tip *t, uint8_t out[static TIP_LEN])
{
    ledger_put_u64be(out, t->height);
    memcpy(out + 8, t->hash, LEDGER_HASH_LEN);
    memcpy(out + 8 + LEDGER_HASH_LEN, t->state_root, LEDGER_HASH_LEN);
    ledger_put_u64be(out + 8 + 2 * LEDGER_HASH_LEN, t->time_ms);
}

static int tip_decode(const MDB_val *v, struct ledger_tip *t)
{
    if (v->mv_size != TIP_LEN)
        return LEDGER_E_MALFORMED;
    const uint8_t *p = v->mv_data;
    t->height = ledger_get_u64be(p);
    memcpy(t->hash, p + 8, LEDGER_HASH_LEN);
    memcpy(t->state_root, p + 8 + LEDGER_HASH_LEN, LEDGER_HASH_LEN);
    t->time_ms = ledger_get_u64be(p + 8 + 2 * LEDGER_HASH_LEN);
    return 0;
}

static void genesis_tip(const struct ledger_genesis *g, struct ledger_tip *t)
{
    memset(t, 0, sizeof(*t));
    memcpy(t->state_root, g->hash, LEDGER_HASH_LEN);
    t->time_ms = g->time_ms;
}

/*
 * Physical keys. The state.h keys that are one prefix byte and a tx id
 * ('T' tx location, 'U' usage = the use's tx id, 'S' seal = its
 * registration's tx id, 'R' grant = the grant's tx id) live in the 'ids'
 * DBI under id ‖ prefix. A tx's 'T' entry and the record it creates then
 * share a key prefix and, almost always, a leaf page: a use dirties one
 * random leaf page there instead of two (see the note at commit_fill).
 * Every other key lives in 'state' as it is. The logical key space of
 * state.h is unchanged; only the byte order on disk differs.
 */
static bool id_family(uint8_t prefix)
{
    return prefix == LEDGER_K_TX || prefix == LEDGER_K_USAGE || prefix == LEDGER_K_SEAL ||
           prefix == LEDGER_K_GRANT;
}

struct pkey {
    MDB_dbi dbi;
    MDB_val k;
    uint8_t buf[1 + LEDGER_HASH_LEN];
};

static void phys_key(const struct ledger_store *s, const uint8_t *key, size_t len, struct pkey *out)
{
    if (len == 1 + LEDGER_HASH_LEN && id_family(key[0])) {
        memcpy(out->buf, key + 1, LEDGER_HASH_LEN);
        out->buf[LEDGER_HASH_LEN] = key[0];
        out->dbi = s->ids;
        out->k = mval(out->buf, sizeof(out->buf));
    } else {
        out->dbi = s->state;
        out->k = mval(key, len);
    }
}

/* Usage records in their stored form (store_compact.h: ledger__usage_store
 * writes, ledger__usage_load reads); a rebuilt one lives in a buffer of
 * the read transaction. */
static bool is_usage_key(const uint8_t *key, size_t len)
{
    return len == 1 + LEDGER_HASH_LEN && key[0] == LEDGER_K_USAGE;
}

static int usage_expand(struct ledger_rtxn *r, const uint8_t *id, MDB_val *v)
{
    struct ledger__rbuf *b;
    int rc = ledger__usage_load(r->txn, r->s->ids, r->s->blocks, id, v, &b);
    if (rc == LEDGER_E_NOMEM)
        return rc;
    if (rc != 0) {
        serr(r->s, "read usage: stored form unknown, or its use transaction unreadable");
        return LEDGER_E_STORE;
    }
    if (b != NULL) {
        b->next = r->bufs;
        r->bufs = b;
    }
    return 0;
}

/* ---- open / close ---------------------------------------------------------- */

static int open_dbis(struct ledger_store *s)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {
        { "blocks", &s->blocks }, { "hashes", &s->hashes }, { "state", &s->state },
        { "ids", &s->ids },       { "meta", &s->meta },     { "consensus", &s->consensus }
    };
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        if ((rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbs[i].dbi)) != 0) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    return mdb_txn_commit(txn);
}

/* Reads the genesis hash and tip; a store without them is new. */
static int load_meta(struct ledger_store *s)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        serr(s, "open store: mdb_txn_begin: %s", mdb_strerror(rc));
        return LEDGER_E_STORE;
    }
    MDB_val k = mval("genesis", 7), v;
    rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        s->is_new = true;
        genesis_tip(&s->genesis, &s->tip);
        rc = 0;
        goto out;
    }
    if (rc != 0 || v.mv_size != LEDGER_HASH_LEN) {
        serr(s, "open store: genesis hash unreadable: %s", rc ? mdb_strerror(rc) : "bad size");
        rc = LEDGER_E_STORE;
        goto out;
    }
    if (memcmp(v.mv_data, s->genesis.hash, LEDGER_HASH_LEN) != 0) {
        char have[2 * LEDGER_HASH_LEN + 1], want[2 * LEDGER_HASH_LEN + 1];
        ledger_hex(v.mv_data, LEDGER_HASH_LEN, have);
        ledger_hex(s->genesis.hash, LEDGER_HASH_LEN, want);
        serr(s, "open store: made for genesis %.16s..., not this genesis %.16s...", have, want);
        rc = LEDGER_E_WRONG_CHAIN;
        goto out;
    }
    k = mval("format", 6);
    rc = mdb_get(txn, s->meta, &k, &v);
    uint32_t format = rc == MDB_NOTFOUND ? 1 : 0;
    if (rc == 0 && v.mv_size == 4)
        format = ledger_get_u32be(v.mv_data);
    if (format != STORE_FORMAT) {
        serr(s,
             "open store: on-disk layout version %u, this build reads version %u only "
             "(start from a new data directory; the node syncs the chain from its peers)",
             (unsigned)format, STORE_FORMAT);
        rc = LEDGER_E_STORE;
        goto out;
    }
    k = mval("tip", 3);
    if ((rc = mdb_get(txn, s->meta, &k, &v)) != 0 || tip_decode(&v, &s->tip) != 0) {
        serr(s, "open store: tip unreadable: %s", rc ? mdb_strerror(rc) : "bad size");
        rc = LEDGER_E_STORE;
    }
out:
    mdb_txn_abort(txn);
    return rc;
}

static int env_open_sized(struct ledger_store *s, const char *dir, size_t map_initial);

/* Opens with the map asked for; when the process cannot reserve that much
 * address space (ulimit -v, valgrind: mmap fails and LMDB says EINVAL or
 * ENOMEM), halves it down to LEDGER_STORE_MAP_FLOOR and tries again. */
static int env_open(struct ledger_store *s, const char *dir, size_t map_initial)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        serr(s, "open store %s: mkdir: %s", dir, strerror(errno));
        return LEDGER_E_STORE;
    }
    int rc;
    while ((rc = env_open_sized(s, dir, map_initial)) == EINVAL || rc == ENOMEM) {
        if (map_initial / 2 < LEDGER_STORE_MAP_FLOOR)
            break;
        map_initial /= 2;
    }
    if (rc != 0) {
        serr(s, "open store %s: %s", dir, mdb_strerror(rc));
        return LEDGER_E_STORE;
    }
    return 0;
}

/* One attempt: 0 or LMDB's code (the environment closed again). */
static int env_open_sized(struct ledger_store *s, const char *dir, size_t map_initial)
{
    int rc, dead;
    if ((rc = mdb_env_create(&s->env)) != 0)
        goto err;
    if ((rc = mdb_env_set_maxdbs(s->env, STORE_MAX_DBS)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, map_initial)) != 0)
        goto err_after_create;
    /* MDB_NOTLS: read snapshots belong to their MDB_txn, not to a thread, so
     * libuv pool threads can use them. No MDB_NOSYNC / MDB_NOMETASYNC: every
     * commit is durable when mdb_txn_commit returns. */
    if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600)) != 0)
        goto err_after_create;
    /* A crashed process may have left reader slots that pin old pages. */
    if ((rc = mdb_reader_check(s->env, &dead)) != 0 || (rc = open_dbis(s)) != 0)
        goto err_after_create;
    return 0;
err_after_create:
    mdb_env_close(s->env);
    s->env = NULL;
err:
    return rc;
}

int ledger_store_open(const char *dir, const struct ledger_genesis *g,
                      const struct ledger_store_options *opt, struct ledger_store **out,
                      char *errmsg, size_t errmsg_len)
{
    *out = NULL;
    struct ledger_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return LEDGER_E_NOMEM;
    s->genesis = *g;
    atomic_init(&s->readers, 0);
    size_t map_initial =
        opt != NULL && opt->map_initial ? opt->map_initial : LEDGER_STORE_MAP_INITIAL;
    s->map_max = opt != NULL ? opt->map_max : 0;
    int rc = env_open(s, dir, map_initial);
    if (rc != 0)
        goto err_after_alloc;
    if ((rc = load_meta(s)) != 0)
        goto err_after_env;
    *out = s;
    return 0;
err_after_env:
    mdb_env_close(s->env);
err_after_alloc:
    if (errmsg != NULL && errmsg_len > 0)
        snprintf(errmsg, errmsg_len, "%s", s->errmsg);
    free(s);
    return rc;
}

void ledger_store_close(struct ledger_store *s)
{
    if (s == NULL)
        return;
    mdb_env_close(s->env);
    free(s);
}

const char *ledger_store_errmsg(const struct ledger_store *s)
{
    return s->errmsg;
}

bool ledger_store_failed(const struct ledger_store *s)
{
    return s->failed;
}

void ledger_store_fail(struct ledger_store *s, const char *msg)
{
    if (!s->failed) {
        serr(s, "%s", msg);
        s->failed = true;
    }
}

bool ledger_store_is_new(const struct ledger_store *s)
{
    return s->is_new;
}

void ledger_store_tip(const struct ledger_store *s, struct ledger_tip *out)
{
    *out = s->tip;
}

const struct ledger_genesis *ledger_store_genesis(const struct ledger_store *s)
{
    return &s->genesis;
}

/* ---- the write path ----------------------------------------------------------- */

/* A write job fills a write transaction; it returns an LMDB code and names
 * the failing step in *what. */
struct wjob {
    int (*fill)(struct ledger_store *s, MDB_txn *txn, void *arg, const char **what);
    void *arg;
    enum ledger_store_sync_kind kind; /* where its commit's time is counted */
    char context[96];                 /* "commit block 812" */
};

const double ledger_store_sync_bounds[LEDGER_STORE_SYNC_BUCKETS] = {
    0.0001, 0.00015, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.0015, 0.002,
    0.003,  0.005,   0.0075, 0.01,   0.015,  0.02,    0.03,  0.05,   0.075,
    0.1,    0.15,    0.2,    0.3,    0.5,    0.75,    1,     1.5,    2,
};

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sync_count(struct ledger_store *s, enum ledger_store_sync_kind kind, uint64_t ns)
{
    size_t b = 0;
    while (b < LEDGER_STORE_SYNC_BUCKETS && (double)ns > ledger_store_sync_bounds[b] * 1e9)
        b++;
    atomic_fetch_add_explicit(&s->sync_hits[kind][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sync_ns[kind], ns, memory_order_relaxed);
}

void ledger_store_sync_stats(const struct ledger_store *s, enum ledger_store_sync_kind kind,
                             struct ledger_store_sync_stats *out)
{
    memset(out, 0, sizeof *out);
    if ((unsigned)kind >= LEDGER_STORE_SYNC_KINDS)
        return;
    for (size_t b = 0; b <= LEDGER_STORE_SYNC_BUCKETS; b++) {
        out->hits[b] = atomic_load_explicit(&s->sync_hits[kind][b], memory_order_relaxed);
        out->count += out->hits[b];
    }
    out->sum_seconds = (double)atomic_load_explicit(&s->sync_ns[kind], memory_order_relaxed) / 1e9;
}

static int grow(struct ledger_store *s, const struct wjob *job)
{
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    size_t old = info.me_mapsize;
    size_t step = old < LEDGER_STORE_MAP_STEP_MAX ? old : LEDGER_STORE_MAP_STEP_MAX;
    size_t next = old + step;
    if (s->map_max != 0 && next > s->map_max)
        next = s->map_max;
    if (next <= old) {
        serr(s, "%s: MDB_MAP_FULL: map size %zu bytes reached its limit", job->context, old);
        return -1;
    }
    unsigned readers = atomic_load(&s->readers);
    if (readers > 0) {
        serr(s,
             "%s: MDB_MAP_FULL: map size %zu bytes is full and %u read snapshot(s) are open: "
             "the map cannot grow under them",
             job->context, old, readers);
        return -1;
    }
    int rc = mdb_env_set_mapsize(s->env, next);
    if (rc != 0) {
        serr(s, "%s: mdb_env_set_mapsize(%zu): %s", job->context, next, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

/* Runs job in one write transaction with a durable commit. MDB_MAP_FULL (at
 * a put or at the commit) aborts, grows the map and retries the whole job;
 * any other failure is fatal (DESIGN.md §4: fail-stop, never run on with
 * state that exists only in memory). */
static int run_write(struct ledger_store *s, struct wjob *job)
{
    if (s->failed)
        return LEDGER_E_FATAL;
    const char *what = "mdb_txn_begin";
    int rc = 0;
    for (int tries = 0; tries < LEDGER_STORE_GROW_TRIES; tries++) {
        MDB_txn *txn;
        what = "mdb_txn_begin";
        rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (rc == MDB_MAP_RESIZED) { /* another process grew it: adopt */
            if ((rc = mdb_env_set_mapsize(s->env, 0)) == 0)
                rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        }
        if (rc != 0)
            break;
        rc = job->fill(s, txn, job->arg, &what);
        if (rc != 0) {
            mdb_txn_abort(txn);
        } else {
            what = "mdb_txn_commit";
            uint64_t t0 = mono_ns();
            rc = mdb_txn_commit(txn); /* frees txn whatever the outcome */
            if (rc == 0)
                sync_count(s, job->kind, mono_ns() - t0);
        }
        if (rc == 0)
            return 0;
        if (rc != MDB_MAP_FULL)
            break;
        if (grow(s, job) != 0) {
            s->failed = true;
            return LEDGER_E_FATAL;
        }
    }
    serr(s, "%s: %s: %s", job->context, what, mdb_strerror(rc));
    s->failed = true;
    return LEDGER_E_FATAL;
}

struct ov_put {
    struct ledger_store *s;
    MDB_txn *txn;
    int mdb_rc;
};

static int put_one(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                   size_t val_len)
{
    struct ov_put *p = arg;
    struct pkey pk;
    phys_key(p->s, key, key_len, &pk);
    if (is_usage_key(key, key_len)) {
        p->mdb_rc = ledger__usage_store(p->txn, pk.dbi, p->s->blocks, &pk.k, key + 1, val, val_len);
    } else {
        MDB_val v = mval(val, val_len);
        p->mdb_rc = mdb_put(p->txn, pk.dbi, &pk.k, &v, 0);
    }
    return p->mdb_rc != 0 ? 1 : 0;
}

/* The overlay iterates in ascending key order, so puts walk each DBI's
 * B-tree left to right: neighbouring keys share leaf pages that are already
 * dirty in this transaction (see the note on random keys at commit_fill). */
static int put_overlay(struct ledger_store *s, MDB_txn *txn, struct ledger_overlay *ov,
                       const char **what)
{
    struct ov_put p = { .s = s, .txn = txn, .mdb_rc = 0 };
    int rc = ledger_overlay_foreach(ov, put_one, &p);
    if (rc != 0) {
        *what = "mdb_put state";
        return p.mdb_rc != 0 ? p.mdb_rc : ENOMEM;
    }
    return 0;
}

static int put_tip(struct ledger_store *s, MDB_txn *txn, const struct ledger_tip *t,
                   const char **what)
{
    uint8_t buf[TIP_LEN];
    tip_encode(t, buf);
    MDB_val k = mval("tip", 3), v = mval(buf, TIP_LEN);
    *what = "mdb_put tip";
    return mdb_put(txn, s->meta, &k, &v, 0);
}

static int init_fill(struct ledger_store *s, MDB_txn *txn, void *arg, const char **what)
{
    struct ledger_overlay *ov = arg;
    int rc = put_overlay(s, txn, ov, what);
    if (rc != 0)
        return rc;
    MDB_val k = mval("genesis", 7), v = mval(s->genesis.hash, LEDGER_HASH_LEN);
    *what = "mdb_put genesis";
    if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
        return rc;
    uint8_t format[4];
    ledger_put_u32be(format, STORE_FORMAT);
    k = mval("format", 6);
    v = mval(format, sizeof(format));
    *what = "mdb_put format";
    if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
        return rc;
    struct ledger_tip t;
    genesis_tip(&s->genesis, &t);
    return put_tip(s, txn, &t, what);
}

int ledger_store_init(struct ledger_store *s, struct ledger_overlay *ov)
{
    if (!s->is_new)
        return LEDGER_E_INVALID;
    struct wjob job = { .fill = init_fill, .arg = ov };
    snprintf(job.context, sizeof(job.context), "write genesis state");
    int rc = run_write(s, &job);
    if (rc == 0)
        s->is_new = false;
    return rc;
}

/* StoredBlock { Block block = 1; CommitCert cert = 2; } built from the two
 * encodings as they are: tag, varint length, bytes. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static uint8_t *stored_block_encode(const struct ledger_store_block *b, size_t *out_len)
{
    uint8_t *buf = malloc(b->block_len + b->cert_len + 2 * 11);
    if (buf == NULL)
        return NULL;
    size_t n = 0;
    buf[n++] = 0x0a; /* field 1, length-delimited */
    n += put_varint(buf + n, b->block_len);
    memcpy(buf + n, b->block, b->block_len);
    n += b->block_len;
    if (b->cert_len > 0) {
        buf[n++] = 0x12; /* field 2, length-delimited */
        n += put_varint(buf + n, b->cert_len);
        memcpy(buf + n, b->cert, b->cert_len);
        n += b->cert_len;
    }
    *out_len = n;
    return buf;
}

struct commit_arg {
    const struct ledger_store_block *blocks;
    size_t count;
};

static int put_block(struct ledger_store *s, MDB_txn *txn, const struct ledger_store_block *b,
                     const char **what)
{
    uint8_t hkey[8];
    ledger_put_u64be(hkey, b->height);
    size_t len;
    uint8_t *enc = stored_block_encode(b, &len);
    if (enc == NULL) {
        *what = "encode StoredBlock";
        return ENOMEM;
    }
    /* Heights are big-endian and only ever appended: MDB_APPEND fills each
     * leaf page completely and skips the search (sequential-key speed). */
    MDB_val k = mval(hkey, 8), v = mval(enc, len);
    *what = "mdb_put blocks";
    int rc = mdb_put(txn, s->blocks, &k, &v, MDB_APPEND);
    free(enc);
    if (rc != 0)
        return rc;
    MDB_val hk = mval(b->hash, LEDGER_HASH_LEN), hv = mval(hkey, 8);
    *what = "mdb_put hashes";
    return mdb_put(txn, s->hashes, &hk, &hv, MDB_NOOVERWRITE);
}

/*
 * Random keys. The 'T', 'U' and 'D' keys are SHA-256 values, so each block's
 * inserts land on leaf pages all over their B-trees; LMDB copies every page
 * it touches (copy-on-write), so the cost of a commit is the number of
 * distinct pages dirtied, not the number of puts. What we do about it:
 *  - one write transaction per block (or per sync batch): a page touched by
 *    many inserts of the block is copied and written once;
 *  - the overlay's writes are put in ascending key order, so consecutive
 *    puts revisit the same branch pages (hot in cache, already dirty);
 *  - the id-keyed families ('T', 'U', 'S', 'R') are stored under id ‖ prefix
 *    in the 'ids' DBI (see phys_key), so a use's 'T' and 'U' entries share
 *    a leaf page: two random leaf pages per use ('ids' and 'D') instead of
 *    three;
 *  - blocks are appended with MDB_APPEND, and 'E' (per seal, by height) and
 *    the block hash index add one page each per block.
 *  - usage records are stored without their copy of the use tx (layout 2,
 *    store_compact.c): 'ids' holds ~86 bytes per entry instead of ~280, so the
 *    tree a block dirties at random has a third of the leaves and branches.
 * bench-ledger prints what that costs as the chain grows. Measured here
 * (1,000,000 uses in blocks of 1,000): the commit of a block in the last
 * 100,000 took 143 ms with 'T' in a DBI of its own and 'U' in 'state', 99 ms
 * with the 'ids' layout. What remains is the kernel writing back the pages
 * dirtied (BENCHMARKS.md): about one leaf per use in 'ids' and one in 'D'. MDB_WRITEMAP was tried
 * too and gained nothing measurable (the cost is the pages written and synced, not the copy), so it
 * is not used: it would also expose the map to stray writes.
 */
static int commit_fill(struct ledger_store *s, MDB_txn *txn, void *arg, const char **what)
{
    struct commit_arg *a = arg;
    int rc;
    for (size_t i = 0; i < a->count; i++) {
        if ((rc = put_block(s, txn, &a->blocks[i], what)) != 0)
            return rc;
        if ((rc = put_overlay(s, txn, a->blocks[i].ov, what)) != 0)
            return rc;
    }
    const struct ledger_store_block *last = &a->blocks[a->count - 1];
    struct ledger_tip t = { .height = last->height, .time_ms = last->time_ms };
    memcpy(t.hash, last->hash, LEDGER_HASH_LEN);
    memcpy(t.state_root, last->state_root, LEDGER_HASH_LEN);
    return put_tip(s, txn, &t, what);
}

int ledger_store_commit(struct ledger_store *s, const struct ledger_store_block *blocks,
                        size_t count)
{
    if (s->failed)
        return LEDGER_E_FATAL;
    if (s->is_new || count == 0)
        return LEDGER_E_INVALID;
    for (size_t i = 0; i < count; i++)
        if (blocks[i].height != s->tip.height + 1 + i || blocks[i].block_len == 0 ||
            blocks[i].ov == NULL) {
            serr(s, "commit block %llu: not the next block (tip %llu)",
                 (unsigned long long)blocks[i].height, (unsigned long long)s->tip.height);
            return LEDGER_E_INVALID;
        }
    struct commit_arg a = { .blocks = blocks, .count = count };
    struct wjob job = { .fill = commit_fill, .arg = &a };
    if (count == 1)
        snprintf(job.context, sizeof(job.context), "commit block %llu",
                 (unsigned long long)blocks[0].height);
    else
        snprintf(job.context, sizeof(job.context), "commit blocks %llu..%llu",
                 (unsigned long long)blocks[0].height,
                 (unsigned long long)blocks[count - 1].height);
    int rc = run_write(s, &job);
    if (rc != 0)
        return rc;
    const struct ledger_store_block *last = &blocks[count - 1];
    s->tip.height = last->height;
    s->tip.time_ms = last->time_ms;
    memcpy(s->tip.hash, last->hash, LEDGER_HASH_LEN);
    memcpy(s->tip.state_root, last->state_root, LEDGER_HASH_LEN);
    return 0;
}

/* ---- consensus blobs ------------------------------------------------------------ */

#define CONSENSUS_NAME_MAX 64

struct cput {
    const char *name;
    const uint8_t *val;
    size_t len;
};

static int cput_fill(struct ledger_store *s, MDB_txn *txn, void *arg, const char **what)
{
    struct cput *c = arg;
    MDB_val k = mval(c->name, strlen(c->name)), v = mval(c->val, c->len);
    *what = "mdb_put consensus";
    return mdb_put(txn, s->consensus, &k, &v, 0);
}

int ledger_store_consensus_put(struct ledger_store *s, const char *name, const uint8_t *val,
                               size_t val_len)
{
    size_t nlen = strnlen(name, CONSENSUS_NAME_MAX);
    if (nlen == 0 || nlen >= CONSENSUS_NAME_MAX)
        return LEDGER_E_INVALID;
    struct cput c = { .name = name, .val = val, .len = val_len };
    struct wjob job = { .fill = cput_fill, .arg = &c, .kind = LEDGER_STORE_SYNC_CONSENSUS };
    snprintf(job.context, sizeof(job.context), "save consensus state '%s'", name);
    return run_write(s, &job);
}

static int copy_out(const MDB_val *v, uint8_t **out, size_t *out_len)
{
    uint8_t *p = malloc(v->mv_size > 0 ? v->mv_size : 1);
    if (p == NULL)
        return LEDGER_E_NOMEM;
    if (v->mv_size > 0)
        memcpy(p, v->mv_data, v->mv_size);
    *out = p;
    *out_len = v->mv_size;
    return 0;
}

int ledger_store_consensus_get(struct ledger_store *s, const char *name, uint8_t **out,
                               size_t *out_len)
{
    size_t nlen = strnlen(name, CONSENSUS_NAME_MAX);
    if (nlen == 0 || nlen >= CONSENSUS_NAME_MAX)
        return LEDGER_E_INVALID;
    struct ledger_rtxn *r;
    int rc = ledger_rtxn_begin(s, &r);
    if (rc != 0)
        return rc;
    MDB_val k = mval(name, nlen), v;
    int mrc = mdb_get(r->txn, s->consensus, &k, &v);
    if (mrc == MDB_NOTFOUND)
        rc = LEDGER_E_NOT_FOUND;
    else if (mrc != 0)
        rc = LEDGER_E_STORE;
    else
        rc = copy_out(&v, out, out_len);
    ledger_rtxn_end(r);
    return rc;
}

/* ---- reads ---------------------------------------------------------------------- */

static int mdb_to_ledger(int rc)
{
    if (rc == 0)
        return 0;
    return rc == MDB_NOTFOUND ? LEDGER_E_NOT_FOUND : LEDGER_E_STORE;
}

int ledger_rtxn_begin(struct ledger_store *s, struct ledger_rtxn **out)
{
    struct ledger_rtxn *r = malloc(sizeof(*r));
    if (r == NULL)
        return LEDGER_E_NOMEM;
    r->s = s;
    r->bufs = NULL;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn);
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(s->env, 0) == 0)
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn);
    if (rc != 0) {
        serr(s, "read: mdb_txn_begin: %s", mdb_strerror(rc));
        free(r);
        return LEDGER_E_STORE;
    }
    atomic_fetch_add(&s->readers, 1);
    *out = r;
    return 0;
}

void ledger_rtxn_end(struct ledger_rtxn *r)
{
    if (r == NULL)
        return;
    mdb_txn_abort(r->txn);
    while (r->bufs != NULL) {
        struct ledger__rbuf *next = r->bufs->next;
        free(r->bufs);
        r->bufs = next;
    }
    atomic_fetch_sub(&r->s->readers, 1);
    free(r);
}

int ledger_rtxn_tip(struct ledger_rtxn *r, struct ledger_tip *out)
{
    MDB_val k = mval("tip", 3), v;
    int rc = mdb_get(r->txn, r->s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) { /* a new store: the genesis tip */
        genesis_tip(&r->s->genesis, out);
        return 0;
    }
    if (rc != 0)
        return LEDGER_E_STORE;
    return tip_decode(&v, out);
}

int ledger_rtxn_block(struct ledger_rtxn *r, uint64_t height, const uint8_t **out, size_t *out_len)
{
    uint8_t hkey[8];
    ledger_put_u64be(hkey, height);
    MDB_val k = mval(hkey, 8), v;
    int rc = mdb_to_ledger(mdb_get(r->txn, r->s->blocks, &k, &v));
    if (rc == 0) {
        *out = v.mv_data;
        *out_len = v.mv_size;
    }
    return rc;
}

int ledger_rtxn_block_height(struct ledger_rtxn *r, const uint8_t hash[static LEDGER_HASH_LEN],
                             uint64_t *out_height)
{
    MDB_val k = mval(hash, LEDGER_HASH_LEN), v;
    int rc = mdb_to_ledger(mdb_get(r->txn, r->s->hashes, &k, &v));
    if (rc == 0) {
        if (v.mv_size != 8)
            return LEDGER_E_MALFORMED;
        *out_height = ledger_get_u64be(v.mv_data);
    }
    return rc;
}

int ledger_rtxn_state_get(struct ledger_rtxn *r, const uint8_t *key, size_t key_len,
                          const uint8_t **out_val, size_t *out_val_len)
{
    if (key_len == 0 || key_len > LEDGER_KEY_MAX)
        return LEDGER_E_INVALID;
    struct pkey pk;
    phys_key(r->s, key, key_len, &pk);
    MDB_val v;
    int rc = mdb_to_ledger(mdb_get(r->txn, pk.dbi, &pk.k, &v));
    if (rc == 0 && is_usage_key(key, key_len))
        rc = usage_expand(r, key + 1, &v);
    if (rc == 0) {
        *out_val = v.mv_data;
        *out_val_len = v.mv_size;
    }
    return rc;
}

int ledger_rtxn_tx_location(struct ledger_rtxn *r, const uint8_t id[static LEDGER_HASH_LEN],
                            uint64_t *out_height, uint32_t *out_index)
{
    uint8_t key[1 + LEDGER_HASH_LEN] = { LEDGER_K_TX };
    memcpy(key + 1, id, LEDGER_HASH_LEN);
    const uint8_t *val;
    size_t len;
    int rc = ledger_rtxn_state_get(r, key, sizeof(key), &val, &len);
    if (rc != 0)
        return rc;
    Sealchain__TxLocation *loc = sealchain__tx_location__unpack(NULL, len, val);
    if (loc == NULL)
        return LEDGER_E_MALFORMED;
    *out_height = loc->height;
    *out_index = loc->index;
    sealchain__tx_location__free_unpacked(loc, NULL);
    return 0;
}

/* Range scan of one DBI over physical keys; for the 'ids' DBI (family !=
 * 0) only keys of that family are passed on, rebuilt as logical keys. */
static int scan_dbi(struct ledger_rtxn *r, MDB_dbi dbi, const uint8_t *prefix, size_t prefix_len,
                    const uint8_t *start, size_t start_len, uint8_t family,
                    int (*fn)(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                              size_t val_len),
                    void *arg)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(r->txn, dbi, &cur) != 0)
        return LEDGER_E_STORE;
    MDB_val k = mval(start, start_len), v;
    uint8_t logical[1 + LEDGER_HASH_LEN];
    int rc = 0;
    int mrc = mdb_cursor_get(cur, &k, &v, start_len > 0 ? MDB_SET_RANGE : MDB_FIRST);
    for (; mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < prefix_len || memcmp(k.mv_data, prefix, prefix_len) != 0)
            break;
        if (family == 0) {
            rc = fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
        } else {
            const uint8_t *pk = k.mv_data;
            if (k.mv_size != sizeof(logical) || pk[LEDGER_HASH_LEN] != family)
                continue;
            logical[0] = family;
            memcpy(logical + 1, pk, LEDGER_HASH_LEN);
            if (family == LEDGER_K_USAGE && (rc = usage_expand(r, pk, &v)) != 0)
                break;
            rc = fn(arg, logical, sizeof(logical), v.mv_data, v.mv_size);
        }
        if (rc != 0)
            break;
    }
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = LEDGER_E_STORE;
    mdb_cursor_close(cur);
    return rc;
}

int ledger_rtxn_state_range(struct ledger_rtxn *r, const uint8_t *prefix, size_t prefix_len,
                            const uint8_t *start, size_t start_len,
                            int (*fn)(void *arg, const uint8_t *key, size_t key_len,
                                      const uint8_t *val, size_t val_len),
                            void *arg)
{
    if (prefix_len == 0 || prefix_len > LEDGER_KEY_MAX || start_len < prefix_len ||
        start_len > LEDGER_KEY_MAX || memcmp(start, prefix, prefix_len) != 0)
        return LEDGER_E_INVALID;
    if (!id_family(prefix[0]))
        return scan_dbi(r, r->s->state, prefix, prefix_len, start, start_len, 0, fn, arg);
    /* An id family: the physical key is the logical one without its first
     * byte (and the family byte at the end), so the same order within it. */
    if (start_len > 1 + LEDGER_HASH_LEN)
        return LEDGER_E_INVALID;
    return scan_dbi(r, r->s->ids, prefix + 1, prefix_len - 1, start + 1, start_len - 1, prefix[0],
                    fn, arg);
}

int ledger_rtxn_state_scan(struct ledger_rtxn *r, const uint8_t *prefix, size_t prefix_len,
                           int (*fn)(void *arg, const uint8_t *key, size_t key_len,
                                     const uint8_t *val, size_t val_len),
                           void *arg)
{
    return ledger_rtxn_state_range(r, prefix, prefix_len, prefix, prefix_len, fn, arg);
}

static int base_get(void *ctx, const uint8_t *key, size_t key_len, const uint8_t **out_val,
                    size_t *out_val_len)
{
    return ledger_rtxn_state_get(ctx, key, key_len, out_val, out_val_len);
}

void ledger_rtxn_base(struct ledger_rtxn *r, struct ledger_state_base *out)
{
    out->ctx = r;
    out->get = base_get;
}

int ledger_rtxn_block_load(struct ledger_rtxn *r, uint64_t height, struct ledger_stored_block *out)
{
    memset(out, 0, sizeof(*out));
    const uint8_t *bytes;
    size_t len;
    int rc = ledger_rtxn_block(r, height, &bytes, &len);
    if (rc != 0)
        return rc;
    out->height = height;
    out->stored = sealchain__stored_block__unpack(NULL, len, bytes);
    if (out->stored == NULL || out->stored->block == NULL)
        goto err_malformed;
    ProtobufCBinaryData *h = &out->stored->block->header;
    out->header = sealchain__block_header__unpack(NULL, h->len, h->data);
    if (out->header == NULL)
        goto err_malformed;
    ledger_sha256(h->data, h->len, out->hash);
    out->cert = out->stored->cert;
    return 0;
err_malformed:
    ledger_stored_block_close(out);
    return LEDGER_E_MALFORMED;
}

void ledger_stored_block_close(struct ledger_stored_block *b)
{
    if (b->header != NULL)
        sealchain__block_header__free_unpacked(b->header, NULL);
    if (b->stored != NULL)
        sealchain__stored_block__free_unpacked(b->stored, NULL);
    memset(b, 0, sizeof(*b));
}

int ledger_store_get_block(struct ledger_store *s, uint64_t height, uint8_t **out, size_t *out_len)
{
    struct ledger_rtxn *r;
    int rc = ledger_rtxn_begin(s, &r);
    if (rc != 0)
        return rc;
    MDB_val v;
    if ((rc = ledger_rtxn_block(r, height, (const uint8_t **)&v.mv_data, &v.mv_size)) == 0)
        rc = copy_out(&v, out, out_len);
    ledger_rtxn_end(r);
    return rc;
}

int ledger_store_get_state(struct ledger_store *s, const uint8_t *key, size_t key_len,
                           uint8_t **out, size_t *out_len)
{
    struct ledger_rtxn *r;
    int rc = ledger_rtxn_begin(s, &r);
    if (rc != 0)
        return rc;
    MDB_val v;
    if ((rc = ledger_rtxn_state_get(r, key, key_len, (const uint8_t **)&v.mv_data, &v.mv_size)) ==
        0)
        rc = copy_out(&v, out, out_len);
    ledger_rtxn_end(r);
    return rc;
}

/* ---- statistics ---------------------------------------------------------------- */

static size_t pages_of(const MDB_stat *st)
{
    return st->ms_branch_pages + st->ms_leaf_pages + st->ms_overflow_pages;
}

int ledger_store_stats(struct ledger_store *s, struct ledger_store_stats *out)
{
    memset(out, 0, sizeof(*out));
    MDB_stat st;
    MDB_envinfo info;
    mdb_env_stat(s->env, &st); /* the main DB: holds the names of the others */
    mdb_env_info(s->env, &info);
    out->page_size = st.ms_psize;
    out->pages_in_use = pages_of(&st) + 2; /* + the two meta pages */
    out->map_size = info.me_mapsize;
    out->last_page = info.me_last_pgno;
    struct ledger_rtxn *r;
    int rc = ledger_rtxn_begin(s, &r);
    if (rc != 0)
        return rc;
    MDB_dbi dbis[] = { s->blocks, s->hashes, s->state, s->ids, s->meta, s->consensus };
    for (size_t i = 0; i < sizeof(dbis) / sizeof(dbis[0]); i++) {
        if (mdb_stat(r->txn, dbis[i], &st) != 0) {
            rc = LEDGER_E_STORE;
            break;
        }
        out->pages_in_use += pages_of(&st);
        if (dbis[i] == s->state || dbis[i] == s->ids)
            out->entries += st.ms_entries;
    }
    ledger_rtxn_end(r);
    return rc;
}
