/* Tests of the store's on-disk layout: compact usage records read back exactly, the format version.
 */
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/state.h"
#include "ledger/store.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "proto/block.pb-c.h"
#include "proto/state.pb-c.h"
#include "tests/unit/util_store.h"

struct fx {
    struct tst_chain c;
    char dir[64];
    struct ledger_store *s;
};

static int no_state(void *ctx, const uint8_t *key, size_t key_len, const uint8_t **out_val,
                    size_t *out_val_len)
{
    (void)ctx, (void)key, (void)key_len, (void)out_val, (void)out_val_len;
    return LEDGER_E_NOT_FOUND;
}

static const struct ledger_state_base empty_base = { .ctx = NULL, .get = no_state };

static struct ledger_store *open_store(struct fx *f, int *out_rc, char *err, size_t err_len)
{
    struct ledger_store *s = NULL;
    *out_rc = ledger_store_open(f->dir, &f->c.g, NULL, &s, err, err_len);
    return s;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tst_chain_init(&f->c, 4, "layout-test");
    tst_tmpdir(f->dir, sizeof(f->dir));
    char err[512];
    int rc;
    f->s = open_store(f, &rc, err, sizeof(err));
    if (rc != 0)
        fail_msg("open: %s", err);
    struct ledger_overlay *ov = ledger_overlay_new(&empty_base);
    assert_non_null(ov);
    assert_int_equal(ledger_store_init(f->s, ov), 0);
    ledger_overlay_free(ov);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ledger_store_close(f->s);
    tst_rmdir(f->dir);
    free(f);
    return 0;
}

/* The raw bytes LMDB holds for key in DBI name (the store closed meanwhile). */
static size_t raw_len(const char *dir, const char *name, const uint8_t *key, size_t key_len)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
    MDB_val k = { .mv_size = key_len, .mv_data = (void *)key }, v;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    size_t n = v.mv_size;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return n;
}

/* Sets meta "format" to version (0: deletes it, as in a version-1 store). */
static void set_format(const char *dir, uint32_t version)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    MDB_val k = { .mv_size = 6, .mv_data = "format" };
    uint8_t buf[4];
    ledger_put_u32be(buf, version);
    MDB_val v = { .mv_size = 4, .mv_data = buf };
    assert_int_equal(version == 0 ? mdb_del(txn, dbi, &k, NULL) : mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

struct use {
    uint8_t *tx;
    size_t len;
    uint8_t id[LEDGER_HASH_LEN], user[LEDGER_KEY_LEN], seal_id[LEDGER_HASH_LEN];
    uint8_t grant[LEDGER_HASH_LEN], doc[LEDGER_HASH_LEN];
    uint8_t nonce[LEDGER_NONCE_LEN], sig[LEDGER_SIG_LEN];
};

static void make_use(const struct tst_chain *c, uint8_t i, struct use *u)
{
    uint8_t sk[LEDGER_SECRET_LEN], seal_pk[LEDGER_KEY_LEN], seal_sk[LEDGER_SECRET_LEN];
    tst_keypair("layout-user", i, u->user, sk);
    tst_keypair("layout-seal", i, seal_pk, seal_sk);
    memset(u->seal_id, 0x50 + i, LEDGER_HASH_LEN);
    memset(u->grant, 0x60 + i, LEDGER_HASH_LEN);
    memset(u->doc, 0x70 + i, LEDGER_HASH_LEN);
    assert_int_equal(ledger_txb_use(&c->g, sk, TST_GENESIS_TIME + 3600000, seal_sk, u->seal_id,
                                    u->grant, u->doc, u->nonce, u->sig, &u->tx, &u->len),
                     0);
    assert_int_equal(ledger_tx_id(u->tx, u->len, u->id), 0);
}

/* The UsageRecord the use rule would write for u under id, with doc. */
static uint8_t *usage_value(const struct use *u, const uint8_t *id, const uint8_t *doc,
                            size_t *out_len)
{
    Sealchain__UsageRecord r = SEALCHAIN__USAGE_RECORD__INIT;
#define BIN(p, n) ((ProtobufCBinaryData){ .len = (n), .data = (uint8_t *)(p) })
    r.usage = BIN(id, LEDGER_HASH_LEN);
    r.seal_id = BIN(u->seal_id, LEDGER_HASH_LEN);
    r.grant = BIN(u->grant, LEDGER_HASH_LEN);
    r.user_key = BIN(u->user, LEDGER_KEY_LEN);
    r.doc_hash = BIN(doc, LEDGER_HASH_LEN);
    r.use_nonce = BIN(u->nonce, LEDGER_NONCE_LEN);
    r.seal_signature = BIN(u->sig, LEDGER_SIG_LEN);
#undef BIN
    r.height = 1;
    r.time_ms = TST_GENESIS_TIME + 1000;
    r.status = SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE;
    r.effective_height = 1;
    r.decided_ms = r.time_ms;
    *out_len = sealchain__usage_record__get_packed_size(&r);
    uint8_t *buf = malloc(*out_len);
    assert_non_null(buf);
    sealchain__usage_record__pack(&r, buf);
    return buf;
}

static void put_location(struct ledger_overlay *ov, const uint8_t *id, uint32_t index)
{
    Sealchain__TxLocation loc = SEALCHAIN__TX_LOCATION__INIT;
    loc.height = 1;
    loc.index = index;
    uint8_t key[1 + LEDGER_HASH_LEN] = { LEDGER_K_TX }, val[32];
    memcpy(key + 1, id, LEDGER_HASH_LEN);
    size_t n = sealchain__tx_location__pack(&loc, val);
    assert_int_equal(ledger_overlay_put(ov, key, sizeof(key), val, n), 0);
}

struct expect {
    uint8_t key[1 + LEDGER_HASH_LEN];
    uint8_t *val;
    size_t len;
};

static int check_scanned(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                         size_t val_len)
{
    struct expect *e = arg;
    for (size_t i = 0; i < 3; i++)
        if (key_len == sizeof(e[i].key) && memcmp(key, e[i].key, key_len) == 0) {
            assert_int_equal(val_len, e[i].len);
            assert_memory_equal(val, e[i].val, val_len);
            e[i].len = 0; /* seen */
            return 0;
        }
    fail_msg("scan: unexpected key");
    return 1;
}

/* Three usage records in one block: one that copies its use tx (stored
 * compact), one whose document differs from its tx's, one with no tx at all
 * (both stored whole). Each reads back byte for byte, by key and by scan. */
static void usage_records_read_back_exactly_and_the_copy_of_the_tx_is_not_stored(void **state)
{
    struct fx *f = *state;
    struct use u[2];
    make_use(&f->c, 0, &u[0]);
    make_use(&f->c, 1, &u[1]);
    ProtobufCBinaryData txs[2] = { { u[0].len, u[0].tx }, { u[1].len, u[1].tx } };
    Sealchain__Block b = SEALCHAIN__BLOCK__INIT;
    uint8_t header[8] = "header";
    b.header = (ProtobufCBinaryData){ sizeof(header), header };
    b.n_txs = 2;
    b.txs = txs;
    size_t blen = sealchain__block__get_packed_size(&b);
    uint8_t *blk = malloc(blen);
    assert_non_null(blk);
    sealchain__block__pack(&b, blk);

    uint8_t other_doc[LEDGER_HASH_LEN], lone_id[LEDGER_HASH_LEN];
    memset(other_doc, 0xd0, sizeof(other_doc));
    memset(lone_id, 0xee, sizeof(lone_id));
    struct expect e[3];
    const uint8_t *ids[3] = { u[0].id, u[1].id, lone_id };
    e[0].val = usage_value(&u[0], u[0].id, u[0].doc, &e[0].len);
    e[1].val = usage_value(&u[1], u[1].id, other_doc, &e[1].len);
    e[2].val = usage_value(&u[0], lone_id, u[0].doc, &e[2].len);
    struct ledger_overlay *ov = ledger_overlay_new(&empty_base);
    assert_non_null(ov);
    put_location(ov, u[0].id, 0);
    put_location(ov, u[1].id, 1);
    for (size_t i = 0; i < 3; i++) {
        e[i].key[0] = LEDGER_K_USAGE;
        memcpy(e[i].key + 1, ids[i], LEDGER_HASH_LEN);
        assert_int_equal(ledger_overlay_put(ov, e[i].key, sizeof(e[i].key), e[i].val, e[i].len), 0);
    }
    struct ledger_store_block sb = { .height = 1, .block = blk, .block_len = blen, .ov = ov };
    sb.time_ms = TST_GENESIS_TIME + 1000;
    assert_int_equal(ledger_store_commit(f->s, &sb, 1), 0);

    struct ledger_rtxn *r;
    assert_int_equal(ledger_rtxn_begin(f->s, &r), 0);
    for (size_t i = 0; i < 3; i++) {
        const uint8_t *val;
        size_t len;
        assert_int_equal(ledger_rtxn_state_get(r, e[i].key, sizeof(e[i].key), &val, &len), 0);
        assert_int_equal(len, e[i].len);
        assert_memory_equal(val, e[i].val, len);
    }
    size_t lens[3] = { e[0].len, e[1].len, e[2].len };
    uint8_t prefix = LEDGER_K_USAGE;
    assert_int_equal(ledger_rtxn_state_scan(r, &prefix, 1, check_scanned, e), 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(e[i].len, 0); /* every one seen */
    ledger_rtxn_end(r);
    ledger_store_close(f->s);
    f->s = NULL;

    /* On disk: the compact one without its 254-byte copy of the tx. */
    uint8_t pk[1 + LEDGER_HASH_LEN];
    for (size_t i = 0; i < 3; i++) {
        memcpy(pk, ids[i], LEDGER_HASH_LEN);
        pk[LEDGER_HASH_LEN] = LEDGER_K_USAGE;
        size_t n = raw_len(f->dir, "ids", pk, sizeof(pk));
        if (i == 0)
            assert_true(n < 64);
        else
            assert_int_equal(n, 1 + lens[i]);
    }
    for (size_t i = 0; i < 3; i++)
        free(e[i].val);
    ledger_overlay_free(ov);
    free(blk);
    free(u[0].tx);
    free(u[1].tx);
}

static void a_store_of_another_layout_version_is_refused_with_a_clear_message(void **state)
{
    struct fx *f = *state;
    ledger_store_close(f->s);
    f->s = NULL;
    char err[512];
    int rc;
    uint32_t versions[] = { 0, 3 }; /* 0: no "format" key, as in a version-1 store */
    const char *said[] = { "layout version 1", "layout version 3" };
    for (size_t i = 0; i < 2; i++) {
        set_format(f->dir, versions[i]);
        err[0] = 0;
        struct ledger_store *s = open_store(f, &rc, err, sizeof(err));
        assert_null(s);
        assert_int_equal(rc, LEDGER_E_STORE);
        if (strstr(err, said[i]) == NULL || strstr(err, "new data directory") == NULL)
            fail_msg("message: %s", err);
    }
    set_format(f->dir, 2);
    f->s = open_store(f, &rc, err, sizeof(err));
    assert_int_equal(rc, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(usage_records_read_back_exactly_and_the_copy_of_the_tx_is_not_stored),
        T(a_store_of_another_layout_version_is_refused_with_a_clear_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
