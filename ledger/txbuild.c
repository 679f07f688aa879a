/* Builders of signed transactions, for sealctl, tests and benchmarks. */
#include "ledger/txbuild.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"

static ProtobufCBinaryData bin(const uint8_t *p, size_t len)
{
    ProtobufCBinaryData b = { p == NULL ? 0 : len, (uint8_t *)p };
    return b;
}

/* protobuf-c wants "" rather than NULL for an absent proto3 string. */
static char *str(const char *s)
{
    return (char *)(s == NULL ? "" : s);
}

int ledger_txb_wrap(const uint8_t *body, size_t body_len,
                    const uint8_t signer[static LEDGER_KEY_LEN],
                    const uint8_t sig[static LEDGER_SIG_LEN], uint8_t **out, size_t *out_len)
{
    Sealchain__Tx env = SEALCHAIN__TX__INIT;
    env.body = bin(body, body_len);
    env.signer = bin(signer, LEDGER_KEY_LEN);
    env.signature = bin(sig, LEDGER_SIG_LEN);
    size_t n = sealchain__tx__get_packed_size(&env);
    uint8_t *buf = malloc(n);
    if (buf == NULL)
        return LEDGER_E_NOMEM;
    sealchain__tx__pack(&env, buf);
    *out = buf;
    *out_len = n;
    return 0;
}

int ledger_txb_sign_body(const struct ledger_genesis *g, const uint8_t sk[static 64],
                         const Sealchain__TxBody *body, uint8_t **out, size_t *out_len)
{
    /* A shallow copy: body stays borrowed and unchanged. */
    Sealchain__TxBody named = *body;
    if (named.signer.len == 0)
        named.signer = bin(sk + 32, LEDGER_KEY_LEN);
    size_t n = sealchain__tx_body__get_packed_size(&named);
    uint8_t *raw = malloc(n ? n : 1);
    if (raw == NULL)
        return LEDGER_E_NOMEM;
    sealchain__tx_body__pack(&named, raw);
    uint8_t sig[LEDGER_SIG_LEN];
    int rc = ledger_sign(LEDGER_TAG_TX, g->hash, raw, n, sk, sig);
    if (rc == 0)
        rc = ledger_txb_wrap(raw, n, sk + 32, sig, out, out_len);
    free(raw);
    return rc;
}

/* Fills the common fields with a fresh nonce, then signs. */
static int finish(const struct ledger_genesis *g, const uint8_t sk[static 64],
                  uint64_t valid_until_ms, Sealchain__TxBody *body, uint8_t **out, size_t *out_len)
{
    uint8_t nonce[LEDGER_NONCE_LEN];
    randombytes_buf(nonce, sizeof(nonce));
    body->nonce = bin(nonce, sizeof(nonce));
    body->valid_until_ms = valid_until_ms;
    return ledger_txb_sign_body(g, sk, body, out, out_len);
}

int ledger_txb_org_register(const struct ledger_genesis *g, const uint8_t sk[static 64],
                            uint64_t valid_until_ms, const char *org_id, const char *name,
                            const uint8_t admin[static LEDGER_KEY_LEN],
                            const uint8_t *legal_rep_hash, uint8_t **out, size_t *out_len)
{
    Sealchain__OrgRegister op = SEALCHAIN__ORG_REGISTER__INIT;
    op.org_id = str(org_id);
    op.name = str(name);
    op.admin_key = bin(admin, LEDGER_KEY_LEN);
    op.legal_rep_hash = bin(legal_rep_hash, LEDGER_HASH_LEN);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_ORG_REGISTER;
    body.org_register = &op;
    return finish(g, sk, valid_until_ms, &body, out, out_len);
}

int ledger_txb_seal_register(const struct ledger_genesis *g, const uint8_t sk[static 64],
                             uint64_t valid_until_ms, const struct ledger_txb_seal *p,
                             uint8_t **out, size_t *out_len)
{
    if (p == NULL)
        return LEDGER_E_INVALID;
    Sealchain__SealRegister op = SEALCHAIN__SEAL_REGISTER__INIT;
    op.org_id = str(p->org_id);
    op.type = (Sealchain__SealType)p->type;
    op.name = str(p->name);
    op.seal_key = bin(p->seal_key, LEDGER_KEY_LEN);
    op.custodian_key = bin(p->custodian, LEDGER_KEY_LEN);
    op.image_hash = bin(p->image_hash, LEDGER_HASH_LEN);
    op.valid_from_ms = p->valid_from_ms;
    op.valid_to_ms = p->valid_to_ms;
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_SEAL_REGISTER;
    body.seal_register = &op;
    return finish(g, sk, valid_until_ms, &body, out, out_len);
}

int ledger_txb_grant(const struct ledger_genesis *g, const uint8_t sk[static 64],
                     uint64_t valid_until_ms, const struct ledger_txb_grant *p, uint8_t **out,
                     size_t *out_len)
{
    if (p == NULL || p->n_approvers > LEDGER_MAX_APPROVERS ||
        (p->n_approvers > 0 && p->approvers == NULL))
        return LEDGER_E_INVALID;
    ProtobufCBinaryData approvers[LEDGER_MAX_APPROVERS];
    for (size_t i = 0; i < p->n_approvers; i++)
        approvers[i] = bin(p->approvers[i], LEDGER_KEY_LEN);
    Sealchain__SealGrant op = SEALCHAIN__SEAL_GRANT__INIT;
    op.seal_id = bin(p->seal_id, LEDGER_HASH_LEN);
    op.user_key = bin(p->user_key, LEDGER_KEY_LEN);
    op.expires_ms = p->expires_ms;
    op.max_uses = p->max_uses;
    op.n_approvers = p->n_approvers;
    op.approvers = p->n_approvers ? approvers : NULL;
    op.threshold = p->threshold;
    op.approval_window_ms = p->approval_window_ms;
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_SEAL_GRANT;
    body.seal_grant = &op;
    return finish(g, sk, valid_until_ms, &body, out, out_len);
}

int ledger_txb_revoke_grant(const struct ledger_genesis *g, const uint8_t sk[static 64],
                            uint64_t valid_until_ms, const uint8_t seal_id[static LEDGER_HASH_LEN],
                            const uint8_t user_key[static LEDGER_KEY_LEN], uint8_t **out,
                            size_t *out_len)
{
    Sealchain__SealRevokeGrant op = SEALCHAIN__SEAL_REVOKE_GRANT__INIT;
    op.seal_id = bin(seal_id, LEDGER_HASH_LEN);
    op.user_key = bin(user_key, LEDGER_KEY_LEN);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_SEAL_REVOKE_GRANT;
    body.seal_revoke_grant = &op;
    return finish(g, sk, valid_until_ms, &body, out, out_len);
}

int ledger_txb_suspend(const struct ledger_genesis *g, const uint8_t sk[static 64],
                       uint64_t valid_until_ms, const uint8_t seal_id[static LEDGER_HASH_LEN],
                       const uint8_t prev[static LEDGER_HASH_LEN], const char *reason,
                       uint8_t **out, size_t *out_len)
{
    Sealchain__SealSuspend op = SEALCHAIN__SEAL_SUSPEND__INIT;
    op.seal_id = bin(seal_id, LEDGER_HASH_LEN);
    op.prev = bin(prev, LEDGER_HASH_LEN);
    op.reason = str(reason);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_SEAL_SUSPEND;
    body.seal_suspend = &op;
    return finish(g, sk, valid_until_ms, &body, out, out_len);
}

int ledger_txb_resume(const struct ledger_genesis *g, const uint8_t sk[static 64],
                      uint64_t valid_until_ms, const uint8_t seal_id[static LEDGER_HASH_LEN],
                      const uint8_t prev[static LEDGER_HASH_LEN], uint8_t **out, size_t *out_len)
{
    Sealchain__SealResume op = SEALCHAIN__SEAL_RESUME__INIT;
    op.seal_id = bin(seal_id, LEDGER_HASH_LEN);
    op.prev = bin(prev, LEDGER_HASH_LEN);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_SEAL_RESUME;
    body.seal_resume = &op;
    return finish(g, sk, valid_until_ms, &body, out, out_len);
}

int ledger_txb_destroy(const struct ledger_genesis *g, const uint8_t sk[static 64],
                       uint64_t valid_until_ms, const uint8_t seal_id[static LEDGER_HASH_LEN],
                       const uint8_t prev[static LEDGER_HASH_LEN], const char *reason,
                       uint8_t **out, size_t *out_len)
{
    Sealchain__SealDestroy op = SEALCHAIN__SEAL_DESTROY__INIT;
    op.seal_id = bin(seal_id, LEDGER_HASH_LEN);
    op.prev = bin(prev, LEDGER_HASH_LEN);
    op.reason = str(reason);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_SEAL_DESTROY;
    body.seal_destroy = &op;
    return finish(g, sk, valid_until_ms, &body, out, out_len);
}

int ledger_txb_use(const struct ledger_genesis *g, const uint8_t sk[static 64],
                   uint64_t valid_until_ms, const uint8_t seal_sk[static 64],
                   const uint8_t seal_id[static LEDGER_HASH_LEN],
                   const uint8_t grant_id[static LEDGER_HASH_LEN],
                   const uint8_t doc_hash[static LEDGER_HASH_LEN], uint8_t *out_use_nonce,
                   uint8_t *out_seal_sig, uint8_t **out, size_t *out_len)
{
    uint8_t nonce[LEDGER_NONCE_LEN], payload[LEDGER_SEAL_PAYLOAD_LEN], sig[LEDGER_SIG_LEN];
    randombytes_buf(nonce, sizeof(nonce));
    ledger_seal_payload(doc_hash, seal_id, sk + 32, nonce, payload);
    int rc = ledger_sign(LEDGER_TAG_SEAL, g->hash, payload, sizeof(payload), seal_sk, sig);
    if (rc != 0)
        return rc;
    Sealchain__SealUse op = SEALCHAIN__SEAL_USE__INIT;
    op.seal_id = bin(seal_id, LEDGER_HASH_LEN);
    op.grant = bin(grant_id, LEDGER_HASH_LEN);
    op.doc_hash = bin(doc_hash, LEDGER_HASH_LEN);
    op.use_nonce = bin(nonce, LEDGER_NONCE_LEN);
    op.seal_signature = bin(sig, LEDGER_SIG_LEN);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_SEAL_USE;
    body.seal_use = &op;
    rc = finish(g, sk, valid_until_ms, &body, out, out_len);
    if (rc == 0 && out_use_nonce != NULL)
        memcpy(out_use_nonce, nonce, LEDGER_NONCE_LEN);
    if (rc == 0 && out_seal_sig != NULL)
        memcpy(out_seal_sig, sig, LEDGER_SIG_LEN);
    return rc;
}

int ledger_txb_approve(const struct ledger_genesis *g, const uint8_t sk[static 64],
                       uint64_t valid_until_ms, const uint8_t usage[static LEDGER_HASH_LEN],
                       uint8_t **out, size_t *out_len)
{
    Sealchain__UsageApprove op = SEALCHAIN__USAGE_APPROVE__INIT;
    op.usage = bin(usage, LEDGER_HASH_LEN);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_USAGE_APPROVE;
    body.usage_approve = &op;
    return finish(g, sk, valid_until_ms, &body, out, out_len);
}

int ledger_txb_reject(const struct ledger_genesis *g, const uint8_t sk[static 64],
                      uint64_t valid_until_ms, const uint8_t usage[static LEDGER_HASH_LEN],
                      const char *reason, uint8_t **out, size_t *out_len)
{
    Sealchain__UsageReject op = SEALCHAIN__USAGE_REJECT__INIT;
    op.usage = bin(usage, LEDGER_HASH_LEN);
    op.reason = str(reason);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_USAGE_REJECT;
    body.usage_reject = &op;
    return finish(g, sk, valid_until_ms, &body, out, out_len);
}
