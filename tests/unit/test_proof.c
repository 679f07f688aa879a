/* Proof bundles: a valid bundle verifies offline, and any tampering with it fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/exec.h"
#include "ledger/merkle.h"
#include "ledger/proof.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "proto/block.pb-c.h"
#include "proto/evidence.pb-c.h"
#include "util_evidence.h"
#include "util_proof.h"

/* ---- valid bundles ----------------------------------------------------------- */

static void a_bundle_of_a_silent_use_verifies_and_reports_seal_org_doc_and_heights(void **state)
{
    (void)state;
    struct parts *p = tpf_silent_parts();
    struct ledger_proof_result res;
    assert_int_equal(tpf_verify_parts(p, &res), 0);
    assert_true(res.valid);
    assert_memory_equal(res.seal_id, tpf_w->reg, 32);
    assert_string_equal(res.org, "91350100M000100Y43");
    assert_memory_equal(res.doc_hash, tpf_w->doc, 32);
    assert_memory_equal(res.usage, tpf_w->use1, 32);
    assert_int_equal(res.height, 3);
    assert_int_equal(res.time_ms, tpf_w->c.g.time_ms + 3000);
    assert_int_equal(res.effective_height, 3);
    free(p);
}

static void
a_bundle_of_a_2_of_3_approved_use_verifies_effective_at_the_second_approval(void **state)
{
    (void)state;
    struct parts *p = tpf_approval_parts();
    struct ledger_proof_result res;
    assert_int_equal(tpf_verify_parts(p, &res), 0);
    assert_true(res.valid);
    assert_int_equal(res.height, 3);
    assert_int_equal(res.effective_height, 5);
    free(p);
}

/* ---- tampering ------------------------------------------------------------------ */

static void flip_every_byte_of(const char *name, struct parts *p)
{
    uint8_t *buf;
    size_t len;
    p->b.n_approvals = p->n_apv;
    assert_int_equal(ledger_encode(&p->b.base, &buf, &len), 0);
    struct ledger_proof_result res;
    assert_int_equal(ledger_proof_verify(&tpf_w->c.g, buf, len, &res), 0);
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x01;
        int rc = ledger_proof_verify(&tpf_w->c.g, buf, len, &res);
        if (rc != LEDGER_E_BAD_PROOF || res.valid)
            fail_msg("%s: flipping byte %zu of %zu left the bundle valid", name, i, len);
        buf[i] ^= 0x01;
    }
    free(buf);
}

static void flipping_any_byte_of_a_silent_bundle_makes_it_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_silent_parts();
    flip_every_byte_of("silent", p);
    free(p);
}

/* Applies mutate to each proven tx of an approval bundle (each position of
 * each field) and expects every result invalid. */
static void each_field(void (*mutate)(struct pbuf *, size_t), size_t (*count)(struct pbuf *))
{
    for (int k = 0; k < 5; k++) {
        struct parts *base = tpf_approval_parts();
        size_t n = count(tpf_part_at(base, k));
        free(base);
        for (size_t j = 0; j < n; j++) {
            struct parts *p = tpf_approval_parts();
            mutate(tpf_part_at(p, k), j);
            tpf_assert_invalid(p);
            free(p);
        }
    }
}

static size_t tx_len(struct pbuf *b)
{
    return b->pt.tx.len;
}
static void flip_tx(struct pbuf *b, size_t j)
{
    b->tx[j] ^= 0x80;
}
static size_t path_len(struct pbuf *b)
{
    return b->pt.n_path;
}
static void flip_path(struct pbuf *b, size_t j)
{
    b->path[j][j % 32] ^= 0x04;
}
static size_t header_len(struct pbuf *b)
{
    return b->pt.header.len;
}
static void flip_header(struct pbuf *b, size_t j)
{
    b->header[j] ^= 0x02;
}
static size_t cert_len(struct pbuf *b)
{
    return b->pt.cert.len;
}
static void flip_cert(struct pbuf *b, size_t j)
{
    b->cert[j] ^= 0x10;
}

static void a_flipped_byte_in_any_transaction_is_invalid(void **state)
{
    (void)state;
    each_field(flip_tx, tx_len);
}

static void a_flipped_byte_in_any_path_element_is_invalid(void **state)
{
    (void)state;
    each_field(flip_path, path_len);
}

static void a_flipped_byte_in_any_header_is_invalid(void **state)
{
    (void)state;
    each_field(flip_header, header_len);
}

static void a_flipped_byte_in_any_certificate_is_invalid(void **state)
{
    (void)state;
    each_field(flip_cert, cert_len);
}

static void a_changed_index_is_invalid(void **state)
{
    (void)state;
    for (int k = 0; k < 5; k++) {
        const int64_t deltas[] = { -1, 1, 1000 };
        for (int d = 0; d < 3; d++) {
            struct parts *p = tpf_approval_parts();
            struct pbuf *b = tpf_part_at(p, k);
            if (deltas[d] < 0 && b->pt.index == 0) {
                free(p);
                continue;
            }
            b->pt.index = (uint32_t)((int64_t)b->pt.index + deltas[d]);
            tpf_assert_invalid(p);
            free(p);
        }
    }
}

static void a_truncated_or_extended_path_is_invalid(void **state)
{
    (void)state;
    for (int k = 0; k < 5; k++) {
        struct parts *p = tpf_approval_parts();
        struct pbuf *b = tpf_part_at(p, k);
        b->pt.n_path++;
        b->pv[b->pt.n_path - 1] = (ProtobufCBinaryData){ 32, b->path[0] };
        tpf_assert_invalid(p);
        free(p);
        p = tpf_approval_parts();
        b = tpf_part_at(p, k);
        if (b->pt.n_path > 0) {
            b->pt.n_path--;
            tpf_assert_invalid(p);
        }
        free(p);
    }
}

static void a_dropped_approval_is_invalid(void **state)
{
    (void)state;
    for (size_t drop = 0; drop < 2; drop++) {
        struct parts *p = tpf_approval_parts();
        if (drop == 0)
            p->apv_ptrs[0] = p->apv_ptrs[1];
        p->n_apv = 1;
        tpf_assert_invalid(p);
        free(p);
    }
}

static void a_duplicated_approval_is_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_approval_parts();
    p->apv_ptrs[2] = p->apv_ptrs[1];
    p->n_apv = 3;
    tpf_assert_invalid(p);
    free(p);
    /* The same approval twice in place of two distinct ones. */
    p = tpf_approval_parts();
    p->apv_ptrs[1] = p->apv_ptrs[0];
    tpf_assert_invalid(p);
    free(p);
}

static void approvals_out_of_chain_order_are_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_approval_parts();
    Sealchain__ProvenTx *t = p->apv_ptrs[0];
    p->apv_ptrs[0] = p->apv_ptrs[1];
    p->apv_ptrs[1] = t;
    tpf_assert_invalid(p);
    free(p);
}

static void an_approval_by_a_non_approver_or_of_another_use_is_invalid(void **state)
{
    (void)state;
    uint8_t a[2][32];
    memcpy(a[0], tpf_w->apv_outsider, 32);
    memcpy(a[1], tpf_w->apv[2], 32);
    struct parts *p =
        tpf_parts_new(tpf_w->reg, tpf_w->grant_m, tpf_w->use2, (const uint8_t(*)[32])a, 2);
    tpf_assert_invalid(p);
    free(p);
    memcpy(a[0], tpf_w->apv[0], 32);
    memcpy(a[1], tpf_w->apv_other, 32);
    p = tpf_parts_new(tpf_w->reg, tpf_w->grant_m, tpf_w->use2, (const uint8_t(*)[32])a, 2);
    tpf_assert_invalid(p);
    free(p);
}

static void more_approvals_than_the_threshold_are_invalid(void **state)
{
    (void)state;
    uint8_t a[3][32];
    memcpy(a[0], tpf_w->apv[0], 32);
    memcpy(a[1], tpf_w->apv[2], 32);
    memcpy(a[2], tpf_w->apv[1], 32);
    struct parts *p =
        tpf_parts_new(tpf_w->reg, tpf_w->grant_m, tpf_w->use2, (const uint8_t(*)[32])a, 3);
    tpf_assert_invalid(p);
    free(p);
}

static void a_silent_grant_with_approvals_is_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_parts_new(tpf_w->reg, tpf_w->grant_silent, tpf_w->use1,
                                    (const uint8_t(*)[32])tpf_w->apv_other, 1);
    tpf_assert_invalid(p);
    free(p);
}

static void a_bundle_with_another_grant_or_seal_is_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_parts_new(tpf_w->reg, tpf_w->grant_m, tpf_w->use1, NULL, 0);
    tpf_assert_invalid(p);
    free(p);
    p = tpf_parts_new(tpf_w->reg2, tpf_w->grant_silent, tpf_w->use1, NULL, 0);
    tpf_assert_invalid(p);
    free(p);
    /* Proven txs in the wrong slots. */
    p = tpf_parts_new(tpf_w->grant_silent, tpf_w->reg, tpf_w->use1, NULL, 0);
    tpf_assert_invalid(p);
    free(p);
    p = tpf_parts_new(tpf_w->reg, tpf_w->grant_silent, tpf_w->apv_other, NULL, 0);
    tpf_assert_invalid(p);
    free(p);
}

static void a_missing_part_or_a_wrong_version_is_invalid(void **state)
{
    (void)state;
    for (int k = 0; k < 4; k++) {
        struct parts *p = tpf_silent_parts();
        if (k == 0)
            p->b.seal_register = NULL;
        else if (k == 1)
            p->b.grant = NULL;
        else if (k == 2)
            p->b.use = NULL;
        else
            p->b.version = 2;
        tpf_assert_invalid(p);
        free(p);
    }
}

static void too_many_approvals_are_refused(void **state)
{
    (void)state;
    struct parts *p = tpf_approval_parts();
    for (size_t i = 2; i < LEDGER_PROOF_MAX_APPROVALS + 1; i++)
        p->apv_ptrs[i] = p->apv_ptrs[i % 2];
    p->n_apv = LEDGER_PROOF_MAX_APPROVALS + 1;
    tpf_assert_invalid(p);
    free(p);
}

static void a_trailing_byte_or_an_unknown_field_is_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_silent_parts();
    uint8_t *buf;
    size_t len;
    assert_int_equal(ledger_encode(&p->b.base, &buf, &len), 0);
    uint8_t *longer = malloc(len + 2);
    memcpy(longer, buf, len);
    struct ledger_proof_result res;
    longer[len] = 0x00;
    assert_int_equal(ledger_proof_verify(&tpf_w->c.g, longer, len + 1, &res), LEDGER_E_BAD_PROOF);
    longer[len] = 0x30; /* field 6, varint: unknown */
    longer[len + 1] = 0x01;
    assert_int_equal(ledger_proof_verify(&tpf_w->c.g, longer, len + 2, &res), LEDGER_E_BAD_PROOF);
    assert_false(res.valid);
    free(longer);
    free(buf);
    /* An unknown field inside a proven tx: append field 9 to the use's. */
    ProtobufCMessageUnknownField uf = { 9, PROTOBUF_C_WIRE_TYPE_VARINT, 1, (uint8_t *)"\x01" };
    p->use.pt.base.n_unknown_fields = 1;
    p->use.pt.base.unknown_fields = &uf;
    tpf_assert_invalid(p);
    free(p);
}

static void a_bundle_over_the_size_cap_is_refused_before_decoding(void **state)
{
    (void)state;
    size_t len = LEDGER_PROOF_MAX_LEN + 1;
    uint8_t *big = calloc(1, len);
    struct ledger_proof_result res;
    assert_int_equal(ledger_proof_verify(&tpf_w->c.g, big, len, &res), LEDGER_E_BAD_PROOF);
    assert_false(res.valid);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_bundle_of_a_silent_use_verifies_and_reports_seal_org_doc_and_heights),
        cmocka_unit_test(
            a_bundle_of_a_2_of_3_approved_use_verifies_effective_at_the_second_approval),
        cmocka_unit_test(flipping_any_byte_of_a_silent_bundle_makes_it_invalid),
        cmocka_unit_test(a_flipped_byte_in_any_transaction_is_invalid),
        cmocka_unit_test(a_flipped_byte_in_any_path_element_is_invalid),
        cmocka_unit_test(a_flipped_byte_in_any_header_is_invalid),
        cmocka_unit_test(a_flipped_byte_in_any_certificate_is_invalid),
        cmocka_unit_test(a_changed_index_is_invalid),
        cmocka_unit_test(a_truncated_or_extended_path_is_invalid),
        cmocka_unit_test(a_dropped_approval_is_invalid),
        cmocka_unit_test(a_duplicated_approval_is_invalid),
        cmocka_unit_test(approvals_out_of_chain_order_are_invalid),
        cmocka_unit_test(an_approval_by_a_non_approver_or_of_another_use_is_invalid),
        cmocka_unit_test(more_approvals_than_the_threshold_are_invalid),
        cmocka_unit_test(a_silent_grant_with_approvals_is_invalid),
        cmocka_unit_test(a_bundle_with_another_grant_or_seal_is_invalid),
        cmocka_unit_test(a_missing_part_or_a_wrong_version_is_invalid),
        cmocka_unit_test(too_many_approvals_are_refused),
        cmocka_unit_test(a_trailing_byte_or_an_unknown_field_is_invalid),
        cmocka_unit_test(a_bundle_over_the_size_cap_is_refused_before_decoding),
    };
    return cmocka_run_group_tests(tests, tpf_setup_world, tpf_teardown_world);
}
