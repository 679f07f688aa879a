/* Replay and strict decoding: a tx is its body; ids are refused forever; bodies expire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/exec.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "util_expect.h"
#include "util_fixture.h"

static int setup(void **state)
{
    struct tfx_world *w = calloc(1, sizeof(*w));
    tfx_world_init(w, 4);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    tfx_world_close(*state);
    free(*state);
    return 0;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    assert_non_null(d);
    memcpy(d, p, n);
    return d;
}

/* A fresh silent use by the world's user, encoded. */
static void make_use(struct tfx_world *w, uint64_t vu, uint8_t **tx, size_t *len)
{
    uint8_t doc[32] = { 5 };
    assert_int_equal(ledger_txb_use(&w->c->g, w->user.sk, vu, w->seal_key.sk, w->seal, w->grant,
                                    doc, NULL, NULL, tx, len),
                     0);
}

static Sealchain__Tx *unwrap(const uint8_t *tx, size_t len)
{
    Sealchain__Tx *env = sealchain__tx__unpack(NULL, len, tx);
    assert_non_null(env);
    return env;
}

static size_t put_field(uint8_t *out, uint8_t tag, const uint8_t *p, size_t n)
{
    size_t i = 0;
    out[i++] = tag;
    for (size_t v = n;; v >>= 7) {
        out[i++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        if (v < 0x80)
            break;
    }
    memcpy(out + i, p, n);
    return i + n;
}

static void the_same_tx_is_refused_in_a_later_block(void **state)
{
    struct tfx_world *w = *state;
    uint8_t *tx, id[32], id2[32];
    size_t len;
    make_use(w, tfx_vu(w->c) + 60000, &tx, &len);
    uint8_t *copy = dup_bytes(tx, len);
    TFX_EXPECT(w->c, tfx_run(w->c, tx, len, id), 0);
    TFX_EXPECT(w->c, tfx_run(w->c, copy, len, id2), LEDGER_E_DUPLICATE_TX);
    assert_memory_equal(id, id2, 32);
    /* 'T' records where it is. */
    uint8_t key[33], v[64];
    size_t n;
    tfx_key2(key, LEDGER_K_TX, id, 32, NULL, 0);
    assert_true(tfx_get(w->c, key, 33, v, sizeof(v), &n));
    Sealchain__TxLocation *loc = sealchain__tx_location__unpack(NULL, n, v);
    assert_int_equal(loc->height, w->c->height - 1);
    assert_int_equal(loc->index, 0);
    sealchain__tx_location__free_unpacked(loc, NULL);
}

static void the_same_tx_is_refused_twice_in_one_block(void **state)
{
    struct tfx_world *w = *state;
    uint8_t *tx;
    size_t len;
    make_use(w, tfx_vu(w->c), &tx, &len);
    uint8_t *copy = dup_bytes(tx, len);
    TFX_EXPECT(w->c, tfx_submit(w->c, tx, len, NULL), 0);
    TFX_EXPECT(w->c, tfx_submit(w->c, copy, len, NULL), LEDGER_E_DUPLICATE_TX);
    assert_int_equal(ledger_exec_count(w->c->ex), 1);
    tfx_block_commit(w->c);
}

static void the_same_body_rewrapped_is_a_duplicate(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    uint8_t *tx;
    size_t len;
    make_use(w, tfx_vu(c) + 60000, &tx, &len);
    Sealchain__Tx *env = unwrap(tx, len);
    uint8_t *orig = dup_bytes(tx, len);
    TFX_EXPECT(c, tfx_run(c, orig, len, NULL), 0);
    /* 1: the envelope's fields in another order (a valid protobuf encoding). */
    uint8_t *re = malloc(len + 16);
    size_t n = put_field(re, 0x1a, env->signature.data, 64);
    n += put_field(re + n, 0x12, env->signer.data, 32);
    n += put_field(re + n, 0x0a, env->body.data, env->body.len);
    assert_int_not_equal(memcmp(re, tx, len < n ? len : n), 0);
    TFX_EXPECT(c, tfx_run(c, re, n, NULL), LEDGER_E_DUPLICATE_TX);
    /* 2: another signature encoding: S + L (the group order) verifies nowhere
     * strict, but the body, hence the id, is the same. */
    static const uint8_t L[32] = { 0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                   0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                   0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10 };
    uint8_t sig[64];
    memcpy(sig, env->signature.data, 64);
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        unsigned s = sig[32 + i] + L[i] + carry;
        sig[32 + i] = (uint8_t)s;
        carry = s >> 8;
    }
    uint8_t *re2;
    size_t n2;
    assert_int_equal(
        ledger_txb_wrap(env->body.data, env->body.len, env->signer.data, sig, &re2, &n2), 0);
    TFX_EXPECT(c, tfx_run(c, re2, n2, NULL), LEDGER_E_DUPLICATE_TX);
    /* 3: the same body under another signer with that signer's valid signature. */
    assert_int_equal(
        ledger_sign(LEDGER_TAG_TX, c->g.hash, env->body.data, env->body.len, w->other.sk, sig), 0);
    assert_int_equal(ledger_txb_wrap(env->body.data, env->body.len, w->other.pk, sig, &re2, &n2),
                     0);
    TFX_EXPECT(c, tfx_run(c, re2, n2, NULL), LEDGER_E_DUPLICATE_TX);
    sealchain__tx__free_unpacked(env, NULL);
    free(tx);
}

static void an_expired_body_is_refused(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    uint8_t *tx;
    size_t len;
    uint64_t t = c->time_ms + TFX_BLOCK_MS;
    make_use(w, t - 1, &tx, &len);
    tfx_block_open(c, t);
    TFX_EXPECT(c, tfx_submit(c, tx, len, NULL), LEDGER_E_EXPIRED_TX);
    make_use(w, t, &tx, &len); /* valid until exactly the block time: fine */
    TFX_EXPECT(c, tfx_submit(c, tx, len, NULL), 0);
    tfx_block_commit(c);
}

static void a_body_valid_too_far_ahead_is_refused(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    uint8_t *tx;
    size_t len;
    uint64_t t = c->time_ms + TFX_BLOCK_MS;
    tfx_block_open(c, t);
    make_use(w, t + LEDGER_MAX_TX_VALIDITY_MS + 1, &tx, &len);
    TFX_EXPECT(c, tfx_submit(c, tx, len, NULL), LEDGER_E_TX_TOO_FAR);
    make_use(w, t + LEDGER_MAX_TX_VALIDITY_MS, &tx, &len);
    TFX_EXPECT(c, tfx_submit(c, tx, len, NULL), 0);
    tfx_block_commit(c);
}

static void a_bad_or_foreign_tx_signature_is_refused(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    uint8_t *tx;
    size_t len;
    make_use(w, tfx_vu(c), &tx, &len);
    tx[len - 1] ^= 1; /* the signature is the envelope's last field */
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_BAD_SIGNATURE);
    /* Signed for another chain (another genesis hash). */
    struct ledger_genesis other = c->g;
    other.hash[0] ^= 1;
    uint8_t doc[32] = { 6 };
    assert_int_equal(ledger_txb_use(&other, w->user.sk, tfx_vu(c), w->seal_key.sk, w->seal,
                                    w->grant, doc, NULL, NULL, &tx, &len),
                     0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_BAD_SIGNATURE);
}

/* Signs arbitrary body bytes as the user. */
static void sign_raw(struct tfx_world *w, const uint8_t *body, size_t n, uint8_t **tx, size_t *len)
{
    uint8_t sig[64];
    assert_int_equal(ledger_sign(LEDGER_TAG_TX, w->c->g.hash, body, n, w->user.sk, sig), 0);
    assert_int_equal(ledger_txb_wrap(body, n, w->user.pk, sig, tx, len), 0);
}

static void non_canonical_or_unknown_encodings_are_malformed(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    uint8_t *tx, body[512];
    size_t len;
    make_use(w, tfx_vu(c), &tx, &len);
    Sealchain__Tx *env = unwrap(tx, len);
    size_t bn = env->body.len;
    memcpy(body, env->body.data, bn);
    sealchain__tx__free_unpacked(env, NULL);
    /* A trailing byte after the envelope. */
    uint8_t *t2 = malloc(len + 1);
    memcpy(t2, tx, len);
    t2[len] = 0;
    TFX_EXPECT(c, tfx_run(c, t2, len + 1, NULL), LEDGER_E_MALFORMED);
    free(tx);
    /* An unknown field (99, varint 1) appended to a signed body. */
    body[bn] = 0x98;
    body[bn + 1] = 0x06;
    body[bn + 2] = 0x01;
    sign_raw(w, body, bn + 3, &tx, &len);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_MALFORMED);
    /* A default value written out (valid_until = 0 appended twice is also a repeat). */
    body[bn] = 0x10;
    body[bn + 1] = 0x00;
    sign_raw(w, body, bn + 2, &tx, &len);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_MALFORMED);
    /* Not protobuf at all. */
    uint8_t junk[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    sign_raw(w, junk, sizeof(junk), &tx, &len);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_MALFORMED);
    tx = dup_bytes(junk, sizeof(junk));
    TFX_EXPECT(c, tfx_run(c, tx, sizeof(junk), NULL), LEDGER_E_MALFORMED);
    /* Too large. */
    uint8_t *big = calloc(1, LEDGER_MAX_TX_LEN + 1);
    TFX_EXPECT(c, tfx_run(c, big, LEDGER_MAX_TX_LEN + 1, NULL), LEDGER_E_TOO_LARGE);
}

static void a_body_without_an_operation_or_a_16_byte_nonce_is_refused(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    uint8_t nonce[16] = { 1 }, *tx;
    size_t len;
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.nonce.data = nonce;
    body.nonce.len = 16;
    body.valid_until_ms = tfx_vu(c);
    assert_int_equal(ledger_txb_sign_body(&c->g, w->user.sk, &body, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_MALFORMED);
    Sealchain__UsageApprove op = SEALCHAIN__USAGE_APPROVE__INIT;
    uint8_t usage[32] = { 1 };
    op.usage.data = usage;
    op.usage.len = 32;
    body.op_case = SEALCHAIN__TX_BODY__OP_USAGE_APPROVE;
    body.usage_approve = &op;
    body.nonce.len = 15;
    assert_int_equal(ledger_txb_sign_body(&c->g, w->user.sk, &body, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_BAD_FIELD);
}

static void an_envelope_with_wrong_key_or_signature_sizes_is_refused(void **state)
{
    struct tfx_world *w = *state;
    uint8_t body[4] = { 0x0a, 0x00, 0x10, 0x01 }, sig[64] = { 0 }, *tx;
    size_t len;
    Sealchain__Tx env = SEALCHAIN__TX__INIT;
    env.body.data = body;
    env.body.len = sizeof(body);
    env.signer.data = w->user.pk;
    env.signer.len = 31;
    env.signature.data = sig;
    env.signature.len = 64;
    len = sealchain__tx__get_packed_size(&env);
    tx = malloc(len);
    sealchain__tx__pack(&env, tx);
    TFX_EXPECT(w->c, tfx_run(w->c, tx, len, NULL), LEDGER_E_BAD_FIELD);
    env.signer.len = 32;
    env.signature.len = 63;
    tx = malloc(len);
    sealchain__tx__pack(&env, tx);
    TFX_EXPECT(w->c, tfx_run(w->c, tx, len, NULL), LEDGER_E_BAD_FIELD);
}

static void tx_id_is_the_hash_of_the_body_bytes(void **state)
{
    struct tfx_world *w = *state;
    uint8_t *tx, id[32], want[32];
    size_t len;
    make_use(w, tfx_vu(w->c), &tx, &len);
    Sealchain__Tx *env = unwrap(tx, len);
    ledger_sha256(env->body.data, env->body.len, want);
    assert_int_equal(ledger_tx_id(tx, len, id), 0);
    assert_memory_equal(id, want, 32);
    sealchain__tx__free_unpacked(env, NULL);
    free(tx);
    uint8_t junk[3] = { 0xff, 0xff, 0xff };
    assert_int_equal(ledger_tx_id(junk, 3, id), LEDGER_E_MALFORMED);
}

/* Bad input (DESIGN §6): any byte of a valid tx changed, dropped or added
 * gives a clean refusal (or, rarely, a still-valid tx), never a crash, and a
 * refusal writes nothing. */
static void mutated_transactions_are_refused_cleanly(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    uint8_t *tx;
    size_t len;
    uint64_t rng = 88172645463325252ull;
    tfx_block_open(c, 0);
    struct ledger_overlay *ov = ledger_exec_overlay(c->ex);
    int accepted = 0;
    for (int i = 0; i < 3000; i++) {
        if (i % 3 == 0)
            make_use(w, tfx_vu(c), &tx, &len);
        else
            assert_int_equal(ledger_txb_approve(&c->g, w->user.sk, tfx_vu(c), w->seal, &tx, &len),
                             0);
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t pos = rng % len;
        int how = (int)((rng >> 32) % 3);
        size_t n = len;
        if (how == 0) {
            tx[pos] ^= (uint8_t)(1u << ((rng >> 40) % 8));
        } else if (how == 1) {
            memmove(tx + pos, tx + pos + 1, len - pos - 1);
            n = len - 1;
        } else {
            uint8_t *t2 = realloc(tx, len + 1);
            assert_non_null(t2);
            tx = t2;
            memmove(tx + pos + 1, tx + pos, len - pos);
            tx[pos] = (uint8_t)(rng >> 48);
            n = len + 1;
        }
        size_t before = ledger_overlay_count(ov);
        int rc = tfx_submit(c, tx, n, NULL);
        if (rc == 0)
            accepted++;
        else
            assert_int_equal(ledger_overlay_count(ov), before);
        assert_true(rc >= 0 && rc < LEDGER_E__COUNT);
    }
    /* Every change hits the body (the signature then fails), the signer or
     * the signature, or the framing (malformed): none can pass. */
    assert_int_equal(accepted, 0);
    tfx_block_commit(c);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(the_same_tx_is_refused_in_a_later_block),
        T(the_same_tx_is_refused_twice_in_one_block),
        T(the_same_body_rewrapped_is_a_duplicate),
        T(an_expired_body_is_refused),
        T(a_body_valid_too_far_ahead_is_refused),
        T(a_bad_or_foreign_tx_signature_is_refused),
        T(non_canonical_or_unknown_encodings_are_malformed),
        T(a_body_without_an_operation_or_a_16_byte_nonce_is_refused),
        T(an_envelope_with_wrong_key_or_signature_sizes_is_refused),
        T(tx_id_is_the_hash_of_the_body_bytes),
        T(mutated_transactions_are_refused_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
