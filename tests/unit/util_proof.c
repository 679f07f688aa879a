/* The hand-built chain and the bundle helpers shared by the proof bundle tests. */
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

struct world *tpf_w;

void tpf_add_block(struct world *w, uint8_t **txs, size_t *lens, size_t n)
{
    struct hblock *hb = &w->blk[++w->nb];
    assert_true(w->nb <= MAXB && n <= MAXT);
    for (size_t i = 0; i < n; i++) {
        hb->tx[i] = txs[i];
        hb->len[i] = lens[i];
    }
    hb->n = n;
    uint8_t zero[LEDGER_HASH_LEN] = { 0 };
    const uint8_t *prev = w->nb == 1 ? zero : w->blk[w->nb - 1].b.hash;
    tev_block_build(&w->c, w->nb, 0, prev, w->c.g.time_ms + 1000 * w->nb,
                    (const uint8_t *const *)hb->tx, hb->len, n, &hb->b);
}

void tpf_id_of(const uint8_t *tx, size_t len, uint8_t id[32])
{
    assert_int_equal(ledger_tx_id(tx, len, id), 0);
}

/* A use by user (uk) of seal (sk) under grant, with its seal signature. */
void tpf_make_use(struct world *w, const struct keys *user, const struct keys *seal,
                  const uint8_t seal_id[32], const uint8_t grant[32], uint8_t **tx, size_t *len)
{
    assert_int_equal(ledger_txb_use(&w->c.g, user->sk, UNTIL, seal->sk, seal_id, grant, w->doc,
                                    NULL, NULL, tx, len),
                     0);
}

/* A use by user whose body names seal `named` while its seal signature is the
 * genuine one of seal (over w->reg): only the "use names the seal" check can
 * catch it. */
void tpf_make_use_naming(struct world *w, const uint8_t named[32], uint8_t **tx, size_t *len)
{
    uint8_t nonce[LEDGER_NONCE_LEN], payload[LEDGER_SEAL_PAYLOAD_LEN], sig[LEDGER_SIG_LEN];
    memset(nonce, 0x3c, sizeof nonce);
    ledger_seal_payload(w->doc, w->reg, w->user.pk, nonce, payload);
    assert_int_equal(
        ledger_sign(LEDGER_TAG_SEAL, w->c.g.hash, payload, sizeof payload, w->seal.sk, sig), 0);
    Sealchain__SealUse su = SEALCHAIN__SEAL_USE__INIT;
    su.seal_id = (ProtobufCBinaryData){ 32, (uint8_t *)named };
    su.grant = (ProtobufCBinaryData){ 32, w->grant_silent };
    su.doc_hash = (ProtobufCBinaryData){ 32, w->doc };
    su.use_nonce = (ProtobufCBinaryData){ LEDGER_NONCE_LEN, nonce };
    su.seal_signature = (ProtobufCBinaryData){ LEDGER_SIG_LEN, sig };
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    uint8_t body_nonce[16];
    memset(body_nonce, 0x4d, sizeof body_nonce);
    body.nonce = (ProtobufCBinaryData){ 16, body_nonce };
    body.valid_until_ms = UNTIL;
    body.op_case = SEALCHAIN__TX_BODY__OP_SEAL_USE;
    body.seal_use = &su;
    assert_int_equal(ledger_txb_sign_body(&w->c.g, w->user.sk, &body, tx, len), 0);
}

void tpf_keys_of(const char *tag, struct keys *k)
{
    tev_keypair(tag, 0, k->pk, k->sk);
}

int tpf_setup_world(void **state)
{
    (void)state;
    struct world *w = calloc(1, sizeof *w);
    tpf_w = w;
    tev_chain_init(&w->c, 4, "proof-chain");
    tpf_keys_of("admin", &w->admin);
    tpf_keys_of("seal", &w->seal);
    tpf_keys_of("seal2", &w->seal2);
    tpf_keys_of("user", &w->user);
    tpf_keys_of("user2", &w->user2);
    tpf_keys_of("apr0", &w->apr[0]);
    tpf_keys_of("apr1", &w->apr[1]);
    tpf_keys_of("apr2", &w->apr[2]);
    tpf_keys_of("outsider", &w->outsider);
    ledger_sha256("contract.pdf", 12, w->doc);
    uint8_t *t[MAXT];
    size_t l[MAXT];

    /* Block 1: a filing, the seal's registration, a second seal's. */
    assert_int_equal(ledger_txb_org_register(&w->c.g, w->c.admin_sk[0], UNTIL, "91350100M000100Y43",
                                             "Org", w->admin.pk, NULL, &t[0], &l[0]),
                     0);
    struct ledger_txb_seal sp = {
        "91350100M000100Y43", 4, "contract seal", w->seal.pk, NULL, NULL, 0, 0
    };
    assert_int_equal(ledger_txb_seal_register(&w->c.g, w->admin.sk, UNTIL, &sp, &t[1], &l[1]), 0);
    sp.seal_key = w->seal2.pk;
    sp.name = "finance seal";
    sp.type = 2;
    assert_int_equal(ledger_txb_seal_register(&w->c.g, w->admin.sk, UNTIL, &sp, &t[2], &l[2]), 0);
    tpf_id_of(t[1], l[1], w->reg);
    tpf_id_of(t[2], l[2], w->reg2);
    tpf_add_block(w, t, l, 3);

    /* Block 2: a silent grant to user, a 2-of-3 grant to user2. */
    struct ledger_txb_grant gp = { w->reg, w->user.pk, 0, 0, NULL, 0, 0, 0 };
    assert_int_equal(ledger_txb_grant(&w->c.g, w->admin.sk, UNTIL, &gp, &t[0], &l[0]), 0);
    uint8_t approvers[3][LEDGER_KEY_LEN];
    for (int i = 0; i < 3; i++)
        memcpy(approvers[i], w->apr[i].pk, LEDGER_KEY_LEN);
    struct ledger_txb_grant gm = { w->reg, w->user2.pk, 0, 0, (const uint8_t(*)[32])approvers,
                                   3,      2,           0 };
    assert_int_equal(ledger_txb_grant(&w->c.g, w->admin.sk, UNTIL, &gm, &t[1], &l[1]), 0);
    assert_int_equal(ledger_txb_grant(&w->c.g, w->admin.sk, UNTIL, &gp, &t[2], &l[2]), 0);
    struct ledger_txb_grant g2 = { w->reg2, w->user.pk, 0, 0, NULL, 0, 0, 0 };
    assert_int_equal(ledger_txb_grant(&w->c.g, w->admin.sk, UNTIL, &g2, &t[3], &l[3]), 0);
    tpf_id_of(t[0], l[0], w->grant_silent);
    tpf_id_of(t[1], l[1], w->grant_m);
    tpf_id_of(t[2], l[2], w->grant_silent2);
    tpf_id_of(t[3], l[3], w->grant_s2);
    /* A copy of the seal's registration, after the grants (index 4). */
    t[4] = malloc(w->blk[1].len[1]);
    memcpy(t[4], w->blk[1].tx[1], w->blk[1].len[1]);
    l[4] = w->blk[1].len[1];
    tpf_add_block(w, t, l, 5);

    /* Block 3: the two uses, and an approval by an outsider of use2. */
    tpf_make_use(w, &w->user, &w->seal, w->reg, w->grant_silent, &t[0], &l[0]);
    tpf_make_use(w, &w->user2, &w->seal, w->reg, w->grant_m, &t[1], &l[1]);
    tpf_id_of(t[0], l[0], w->use1);
    tpf_id_of(t[1], l[1], w->use2);
    assert_int_equal(ledger_txb_approve(&w->c.g, w->outsider.sk, UNTIL, w->use2, &t[2], &l[2]), 0);
    tpf_id_of(t[2], l[2], w->apv_outsider);
    tpf_make_use(w, &w->user, &w->seal, w->reg, w->grant_s2, &t[3], &l[3]);
    tpf_id_of(t[3], l[3], w->use_x);
    tpf_make_use_naming(w, w->reg2, &t[4], &l[4]);
    tpf_id_of(t[4], l[4], w->use_y);
    tpf_add_block(w, t, l, 5);

    /* Block 4: approval 0 of use2, approval 1 of use1 (another use). */
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[0].sk, UNTIL, w->use2, &t[0], &l[0]), 0);
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[1].sk, UNTIL, w->use1, &t[1], &l[1]), 0);
    tpf_id_of(t[0], l[0], w->apv[0]);
    tpf_id_of(t[1], l[1], w->apv_other);
    /* A copy of the silent grant, after the use (index 2). */
    t[2] = malloc(w->blk[2].len[0]);
    memcpy(t[2], w->blk[2].tx[0], w->blk[2].len[0]);
    l[2] = w->blk[2].len[0];
    tpf_add_block(w, t, l, 3);

    /* Block 5: approval 2 of use2 (reaches 2 of 3), then approval 1 of use2. */
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[2].sk, UNTIL, w->use2, &t[0], &l[0]), 0);
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[1].sk, UNTIL, w->use2, &t[1], &l[1]), 0);
    tpf_id_of(t[0], l[0], w->apv[2]);
    tpf_id_of(t[1], l[1], w->apv[1]);
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[0].sk, UNTIL, w->use2, &t[2], &l[2]), 0);
    tpf_id_of(t[2], l[2], w->apv0_again);
    tpf_add_block(w, t, l, 3);
    return 0;
}

int tpf_teardown_world(void **state)
{
    (void)state;
    for (size_t h = 1; h <= tpf_w->nb; h++) {
        for (size_t i = 0; i < tpf_w->blk[h].n; i++)
            free(tpf_w->blk[h].tx[i]);
        tev_block_free(&tpf_w->blk[h].b);
    }
    free(tpf_w);
    return 0;
}

/* Fills p with the proof of tx id (copies everything, so tests may mutate). */
void tpf_prove(const uint8_t id[32], struct pbuf *p)
{
    for (size_t h = 1; h <= tpf_w->nb; h++) {
        struct hblock *hb = &tpf_w->blk[h];
        uint8_t ids[MAXT][LEDGER_HASH_LEN], leaves[MAXT][LEDGER_HASH_LEN];
        for (size_t i = 0; i < hb->n; i++) {
            tpf_id_of(hb->tx[i], hb->len[i], ids[i]);
            ledger_merkle_tx_leaf(hb->tx[i], hb->len[i], leaves[i]);
        }
        for (size_t i = 0; i < hb->n; i++) {
            if (memcmp(ids[i], id, 32) != 0)
                continue;
            sealchain__proven_tx__init(&p->pt);
            size_t n;
            assert_int_equal(
                ledger_merkle_path((const uint8_t(*)[32])leaves, hb->n, i, p->path, &n), 0);
            for (size_t k = 0; k < n; k++)
                p->pv[k] = (ProtobufCBinaryData){ 32, p->path[k] };
            p->pt.n_path = n;
            p->pt.path = p->pv;
            p->pt.index = (uint32_t)i;
            memcpy(p->tx, hb->tx[i], hb->len[i]);
            p->pt.tx = (ProtobufCBinaryData){ hb->len[i], p->tx };
            memcpy(p->header, hb->b.header, hb->b.header_len);
            p->pt.header = (ProtobufCBinaryData){ hb->b.header_len, p->header };
            memcpy(p->cert, hb->b.cert, hb->b.cert_len);
            p->pt.cert = (ProtobufCBinaryData){ hb->b.cert_len, p->cert };
            return;
        }
    }
    fail_msg("tx not in the hand-built chain");
}

/* Replaces the proof in p by the one of the tx at (height, index). */
void tpf_prove_at(size_t height, size_t index, struct pbuf *p)
{
    struct hblock *hb = &tpf_w->blk[height];
    uint8_t leaves[MAXT][LEDGER_HASH_LEN];
    for (size_t i = 0; i < hb->n; i++)
        ledger_merkle_tx_leaf(hb->tx[i], hb->len[i], leaves[i]);
    size_t n;
    assert_int_equal(ledger_merkle_path((const uint8_t(*)[32])leaves, hb->n, index, p->path, &n),
                     0);
    for (size_t k = 0; k < n; k++)
        p->pv[k] = (ProtobufCBinaryData){ 32, p->path[k] };
    p->pt.n_path = n;
    p->pt.index = (uint32_t)index;
    memcpy(p->tx, hb->tx[index], hb->len[index]);
    p->pt.tx.len = hb->len[index];
    memcpy(p->header, hb->b.header, hb->b.header_len);
    p->pt.header.len = hb->b.header_len;
    memcpy(p->cert, hb->b.cert, hb->b.cert_len);
    p->pt.cert.len = hb->b.cert_len;
}

struct parts *tpf_parts_new(const uint8_t reg[32], const uint8_t grant[32], const uint8_t use[32],
                            const uint8_t (*apv)[32], size_t n_apv)
{
    struct parts *p = calloc(1, sizeof *p);
    tpf_prove(reg, &p->reg);
    tpf_prove(grant, &p->grant);
    tpf_prove(use, &p->use);
    for (size_t i = 0; i < n_apv; i++) {
        tpf_prove(apv[i], &p->apv[i]);
        p->apv_ptrs[i] = &p->apv[i].pt;
    }
    p->n_apv = n_apv;
    sealchain__proof_bundle__init(&p->b);
    p->b.version = 1;
    p->b.seal_register = &p->reg.pt;
    p->b.grant = &p->grant.pt;
    p->b.use = &p->use.pt;
    p->b.approvals = p->apv_ptrs;
    p->b.n_approvals = n_apv;
    return p;
}

struct parts *tpf_silent_parts(void)
{
    return tpf_parts_new(tpf_w->reg, tpf_w->grant_silent, tpf_w->use1, NULL, 0);
}

struct parts *tpf_approval_parts(void)
{
    /* The approvals that made use2 effective, in chain order: apr0, then apr2. */
    const uint8_t(*a)[32] = (const uint8_t(*)[32])tpf_w->apv;
    uint8_t two[2][32];
    memcpy(two[0], a[0], 32);
    memcpy(two[1], a[2], 32);
    return tpf_parts_new(tpf_w->reg, tpf_w->grant_m, tpf_w->use2, (const uint8_t(*)[32])two, 2);
}

int tpf_verify_parts(struct parts *p, struct ledger_proof_result *res)
{
    uint8_t *buf;
    size_t len;
    p->b.n_approvals = p->n_apv;
    assert_int_equal(ledger_encode(&p->b.base, &buf, &len), 0);
    int rc = ledger_proof_verify(&tpf_w->c.g, buf, len, res);
    free(buf);
    return rc;
}

/* Asserts invalid with a reason. */
void tpf_assert_invalid(struct parts *p)
{
    struct ledger_proof_result res;
    int rc = tpf_verify_parts(p, &res);
    assert_int_equal(rc, LEDGER_E_BAD_PROOF);
    assert_false(res.valid);
    assert_true(res.n_reasons > 0 && res.reasons[0][0] != '\0');
}

void tpf_assert_valid(struct parts *p)
{
    struct ledger_proof_result res;
    int rc = tpf_verify_parts(p, &res);
    if (rc != 0)
        fail_msg("expected valid: %s", res.n_reasons ? res.reasons[0] : "?");
    assert_true(res.valid);
    assert_int_equal(res.n_reasons, 0);
}

struct pbuf *tpf_part_at(struct parts *p, int k)
{
    return k == 0 ? &p->reg : k == 1 ? &p->grant : k == 2 ? &p->use : &p->apv[k - 3];
}
