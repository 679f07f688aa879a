/* Internal: the organisation filing rule (备案), and text checks shared by the rules. */
#include <string.h>

#include "ledger/creditcode.h"
#include "ledger/err.h"
#include "ledger/rules.h"

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0. protobuf-c
 * does not check proto3 strings, and these end up in JSON. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xe0) == 0xc0 ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Names and reasons go into logs and JSON: bounded, well-formed UTF-8, no
 * control characters. */
static bool text_ok(const char *s, bool may_be_empty)
{
    size_t n = strlen(s);
    if ((n == 0 && !may_be_empty) || n > LEDGER_TEXT_MAX)
        return false;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x20 || u[i] == 0x7f)
            return false;
        size_t len = utf8_seq(u + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

int ledger__check_text(struct ledger__ctx *c, const char *what, const char *s, bool may_be_empty)
{
    if (!text_ok(s, may_be_empty))
        return ledger__fail(c, LEDGER_E_BAD_FIELD,
                            "%s must be %s1..%d bytes of UTF-8 without control characters", what,
                            may_be_empty ? "0 or " : "", LEDGER_TEXT_MAX);
    return 0;
}

int ledger__check_len(struct ledger__ctx *c, const char *what, ProtobufCBinaryData b, size_t len,
                      bool may_be_empty)
{
    if (b.len == len || (may_be_empty && b.len == 0))
        return 0;
    return ledger__fail(c, LEDGER_E_BAD_FIELD, "%s is %zu bytes, must be %s%zu", what, b.len,
                        may_be_empty ? "empty or " : "", len);
}

/* The index of the filing authority whose admin key signed, or -1. Kept here
 * rather than calling genesis.c so the rule reads in one place. */
static int authority_of(const struct ledger_genesis *g, const uint8_t *key)
{
    for (uint32_t i = 0; i < g->n; i++)
        if (memcmp(g->validators[i].admin_key, key, LEDGER_KEY_LEN) == 0)
            return (int)i;
    return -1;
}

static int check_org_register(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__OrgRegister *op = c->tx->body->org_register;
    int rc;
    if (!ledger_credit_code_valid(op->org_id))
        return ledger__fail(c, LEDGER_E_BAD_CREDIT_CODE,
                            "org id \"%.32s\": not a unified social credit code (18 characters, "
                            "valid check character)",
                            op->org_id);
    if ((rc = ledger__check_text(c, "org name", op->name, false)) != 0 ||
        (rc = ledger__check_len(c, "admin key", op->admin_key, LEDGER_KEY_LEN, false)) != 0 ||
        (rc = ledger__check_len(c, "legal representative hash", op->legal_rep_hash, LEDGER_HASH_LEN,
                                true)) != 0)
        return rc;
    int authority = authority_of(c->g, c->tx->signer);
    if (authority < 0)
        return ledger__fail(c, LEDGER_E_NOT_AUTHORISED,
                            "org %s: signer is not a filing authority of this chain", op->org_id);
    rc = ledger__org_get(c, op->org_id, &w->org);
    if (rc == 0)
        return ledger__fail(c, LEDGER_E_ORG_EXISTS, "org %s: already filed", op->org_id);
    if (rc != LEDGER_E_NOT_FOUND)
        return rc;
    w->role = ROLE_AUTHORITY;
    w->org.authority = (uint32_t)authority;
    return 0;
}

static int apply_org_register(struct ledger__ctx *c, struct ledger__work *w)
{
    const Sealchain__OrgRegister *op = c->tx->body->org_register;
    struct ledger__org *o = &w->org;
    uint32_t authority = o->authority;
    memset(o, 0, sizeof(*o));
    memcpy(o->org_id, op->org_id, strlen(op->org_id) + 1);
    memcpy(o->name, op->name, strlen(op->name) + 1);
    memcpy(o->admin, op->admin_key.data, LEDGER_KEY_LEN);
    o->has_legal_rep = op->legal_rep_hash.len != 0;
    if (o->has_legal_rep)
        memcpy(o->legal_rep, op->legal_rep_hash.data, LEDGER_HASH_LEN);
    o->authority = authority;
    o->registered_height = c->height;
    o->has_tx = true;
    memcpy(o->tx, c->tx->id, LEDGER_HASH_LEN);
    return ledger__org_put(c, o);
}

const struct ledger__rule ledger__rule_org_register = { "org register", check_org_register, NULL,
                                                        apply_org_register };
