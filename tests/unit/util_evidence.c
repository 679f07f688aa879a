/* Test helpers for evidence tests: fixed-seed chains, certificates, hand-built blocks. */
#include "util_evidence.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ledger/cert.h"
#include "ledger/codec.h"
#include "ledger/merkle.h"
#include "ledger/tx.h"
#include "proto/block.pb-c.h"

void tev_keypair(const char *tag, uint32_t i, uint8_t pk[static LEDGER_KEY_LEN],
                 uint8_t sk[static LEDGER_SECRET_LEN])
{
    uint8_t buf[3 + 64 + 4], seed[LEDGER_HASH_LEN];
    size_t tl = strlen(tag) > 64 ? 64 : strlen(tag);
    memcpy(buf, "tev", 3);
    memcpy(buf + 3, tag, tl);
    ledger_put_u32be(buf + 3 + tl, i);
    ledger_sha256(buf, 3 + tl + 4, seed);
    crypto_sign_seed_keypair(pk, sk, seed);
}

void tev_chain_init(struct tev_chain *c, uint32_t n, const char *chain_id)
{
    assert_int_equal(ledger_crypto_init(), 0);
    memset(c, 0, sizeof *c);
    snprintf(c->g.chain_id, sizeof c->g.chain_id, "%s", chain_id);
    c->g.time_ms = 1764000000000ull;
    c->g.n = n;
    char tag[80];
    for (uint32_t i = 0; i < n; i++) {
        struct ledger_validator *v = &c->g.validators[i];
        snprintf(tag, sizeof tag, "%s/node", chain_id);
        tev_keypair(tag, i, v->node_key, c->node_sk[i]);
        snprintf(tag, sizeof tag, "%s/admin", chain_id);
        tev_keypair(tag, i, v->admin_key, c->admin_sk[i]);
        snprintf(v->org_id, sizeof v->org_id, "agency%u", i);
        snprintf(v->org_name, sizeof v->org_name, "Agency %u", i);
    }
    char err[256] = "";
    int rc = ledger_genesis_finish(&c->g, err, sizeof err);
    if (rc != 0)
        fail_msg("genesis: %s", err);
}

void tev_commit_sig(const struct tev_chain *c, uint32_t i, uint64_t height, uint64_t view,
                    const uint8_t hash[static LEDGER_HASH_LEN], uint8_t sig[static LEDGER_SIG_LEN])
{
    uint8_t payload[LEDGER_COMMIT_PAYLOAD_LEN];
    ledger_commit_payload(height, view, hash, payload);
    assert_int_equal(
        ledger_sign(LEDGER_TAG_COMMIT, c->g.hash, payload, sizeof payload, c->node_sk[i], sig), 0);
}

void tev_cert_raw(const struct tev_chain *c, uint64_t height, uint64_t view,
                  const uint8_t hash[static LEDGER_HASH_LEN], const uint32_t *signers, size_t count,
                  uint8_t **out, size_t *out_len)
{
    assert_true(count <= 2 * LEDGER_MAX_VALIDATORS);
    uint8_t sigs[2 * LEDGER_MAX_VALIDATORS][LEDGER_SIG_LEN];
    ProtobufCBinaryData sv[2 * LEDGER_MAX_VALIDATORS];
    uint32_t idx[2 * LEDGER_MAX_VALIDATORS];
    for (size_t i = 0; i < count; i++) {
        /* An out-of-range signer signs with validator 0's key. */
        uint32_t who = signers[i] < c->g.n ? signers[i] : 0;
        tev_commit_sig(c, who, height, view, hash, sigs[i]);
        sv[i] = (ProtobufCBinaryData){ LEDGER_SIG_LEN, sigs[i] };
        idx[i] = signers[i];
    }
    Sealchain__CommitCert cc = SEALCHAIN__COMMIT_CERT__INIT;
    cc.height = height;
    cc.view = view;
    cc.block_hash = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)hash };
    cc.n_signers = cc.n_signatures = count;
    cc.signers = idx;
    cc.signatures = sv;
    assert_int_equal(ledger_encode(&cc.base, out, out_len), 0);
}

void tev_cert_quorum(const struct tev_chain *c, uint64_t height, uint64_t view,
                     const uint8_t hash[static LEDGER_HASH_LEN], uint8_t **out, size_t *out_len)
{
    uint32_t q = ledger_genesis_quorum(c->g.n);
    uint32_t signers[LEDGER_MAX_VALIDATORS];
    uint8_t sigs[LEDGER_MAX_VALIDATORS][LEDGER_SIG_LEN];
    for (uint32_t i = 0; i < q; i++) {
        signers[i] = i;
        tev_commit_sig(c, i, height, view, hash, sigs[i]);
    }
    assert_int_equal(ledger_cert_build(height, view, hash, signers,
                                       (const uint8_t(*)[LEDGER_SIG_LEN])sigs, q, out, out_len),
                     0);
}

void tev_block_build(const struct tev_chain *c, uint64_t height, uint64_t view,
                     const uint8_t prev[static LEDGER_HASH_LEN], uint64_t time_ms,
                     const uint8_t *const *txs, const size_t *tx_lens, size_t count,
                     struct tev_block *out)
{
    uint8_t(*ids)[LEDGER_HASH_LEN] = calloc(count + 1, LEDGER_HASH_LEN);
    assert_non_null(ids);
    for (size_t i = 0; i < count; i++)
        ledger_merkle_tx_leaf(txs[i], tx_lens[i], ids[i]);
    uint8_t root[LEDGER_HASH_LEN], state_root[LEDGER_HASH_LEN];
    assert_int_equal(ledger_merkle_root((const uint8_t(*)[LEDGER_HASH_LEN])ids, count, root), 0);
    free(ids);
    memset(state_root, 0x5a, sizeof state_root);
    Sealchain__BlockHeader h = SEALCHAIN__BLOCK_HEADER__INIT;
    h.chain = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)c->g.hash };
    h.height = height;
    h.view = view;
    h.prev_hash = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)prev };
    h.time_ms = time_ms;
    h.proposer = (uint32_t)(view % c->g.n);
    h.tx_root = (ProtobufCBinaryData){ LEDGER_HASH_LEN, root };
    h.state_root = (ProtobufCBinaryData){ LEDGER_HASH_LEN, state_root };
    h.tx_count = (uint32_t)count;
    assert_int_equal(ledger_encode(&h.base, &out->header, &out->header_len), 0);
    ledger_sha256(out->header, out->header_len, out->hash);
    tev_cert_quorum(c, height, view, out->hash, &out->cert, &out->cert_len);
}

void tev_block_free(struct tev_block *b)
{
    free(b->header);
    free(b->cert);
    b->header = b->cert = NULL;
}

uint8_t *tev_read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap);
        assert_non_null(buf);
    }
    fclose(f);
    *out_len = len;
    return buf;
}
