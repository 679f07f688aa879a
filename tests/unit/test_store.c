/* Tests of the LMDB store and the ledger facade: commit, reopen, growth, fail-stop, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/store.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "proto/block.pb-c.h"
#include "tests/unit/util_store.h"

struct fx {
    struct tst_chain c;
    struct tst_work w;
    char dir[64], dir2[64];
    struct ledger *l;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tst_chain_init(&f->c, 4, "store-test");
    tst_work_init(&f->w, &f->c, 7);
    tst_tmpdir(f->dir, sizeof(f->dir));
    tst_tmpdir(f->dir2, sizeof(f->dir2));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ledger_close(f->l);
    tst_work_free(&f->w);
    tst_rmdir(f->dir);
    tst_rmdir(f->dir2);
    free(f);
    return 0;
}

static struct ledger *open_ledger(struct fx *f, const char *dir,
                                  const struct ledger_store_options *opt)
{
    struct ledger *l;
    char err[512];
    int rc = ledger_open(dir, &f->c.g, opt, &l, err, sizeof(err));
    if (rc != 0)
        fail_msg("ledger_open: %s", err);
    return l;
}

/* Commits the workload's next block; fails the test on any refusal. */
static void commit_next(struct fx *f, struct ledger *l, size_t uses)
{
    uint64_t t = tst_work_time(&f->w);
    tst_work_next(&f->w, uses);
    size_t refused;
    int rc = tst_commit(l, &f->c, f->w.refs, f->w.n_tx, t, &refused, NULL, NULL, NULL, NULL);
    if (rc != 0)
        fail_msg("commit block %llu: %s", (unsigned long long)f->w.height - 1, ledger_errmsg(l));
    assert_int_equal(refused, 0);
}

static void a_new_ledger_holds_the_genesis_orgs_at_height_0(void **state)
{
    struct fx *f = *state;
    f->l = open_ledger(f, f->dir, NULL);
    struct ledger_tip tip;
    ledger_tip_get(f->l, &tip);
    assert_int_equal(tip.height, 0);
    assert_memory_equal(tip.state_root, f->c.g.hash, LEDGER_HASH_LEN);
    uint8_t *val;
    size_t len;
    uint8_t key[] = "Oagency2";
    assert_int_equal(ledger_store_get_state(ledger_store_get(f->l), key, 8, &val, &len), 0);
    free(val);
}

struct scan_count {
    size_t n, first_byte_bad, unordered;
    uint8_t last[LEDGER_KEY_MAX];
    size_t last_len;
};

static int count_one(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                     size_t val_len)
{
    (void)val, (void)val_len;
    struct scan_count *c = arg;
    c->first_byte_bad += key[0] != 'S' || key_len != 1 + LEDGER_HASH_LEN;
    if (c->n > 0 && memcmp(c->last, key, key_len) >= 0)
        c->unordered++;
    memcpy(c->last, key, key_len);
    c->n++;
    return 0;
}

static void committed_blocks_survive_reopen_with_tip_state_and_indexes(void **state)
{
    struct fx *f = *state;
    f->l = open_ledger(f, f->dir, NULL);
    for (int i = 0; i < 8; i++)
        commit_next(f, f->l, 5);
    struct ledger_tip before, after;
    ledger_tip_get(f->l, &before);
    assert_int_equal(before.height, 8);
    uint8_t d1[LEDGER_HASH_LEN], d2[LEDGER_HASH_LEN];
    size_t n1, n2;
    tst_state_digest(ledger_store_get(f->l), d1, &n1);
    ledger_close(f->l);
    f->l = open_ledger(f, f->dir, NULL);
    ledger_tip_get(f->l, &after);
    assert_memory_equal(&before, &after, sizeof(before));
    tst_state_digest(ledger_store_get(f->l), d2, &n2);
    assert_memory_equal(d1, d2, LEDGER_HASH_LEN);
    assert_int_equal(n1, n2);
    /* blocks by height, hash -> height, tx id -> location */
    struct ledger_rtxn *r;
    assert_int_equal(ledger_rtxn_begin(ledger_store_get(f->l), &r), 0);
    struct ledger_stored_block b;
    assert_int_equal(ledger_rtxn_block_load(r, 8, &b), 0);
    assert_memory_equal(b.hash, after.hash, LEDGER_HASH_LEN);
    assert_non_null(b.cert);
    uint64_t h;
    assert_int_equal(ledger_rtxn_block_height(r, b.hash, &h), 0);
    assert_int_equal(h, 8);
    uint8_t id[LEDGER_HASH_LEN];
    ProtobufCBinaryData *tx = &b.stored->block->txs[0];
    assert_int_equal(ledger_tx_id(tx->data, tx->len, id), 0);
    uint32_t index = 99;
    assert_int_equal(ledger_rtxn_tx_location(r, id, &h, &index), 0);
    assert_int_equal(h, 8);
    assert_int_equal(index, 0);
    ledger_stored_block_close(&b);
    /* an id-keyed family scans as state.h keys, in id order */
    struct scan_count sc = { 0 };
    uint8_t fam = 'S';
    assert_int_equal(ledger_rtxn_state_scan(r, &fam, 1, count_one, &sc), 0);
    assert_int_equal(sc.n, 3);
    assert_int_equal(sc.first_byte_bad, 0);
    assert_int_equal(sc.unordered, 0);
    assert_int_equal(ledger_rtxn_block_load(r, 9, &b), LEDGER_E_NOT_FOUND);
    assert_int_equal(ledger_rtxn_block_load(r, 0, &b), LEDGER_E_NOT_FOUND);
    ledger_rtxn_end(r);
}

static void a_store_made_for_another_genesis_is_refused(void **state)
{
    struct fx *f = *state;
    f->l = open_ledger(f, f->dir, NULL);
    ledger_close(f->l);
    f->l = NULL;
    struct tst_chain *other = malloc(sizeof(*other));
    assert_non_null(other);
    tst_chain_init(other, 4, "another-chain");
    struct ledger *l = NULL;
    char err[512];
    assert_int_equal(ledger_open(f->dir, &other->g, NULL, &l, err, sizeof(err)),
                     LEDGER_E_WRONG_CHAIN);
    assert_null(l);
    assert_non_null(strstr(err, "not this genesis"));
    free(other);
}

static void a_store_path_that_is_not_a_directory_is_refused_with_a_message(void **state)
{
    struct fx *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/file", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    struct ledger *l = NULL;
    char err[512] = "";
    assert_int_equal(ledger_open(path, &f->c.g, NULL, &l, err, sizeof(err)), LEDGER_E_STORE);
    assert_null(l);
    assert_non_null(strstr(err, path));
    unlink(path);
}

static void a_full_map_grows_and_the_commit_succeeds(void **state)
{
    struct fx *f = *state;
    struct ledger_store_options opt = { .map_initial = 64 * 1024 };
    f->l = open_ledger(f, f->dir, &opt);
    struct ledger_store_stats st;
    assert_int_equal(ledger_store_stats(ledger_store_get(f->l), &st), 0);
    size_t initial = st.map_size;
    for (int i = 0; i < 30; i++)
        commit_next(f, f->l, 20);
    assert_int_equal(ledger_store_stats(ledger_store_get(f->l), &st), 0);
    assert_true(st.map_size > initial);
    assert_true(st.pages_in_use * st.page_size > initial);
    struct ledger_tip tip;
    ledger_tip_get(f->l, &tip);
    assert_int_equal(tip.height, 30);
}

/*
 * mdb_env_set_mapsize remaps the file under every read snapshot of the process: a query or
 * another thread holding one while a commit grows the map would read unmapped memory. The map
 * never grows under an open snapshot: that commit fails (fail-stop) saying why, the snapshot
 * stays readable, and nothing of the block is written.
 */
static void the_map_never_grows_under_an_open_read_snapshot(void **state)
{
    struct fx *f = *state;
    struct ledger_store_options opt = { .map_initial = 64 * 1024 };
    f->l = open_ledger(f, f->dir, &opt);
    struct ledger_store *s = ledger_store_get(f->l);
    struct ledger_store_stats st;
    assert_int_equal(ledger_store_stats(s, &st), 0);
    size_t initial = st.map_size;
    struct ledger_rtxn *r;
    assert_int_equal(ledger_rtxn_begin(s, &r), 0);
    int rc = 0;
    uint64_t committed = 0;
    for (int i = 0; i < 200 && rc == 0; i++) {
        uint64_t t = tst_work_time(&f->w);
        tst_work_next(&f->w, 20);
        rc = tst_commit(f->l, &f->c, f->w.refs, f->w.n_tx, t, NULL, NULL, NULL, NULL, NULL);
        if (rc == 0)
            committed++;
    }
    assert_int_equal(rc, LEDGER_E_FATAL);
    assert_non_null(strstr(ledger_errmsg(f->l), "read snapshot(s) are open"));
    struct ledger_tip tip;
    assert_int_equal(ledger_rtxn_tip(r, &tip), 0);
    assert_int_equal(tip.height, 0);
    ledger_rtxn_end(r);
    assert_int_equal(ledger_store_stats(s, &st), 0);
    assert_int_equal(st.map_size, initial);
    ledger_tip_get(f->l, &tip);
    assert_int_equal(tip.height, committed);
}

static void a_failed_commit_makes_the_store_fail_stop(void **state)
{
    struct fx *f = *state;
    /* growth allowed up to 256 KiB only: some commit must fail */
    struct ledger_store_options opt = { .map_initial = 64 * 1024, .map_max = 256 * 1024 };
    f->l = open_ledger(f, f->dir, &opt);
    int rc = 0;
    uint64_t committed = 0;
    for (int i = 0; i < 200 && rc == 0; i++) {
        uint64_t t = tst_work_time(&f->w);
        tst_work_next(&f->w, 20);
        rc = tst_commit(f->l, &f->c, f->w.refs, f->w.n_tx, t, NULL, NULL, NULL, NULL, NULL);
        if (rc == 0)
            committed++;
    }
    assert_int_equal(rc, LEDGER_E_FATAL);
    assert_true(ledger_failed(f->l));
    assert_true(ledger_store_failed(ledger_store_get(f->l)));
    char want[64];
    snprintf(want, sizeof(want), "commit block %llu: ", (unsigned long long)committed + 1);
    assert_non_null(strstr(ledger_errmsg(f->l), want));
    assert_non_null(strstr(ledger_errmsg(f->l), "MDB_MAP_FULL"));
    /* every later write is refused, and the message stays the first failure */
    uint64_t t = tst_work_time(&f->w);
    tst_work_next(&f->w, 1);
    assert_int_equal(tst_commit(f->l, &f->c, f->w.refs, f->w.n_tx, t, NULL, NULL, NULL, NULL, NULL),
                     LEDGER_E_FATAL);
    assert_int_equal(ledger_store_consensus_put(ledger_store_get(f->l), "pbft", (uint8_t *)"x", 1),
                     LEDGER_E_FATAL);
    assert_non_null(strstr(ledger_store_errmsg(ledger_store_get(f->l)), want));
    /* nothing of the failed block reached the disk */
    ledger_close(f->l);
    f->l = open_ledger(f, f->dir, NULL);
    struct ledger_tip tip;
    ledger_tip_get(f->l, &tip);
    assert_int_equal(tip.height, committed);
    assert_false(ledger_failed(f->l));
}

static void consensus_blobs_are_durable_and_separate_by_name(void **state)
{
    struct fx *f = *state;
    f->l = open_ledger(f, f->dir, NULL);
    struct ledger_store *s = ledger_store_get(f->l);
    uint8_t *v;
    size_t len;
    assert_int_equal(ledger_store_consensus_get(s, "pbft", &v, &len), LEDGER_E_NOT_FOUND);
    assert_int_equal(ledger_store_consensus_put(s, "pbft", (const uint8_t *)"view=7", 6), 0);
    assert_int_equal(ledger_store_consensus_put(s, "other", (const uint8_t *)"", 0), 0);
    assert_int_equal(ledger_store_consensus_put(s, "", (const uint8_t *)"x", 1), LEDGER_E_INVALID);
    ledger_close(f->l);
    f->l = open_ledger(f, f->dir, NULL);
    s = ledger_store_get(f->l);
    assert_int_equal(ledger_store_consensus_get(s, "pbft", &v, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(v, "view=7", 6);
    free(v);
    assert_int_equal(ledger_store_consensus_get(s, "other", &v, &len), 0);
    assert_int_equal(len, 0);
    free(v);
}

static uint64_t sum_hits(const struct ledger_store_sync_stats *st)
{
    uint64_t n = 0;
    for (size_t b = 0; b <= LEDGER_STORE_SYNC_BUCKETS; b++)
        n += st->hits[b];
    return n;
}

/* Each durable commit is timed once, under its kind; a refused write is not. */
static void each_durable_commit_is_timed_under_its_kind(void **state)
{
    struct fx *f = *state;
    f->l = open_ledger(f, f->dir, NULL);
    struct ledger_store *s = ledger_store_get(f->l);
    struct ledger_store_sync_stats b0, c0, b1, c1;
    ledger_store_sync_stats(s, LEDGER_STORE_SYNC_BLOCKS, &b0);
    ledger_store_sync_stats(s, LEDGER_STORE_SYNC_CONSENSUS, &c0);
    assert_int_equal(b0.count, 1); /* the genesis state, written at open */
    assert_int_equal(c0.count, 0);
    commit_next(f, f->l, 3);
    commit_next(f, f->l, 1);
    assert_int_equal(ledger_store_consensus_put(s, "pbft", (const uint8_t *)"v", 1), 0);
    assert_int_equal(ledger_store_consensus_put(s, "", (const uint8_t *)"v", 1), LEDGER_E_INVALID);
    ledger_store_sync_stats(s, LEDGER_STORE_SYNC_BLOCKS, &b1);
    ledger_store_sync_stats(s, LEDGER_STORE_SYNC_CONSENSUS, &c1);
    assert_int_equal(b1.count, 3);
    assert_int_equal(c1.count, 1);
    assert_int_equal(sum_hits(&b1), b1.count);
    assert_int_equal(sum_hits(&c1), c1.count);
    assert_true(b1.sum_seconds > b0.sum_seconds && c1.sum_seconds > 0);
    for (size_t i = 1; i < LEDGER_STORE_SYNC_BUCKETS; i++)
        assert_true(ledger_store_sync_bounds[i] > ledger_store_sync_bounds[i - 1]);
    struct ledger_store_sync_stats bad;
    ledger_store_sync_stats(s, LEDGER_STORE_SYNC_KINDS, &bad);
    assert_int_equal(bad.count, 0);
}

static void build_block_skips_refused_txs_and_reports_why(void **state)
{
    struct fx *f = *state;
    f->l = open_ledger(f, f->dir, NULL);
    uint64_t t = tst_work_time(&f->w);
    tst_work_next(&f->w, 0); /* block 1: the org registration */
    static const uint8_t junk[] = { 0x0a, 0x05, 0x01 };
    struct ledger_txref c[3] = { f->w.refs[0],
                                 f->w.refs[0],
                                 { .data = junk, .len = sizeof(junk) } };
    struct ledger_refusal ref[3];
    size_t n_ref, used, len;
    uint8_t *block, hash[LEDGER_HASH_LEN];
    assert_int_equal(
        ledger_build_block(f->l, c, 3, t, 1, 1, &block, &len, hash, ref, &n_ref, &used), 0);
    assert_int_equal(used, 3);
    assert_int_equal(n_ref, 2);
    assert_int_equal(ref[0].index, 1);
    assert_int_equal(ref[0].code, LEDGER_E_DUPLICATE_TX);
    assert_int_equal(ref[1].index, 2);
    assert_int_equal(ref[1].code, LEDGER_E_MALFORMED);
    struct ledger_header h;
    assert_int_equal(ledger_block_header(block, len, &h), 0);
    assert_int_equal(h.tx_count, 1);
    assert_int_equal(h.height, 1);
    assert_int_equal(h.proposer, 1);
    assert_memory_equal(h.hash, hash, LEDGER_HASH_LEN);
    free(block);
    /* a time not after the tip's is refused */
    assert_int_equal(ledger_build_block(f->l, c, 1, TST_GENESIS_TIME, 0, 0, &block, &len, hash,
                                        NULL, NULL, NULL),
                     LEDGER_E_BAD_TIME);
}

static void check_tx_admits_valid_and_refuses_committed_txs(void **state)
{
    struct fx *f = *state;
    f->l = open_ledger(f, f->dir, NULL);
    uint64_t t = tst_work_time(&f->w);
    tst_work_next(&f->w, 0);
    char why[256];
    uint8_t id[LEDGER_HASH_LEN], id2[LEDGER_HASH_LEN];
    assert_int_equal(
        ledger_check_tx(f->l, f->w.refs[0].data, f->w.refs[0].len, t, id, why, sizeof(why)), 0);
    assert_int_equal(ledger_tx_id(f->w.refs[0].data, f->w.refs[0].len, id2), 0);
    assert_memory_equal(id, id2, LEDGER_HASH_LEN);
    assert_int_equal(tst_commit(f->l, &f->c, f->w.refs, 1, t, NULL, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(
        ledger_check_tx(f->l, f->w.refs[0].data, f->w.refs[0].len, t + 10, NULL, why, sizeof(why)),
        LEDGER_E_DUPLICATE_TX);
}

/* The mempool's re-check after a block runs every state rule but no
 * signature check: a forged signature passes it (such a tx was never
 * admitted), while a tx a block made invalid is refused. */
static void recheck_skips_signatures_but_not_the_state_rules(void **state)
{
    struct fx *f = *state;
    f->l = open_ledger(f, f->dir, NULL);
    uint64_t t = tst_work_time(&f->w);
    tst_work_next(&f->w, 0);
    const struct ledger_txref *tx = &f->w.refs[0];
    Sealchain__Tx *env = sealchain__tx__unpack(NULL, tx->len, tx->data);
    assert_non_null(env);
    env->signature.data[5] ^= 0x20;
    uint8_t *forged;
    size_t flen;
    assert_int_equal(ledger_encode(&env->base, &forged, &flen), 0);
    sealchain__tx__free_unpacked(env, NULL);
    assert_int_equal(ledger_check_tx(f->l, forged, flen, t, NULL, NULL, 0), LEDGER_E_BAD_SIGNATURE);
    assert_int_equal(ledger_recheck_tx(f->l, forged, flen, t, NULL, NULL, 0), 0);
    assert_int_equal(ledger_recheck_tx(f->l, tx->data, tx->len, t, NULL, NULL, 0), 0);
    assert_int_equal(tst_commit(f->l, &f->c, f->w.refs, 1, t, NULL, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(ledger_recheck_tx(f->l, tx->data, tx->len, t + 10, NULL, NULL, 0),
                     LEDGER_E_DUPLICATE_TX);
    free(forged);
}

/* ---- a second ledger as the primary, blocks handed to the first ------------------ */

struct made {
    uint8_t *block, *cert;
    size_t len, cert_len;
};

/* Builds n blocks of the workload on a primary ledger in f->dir2. */
static void make_blocks(struct fx *f, struct made *m, size_t n)
{
    struct ledger *p = open_ledger(f, f->dir2, NULL);
    for (size_t i = 0; i < n; i++) {
        uint64_t t = tst_work_time(&f->w);
        tst_work_next(&f->w, 5);
        assert_int_equal(tst_commit(p, &f->c, f->w.refs, f->w.n_tx, t, NULL, &m[i].block, &m[i].len,
                                    &m[i].cert, &m[i].cert_len),
                         0);
    }
    ledger_close(p);
}

static void free_made(struct made *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].block);
        free(m[i].cert);
    }
}

/* Re-encodes block with its header changed by edit; the new header hash in
 * out_hash. */
static uint8_t *reheader(const struct made *m, void (*edit)(Sealchain__BlockHeader *),
                         size_t *out_len, uint8_t out_hash[LEDGER_HASH_LEN])
{
    Sealchain__Block *b = sealchain__block__unpack(NULL, m->len, m->block);
    assert_non_null(b);
    Sealchain__BlockHeader *h =
        sealchain__block_header__unpack(NULL, b->header.len, b->header.data);
    assert_non_null(h);
    edit(h);
    uint8_t *hb, *out;
    size_t hlen;
    assert_int_equal(ledger_encode(&h->base, &hb, &hlen), 0);
    ledger_sha256(hb, hlen, out_hash);
    free(b->header.data);
    b->header.data = hb;
    b->header.len = hlen;
    assert_int_equal(ledger_encode(&b->base, &out, out_len), 0);
    sealchain__block_header__free_unpacked(h, NULL);
    sealchain__block__free_unpacked(b, NULL);
    return out;
}

static void bump_time_back(Sealchain__BlockHeader *h)
{
    h->time_ms = TST_GENESIS_TIME;
}
static void flip_state_root(Sealchain__BlockHeader *h)
{
    h->state_root.data[0] ^= 1;
}
static void other_chain(Sealchain__BlockHeader *h)
{
    h->chain.data[5] ^= 1;
}
static void more_txs(Sealchain__BlockHeader *h)
{
    h->tx_count++;
}

static void validate_refuses_bad_parent_time_roots_and_encoding(void **state)
{
    struct fx *f = *state;
    struct made m[2];
    make_blocks(f, m, 2);
    f->l = open_ledger(f, f->dir, NULL);
    struct ledger_header h;
    assert_int_equal(ledger_validate_block(f->l, m[1].block, m[1].len, &h), LEDGER_E_BAD_PARENT);
    struct {
        void (*edit)(Sealchain__BlockHeader *);
        int want;
    } cases[] = { { bump_time_back, LEDGER_E_BAD_TIME },
                  { flip_state_root, LEDGER_E_BAD_STATE_ROOT },
                  { other_chain, LEDGER_E_WRONG_CHAIN },
                  { more_txs, LEDGER_E_BAD_TX_ROOT } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        uint8_t hash[LEDGER_HASH_LEN];
        uint8_t *bad = reheader(&m[0], cases[i].edit, &len, hash);
        int rc = ledger_validate_block(f->l, bad, len, NULL);
        if (rc != cases[i].want)
            fail_msg("case %zu: %s (%s)", i, ledger_errname(rc), ledger_errmsg(f->l));
        free(bad);
    }
    /* a trailing byte */
    uint8_t *longer = malloc(m[0].len + 1);
    assert_non_null(longer);
    memcpy(longer, m[0].block, m[0].len);
    longer[m[0].len] = 0;
    assert_int_equal(ledger_validate_block(f->l, longer, m[0].len + 1, NULL), LEDGER_E_MALFORMED);
    free(longer);
    /* the genuine block passes, then commits without a change of tip in between */
    assert_int_equal(ledger_validate_block(f->l, m[0].block, m[0].len, &h), 0);
    assert_int_equal(h.height, 1);
    assert_int_equal(ledger_commit_block(f->l, m[0].block, m[0].len, m[0].cert, m[0].cert_len), 0);
    /* a repeated delivery of the committed tip is a no-op */
    assert_int_equal(ledger_commit_block(f->l, m[0].block, m[0].len, m[0].cert, m[0].cert_len), 0);
    assert_int_equal(ledger_commit_block(f->l, m[1].block, m[1].len, m[1].cert, m[1].cert_len), 0);
    free_made(m, 2);
}

/* The tx root of the block being forged by the tests below. */
static uint8_t forged_tx_root[LEDGER_HASH_LEN];
static void set_forged_tx_root(Sealchain__BlockHeader *h)
{
    assert_int_equal(h->tx_root.len, LEDGER_HASH_LEN);
    memcpy(h->tx_root.data, forged_tx_root, LEDGER_HASH_LEN);
}

/* Block 1 of m with its first tx re-wrapped under a forged signature (same
 * body, so the same tx id). */
static uint8_t *forge_signature(const struct made *m, size_t *out_len)
{
    Sealchain__Block *b = sealchain__block__unpack(NULL, m->len, m->block);
    assert_non_null(b);
    Sealchain__Tx *tx = sealchain__tx__unpack(NULL, b->txs[0].len, b->txs[0].data);
    assert_non_null(tx);
    tx->signature.data[3] ^= 0x40;
    uint8_t *forged, *bad;
    size_t flen;
    assert_int_equal(ledger_encode(&tx->base, &forged, &flen), 0);
    free(b->txs[0].data);
    b->txs[0].data = forged;
    b->txs[0].len = flen;
    assert_int_equal(ledger_encode(&b->base, &bad, out_len), 0);
    sealchain__tx__free_unpacked(tx, NULL);
    sealchain__block__free_unpacked(b, NULL);
    return bad;
}

/* The tx root covers whole transactions, signatures included: a relay that
 * swaps a signature in a certified block (same tx ids) no longer matches
 * the signed header, so it is a refusal that changes nothing, not a
 * divergence that would stop honest nodes. */
static void a_block_whose_signature_was_swapped_no_longer_matches_its_header(void **state)
{
    struct fx *f = *state;
    struct made m[1];
    make_blocks(f, m, 1);
    f->l = open_ledger(f, f->dir, NULL);
    size_t blen;
    uint8_t *bad = forge_signature(&m[0], &blen);
    assert_int_equal(ledger_validate_block(f->l, bad, blen, NULL), LEDGER_E_BAD_TX_ROOT);
    assert_int_equal(ledger_commit_block(f->l, bad, blen, m[0].cert, m[0].cert_len),
                     LEDGER_E_BAD_TX_ROOT);
    assert_false(ledger_failed(f->l));
    assert_int_equal(ledger_commit_block(f->l, m[0].block, m[0].len, m[0].cert, m[0].cert_len), 0);
    free(bad);
    free_made(m, 1);
}

/* A block whose header commits to a refused tx is refused; with a valid
 * certificate it is a divergence from q validators: fail-stop. */
static void a_block_with_a_refused_tx_is_refused(void **state)
{
    struct fx *f = *state;
    struct made m[1];
    make_blocks(f, m, 1);
    f->l = open_ledger(f, f->dir, NULL);
    size_t blen, len, cert_len;
    uint8_t *bad = forge_signature(&m[0], &blen);
    Sealchain__Block *b = sealchain__block__unpack(NULL, blen, bad);
    assert_non_null(b);
    uint8_t(*leaves)[LEDGER_HASH_LEN] = calloc(b->n_txs, LEDGER_HASH_LEN);
    assert_non_null(leaves);
    for (size_t i = 0; i < b->n_txs; i++)
        ledger_merkle_tx_leaf(b->txs[i].data, b->txs[i].len, leaves[i]);
    assert_int_equal(
        ledger_merkle_root((const uint8_t(*)[LEDGER_HASH_LEN])leaves, b->n_txs, forged_tx_root), 0);
    free(leaves);
    sealchain__block__free_unpacked(b, NULL);
    struct made forged = { .block = bad, .len = blen };
    uint8_t hash[LEDGER_HASH_LEN], *cert;
    uint8_t *rooted = reheader(&forged, set_forged_tx_root, &len, hash);
    assert_int_equal(ledger_validate_block(f->l, rooted, len, NULL), LEDGER_E_BAD_BLOCK);
    assert_non_null(strstr(ledger_errmsg(f->l), "tx 0 refused"));
    tst_cert(&f->c, 1, 0, hash, &cert, &cert_len);
    assert_int_equal(ledger_commit_block(f->l, rooted, len, cert, cert_len), LEDGER_E_FATAL);
    assert_true(ledger_failed(f->l));
    assert_int_equal(ledger_commit_block(f->l, m[0].block, m[0].len, m[0].cert, m[0].cert_len),
                     LEDGER_E_FATAL);
    free(rooted);
    free(cert);
    free(bad);
    free_made(m, 1);
}

static void a_bad_certificate_is_refused_and_changes_nothing(void **state)
{
    struct fx *f = *state;
    struct made m[2];
    make_blocks(f, m, 2);
    f->l = open_ledger(f, f->dir, NULL);
    /* block 2's certificate on block 1 (other height, other hash) */
    assert_int_equal(ledger_commit_block(f->l, m[0].block, m[0].len, m[1].cert, m[1].cert_len),
                     LEDGER_E_BAD_CERT);
    assert_int_equal(ledger_commit_block(f->l, m[0].block, m[0].len, NULL, 0), LEDGER_E_BAD_CERT);
    assert_false(ledger_failed(f->l));
    struct ledger_tip tip;
    ledger_tip_get(f->l, &tip);
    assert_int_equal(tip.height, 0);
    assert_int_equal(ledger_commit_block(f->l, m[0].block, m[0].len, m[0].cert, m[0].cert_len), 0);
    free_made(m, 2);
}

static void a_certified_block_with_another_state_root_is_fail_stop(void **state)
{
    struct fx *f = *state;
    struct made m[1];
    make_blocks(f, m, 1);
    f->l = open_ledger(f, f->dir, NULL);
    size_t len, cert_len;
    uint8_t hash[LEDGER_HASH_LEN], *cert;
    uint8_t *bad = reheader(&m[0], flip_state_root, &len, hash);
    tst_cert(&f->c, 1, 0, hash, &cert, &cert_len);
    assert_int_equal(ledger_commit_block(f->l, bad, len, cert, cert_len), LEDGER_E_FATAL);
    assert_non_null(strstr(ledger_errmsg(f->l), "state root"));
    assert_true(ledger_store_failed(ledger_store_get(f->l)));
    free(bad);
    free(cert);
    free_made(m, 1);
}

static void a_sync_batch_commits_all_blocks_or_none(void **state)
{
    struct fx *f = *state;
    enum { N = 6 };
    struct made m[N];
    make_blocks(f, m, N);
    f->l = open_ledger(f, f->dir, NULL);
    struct ledger_certified cb[N];
    for (size_t i = 0; i < N; i++)
        cb[i] = (struct ledger_certified){ m[i].block, m[i].len, m[i].cert, m[i].cert_len };
    /* one bad certificate in the middle: nothing is written */
    cb[3].cert = m[2].cert;
    cb[3].cert_len = m[2].cert_len;
    assert_int_equal(ledger_commit_blocks(f->l, cb, N), LEDGER_E_BAD_CERT);
    struct ledger_tip tip;
    ledger_tip_get(f->l, &tip);
    assert_int_equal(tip.height, 0);
    cb[3].cert = m[3].cert;
    cb[3].cert_len = m[3].cert_len;
    assert_int_equal(ledger_commit_blocks(f->l, cb, N), 0);
    ledger_tip_get(f->l, &tip);
    assert_int_equal(tip.height, N);
    /* same state as the primary that built them */
    struct ledger *p = open_ledger(f, f->dir2, NULL);
    uint8_t d1[LEDGER_HASH_LEN], d2[LEDGER_HASH_LEN];
    tst_state_digest(ledger_store_get(f->l), d1, NULL);
    tst_state_digest(ledger_store_get(p), d2, NULL);
    assert_memory_equal(d1, d2, LEDGER_HASH_LEN);
    ledger_close(p);
    free_made(m, N);
}

static bool trust_all(void *ctx, const uint8_t id[LEDGER_HASH_LEN],
                      const uint8_t leaf[LEDGER_HASH_LEN])
{
    (void)ctx, (void)id, (void)leaf;
    return true;
}

/* A sync batch's signatures are checked on all cores at once after each
 * block executes (sigbatch.c): a certified block holding a tx whose
 * signature does not verify (built by a primary that checked none) still
 * stops the node, with the tx named, and nothing is written. Blocks of 40
 * uses give 80 checks, enough for every core to take a share. */
static void a_sync_batch_with_a_bad_signature_deep_in_a_block_is_fatal(void **state)
{
    struct fx *f = *state;
    enum { N = 3, USES = 40 };
    struct made m[N];
    struct ledger *p = open_ledger(f, f->dir2, NULL);
    ledger_set_verified(p, trust_all, NULL);
    size_t bad = 0;
    for (size_t i = 0; i < N; i++) {
        uint64_t t = tst_work_time(&f->w);
        tst_work_next(&f->w, USES);
        if (i == N - 1) { /* the signer's signature is the envelope's last field */
            bad = f->w.n_tx - 3;
            f->w.tx[bad][f->w.tx_len[bad] - 1] ^= 1;
        }
        assert_int_equal(tst_commit(p, &f->c, f->w.refs, f->w.n_tx, t, NULL, &m[i].block, &m[i].len,
                                    &m[i].cert, &m[i].cert_len),
                         0);
    }
    ledger_close(p);
    f->l = open_ledger(f, f->dir, NULL);
    struct ledger_certified cb[N];
    for (size_t i = 0; i < N; i++)
        cb[i] = (struct ledger_certified){ m[i].block, m[i].len, m[i].cert, m[i].cert_len };
    assert_int_equal(ledger_commit_blocks(f->l, cb, N), LEDGER_E_FATAL);
    assert_true(ledger_failed(f->l));
    char want[64];
    snprintf(want, sizeof(want), "tx %zu refused", bad);
    if (strstr(ledger_errmsg(f->l), want) == NULL ||
        strstr(ledger_errmsg(f->l), "signature does not verify") == NULL)
        fail_msg("errmsg: %s", ledger_errmsg(f->l));
    struct ledger_tip tip;
    ledger_tip_get(f->l, &tip);
    assert_int_equal(tip.height, 0);
    free_made(m, N);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_new_ledger_holds_the_genesis_orgs_at_height_0),
        T(committed_blocks_survive_reopen_with_tip_state_and_indexes),
        T(a_store_made_for_another_genesis_is_refused),
        T(a_store_path_that_is_not_a_directory_is_refused_with_a_message),
        T(a_full_map_grows_and_the_commit_succeeds),
        T(a_failed_commit_makes_the_store_fail_stop),
        T(the_map_never_grows_under_an_open_read_snapshot),
        T(consensus_blobs_are_durable_and_separate_by_name),
        T(each_durable_commit_is_timed_under_its_kind),
        T(build_block_skips_refused_txs_and_reports_why),
        T(check_tx_admits_valid_and_refuses_committed_txs),
        T(recheck_skips_signatures_but_not_the_state_rules),
        T(validate_refuses_bad_parent_time_roots_and_encoding),
        T(a_block_whose_signature_was_swapped_no_longer_matches_its_header),
        T(a_block_with_a_refused_tx_is_refused),
        T(a_bad_certificate_is_refused_and_changes_nothing),
        T(a_certified_block_with_another_state_root_is_fail_stop),
        T(a_sync_batch_commits_all_blocks_or_none),
        T(a_sync_batch_with_a_bad_signature_deep_in_a_block_is_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
