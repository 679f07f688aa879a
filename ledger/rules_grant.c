/* Internal: the grant rules (grant a user the use of a seal; revoke it). */
#include <string.h>

#include "ledger/err.h"
#include "ledger/rules.h"

/* Loads the seal named by seal_id and its org, and the signer's role as its
 * custodian or org admin (the two roles that manage grants). */
static int load_managed_seal(struct ledger__ctx *c, struct ledger__work *w, const uint8_t *seal_id)
{
    char h[LEDGER_SHORT_HEX];
    int rc = ledger__seal_get(c, seal_id, &w->seal);
    if (rc == LEDGER_E_NOT_FOUND)
        return ledger__fail(c, LEDGER_E_UNKNOWN_SEAL, "seal %s: unknown",
                            ledger__short(seal_id, h));
    if (rc == 0)
        rc = ledger__org_get(c, w->seal.org_id, &w->org);
    if (rc != 0)
        return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : rc;
    w->role = ledger__role(c, &w->org, &w->seal,
                           LEDGER__ALLOW(ROLE_CUSTODIAN) | LEDGER__ALLOW(ROLE_ORG_ADMIN));
    if (w->role == ROLE_NONE)
        return ledger__fail(c, LEDGER_E_NOT_AUTHORISED,
                            "seal %s: only its custodian or org admin manages grants",
                            ledger__short(seal_id, h));
    return 0;
}

/* m of n distinct approvers, the user not among them (用印审批); none = silent. */
static int check_rule(struct ledger__ctx *c, const Sealchain__SealGrant *op)
{
    size_t n = op->n_approvers;
    if (n > LEDGER_MAX_APPROVERS)
        return ledger__fail(c, LEDGER_E_BAD_GRANT_RULE, "%zu approvers (at most %d)", n,
                            LEDGER_MAX_APPROVERS);
    for (size_t i = 0; i < n; i++) {
        int rc = ledger__check_len(c, "approver key", op->approvers[i], LEDGER_KEY_LEN, false);
        if (rc != 0)
            return rc;
        if (memcmp(op->approvers[i].data, op->user_key.data, LEDGER_KEY_LEN) == 0)
            return ledger__fail(c, LEDGER_E_BAD_GRANT_RULE,
                                "the user cannot be one of its own approvers");
        for (size_t j = 0; j < i; j++)
            if (memcmp(op->approvers[i].data, op->approvers[j].data, LEDGER_KEY_LEN) == 0)
                return ledger__fail(c, LEDGER_E_BAD_GRANT_RULE, "approver %zu repeats approver %zu",
                                    i, j);
    }
    if (n == 0 && op->threshold != 0)
        return ledger__fail(c, LEDGER_E_BAD_GRANT_RULE,
                            "threshold %u without approvers (silent sealing has none)",
                            op->threshold);
    if (n > 0 && (op->threshold < 1 || op->threshold > n))
        return ledger__fail(c, LEDGER_E_BAD_GRANT_RULE, "threshold %u of %zu approvers",
                            op->threshold, n);
    return 0;
}

static int check_grant(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealGrant *op = c->tx->body->seal_grant;
    char h[LEDGER_SHORT_HEX];
    int rc;
    if ((rc = ledger__check_len(c, "seal id", op->seal_id, LEDGER_HASH_LEN, false)) != 0 ||
        (rc = ledger__check_len(c, "user key", op->user_key, LEDGER_KEY_LEN, false)) != 0 ||
        (rc = check_rule(c, op)) != 0)
        return rc;
    /* A grant that would be expired in its own block is a mistake, not a grant. */
    if (op->expires_ms != 0 && c->time_ms > op->expires_ms)
        return ledger__fail(c, LEDGER_E_GRANT_EXPIRED, "grant expiry is before the block time");
    if ((rc = load_managed_seal(c, w, op->seal_id.data)) != 0)
        return rc;
    /* Granting the use of a suspended seal is refused too: a suspension (挂失)
     * says the seal must not be used until resumed, and a grant made meanwhile
     * would look like a decision to allow it. Grant again after the resume. */
    const char *why;
    if ((rc = ledger__seal_unusable(c, &w->seal, false, &why)) != 0)
        return ledger__fail(c, rc, "seal %s: %s", ledger__short(w->seal.id, h), why);
    uint8_t old_id[LEDGER_HASH_LEN];
    rc = ledger__raw_get(c, LEDGER_K_GRANT_LIVE, op->seal_id.data, LEDGER_HASH_LEN,
                         op->user_key.data, LEDGER_KEY_LEN, old_id);
    w->has_old = false;
    if (rc == 0) {
        rc = ledger__grant_get(c, old_id, &w->old);
        if (rc != 0)
            return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : rc;
        w->has_old = !w->old.revoked;
    } else if (rc != LEDGER_E_NOT_FOUND) {
        return rc;
    }
    return 0;
}

static int apply_grant(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealGrant *op = c->tx->body->seal_grant;
    struct ledger__grant *gr = &w->grant;
    memset(gr, 0, offsetof(struct ledger__grant, pending));
    gr->n_pending = 0;
    memcpy(gr->id, c->tx->id, LEDGER_HASH_LEN);
    memcpy(gr->seal_id, op->seal_id.data, LEDGER_HASH_LEN);
    memcpy(gr->user, op->user_key.data, LEDGER_KEY_LEN);
    gr->expires = op->expires_ms;
    gr->max_uses = op->max_uses;
    for (size_t i = 0; i < op->n_approvers; i++)
        memcpy(gr->approvers[i], op->approvers[i].data, LEDGER_KEY_LEN);
    gr->n_approvers = op->n_approvers;
    gr->threshold = op->threshold;
    gr->window =
        op->approval_window_ms ? op->approval_window_ms : LEDGER_DEFAULT_APPROVAL_WINDOW_MS;
    gr->height = c->height;
    gr->time_ms = c->time_ms;
    int rc = ledger__grant_put(c, gr);
    if (rc == 0)
        rc = ledger__raw_put(c, LEDGER_K_GRANT_LIVE, gr->seal_id, LEDGER_HASH_LEN, gr->user,
                             LEDGER_KEY_LEN, gr->id, LEDGER_HASH_LEN);
    if (rc == 0)
        rc = ledger__index_put(c, LEDGER_K_SEAL_GRANTS, gr->seal_id, gr->id);
    /* One live grant per (seal, user): the new one replaces the old. */
    if (rc == 0 && w->has_old) {
        w->old.revoked = true;
        rc = ledger__grant_put(c, &w->old);
    }
    return rc;
}

static int check_revoke(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealRevokeGrant *op = c->tx->body->seal_revoke_grant;
    char h[LEDGER_SHORT_HEX], u[LEDGER_SHORT_HEX];
    int rc;
    if ((rc = ledger__check_len(c, "seal id", op->seal_id, LEDGER_HASH_LEN, false)) != 0 ||
        (rc = ledger__check_len(c, "user key", op->user_key, LEDGER_KEY_LEN, false)) != 0 ||
        (rc = load_managed_seal(c, w, op->seal_id.data)) != 0)
        return rc;
    uint8_t id[LEDGER_HASH_LEN];
    rc = ledger__raw_get(c, LEDGER_K_GRANT_LIVE, op->seal_id.data, LEDGER_HASH_LEN,
                         op->user_key.data, LEDGER_KEY_LEN, id);
    if (rc == LEDGER_E_NOT_FOUND)
        return ledger__fail(c, LEDGER_E_GRANT_MISSING, "seal %s: no grant to user %s",
                            ledger__short(op->seal_id.data, h),
                            ledger__short(op->user_key.data, u));
    if (rc == 0)
        rc = ledger__grant_get(c, id, &w->grant);
    if (rc != 0)
        return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : rc;
    if (w->grant.revoked)
        return ledger__fail(c, LEDGER_E_GRANT_REVOKED, "seal %s: grant to user %s already revoked",
                            ledger__short(op->seal_id.data, h),
                            ledger__short(op->user_key.data, u));
    return 0;
}

/* Revocation ends the grant; uses still pending under it can no longer be
 * approved (the grant is not live) and will be rejected or lapse. */
static int apply_revoke(struct ledger__ctx *c, struct ledger__work *w)
{
    w->grant.revoked = true;
    return ledger__grant_put(c, &w->grant);
}

const struct ledger__rule ledger__rule_grant = { "seal grant", check_grant, NULL, apply_grant };
const struct ledger__rule ledger__rule_revoke_grant = { "seal revoke-grant", check_revoke, NULL,
                                                        apply_revoke };
