/* Review of ledger/: regressions for what an adversarial review of the rules, verify and proofs
 * found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/query.h"
#include "ledger/sigfile.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "ledger/verify.h"
#include "util_fixture.h"
#include "util_store.h"

/* A pending use past its grant's approval window is lapsed (DESIGN §1). The
 * rules lapse it lazily, so until its grant is touched again the stored
 * record still says PENDING; the usage query reports "lapsed" from the tip's
 * time, and verify must say the same of the same use, not "pending". */
static void
verify_reports_a_pending_use_past_its_window_as_lapsed_like_the_usage_query(void **state)
{
    (void)state;
    struct tst_chain c;
    tst_chain_init(&c, 4, "review-lapse");
    char dir[128], err[256];
    tst_tmpdir(dir, sizeof dir);
    struct ledger *l;
    assert_int_equal(ledger_open(dir, &c.g, NULL, &l, err, sizeof err), 0);
    struct tfx_key admin, seal, user, ap;
    tfx_key_make(70, 0, &admin);
    tfx_key_make(70, 1, &seal);
    tfx_key_make(70, 2, &user);
    tfx_key_make(70, 3, &ap);
    char org[19];
    tfx_credit_code(11, org);
    uint64_t t = TST_GENESIS_TIME + 1000, vu = t + 3600000;
    uint8_t *tx[3], seal_id[32], grant[32], doc[32];
    size_t len[3];
    ledger_sha256("lapsing doc", 11, doc);
    assert_int_equal(ledger_txb_org_register(&c.g, c.admin_sk[0], vu, org, "Org", admin.pk, NULL,
                                             &tx[0], &len[0]),
                     0);
    struct ledger_txb_seal sp = {
        org, SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT, "Contract seal", seal.pk, NULL, NULL, 0, 0
    };
    assert_int_equal(ledger_txb_seal_register(&c.g, admin.sk, vu, &sp, &tx[1], &len[1]), 0);
    assert_int_equal(ledger_tx_id(tx[1], len[1], seal_id), 0);
    /* 1 of 1 approver, approval window 10 s. */
    uint8_t approvers[1][32];
    memcpy(approvers[0], ap.pk, 32);
    struct ledger_txb_grant gp = { seal_id, user.pk, 0,    0, (const uint8_t(*)[32])approvers,
                                   1,       1,       10000 };
    assert_int_equal(ledger_txb_grant(&c.g, admin.sk, vu, &gp, &tx[2], &len[2]), 0);
    assert_int_equal(ledger_tx_id(tx[2], len[2], grant), 0);
    struct ledger_txref refs[3] = { { tx[0], len[0] }, { tx[1], len[1] }, { tx[2], len[2] } };
    assert_int_equal(tst_commit(l, &c, refs, 3, t, NULL, NULL, NULL, NULL, NULL), 0);
    struct ledger_seal_sig s;
    memcpy(s.chain, c.g.hash, 32);
    memcpy(s.seal_id, seal_id, 32);
    memcpy(s.doc_hash, doc, 32);
    memcpy(s.user_key, user.pk, 32);
    uint8_t *use;
    size_t use_len;
    assert_int_equal(ledger_txb_use(&c.g, user.sk, vu, seal.sk, seal_id, grant, doc, s.use_nonce,
                                    s.seal_signature, &use, &use_len),
                     0);
    assert_int_equal(ledger_tx_id(use, use_len, s.usage), 0);
    refs[0] = (struct ledger_txref){ use, use_len };
    assert_int_equal(tst_commit(l, &c, refs, 1, t + 1000, NULL, NULL, NULL, NULL, NULL), 0);
    /* A minute later, nothing has touched the grant: the use has lapsed. */
    assert_int_equal(tst_commit(l, &c, NULL, 0, t + 61000, NULL, NULL, NULL, NULL, NULL), 0);

    struct ledger_rtxn *r;
    assert_int_equal(ledger_rtxn_begin(ledger_store_get(l), &r), 0);
    struct ledger_q_usage qu;
    assert_int_equal(ledger_q_usage(r, s.usage, &qu), 0);
    assert_int_equal(qu.status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_LAPSED);
    ledger_q_usage_close(&qu);
    ledger_rtxn_end(r);

    uint8_t *file;
    size_t file_len;
    assert_int_equal(ledger_sigfile_append(NULL, 0, &s, &file, &file_len, err, sizeof err), 0);
    struct ledger_verify_report *rep = malloc(sizeof *rep);
    assert_int_equal(ledger_verify_document_store(ledger_store_get(l), doc, file, file_len, rep),
                     0);
    assert_false(rep->valid);
    assert_true(rep->sigs[0].usage_found);
    assert_string_equal(rep->sigs[0].usage.usage_status_name, "lapsed");
    assert_int_equal(rep->sigs[0].usage.usage_status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_LAPSED);
    assert_non_null(strstr(rep->sigs[0].reasons[0], "lapsed"));
    free(rep);
    free(file);
    for (int i = 0; i < 3; i++)
        free(tx[i]);
    free(use);
    ledger_close(l);
    tst_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            verify_reports_a_pending_use_past_its_window_as_lapsed_like_the_usage_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
