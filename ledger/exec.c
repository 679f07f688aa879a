/* Block execution: every transaction through one validate-then-apply path. */
#include "ledger/exec.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/merkle.h"
#include "ledger/rules.h"

struct ledger_exec {
    const struct ledger_genesis *g;
    uint64_t height, time_ms;
    struct ledger_overlay *ov;
    uint8_t (*ids)[LEDGER_HASH_LEN];    /* tx ids (body hashes), in order */
    uint8_t (*leaves)[LEDGER_HASH_LEN]; /* ledger_merkle_tx_leaf of each tx */
    size_t count, cap;
    struct ledger__work *work; /* scratch, reused: a grant record is large */
    /* Set when an apply ran out of memory half-way: the overlay may hold part
     * of a transaction, so the block cannot be built or checked any more. */
    bool broken;
    bool mempool; /* ledger_exec_mempool: signatures known, no block cap */
    /* ledger_exec_known: for the next run only, borrowed */
    const uint8_t *known_id, *known_leaf;
    ledger_verified_fn verified;
    void *verified_ctx;
};

void ledger_exec_set_verified(struct ledger_exec *ex, ledger_verified_fn fn, void *ctx)
{
    ex->verified = fn;
    ex->verified_ctx = ctx;
}

void ledger_exec_known(struct ledger_exec *ex, const uint8_t *id, const uint8_t *leaf)
{
    ex->known_id = id;
    ex->known_leaf = leaf;
}

void ledger_exec_mempool(struct ledger_exec *ex, uint64_t height, uint64_t time_ms)
{
    ex->mempool = true;
    ex->height = height;
    ex->time_ms = time_ms;
}

const struct ledger__rule *ledger__rule_for(int op_case)
{
    switch (op_case) {
    case SEALCHAIN__TX_BODY__OP_ORG_REGISTER:
        return &ledger__rule_org_register;
    case SEALCHAIN__TX_BODY__OP_SEAL_REGISTER:
        return &ledger__rule_seal_register;
    case SEALCHAIN__TX_BODY__OP_SEAL_GRANT:
        return &ledger__rule_grant;
    case SEALCHAIN__TX_BODY__OP_SEAL_REVOKE_GRANT:
        return &ledger__rule_revoke_grant;
    case SEALCHAIN__TX_BODY__OP_SEAL_SUSPEND:
        return &ledger__rule_suspend;
    case SEALCHAIN__TX_BODY__OP_SEAL_RESUME:
        return &ledger__rule_resume;
    case SEALCHAIN__TX_BODY__OP_SEAL_DESTROY:
        return &ledger__rule_destroy;
    case SEALCHAIN__TX_BODY__OP_SEAL_USE:
        return &ledger__rule_use;
    case SEALCHAIN__TX_BODY__OP_USAGE_APPROVE:
        return &ledger__rule_approve;
    case SEALCHAIN__TX_BODY__OP_USAGE_REJECT:
        return &ledger__rule_reject;
    default:
        return NULL;
    }
}

struct ledger_exec *ledger_exec_new(const struct ledger_genesis *g,
                                    const struct ledger_state_base *base, uint64_t height,
                                    uint64_t time_ms)
{
    struct ledger_exec *ex = calloc(1, sizeof(*ex));
    if (ex == NULL)
        return NULL;
    ex->g = g;
    ex->height = height;
    ex->time_ms = time_ms;
    ex->ov = ledger_overlay_new(base);
    ex->work = malloc(sizeof(*ex->work));
    if (ex->ov == NULL || ex->work == NULL) {
        ledger_exec_free(ex);
        return NULL;
    }
    return ex;
}

void ledger_exec_free(struct ledger_exec *ex)
{
    if (ex == NULL)
        return;
    ledger_overlay_free(ex->ov);
    free(ex->ids);
    free(ex->leaves);
    free(ex->work);
    free(ex);
}

/* Checks common to every type, all cheap: replay (on the id, before the body
 * is even parsed, so a re-wrapped body is a duplicate whatever its envelope),
 * strict decoding, the nonce, and valid_until against block time. */
static int check_envelope(struct ledger__ctx *c, struct ledger_tx *tx, const uint8_t *buf,
                          size_t len)
{
    char h[LEDGER_SHORT_HEX];
    int rc = ledger__raw_get(c, LEDGER_K_TX, tx->id, LEDGER_HASH_LEN, NULL, 0, NULL);
    if (rc == 0)
        return ledger__fail(c, LEDGER_E_DUPLICATE_TX, "tx %s: already on chain",
                            ledger__short(tx->id, h));
    if (rc != LEDGER_E_NOT_FOUND)
        return rc;
    if ((rc = ledger_tx_parse(tx, buf, len, c->errmsg, c->errmsg_len)) != 0)
        return rc;
    const Sealchain__TxBody *b = tx->body;
    if (b->nonce.len != LEDGER_NONCE_LEN)
        return ledger__fail(c, LEDGER_E_BAD_FIELD, "tx nonce is %zu bytes, must be 16",
                            b->nonce.len);
    if (b->valid_until_ms < c->time_ms)
        return ledger__fail(c, LEDGER_E_EXPIRED_TX,
                            "tx %s: expired (valid until %llu, block time %llu)",
                            ledger__short(tx->id, h), (unsigned long long)b->valid_until_ms,
                            (unsigned long long)c->time_ms);
    if (b->valid_until_ms - c->time_ms > LEDGER_MAX_TX_VALIDITY_MS)
        return ledger__fail(c, LEDGER_E_TX_TOO_FAR,
                            "tx %s: valid_until is more than 24 h after block time",
                            ledger__short(tx->id, h));
    return 0;
}

/* The one path: envelope, rule check, tx signature, rule signatures, then
 * (when apply) the writes. Nothing is written unless every check passed. */
/* How far run() goes. */
int ledger__verify(struct ledger__ctx *c, int tag, int code, const uint8_t *payload, size_t len,
                   const uint8_t key[static LEDGER_KEY_LEN],
                   const uint8_t sig[static LEDGER_SIG_LEN])
{
    if (c->sigs_known)
        return 0;
    if (c->collect == NULL) {
        int rc = ledger_verify((enum ledger_tag)tag, c->g->hash, payload, len, key, sig);
        return rc == LEDGER_E_BAD_SIGNATURE ? code : rc;
    }
    if (c->collect->n == LEDGER_MAX_SIGJOBS || len > LEDGER_MAX_TX_LEN)
        return LEDGER_E_INVALID; /* a rule asks for more than a tx can need */
    struct ledger_sigjob *j = &c->collect->job[c->collect->n++];
    j->tag = tag;
    j->code = code;
    memcpy(j->key, key, LEDGER_KEY_LEN);
    memcpy(j->sig, sig, LEDGER_SIG_LEN);
    memcpy(j->payload, payload, len);
    j->payload_len = len;
    return 0;
}

/* One check; on failure its refusal code and reason. */
static int verify_one(int tag, int code, const uint8_t genesis[static LEDGER_HASH_LEN],
                      const uint8_t *payload, size_t len, const uint8_t *key, const uint8_t *sig,
                      char *errmsg, size_t errmsg_len)
{
    int rc = ledger_verify((enum ledger_tag)tag, genesis, payload, len, key, sig);
    if (rc == 0)
        return 0;
    if (rc == LEDGER_E_BAD_SIGNATURE)
        rc = code;
    if (errmsg != NULL && errmsg_len > 0)
        snprintf(errmsg, errmsg_len, "%s",
                 rc == LEDGER_E_BAD_SEAL_SIGNATURE
                     ? "the seal signature does not verify under the seal's key"
                     : "the signer's signature does not verify");
    return rc;
}

int ledger_sigjobs_verify(const struct ledger_sigjobs *jobs,
                          const uint8_t genesis[static LEDGER_HASH_LEN], char *errmsg,
                          size_t errmsg_len)
{
    for (size_t i = 0; i < jobs->n; i++) {
        const struct ledger_sigjob *j = &jobs->job[i];
        int rc = verify_one(j->tag, j->code, genesis, j->payload, j->payload_len, j->key, j->sig,
                            errmsg, errmsg_len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

struct packed_job {
    int tag, code;
    uint8_t key[LEDGER_KEY_LEN];
    uint8_t sig[LEDGER_SIG_LEN];
    size_t off, len; /* into bytes */
};
struct ledger_sigjobs_packed {
    size_t n;
    struct packed_job job[LEDGER_MAX_SIGJOBS];
    uint8_t bytes[]; /* the signed payloads, back to back */
};

struct ledger_sigjobs_packed *ledger_sigjobs_pack(const struct ledger_sigjobs *jobs)
{
    size_t total = 0;
    for (size_t i = 0; i < jobs->n; i++)
        total += jobs->job[i].payload_len;
    struct ledger_sigjobs_packed *p = malloc(sizeof *p + total);
    if (p == NULL)
        return NULL;
    p->n = jobs->n;
    size_t off = 0;
    for (size_t i = 0; i < jobs->n; i++) {
        const struct ledger_sigjob *j = &jobs->job[i];
        struct packed_job *d = &p->job[i];
        d->tag = j->tag;
        d->code = j->code;
        memcpy(d->key, j->key, LEDGER_KEY_LEN);
        memcpy(d->sig, j->sig, LEDGER_SIG_LEN);
        d->off = off;
        d->len = j->payload_len;
        memcpy(p->bytes + off, j->payload, j->payload_len);
        off += j->payload_len;
    }
    return p;
}

int ledger_sigjobs_packed_verify(const struct ledger_sigjobs_packed *p,
                                 const uint8_t genesis[static LEDGER_HASH_LEN], char *errmsg,
                                 size_t errmsg_len)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct packed_job *j = &p->job[i];
        int rc = verify_one(j->tag, j->code, genesis, p->bytes + j->off, j->len, j->key, j->sig,
                            errmsg, errmsg_len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

enum run_mode {
    RUN_COLLECT, /* every rule, signature checks listed instead of made, no writes */
    RUN_RECHECK, /* every rule but the signature checks, no writes */
    RUN_CHECK,   /* every rule, no writes */
    RUN_APPLY,   /* every rule, then the writes */
    RUN_DEFER,   /* RUN_APPLY with the signature checks listed instead of made */
};

static int run(struct ledger_exec *ex, const uint8_t *buf, size_t len, enum run_mode mode,
               struct ledger_sigjobs *jobs, uint8_t *out_id, char *errmsg, size_t errmsg_len)
{
    bool apply = mode == RUN_APPLY || mode == RUN_DEFER;
    /* The hint is for this call only, whatever its outcome. */
    const uint8_t *known_id = ex->known_id, *known_leaf = ex->known_leaf;
    ex->known_id = ex->known_leaf = NULL;
    if (errmsg != NULL && errmsg_len > 0)
        errmsg[0] = '\0';
    struct ledger_tx tx;
    struct ledger__ctx c = { ex->g, ex->ov, ex->height, ex->time_ms, (uint32_t)ex->count,
                             &tx,   errmsg, errmsg_len, NULL,        false };
    if (mode == RUN_COLLECT || mode == RUN_DEFER) {
        jobs->n = 0;
        c.collect = jobs;
    }
    if (ex->broken)
        return ledger__fail(&c, LEDGER_E_NOMEM,
                            "block execution stopped after running out of memory");
    if (apply && !ex->mempool && ex->count >= LEDGER_MAX_BLOCK_TXS)
        return ledger__fail(&c, LEDGER_E_TOO_LARGE, "block already holds %d transactions",
                            LEDGER_MAX_BLOCK_TXS);
    int rc = ledger_tx_open_known(buf, len, known_id, &tx, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    uint8_t leaf[LEDGER_HASH_LEN];
    if (apply && ex->mempool) {
        c.sigs_known = true; /* verified at admission (ledger_exec_mempool) */
    } else if (apply) {
        if (known_leaf != NULL)
            memcpy(leaf, known_leaf, LEDGER_HASH_LEN);
        else
            ledger_merkle_tx_leaf(buf, len, leaf);
        c.sigs_known = ex->verified != NULL && ex->verified(ex->verified_ctx, tx.id, leaf);
    }
    if (out_id != NULL)
        memcpy(out_id, tx.id, LEDGER_HASH_LEN);
    const struct ledger__rule *rule = NULL;
    if ((rc = check_envelope(&c, &tx, buf, len)) != 0)
        goto out_close_tx;
    rule = ledger__rule_for(tx.body->op_case);
    if (rule == NULL) {
        rc = ledger__fail(&c, LEDGER_E_MALFORMED, "unknown transaction type");
        goto out_close_tx;
    }
    if ((rc = rule->check(&c, ex->work)) != 0)
        goto out_close_tx;
    if (mode == RUN_RECHECK)
        goto out_close_tx;
    if ((rc = ledger__verify(&c, LEDGER_TAG_TX, LEDGER_E_BAD_SIGNATURE, tx.env->body.data,
                             tx.env->body.len, tx.signer, tx.env->signature.data)) != 0) {
        char h[LEDGER_SHORT_HEX];
        rc = ledger__fail(&c, rc, "tx %s: the signer's signature does not verify",
                          ledger__short(tx.id, h));
        goto out_close_tx;
    }
    if (rule->verify != NULL && (rc = rule->verify(&c, ex->work)) != 0)
        goto out_close_tx;
    if (!apply)
        goto out_close_tx;
    /* The mempool's view needs neither the replay record (the mempool finds
     * its own duplicates by id) nor the tx tree's leaves: only the state. */
    if ((rc = rule->apply(&c, ex->work)) == 0 && !ex->mempool)
        rc = ledger__txloc_put(&c);
    if (rc != 0) {
        ex->broken = true;
        goto out_close_tx;
    }
    if (ex->mempool) {
        ex->count++;
        goto out_close_tx;
    }
    if (ex->count == ex->cap) {
        size_t cap = ex->cap ? ex->cap * 2 : 64;
        void *ids = realloc(ex->ids, cap * LEDGER_HASH_LEN);
        if (ids != NULL)
            ex->ids = ids;
        void *leaves = ids != NULL ? realloc(ex->leaves, cap * LEDGER_HASH_LEN) : NULL;
        if (leaves == NULL) {
            ex->broken = true;
            rc = LEDGER_E_NOMEM;
            goto out_close_tx;
        }
        ex->leaves = leaves;
        ex->cap = cap;
    }
    memcpy(ex->leaves[ex->count], leaf, LEDGER_HASH_LEN);
    memcpy(ex->ids[ex->count++], tx.id, LEDGER_HASH_LEN);
out_close_tx:
    if (rc != 0 && rule != NULL && errmsg != NULL && errmsg_len > 0 && errmsg[0] == '\0')
        ledger__fail(&c, rc, "%s: %s", rule->name, ledger_strerror(rc));
    else if (rc != 0 && errmsg != NULL && errmsg_len > 0 && errmsg[0] == '\0')
        ledger__fail(&c, rc, "%s", ledger_strerror(rc));
    ledger_tx_close(&tx);
    return rc;
}

int ledger_exec_tx(struct ledger_exec *ex, const uint8_t *tx, size_t tx_len,
                   uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    return run(ex, tx, tx_len, RUN_APPLY, NULL, out_id, errmsg, errmsg_len);
}

int ledger_exec_check(struct ledger_exec *ex, const uint8_t *tx, size_t tx_len,
                      uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    return run(ex, tx, tx_len, RUN_CHECK, NULL, out_id, errmsg, errmsg_len);
}

int ledger_exec_recheck(struct ledger_exec *ex, const uint8_t *tx, size_t tx_len,
                        uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    return run(ex, tx, tx_len, RUN_RECHECK, NULL, out_id, errmsg, errmsg_len);
}

int ledger_exec_collect(struct ledger_exec *ex, const uint8_t *tx, size_t tx_len,
                        struct ledger_sigjobs *out_jobs, uint8_t out_id[LEDGER_HASH_LEN],
                        char *errmsg, size_t errmsg_len)
{
    return run(ex, tx, tx_len, RUN_COLLECT, out_jobs, out_id, errmsg, errmsg_len);
}

int ledger_exec_tx_deferred(struct ledger_exec *ex, const uint8_t *tx, size_t tx_len,
                            struct ledger_sigjobs *out_jobs, uint8_t out_id[LEDGER_HASH_LEN],
                            char *errmsg, size_t errmsg_len)
{
    return run(ex, tx, tx_len, RUN_DEFER, out_jobs, out_id, errmsg, errmsg_len);
}

int ledger_exec_finish(struct ledger_exec *ex,
                       const uint8_t prev_state_root[static LEDGER_HASH_LEN], uint8_t *out_tx_root,
                       uint8_t out_state_root[static LEDGER_HASH_LEN])
{
    if (ex->broken)
        return LEDGER_E_NOMEM;
    int rc = out_tx_root == NULL ? 0
                                 : ledger_merkle_root((const uint8_t(*)[LEDGER_HASH_LEN])ex->leaves,
                                                      ex->count, out_tx_root);
    uint8_t digest[LEDGER_HASH_LEN];
    if (rc == 0)
        rc = ledger_overlay_digest(ex->ov, digest);
    if (rc == 0)
        ledger_state_root_next(prev_state_root, digest, out_state_root);
    return rc;
}

struct ledger_overlay *ledger_exec_overlay(struct ledger_exec *ex)
{
    return ex->ov;
}

size_t ledger_exec_count(const struct ledger_exec *ex)
{
    return ex->count;
}

const uint8_t (*ledger_exec_ids(const struct ledger_exec *ex))[LEDGER_HASH_LEN]
{
    return (const uint8_t(*)[LEDGER_HASH_LEN])ex->ids;
}

const uint8_t (*ledger_exec_leaves(const struct ledger_exec *ex))[LEDGER_HASH_LEN]
{
    return (const uint8_t(*)[LEDGER_HASH_LEN])ex->leaves;
}

int ledger_usage_status_at(int stored_status, uint64_t usage_time_ms, uint64_t approval_window_ms,
                           uint64_t now_ms)
{
    if (stored_status == USAGE_PENDING &&
        ledger__usage_lapsed(usage_time_ms, approval_window_ms, now_ms))
        return USAGE_LAPSED;
    return stored_status;
}

int ledger_state_genesis(const struct ledger_genesis *g, struct ledger_overlay *ov)
{
    struct ledger__ctx c = { g, ov, 0, g->time_ms, 0, NULL, NULL, 0, NULL, false };
    for (uint32_t i = 0; i < g->n; i++) {
        const struct ledger_validator *v = &g->validators[i];
        struct ledger__org o;
        memset(&o, 0, sizeof(o));
        memcpy(o.org_id, v->org_id, sizeof(o.org_id));
        memcpy(o.name, v->org_name, sizeof(o.name));
        memcpy(o.admin, v->admin_key, LEDGER_KEY_LEN);
        o.authority = i; /* a validator organisation is its own filing authority */
        int rc = ledger__org_put(&c, &o);
        if (rc != 0)
            return rc;
    }
    return 0;
}
