/* Tests of the contract's queries: blocks, txs, orgs, seals (history, grants), usages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/query.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "tests/unit/util_store.h"

#define BLOCKS 12

struct fx {
    struct tst_chain c;
    struct tst_work w;
    char dir[64];
    struct ledger *l;
    struct ledger_rtxn *r;
    uint8_t org_tx[LEDGER_HASH_LEN];
};

static void open_snapshot(struct fx *f)
{
    ledger_rtxn_end(f->r);
    assert_int_equal(ledger_rtxn_begin(ledger_store_get(f->l), &f->r), 0);
}

static void commit_txs(struct fx *f, const struct ledger_txref *txs, size_t n, uint64_t t)
{
    ledger_rtxn_end(f->r); /* no snapshot open across a commit */
    f->r = NULL;
    size_t refused;
    int rc = tst_commit(f->l, &f->c, txs, n, t, &refused, NULL, NULL, NULL, NULL);
    if (rc != 0)
        fail_msg("commit: %s", ledger_errmsg(f->l));
    assert_int_equal(refused, 0);
    open_snapshot(f);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tst_chain_init(&f->c, 4, "query-test");
    tst_work_init(&f->w, &f->c, 3);
    tst_tmpdir(f->dir, sizeof(f->dir));
    char err[256];
    assert_int_equal(ledger_open(f->dir, &f->c.g, NULL, &f->l, err, sizeof(err)), 0);
    for (int i = 0; i < BLOCKS; i++) {
        uint64_t t = tst_work_time(&f->w);
        tst_work_next(&f->w, 4);
        if (i == 0)
            assert_int_equal(ledger_tx_id(f->w.tx[0], f->w.tx_len[0], f->org_tx), 0);
        commit_txs(f, f->w.refs, f->w.n_tx, t);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ledger_rtxn_end(f->r);
    ledger_close(f->l);
    tst_work_free(&f->w);
    tst_rmdir(f->dir);
    free(f);
    return 0;
}

static void a_block_is_found_by_height_and_by_hash_with_its_certificate(void **state)
{
    struct fx *f = *state;
    struct ledger_q_block b, prev, byhash;
    assert_int_equal(ledger_q_block_by_height(f->r, 3, &b), 0);
    assert_int_equal(ledger_q_block_by_height(f->r, 2, &prev), 0);
    assert_int_equal(b.height, 3);
    assert_memory_equal(b.prev_hash, prev.hash, LEDGER_HASH_LEN);
    assert_true(b.time_ms == TST_GENESIS_TIME + 3 * TST_BLOCK_MS);
    assert_int_equal(b.proposer, 2); /* tst_commit: view = tip height, primary = view mod n */
    assert_int_equal(b.view, 2);
    assert_int_equal(b.n_txs, 4); /* three silent grants and the approval grant */
    assert_int_equal(b.n_signers, 3);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(b.signers[i], i);
    assert_int_equal(ledger_q_block_by_hash(f->r, b.hash, &byhash), 0);
    assert_int_equal(byhash.height, 3);
    assert_memory_equal(byhash.tx_ids, b.tx_ids, b.n_txs * LEDGER_HASH_LEN);
    assert_memory_equal(byhash.state_root, b.state_root, LEDGER_HASH_LEN);
    struct ledger_q_block none;
    assert_int_equal(ledger_q_block_by_height(f->r, BLOCKS + 1, &none), LEDGER_E_NOT_FOUND);
    assert_int_equal(ledger_q_block_by_height(f->r, 0, &none), LEDGER_E_NOT_FOUND);
    b.hash[0] ^= 1;
    assert_int_equal(ledger_q_block_by_hash(f->r, b.hash, &none), LEDGER_E_NOT_FOUND);
    ledger_q_block_close(&b);
    ledger_q_block_close(&prev);
    ledger_q_block_close(&byhash);
    struct ledger_tip tip;
    assert_int_equal(ledger_rtxn_tip(f->r, &tip), 0);
    assert_int_equal(tip.height, BLOCKS);
}

static void a_tx_is_found_by_id_with_type_signer_and_place(void **state)
{
    struct fx *f = *state;
    struct ledger_q_tx tx;
    assert_int_equal(ledger_q_tx(f->r, f->org_tx, &tx), 0);
    assert_string_equal(ledger_q_tx_type_name(tx.type), "org_register");
    assert_memory_equal(tx.signer, f->c.g.validators[0].admin_key, LEDGER_KEY_LEN);
    assert_int_equal(tx.height, 1);
    assert_int_equal(tx.index, 0);
    assert_true(tx.time_ms == TST_GENESIS_TIME + TST_BLOCK_MS);
    assert_int_equal(ledger_q_tx(f->r, f->w.seal_id[1], &tx), 0);
    assert_string_equal(ledger_q_tx_type_name(tx.type), "seal_register");
    assert_int_equal(tx.index, 1);
    uint8_t unknown[LEDGER_HASH_LEN] = { 1 };
    assert_int_equal(ledger_q_tx(f->r, unknown, &tx), LEDGER_E_NOT_FOUND);
}

static void orgs_show_name_admin_authority_and_height(void **state)
{
    struct fx *f = *state;
    Sealchain__OrgRecord *o;
    assert_int_equal(ledger_q_org(f->r, f->w.org_id, &o), 0);
    assert_string_equal(o->name, "Test Org Ltd");
    assert_memory_equal(o->admin_key.data, f->w.admin_pk, LEDGER_KEY_LEN);
    assert_int_equal(o->authority, 0);
    assert_int_equal(o->registered_height, 1);
    sealchain__org_record__free_unpacked(o, NULL);
    assert_int_equal(ledger_q_org(f->r, "agency3", &o), 0);
    assert_int_equal(o->authority, 3);
    assert_int_equal(o->registered_height, 0);
    sealchain__org_record__free_unpacked(o, NULL);
    assert_int_equal(ledger_q_org(f->r, "nobody", &o), LEDGER_E_NOT_FOUND);
}

static void a_seal_shows_its_history_from_registration_and_its_grants(void **state)
{
    struct fx *f = *state;
    struct ledger_q_seal s;
    /* seal 2 is suspended at heights 5 and resumed at 10 by the workload */
    assert_int_equal(ledger_q_seal(f->r, f->w.seal_id[2], &s), 0);
    assert_int_equal(s.n_history, 3);
    assert_int_equal(s.n_history, s.seal->history_count);
    assert_int_equal(s.history[0]->action, SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_REGISTER);
    assert_int_equal(s.history[0]->height, 2);
    assert_memory_equal(s.history[0]->tx.data, f->w.seal_id[2], LEDGER_HASH_LEN);
    assert_int_equal(s.history[1]->action, SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_SUSPEND);
    assert_int_equal(s.history[1]->height, 5);
    assert_int_equal(s.history[2]->action, SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_RESUME);
    assert_int_equal(s.history[2]->height, 10);
    assert_true(s.history[2]->time_ms == TST_GENESIS_TIME + 10 * TST_BLOCK_MS);
    assert_int_equal(s.seal->status, SEALCHAIN__SEAL_STATUS__SEAL_STATUS_ACTIVE);
    assert_int_equal(s.n_grants, 1);
    ledger_q_seal_close(&s);
    assert_int_equal(ledger_q_seal(f->r, f->w.seal_id[0], &s), 0);
    assert_int_equal(s.n_history, 1);
    assert_int_equal(s.n_grants, 2);
    assert_false(s.more_grants);
    assert_memory_equal(s.grants[0]->grant.data, f->w.silent_grant[0], LEDGER_HASH_LEN);
    assert_int_equal(s.grants[0]->threshold, 0);
    assert_memory_equal(s.grants[1]->grant.data, f->w.appr_grant, LEDGER_HASH_LEN);
    assert_int_equal(s.grants[1]->threshold, 2);
    assert_int_equal(s.grants[1]->n_approvers, 3);
    assert_false(s.grants[1]->revoked);
    ledger_q_seal_close(&s);
    uint8_t unknown[LEDGER_HASH_LEN] = { 9 };
    assert_int_equal(ledger_q_seal(f->r, unknown, &s), LEDGER_E_NOT_FOUND);
}

static void use(struct fx *f, const uint8_t *user_sk, size_t seal, const uint8_t *grant,
                const uint8_t doc[LEDGER_HASH_LEN], uint8_t **tx, size_t *len,
                uint8_t id[LEDGER_HASH_LEN])
{
    uint64_t until = tst_work_time(&f->w) + 3600 * 1000;
    assert_int_equal(ledger_txb_use(&f->c.g, user_sk, until, f->w.seal_sk[seal], f->w.seal_id[seal],
                                    grant, doc, NULL, NULL, tx, len),
                     0);
    assert_int_equal(ledger_tx_id(*tx, *len, id), 0);
}

static void usages_by_document_report_status_approvals_and_rejections(void **state)
{
    struct fx *f = *state;
    uint8_t doc[LEDGER_HASH_LEN];
    ledger_sha256("the contract", 12, doc);
    uint8_t *tx[3], id[3][LEDGER_HASH_LEN];
    size_t len[3];
    use(f, f->w.user_sk, 1, f->w.silent_grant[1], doc, &tx[0], &len[0], id[0]);
    use(f, f->w.user2_sk, 0, f->w.appr_grant, doc, &tx[1], &len[1], id[1]);
    use(f, f->w.user2_sk, 0, f->w.appr_grant, doc, &tx[2], &len[2], id[2]);
    struct ledger_txref refs[3] = { { .data = tx[0], .len = len[0] },
                                    { .data = tx[1], .len = len[1] },
                                    { .data = tx[2], .len = len[2] } };
    uint64_t t = tst_work_time(&f->w);
    f->w.height++;
    commit_txs(f, refs, 3, t);
    uint64_t use_height = f->w.height - 1, until = tst_work_time(&f->w) + 3600 * 1000;
    /* approve id[1] twice (m = 2), reject id[2] twice (m no longer reachable) */
    uint8_t *v[4];
    size_t vl[4];
    assert_int_equal(ledger_txb_approve(&f->c.g, f->w.appr_sk[0], until, id[1], &v[0], &vl[0]), 0);
    assert_int_equal(ledger_txb_approve(&f->c.g, f->w.appr_sk[1], until, id[1], &v[1], &vl[1]), 0);
    assert_int_equal(ledger_txb_reject(&f->c.g, f->w.appr_sk[1], until, id[2], "no", &v[2], &vl[2]),
                     0);
    assert_int_equal(ledger_txb_reject(&f->c.g, f->w.appr_sk[2], until, id[2], NULL, &v[3], &vl[3]),
                     0);
    struct ledger_txref vr[4];
    for (int i = 0; i < 4; i++)
        vr[i] = (struct ledger_txref){ .data = v[i], .len = vl[i] };
    t = tst_work_time(&f->w);
    f->w.height++;
    commit_txs(f, vr, 4, t);
    struct ledger_q_usages u;
    assert_int_equal(ledger_q_usages_by_doc(f->r, doc, 0, &u), 0);
    assert_int_equal(u.count, 3);
    int seen = 0;
    for (size_t i = 0; i < u.count; i++) {
        const Sealchain__UsageRecord *rec = u.items[i].rec;
        assert_string_equal(u.items[i].org_id, f->w.org_id);
        assert_int_equal(rec->height, use_height);
        if (memcmp(rec->usage.data, id[0], LEDGER_HASH_LEN) == 0) {
            assert_int_equal(u.items[i].status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE);
            assert_int_equal(rec->effective_height, use_height);
            assert_memory_equal(rec->user_key.data, f->w.user_pk, LEDGER_KEY_LEN);
            seen |= 1;
        } else if (memcmp(rec->usage.data, id[1], LEDGER_HASH_LEN) == 0) {
            assert_int_equal(u.items[i].status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE);
            assert_int_equal(rec->effective_height, use_height + 1);
            assert_int_equal(rec->n_approvals, 2);
            assert_memory_equal(rec->grant.data, f->w.appr_grant, LEDGER_HASH_LEN);
            seen |= 2;
        } else {
            assert_int_equal(u.items[i].status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_REJECTED);
            assert_int_equal(rec->n_rejections, 2);
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
    ledger_q_usages_close(&u);
    uint8_t other[LEDGER_HASH_LEN] = { 0 };
    assert_int_equal(ledger_q_usages_by_doc(f->r, other, 0, &u), 0);
    assert_int_equal(u.count, 0);
    ledger_q_usages_close(&u);
    for (int i = 0; i < 3; i++)
        free(tx[i]);
    for (int i = 0; i < 4; i++)
        free(v[i]);
}

static void a_pending_use_past_its_window_is_reported_lapsed(void **state)
{
    struct fx *f = *state;
    uint8_t doc[LEDGER_HASH_LEN], *tx, id[LEDGER_HASH_LEN];
    size_t len;
    ledger_sha256("late", 4, doc);
    use(f, f->w.user2_sk, 0, f->w.appr_grant, doc, &tx, &len, id);
    struct ledger_txref ref = { .data = tx, .len = len };
    uint64_t t = tst_work_time(&f->w);
    commit_txs(f, &ref, 1, t);
    struct ledger_q_usage u;
    assert_int_equal(ledger_q_usage(f->r, id, &u), 0);
    assert_int_equal(u.status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_PENDING);
    ledger_q_usage_close(&u);
    /* an empty block eight days later moves the tip time past the window */
    commit_txs(f, NULL, 0, t + 8ull * 24 * 3600 * 1000);
    assert_int_equal(ledger_q_usage(f->r, id, &u), 0);
    assert_int_equal(u.rec->status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_PENDING);
    assert_int_equal(u.status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_LAPSED);
    ledger_q_usage_close(&u);
    free(tx);
}

static void usages_by_seal_come_in_chain_order_and_page(void **state)
{
    struct fx *f = *state;
    struct ledger_q_usages all, page;
    assert_int_equal(ledger_q_usages_by_seal(f->r, f->w.seal_id[1], 0, 0, &all), 0);
    assert_true(all.count >= 2);
    assert_false(all.more);
    for (size_t i = 0; i < all.count; i++) {
        const Sealchain__UsageRecord *rec = all.items[i].rec;
        assert_memory_equal(rec->seal_id.data, f->w.seal_id[1], LEDGER_HASH_LEN);
        if (i > 0)
            assert_true(all.items[i - 1].rec->height <= rec->height);
    }
    assert_int_equal(ledger_q_usages_by_seal(f->r, f->w.seal_id[1], 0, 1, &page), 0);
    assert_int_equal(page.count, 1);
    assert_true(page.more);
    ledger_q_usages_close(&page);
    uint64_t from = all.items[all.count - 1].rec->height;
    assert_int_equal(ledger_q_usages_by_seal(f->r, f->w.seal_id[1], from, 0, &page), 0);
    assert_true(page.count >= 1);
    for (size_t i = 0; i < page.count; i++)
        assert_true(page.items[i].rec->height >= from);
    ledger_q_usages_close(&page);
    assert_int_equal(ledger_q_usages_by_seal(f->r, f->w.seal_id[1], from + 1, 0, &page), 0);
    assert_int_equal(page.count, 0);
    ledger_q_usages_close(&page);
    ledger_q_usages_close(&all);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_block_is_found_by_height_and_by_hash_with_its_certificate),
        T(a_tx_is_found_by_id_with_type_signer_and_place),
        T(orgs_show_name_admin_authority_and_height),
        T(a_seal_shows_its_history_from_registration_and_its_grants),
        T(usages_by_document_report_status_approvals_and_rejections),
        T(a_pending_use_past_its_window_is_reported_lapsed),
        T(usages_by_seal_come_in_chain_order_and_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
