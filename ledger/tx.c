/* The transaction envelope: strict decoding, identity, and the signer's signature. */
#include "ledger/tx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/exec.h"

int ledger_tx_open(const uint8_t *buf, size_t len, struct ledger_tx *tx, char *errmsg,
                   size_t errmsg_len)
{
    return ledger_tx_open_known(buf, len, NULL, tx, errmsg, errmsg_len);
}

int ledger_tx_open_known(const uint8_t *buf, size_t len, const uint8_t *known_id,
                         struct ledger_tx *tx, char *errmsg, size_t errmsg_len)
{
    memset(tx, 0, sizeof(*tx));
    if (len > LEDGER_MAX_TX_LEN)
        return ledger_errf(LEDGER_E_TOO_LARGE, errmsg, errmsg_len,
                           "transaction of %zu bytes (limit %d)", len, LEDGER_MAX_TX_LEN);
    Sealchain__Tx *env = sealchain__tx__unpack(NULL, len, buf);
    if (env == NULL)
        return ledger_errf(LEDGER_E_MALFORMED, errmsg, errmsg_len,
                           "transaction envelope does not parse");
    int rc = 0;
    if (env->signer.len != LEDGER_KEY_LEN)
        rc = ledger_errf(LEDGER_E_BAD_FIELD, errmsg, errmsg_len, "signer key is %zu bytes, not 32",
                         env->signer.len);
    else if (env->signature.len != LEDGER_SIG_LEN)
        rc = ledger_errf(LEDGER_E_BAD_FIELD, errmsg, errmsg_len, "signature is %zu bytes, not 64",
                         env->signature.len);
    else if (env->body.len == 0)
        rc = ledger_errf(LEDGER_E_BAD_FIELD, errmsg, errmsg_len, "transaction body is empty");
    if (rc != 0) {
        sealchain__tx__free_unpacked(env, NULL);
        return rc;
    }
    tx->env = env;
    tx->signer = env->signer.data;
    if (known_id != NULL)
        memcpy(tx->id, known_id, LEDGER_HASH_LEN);
    else
        ledger_sha256(env->body.data, env->body.len, tx->id);
    return 0;
}

/* The body names its signer (DESIGN.md §4): without it anyone holding the same
 * right could re-sign a body seen in gossip and land first under its id. A
 * body from before the signer field names none and is refused too. */
static int check_signer(const Sealchain__TxBody *body, const uint8_t signer[LEDGER_KEY_LEN],
                        char *errmsg, size_t errmsg_len)
{
    char named[LEDGER_SHORT_HEX], env[LEDGER_SHORT_HEX];
    if (body->signer.len != LEDGER_KEY_LEN)
        return ledger_errf(LEDGER_E_BAD_FIELD, errmsg, errmsg_len,
                           "transaction body names no signer (signer is %zu bytes, not 32)",
                           body->signer.len);
    if (memcmp(body->signer.data, signer, LEDGER_KEY_LEN) != 0) {
        ledger_short_hex(body->signer.data, named);
        ledger_short_hex(signer, env);
        return ledger_errf(LEDGER_E_SIGNER_MISMATCH, errmsg, errmsg_len,
                           "transaction body names signer %s but the envelope is signed by %s "
                           "(a body re-signed by another key)",
                           named, env);
    }
    return 0;
}

int ledger_tx_parse(struct ledger_tx *tx, const uint8_t *buf, size_t len, char *errmsg,
                    size_t errmsg_len)
{
    /* The envelope was unpacked by ledger_tx_open (the id first, for the
     * replay check); the body is decoded strictly, at every depth. */
    int rc = ledger_codec_canonical(&tx->env->base, buf, len);
    if (rc == LEDGER_E_MALFORMED)
        return ledger_errf(rc, errmsg, errmsg_len,
                           "transaction envelope is not canonically encoded");
    if (rc != 0)
        return rc;
    ProtobufCMessage *m;
    rc = ledger_decode_strict(&sealchain__tx_body__descriptor, tx->env->body.data,
                              tx->env->body.len, LEDGER_MAX_TX_LEN, &m);
    if (rc == LEDGER_E_MALFORMED)
        return ledger_errf(
            rc, errmsg, errmsg_len,
            "transaction body does not parse or is not canonically encoded (unknown, "
            "repeated or misordered field)");
    if (rc != 0)
        return rc;
    Sealchain__TxBody *body = (Sealchain__TxBody *)m;
    if (body->op_case == SEALCHAIN__TX_BODY__OP__NOT_SET)
        rc = ledger_errf(LEDGER_E_MALFORMED, errmsg, errmsg_len,
                         "transaction body names no operation");
    else
        rc = check_signer(body, tx->signer, errmsg, errmsg_len);
    if (rc != 0) {
        sealchain__tx_body__free_unpacked(body, NULL);
        return rc;
    }
    tx->body = body;
    return 0;
}

int ledger_tx_check_sig(const struct ledger_tx *tx, const uint8_t genesis[static LEDGER_HASH_LEN])
{
    return ledger_verify(LEDGER_TAG_TX, genesis, tx->env->body.data, tx->env->body.len, tx->signer,
                         tx->env->signature.data);
}

void ledger_tx_close(struct ledger_tx *tx)
{
    if (tx->body != NULL)
        sealchain__tx_body__free_unpacked(tx->body, NULL);
    if (tx->env != NULL)
        sealchain__tx__free_unpacked(tx->env, NULL);
    memset(tx, 0, sizeof(*tx));
}

int ledger_tx_id(const uint8_t *buf, size_t len, uint8_t id[static LEDGER_HASH_LEN])
{
    struct ledger_tx tx;
    int rc = ledger_tx_open(buf, len, &tx, NULL, 0);
    if (rc != 0)
        return rc;
    memcpy(id, tx.id, LEDGER_HASH_LEN);
    ledger_tx_close(&tx);
    return 0;
}

void ledger_short_hex(const uint8_t *in, char out[static LEDGER_SHORT_HEX])
{
    ledger_hex(in, 4, out);
    memcpy(out + 8, "\xe2\x80\xa6", 4); /* "…" and NUL */
}
