/* The write overlay and block execution over it: reads see earlier writes,
 * refusals write nothing, sorted iteration, digest and cumulative state root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ledger/err.h"
#include "ledger/exec.h"
#include "ledger/merkle.h"
#include "ledger/state.h"
#include "ledger/txbuild.h"
#include "util_expect.h"
#include "util_fixture.h"

static void put_s(struct ledger_overlay *ov, const char *k, const char *v)
{
    assert_int_equal(
        ledger_overlay_put(ov, (const uint8_t *)k, strlen(k), (const uint8_t *)v, strlen(v)), 0);
}

static void reads_see_own_writes_then_the_base(void **state)
{
    (void)state;
    struct tfx_mem *m = tfx_mem_new();
    struct ledger_overlay *base_ov = ledger_overlay_new(NULL);
    put_s(base_ov, "k1", "base1");
    put_s(base_ov, "k2", "base2");
    tfx_mem_commit(m, base_ov);
    ledger_overlay_free(base_ov);
    struct ledger_overlay *ov = ledger_overlay_new(tfx_mem_base(m));
    put_s(ov, "k2", "mine");
    const uint8_t *v;
    size_t n;
    assert_int_equal(ledger_overlay_get(ov, (const uint8_t *)"k1", 2, &v, &n), 0);
    assert_memory_equal(v, "base1", 5);
    assert_int_equal(ledger_overlay_get(ov, (const uint8_t *)"k2", 2, &v, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(v, "mine", 4);
    assert_int_equal(ledger_overlay_get(ov, (const uint8_t *)"k3", 2, &v, &n), LEDGER_E_NOT_FOUND);
    put_s(ov, "k2", "again");
    assert_int_equal(ledger_overlay_get(ov, (const uint8_t *)"k2", 2, &v, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(ledger_overlay_count(ov), 1);
    ledger_overlay_free(ov);
    tfx_mem_free(m);
    ledger_overlay_free(NULL);
}

static bool writer_is_1(void *ctx, uint32_t writer)
{
    (void)ctx;
    return writer == 1;
}

/* The mempool's view forgets what a block included: writes whose last writer
 * left go back to the base; one a later writer overwrote stays. */
static void forgotten_writers_fall_back_to_the_base_later_writes_stay(void **state)
{
    (void)state;
    struct tfx_mem *m = tfx_mem_new();
    struct ledger_overlay *base_ov = ledger_overlay_new(NULL);
    put_s(base_ov, "k1", "base1");
    tfx_mem_commit(m, base_ov);
    ledger_overlay_free(base_ov);
    struct ledger_overlay *ov = ledger_overlay_new(tfx_mem_base(m));
    ledger_overlay_set_writer(ov, 1);
    put_s(ov, "k1", "one");
    put_s(ov, "k2", "one");
    put_s(ov, "k3", "one");
    ledger_overlay_set_writer(ov, 2);
    put_s(ov, "k3", "two");
    put_s(ov, "k4", "two");
    for (int i = 0; i < 200; i++) { /* enough to have grown the table */
        char k[16];
        snprintf(k, sizeof k, "w2-%d", i);
        put_s(ov, k, "two");
    }
    assert_int_equal(ledger_overlay_forget(ov, writer_is_1, NULL), 0);
    assert_int_equal(ledger_overlay_count(ov), 202);
    const uint8_t *v;
    size_t n;
    assert_int_equal(ledger_overlay_get(ov, (const uint8_t *)"k1", 2, &v, &n), 0);
    assert_memory_equal(v, "base1", 5);
    assert_int_equal(ledger_overlay_get(ov, (const uint8_t *)"k2", 2, &v, &n), LEDGER_E_NOT_FOUND);
    assert_int_equal(ledger_overlay_get(ov, (const uint8_t *)"k3", 2, &v, &n), 0);
    assert_memory_equal(v, "two", 3);
    assert_int_equal(ledger_overlay_get(ov, (const uint8_t *)"w2-199", 6, &v, &n), 0);
    assert_memory_equal(v, "two", 3);
    ledger_overlay_free(ov);
    tfx_mem_free(m);
}

struct seen {
    char keys[8][8];
    size_t n;
};

static int collect(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                   size_t val_len)
{
    (void)val;
    (void)val_len;
    struct seen *s = arg;
    memset(s->keys[s->n], 0, 8);
    memcpy(s->keys[s->n], key, key_len);
    s->n++;
    return 0;
}

static void iteration_is_in_memcmp_order_shorter_first(void **state)
{
    (void)state;
    struct ledger_overlay *ov = ledger_overlay_new(NULL);
    const char *ks[] = { "b", "ab", "a", "B", "a0" };
    for (size_t i = 0; i < 5; i++)
        put_s(ov, ks[i], "v");
    struct seen s = { .n = 0 };
    assert_int_equal(ledger_overlay_foreach(ov, collect, &s), 0);
    assert_int_equal(s.n, 5);
    const char *want[] = { "B", "a", "a0", "ab", "b" };
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(s.keys[i], want[i]);
    ledger_overlay_free(ov);
}

static int collect_vals(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                        size_t val_len)
{
    struct seen *s = arg;
    memset(s->keys[s->n], 0, 8);
    memcpy(s->keys[s->n], key, key_len);
    memcpy(s->keys[s->n] + key_len, val, val_len); /* "key" then "value" */
    s->n++;
    return 0;
}

struct ordered {
    uint8_t last[8];
    size_t last_len, n;
};

/* Counts the writes and checks each key is above the one before. */
static int count_ordered(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                         size_t val_len)
{
    (void)val;
    (void)val_len;
    struct ordered *o = arg;
    assert_true(key_len <= sizeof o->last);
    if (o->n > 0) {
        size_t m = key_len < o->last_len ? key_len : o->last_len;
        int c = memcmp(o->last, key, m);
        assert_true(c < 0 || (c == 0 && o->last_len < key_len));
    }
    memcpy(o->last, key, key_len);
    o->last_len = key_len;
    o->n++;
    return 0;
}

static bool forget_two(void *ctx, uint32_t writer)
{
    (void)ctx;
    return writer == 2;
}

/* The order is sorted once and reused: a changed value shows through it, and
 * a new key, a growth of the table or a forget re-sorts. */
static void a_kept_order_follows_new_keys_values_and_forgets(void **state)
{
    (void)state;
    struct ledger_overlay *ov = ledger_overlay_new(NULL);
    put_s(ov, "c", "1");
    put_s(ov, "a", "1");
    struct seen s = { .n = 0 };
    assert_int_equal(ledger_overlay_foreach(ov, collect_vals, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "a1");
    put_s(ov, "a", "2"); /* same key: the kept order, the new value */
    ledger_overlay_set_writer(ov, 2);
    put_s(ov, "b", "2"); /* a new key */
    s.n = 0;
    assert_int_equal(ledger_overlay_foreach(ov, collect_vals, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "a2");
    assert_string_equal(s.keys[1], "b2");
    assert_string_equal(s.keys[2], "c1");
    assert_int_equal(ledger_overlay_forget(ov, forget_two, NULL), 0);
    s.n = 0;
    assert_int_equal(ledger_overlay_foreach(ov, collect_vals, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "a2");
    assert_string_equal(s.keys[1], "c1");
    /* enough new keys to grow the table between two iterations */
    char k[4] = "d00";
    for (int i = 0; i < 100; i++) {
        k[1] = (char)('0' + i / 10);
        k[2] = (char)('0' + i % 10);
        put_s(ov, k, "");
    }
    struct ordered o = { .n = 0 };
    assert_int_equal(ledger_overlay_foreach(ov, count_ordered, &o), 0);
    assert_int_equal(o.n, 102);
    ledger_overlay_free(ov);
}

static void many_writes_survive_growth(void **state)
{
    (void)state;
    struct ledger_overlay *ov = ledger_overlay_new(NULL);
    for (uint32_t i = 0; i < 5000; i++) {
        uint8_t k[4];
        ledger_put_u32be(k, i);
        assert_int_equal(ledger_overlay_put(ov, k, 4, k, 4), 0);
    }
    assert_int_equal(ledger_overlay_count(ov), 5000);
    for (uint32_t i = 0; i < 5000; i += 97) {
        uint8_t k[4];
        const uint8_t *v;
        size_t n;
        ledger_put_u32be(k, i);
        assert_int_equal(ledger_overlay_get(ov, k, 4, &v, &n), 0);
        assert_memory_equal(v, k, 4);
    }
    ledger_overlay_free(ov);
}

static void digest_is_sha256_of_length_prefixed_sorted_writes(void **state)
{
    (void)state;
    struct ledger_overlay *ov = ledger_overlay_new(NULL);
    put_s(ov, "zz", "1");
    put_s(ov, "a", "");
    uint8_t got[32], want[32], buf[64];
    size_t n = 0;
    /* "a" -> "" first, then "zz" -> "1". */
    ledger_put_u32be(buf + n, 1), n += 4;
    buf[n++] = 'a';
    ledger_put_u32be(buf + n, 0), n += 4;
    ledger_put_u32be(buf + n, 2), n += 4;
    buf[n++] = 'z';
    buf[n++] = 'z';
    ledger_put_u32be(buf + n, 1), n += 4;
    buf[n++] = '1';
    ledger_sha256(buf, n, want);
    assert_int_equal(ledger_overlay_digest(ov, got), 0);
    assert_memory_equal(got, want, 32);
    uint8_t prev[32] = { 1 }, root[32], cat[64];
    memcpy(cat, prev, 32);
    memcpy(cat + 32, got, 32);
    ledger_sha256(cat, 64, want);
    ledger_state_root_next(prev, got, root);
    assert_memory_equal(root, want, 32);
    ledger_overlay_free(ov);
}

static void register_and_use_in_one_block_works(void **state)
{
    (void)state;
    struct tfx_chain *c = tfx_chain_new(1);
    struct tfx_key admin, sk, user;
    tfx_key_make(40, 0, &admin);
    tfx_key_make(40, 1, &sk);
    tfx_key_make(40, 2, &user);
    char org[19];
    tfx_credit_code(7, org);
    uint8_t *tx, seal[32], grant[32], usage[32];
    size_t len;
    uint64_t vu = tfx_vu(c);
    assert_int_equal(
        ledger_txb_org_register(&c->g, c->admin[0].sk, vu, org, "O", admin.pk, NULL, &tx, &len), 0);
    TFX_EXPECT(c, tfx_submit(c, tx, len, NULL), 0);
    struct ledger_txb_seal sp = {
        org, SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL, "S", sk.pk, NULL, NULL, 0, 0
    };
    assert_int_equal(ledger_txb_seal_register(&c->g, admin.sk, vu, &sp, &tx, &len), 0);
    TFX_EXPECT(c, tfx_submit(c, tx, len, seal), 0);
    struct ledger_txb_grant gp = { seal, user.pk, 0, 0, NULL, 0, 0, 0 };
    assert_int_equal(ledger_txb_grant(&c->g, admin.sk, vu, &gp, &tx, &len), 0);
    TFX_EXPECT(c, tfx_submit(c, tx, len, grant), 0);
    TFX_EXPECT(c, tfx_use(c, &user, &sk, seal, grant, 1, usage), 0);
    assert_int_equal(ledger_exec_count(c->ex), 4);
    /* The ids are listed in order; the tx root is the Merkle root of the
     * txs' whole encodings (signatures included), not of their ids. */
    const uint8_t(*ids)[32] = ledger_exec_ids(c->ex);
    assert_memory_equal(ids[1], seal, 32);
    assert_memory_equal(ids[3], usage, 32);
    const uint8_t(*leaves)[32] = ledger_exec_leaves(c->ex);
    for (int i = 0; i < 4; i++)
        assert_memory_not_equal(leaves[i], ids[i], 32);
    uint8_t want_root[32], id_root[32];
    assert_int_equal(ledger_merkle_root(leaves, 4, want_root), 0);
    assert_int_equal(ledger_merkle_root(ids, 4, id_root), 0);
    assert_memory_not_equal(want_root, id_root, 32);
    tfx_block_commit(c);
    assert_memory_equal(c->tx_root, want_root, 32);
    Sealchain__UsageRecord *u = tfx_usage(c, usage);
    assert_non_null(u);
    assert_int_equal(u->status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE);
    assert_int_equal(u->height, 1);
    sealchain__usage_record__free_unpacked(u, NULL);
    tfx_chain_free(c);
}

static void a_refused_tx_writes_nothing(void **state)
{
    (void)state;
    struct tfx_world w;
    tfx_world_init(&w, 4);
    struct tfx_chain *c = w.c;
    tfx_block_open(c, 0);
    TFX_EXPECT(c, tfx_use(c, &w.user, &w.seal_key, w.seal, w.grant, 1, NULL), 0);
    struct ledger_overlay *ov = ledger_exec_overlay(c->ex);
    size_t before = ledger_overlay_count(ov);
    uint8_t d1[32], d2[32];
    assert_int_equal(ledger_overlay_digest(ov, d1), 0);
    /* Refused at each stage: rule check, tx signature, seal signature. */
    TFX_EXPECT(c, tfx_use(c, &w.other, &w.seal_key, w.seal, w.grant, 2, NULL),
               LEDGER_E_NOT_AUTHORISED);
    TFX_EXPECT(c, tfx_use(c, &w.user, &w.other, w.seal, w.grant, 3, NULL),
               LEDGER_E_BAD_SEAL_SIGNATURE);
    uint8_t *tx, doc[32] = { 0 };
    size_t len;
    assert_int_equal(ledger_txb_use(&c->g, w.user.sk, tfx_vu(c), w.seal_key.sk, w.seal, w.grant,
                                    doc, NULL, NULL, &tx, &len),
                     0);
    tx[len - 3] ^= 0x40;
    TFX_EXPECT(c, tfx_submit(c, tx, len, NULL), LEDGER_E_BAD_SIGNATURE);
    assert_int_equal(ledger_overlay_count(ov), before);
    assert_int_equal(ledger_overlay_digest(ov, d2), 0);
    assert_memory_equal(d1, d2, 32);
    assert_int_equal(ledger_exec_count(c->ex), 1);
    tfx_block_commit(c);
    tfx_world_close(&w);
}

static void check_agrees_with_exec_and_writes_nothing(void **state)
{
    (void)state;
    struct tfx_world w;
    tfx_world_init(&w, 4);
    struct tfx_chain *c = w.c;
    uint8_t *ok, *bad, doc[32] = { 1 };
    size_t ok_len, bad_len;
    assert_int_equal(ledger_txb_use(&c->g, w.user.sk, tfx_vu(c), w.seal_key.sk, w.seal, w.grant,
                                    doc, NULL, NULL, &ok, &ok_len),
                     0);
    assert_int_equal(ledger_txb_use(&c->g, w.other.sk, tfx_vu(c), w.seal_key.sk, w.seal, w.grant,
                                    doc, NULL, NULL, &bad, &bad_len),
                     0);
    tfx_block_open(c, 0);
    TFX_EXPECT(c, tfx_check(c, ok, ok_len), 0);
    TFX_EXPECT(c, tfx_check(c, bad, bad_len), LEDGER_E_NOT_AUTHORISED);
    assert_int_equal(ledger_overlay_count(ledger_exec_overlay(c->ex)), 0);
    assert_int_equal(ledger_exec_count(c->ex), 0);
    /* Checking twice is not a replay: nothing was recorded. */
    TFX_EXPECT(c, tfx_check(c, ok, ok_len), 0);
    TFX_EXPECT(c, tfx_submit(c, ok, ok_len, NULL), 0);
    TFX_EXPECT(c, tfx_submit(c, bad, bad_len, NULL), LEDGER_E_NOT_AUTHORISED);
    tfx_block_commit(c);
    tfx_world_close(&w);
}

static void same_transactions_give_the_same_roots(void **state)
{
    (void)state;
    struct tfx_chain *a = tfx_chain_new(4), *b = tfx_chain_new(4);
    uint8_t *tx;
    size_t len;
    struct tfx_key admin;
    tfx_key_make(41, 0, &admin);
    char org[19];
    tfx_credit_code(8, org);
    assert_int_equal(ledger_txb_org_register(&a->g, a->admin[1].sk, tfx_vu(a), org, "O", admin.pk,
                                             NULL, &tx, &len),
                     0);
    uint8_t *copy = malloc(len);
    memcpy(copy, tx, len);
    TFX_EXPECT(a, tfx_run(a, tx, len, NULL), 0);
    TFX_EXPECT(b, tfx_run(b, copy, len, NULL), 0);
    assert_memory_equal(a->root, b->root, 32);
    assert_memory_equal(a->tx_root, b->tx_root, 32);
    /* An empty block still moves the cumulative root. */
    uint8_t before[32];
    memcpy(before, a->root, 32);
    tfx_block_commit(a);
    assert_memory_not_equal(a->root, before, 32);
    tfx_chain_free(a);
    tfx_chain_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_see_own_writes_then_the_base),
        cmocka_unit_test(forgotten_writers_fall_back_to_the_base_later_writes_stay),
        cmocka_unit_test(iteration_is_in_memcmp_order_shorter_first),
        cmocka_unit_test(a_kept_order_follows_new_keys_values_and_forgets),
        cmocka_unit_test(many_writes_survive_growth),
        cmocka_unit_test(digest_is_sha256_of_length_prefixed_sorted_writes),
        cmocka_unit_test(register_and_use_in_one_block_works),
        cmocka_unit_test(a_refused_tx_writes_nothing),
        cmocka_unit_test(check_agrees_with_exec_and_writes_nothing),
        cmocka_unit_test(same_transactions_give_the_same_roots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
