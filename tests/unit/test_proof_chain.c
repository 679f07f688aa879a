/* Proof bundles: bad certificates, another chain, transactions out of order or re-signed fail. */
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

/* ---- certificates ---------------------------------------------------------------- */

/* Replaces the certificate of part k with one for the same block signed by signers. */
static void recert(struct parts *p, int k, const struct tev_chain *c, const uint32_t *signers,
                   size_t n)
{
    struct pbuf *b = tpf_part_at(p, k);
    uint8_t hash[32], *cert;
    size_t len;
    ledger_sha256(b->header, b->pt.header.len, hash);
    /* Height is the header's: blocks are numbered from 1 in order. */
    uint64_t height = 0;
    for (size_t h = 1; h <= tpf_w->nb; h++)
        if (memcmp(tpf_w->blk[h].b.hash, hash, 32) == 0)
            height = h;
    assert_true(height > 0);
    tev_cert_raw(c, height, 0, hash, signers, n, &cert, &len);
    assert_true(len <= sizeof b->cert);
    memcpy(b->cert, cert, len);
    b->pt.cert.len = len;
    free(cert);
}

/* Rewrites part k's header with view and proposer and certifies it in
 * cert_view (the tx root, so the Merkle path, stays valid). */
static void rehead(struct parts *p, int k, uint64_t view, uint32_t proposer, uint64_t cert_view)
{
    struct pbuf *b = tpf_part_at(p, k);
    Sealchain__BlockHeader *h = sealchain__block_header__unpack(NULL, b->pt.header.len, b->header);
    assert_non_null(h);
    h->view = view;
    h->proposer = proposer;
    uint8_t *hb, hash[32], *cert;
    size_t hlen, len;
    assert_int_equal(ledger_encode(&h->base, &hb, &hlen), 0);
    assert_true(hlen <= sizeof b->header);
    memcpy(b->header, hb, hlen);
    b->pt.header.len = hlen;
    ledger_sha256(hb, hlen, hash);
    tev_cert_quorum(&tpf_w->c, h->height, cert_view, hash, &cert, &len);
    assert_true(len <= sizeof b->cert);
    memcpy(b->cert, cert, len);
    b->pt.cert.len = len;
    free(cert);
    free(hb);
    sealchain__block_header__free_unpacked(h, NULL);
}

/* DESIGN.md §3: a header's proposer is the primary of its view (v mod n). */
static void a_header_naming_another_proposer_than_its_views_primary_is_invalid(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        struct parts *p = tpf_silent_parts();
        rehead(p, k, 5, 1, 5); /* the control: view 5's primary is 1 of 4 */
        tpf_assert_valid(p);
        rehead(p, k, 5, 2, 5);
        tpf_assert_invalid(p);
        free(p);
    }
}

/* A block is committed in the view it was proposed in or, re-proposed, in a
 * later one: never in an earlier one. */
static void a_certificate_of_a_lower_view_than_its_header_is_invalid(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        struct parts *p = tpf_silent_parts();
        rehead(p, k, 5, 1, 7); /* the control: committed after a view change */
        tpf_assert_valid(p);
        rehead(p, k, 5, 1, 4);
        tpf_assert_invalid(p);
        free(p);
    }
}

static void a_recertified_block_with_a_valid_certificate_still_verifies(void **state)
{
    (void)state;
    /* The control for the three tests below: other signers, still q. */
    struct parts *p = tpf_approval_parts();
    const uint32_t s[] = { 1, 2, 3 };
    recert(p, 2, &tpf_w->c, s, 3);
    tpf_assert_valid(p);
    free(p);
}

static void a_certificate_with_a_duplicate_signer_is_invalid(void **state)
{
    (void)state;
    const uint32_t s[] = { 0, 1, 1 };
    for (int k = 0; k < 5; k++) {
        struct parts *p = tpf_approval_parts();
        recert(p, k, &tpf_w->c, s, 3);
        tpf_assert_invalid(p);
        free(p);
    }
}

static void a_certificate_with_too_few_signers_is_invalid(void **state)
{
    (void)state;
    const uint32_t s[] = { 0, 3 };
    for (int k = 0; k < 5; k++) {
        struct parts *p = tpf_approval_parts();
        recert(p, k, &tpf_w->c, s, 2);
        tpf_assert_invalid(p);
        free(p);
    }
}

static void a_certificate_signed_by_a_key_not_in_genesis_is_invalid(void **state)
{
    (void)state;
    /* Another chain's validators sign under this chain's hash: same indexes,
     * keys not in genesis. */
    struct tev_chain *rogue = malloc(sizeof *rogue);
    tev_chain_init(rogue, 4, "rogue-keys");
    memcpy(rogue->g.hash, tpf_w->c.g.hash, 32);
    const uint32_t s[] = { 0, 1, 2 };
    for (int k = 0; k < 5; k++) {
        struct parts *p = tpf_approval_parts();
        recert(p, k, rogue, s, 3);
        tpf_assert_invalid(p);
        free(p);
    }
    free(rogue);
}

static void a_bundle_checked_against_another_chains_genesis_is_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_approval_parts();
    uint8_t *buf;
    size_t len;
    p->b.n_approvals = p->n_apv;
    assert_int_equal(ledger_encode(&p->b.base, &buf, &len), 0);
    /* Same validators, another chain id: only the genesis hash differs. */
    struct ledger_genesis other = tpf_w->c.g;
    strcpy(other.chain_id, "proof-chain-b");
    char err[128];
    assert_int_equal(ledger_genesis_finish(&other, err, sizeof err), 0);
    struct ledger_proof_result res;
    assert_int_equal(ledger_proof_verify(&tpf_w->c.g, buf, len, &res), 0);
    assert_int_equal(ledger_proof_verify(&other, buf, len, &res), LEDGER_E_BAD_PROOF);
    assert_false(res.valid);
    /* A wholly different consortium. */
    struct tev_chain *c2 = malloc(sizeof *c2);
    tev_chain_init(c2, 7, "another-consortium");
    assert_int_equal(ledger_proof_verify(&c2->g, buf, len, &res), LEDGER_E_BAD_PROOF);
    free(c2);
    free(buf);
    free(p);
}

/* ---- ordering and signatures ------------------------------------------------------ */

/* A second hand-built world where the order is wrong. Built on the fly. */
static void a_use_before_the_seal_registration_or_the_grant_is_invalid(void **state)
{
    (void)state;
    /* Chain order: use in block 6 index 0 ... we re-prove the registration
     * as if it came later by putting a copy of it in a new block 6 after
     * the use: the registration tx is then proven at height 6. */
    struct world *w = tpf_w;
    size_t saved = w->nb;
    uint8_t *t[2];
    size_t l[2];
    t[0] = malloc(w->blk[1].len[1]);
    memcpy(t[0], w->blk[1].tx[1], w->blk[1].len[1]);
    l[0] = w->blk[1].len[1];
    t[1] = malloc(w->blk[2].len[0]);
    memcpy(t[1], w->blk[2].tx[0], w->blk[2].len[0]);
    l[1] = w->blk[2].len[0];
    tpf_add_block(w, t, l, 2);
    /* tpf_prove() finds the first occurrence; prove from block 6 by hand. */
    struct parts *p = tpf_silent_parts();
    struct hblock *hb = &w->blk[w->nb];
    uint8_t ids[2][32]; /* the Merkle values of the two txs */
    ledger_merkle_tx_leaf(t[0], l[0], ids[0]);
    ledger_merkle_tx_leaf(t[1], l[1], ids[1]);
    for (int k = 0; k < 2; k++) {
        struct pbuf *b = k == 0 ? &p->reg : &p->grant;
        size_t n;
        assert_int_equal(ledger_merkle_path((const uint8_t(*)[32])ids, 2, (size_t)k, b->path, &n),
                         0);
        b->pt.n_path = n;
        b->pt.index = (uint32_t)k;
        memcpy(b->header, hb->b.header, hb->b.header_len);
        b->pt.header.len = hb->b.header_len;
        memcpy(b->cert, hb->b.cert, hb->b.cert_len);
        b->pt.cert.len = hb->b.cert_len;
    }
    tpf_assert_invalid(p);
    /* Only the registration late: still invalid. */
    free(p);
    p = tpf_silent_parts();
    {
        struct pbuf *b = &p->reg;
        size_t n;
        assert_int_equal(ledger_merkle_path((const uint8_t(*)[32])ids, 2, 0, b->path, &n), 0);
        b->pt.n_path = n;
        b->pt.index = 0;
        memcpy(b->header, hb->b.header, hb->b.header_len);
        b->pt.header.len = hb->b.header_len;
        memcpy(b->cert, hb->b.cert, hb->b.cert_len);
        b->pt.cert.len = hb->b.cert_len;
    }
    tpf_assert_invalid(p);
    free(p);
    for (size_t i = 0; i < hb->n; i++)
        free(hb->tx[i]);
    tev_block_free(&hb->b);
    memset(hb, 0, sizeof *hb);
    w->nb = saved;
}

static void a_use_with_a_bad_seal_signature_or_by_another_user_is_invalid(void **state)
{
    (void)state;
    struct world *w = tpf_w;
    size_t saved = w->nb;
    uint8_t *t[2];
    size_t l[2];
    uint8_t bad_seal[32], other_user[32];
    /* Signed by the second seal's key: the seal signature fails. */
    tpf_make_use(w, &w->user, &w->seal2, w->reg, w->grant_silent, &t[0], &l[0]);
    /* Signed by user2 under user's silent grant: not the grant's user. */
    tpf_make_use(w, &w->user2, &w->seal, w->reg, w->grant_silent, &t[1], &l[1]);
    tpf_id_of(t[0], l[0], bad_seal);
    tpf_id_of(t[1], l[1], other_user);
    tpf_add_block(w, t, l, 2);
    struct parts *p = tpf_parts_new(w->reg, w->grant_silent, bad_seal, NULL, 0);
    tpf_assert_invalid(p);
    free(p);
    p = tpf_parts_new(w->reg, w->grant_silent, other_user, NULL, 0);
    tpf_assert_invalid(p);
    free(p);
    struct hblock *hb = &w->blk[w->nb];
    for (size_t i = 0; i < hb->n; i++)
        free(hb->tx[i]);
    tev_block_free(&hb->b);
    memset(hb, 0, sizeof *hb);
    w->nb = saved;
}

static void a_transaction_with_a_forged_signer_signature_is_invalid(void **state)
{
    (void)state;
    /* Re-wrap the use's body with a zeroed signature in a fresh block: the
     * block is certified, yet the user's signature does not verify. */
    struct world *w = tpf_w;
    size_t saved = w->nb;
    struct ledger_tx tx;
    char err[128];
    struct hblock *b3 = &w->blk[3];
    assert_int_equal(ledger_tx_open(b3->tx[0], b3->len[0], &tx, err, sizeof err), 0);
    uint8_t sig[64] = { 0 };
    uint8_t *t[1];
    size_t l[1];
    assert_int_equal(
        ledger_txb_wrap(tx.env->body.data, tx.env->body.len, tx.signer, sig, &t[0], &l[0]), 0);
    ledger_tx_close(&tx);
    tpf_add_block(w, t, l, 1);
    struct parts *p = tpf_silent_parts();
    struct hblock *hb = &w->blk[w->nb];
    /* Same tx id (same body): prove it from the new block. */
    memcpy(p->use.tx, t[0], l[0]);
    p->use.pt.tx.len = l[0];
    p->use.pt.index = 0;
    p->use.pt.n_path = 0;
    memcpy(p->use.header, hb->b.header, hb->b.header_len);
    p->use.pt.header.len = hb->b.header_len;
    memcpy(p->use.cert, hb->b.cert, hb->b.cert_len);
    p->use.pt.cert.len = hb->b.cert_len;
    tpf_assert_invalid(p);
    free(p);
    free(hb->tx[0]);
    tev_block_free(&hb->b);
    memset(hb, 0, sizeof *hb);
    w->nb = saved;
}

/* DESIGN.md §4: a body names its signer. Approver 1 re-signs approver 0's
 * approval body (same id) and has it certified in a later block: with it
 * and approver 2's, the use would count two distinct approvers of three. */
static void an_approval_re_signed_by_another_approver_is_invalid(void **state)
{
    (void)state;
    struct world *w = tpf_w;
    size_t saved = w->nb;
    struct ledger_tx tx;
    char err[128];
    struct hblock *b4 = &w->blk[4]; /* approver 0's approval of use2 at index 0 */
    assert_int_equal(ledger_tx_open(b4->tx[0], b4->len[0], &tx, err, sizeof err), 0);
    uint8_t sig[64];
    assert_int_equal(ledger_sign(LEDGER_TAG_TX, w->c.g.hash, tx.env->body.data, tx.env->body.len,
                                 w->apr[1].sk, sig),
                     0);
    uint8_t *t[1];
    size_t l[1];
    assert_int_equal(
        ledger_txb_wrap(tx.env->body.data, tx.env->body.len, w->apr[1].pk, sig, &t[0], &l[0]), 0);
    ledger_tx_close(&tx);
    tpf_add_block(w, t, l, 1);
    uint8_t a[2][32];
    memcpy(a[0], w->apv[2], 32);
    memcpy(a[1], w->apv[0], 32);
    struct parts *p = tpf_parts_new(w->reg, w->grant_m, w->use2, (const uint8_t(*)[32])a, 2);
    tpf_prove_at(w->nb, 0, &p->apv[1]); /* the re-signed copy, not the original */
    struct ledger_proof_result res;
    assert_int_equal(tpf_verify_parts(p, &res), LEDGER_E_BAD_PROOF);
    assert_false(res.valid);
    assert_non_null(strstr(res.reasons[0], "names signer"));
    free(p);
    struct hblock *hb = &w->blk[w->nb];
    free(hb->tx[0]);
    tev_block_free(&hb->b);
    memset(hb, 0, sizeof *hb);
    w->nb = saved;
}

static void a_registration_proven_after_the_grant_is_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_silent_parts();
    tpf_assert_valid(p);
    tpf_prove_at(2, 4, &p->reg); /* the same registration tx, after the grants */
    tpf_assert_invalid(p);
    free(p);
}

static void a_grant_proven_after_the_use_is_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_silent_parts();
    tpf_prove_at(4, 2, &p->grant); /* the same grant tx, after the use */
    tpf_assert_invalid(p);
    free(p);
}

static void a_use_naming_another_grant_of_the_same_seal_and_user_is_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_parts_new(tpf_w->reg, tpf_w->grant_silent2, tpf_w->use1, NULL, 0);
    tpf_assert_invalid(p);
    free(p);
}

static void a_grant_of_another_seal_is_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_parts_new(tpf_w->reg, tpf_w->grant_s2, tpf_w->use_x, NULL, 0);
    tpf_assert_invalid(p);
    free(p);
}

static void a_use_naming_another_seal_is_invalid(void **state)
{
    (void)state;
    struct parts *p = tpf_parts_new(tpf_w->reg, tpf_w->grant_silent, tpf_w->use_y, NULL, 0);
    tpf_assert_invalid(p);
    free(p);
}

static void two_approvals_by_the_same_approver_are_invalid(void **state)
{
    (void)state;
    uint8_t a[2][32];
    memcpy(a[0], tpf_w->apv[0], 32);
    memcpy(a[1], tpf_w->apv0_again, 32);
    struct parts *p =
        tpf_parts_new(tpf_w->reg, tpf_w->grant_m, tpf_w->use2, (const uint8_t(*)[32])a, 2);
    tpf_assert_invalid(p);
    free(p);
}

static void a_header_naming_another_chain_is_invalid_even_with_a_valid_certificate(void **state)
{
    (void)state;
    struct parts *p = tpf_silent_parts();
    /* Re-encode the use's header with another chain field, and certify it
     * with this chain's validators. */
    ProtobufCMessage *m;
    assert_int_equal(ledger_decode_strict(&sealchain__block_header__descriptor, p->use.header,
                                          p->use.pt.header.len, 512, &m),
                     0);
    Sealchain__BlockHeader *h = (Sealchain__BlockHeader *)m;
    h->chain.data[0] ^= 1;
    uint8_t *hdr, hash[32], *cert;
    size_t hlen, clen;
    assert_int_equal(ledger_encode(m, &hdr, &hlen), 0);
    ledger_sha256(hdr, hlen, hash);
    tev_cert_quorum(&tpf_w->c, h->height, 0, hash, &cert, &clen);
    memcpy(p->use.header, hdr, hlen);
    p->use.pt.header.len = hlen;
    memcpy(p->use.cert, cert, clen);
    p->use.pt.cert.len = clen;
    tpf_assert_invalid(p);
    /* The control: the same re-certification with the chain field intact. */
    h->chain.data[0] ^= 1;
    free(hdr);
    free(cert);
    assert_int_equal(ledger_encode(m, &hdr, &hlen), 0);
    ledger_sha256(hdr, hlen, hash);
    tev_cert_quorum(&tpf_w->c, h->height, 0, hash, &cert, &clen);
    memcpy(p->use.header, hdr, hlen);
    memcpy(p->use.cert, cert, clen);
    p->use.pt.cert.len = clen;
    tpf_assert_valid(p);
    free(hdr);
    free(cert);
    protobuf_c_message_free_unpacked(m, NULL);
    free(p);
}

static void proofs_from_two_different_certified_blocks_at_one_height_are_invalid(void **state)
{
    (void)state;
    /* A conflicting block 5' (a fork: certified by the same validators)
     * holding [approval of use1, approval 0 of use2]. Approval 2 comes from
     * the real block 5 at index 0, approval 0 from 5' at index 1: each proven
     * tx checks out alone, distinct approvers, "in order" — only the two
     * headers at height 5 betray the fork. */
    struct hblock *fork = &tpf_w->blk[MAXB];
    assert_true(tpf_w->nb < MAXB);
    for (int i = 0; i < 2; i++) {
        const struct hblock *from = &tpf_w->blk[4];
        size_t k = i == 0 ? 1 : 0; /* block 4: [apv0, apv_other, grant copy] */
        fork->tx[i] = malloc(from->len[k]);
        memcpy(fork->tx[i], from->tx[k], from->len[k]);
        fork->len[i] = from->len[k];
    }
    fork->n = 2;
    tev_block_build(&tpf_w->c, 5, 1, tpf_w->blk[4].b.hash, tpf_w->c.g.time_ms + 5500,
                    (const uint8_t *const *)fork->tx, fork->len, 2, &fork->b);
    uint8_t a[2][32];
    memcpy(a[0], tpf_w->apv[2], 32);
    memcpy(a[1], tpf_w->apv[0], 32);
    struct parts *p =
        tpf_parts_new(tpf_w->reg, tpf_w->grant_m, tpf_w->use2, (const uint8_t(*)[32])a, 2);
    tpf_prove_at(MAXB, 1, &p->apv[1]);
    tpf_assert_invalid(p);
    /* The control: approval 0 from the real block 4 makes it valid. */
    tpf_prove_at(4, 0, &p->apv[1]);
    p->apv_ptrs[0] = &p->apv[1].pt;
    p->apv_ptrs[1] = &p->apv[0].pt;
    tpf_assert_valid(p);
    free(p);
    for (int i = 0; i < 2; i++)
        free(fork->tx[i]);
    tev_block_free(&fork->b);
    memset(fork, 0, sizeof *fork);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_recertified_block_with_a_valid_certificate_still_verifies),
        cmocka_unit_test(a_certificate_with_a_duplicate_signer_is_invalid),
        cmocka_unit_test(a_certificate_with_too_few_signers_is_invalid),
        cmocka_unit_test(a_certificate_signed_by_a_key_not_in_genesis_is_invalid),
        cmocka_unit_test(a_bundle_checked_against_another_chains_genesis_is_invalid),
        cmocka_unit_test(a_use_before_the_seal_registration_or_the_grant_is_invalid),
        cmocka_unit_test(a_use_with_a_bad_seal_signature_or_by_another_user_is_invalid),
        cmocka_unit_test(a_transaction_with_a_forged_signer_signature_is_invalid),
        cmocka_unit_test(an_approval_re_signed_by_another_approver_is_invalid),
        cmocka_unit_test(a_header_naming_another_proposer_than_its_views_primary_is_invalid),
        cmocka_unit_test(a_certificate_of_a_lower_view_than_its_header_is_invalid),
        cmocka_unit_test(a_registration_proven_after_the_grant_is_invalid),
        cmocka_unit_test(a_grant_proven_after_the_use_is_invalid),
        cmocka_unit_test(a_use_naming_another_grant_of_the_same_seal_and_user_is_invalid),
        cmocka_unit_test(a_grant_of_another_seal_is_invalid),
        cmocka_unit_test(a_use_naming_another_seal_is_invalid),
        cmocka_unit_test(two_approvals_by_the_same_approver_are_invalid),
        cmocka_unit_test(a_header_naming_another_chain_is_invalid_even_with_a_valid_certificate),
        cmocka_unit_test(proofs_from_two_different_certified_blocks_at_one_height_are_invalid),
    };
    return cmocka_run_group_tests(tests, tpf_setup_world, tpf_teardown_world);
}
