/* Cross-agency verification: each seal signature of a file against committed state (real rules). */
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
#include "ledger/sigfile.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "ledger/verify.h"
#include "util_fixture.h"
#include "util_store.h"

struct vw {
    struct tfx_world w;
    uint8_t doc[32];
    struct ledger_seal_sig sig1; /* the official seal's use, silent grant */
    uint8_t *file;
    size_t file_len;
};

/* A use of seal by user under grant over doc, committed in its own block;
 * returns its signature-file entry. Asserts the ledger code. */
static void use(struct tfx_chain *c, const struct tfx_key *user, const struct tfx_key *seal_key,
                const uint8_t seal[32], const uint8_t grant[32], const uint8_t doc[32],
                struct ledger_seal_sig *out, int want)
{
    uint8_t *tx;
    size_t len;
    memcpy(out->chain, c->g.hash, 32);
    memcpy(out->seal_id, seal, 32);
    memcpy(out->doc_hash, doc, 32);
    memcpy(out->user_key, user->pk, 32);
    assert_int_equal(ledger_txb_use(&c->g, user->sk, tfx_vu(c), seal_key->sk, seal, grant, doc,
                                    out->use_nonce, out->seal_signature, &tx, &len),
                     0);
    tfx_block_open(c, 0);
    int rc = tfx_submit(c, tx, len, out->usage);
    if (rc != want)
        fail_msg("use: %s (%s)", ledger_errname(rc), c->errmsg);
    tfx_block_commit(c);
}

static int setup(void **state)
{
    struct vw *v = calloc(1, sizeof *v);
    tfx_world_init(&v->w, 4);
    ledger_sha256("the contract", 12, v->doc);
    use(v->w.c, &v->w.user, &v->w.seal_key, v->w.seal, v->w.grant, v->doc, &v->sig1, 0);
    char err[128];
    assert_int_equal(
        ledger_sigfile_append(NULL, 0, &v->sig1, &v->file, &v->file_len, err, sizeof err), 0);
    *state = v;
    return 0;
}

static int teardown(void **state)
{
    struct vw *v = *state;
    free(v->file);
    tfx_world_close(&v->w);
    free(v);
    return 0;
}

static struct ledger_verify_report *verify(struct vw *v, const uint8_t *doc, const uint8_t *file,
                                           size_t len)
{
    struct ledger_verify_report *r = malloc(sizeof *r);
    assert_int_equal(ledger_verify_document(&v->w.c->g, tfx_mem_base(v->w.c->mem), v->w.c->height,
                                            doc, file, len, r),
                     0);
    assert_int_equal(r->as_of_height, v->w.c->height);
    /* The verdict and the reasons agree. */
    assert_int_equal(r->valid, r->n_reasons == 0);
    for (size_t i = 0; i < r->count; i++)
        assert_int_equal(r->sigs[i].valid, r->sigs[i].n_reasons == 0);
    return r;
}

static struct ledger_verify_report *verify_sigs(struct vw *v, const struct ledger_seal_sig *s,
                                                size_t n)
{
    struct ledger_sigfile f = { .count = n };
    memcpy(f.sigs, s, n * sizeof *s);
    uint8_t *buf;
    size_t len;
    assert_int_equal(ledger_sigfile_encode(&f, &buf, &len), 0);
    struct ledger_verify_report *r = verify(v, s[0].doc_hash, buf, len);
    free(buf);
    return r;
}

static bool has_reason(const struct ledger_verify_sig *s, const char *needle)
{
    for (size_t i = 0; i < s->n_reasons; i++)
        if (strstr(s->reasons[i], needle) != NULL)
            return true;
    return false;
}

static void an_effective_silent_use_verifies_and_reports_seal_and_usage(void **state)
{
    struct vw *v = *state;
    struct ledger_verify_report *r = verify(v, v->doc, v->file, v->file_len);
    assert_true(r->valid);
    assert_int_equal(r->count, 1);
    const struct ledger_verify_sig *s = &r->sigs[0];
    assert_true(s->valid && s->seal_found && s->usage_found);
    assert_memory_equal(s->seal.seal_id, v->w.seal, 32);
    assert_string_equal(s->seal.org, v->w.org);
    assert_string_equal(s->seal.type_name, "official");
    assert_string_equal(s->seal.name, "Official seal");
    assert_string_equal(s->seal.status_name, "active");
    assert_memory_equal(s->usage.usage, v->sig1.usage, 32);
    assert_string_equal(s->usage.usage_status_name, "effective");
    assert_int_equal(s->usage.height, 4);
    assert_int_equal(s->usage.effective_height, 4);
    assert_true(s->usage.time_ms > TFX_GENESIS_TIME);
    free(r);
}

static void a_file_that_does_not_parse_or_is_empty_is_invalid(void **state)
{
    struct vw *v = *state;
    uint8_t *longer = malloc(v->file_len + 1);
    memcpy(longer, v->file, v->file_len);
    longer[v->file_len] = 0;
    struct ledger_verify_report *r = verify(v, v->doc, longer, v->file_len + 1);
    assert_false(r->valid);
    assert_int_equal(r->count, 0);
    assert_non_null(strstr(r->reasons[0], "signature file invalid"));
    free(r);
    r = verify(v, v->doc, NULL, 0);
    assert_false(r->valid);
    free(r);
    free(longer);
}

static void a_signature_over_another_document_is_invalid(void **state)
{
    struct vw *v = *state;
    uint8_t other[32];
    ledger_sha256("another contract", 16, other);
    struct ledger_verify_report *r = verify(v, other, v->file, v->file_len);
    assert_false(r->valid);
    assert_true(has_reason(&r->sigs[0], "another document"));
    free(r);
}

static void every_byte_flip_of_the_signature_file_makes_it_invalid(void **state)
{
    struct vw *v = *state;
    for (size_t i = 0; i < v->file_len; i++) {
        v->file[i] ^= 0x01;
        struct ledger_verify_report *r = verify(v, v->doc, v->file, v->file_len);
        if (r->valid)
            fail_msg("flipping byte %zu left the file valid", i);
        free(r);
        v->file[i] ^= 0x01;
    }
}

static void each_changed_field_is_caught_with_its_reason(void **state)
{
    struct vw *v = *state;
    struct ledger_seal_sig s;
    struct ledger_verify_report *r;

    s = v->sig1;
    s.chain[0] ^= 1;
    r = verify_sigs(v, &s, 1);
    assert_true(has_reason(&r->sigs[0], "another chain"));
    free(r);

    s = v->sig1;
    s.seal_id[0] ^= 1;
    r = verify_sigs(v, &s, 1);
    assert_true(has_reason(&r->sigs[0], "unknown seal"));
    assert_false(r->sigs[0].seal_found);
    free(r);

    s = v->sig1;
    s.seal_signature[5] ^= 1;
    r = verify_sigs(v, &s, 1);
    assert_true(has_reason(&r->sigs[0], "does not verify"));
    assert_true(has_reason(&r->sigs[0], "another seal signature"));
    free(r);

    s = v->sig1;
    s.use_nonce[0] ^= 1;
    r = verify_sigs(v, &s, 1);
    assert_true(has_reason(&r->sigs[0], "does not verify"));
    assert_true(has_reason(&r->sigs[0], "another nonce"));
    free(r);

    s = v->sig1;
    s.user_key[0] ^= 1;
    r = verify_sigs(v, &s, 1);
    assert_true(has_reason(&r->sigs[0], "another user"));
    free(r);

    s = v->sig1;
    s.usage[0] ^= 1;
    r = verify_sigs(v, &s, 1);
    assert_true(has_reason(&r->sigs[0], "not on chain"));
    assert_false(r->sigs[0].usage_found);
    assert_true(r->sigs[0].seal_found);
    free(r);
}

static void a_genuine_seal_signature_naming_another_documents_use_is_invalid(void **state)
{
    struct vw *v = *state;
    struct tfx_chain *c = v->w.c;
    uint8_t doc2[32];
    ledger_sha256("second doc", 10, doc2);
    struct ledger_seal_sig s2;
    use(c, &v->w.user, &v->w.seal_key, v->w.seal, v->w.grant, doc2, &s2, 0);
    /* The signature over doc (genuine) names the use of doc2. */
    struct ledger_seal_sig s = v->sig1;
    memcpy(s.usage, s2.usage, 32);
    struct ledger_verify_report *r = verify_sigs(v, &s, 1);
    assert_false(r->valid);
    assert_true(has_reason(&r->sigs[0], "over another document"));
    free(r);
    /* And doc2's own signature verifies for doc2. */
    r = verify_sigs(v, &s2, 1);
    assert_true(r->valid);
    free(r);
}

static void a_document_sealed_by_two_seals_reports_each(void **state)
{
    struct vw *v = *state;
    struct tfx_chain *c = v->w.c;
    /* A contract seal of the same org, granted silently to `other`. */
    struct tfx_key k2;
    tfx_key_make(77, 1, &k2);
    struct ledger_txb_seal sp = {
        v->w.org, SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT, "Contract seal", k2.pk, NULL, NULL, 0, 0
    };
    uint8_t *tx, seal2[32], grant2[32];
    size_t len;
    assert_int_equal(ledger_txb_seal_register(&c->g, v->w.admin.sk, tfx_vu(c), &sp, &tx, &len), 0);
    assert_int_equal(tfx_run(c, tx, len, seal2), 0);
    struct ledger_txb_grant gp = { seal2, v->w.other.pk, 0, 0, NULL, 0, 0, 0 };
    assert_int_equal(ledger_txb_grant(&c->g, v->w.admin.sk, tfx_vu(c), &gp, &tx, &len), 0);
    assert_int_equal(tfx_run(c, tx, len, grant2), 0);
    struct ledger_seal_sig s[2];
    s[0] = v->sig1;
    use(c, &v->w.other, &k2, seal2, grant2, v->doc, &s[1], 0);
    uint8_t *file2;
    size_t len2;
    char err[128];
    assert_int_equal(
        ledger_sigfile_append(v->file, v->file_len, &s[1], &file2, &len2, err, sizeof err), 0);
    struct ledger_verify_report *r = verify(v, v->doc, file2, len2);
    assert_true(r->valid);
    assert_int_equal(r->count, 2);
    assert_string_equal(r->sigs[1].seal.type_name, "contract");
    assert_memory_equal(r->sigs[1].seal.seal_id, seal2, 32);
    free(r);
    /* One bad signature makes the document invalid; the good one stays valid. */
    s[1].seal_signature[0] ^= 1;
    r = verify_sigs(v, s, 2);
    assert_false(r->valid);
    assert_true(r->sigs[0].valid);
    assert_false(r->sigs[1].valid);
    free(r);
    free(file2);
}

static void a_pending_use_is_invalid_until_approved_then_valid(void **state)
{
    struct vw *v = *state;
    struct tfx_chain *c = v->w.c;
    struct tfx_key a[2], u;
    tfx_key_make(88, 0, &a[0]);
    tfx_key_make(88, 1, &a[1]);
    tfx_key_make(88, 2, &u);
    uint8_t approvers[2][32];
    memcpy(approvers[0], a[0].pk, 32);
    memcpy(approvers[1], a[1].pk, 32);
    struct ledger_txb_grant gp = {
        v->w.seal, u.pk, 0, 0, (const uint8_t(*)[32])approvers, 2, 2, 0
    };
    uint8_t *tx, grant[32];
    size_t len;
    assert_int_equal(ledger_txb_grant(&c->g, v->w.custodian.sk, tfx_vu(c), &gp, &tx, &len), 0);
    assert_int_equal(tfx_run(c, tx, len, grant), 0);
    struct ledger_seal_sig s;
    use(c, &u, &v->w.seal_key, v->w.seal, grant, v->doc, &s, 0);
    struct ledger_verify_report *r = verify_sigs(v, &s, 1);
    assert_false(r->valid);
    assert_string_equal(r->sigs[0].usage.usage_status_name, "pending");
    assert_true(has_reason(&r->sigs[0], "pending"));
    assert_int_equal(r->sigs[0].usage.effective_height, 0);
    free(r);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ledger_txb_approve(&c->g, a[i].sk, tfx_vu(c), s.usage, &tx, &len), 0);
        assert_int_equal(tfx_run(c, tx, len, NULL), 0);
    }
    r = verify_sigs(v, &s, 1);
    if (!r->valid)
        fail_msg("%s", r->sigs[0].reasons[0]);
    assert_string_equal(r->sigs[0].usage.usage_status_name, "effective");
    assert_int_equal(r->sigs[0].usage.effective_height, c->height);
    assert_true(r->sigs[0].usage.height < c->height);
    free(r);
}

static void a_later_suspension_or_destruction_does_not_undo_a_past_effective_use(void **state)
{
    struct vw *v = *state;
    struct tfx_chain *c = v->w.c;
    uint8_t prev[32], *tx;
    size_t len;
    tfx_last(c, v->w.seal, prev);
    assert_int_equal(
        ledger_txb_suspend(&c->g, v->w.admin.sk, tfx_vu(c), v->w.seal, prev, "lost", &tx, &len), 0);
    assert_int_equal(tfx_run(c, tx, len, NULL), 0);
    struct ledger_verify_report *r = verify(v, v->doc, v->file, v->file_len);
    assert_true(r->valid);
    assert_string_equal(r->sigs[0].seal.status_name, "suspended");
    free(r);
    tfx_last(c, v->w.seal, prev);
    assert_int_equal(
        ledger_txb_destroy(&c->g, v->w.admin.sk, tfx_vu(c), v->w.seal, prev, "end", &tx, &len), 0);
    assert_int_equal(tfx_run(c, tx, len, NULL), 0);
    r = verify(v, v->doc, v->file, v->file_len);
    assert_true(r->valid);
    assert_string_equal(r->sigs[0].seal.status_name, "destroyed");
    assert_int_equal(r->sigs[0].usage.effective_height, 4);
    free(r);
}

static void a_file_checked_on_another_chain_is_invalid(void **state)
{
    struct vw *v = *state;
    struct ledger_genesis other = v->w.c->g;
    strcpy(other.chain_id, "elsewhere");
    char err[128];
    assert_int_equal(ledger_genesis_finish(&other, err, sizeof err), 0);
    struct ledger_verify_report *r = malloc(sizeof *r);
    assert_int_equal(ledger_verify_document(&other, tfx_mem_base(v->w.c->mem), v->w.c->height,
                                            v->doc, v->file, v->file_len, r),
                     0);
    assert_false(r->valid);
    assert_true(has_reason(&r->sigs[0], "another chain"));
    assert_true(has_reason(&r->sigs[0], "does not verify"));
    free(r);
}

/* The store variant: one read snapshot of a real LMDB store, as of its tip. */
static void verify_over_a_store_reads_its_tip_and_committed_state(void **state)
{
    (void)state;
    struct tst_chain c;
    tst_chain_init(&c, 4, "verify-store");
    char dir[128], err[256];
    tst_tmpdir(dir, sizeof dir);
    struct ledger *l;
    assert_int_equal(ledger_open(dir, &c.g, NULL, &l, err, sizeof err), 0);
    struct tfx_key admin, seal, user;
    tfx_key_make(60, 0, &admin);
    tfx_key_make(60, 1, &seal);
    tfx_key_make(60, 2, &user);
    char org[19];
    tfx_credit_code(9, org);
    uint64_t t = TST_GENESIS_TIME + 1000, vu = t + 3600000;
    uint8_t *tx[3], seal_id[32], grant[32], doc[32];
    size_t len[3];
    ledger_sha256("stored doc", 10, doc);
    assert_int_equal(ledger_txb_org_register(&c.g, c.admin_sk[0], vu, org, "Org", admin.pk, NULL,
                                             &tx[0], &len[0]),
                     0);
    struct ledger_txb_seal sp = {
        org, SEALCHAIN__SEAL_TYPE__SEAL_TYPE_FINANCE, "Finance seal", seal.pk, NULL, NULL, 0, 0
    };
    assert_int_equal(ledger_txb_seal_register(&c.g, admin.sk, vu, &sp, &tx[1], &len[1]), 0);
    assert_int_equal(ledger_tx_id(tx[1], len[1], seal_id), 0);
    struct ledger_txb_grant gp = { seal_id, user.pk, 0, 0, NULL, 0, 0, 0 };
    assert_int_equal(ledger_txb_grant(&c.g, admin.sk, vu, &gp, &tx[2], &len[2]), 0);
    assert_int_equal(ledger_tx_id(tx[2], len[2], grant), 0);
    struct ledger_txref refs[3] = { { .data = tx[0], .len = len[0] },
                                    { .data = tx[1], .len = len[1] },
                                    { .data = tx[2], .len = len[2] } };
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
    refs[0] = (struct ledger_txref){ .data = use, .len = use_len };
    assert_int_equal(tst_commit(l, &c, refs, 1, t + 1000, NULL, NULL, NULL, NULL, NULL), 0);
    uint8_t *file;
    size_t file_len;
    assert_int_equal(ledger_sigfile_append(NULL, 0, &s, &file, &file_len, err, sizeof err), 0);
    struct ledger_verify_report *r = malloc(sizeof *r);
    assert_int_equal(ledger_verify_document_store(ledger_store_get(l), doc, file, file_len, r), 0);
    if (!r->valid)
        fail_msg("%s", r->count ? r->sigs[0].reasons[0] : r->reasons[0]);
    assert_int_equal(r->as_of_height, 2);
    assert_string_equal(r->sigs[0].seal.type_name, "finance");
    assert_int_equal(r->sigs[0].usage.effective_height, 2);
    file[file_len - 1] ^= 1;
    assert_int_equal(ledger_verify_document_store(ledger_store_get(l), doc, file, file_len, r), 0);
    assert_false(r->valid);
    free(r);
    free(file);
    for (int i = 0; i < 3; i++)
        free(tx[i]);
    free(use);
    ledger_close(l);
    tst_rmdir(dir);
}

static int failing_get(void *ctx, const uint8_t *key, size_t key_len, const uint8_t **out_val,
                       size_t *out_val_len)
{
    (void)ctx, (void)key, (void)key_len, (void)out_val, (void)out_val_len;
    return LEDGER_E_STORE;
}

static void a_storage_error_is_returned_and_nothing_is_valid(void **state)
{
    struct vw *v = *state;
    struct ledger_state_base broken = { NULL, failing_get };
    struct ledger_verify_report *r = malloc(sizeof *r);
    assert_int_equal(
        ledger_verify_document(&v->w.c->g, &broken, 9, v->doc, v->file, v->file_len, r),
        LEDGER_E_STORE);
    assert_false(r->valid);
    assert_false(r->sigs[0].valid);
    assert_true(r->sigs[0].n_reasons > 0);
    assert_non_null(strstr(r->reasons[0], "could not be read"));
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(an_effective_silent_use_verifies_and_reports_seal_and_usage,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_file_that_does_not_parse_or_is_empty_is_invalid, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_signature_over_another_document_is_invalid, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(every_byte_flip_of_the_signature_file_makes_it_invalid,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(each_changed_field_is_caught_with_its_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_genuine_seal_signature_naming_another_documents_use_is_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(a_document_sealed_by_two_seals_reports_each, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_pending_use_is_invalid_until_approved_then_valid, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_later_suspension_or_destruction_does_not_undo_a_past_effective_use, setup, teardown),
        cmocka_unit_test_setup_teardown(a_file_checked_on_another_chain_is_invalid, setup,
                                        teardown),
        cmocka_unit_test(verify_over_a_store_reads_its_tip_and_committed_state),
        cmocka_unit_test_setup_teardown(a_storage_error_is_returned_and_nothing_is_valid, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
