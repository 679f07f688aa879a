/* Proof bundles exported from a real store (ledger facade, real rules) verify offline. */
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
#include "ledger/ledger.h"
#include "ledger/proof.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "proto/evidence.pb-c.h"
#include "util_fixture.h"
#include "util_store.h"

static void id_of(const uint8_t *tx, size_t len, uint8_t id[32])
{
    assert_int_equal(ledger_tx_id(tx, len, id), 0);
}

/* ---- export from a real store (the ledger facade, the real rules) ------------ */

struct ex {
    struct tst_chain c;
    char dir[128];
    struct ledger *l;
    uint64_t time;
    struct tfx_key admin, seal, user, user2, apr[3];
    char org[19];
    uint8_t doc[32], seal_id[32], grant_silent[32], grant_m[32];
    uint8_t use1[32], use2[32], use3[32];
};

/* Commits one block of the given txs (each must be accepted); frees them. */
static void ex_block(struct ex *e, uint8_t **txs, size_t *lens, size_t n)
{
    struct ledger_txref refs[8];
    for (size_t i = 0; i < n; i++)
        refs[i] = (struct ledger_txref){ .data = txs[i], .len = lens[i] };
    e->time += 1000;
    size_t refused = 0;
    int rc = tst_commit(e->l, &e->c, refs, n, e->time, &refused, NULL, NULL, NULL, NULL);
    if (rc != 0 || refused != 0)
        fail_msg("commit: %s, %zu refused: %s", ledger_errname(rc), refused, ledger_errmsg(e->l));
    for (size_t i = 0; i < n; i++)
        free(txs[i]);
}

static uint64_t ex_vu(const struct ex *e)
{
    return e->time + 3600 * 1000;
}

static int setup_export(void **state)
{
    struct ex *e = calloc(1, sizeof *e);
    tst_chain_init(&e->c, 4, "export-chain");
    tst_tmpdir(e->dir, sizeof e->dir);
    char err[256];
    assert_int_equal(ledger_open(e->dir, &e->c.g, NULL, &e->l, err, sizeof err), 0);
    e->time = TST_GENESIS_TIME;
    tfx_key_make(50, 0, &e->admin);
    tfx_key_make(50, 1, &e->seal);
    tfx_key_make(50, 2, &e->user);
    tfx_key_make(50, 3, &e->user2);
    for (uint32_t i = 0; i < 3; i++)
        tfx_key_make(51, i, &e->apr[i]);
    tfx_credit_code(7, e->org);
    ledger_sha256("exported contract", 17, e->doc);
    const struct ledger_genesis *g = &e->c.g;
    uint8_t *t[4];
    size_t l[4];

    /* Block 1: file the org and register its seal (one block: overlay). */
    assert_int_equal(ledger_txb_org_register(g, e->c.admin_sk[0], ex_vu(e) + 1000, e->org, "Org",
                                             e->admin.pk, NULL, &t[0], &l[0]),
                     0);
    struct ledger_txb_seal sp = { e->org,
                                  SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT,
                                  "Contract seal",
                                  e->seal.pk,
                                  NULL,
                                  NULL,
                                  0,
                                  0 };
    assert_int_equal(ledger_txb_seal_register(g, e->admin.sk, ex_vu(e) + 1000, &sp, &t[1], &l[1]),
                     0);
    id_of(t[1], l[1], e->seal_id);
    ex_block(e, t, l, 2);

    /* Block 2: a silent grant to user, a 2-of-3 grant to user2. */
    struct ledger_txb_grant gs = { e->seal_id, e->user.pk, 0, 0, NULL, 0, 0, 0 };
    assert_int_equal(ledger_txb_grant(g, e->admin.sk, ex_vu(e), &gs, &t[0], &l[0]), 0);
    uint8_t ap[3][32];
    for (int i = 0; i < 3; i++)
        memcpy(ap[i], e->apr[i].pk, 32);
    struct ledger_txb_grant gm = {
        e->seal_id, e->user2.pk, 0, 0, (const uint8_t(*)[32])ap, 3, 2, 0
    };
    assert_int_equal(ledger_txb_grant(g, e->admin.sk, ex_vu(e), &gm, &t[1], &l[1]), 0);
    id_of(t[0], l[0], e->grant_silent);
    id_of(t[1], l[1], e->grant_m);
    ex_block(e, t, l, 2);

    /* Block 3: both uses. */
    assert_int_equal(ledger_txb_use(g, e->user.sk, ex_vu(e), e->seal.sk, e->seal_id,
                                    e->grant_silent, e->doc, NULL, NULL, &t[0], &l[0]),
                     0);
    assert_int_equal(ledger_txb_use(g, e->user2.sk, ex_vu(e), e->seal.sk, e->seal_id, e->grant_m,
                                    e->doc, NULL, NULL, &t[1], &l[1]),
                     0);
    id_of(t[0], l[0], e->use1);
    id_of(t[1], l[1], e->use2);
    ex_block(e, t, l, 2);

    /* Blocks 4 and 5: approvals by apr0 then apr2 (effective in block 5);
     * block 6: another use by user2, left pending. */
    assert_int_equal(ledger_txb_approve(g, e->apr[0].sk, ex_vu(e), e->use2, &t[0], &l[0]), 0);
    ex_block(e, t, l, 1);
    assert_int_equal(ledger_txb_approve(g, e->apr[2].sk, ex_vu(e), e->use2, &t[0], &l[0]), 0);
    ex_block(e, t, l, 1);
    uint8_t doc3[32];
    ledger_sha256("pending doc", 11, doc3);
    assert_int_equal(ledger_txb_use(g, e->user2.sk, ex_vu(e), e->seal.sk, e->seal_id, e->grant_m,
                                    doc3, NULL, NULL, &t[0], &l[0]),
                     0);
    id_of(t[0], l[0], e->use3);
    ex_block(e, t, l, 1);
    *state = e;
    return 0;
}

static int teardown_export(void **state)
{
    struct ex *e = *state;
    ledger_close(e->l);
    tst_rmdir(e->dir);
    free(e);
    return 0;
}

static void an_exported_silent_use_verifies_offline(void **state)
{
    struct ex *e = *state;
    uint8_t *b;
    size_t len;
    char err[256] = "";
    int rc = ledger_proof_export(ledger_store_get(e->l), e->use1, &b, &len, err, sizeof err);
    if (rc != 0)
        fail_msg("export: %s: %s", ledger_errname(rc), err);
    struct ledger_proof_result res;
    assert_int_equal(ledger_proof_verify(&e->c.g, b, len, &res), 0);
    assert_true(res.valid);
    assert_memory_equal(res.seal_id, e->seal_id, 32);
    assert_string_equal(res.org, e->org);
    assert_memory_equal(res.doc_hash, e->doc, 32);
    assert_int_equal(res.height, 3);
    assert_int_equal(res.effective_height, 3);
    assert_int_equal(res.time_ms, TST_GENESIS_TIME + 3000);
    free(b);
}

static void an_exported_approved_use_carries_its_approvals_and_verifies(void **state)
{
    struct ex *e = *state;
    uint8_t *b;
    size_t len;
    char err[256] = "";
    int rc = ledger_proof_export(ledger_store_get(e->l), e->use2, &b, &len, err, sizeof err);
    if (rc != 0)
        fail_msg("export: %s: %s", ledger_errname(rc), err);
    struct ledger_proof_result res;
    assert_int_equal(ledger_proof_verify(&e->c.g, b, len, &res), 0);
    assert_int_equal(res.height, 3);
    assert_int_equal(res.effective_height, 5);
    ProtobufCMessage *m;
    assert_int_equal(ledger_decode_strict(&sealchain__proof_bundle__descriptor, b, len, len, &m),
                     0);
    assert_int_equal(((Sealchain__ProofBundle *)m)->n_approvals, 2);
    protobuf_c_message_free_unpacked(m, NULL);
    /* Against another chain's genesis (same validators): invalid. */
    struct ledger_genesis other = e->c.g;
    strcpy(other.chain_id, "export-chain-b");
    assert_int_equal(ledger_genesis_finish(&other, err, sizeof err), 0);
    assert_int_equal(ledger_proof_verify(&other, b, len, &res), LEDGER_E_BAD_PROOF);
    free(b);
}

static void export_refuses_a_pending_or_unknown_use(void **state)
{
    struct ex *e = *state;
    uint8_t *b = (uint8_t *)1, unknown[32] = { 0 };
    size_t len;
    char err[256] = "";
    assert_int_equal(
        ledger_proof_export(ledger_store_get(e->l), e->use3, &b, &len, err, sizeof err),
        LEDGER_E_NOT_EFFECTIVE);
    assert_non_null(strstr(err, "pending"));
    assert_null(b);
    assert_int_equal(
        ledger_proof_export(ledger_store_get(e->l), unknown, &b, &len, err, sizeof err),
        LEDGER_E_UNKNOWN_USAGE);
    /* A grant id is a tx, not a use. */
    assert_int_equal(
        ledger_proof_export(ledger_store_get(e->l), e->grant_silent, &b, &len, err, sizeof err),
        LEDGER_E_UNKNOWN_USAGE);
}

static void flipping_any_byte_of_an_exported_bundle_makes_it_invalid(void **state)
{
    struct ex *e = *state;
    uint8_t *b;
    size_t len;
    char err[256] = "";
    assert_int_equal(
        ledger_proof_export(ledger_store_get(e->l), e->use2, &b, &len, err, sizeof err), 0);
    struct ledger_proof_result res;
    for (size_t i = 0; i < len; i++) {
        b[i] ^= 0x40;
        if (ledger_proof_verify(&e->c.g, b, len, &res) != LEDGER_E_BAD_PROOF || res.valid)
            fail_msg("flipping byte %zu of %zu left the exported bundle valid", i, len);
        b[i] ^= 0x40;
    }
    assert_int_equal(ledger_proof_verify(&e->c.g, b, len, &res), 0);
    free(b);
}

/* ---- bounded random mutation (a fuzz pass that runs in every `make check`) --- */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: fixed seed, so a failure replays. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Mutates buf[0..*len) (capacity cap) in place: flip, set, insert, delete,
 * truncate or duplicate a run. */
static void mutate(uint64_t *rng, uint8_t *buf, size_t *len, size_t cap)
{
    size_t n = *len, at = n ? rng_next(rng) % n : 0;
    switch (rng_next(rng) % 6) {
    case 0:
        if (n)
            buf[at] ^= (uint8_t)(1u << (rng_next(rng) % 8));
        break;
    case 1:
        if (n)
            buf[at] = (uint8_t)rng_next(rng);
        break;
    case 2:
        if (n < cap) {
            memmove(buf + at + 1, buf + at, n - at);
            buf[at] = (uint8_t)rng_next(rng);
            (*len)++;
        }
        break;
    case 3:
        if (n) {
            memmove(buf + at, buf + at + 1, n - at - 1);
            (*len)--;
        }
        break;
    case 4:
        *len = at;
        break;
    default: {
        size_t run = 1 + rng_next(rng) % 16;
        if (at + run <= n && n + run <= cap) {
            memmove(buf + at + run, buf + at, n - at);
            (*len) += run;
        }
        break;
    }
    }
}

/* Mutates one bytes field (tx, header or cert) of one proven tx and re-encodes
 * the bundle, so the inner decoders see malformed input of any length. */
static void mutate_inner(uint64_t *rng, const uint8_t *orig, size_t orig_len, uint8_t **out,
                         size_t *out_len)
{
    ProtobufCMessage *m;
    assert_int_equal(
        ledger_decode_strict(&sealchain__proof_bundle__descriptor, orig, orig_len, orig_len, &m),
        0);
    Sealchain__ProofBundle *b = (Sealchain__ProofBundle *)m;
    Sealchain__ProvenTx *pts[3 + LEDGER_PROOF_MAX_APPROVALS] = { b->seal_register, b->grant,
                                                                 b->use };
    size_t n = 3;
    for (size_t i = 0; i < b->n_approvals; i++)
        pts[n++] = b->approvals[i];
    Sealchain__ProvenTx *pt = pts[rng_next(rng) % n];
    ProtobufCBinaryData *f[3] = { &pt->tx, &pt->header, &pt->cert };
    ProtobufCBinaryData *field = f[rng_next(rng) % 3];
    size_t cap = field->len + 64, len = field->len;
    uint8_t *buf = malloc(cap);
    memcpy(buf, field->data, len);
    for (uint64_t k = 1 + rng_next(rng) % 3; k > 0; k--)
        mutate(rng, buf, &len, cap);
    uint8_t *saved = field->data;
    size_t saved_len = field->len;
    field->data = buf;
    field->len = len;
    assert_int_equal(ledger_encode(m, out, out_len), 0);
    field->data = saved;
    field->len = saved_len;
    free(buf);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void randomly_mutated_bundles_never_crash_and_never_verify(void **state)
{
    struct ex *e = *state;
    uint8_t *b;
    size_t len;
    char err[256] = "";
    assert_int_equal(
        ledger_proof_export(ledger_store_get(e->l), e->use2, &b, &len, err, sizeof err), 0);
    uint64_t rng = 0x5ea1c4a1f00dull;
    struct ledger_proof_result res;
    uint8_t *buf = malloc(len + 256);
    for (int iter = 0; iter < 1500; iter++) {
        uint8_t *m = buf;
        size_t mlen = len;
        if (iter % 2 == 0) {
            memcpy(buf, b, len);
            for (uint64_t k = 1 + rng_next(&rng) % 4; k > 0; k--)
                mutate(&rng, buf, &mlen, len + 256);
        } else {
            mutate_inner(&rng, b, len, &m, &mlen);
        }
        int rc = ledger_proof_verify(&e->c.g, m, mlen, &res);
        bool same = mlen == len && memcmp(m, b, len) == 0;
        if (!same && (rc == 0 || res.valid))
            fail_msg("iteration %d: a mutated bundle verified", iter);
        if (m != buf)
            free(m);
    }
    free(buf);
    free(b);
}

static void a_seal_registered_granted_and_used_in_one_block_proves_by_index_order(void **state)
{
    struct ex *e = *state;
    const struct ledger_genesis *g = &e->c.g;
    struct tfx_key k;
    tfx_key_make(52, 0, &k);
    uint8_t *t[3], seal[32], grant[32], usage[32];
    size_t l[3];
    struct ledger_txb_seal sp = {
        e->org, SEALCHAIN__SEAL_TYPE__SEAL_TYPE_INVOICE, "Invoice seal", k.pk, NULL, NULL, 0, 0
    };
    assert_int_equal(ledger_txb_seal_register(g, e->admin.sk, ex_vu(e), &sp, &t[0], &l[0]), 0);
    id_of(t[0], l[0], seal);
    struct ledger_txb_grant gp = { seal, e->user.pk, 0, 0, NULL, 0, 0, 0 };
    assert_int_equal(ledger_txb_grant(g, e->admin.sk, ex_vu(e), &gp, &t[1], &l[1]), 0);
    id_of(t[1], l[1], grant);
    assert_int_equal(ledger_txb_use(g, e->user.sk, ex_vu(e), k.sk, seal, grant, e->doc, NULL, NULL,
                                    &t[2], &l[2]),
                     0);
    id_of(t[2], l[2], usage);
    ex_block(e, t, l, 3);
    uint8_t *b;
    size_t len;
    char err[256] = "";
    int rc = ledger_proof_export(ledger_store_get(e->l), usage, &b, &len, err, sizeof err);
    if (rc != 0)
        fail_msg("export: %s: %s", ledger_errname(rc), err);
    struct ledger_proof_result res;
    assert_int_equal(ledger_proof_verify(g, b, len, &res), 0);
    assert_int_equal(res.height, 7);
    assert_int_equal(res.effective_height, 7);
    assert_memory_equal(res.seal_id, seal, 32);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(an_exported_silent_use_verifies_offline, setup_export,
                                        teardown_export),
        cmocka_unit_test_setup_teardown(an_exported_approved_use_carries_its_approvals_and_verifies,
                                        setup_export, teardown_export),
        cmocka_unit_test_setup_teardown(export_refuses_a_pending_or_unknown_use, setup_export,
                                        teardown_export),
        cmocka_unit_test_setup_teardown(flipping_any_byte_of_an_exported_bundle_makes_it_invalid,
                                        setup_export, teardown_export),
        cmocka_unit_test_setup_teardown(randomly_mutated_bundles_never_crash_and_never_verify,
                                        setup_export, teardown_export),
        cmocka_unit_test_setup_teardown(
            a_seal_registered_granted_and_used_in_one_block_proves_by_index_order, setup_export,
            teardown_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
