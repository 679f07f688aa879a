/* The mempool's view (ledger/mempool.h): admission against committed state and the waiting txs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/mempool.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "tests/unit/util_store.h"

struct fx {
    struct tst_chain c;
    struct tst_work w;
    char dir[64];
    struct ledger *l;
    struct ledger_mempool *m;
    uint64_t until, now;
};

/* A ledger with the workload's organisation, three seals and their grants committed. */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[512];
    tst_chain_init(&f->c, 4, "mempool-test");
    tst_work_init(&f->w, &f->c, 11);
    tst_tmpdir(f->dir, sizeof(f->dir));
    if (ledger_open(f->dir, &f->c.g, NULL, &f->l, err, sizeof(err)) != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        uint64_t t = tst_work_time(&f->w);
        tst_work_next(&f->w, 0);
        if (tst_commit(f->l, &f->c, f->w.refs, f->w.n_tx, t, NULL, NULL, NULL, NULL, NULL) != 0)
            return -1;
    }
    f->m = ledger_mempool_get(f->l);
    f->now = tst_work_time(&f->w);
    f->until = f->now + 3600 * 1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ledger_close(f->l);
    tst_work_free(&f->w);
    tst_rmdir(f->dir);
    free(f);
    return 0;
}

/* Admits tx (built with rc, freed) and returns the verdict; the reason goes to err. */
static int admit(struct fx *f, int built, uint8_t *tx, size_t len, uint8_t id[32], char *err)
{
    assert_int_equal(built, 0);
    err[0] = '\0';
    if (id != NULL)
        assert_int_equal(ledger_tx_id(tx, len, id), 0);
    int rc = ledger_mempool_admit(f->m, tx, len, id, f->now, err, 256);
    free(tx);
    return rc;
}

/* Commits a grant of seal 1 with a limit of one use to a fresh user (its
 * secret key and the grant's id out), then moves the clock on. */
static void limited_grant(struct fx *f, uint8_t user_sk[64], uint8_t grant[32])
{
    uint8_t user_pk[32], *tx;
    size_t len;
    tst_keypair("limited user", 0, user_pk, user_sk);
    struct ledger_txb_grant p = { .seal_id = f->w.seal_id[1], .user_key = user_pk, .max_uses = 1 };
    assert_int_equal(ledger_txb_grant(&f->c.g, f->w.admin_sk, f->until, &p, &tx, &len), 0);
    struct ledger_txref ref = { .data = tx, .len = len };
    assert_int_equal(tst_commit(f->l, &f->c, &ref, 1, f->now, NULL, NULL, NULL, NULL, NULL), 0);
    ledger_tx_id(tx, len, grant);
    free(tx);
    f->now += 1000;
}

static void two_uses_beyond_a_grants_limit_the_second_is_refused(void **state)
{
    struct fx *f = *state;
    const struct ledger_genesis *g = &f->c.g;
    uint8_t user_sk[64], grant[32], doc[32] = { 1 }, *tx;
    size_t len;
    char err[256];
    limited_grant(f, user_sk, grant);
    int rc = ledger_txb_use(g, user_sk, f->until, f->w.seal_sk[1], f->w.seal_id[1], grant, doc,
                            NULL, NULL, &tx, &len);
    assert_int_equal(admit(f, rc, tx, len, NULL, err), 0);
    doc[0] = 2;
    rc = ledger_txb_use(g, user_sk, f->until, f->w.seal_sk[1], f->w.seal_id[1], grant, doc, NULL,
                        NULL, &tx, &len);
    uint8_t *second = malloc(len);
    memcpy(second, tx, len);
    size_t second_len = len;
    assert_int_equal(admit(f, rc, tx, len, NULL, err), LEDGER_E_GRANT_USED_UP);
    assert_non_null(strstr(err, "grant"));
    assert_int_equal(ledger_mempool_count(f->m), 1);
    /* committed state alone still allows it: the refusal comes from the waiting use */
    assert_int_equal(ledger_recheck_tx(f->l, second, second_len, f->now, NULL, NULL, 0), 0);
    /* a cleared view forgets the first use */
    ledger_mempool_clear(f->m);
    assert_int_equal(ledger_mempool_admit(f->m, second, second_len, NULL, f->now, err, 256), 0);
    free(second);
}

/* After a block the view forgets the transactions it included (memory held
 * only by what still waits) without forgetting their effect: committed state
 * holds it now, so a use beyond the grant's limit is still refused. */
static void a_use_the_block_included_is_forgotten_but_its_effect_stays(void **state)
{
    struct fx *f = *state;
    const struct ledger_genesis *g = &f->c.g;
    uint8_t user_sk[64], grant[32], doc[32] = { 1 }, id[32], *tx;
    size_t len;
    char err[256];
    limited_grant(f, user_sk, grant);
    assert_int_equal(ledger_txb_use(g, user_sk, f->until, f->w.seal_sk[1], f->w.seal_id[1], grant,
                                    doc, NULL, NULL, &tx, &len),
                     0);
    uint8_t *first = tx;
    size_t first_len = len;
    assert_int_equal(ledger_tx_id(first, first_len, id), 0);
    assert_int_equal(ledger_mempool_admit(f->m, first, first_len, id, f->now, err, 256), 0);
    assert_int_equal(ledger_mempool_count(f->m), 1);
    /* the block includes it; the view forgets it */
    struct ledger_txref fr = { .data = first, .len = first_len };
    assert_int_equal(tst_commit(f->l, &f->c, &fr, 1, f->now, NULL, NULL, NULL, NULL, NULL), 0);
    const uint8_t(*ids)[LEDGER_HASH_LEN] = (const uint8_t(*)[LEDGER_HASH_LEN])id;
    assert_int_equal(ledger_mempool_forget(f->m, ids, 1), 0);
    assert_int_equal(ledger_mempool_count(f->m), 0);
    free(first);
    doc[0] = 2;
    f->now += 1000;
    int rc = ledger_txb_use(g, user_sk, f->until, f->w.seal_sk[1], f->w.seal_id[1], grant, doc,
                            NULL, NULL, &tx, &len);
    assert_int_equal(admit(f, rc, tx, len, NULL, err), LEDGER_E_GRANT_USED_UP);
}

static void a_grant_after_a_destroy_waiting_is_refused(void **state)
{
    struct fx *f = *state;
    const struct ledger_genesis *g = &f->c.g;
    uint8_t user_pk[32], user_sk[64], *tx;
    size_t len;
    char err[256];
    int rc = ledger_txb_destroy(g, f->w.admin_sk, f->until, f->w.seal_id[1], f->w.last_hist[1],
                                "retired", &tx, &len);
    assert_int_equal(admit(f, rc, tx, len, NULL, err), 0);
    tst_keypair("late user", 0, user_pk, user_sk);
    struct ledger_txb_grant p = { .seal_id = f->w.seal_id[1], .user_key = user_pk };
    rc = ledger_txb_grant(g, f->w.admin_sk, f->until, &p, &tx, &len);
    assert_int_equal(admit(f, rc, tx, len, NULL, err), LEDGER_E_SEAL_DESTROYED);
    /* so is any later lifecycle tx on it (destroyed comes before stale in the order of refusals) */
    rc = ledger_txb_suspend(g, f->w.admin_sk, f->until, f->w.seal_id[1], f->w.last_hist[1], "x",
                            &tx, &len);
    assert_int_equal(admit(f, rc, tx, len, NULL, err), LEDGER_E_SEAL_DESTROYED);
    assert_int_equal(ledger_mempool_count(f->m), 1);
}

static void two_registrations_of_one_seal_key_the_second_is_refused(void **state)
{
    struct fx *f = *state;
    const struct ledger_genesis *g = &f->c.g;
    uint8_t seal_pk[32], seal_sk[64], *tx;
    size_t len;
    char err[256];
    tst_keypair("new seal", 0, seal_pk, seal_sk);
    struct ledger_txb_seal p = {
        .org_id = f->w.org_id, .type = 2, .name = "Seal A", .seal_key = seal_pk
    };
    int rc = ledger_txb_seal_register(g, f->w.admin_sk, f->until, &p, &tx, &len);
    assert_int_equal(admit(f, rc, tx, len, NULL, err), 0);
    p.name = "Seal B";
    rc = ledger_txb_seal_register(g, f->w.admin_sk, f->until, &p, &tx, &len);
    assert_int_equal(admit(f, rc, tx, len, NULL, err), LEDGER_E_SEAL_KEY_EXISTS);
}

int main(void)
{
    if (ledger_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(two_uses_beyond_a_grants_limit_the_second_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_use_the_block_included_is_forgotten_but_its_effect_stays,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_grant_after_a_destroy_waiting_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(two_registrations_of_one_seal_key_the_second_is_refused,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
