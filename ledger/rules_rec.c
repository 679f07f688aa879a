/* Internal: state records between their stored encoding (state.proto) and the
 * plain structs the rules work on, and the state keys (state.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/rules.h"

int ledger__fail(struct ledger__ctx *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ledger_verrf(code, c->errmsg, c->errmsg_len, fmt, ap);
    va_end(ap);
    return code;
}

const char *ledger__short(const uint8_t *id, char buf[LEDGER_SHORT_HEX])
{
    ledger_short_hex(id, buf);
    return buf;
}

/* --- keys ------------------------------------------------------------------ */

static size_t key2(uint8_t *k, int prefix, const uint8_t *a, size_t a_len, const uint8_t *b,
                   size_t b_len)
{
    k[0] = (uint8_t)prefix;
    memcpy(k + 1, a, a_len);
    if (b != NULL)
        memcpy(k + 1 + a_len, b, b_len);
    return 1 + a_len + (b != NULL ? b_len : 0);
}

static int get_val(struct ledger__ctx *c, const uint8_t *k, size_t k_len, const uint8_t **v,
                   size_t *v_len)
{
    return ledger_overlay_get(c->ov, k, k_len, v, v_len);
}

int ledger__raw_get(struct ledger__ctx *c, int prefix, const uint8_t *a, size_t a_len,
                    const uint8_t *b, size_t b_len, uint8_t out[LEDGER_HASH_LEN])
{
    uint8_t k[LEDGER_KEY_MAX];
    size_t n = key2(k, prefix, a, a_len, b, b_len);
    const uint8_t *v;
    size_t v_len;
    int rc = get_val(c, k, n, &v, &v_len);
    if (rc != 0)
        return rc;
    if (out != NULL) {
        if (v_len != LEDGER_HASH_LEN)
            return LEDGER_E_STORE;
        memcpy(out, v, LEDGER_HASH_LEN);
    }
    return 0;
}

int ledger__raw_put(struct ledger__ctx *c, int prefix, const uint8_t *a, size_t a_len,
                    const uint8_t *b, size_t b_len, const uint8_t *val, size_t val_len)
{
    uint8_t k[LEDGER_KEY_MAX];
    size_t n = key2(k, prefix, a, a_len, b, b_len);
    return ledger_overlay_put(c->ov, k, n, val, val_len);
}

int ledger__index_put(struct ledger__ctx *c, int prefix, const uint8_t a[LEDGER_HASH_LEN],
                      const uint8_t val[LEDGER_HASH_LEN])
{
    uint8_t pos[12];
    ledger_put_u64be(pos, c->height);
    ledger_put_u32be(pos + 8, c->index);
    return ledger__raw_put(c, prefix, a, LEDGER_HASH_LEN, pos, sizeof(pos), val, LEDGER_HASH_LEN);
}

/* Packs any state record under key k. */
static int put_msg(struct ledger__ctx *c, const uint8_t *k, size_t k_len, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t stack[1024];
    uint8_t *buf = n <= sizeof(stack) ? stack : malloc(n);
    if (buf == NULL)
        return LEDGER_E_NOMEM;
    protobuf_c_message_pack(m, buf);
    int rc = ledger_overlay_put(c->ov, k, k_len, buf, n);
    if (buf != stack)
        free(buf);
    return rc;
}

int ledger__txloc_put(struct ledger__ctx *c)
{
    Sealchain__TxLocation loc = SEALCHAIN__TX_LOCATION__INIT;
    loc.height = c->height;
    loc.index = c->index;
    uint8_t k[1 + LEDGER_HASH_LEN];
    size_t n = key2(k, LEDGER_K_TX, c->tx->id, LEDGER_HASH_LEN, NULL, 0);
    return put_msg(c, k, n, &loc.base);
}

/* --- field helpers ---------------------------------------------------------- */

static ProtobufCBinaryData bin(const uint8_t *p, size_t len)
{
    ProtobufCBinaryData b = { len, (uint8_t *)p };
    return b;
}

static ProtobufCBinaryData opt(bool has, const uint8_t *p, size_t len)
{
    return has ? bin(p, len) : bin(NULL, 0);
}

/* Copies a fixed-size bytes field; false when the size is wrong. */
static bool take(uint8_t *dst, ProtobufCBinaryData b, size_t len)
{
    if (b.len != len)
        return false;
    memcpy(dst, b.data, len);
    return true;
}

/* Copies an optional fixed-size field (empty = absent). */
static bool take_opt(uint8_t *dst, bool *has, ProtobufCBinaryData b, size_t len)
{
    *has = b.len != 0;
    return b.len == 0 || take(dst, b, len);
}

static bool take_str(char *dst, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return false;
    memcpy(dst, s, n + 1);
    return true;
}

static bool take_list(uint8_t (*dst)[LEDGER_HASH_LEN], size_t *n, size_t max,
                      const ProtobufCBinaryData *src, size_t count)
{
    if (count > max)
        return false;
    for (size_t i = 0; i < count; i++)
        if (!take(dst[i], src[i], LEDGER_HASH_LEN))
            return false;
    *n = count;
    return true;
}

/* Fills a scratch array of ProtobufCBinaryData for a repeated field. */
static void give_list(ProtobufCBinaryData *dst, const uint8_t (*src)[LEDGER_HASH_LEN], size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = bin(src[i], LEDGER_HASH_LEN);
}

/* --- OrgRecord --------------------------------------------------------------- */

int ledger__org_get(struct ledger__ctx *c, const char *org_id, struct ledger__org *out)
{
    uint8_t k[LEDGER_KEY_MAX];
    size_t id_len = strlen(org_id);
    if (id_len == 0 || id_len > LEDGER_ORG_ID_MAX)
        return LEDGER_E_NOT_FOUND;
    size_t n = key2(k, LEDGER_K_ORG, (const uint8_t *)org_id, id_len, NULL, 0);
    const uint8_t *v;
    size_t v_len;
    int rc = get_val(c, k, n, &v, &v_len);
    if (rc != 0)
        return rc;
    Sealchain__OrgRecord *r = sealchain__org_record__unpack(NULL, v_len, v);
    if (r == NULL)
        return LEDGER_E_STORE;
    memset(out, 0, sizeof(*out));
    bool ok = take_str(out->org_id, r->org_id, LEDGER_ORG_ID_MAX) &&
              take_str(out->name, r->name, LEDGER_NAME_MAX) &&
              take(out->admin, r->admin_key, LEDGER_KEY_LEN) &&
              take_opt(out->legal_rep, &out->has_legal_rep, r->legal_rep_hash, LEDGER_HASH_LEN) &&
              take_opt(out->tx, &out->has_tx, r->tx, LEDGER_HASH_LEN) &&
              take_opt(out->official, &out->has_official, r->official_seal, LEDGER_HASH_LEN);
    out->authority = r->authority;
    out->registered_height = r->registered_height;
    sealchain__org_record__free_unpacked(r, NULL);
    return ok ? 0 : LEDGER_E_STORE;
}

int ledger__org_put(struct ledger__ctx *c, const struct ledger__org *o)
{
    Sealchain__OrgRecord r = SEALCHAIN__ORG_RECORD__INIT;
    r.org_id = (char *)o->org_id;
    r.name = (char *)o->name;
    r.admin_key = bin(o->admin, LEDGER_KEY_LEN);
    r.legal_rep_hash = opt(o->has_legal_rep, o->legal_rep, LEDGER_HASH_LEN);
    r.authority = o->authority;
    r.registered_height = o->registered_height;
    r.tx = opt(o->has_tx, o->tx, LEDGER_HASH_LEN);
    r.official_seal = opt(o->has_official, o->official, LEDGER_HASH_LEN);
    uint8_t k[LEDGER_KEY_MAX];
    size_t n = key2(k, LEDGER_K_ORG, (const uint8_t *)o->org_id, strlen(o->org_id), NULL, 0);
    return put_msg(c, k, n, &r.base);
}

/* --- SealRecord -------------------------------------------------------------- */

int ledger__seal_get(struct ledger__ctx *c, const uint8_t id[LEDGER_HASH_LEN],
                     struct ledger__seal *out)
{
    uint8_t k[1 + LEDGER_HASH_LEN];
    size_t n = key2(k, LEDGER_K_SEAL, id, LEDGER_HASH_LEN, NULL, 0);
    const uint8_t *v;
    size_t v_len;
    int rc = get_val(c, k, n, &v, &v_len);
    if (rc != 0)
        return rc;
    Sealchain__SealRecord *r = sealchain__seal_record__unpack(NULL, v_len, v);
    if (r == NULL)
        return LEDGER_E_STORE;
    memset(out, 0, sizeof(*out));
    bool ok = take(out->id, r->seal_id, LEDGER_HASH_LEN) &&
              take_str(out->org_id, r->org_id, LEDGER_ORG_ID_MAX) &&
              take_str(out->name, r->name, LEDGER_NAME_MAX) &&
              take(out->seal_key, r->seal_key, LEDGER_KEY_LEN) &&
              take(out->custodian, r->custodian_key, LEDGER_KEY_LEN) &&
              take_opt(out->image, &out->has_image, r->image_hash, LEDGER_HASH_LEN) &&
              take(out->last, r->last_history_tx, LEDGER_HASH_LEN);
    out->type = r->type;
    out->valid_from = r->valid_from_ms;
    out->valid_to = r->valid_to_ms;
    out->status = r->status;
    out->suspended_by = r->suspended_by;
    out->history_count = r->history_count;
    out->registered_height = r->registered_height;
    sealchain__seal_record__free_unpacked(r, NULL);
    return ok ? 0 : LEDGER_E_STORE;
}

int ledger__seal_put(struct ledger__ctx *c, const struct ledger__seal *s)
{
    Sealchain__SealRecord r = SEALCHAIN__SEAL_RECORD__INIT;
    r.seal_id = bin(s->id, LEDGER_HASH_LEN);
    r.org_id = (char *)s->org_id;
    r.type = (Sealchain__SealType)s->type;
    r.name = (char *)s->name;
    r.seal_key = bin(s->seal_key, LEDGER_KEY_LEN);
    r.custodian_key = bin(s->custodian, LEDGER_KEY_LEN);
    r.image_hash = opt(s->has_image, s->image, LEDGER_HASH_LEN);
    r.valid_from_ms = s->valid_from;
    r.valid_to_ms = s->valid_to;
    r.status = (Sealchain__SealStatus)s->status;
    r.suspended_by = (Sealchain__Role)s->suspended_by;
    r.last_history_tx = bin(s->last, LEDGER_HASH_LEN);
    r.history_count = s->history_count;
    r.registered_height = s->registered_height;
    uint8_t k[1 + LEDGER_HASH_LEN];
    size_t n = key2(k, LEDGER_K_SEAL, s->id, LEDGER_HASH_LEN, NULL, 0);
    return put_msg(c, k, n, &r.base);
}

int ledger__history_put(struct ledger__ctx *c, const struct ledger__seal *s, int action, int role,
                        const char *reason)
{
    Sealchain__HistoryEntry h = SEALCHAIN__HISTORY_ENTRY__INIT;
    h.action = (Sealchain__HistoryAction)action;
    h.height = c->height;
    h.time_ms = c->time_ms;
    h.tx = bin(c->tx->id, LEDGER_HASH_LEN);
    h.role = (Sealchain__Role)role;
    h.signer = bin(c->tx->signer, LEDGER_KEY_LEN);
    h.reason = (char *)(reason != NULL ? reason : "");
    uint8_t seq[4], k[1 + LEDGER_HASH_LEN + 4];
    ledger_put_u32be(seq, s->history_count);
    size_t n = key2(k, LEDGER_K_HISTORY, s->id, LEDGER_HASH_LEN, seq, sizeof(seq));
    return put_msg(c, k, n, &h.base);
}

/* --- GrantRecord ------------------------------------------------------------- */

int ledger__grant_get(struct ledger__ctx *c, const uint8_t id[LEDGER_HASH_LEN],
                      struct ledger__grant *out)
{
    uint8_t k[1 + LEDGER_HASH_LEN];
    size_t n = key2(k, LEDGER_K_GRANT, id, LEDGER_HASH_LEN, NULL, 0);
    const uint8_t *v;
    size_t v_len;
    int rc = get_val(c, k, n, &v, &v_len);
    if (rc != 0)
        return rc;
    Sealchain__GrantRecord *r = sealchain__grant_record__unpack(NULL, v_len, v);
    if (r == NULL)
        return LEDGER_E_STORE;
    memset(out, 0, offsetof(struct ledger__grant, pending));
    out->n_pending = 0;
    bool ok =
        take(out->id, r->grant, LEDGER_HASH_LEN) &&
        take(out->seal_id, r->seal_id, LEDGER_HASH_LEN) &&
        take(out->user, r->user_key, LEDGER_KEY_LEN) &&
        take_list(out->approvers, &out->n_approvers, LEDGER_MAX_APPROVERS, r->approvers,
                  r->n_approvers) &&
        take_list(out->pending, &out->n_pending, LEDGER_MAX_PENDING, r->pending, r->n_pending);
    out->expires = r->expires_ms;
    out->max_uses = r->max_uses;
    out->uses = r->uses;
    out->threshold = r->threshold;
    out->window = r->approval_window_ms;
    out->revoked = r->revoked;
    out->height = r->height;
    out->time_ms = r->time_ms;
    sealchain__grant_record__free_unpacked(r, NULL);
    return ok ? 0 : LEDGER_E_STORE;
}

int ledger__grant_put(struct ledger__ctx *c, const struct ledger__grant *gr)
{
    ProtobufCBinaryData approvers[LEDGER_MAX_APPROVERS];
    ProtobufCBinaryData *pending = malloc(sizeof(*pending) * (gr->n_pending + 1));
    if (pending == NULL)
        return LEDGER_E_NOMEM;
    give_list(approvers, gr->approvers, gr->n_approvers);
    give_list(pending, gr->pending, gr->n_pending);
    Sealchain__GrantRecord r = SEALCHAIN__GRANT_RECORD__INIT;
    r.grant = bin(gr->id, LEDGER_HASH_LEN);
    r.seal_id = bin(gr->seal_id, LEDGER_HASH_LEN);
    r.user_key = bin(gr->user, LEDGER_KEY_LEN);
    r.expires_ms = gr->expires;
    r.max_uses = gr->max_uses;
    r.uses = gr->uses;
    r.n_approvers = gr->n_approvers;
    r.approvers = approvers;
    r.threshold = gr->threshold;
    r.approval_window_ms = gr->window;
    r.revoked = gr->revoked;
    r.height = gr->height;
    r.time_ms = gr->time_ms;
    r.n_pending = gr->n_pending;
    r.pending = pending;
    uint8_t k[1 + LEDGER_HASH_LEN];
    size_t n = key2(k, LEDGER_K_GRANT, gr->id, LEDGER_HASH_LEN, NULL, 0);
    int rc = put_msg(c, k, n, &r.base);
    free(pending);
    return rc;
}

/* --- UsageRecord ------------------------------------------------------------- */

int ledger__usage_get(struct ledger__ctx *c, const uint8_t id[LEDGER_HASH_LEN],
                      struct ledger__usage *out)
{
    uint8_t k[1 + LEDGER_HASH_LEN];
    size_t n = key2(k, LEDGER_K_USAGE, id, LEDGER_HASH_LEN, NULL, 0);
    const uint8_t *v;
    size_t v_len;
    int rc = get_val(c, k, n, &v, &v_len);
    if (rc != 0)
        return rc;
    Sealchain__UsageRecord *r = sealchain__usage_record__unpack(NULL, v_len, v);
    if (r == NULL)
        return LEDGER_E_STORE;
    memset(out, 0, sizeof(*out));
    bool ok = take(out->id, r->usage, LEDGER_HASH_LEN) &&
              take(out->seal_id, r->seal_id, LEDGER_HASH_LEN) &&
              take(out->grant, r->grant, LEDGER_HASH_LEN) &&
              take(out->user, r->user_key, LEDGER_KEY_LEN) &&
              take(out->doc, r->doc_hash, LEDGER_HASH_LEN) &&
              take(out->nonce, r->use_nonce, LEDGER_NONCE_LEN) &&
              take(out->sig, r->seal_signature, LEDGER_SIG_LEN) &&
              take_list(out->approvals, &out->n_approvals, LEDGER_MAX_APPROVERS, r->approvals,
                        r->n_approvals) &&
              take_list(out->rejections, &out->n_rejections, LEDGER_MAX_APPROVERS, r->rejections,
                        r->n_rejections) &&
              take_list(out->approval_txs, &out->n_approval_txs, LEDGER_MAX_APPROVERS,
                        r->approval_txs, r->n_approval_txs);
    out->height = r->height;
    out->time_ms = r->time_ms;
    out->status = r->status;
    out->effective_height = r->effective_height;
    out->decided_ms = r->decided_ms;
    sealchain__usage_record__free_unpacked(r, NULL);
    return ok ? 0 : LEDGER_E_STORE;
}

int ledger__usage_put(struct ledger__ctx *c, const struct ledger__usage *u)
{
    ProtobufCBinaryData approvals[LEDGER_MAX_APPROVERS], rejections[LEDGER_MAX_APPROVERS],
        txs[LEDGER_MAX_APPROVERS];
    give_list(approvals, u->approvals, u->n_approvals);
    give_list(rejections, u->rejections, u->n_rejections);
    give_list(txs, u->approval_txs, u->n_approval_txs);
    Sealchain__UsageRecord r = SEALCHAIN__USAGE_RECORD__INIT;
    r.usage = bin(u->id, LEDGER_HASH_LEN);
    r.seal_id = bin(u->seal_id, LEDGER_HASH_LEN);
    r.grant = bin(u->grant, LEDGER_HASH_LEN);
    r.user_key = bin(u->user, LEDGER_KEY_LEN);
    r.doc_hash = bin(u->doc, LEDGER_HASH_LEN);
    r.use_nonce = bin(u->nonce, LEDGER_NONCE_LEN);
    r.seal_signature = bin(u->sig, LEDGER_SIG_LEN);
    r.height = u->height;
    r.time_ms = u->time_ms;
    r.status = (Sealchain__UsageStatus)u->status;
    r.effective_height = u->effective_height;
    r.n_approvals = u->n_approvals;
    r.approvals = approvals;
    r.n_rejections = u->n_rejections;
    r.rejections = rejections;
    r.n_approval_txs = u->n_approval_txs;
    r.approval_txs = txs;
    r.decided_ms = u->decided_ms;
    uint8_t k[1 + LEDGER_HASH_LEN];
    size_t n = key2(k, LEDGER_K_USAGE, u->id, LEDGER_HASH_LEN, NULL, 0);
    return put_msg(c, k, n, &r.base);
}

/* --- shared predicates --------------------------------------------------------- */

bool ledger__seal_in_window(const struct ledger__seal *s, uint64_t t)
{
    return (s->valid_from == 0 || t >= s->valid_from) && (s->valid_to == 0 || t <= s->valid_to);
}

bool ledger__grant_expired(const struct ledger__grant *gr, uint64_t t)
{
    return gr->expires != 0 && t > gr->expires;
}

int ledger__seal_unusable(const struct ledger__ctx *c, const struct ledger__seal *s, bool window,
                          const char **why)
{
    if (s->status == SEAL_DESTROYED)
        return *why = "destroyed", LEDGER_E_SEAL_DESTROYED;
    if (s->status == SEAL_SUSPENDED)
        return *why = "suspended", LEDGER_E_SEAL_SUSPENDED;
    if (window && !ledger__seal_in_window(s, c->time_ms))
        return *why = "outside its validity window", LEDGER_E_SEAL_OUTSIDE_WINDOW;
    return *why = NULL, 0;
}

int ledger__grant_unusable(struct ledger__ctx *c, const struct ledger__grant *gr, const char **why)
{
    uint8_t live[LEDGER_HASH_LEN];
    int rc = ledger__raw_get(c, LEDGER_K_GRANT_LIVE, gr->seal_id, LEDGER_HASH_LEN, gr->user,
                             LEDGER_KEY_LEN, live);
    *why = NULL;
    if (rc != 0 && rc != LEDGER_E_NOT_FOUND)
        return rc;
    if (gr->revoked || rc != 0 || memcmp(live, gr->id, LEDGER_HASH_LEN) != 0)
        return *why = "revoked or replaced", LEDGER_E_GRANT_REVOKED;
    if (ledger__grant_expired(gr, c->time_ms))
        return *why = "expired", LEDGER_E_GRANT_EXPIRED;
    return 0;
}

bool ledger__usage_lapsed(uint64_t usage_time, uint64_t window, uint64_t t)
{
    /* time + window < t, written so that a huge window cannot overflow. */
    return t > usage_time && t - usage_time > window;
}

int ledger__role(const struct ledger__ctx *c, const struct ledger__org *o,
                 const struct ledger__seal *s, unsigned allowed)
{
    const uint8_t *signer = c->tx->signer;
    if ((allowed & LEDGER__ALLOW(ROLE_AUTHORITY)) && o->authority < c->g->n &&
        memcmp(signer, c->g->validators[o->authority].admin_key, LEDGER_KEY_LEN) == 0)
        return ROLE_AUTHORITY;
    if ((allowed & LEDGER__ALLOW(ROLE_ORG_ADMIN)) && memcmp(signer, o->admin, LEDGER_KEY_LEN) == 0)
        return ROLE_ORG_ADMIN;
    if ((allowed & LEDGER__ALLOW(ROLE_CUSTODIAN)) && s != NULL &&
        memcmp(signer, s->custodian, LEDGER_KEY_LEN) == 0)
        return ROLE_CUSTODIAN;
    return ROLE_NONE;
}
