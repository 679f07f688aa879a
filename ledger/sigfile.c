/* The signature file: strict parse, canonical encode, append. */
#include "ledger/sigfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "proto/evidence.pb-c.h"

/* Copies one bytes field of exactly len bytes; 0 when the size is wrong. */
static int take(uint8_t *dst, const ProtobufCBinaryData *src, size_t len)
{
    if (src->len != len)
        return 0;
    memcpy(dst, src->data, len);
    return 1;
}

static int take_sig(struct ledger_seal_sig *d, const Sealchain__SealSignature *s, size_t i,
                    char *errmsg, size_t errmsg_len)
{
    const char *bad = NULL;
    if (!take(d->chain, &s->chain, LEDGER_HASH_LEN))
        bad = "chain";
    else if (!take(d->seal_id, &s->seal_id, LEDGER_HASH_LEN))
        bad = "seal_id";
    else if (!take(d->doc_hash, &s->doc_hash, LEDGER_HASH_LEN))
        bad = "doc_hash";
    else if (!take(d->user_key, &s->user_key, LEDGER_KEY_LEN))
        bad = "user_key";
    else if (!take(d->use_nonce, &s->use_nonce, LEDGER_NONCE_LEN))
        bad = "use_nonce";
    else if (!take(d->seal_signature, &s->seal_signature, LEDGER_SIG_LEN))
        bad = "seal_signature";
    else if (!take(d->usage, &s->usage, LEDGER_HASH_LEN))
        bad = "usage";
    if (bad != NULL)
        return ledger_errf(LEDGER_E_BAD_FIELD, errmsg, errmsg_len,
                           "signature %zu: field %s has the wrong size", i + 1, bad);
    return 0;
}

/* The rules every file obeys once its signatures are decoded. */
static int check_set(const struct ledger_sigfile *f, char *errmsg, size_t errmsg_len)
{
    for (size_t i = 0; i < f->count; i++) {
        if (memcmp(f->sigs[i].doc_hash, f->sigs[0].doc_hash, LEDGER_HASH_LEN) != 0)
            return ledger_errf(LEDGER_E_DOC_MISMATCH, errmsg, errmsg_len,
                               "signature %zu is over another document than signature 1", i + 1);
        for (size_t j = 0; j < i; j++)
            if (memcmp(f->sigs[i].seal_id, f->sigs[j].seal_id, LEDGER_HASH_LEN) == 0)
                return ledger_errf(LEDGER_E_DUPLICATE_SIGNER, errmsg, errmsg_len,
                                   "signatures %zu and %zu are by the same seal", j + 1, i + 1);
    }
    return 0;
}

static int from_message(const Sealchain__SignatureFile *m, struct ledger_sigfile *out, char *errmsg,
                        size_t errmsg_len)
{
    if (m->version != LEDGER_SIGFILE_VERSION)
        return ledger_errf(LEDGER_E_BAD_FIELD, errmsg, errmsg_len,
                           "signature file version %u, expected %d", m->version,
                           LEDGER_SIGFILE_VERSION);
    if (m->n_signatures == 0)
        return ledger_errf(LEDGER_E_BAD_FIELD, errmsg, errmsg_len,
                           "signature file holds no signature");
    if (m->n_signatures > LEDGER_SIGFILE_MAX_SIGS)
        return ledger_errf(LEDGER_E_TOO_LARGE, errmsg, errmsg_len,
                           "signature file holds %zu signatures, at most %d allowed",
                           m->n_signatures, LEDGER_SIGFILE_MAX_SIGS);
    for (size_t i = 0; i < m->n_signatures; i++) {
        int rc = take_sig(&out->sigs[i], m->signatures[i], i, errmsg, errmsg_len);
        if (rc != 0)
            return rc;
    }
    out->count = m->n_signatures;
    return check_set(out, errmsg, errmsg_len);
}

int ledger_sigfile_parse(const uint8_t *buf, size_t len, struct ledger_sigfile *out, char *errmsg,
                         size_t errmsg_len)
{
    out->count = 0;
    ProtobufCMessage *m;
    int rc = ledger_decode_strict(&sealchain__signature_file__descriptor, buf, len,
                                  LEDGER_SIGFILE_MAX_LEN, &m);
    if (rc == LEDGER_E_TOO_LARGE)
        return ledger_errf(rc, errmsg, errmsg_len,
                           "signature file is %zu bytes, at most %d allowed", len,
                           LEDGER_SIGFILE_MAX_LEN);
    if (rc != 0)
        return ledger_errf(rc, errmsg, errmsg_len,
                           "signature file does not decode strictly (unknown field, trailing or "
                           "non-canonical bytes)");
    rc = from_message((const Sealchain__SignatureFile *)m, out, errmsg, errmsg_len);
    if (rc != 0)
        out->count = 0;
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

#define BYTES(field) ((ProtobufCBinaryData){ sizeof(field), (uint8_t *)(field) })

int ledger_sigfile_encode(const struct ledger_sigfile *f, uint8_t **out, size_t *out_len)
{
    if (f->count == 0 || f->count > LEDGER_SIGFILE_MAX_SIGS)
        return LEDGER_E_INVALID;
    Sealchain__SealSignature s[LEDGER_SIGFILE_MAX_SIGS];
    Sealchain__SealSignature *ps[LEDGER_SIGFILE_MAX_SIGS];
    for (size_t i = 0; i < f->count; i++) {
        const struct ledger_seal_sig *g = &f->sigs[i];
        sealchain__seal_signature__init(&s[i]);
        s[i].chain = BYTES(g->chain);
        s[i].seal_id = BYTES(g->seal_id);
        s[i].doc_hash = BYTES(g->doc_hash);
        s[i].user_key = BYTES(g->user_key);
        s[i].use_nonce = BYTES(g->use_nonce);
        s[i].seal_signature = BYTES(g->seal_signature);
        s[i].usage = BYTES(g->usage);
        ps[i] = &s[i];
    }
    Sealchain__SignatureFile m = SEALCHAIN__SIGNATURE_FILE__INIT;
    m.version = LEDGER_SIGFILE_VERSION;
    m.n_signatures = f->count;
    m.signatures = ps;
    return ledger_encode(&m.base, out, out_len);
}

int ledger_sigfile_append(const uint8_t *file, size_t file_len, const struct ledger_seal_sig *sig,
                          uint8_t **out, size_t *out_len, char *errmsg, size_t errmsg_len)
{
    struct ledger_sigfile *f = calloc(1, sizeof *f);
    if (f == NULL)
        return LEDGER_E_NOMEM;
    int rc = 0;
    if (file_len > 0) {
        rc = ledger_sigfile_parse(file, file_len, f, errmsg, errmsg_len);
        if (rc != 0)
            goto out_free;
    }
    if (f->count == LEDGER_SIGFILE_MAX_SIGS) {
        rc = ledger_errf(LEDGER_E_TOO_LARGE, errmsg, errmsg_len,
                         "signature file already holds %d signatures", LEDGER_SIGFILE_MAX_SIGS);
        goto out_free;
    }
    f->sigs[f->count++] = *sig;
    /* The same rules as parsing, so append never writes a file parse refuses. */
    rc = check_set(f, errmsg, errmsg_len);
    if (rc == LEDGER_E_DUPLICATE_SIGNER)
        ledger_errf(rc, errmsg, errmsg_len, "the file already holds a signature of this seal");
    else if (rc == LEDGER_E_DOC_MISMATCH)
        ledger_errf(rc, errmsg, errmsg_len, "the file holds signatures over another document");
    if (rc == 0)
        rc = ledger_sigfile_encode(f, out, out_len);
out_free:
    free(f);
    return rc;
}
