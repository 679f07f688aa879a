/* Proof bundles: a valid bundle verifies offline; every tampering, bad certificate or other chain
 * fails. */
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

/* ---- a hand-built chain ------------------------------------------------------
 * Blocks are assembled here (headers, tx roots, real Ed25519 certificates of
 * q validators) without executing the rules: the bundle checks are about
 * what certified blocks prove, not about how the rules admitted the txs. */

#define MAXB  10
#define MAXT  6
#define UNTIL 4102444800000ull /* 2100-01-01 */

struct hblock {
    uint8_t *tx[MAXT];
    size_t len[MAXT];
    size_t n;
    struct tev_block b;
};

struct keys {
    uint8_t pk[LEDGER_KEY_LEN], sk[LEDGER_SECRET_LEN];
};

struct world {
    struct tev_chain c;
    struct hblock blk[MAXB + 1]; /* 1..nb */
    size_t nb;
    struct keys admin, seal, seal2, user, user2, apr[3], outsider;
    uint8_t doc[LEDGER_HASH_LEN];
    /* tx ids */
    uint8_t reg[32], reg2[32], grant_silent[32], grant_m[32], use1[32], use2[32];
    uint8_t apv[3][32], apv_other[32], apv_outsider[32];
    /* Odd txs the rules would refuse, for isolating each bundle check. */
    uint8_t grant_silent2[32]; /* a second silent grant to user (block 2) */
    uint8_t grant_s2[32];      /* a grant of seal2 to user (block 2) */
    uint8_t use_x[32];         /* use of seal naming grant_s2 (block 3) */
    uint8_t use_y[32];         /* use naming seal2 in its body, seal-signed for seal (block 3) */
    uint8_t apv0_again[32];    /* apr0 approves use2 a second time (block 5) */
};

static struct world *W;

static void add_block(struct world *w, uint8_t **txs, size_t *lens, size_t n)
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

static void id_of(const uint8_t *tx, size_t len, uint8_t id[32])
{
    assert_int_equal(ledger_tx_id(tx, len, id), 0);
}

/* A use by user (uk) of seal (sk) under grant, with its seal signature. */
static void make_use(struct world *w, const struct keys *user, const struct keys *seal,
                     const uint8_t seal_id[32], const uint8_t grant[32], uint8_t **tx, size_t *len)
{
    assert_int_equal(ledger_txb_use(&w->c.g, user->sk, UNTIL, seal->sk, seal_id, grant, w->doc,
                                    NULL, NULL, tx, len),
                     0);
}

/* A use by user whose body names seal `named` while its seal signature is the
 * genuine one of seal (over w->reg): only the "use names the seal" check can
 * catch it. */
static void make_use_naming(struct world *w, const uint8_t named[32], uint8_t **tx, size_t *len)
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

static void keys_of(const char *tag, struct keys *k)
{
    tev_keypair(tag, 0, k->pk, k->sk);
}

static int setup_world(void **state)
{
    (void)state;
    struct world *w = calloc(1, sizeof *w);
    W = w;
    tev_chain_init(&w->c, 4, "proof-chain");
    keys_of("admin", &w->admin);
    keys_of("seal", &w->seal);
    keys_of("seal2", &w->seal2);
    keys_of("user", &w->user);
    keys_of("user2", &w->user2);
    keys_of("apr0", &w->apr[0]);
    keys_of("apr1", &w->apr[1]);
    keys_of("apr2", &w->apr[2]);
    keys_of("outsider", &w->outsider);
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
    id_of(t[1], l[1], w->reg);
    id_of(t[2], l[2], w->reg2);
    add_block(w, t, l, 3);

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
    id_of(t[0], l[0], w->grant_silent);
    id_of(t[1], l[1], w->grant_m);
    id_of(t[2], l[2], w->grant_silent2);
    id_of(t[3], l[3], w->grant_s2);
    /* A copy of the seal's registration, after the grants (index 4). */
    t[4] = malloc(w->blk[1].len[1]);
    memcpy(t[4], w->blk[1].tx[1], w->blk[1].len[1]);
    l[4] = w->blk[1].len[1];
    add_block(w, t, l, 5);

    /* Block 3: the two uses, and an approval by an outsider of use2. */
    make_use(w, &w->user, &w->seal, w->reg, w->grant_silent, &t[0], &l[0]);
    make_use(w, &w->user2, &w->seal, w->reg, w->grant_m, &t[1], &l[1]);
    id_of(t[0], l[0], w->use1);
    id_of(t[1], l[1], w->use2);
    assert_int_equal(ledger_txb_approve(&w->c.g, w->outsider.sk, UNTIL, w->use2, &t[2], &l[2]), 0);
    id_of(t[2], l[2], w->apv_outsider);
    make_use(w, &w->user, &w->seal, w->reg, w->grant_s2, &t[3], &l[3]);
    id_of(t[3], l[3], w->use_x);
    make_use_naming(w, w->reg2, &t[4], &l[4]);
    id_of(t[4], l[4], w->use_y);
    add_block(w, t, l, 5);

    /* Block 4: approval 0 of use2, approval 1 of use1 (another use). */
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[0].sk, UNTIL, w->use2, &t[0], &l[0]), 0);
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[1].sk, UNTIL, w->use1, &t[1], &l[1]), 0);
    id_of(t[0], l[0], w->apv[0]);
    id_of(t[1], l[1], w->apv_other);
    /* A copy of the silent grant, after the use (index 2). */
    t[2] = malloc(w->blk[2].len[0]);
    memcpy(t[2], w->blk[2].tx[0], w->blk[2].len[0]);
    l[2] = w->blk[2].len[0];
    add_block(w, t, l, 3);

    /* Block 5: approval 2 of use2 (reaches 2 of 3), then approval 1 of use2. */
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[2].sk, UNTIL, w->use2, &t[0], &l[0]), 0);
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[1].sk, UNTIL, w->use2, &t[1], &l[1]), 0);
    id_of(t[0], l[0], w->apv[2]);
    id_of(t[1], l[1], w->apv[1]);
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[0].sk, UNTIL, w->use2, &t[2], &l[2]), 0);
    id_of(t[2], l[2], w->apv0_again);
    add_block(w, t, l, 3);
    return 0;
}

static int teardown_world(void **state)
{
    (void)state;
    for (size_t h = 1; h <= W->nb; h++) {
        for (size_t i = 0; i < W->blk[h].n; i++)
            free(W->blk[h].tx[i]);
        tev_block_free(&W->blk[h].b);
    }
    free(W);
    return 0;
}

/* ---- bundles from the hand-built chain ------------------------------------ */

struct pbuf {
    Sealchain__ProvenTx pt;
    uint8_t path[LEDGER_MERKLE_MAX_DEPTH + 1][LEDGER_HASH_LEN];
    ProtobufCBinaryData pv[LEDGER_MERKLE_MAX_DEPTH + 1];
    uint8_t tx[LEDGER_MAX_TX_LEN], header[512], cert[8192];
};

struct parts {
    struct pbuf reg, grant, use, apv[LEDGER_PROOF_MAX_APPROVALS + 2];
    Sealchain__ProvenTx *apv_ptrs[LEDGER_PROOF_MAX_APPROVALS + 2];
    size_t n_apv;
    Sealchain__ProofBundle b;
};

/* Fills p with the proof of tx id (copies everything, so tests may mutate). */
static void prove(const uint8_t id[32], struct pbuf *p)
{
    for (size_t h = 1; h <= W->nb; h++) {
        struct hblock *hb = &W->blk[h];
        uint8_t ids[MAXT][LEDGER_HASH_LEN], leaves[MAXT][LEDGER_HASH_LEN];
        for (size_t i = 0; i < hb->n; i++) {
            id_of(hb->tx[i], hb->len[i], ids[i]);
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
static void prove_at(size_t height, size_t index, struct pbuf *p)
{
    struct hblock *hb = &W->blk[height];
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

static struct parts *parts_new(const uint8_t reg[32], const uint8_t grant[32],
                               const uint8_t use[32], const uint8_t (*apv)[32], size_t n_apv)
{
    struct parts *p = calloc(1, sizeof *p);
    prove(reg, &p->reg);
    prove(grant, &p->grant);
    prove(use, &p->use);
    for (size_t i = 0; i < n_apv; i++) {
        prove(apv[i], &p->apv[i]);
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

static struct parts *silent_parts(void)
{
    return parts_new(W->reg, W->grant_silent, W->use1, NULL, 0);
}

static struct parts *approval_parts(void)
{
    /* The approvals that made use2 effective, in chain order: apr0, then apr2. */
    const uint8_t(*a)[32] = (const uint8_t(*)[32])W->apv;
    uint8_t two[2][32];
    memcpy(two[0], a[0], 32);
    memcpy(two[1], a[2], 32);
    return parts_new(W->reg, W->grant_m, W->use2, (const uint8_t(*)[32])two, 2);
}

static int verify_parts(struct parts *p, struct ledger_proof_result *res)
{
    uint8_t *buf;
    size_t len;
    p->b.n_approvals = p->n_apv;
    assert_int_equal(ledger_encode(&p->b.base, &buf, &len), 0);
    int rc = ledger_proof_verify(&W->c.g, buf, len, res);
    free(buf);
    return rc;
}

/* Asserts invalid with a reason. */
static void assert_invalid(struct parts *p)
{
    struct ledger_proof_result res;
    int rc = verify_parts(p, &res);
    assert_int_equal(rc, LEDGER_E_BAD_PROOF);
    assert_false(res.valid);
    assert_true(res.n_reasons > 0 && res.reasons[0][0] != '\0');
}

static void assert_valid(struct parts *p)
{
    struct ledger_proof_result res;
    int rc = verify_parts(p, &res);
    if (rc != 0)
        fail_msg("expected valid: %s", res.n_reasons ? res.reasons[0] : "?");
    assert_true(res.valid);
    assert_int_equal(res.n_reasons, 0);
}

/* ---- valid bundles ----------------------------------------------------------- */

static void a_bundle_of_a_silent_use_verifies_and_reports_seal_org_doc_and_heights(void **state)
{
    (void)state;
    struct parts *p = silent_parts();
    struct ledger_proof_result res;
    assert_int_equal(verify_parts(p, &res), 0);
    assert_true(res.valid);
    assert_memory_equal(res.seal_id, W->reg, 32);
    assert_string_equal(res.org, "91350100M000100Y43");
    assert_memory_equal(res.doc_hash, W->doc, 32);
    assert_memory_equal(res.usage, W->use1, 32);
    assert_int_equal(res.height, 3);
    assert_int_equal(res.time_ms, W->c.g.time_ms + 3000);
    assert_int_equal(res.effective_height, 3);
    free(p);
}

static void
a_bundle_of_a_2_of_3_approved_use_verifies_effective_at_the_second_approval(void **state)
{
    (void)state;
    struct parts *p = approval_parts();
    struct ledger_proof_result res;
    assert_int_equal(verify_parts(p, &res), 0);
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
    assert_int_equal(ledger_proof_verify(&W->c.g, buf, len, &res), 0);
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x01;
        int rc = ledger_proof_verify(&W->c.g, buf, len, &res);
        if (rc != LEDGER_E_BAD_PROOF || res.valid)
            fail_msg("%s: flipping byte %zu of %zu left the bundle valid", name, i, len);
        buf[i] ^= 0x01;
    }
    free(buf);
}

static void flipping_any_byte_of_a_silent_bundle_makes_it_invalid(void **state)
{
    (void)state;
    struct parts *p = silent_parts();
    flip_every_byte_of("silent", p);
    free(p);
}

static struct pbuf *part_at(struct parts *p, int k)
{
    return k == 0 ? &p->reg : k == 1 ? &p->grant : k == 2 ? &p->use : &p->apv[k - 3];
}

/* Applies mutate to each proven tx of an approval bundle (each position of
 * each field) and expects every result invalid. */
static void each_field(void (*mutate)(struct pbuf *, size_t), size_t (*count)(struct pbuf *))
{
    for (int k = 0; k < 5; k++) {
        struct parts *base = approval_parts();
        size_t n = count(part_at(base, k));
        free(base);
        for (size_t j = 0; j < n; j++) {
            struct parts *p = approval_parts();
            mutate(part_at(p, k), j);
            assert_invalid(p);
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
            struct parts *p = approval_parts();
            struct pbuf *b = part_at(p, k);
            if (deltas[d] < 0 && b->pt.index == 0) {
                free(p);
                continue;
            }
            b->pt.index = (uint32_t)((int64_t)b->pt.index + deltas[d]);
            assert_invalid(p);
            free(p);
        }
    }
}

static void a_truncated_or_extended_path_is_invalid(void **state)
{
    (void)state;
    for (int k = 0; k < 5; k++) {
        struct parts *p = approval_parts();
        struct pbuf *b = part_at(p, k);
        b->pt.n_path++;
        b->pv[b->pt.n_path - 1] = (ProtobufCBinaryData){ 32, b->path[0] };
        assert_invalid(p);
        free(p);
        p = approval_parts();
        b = part_at(p, k);
        if (b->pt.n_path > 0) {
            b->pt.n_path--;
            assert_invalid(p);
        }
        free(p);
    }
}

static void a_dropped_approval_is_invalid(void **state)
{
    (void)state;
    for (size_t drop = 0; drop < 2; drop++) {
        struct parts *p = approval_parts();
        if (drop == 0)
            p->apv_ptrs[0] = p->apv_ptrs[1];
        p->n_apv = 1;
        assert_invalid(p);
        free(p);
    }
}

static void a_duplicated_approval_is_invalid(void **state)
{
    (void)state;
    struct parts *p = approval_parts();
    p->apv_ptrs[2] = p->apv_ptrs[1];
    p->n_apv = 3;
    assert_invalid(p);
    free(p);
    /* The same approval twice in place of two distinct ones. */
    p = approval_parts();
    p->apv_ptrs[1] = p->apv_ptrs[0];
    assert_invalid(p);
    free(p);
}

static void approvals_out_of_chain_order_are_invalid(void **state)
{
    (void)state;
    struct parts *p = approval_parts();
    Sealchain__ProvenTx *t = p->apv_ptrs[0];
    p->apv_ptrs[0] = p->apv_ptrs[1];
    p->apv_ptrs[1] = t;
    assert_invalid(p);
    free(p);
}

static void an_approval_by_a_non_approver_or_of_another_use_is_invalid(void **state)
{
    (void)state;
    uint8_t a[2][32];
    memcpy(a[0], W->apv_outsider, 32);
    memcpy(a[1], W->apv[2], 32);
    struct parts *p = parts_new(W->reg, W->grant_m, W->use2, (const uint8_t(*)[32])a, 2);
    assert_invalid(p);
    free(p);
    memcpy(a[0], W->apv[0], 32);
    memcpy(a[1], W->apv_other, 32);
    p = parts_new(W->reg, W->grant_m, W->use2, (const uint8_t(*)[32])a, 2);
    assert_invalid(p);
    free(p);
}

static void more_approvals_than_the_threshold_are_invalid(void **state)
{
    (void)state;
    uint8_t a[3][32];
    memcpy(a[0], W->apv[0], 32);
    memcpy(a[1], W->apv[2], 32);
    memcpy(a[2], W->apv[1], 32);
    struct parts *p = parts_new(W->reg, W->grant_m, W->use2, (const uint8_t(*)[32])a, 3);
    assert_invalid(p);
    free(p);
}

static void a_silent_grant_with_approvals_is_invalid(void **state)
{
    (void)state;
    struct parts *p =
        parts_new(W->reg, W->grant_silent, W->use1, (const uint8_t(*)[32])W->apv_other, 1);
    assert_invalid(p);
    free(p);
}

static void a_bundle_with_another_grant_or_seal_is_invalid(void **state)
{
    (void)state;
    struct parts *p = parts_new(W->reg, W->grant_m, W->use1, NULL, 0);
    assert_invalid(p);
    free(p);
    p = parts_new(W->reg2, W->grant_silent, W->use1, NULL, 0);
    assert_invalid(p);
    free(p);
    /* Proven txs in the wrong slots. */
    p = parts_new(W->grant_silent, W->reg, W->use1, NULL, 0);
    assert_invalid(p);
    free(p);
    p = parts_new(W->reg, W->grant_silent, W->apv_other, NULL, 0);
    assert_invalid(p);
    free(p);
}

static void a_missing_part_or_a_wrong_version_is_invalid(void **state)
{
    (void)state;
    for (int k = 0; k < 4; k++) {
        struct parts *p = silent_parts();
        if (k == 0)
            p->b.seal_register = NULL;
        else if (k == 1)
            p->b.grant = NULL;
        else if (k == 2)
            p->b.use = NULL;
        else
            p->b.version = 2;
        assert_invalid(p);
        free(p);
    }
}

static void too_many_approvals_are_refused(void **state)
{
    (void)state;
    struct parts *p = approval_parts();
    for (size_t i = 2; i < LEDGER_PROOF_MAX_APPROVALS + 1; i++)
        p->apv_ptrs[i] = p->apv_ptrs[i % 2];
    p->n_apv = LEDGER_PROOF_MAX_APPROVALS + 1;
    assert_invalid(p);
    free(p);
}

static void a_trailing_byte_or_an_unknown_field_is_invalid(void **state)
{
    (void)state;
    struct parts *p = silent_parts();
    uint8_t *buf;
    size_t len;
    assert_int_equal(ledger_encode(&p->b.base, &buf, &len), 0);
    uint8_t *longer = malloc(len + 2);
    memcpy(longer, buf, len);
    struct ledger_proof_result res;
    longer[len] = 0x00;
    assert_int_equal(ledger_proof_verify(&W->c.g, longer, len + 1, &res), LEDGER_E_BAD_PROOF);
    longer[len] = 0x30; /* field 6, varint: unknown */
    longer[len + 1] = 0x01;
    assert_int_equal(ledger_proof_verify(&W->c.g, longer, len + 2, &res), LEDGER_E_BAD_PROOF);
    assert_false(res.valid);
    free(longer);
    free(buf);
    /* An unknown field inside a proven tx: append field 9 to the use's. */
    ProtobufCMessageUnknownField uf = { 9, PROTOBUF_C_WIRE_TYPE_VARINT, 1, (uint8_t *)"\x01" };
    p->use.pt.base.n_unknown_fields = 1;
    p->use.pt.base.unknown_fields = &uf;
    assert_invalid(p);
    free(p);
}

static void a_bundle_over_the_size_cap_is_refused_before_decoding(void **state)
{
    (void)state;
    size_t len = LEDGER_PROOF_MAX_LEN + 1;
    uint8_t *big = calloc(1, len);
    struct ledger_proof_result res;
    assert_int_equal(ledger_proof_verify(&W->c.g, big, len, &res), LEDGER_E_BAD_PROOF);
    assert_false(res.valid);
    free(big);
}

/* ---- certificates ---------------------------------------------------------------- */

/* Replaces the certificate of part k with one for the same block signed by signers. */
static void recert(struct parts *p, int k, const struct tev_chain *c, const uint32_t *signers,
                   size_t n)
{
    struct pbuf *b = part_at(p, k);
    uint8_t hash[32], *cert;
    size_t len;
    ledger_sha256(b->header, b->pt.header.len, hash);
    /* Height is the header's: blocks are numbered from 1 in order. */
    uint64_t height = 0;
    for (size_t h = 1; h <= W->nb; h++)
        if (memcmp(W->blk[h].b.hash, hash, 32) == 0)
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
    struct pbuf *b = part_at(p, k);
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
    tev_cert_quorum(&W->c, h->height, cert_view, hash, &cert, &len);
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
        struct parts *p = silent_parts();
        rehead(p, k, 5, 1, 5); /* the control: view 5's primary is 1 of 4 */
        assert_valid(p);
        rehead(p, k, 5, 2, 5);
        assert_invalid(p);
        free(p);
    }
}

/* A block is committed in the view it was proposed in or, re-proposed, in a
 * later one: never in an earlier one. */
static void a_certificate_of_a_lower_view_than_its_header_is_invalid(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        struct parts *p = silent_parts();
        rehead(p, k, 5, 1, 7); /* the control: committed after a view change */
        assert_valid(p);
        rehead(p, k, 5, 1, 4);
        assert_invalid(p);
        free(p);
    }
}

static void a_recertified_block_with_a_valid_certificate_still_verifies(void **state)
{
    (void)state;
    /* The control for the three tests below: other signers, still q. */
    struct parts *p = approval_parts();
    const uint32_t s[] = { 1, 2, 3 };
    recert(p, 2, &W->c, s, 3);
    assert_valid(p);
    free(p);
}

static void a_certificate_with_a_duplicate_signer_is_invalid(void **state)
{
    (void)state;
    const uint32_t s[] = { 0, 1, 1 };
    for (int k = 0; k < 5; k++) {
        struct parts *p = approval_parts();
        recert(p, k, &W->c, s, 3);
        assert_invalid(p);
        free(p);
    }
}

static void a_certificate_with_too_few_signers_is_invalid(void **state)
{
    (void)state;
    const uint32_t s[] = { 0, 3 };
    for (int k = 0; k < 5; k++) {
        struct parts *p = approval_parts();
        recert(p, k, &W->c, s, 2);
        assert_invalid(p);
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
    memcpy(rogue->g.hash, W->c.g.hash, 32);
    const uint32_t s[] = { 0, 1, 2 };
    for (int k = 0; k < 5; k++) {
        struct parts *p = approval_parts();
        recert(p, k, rogue, s, 3);
        assert_invalid(p);
        free(p);
    }
    free(rogue);
}

static void a_bundle_checked_against_another_chains_genesis_is_invalid(void **state)
{
    (void)state;
    struct parts *p = approval_parts();
    uint8_t *buf;
    size_t len;
    p->b.n_approvals = p->n_apv;
    assert_int_equal(ledger_encode(&p->b.base, &buf, &len), 0);
    /* Same validators, another chain id: only the genesis hash differs. */
    struct ledger_genesis other = W->c.g;
    strcpy(other.chain_id, "proof-chain-b");
    char err[128];
    assert_int_equal(ledger_genesis_finish(&other, err, sizeof err), 0);
    struct ledger_proof_result res;
    assert_int_equal(ledger_proof_verify(&W->c.g, buf, len, &res), 0);
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
    struct world *w = W;
    size_t saved = w->nb;
    uint8_t *t[2];
    size_t l[2];
    t[0] = malloc(w->blk[1].len[1]);
    memcpy(t[0], w->blk[1].tx[1], w->blk[1].len[1]);
    l[0] = w->blk[1].len[1];
    t[1] = malloc(w->blk[2].len[0]);
    memcpy(t[1], w->blk[2].tx[0], w->blk[2].len[0]);
    l[1] = w->blk[2].len[0];
    add_block(w, t, l, 2);
    /* prove() finds the first occurrence; prove from block 6 by hand. */
    struct parts *p = silent_parts();
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
    assert_invalid(p);
    /* Only the registration late: still invalid. */
    free(p);
    p = silent_parts();
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
    assert_invalid(p);
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
    struct world *w = W;
    size_t saved = w->nb;
    uint8_t *t[2];
    size_t l[2];
    uint8_t bad_seal[32], other_user[32];
    /* Signed by the second seal's key: the seal signature fails. */
    make_use(w, &w->user, &w->seal2, w->reg, w->grant_silent, &t[0], &l[0]);
    /* Signed by user2 under user's silent grant: not the grant's user. */
    make_use(w, &w->user2, &w->seal, w->reg, w->grant_silent, &t[1], &l[1]);
    id_of(t[0], l[0], bad_seal);
    id_of(t[1], l[1], other_user);
    add_block(w, t, l, 2);
    struct parts *p = parts_new(w->reg, w->grant_silent, bad_seal, NULL, 0);
    assert_invalid(p);
    free(p);
    p = parts_new(w->reg, w->grant_silent, other_user, NULL, 0);
    assert_invalid(p);
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
    struct world *w = W;
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
    add_block(w, t, l, 1);
    struct parts *p = silent_parts();
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
    assert_invalid(p);
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
    struct world *w = W;
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
    add_block(w, t, l, 1);
    uint8_t a[2][32];
    memcpy(a[0], w->apv[2], 32);
    memcpy(a[1], w->apv[0], 32);
    struct parts *p = parts_new(w->reg, w->grant_m, w->use2, (const uint8_t(*)[32])a, 2);
    prove_at(w->nb, 0, &p->apv[1]); /* the re-signed copy, not the original */
    struct ledger_proof_result res;
    assert_int_equal(verify_parts(p, &res), LEDGER_E_BAD_PROOF);
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
    struct parts *p = silent_parts();
    assert_valid(p);
    prove_at(2, 4, &p->reg); /* the same registration tx, after the grants */
    assert_invalid(p);
    free(p);
}

static void a_grant_proven_after_the_use_is_invalid(void **state)
{
    (void)state;
    struct parts *p = silent_parts();
    prove_at(4, 2, &p->grant); /* the same grant tx, after the use */
    assert_invalid(p);
    free(p);
}

static void a_use_naming_another_grant_of_the_same_seal_and_user_is_invalid(void **state)
{
    (void)state;
    struct parts *p = parts_new(W->reg, W->grant_silent2, W->use1, NULL, 0);
    assert_invalid(p);
    free(p);
}

static void a_grant_of_another_seal_is_invalid(void **state)
{
    (void)state;
    struct parts *p = parts_new(W->reg, W->grant_s2, W->use_x, NULL, 0);
    assert_invalid(p);
    free(p);
}

static void a_use_naming_another_seal_is_invalid(void **state)
{
    (void)state;
    struct parts *p = parts_new(W->reg, W->grant_silent, W->use_y, NULL, 0);
    assert_invalid(p);
    free(p);
}

static void two_approvals_by_the_same_approver_are_invalid(void **state)
{
    (void)state;
    uint8_t a[2][32];
    memcpy(a[0], W->apv[0], 32);
    memcpy(a[1], W->apv0_again, 32);
    struct parts *p = parts_new(W->reg, W->grant_m, W->use2, (const uint8_t(*)[32])a, 2);
    assert_invalid(p);
    free(p);
}

static void a_header_naming_another_chain_is_invalid_even_with_a_valid_certificate(void **state)
{
    (void)state;
    struct parts *p = silent_parts();
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
    tev_cert_quorum(&W->c, h->height, 0, hash, &cert, &clen);
    memcpy(p->use.header, hdr, hlen);
    p->use.pt.header.len = hlen;
    memcpy(p->use.cert, cert, clen);
    p->use.pt.cert.len = clen;
    assert_invalid(p);
    /* The control: the same re-certification with the chain field intact. */
    h->chain.data[0] ^= 1;
    free(hdr);
    free(cert);
    assert_int_equal(ledger_encode(m, &hdr, &hlen), 0);
    ledger_sha256(hdr, hlen, hash);
    tev_cert_quorum(&W->c, h->height, 0, hash, &cert, &clen);
    memcpy(p->use.header, hdr, hlen);
    memcpy(p->use.cert, cert, clen);
    p->use.pt.cert.len = clen;
    assert_valid(p);
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
    struct hblock *fork = &W->blk[MAXB];
    assert_true(W->nb < MAXB);
    for (int i = 0; i < 2; i++) {
        const struct hblock *from = i == 0 ? &W->blk[4] : &W->blk[4];
        size_t k = i == 0 ? 1 : 0; /* block 4: [apv0, apv_other, grant copy] */
        fork->tx[i] = malloc(from->len[k]);
        memcpy(fork->tx[i], from->tx[k], from->len[k]);
        fork->len[i] = from->len[k];
    }
    fork->n = 2;
    tev_block_build(&W->c, 5, 1, W->blk[4].b.hash, W->c.g.time_ms + 5500,
                    (const uint8_t *const *)fork->tx, fork->len, 2, &fork->b);
    uint8_t a[2][32];
    memcpy(a[0], W->apv[2], 32);
    memcpy(a[1], W->apv[0], 32);
    struct parts *p = parts_new(W->reg, W->grant_m, W->use2, (const uint8_t(*)[32])a, 2);
    prove_at(MAXB, 1, &p->apv[1]);
    assert_invalid(p);
    /* The control: approval 0 from the real block 4 makes it valid. */
    prove_at(4, 0, &p->apv[1]);
    p->apv_ptrs[0] = &p->apv[1].pt;
    p->apv_ptrs[1] = &p->apv[0].pt;
    assert_valid(p);
    free(p);
    for (int i = 0; i < 2; i++)
        free(fork->tx[i]);
    tev_block_free(&fork->b);
    memset(fork, 0, sizeof *fork);
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
    return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
