/* Internal: the use rule (用印) and the approval rules (approve, reject, lapse). */
#include <string.h>

#include "ledger/err.h"
#include "ledger/rules.h"

/*
 * Lapse. A pending use lapses once block time passes usage.time + the
 * grant's approval window. Nothing runs at that moment: pending uses are
 * lapsed lazily, deterministically, whenever their grant is touched by a use,
 * an approval or a rejection (the front of GrantRecord.pending, which is in
 * chain order, so times are non-decreasing and the scan stops at the first
 * one still inside its window). A lapsed use gets status LAPSED, decided_ms =
 * the end of its window, and releases the use it held. Until touched, the
 * stored status is still PENDING: queries report ledger_usage_status_at().
 */
static int lapse_scan(struct ledger__ctx *c, const struct ledger__grant *gr, size_t *out_count)
{
    size_t n = 0;
    for (; n < gr->n_pending; n++) {
        struct ledger__usage u;
        int rc = ledger__usage_get(c, gr->pending[n], &u);
        if (rc != 0)
            return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : rc;
        if (!ledger__usage_lapsed(u.time_ms, gr->window, c->time_ms))
            break;
    }
    *out_count = n;
    return 0;
}

static uint64_t window_end(uint64_t t, uint64_t window)
{
    return t + window < t ? UINT64_MAX : t + window;
}

static int lapse_apply(struct ledger__ctx *c, struct ledger__grant *gr, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct ledger__usage u;
        int rc = ledger__usage_get(c, gr->pending[i], &u);
        if (rc != 0)
            return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : rc;
        u.status = USAGE_LAPSED;
        u.decided_ms = window_end(u.time_ms, gr->window);
        if ((rc = ledger__usage_put(c, &u)) != 0)
            return rc;
    }
    memmove(gr->pending, gr->pending + count, (gr->n_pending - count) * LEDGER_HASH_LEN);
    gr->n_pending -= count;
    gr->uses -= (uint32_t)(count < gr->uses ? count : gr->uses);
    return 0;
}

/* Removes usage id from the grant's pending list (no-op when absent). */
static void unpend(struct ledger__grant *gr, const uint8_t *id)
{
    for (size_t i = 0; i < gr->n_pending; i++)
        if (memcmp(gr->pending[i], id, LEDGER_HASH_LEN) == 0) {
            memmove(gr->pending[i], gr->pending[i + 1], (gr->n_pending - i - 1) * LEDGER_HASH_LEN);
            gr->n_pending--;
            return;
        }
}

/* --- use ---------------------------------------------------------------------- */

static int check_use_fields(struct ledger__ctx *c, const Sealchain__SealUse *op)
{
    int rc;
    if ((rc = ledger__check_len(c, "seal id", op->seal_id, LEDGER_HASH_LEN, false)) != 0 ||
        (rc = ledger__check_len(c, "grant id", op->grant, LEDGER_HASH_LEN, false)) != 0 ||
        (rc = ledger__check_len(c, "document hash", op->doc_hash, LEDGER_HASH_LEN, false)) != 0 ||
        (rc = ledger__check_len(c, "use nonce", op->use_nonce, LEDGER_NONCE_LEN, false)) != 0 ||
        (rc = ledger__check_len(c, "seal signature", op->seal_signature, LEDGER_SIG_LEN, false)) !=
            0)
        return rc;
    return 0;
}

/* The seal must be usable at block time: active and inside its window. */
static int check_seal_usable(struct ledger__ctx *c, const struct ledger__seal *s)
{
    char h[LEDGER_SHORT_HEX];
    const char *why;
    int rc = ledger__seal_unusable(c, s, true, &why);
    return rc != 0 ? ledger__fail(c, rc, "seal %s: %s", ledger__short(s->id, h), why) : 0;
}

/* The named grant, which must be the signer's grant for this seal. */
static int check_use_grant(struct ledger__ctx *c, struct ledger__work *w,
                           const Sealchain__SealUse *op)
{
    char h[LEDGER_SHORT_HEX];
    const char *g = ledger__short(op->grant.data, h);
    int rc = ledger__grant_get(c, op->grant.data, &w->grant);
    if (rc == LEDGER_E_NOT_FOUND ||
        (rc == 0 && memcmp(w->grant.seal_id, op->seal_id.data, LEDGER_HASH_LEN) != 0))
        return ledger__fail(c, LEDGER_E_GRANT_MISSING, "grant %s: no such grant for this seal", g);
    if (rc != 0)
        return rc;
    if (memcmp(w->grant.user, c->tx->signer, LEDGER_KEY_LEN) != 0)
        return ledger__fail(c, LEDGER_E_NOT_AUTHORISED, "grant %s: signer is not its user", g);
    return 0;
}

static int check_use(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealUse *op = c->tx->body->seal_use;
    char h[LEDGER_SHORT_HEX];
    int rc = check_use_fields(c, op);
    if (rc != 0)
        return rc;
    rc = ledger__seal_get(c, op->seal_id.data, &w->seal);
    if (rc == LEDGER_E_NOT_FOUND)
        return ledger__fail(c, LEDGER_E_UNKNOWN_SEAL, "seal %s: unknown",
                            ledger__short(op->seal_id.data, h));
    if (rc != 0 || (rc = check_use_grant(c, w, op)) != 0 ||
        (rc = check_seal_usable(c, &w->seal)) != 0)
        return rc;
    const char *g = ledger__short(w->grant.id, h), *why;
    if ((rc = ledger__grant_unusable(c, &w->grant, &why)) != 0)
        return why != NULL ? ledger__fail(c, rc, "grant %s: %s", g, why) : rc;
    if ((rc = lapse_scan(c, &w->grant, &w->lapsable)) != 0)
        return rc;
    uint32_t held = w->grant.uses - (uint32_t)w->lapsable;
    if (w->grant.max_uses != 0 && held >= w->grant.max_uses)
        return ledger__fail(c, LEDGER_E_GRANT_USED_UP, "grant %s: all %u uses taken", g,
                            w->grant.max_uses);
    if (w->grant.n_approvers > 0 && w->grant.n_pending - w->lapsable >= LEDGER_MAX_PENDING)
        return ledger__fail(c, LEDGER_E_TOO_MANY_PENDING,
                            "grant %s: %d uses already await approval", g, LEDGER_MAX_PENDING);
    return 0;
}

/* The seal signature: the seal key over doc_hash ‖ seal_id ‖ user ‖ nonce. */
static int verify_use(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealUse *op = c->tx->body->seal_use;
    uint8_t payload[LEDGER_SEAL_PAYLOAD_LEN];
    char h[LEDGER_SHORT_HEX];
    ledger_seal_payload(op->doc_hash.data, op->seal_id.data, c->tx->signer, op->use_nonce.data,
                        payload);
    int rc = ledger__verify(c, LEDGER_TAG_SEAL, LEDGER_E_BAD_SEAL_SIGNATURE, payload,
                            sizeof(payload), w->seal.seal_key, op->seal_signature.data);
    if (rc == LEDGER_E_BAD_SEAL_SIGNATURE)
        return ledger__fail(c, LEDGER_E_BAD_SEAL_SIGNATURE,
                            "seal %s: the seal signature does not verify under the seal's key",
                            ledger__short(w->seal.id, h));
    return rc;
}

static int apply_use(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealUse *op = c->tx->body->seal_use;
    struct ledger__grant *gr = &w->grant;
    struct ledger__usage *u = &w->usage;
    int rc = lapse_apply(c, gr, w->lapsable);
    if (rc != 0)
        return rc;
    memset(u, 0, sizeof(*u));
    memcpy(u->id, c->tx->id, LEDGER_HASH_LEN);
    memcpy(u->seal_id, op->seal_id.data, LEDGER_HASH_LEN);
    memcpy(u->grant, gr->id, LEDGER_HASH_LEN);
    memcpy(u->user, c->tx->signer, LEDGER_KEY_LEN);
    memcpy(u->doc, op->doc_hash.data, LEDGER_HASH_LEN);
    memcpy(u->nonce, op->use_nonce.data, LEDGER_NONCE_LEN);
    memcpy(u->sig, op->seal_signature.data, LEDGER_SIG_LEN);
    u->height = c->height;
    u->time_ms = c->time_ms;
    gr->uses++; /* a pending use holds its use too */
    if (gr->n_approvers == 0) {
        /* Silent sealing (静默盖章): effective at once. */
        u->status = USAGE_EFFECTIVE;
        u->effective_height = c->height;
        u->decided_ms = c->time_ms;
    } else {
        u->status = USAGE_PENDING;
        memcpy(gr->pending[gr->n_pending++], u->id, LEDGER_HASH_LEN);
    }
    if ((rc = ledger__usage_put(c, u)) != 0 || (rc = ledger__grant_put(c, gr)) != 0 ||
        (rc = ledger__raw_put(c, LEDGER_K_DOC, u->doc, LEDGER_HASH_LEN, u->id, LEDGER_HASH_LEN,
                              NULL, 0)) != 0)
        return rc;
    return ledger__index_put(c, LEDGER_K_SEAL_USAGES, u->seal_id, u->id);
}

/* --- approve / reject ------------------------------------------------------------ */

static bool listed(const void *keys, size_t n, const uint8_t *key)
{
    const uint8_t *k = keys;
    for (size_t i = 0; i < n; i++)
        if (memcmp(k + i * LEDGER_KEY_LEN, key, LEDGER_KEY_LEN) == 0)
            return true;
    return false;
}

/* What approve and reject both check: the use, its grant, the signer among
 * the approvers, no earlier vote, and the use still pending (not lapsed). */
static int check_vote(struct ledger__ctx *c, struct ledger__work *w, ProtobufCBinaryData usage,
                      const char *reason)
{
    char h[LEDGER_SHORT_HEX];
    int rc;
    if ((rc = ledger__check_len(c, "usage id", usage, LEDGER_HASH_LEN, false)) != 0 ||
        (reason != NULL && (rc = ledger__check_text(c, "reason", reason, true)) != 0))
        return rc;
    const char *u = ledger__short(usage.data, h);
    rc = ledger__usage_get(c, usage.data, &w->usage);
    if (rc == LEDGER_E_NOT_FOUND)
        return ledger__fail(c, LEDGER_E_UNKNOWN_USAGE, "use %s: unknown", u);
    if (rc == 0)
        rc = ledger__grant_get(c, w->usage.grant, &w->grant);
    if (rc != 0)
        return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : rc;
    if (!listed(w->grant.approvers, w->grant.n_approvers, c->tx->signer))
        return ledger__fail(c, LEDGER_E_NOT_APPROVER,
                            "use %s: signer is not an approver of its grant", u);
    if (listed(w->usage.approvals, w->usage.n_approvals, c->tx->signer) ||
        listed(w->usage.rejections, w->usage.n_rejections, c->tx->signer))
        return ledger__fail(c, LEDGER_E_ALREADY_VOTED, "use %s: signer has already voted on it", u);
    if (w->usage.status != USAGE_PENDING ||
        ledger__usage_lapsed(w->usage.time_ms, w->grant.window, c->time_ms))
        return ledger__fail(c, LEDGER_E_USAGE_NOT_PENDING, "use %s: no longer pending (%s)", u,
                            w->usage.status == USAGE_EFFECTIVE  ? "effective"
                            : w->usage.status == USAGE_REJECTED ? "rejected"
                                                                : "lapsed");
    return lapse_scan(c, &w->grant, &w->lapsable);
}

/* The approval that reaches m makes the use effective, so it is refused
 * unless, at this block's time, the seal is active and inside its window and
 * the grant is live (DESIGN §1). Earlier approvals only record a vote. */
static int check_approve(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__UsageApprove *op = c->tx->body->usage_approve;
    char h[LEDGER_SHORT_HEX];
    int rc = check_vote(c, w, op->usage, NULL);
    if (rc != 0 || w->usage.n_approvals + 1 < w->grant.threshold)
        return rc;
    const char *u = ledger__short(w->usage.id, h);
    rc = ledger__seal_get(c, w->usage.seal_id, &w->seal);
    if (rc != 0)
        return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : rc;
    const char *why;
    if (ledger__seal_unusable(c, &w->seal, true, &why) != 0)
        return ledger__fail(c, LEDGER_E_APPROVAL_INVALID,
                            "use %s: approval refused, the seal is %s", u, why);
    rc = ledger__grant_unusable(c, &w->grant, &why);
    if (rc != 0 && why == NULL)
        return rc; /* a store error */
    if (rc != 0)
        return ledger__fail(c, LEDGER_E_APPROVAL_INVALID,
                            "use %s: approval refused, the grant is %s", u, why);
    return 0;
}

static int apply_approve(struct ledger__ctx *c, struct ledger__work *w)
{
    struct ledger__usage *u = &w->usage;
    int rc = lapse_apply(c, &w->grant, w->lapsable);
    if (rc != 0)
        return rc;
    memcpy(u->approvals[u->n_approvals++], c->tx->signer, LEDGER_KEY_LEN);
    memcpy(u->approval_txs[u->n_approval_txs++], c->tx->id, LEDGER_HASH_LEN);
    bool decided = u->n_approvals >= w->grant.threshold;
    if (decided) {
        u->status = USAGE_EFFECTIVE;
        u->effective_height = c->height;
        u->decided_ms = c->time_ms;
        unpend(&w->grant, u->id);
    }
    if ((rc = ledger__usage_put(c, u)) != 0)
        return rc;
    return decided || w->lapsable > 0 ? ledger__grant_put(c, &w->grant) : 0;
}

static int check_reject(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__UsageReject *op = c->tx->body->usage_reject;
    return check_vote(c, w, op->usage, op->reason);
}

/* Rejected once m can no longer be reached; the held use is released. */
static int apply_reject(struct ledger__ctx *c, struct ledger__work *w)
{
    struct ledger__usage *u = &w->usage;
    struct ledger__grant *gr = &w->grant;
    int rc = lapse_apply(c, gr, w->lapsable);
    if (rc != 0)
        return rc;
    memcpy(u->rejections[u->n_rejections++], c->tx->signer, LEDGER_KEY_LEN);
    bool decided = gr->n_approvers - u->n_rejections < gr->threshold;
    if (decided) {
        u->status = USAGE_REJECTED;
        u->decided_ms = c->time_ms;
        unpend(gr, u->id);
        if (gr->uses > 0)
            gr->uses--;
    }
    if ((rc = ledger__usage_put(c, u)) != 0)
        return rc;
    return decided || w->lapsable > 0 ? ledger__grant_put(c, gr) : 0;
}

const struct ledger__rule ledger__rule_use = { "seal use", check_use, verify_use, apply_use };
const struct ledger__rule ledger__rule_approve = { "usage approve", check_approve, NULL,
                                                   apply_approve };
const struct ledger__rule ledger__rule_reject = { "usage reject", check_reject, NULL,
                                                  apply_reject };
