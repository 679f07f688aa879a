/* Internal: seal registration and the lifecycle rules (suspend, resume, destroy). */
#include <string.h>

#include "ledger/err.h"
#include "ledger/rules.h"

#define SEAL_TYPE_MAX SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OTHER

static const char *role_name(int role)
{
    switch (role) {
    case ROLE_CUSTODIAN:
        return "custodian";
    case ROLE_ORG_ADMIN:
        return "org admin";
    case ROLE_AUTHORITY:
        return "filing authority";
    default:
        return "none";
    }
}

/* --- register --------------------------------------------------------------- */

static int check_register_fields(struct ledger__ctx *c, const Sealchain__SealRegister *op)
{
    int rc;
    if (op->type < 1 || op->type > SEAL_TYPE_MAX)
        return ledger__fail(c, LEDGER_E_BAD_FIELD, "seal type %d is not a known type",
                            (int)op->type);
    if ((rc = ledger__check_text(c, "seal name", op->name, false)) != 0 ||
        (rc = ledger__check_len(c, "seal key", op->seal_key, LEDGER_KEY_LEN, false)) != 0 ||
        (rc = ledger__check_len(c, "custodian key", op->custodian_key, LEDGER_KEY_LEN, true)) !=
            0 ||
        (rc = ledger__check_len(c, "image hash", op->image_hash, LEDGER_HASH_LEN, true)) != 0)
        return rc;
    if (op->valid_from_ms != 0 && op->valid_to_ms != 0 && op->valid_from_ms > op->valid_to_ms)
        return ledger__fail(c, LEDGER_E_BAD_FIELD, "seal validity window ends before it starts");
    return 0;
}

static int check_seal_register(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealRegister *op = c->tx->body->seal_register;
    char h[LEDGER_SHORT_HEX];
    int rc = check_register_fields(c, op);
    if (rc != 0)
        return rc;
    rc = ledger__org_get(c, op->org_id, &w->org);
    if (rc == LEDGER_E_NOT_FOUND)
        return ledger__fail(c, LEDGER_E_UNKNOWN_ORG, "org %.64s: not filed", op->org_id);
    if (rc != 0)
        return rc;
    w->role = ledger__role(c, &w->org, NULL,
                           LEDGER__ALLOW(ROLE_ORG_ADMIN) | LEDGER__ALLOW(ROLE_AUTHORITY));
    if (w->role == ROLE_NONE)
        return ledger__fail(c, LEDGER_E_NOT_AUTHORISED,
                            "org %s: only its admin or its filing authority registers seals",
                            w->org.org_id);
    rc = ledger__raw_get(c, LEDGER_K_SEAL_KEY, op->seal_key.data, LEDGER_KEY_LEN, NULL, 0, NULL);
    if (rc == 0)
        return ledger__fail(c, LEDGER_E_SEAL_KEY_EXISTS, "seal key %s: already registered",
                            ledger__short(op->seal_key.data, h));
    if (rc != LEDGER_E_NOT_FOUND)
        return rc;
    if (op->type == SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL && w->org.has_official)
        return ledger__fail(c, LEDGER_E_OFFICIAL_SEAL_EXISTS,
                            "org %s: already has official seal %s (destroy it first)",
                            w->org.org_id, ledger__short(w->org.official, h));
    return 0;
}

static int apply_seal_register(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealRegister *op = c->tx->body->seal_register;
    struct ledger__seal *s = &w->seal;
    memset(s, 0, sizeof(*s));
    memcpy(s->id, c->tx->id, LEDGER_HASH_LEN);
    memcpy(s->org_id, w->org.org_id, sizeof(s->org_id));
    s->type = op->type;
    memcpy(s->name, op->name, strlen(op->name) + 1);
    memcpy(s->seal_key, op->seal_key.data, LEDGER_KEY_LEN);
    memcpy(s->custodian, op->custodian_key.len ? op->custodian_key.data : w->org.admin,
           LEDGER_KEY_LEN);
    s->has_image = op->image_hash.len != 0;
    if (s->has_image)
        memcpy(s->image, op->image_hash.data, LEDGER_HASH_LEN);
    s->valid_from = op->valid_from_ms;
    s->valid_to = op->valid_to_ms;
    s->status = SEAL_ACTIVE;
    s->suspended_by = ROLE_NONE;
    memcpy(s->last, c->tx->id, LEDGER_HASH_LEN);
    s->registered_height = c->height;
    s->history_count = 0;
    int rc = ledger__history_put(c, s, HIST_REGISTER, w->role, NULL);
    s->history_count = 1;
    if (rc == 0)
        rc = ledger__seal_put(c, s);
    if (rc == 0)
        rc = ledger__raw_put(c, LEDGER_K_SEAL_KEY, s->seal_key, LEDGER_KEY_LEN, NULL, 0, s->id,
                             LEDGER_HASH_LEN);
    if (rc == 0 && op->type == SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL) {
        w->org.has_official = true;
        memcpy(w->org.official, s->id, LEDGER_HASH_LEN);
        rc = ledger__org_put(c, &w->org);
    }
    return rc;
}

/* --- lifecycle ----------------------------------------------------------------- */

/* What every lifecycle tx checks: fields, the seal and its org, the signer's
 * role among `allowed`, not destroyed, and prev = the seal's latest history
 * entry (so a stale, signed-but-unsent tx never undoes a later one). */
static int check_lifecycle(struct ledger__ctx *c, struct ledger__work *w,
                           ProtobufCBinaryData seal_id, ProtobufCBinaryData prev,
                           const char *reason, unsigned allowed, const char *who)
{
    char h[LEDGER_SHORT_HEX], h2[LEDGER_SHORT_HEX];
    int rc;
    if ((rc = ledger__check_len(c, "seal id", seal_id, LEDGER_HASH_LEN, false)) != 0 ||
        (rc = ledger__check_len(c, "prev (latest history entry)", prev, LEDGER_HASH_LEN, false)) !=
            0 ||
        (reason != NULL && (rc = ledger__check_text(c, "reason", reason, true)) != 0))
        return rc;
    rc = ledger__seal_get(c, seal_id.data, &w->seal);
    if (rc == LEDGER_E_NOT_FOUND)
        return ledger__fail(c, LEDGER_E_UNKNOWN_SEAL, "seal %s: unknown",
                            ledger__short(seal_id.data, h));
    if (rc == 0)
        rc = ledger__org_get(c, w->seal.org_id, &w->org);
    if (rc != 0)
        return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_STORE : rc;
    w->role = ledger__role(c, &w->org, &w->seal, allowed);
    if (w->role == ROLE_NONE)
        return ledger__fail(c, LEDGER_E_NOT_AUTHORISED, "seal %s: signer is not its %s",
                            ledger__short(w->seal.id, h), who);
    if (w->seal.status == SEAL_DESTROYED)
        return ledger__fail(c, LEDGER_E_SEAL_DESTROYED, "seal %s: destroyed",
                            ledger__short(w->seal.id, h));
    if (memcmp(prev.data, w->seal.last, LEDGER_HASH_LEN) != 0)
        return ledger__fail(c, LEDGER_E_STALE,
                            "seal %s: stale, names history entry %s but the latest is %s",
                            ledger__short(w->seal.id, h), ledger__short(prev.data, h2),
                            ledger__short(w->seal.last, (char[LEDGER_SHORT_HEX]){ 0 }));
    return 0;
}

static int apply_lifecycle(struct ledger__ctx *c, struct ledger__work *w, int action,
                           const char *reason)
{
    struct ledger__seal *s = &w->seal;
    int rc = ledger__history_put(c, s, action, w->role, reason);
    s->history_count++;
    memcpy(s->last, c->tx->id, LEDGER_HASH_LEN);
    if (rc == 0)
        rc = ledger__seal_put(c, s);
    return rc;
}

static int check_suspend(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealSuspend *op = c->tx->body->seal_suspend;
    char h[LEDGER_SHORT_HEX];
    int rc = check_lifecycle(c, w, op->seal_id, op->prev, op->reason,
                             LEDGER__ALLOW(ROLE_CUSTODIAN) | LEDGER__ALLOW(ROLE_ORG_ADMIN),
                             "custodian or org admin");
    if (rc != 0)
        return rc;
    if (w->seal.status == SEAL_SUSPENDED)
        return ledger__fail(c, LEDGER_E_SEAL_SUSPENDED, "seal %s: already suspended",
                            ledger__short(w->seal.id, h));
    return 0;
}

static int apply_suspend(struct ledger__ctx *c, struct ledger__work *w)
{
    w->seal.status = SEAL_SUSPENDED;
    w->seal.suspended_by = w->role;
    return apply_lifecycle(c, w, HIST_SUSPEND, c->tx->body->seal_suspend->reason);
}

static int check_resume(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealResume *op = c->tx->body->seal_resume;
    char h[LEDGER_SHORT_HEX];
    int rc = check_lifecycle(c, w, op->seal_id, op->prev, NULL,
                             LEDGER__ALLOW(ROLE_CUSTODIAN) | LEDGER__ALLOW(ROLE_ORG_ADMIN),
                             "custodian or org admin");
    if (rc != 0)
        return rc;
    if (w->seal.status != SEAL_SUSPENDED)
        return ledger__fail(c, LEDGER_E_SEAL_NOT_SUSPENDED, "seal %s: not suspended",
                            ledger__short(w->seal.id, h));
    if (w->role < w->seal.suspended_by)
        return ledger__fail(
            c, LEDGER_E_RESUME_ROLE, "seal %s: suspended by its %s, a %s cannot resume it",
            ledger__short(w->seal.id, h), role_name(w->seal.suspended_by), role_name(w->role));
    return 0;
}

static int apply_resume(struct ledger__ctx *c, struct ledger__work *w)
{
    w->seal.status = SEAL_ACTIVE;
    w->seal.suspended_by = ROLE_NONE;
    return apply_lifecycle(c, w, HIST_RESUME, NULL);
}

static int check_destroy(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__SealDestroy *op = c->tx->body->seal_destroy;
    return check_lifecycle(c, w, op->seal_id, op->prev, op->reason,
                           LEDGER__ALLOW(ROLE_ORG_ADMIN) | LEDGER__ALLOW(ROLE_AUTHORITY),
                           "org admin or filing authority");
}

static int apply_destroy(struct ledger__ctx *c, struct ledger__work *w)
{
    w->seal.status = SEAL_DESTROYED;
    w->seal.suspended_by = ROLE_NONE;
    int rc = apply_lifecycle(c, w, HIST_DESTROY, c->tx->body->seal_destroy->reason);
    /* Destruction frees the org's official-seal slot (DESIGN §1). */
    if (rc == 0 && w->org.has_official &&
        memcmp(w->org.official, w->seal.id, LEDGER_HASH_LEN) == 0) {
        w->org.has_official = false;
        memset(w->org.official, 0, LEDGER_HASH_LEN);
        rc = ledger__org_put(c, &w->org);
    }
    return rc;
}

const struct ledger__rule ledger__rule_seal_register = { "seal register", check_seal_register, NULL,
                                                         apply_seal_register };
const struct ledger__rule ledger__rule_suspend = { "seal suspend", check_suspend, NULL,
                                                   apply_suspend };
const struct ledger__rule ledger__rule_resume = { "seal resume", check_resume, NULL, apply_resume };
const struct ledger__rule ledger__rule_destroy = { "seal destroy", check_destroy, NULL,
                                                   apply_destroy };
