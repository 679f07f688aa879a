/* Commit certificates: q distinct genesis validators, COMMIT-tagged, for this block and chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/cert.h"
#include "ledger/codec.h"
#include "ledger/err.h"
#include "proto/block.pb-c.h"
#include "util_evidence.h"

#define H 42
#define V 3

static uint8_t hash[LEDGER_HASH_LEN];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(ledger_crypto_init(), 0);
    ledger_sha256("block 42", 8, hash);
    return 0;
}

/* Encodes a certificate from explicit parts (any of them wrong on purpose). */
static void encode(uint64_t height, uint64_t view, const uint8_t *bh, const uint32_t *signers,
                   size_t n_signers, uint8_t (*sigs)[LEDGER_SIG_LEN], size_t n_sigs, uint8_t **out,
                   size_t *out_len)
{
    ProtobufCBinaryData sv[2 * LEDGER_MAX_VALIDATORS];
    for (size_t i = 0; i < n_sigs; i++)
        sv[i] = (ProtobufCBinaryData){ LEDGER_SIG_LEN, sigs[i] };
    Sealchain__CommitCert c = SEALCHAIN__COMMIT_CERT__INIT;
    c.height = height;
    c.view = view;
    c.block_hash = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)bh };
    c.n_signers = n_signers;
    c.signers = (uint32_t *)signers;
    c.n_signatures = n_sigs;
    c.signatures = sv;
    assert_int_equal(ledger_encode(&c.base, out, out_len), 0);
}

static int check(const struct tev_chain *c, const uint8_t *cert, size_t len, uint64_t height,
                 const uint8_t *bh)
{
    char err[256] = "";
    uint64_t view = 999;
    int rc = ledger_cert_check(&c->g, cert, len, height, bh, &view, err, sizeof err);
    if (rc == 0)
        assert_int_equal(view, V);
    else
        assert_true(err[0] != '\0');
    return rc;
}

static void a_certificate_of_q_of_n_validators_is_valid_for_n_1_4_7(void **state)
{
    (void)state;
    const uint32_t ns[] = { 1, 4, 7 }, qs[] = { 1, 3, 5 };
    for (int k = 0; k < 3; k++) {
        struct tev_chain c;
        tev_chain_init(&c, ns[k], "cert-chain");
        assert_int_equal(ledger_genesis_quorum(ns[k]), qs[k]);
        uint8_t *cert;
        size_t len;
        tev_cert_quorum(&c, H, V, hash, &cert, &len);
        assert_int_equal(check(&c, cert, len, H, hash), 0);
        free(cert);
        /* Any q validators will do, not just the first ones; all n too. */
        uint32_t last[LEDGER_MAX_VALIDATORS], all[LEDGER_MAX_VALIDATORS];
        for (uint32_t i = 0; i < qs[k]; i++)
            last[i] = ns[k] - qs[k] + i;
        for (uint32_t i = 0; i < ns[k]; i++)
            all[i] = i;
        tev_cert_raw(&c, H, V, hash, last, qs[k], &cert, &len);
        assert_int_equal(check(&c, cert, len, H, hash), 0);
        free(cert);
        tev_cert_raw(&c, H, V, hash, all, ns[k], &cert, &len);
        assert_int_equal(check(&c, cert, len, H, hash), 0);
        free(cert);
    }
}

static void a_duplicate_signer_is_refused_even_when_it_would_make_quorum(void **state)
{
    (void)state;
    struct tev_chain c;
    tev_chain_init(&c, 4, "cert-chain");
    uint32_t dup[] = { 0, 1, 1 }, dup_first[] = { 0, 0, 1 };
    uint8_t *cert;
    size_t len;
    tev_cert_raw(&c, H, V, hash, dup, 3, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
    tev_cert_raw(&c, H, V, hash, dup_first, 3, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
}

static void signers_out_of_order_are_refused(void **state)
{
    (void)state;
    struct tev_chain c;
    tev_chain_init(&c, 4, "cert-chain");
    uint32_t unsorted[] = { 1, 0, 2 };
    uint8_t *cert;
    size_t len;
    tev_cert_raw(&c, H, V, hash, unsorted, 3, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
}

static void too_few_signers_are_refused(void **state)
{
    (void)state;
    const uint32_t ns[] = { 1, 4, 7 };
    for (int k = 0; k < 3; k++) {
        struct tev_chain c;
        tev_chain_init(&c, ns[k], "cert-chain");
        uint32_t q = ledger_genesis_quorum(ns[k]);
        uint32_t signers[LEDGER_MAX_VALIDATORS];
        for (uint32_t i = 0; i < q; i++)
            signers[i] = i;
        uint8_t *cert;
        size_t len;
        tev_cert_raw(&c, H, V, hash, signers, q - 1, &cert, &len);
        assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
        free(cert);
    }
}

static void a_signer_index_of_n_or_more_is_refused(void **state)
{
    (void)state;
    struct tev_chain c;
    tev_chain_init(&c, 4, "cert-chain");
    uint32_t signers[] = { 0, 1, 4 }, big[] = { 0, 1, 2, 0xffffffffu };
    uint8_t *cert;
    size_t len;
    tev_cert_raw(&c, H, V, hash, signers, 3, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
    tev_cert_raw(&c, H, V, hash, big, 4, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
}

/* Builds the q signatures of validators 0..q-1 with validator `bad` replaced by sig. */
static void with_one_bad_signature(const struct tev_chain *c, uint32_t bad,
                                   const uint8_t sig[LEDGER_SIG_LEN], uint8_t **out,
                                   size_t *out_len)
{
    uint32_t q = ledger_genesis_quorum(c->g.n), signers[LEDGER_MAX_VALIDATORS];
    uint8_t sigs[LEDGER_MAX_VALIDATORS][LEDGER_SIG_LEN];
    for (uint32_t i = 0; i < q; i++) {
        signers[i] = i;
        tev_commit_sig(c, i, H, V, hash, sigs[i]);
    }
    memcpy(sigs[bad], sig, LEDGER_SIG_LEN);
    encode(H, V, hash, signers, q, sigs, q, out, out_len);
}

static void a_signature_by_a_key_not_in_genesis_is_refused(void **state)
{
    (void)state;
    struct tev_chain c;
    tev_chain_init(&c, 4, "cert-chain");
    uint8_t pk[LEDGER_KEY_LEN], sk[LEDGER_SECRET_LEN], sig[LEDGER_SIG_LEN], payload[48];
    tev_keypair("outsider", 0, pk, sk);
    ledger_commit_payload(H, V, hash, payload);
    assert_int_equal(ledger_sign(LEDGER_TAG_COMMIT, c.g.hash, payload, sizeof payload, sk, sig), 0);
    uint8_t *cert;
    size_t len;
    with_one_bad_signature(&c, 1, sig, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
    /* A genuine validator's signature under another validator's index. */
    tev_commit_sig(&c, 3, H, V, hash, sig);
    with_one_bad_signature(&c, 1, sig, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
}

static void a_prepare_tagged_signature_is_refused(void **state)
{
    (void)state;
    struct tev_chain c;
    tev_chain_init(&c, 4, "cert-chain");
    uint8_t sig[LEDGER_SIG_LEN], payload[48];
    ledger_commit_payload(H, V, hash, payload);
    assert_int_equal(
        ledger_sign(LEDGER_TAG_PREPARE, c.g.hash, payload, sizeof payload, c.node_sk[2], sig), 0);
    uint8_t *cert;
    size_t len;
    with_one_bad_signature(&c, 2, sig, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
}

static void a_certificate_for_another_height_view_or_hash_is_refused(void **state)
{
    (void)state;
    struct tev_chain c;
    tev_chain_init(&c, 4, "cert-chain");
    uint8_t other[LEDGER_HASH_LEN], *cert;
    size_t len;
    memcpy(other, hash, sizeof other);
    other[31] ^= 1;
    tev_cert_quorum(&c, H, V, hash, &cert, &len);
    assert_int_equal(check(&c, cert, len, H + 1, hash), LEDGER_E_BAD_CERT);
    assert_int_equal(check(&c, cert, len, H, other), LEDGER_E_BAD_CERT);
    free(cert);

    /* Signatures over view V+1 in a certificate that says view V. */
    uint32_t q = 3, signers[] = { 0, 1, 2 };
    uint8_t sigs[3][LEDGER_SIG_LEN];
    for (uint32_t i = 0; i < q; i++)
        tev_commit_sig(&c, i, H, V + 1, hash, sigs[i]);
    encode(H, V, hash, signers, q, sigs, q, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
    /* Signatures over height H+1 in a certificate that says H. */
    for (uint32_t i = 0; i < q; i++)
        tev_commit_sig(&c, i, H + 1, V, hash, sigs[i]);
    encode(H, V, hash, signers, q, sigs, q, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
    /* Signatures over another block, in a certificate naming this one. */
    for (uint32_t i = 0; i < q; i++)
        tev_commit_sig(&c, i, H, V, other, sigs[i]);
    encode(H, V, hash, signers, q, sigs, q, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
}

static void a_certificate_of_another_chain_is_refused(void **state)
{
    (void)state;
    struct tev_chain a, b;
    tev_chain_init(&a, 4, "cert-chain");
    /* Same validator keys, another chain id: only the genesis hash differs. */
    b = a;
    strcpy(b.g.chain_id, "cert-chain-2");
    char err[128];
    assert_int_equal(ledger_genesis_finish(&b.g, err, sizeof err), 0);
    assert_memory_not_equal(a.g.hash, b.g.hash, LEDGER_HASH_LEN);
    uint8_t *cert;
    size_t len;
    tev_cert_quorum(&a, H, V, hash, &cert, &len);
    assert_int_equal(check(&a, cert, len, H, hash), 0);
    assert_int_equal(check(&b, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
}

static void signer_and_signature_counts_must_match_and_signatures_be_64_bytes(void **state)
{
    (void)state;
    struct tev_chain c;
    tev_chain_init(&c, 4, "cert-chain");
    uint32_t signers[] = { 0, 1, 2, 3 };
    uint8_t sigs[4][LEDGER_SIG_LEN], *cert;
    size_t len;
    for (uint32_t i = 0; i < 4; i++)
        tev_commit_sig(&c, i, H, V, hash, sigs[i]);
    encode(H, V, hash, signers, 4, sigs, 3, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
    encode(H, V, hash, signers, 3, sigs, 4, &cert, &len);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
    /* A 63-byte signature. */
    ProtobufCBinaryData sv[3];
    for (int i = 0; i < 3; i++)
        sv[i] = (ProtobufCBinaryData){ LEDGER_SIG_LEN, sigs[i] };
    sv[1].len = 63;
    Sealchain__CommitCert cc = SEALCHAIN__COMMIT_CERT__INIT;
    cc.height = H;
    cc.view = V;
    cc.block_hash = (ProtobufCBinaryData){ LEDGER_HASH_LEN, hash };
    cc.n_signers = cc.n_signatures = 3;
    cc.signers = signers;
    cc.signatures = sv;
    assert_int_equal(ledger_encode(&cc.base, &cert, &len), 0);
    assert_int_equal(check(&c, cert, len, H, hash), LEDGER_E_BAD_CERT);
    free(cert);
}

static void a_certificate_that_does_not_decode_strictly_is_malformed(void **state)
{
    (void)state;
    struct tev_chain c;
    tev_chain_init(&c, 4, "cert-chain");
    uint8_t *cert;
    size_t len;
    tev_cert_quorum(&c, H, V, hash, &cert, &len);
    uint8_t *longer = malloc(len + 2);
    memcpy(longer, cert, len);
    longer[len] = 0x08; /* height again */
    longer[len + 1] = H;
    assert_int_equal(check(&c, longer, len + 2, H, hash), LEDGER_E_MALFORMED);
    assert_int_equal(check(&c, cert, len - 1, H, hash), LEDGER_E_MALFORMED);
    free(longer);
    free(cert);
}

static void every_single_byte_change_of_a_valid_certificate_is_refused(void **state)
{
    (void)state;
    struct tev_chain c;
    tev_chain_init(&c, 4, "cert-chain");
    uint8_t *cert;
    size_t len;
    tev_cert_quorum(&c, H, V, hash, &cert, &len);
    for (size_t i = 0; i < len; i++) {
        cert[i] ^= 0x01;
        assert_int_not_equal(check(&c, cert, len, H, hash), 0);
        cert[i] ^= 0x01;
    }
    assert_int_equal(check(&c, cert, len, H, hash), 0);
    free(cert);
}

static void cert_build_sorts_signers_and_refuses_duplicates(void **state)
{
    (void)state;
    struct tev_chain c;
    tev_chain_init(&c, 4, "cert-chain");
    uint32_t signers[] = { 3, 0, 2 }, dup[] = { 2, 0, 2 };
    uint8_t sigs[3][LEDGER_SIG_LEN], *cert = NULL;
    size_t len;
    for (int i = 0; i < 3; i++)
        tev_commit_sig(&c, signers[i], H, V, hash, sigs[i]);
    const uint8_t(*cs)[LEDGER_SIG_LEN] = (const uint8_t(*)[LEDGER_SIG_LEN])sigs;
    assert_int_equal(ledger_cert_build(H, V, hash, signers, cs, 3, &cert, &len), 0);
    assert_int_equal(check(&c, cert, len, H, hash), 0);
    free(cert);
    assert_int_equal(ledger_cert_build(H, V, hash, dup, cs, 3, &cert, &len), LEDGER_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_certificate_of_q_of_n_validators_is_valid_for_n_1_4_7),
        cmocka_unit_test(a_duplicate_signer_is_refused_even_when_it_would_make_quorum),
        cmocka_unit_test(signers_out_of_order_are_refused),
        cmocka_unit_test(too_few_signers_are_refused),
        cmocka_unit_test(a_signer_index_of_n_or_more_is_refused),
        cmocka_unit_test(a_signature_by_a_key_not_in_genesis_is_refused),
        cmocka_unit_test(a_prepare_tagged_signature_is_refused),
        cmocka_unit_test(a_certificate_for_another_height_view_or_hash_is_refused),
        cmocka_unit_test(a_certificate_of_another_chain_is_refused),
        cmocka_unit_test(signer_and_signature_counts_must_match_and_signatures_be_64_bytes),
        cmocka_unit_test(a_certificate_that_does_not_decode_strictly_is_malformed),
        cmocka_unit_test(every_single_byte_change_of_a_valid_certificate_is_refused),
        cmocka_unit_test(cert_build_sorts_signers_and_refuses_duplicates),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
