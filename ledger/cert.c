/* Commit certificates: building them and checking them against genesis. */
#include "ledger/cert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "proto/block.pb-c.h"

/* A certificate holds at most one signature per validator, each 64 bytes plus
 * a few bytes of framing and index: 64 * ~75 + header fields stays under 8 KiB. */
#define MAX_CERT_LEN 8192

/* Structural checks: what the certificate is for, and who signed. */
static int check_shape(const struct ledger_genesis *g, const Sealchain__CommitCert *c,
                       uint64_t height, const uint8_t block_hash[static LEDGER_HASH_LEN],
                       char *errmsg, size_t errmsg_len)
{
    uint32_t q = ledger_genesis_quorum(g->n);
    if (c->height != height)
        return ledger_errf(LEDGER_E_BAD_CERT, errmsg, errmsg_len,
                           "certificate is for height %llu, not %llu",
                           (unsigned long long)c->height, (unsigned long long)height);
    if (c->block_hash.len != LEDGER_HASH_LEN ||
        memcmp(c->block_hash.data, block_hash, LEDGER_HASH_LEN) != 0)
        return ledger_errf(LEDGER_E_BAD_CERT, errmsg, errmsg_len,
                           "certificate is for another block hash");
    if (c->n_signers != c->n_signatures)
        return ledger_errf(LEDGER_E_BAD_CERT, errmsg, errmsg_len,
                           "certificate has %zu signers but %zu signatures", c->n_signers,
                           c->n_signatures);
    for (size_t i = 0; i < c->n_signers; i++) {
        if (c->signers[i] >= g->n)
            return ledger_errf(LEDGER_E_BAD_CERT, errmsg, errmsg_len,
                               "signer %u is not a validator (n = %u)", c->signers[i], g->n);
        /* Strictly increasing: distinct signers with one encoding only. */
        if (i > 0 && c->signers[i] <= c->signers[i - 1])
            return ledger_errf(LEDGER_E_BAD_CERT, errmsg, errmsg_len,
                               "signers not strictly increasing (duplicate signer %u)",
                               c->signers[i]);
        if (c->signatures[i].len != LEDGER_SIG_LEN)
            return ledger_errf(LEDGER_E_BAD_CERT, errmsg, errmsg_len,
                               "signature of validator %u is %zu bytes, not %d", c->signers[i],
                               c->signatures[i].len, LEDGER_SIG_LEN);
    }
    if (c->n_signers < q)
        return ledger_errf(LEDGER_E_BAD_CERT, errmsg, errmsg_len,
                           "certificate has %zu signers, quorum is %u of %u", c->n_signers, q,
                           g->n);
    return 0;
}

int ledger_cert_check(const struct ledger_genesis *g, const uint8_t *cert, size_t cert_len,
                      uint64_t height, const uint8_t block_hash[static LEDGER_HASH_LEN],
                      uint64_t *out_view, char *errmsg, size_t errmsg_len)
{
    ProtobufCMessage *m;
    int rc =
        ledger_decode_strict(&sealchain__commit_cert__descriptor, cert, cert_len, MAX_CERT_LEN, &m);
    if (rc == LEDGER_E_NOMEM)
        return rc;
    if (rc != 0)
        return ledger_errf(LEDGER_E_MALFORMED, errmsg, errmsg_len,
                           "certificate does not decode: %s", ledger_strerror(rc));
    Sealchain__CommitCert *c = (Sealchain__CommitCert *)m;
    rc = check_shape(g, c, height, block_hash, errmsg, errmsg_len);
    if (rc != 0)
        goto out;
    /* Shape first, signatures last: they are the expensive part. */
    uint8_t payload[LEDGER_COMMIT_PAYLOAD_LEN];
    ledger_commit_payload(c->height, c->view, block_hash, payload);
    for (size_t i = 0; i < c->n_signers; i++) {
        const uint8_t *pk = g->validators[c->signers[i]].node_key;
        rc = ledger_verify(LEDGER_TAG_COMMIT, g->hash, payload, sizeof payload, pk,
                           c->signatures[i].data);
        if (rc == LEDGER_E_BAD_SIGNATURE) {
            rc = ledger_errf(LEDGER_E_BAD_CERT, errmsg, errmsg_len,
                             "COMMIT signature of validator %u does not verify", c->signers[i]);
            goto out;
        }
        if (rc != 0)
            goto out;
    }
    if (out_view != NULL)
        *out_view = c->view;
out:
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

/* Signer index with its signature's position, sorted by index. */
struct entry {
    uint32_t signer;
    size_t pos;
};

static int by_signer(const void *a, const void *b)
{
    uint32_t x = ((const struct entry *)a)->signer, y = ((const struct entry *)b)->signer;
    return x < y ? -1 : x > y;
}

int ledger_cert_build(uint64_t height, uint64_t view,
                      const uint8_t block_hash[static LEDGER_HASH_LEN], const uint32_t *signers,
                      const uint8_t (*sigs)[LEDGER_SIG_LEN], size_t count, uint8_t **out,
                      size_t *out_len)
{
    if (count > LEDGER_MAX_VALIDATORS)
        return LEDGER_E_INVALID;
    struct entry e[LEDGER_MAX_VALIDATORS];
    uint32_t idx[LEDGER_MAX_VALIDATORS];
    ProtobufCBinaryData sv[LEDGER_MAX_VALIDATORS];
    for (size_t i = 0; i < count; i++)
        e[i] = (struct entry){ signers[i], i };
    if (count > 1)
        qsort(e, count, sizeof e[0], by_signer);
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && e[i].signer == e[i - 1].signer)
            return LEDGER_E_INVALID;
        idx[i] = e[i].signer;
        sv[i].len = LEDGER_SIG_LEN;
        sv[i].data = (uint8_t *)sigs[e[i].pos];
    }
    Sealchain__CommitCert c = SEALCHAIN__COMMIT_CERT__INIT;
    c.height = height;
    c.view = view;
    c.block_hash.len = LEDGER_HASH_LEN;
    c.block_hash.data = (uint8_t *)block_hash;
    c.n_signers = count;
    c.signers = idx;
    c.n_signatures = count;
    c.signatures = sv;
    return ledger_encode(&c.base, out, out_len);
}
