/* Model-based test: random sequences of valid and invalid transactions go to
 * the ledger (ledger_exec over the in-memory base, block by block) and to a
 * small reference model written plainly here (no code shared with the
 * rules); both must agree on every decision, its error code, and on every
 * query-visible fact after each block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/exec.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "util_fixture.h"

/* --- the reference model ------------------------------------------------------------- */

enum { M_NAUTH = 4, M_PEOPLE = 16, M_KEYS = M_NAUTH + M_PEOPLE };
enum { R_CUST = 2, R_ADMIN = 3, R_AUTH = 4 }; /* ordered roles */
enum { S_ACTIVE = 1, S_SUSPENDED = 2, S_DESTROYED = 3 };
enum { U_EFFECTIVE = 1, U_PENDING = 2, U_REJECTED = 3, U_LAPSED = 4 };
#define M_MAX 4096

struct m_org {
    char code[19];
    int admin;     /* key index */
    int authority; /* validator index */
    int official;  /* seal index or -1 */
};

struct m_seal {
    uint8_t id[32];
    int org, type, key, custodian, status, suspended_by;
    uint8_t last[32], older[32];
    uint32_t hist;
    uint64_t from, to;
};

struct m_grant {
    uint8_t id[32];
    int seal, user;
    uint64_t expires, window;
    uint32_t max_uses, m;
    int ap[4], n_ap;
    bool revoked;
};

struct m_usage {
    uint8_t id[32];
    int grant, status;
    uint64_t time;
    int appr[4], n_appr, rej[4], n_rej;
};

struct model {
    struct m_org orgs[256];
    int n_orgs;
    struct m_seal seals[M_MAX];
    int n_seals;
    struct m_grant grants[M_MAX];
    int n_grants;
    struct m_usage usages[M_MAX];
    int n_usages;
    struct tfx_key seal_keys[M_MAX];
    bool seal_key_used[M_MAX];
    int n_seal_keys;
    uint8_t (*seen)[32]; /* accepted tx ids */
    int n_seen;
};

static bool m_seen(const struct model *m, const uint8_t *id)
{
    for (int i = 0; i < m->n_seen; i++)
        if (memcmp(m->seen[i], id, 32) == 0)
            return true;
    return false;
}

static bool m_in_window(const struct m_seal *s, uint64_t t)
{
    return (s->from == 0 || t >= s->from) && (s->to == 0 || t <= s->to);
}

static bool m_expired(const struct m_grant *g, uint64_t t)
{
    return g->expires != 0 && t > g->expires;
}

/* A use's status at time t: a pending use past its window has lapsed. */
static int m_status(const struct model *m, const struct m_usage *u, uint64_t t)
{
    uint64_t w = m->grants[u->grant].window;
    if (u->status == U_PENDING && t > u->time && t - u->time > w)
        return U_LAPSED;
    return u->status;
}

/* Uses a grant holds at t: effective ones and pending ones not lapsed. */
static uint32_t m_held(const struct model *m, int g, uint64_t t, uint32_t *pending)
{
    uint32_t held = 0, p = 0;
    for (int i = 0; i < m->n_usages; i++) {
        if (m->usages[i].grant != g)
            continue;
        int s = m_status(m, &m->usages[i], t);
        held += s == U_EFFECTIVE || s == U_PENDING;
        p += s == U_PENDING;
    }
    if (pending)
        *pending = p;
    return held;
}

/* The latest grant for (seal, user), or -1. */
static int m_latest(const struct model *m, int seal, int user)
{
    for (int i = m->n_grants - 1; i >= 0; i--)
        if (m->grants[i].seal == seal && m->grants[i].user == user)
            return i;
    return -1;
}

static int m_find_org(const struct model *m, const char *code)
{
    for (int i = 0; i < m->n_orgs; i++)
        if (strcmp(m->orgs[i].code, code) == 0)
            return i;
    return -1;
}

/* --- the driver ------------------------------------------------------------------------ */

struct run {
    struct tfx_chain *c;
    struct model *m;
    struct tfx_key keys[M_KEYS]; /* 0..3: the filing authorities' admin keys */
    uint64_t rng;
    uint64_t t; /* the open block's time */
    uint32_t next_code;
    /* accepted txs kept for replay */
    uint8_t *replay[64];
    size_t replay_len[64];
    int n_replay;
    /* counters */
    int accepted, refused, by_code[LEDGER_E__COUNT];
};

static uint64_t rnd(struct run *r)
{
    /* xorshift64* */
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 2685821657736338717ull;
}

static uint32_t below(struct run *r, uint32_t n)
{
    return (uint32_t)(rnd(r) % n);
}

static bool chance(struct run *r, uint32_t pct)
{
    return below(r, 100) < pct;
}

static int person(struct run *r)
{
    return M_NAUTH + (int)below(r, M_PEOPLE);
}

/* Envelope-level mutations the model can predict. T_RESIGN: another key
 * re-signs the body and offers the copy first (DESIGN.md §4). */
enum twist { T_NONE, T_BAD_SIG, T_EXPIRED, T_TOO_FAR, T_RESIGN };

struct pending_tx {
    uint8_t *tx;
    size_t len;
    uint8_t id[32];
    enum twist twist;
    int want;  /* the model's verdict on the rule (0 = valid) */
    bool late; /* a failure that comes after the tx signature (bad seal signature) */
};

static uint64_t valid_until(struct run *r, enum twist tw)
{
    if (tw == T_EXPIRED)
        return r->t - 1 - below(r, 10000);
    if (tw == T_TOO_FAR)
        return r->t + LEDGER_MAX_TX_VALIDITY_MS + 1 + below(r, 10000);
    return r->t + 1 + below(r, 3600000);
}

static enum twist pick_twist(struct run *r)
{
    uint32_t x = below(r, 100);
    return x < 4 ? T_BAD_SIG : x < 7 ? T_EXPIRED : x < 9 ? T_TOO_FAR : x < 13 ? T_RESIGN : T_NONE;
}

/* Applies the twist to the built tx and returns the verdict the envelope
 * checks give before and after the rule. */
static int final_verdict(const struct pending_tx *p)
{
    if (p->twist == T_EXPIRED)
        return LEDGER_E_EXPIRED_TX;
    if (p->twist == T_TOO_FAR)
        return LEDGER_E_TX_TOO_FAR;
    if (p->want != 0 && !p->late)
        return p->want;
    if (p->twist == T_BAD_SIG)
        return LEDGER_E_BAD_SIGNATURE;
    return p->want;
}

/* --- generators: each builds a tx and the model's verdict, and an apply step --------- */

struct op {
    int kind;
    int a, b, c2, d; /* indexes, meaning per kind */
    uint64_t x, y;
    char code[19];
    int ap[4], n_ap;
    uint32_t m, max_uses;
    bool flag;
};

enum {
    K_ORG,
    K_SEAL,
    K_GRANT,
    K_REVOKE,
    K_SUSPEND,
    K_RESUME,
    K_DESTROY,
    K_USE,
    K_APPROVE,
    K_REJECT,
    K__N
};

static int role_of(const struct model *m, int seal, int key, bool cust, bool admin, bool auth)
{
    const struct m_seal *s = &m->seals[seal];
    const struct m_org *o = &m->orgs[s->org];
    if (auth && key == o->authority)
        return R_AUTH;
    if (admin && key == o->admin)
        return R_ADMIN;
    if (cust && key == s->custodian)
        return R_CUST;
    return 0;
}

static int gen_org(struct run *r, struct op *op, int *signer)
{
    struct model *m = r->m;
    *signer = chance(r, 70) ? (int)below(r, M_NAUTH) : person(r);
    uint32_t x = below(r, 100);
    if (x < 10 && m->n_orgs > M_NAUTH)
        memcpy(op->code, m->orgs[M_NAUTH + below(r, m->n_orgs - M_NAUTH)].code, 19);
    else
        tfx_credit_code(r->next_code++, op->code);
    bool bad_code = x >= 95;
    if (bad_code)
        op->code[17] = op->code[17] == '0' ? '1' : '0';
    op->flag = chance(r, 96); /* name present */
    op->a = person(r);        /* admin */
    if (bad_code)
        return LEDGER_E_BAD_CREDIT_CODE;
    if (!op->flag)
        return LEDGER_E_BAD_FIELD;
    if (*signer >= M_NAUTH)
        return LEDGER_E_NOT_AUTHORISED;
    if (m_find_org(m, op->code) >= 0)
        return LEDGER_E_ORG_EXISTS;
    return 0;
}

static void apply_org(struct run *r, const struct op *op, int signer, const uint8_t *id)
{
    (void)id;
    struct m_org *o = &r->m->orgs[r->m->n_orgs++];
    memcpy(o->code, op->code, 19);
    o->admin = op->a;
    o->authority = signer;
    o->official = -1;
}

static int gen_seal(struct run *r, struct op *op, int *signer)
{
    struct model *m = r->m;
    bool unknown = chance(r, 8);
    op->a = (int)below(r, m->n_orgs); /* org */
    if (unknown)
        tfx_credit_code(900000 + r->next_code++, op->code);
    else
        memcpy(op->code, m->orgs[op->a].code, 19);
    const struct m_org *o = &m->orgs[op->a];
    uint32_t s = below(r, 100);
    *signer = s < 60 ? o->admin : s < 80 ? o->authority : (int)below(r, M_KEYS);
    op->b = chance(r, 3) ? 0 : 1 + (int)below(r, 7); /* type */
    /* seal key: fresh, or one already registered */
    if (chance(r, 8) && m->n_seal_keys > 0) {
        op->c2 = (int)below(r, m->n_seal_keys);
    } else {
        op->c2 = m->n_seal_keys;
        tfx_key_make(500, (uint32_t)m->n_seal_keys, &m->seal_keys[m->n_seal_keys]);
        m->seal_key_used[m->n_seal_keys++] = false;
    }
    op->d = chance(r, 50) ? -1 : person(r); /* custodian */
    op->x = op->y = 0;
    if (chance(r, 30)) {
        op->x = r->t - 20000 + 1000 * below(r, 40);
        op->y = op->x + 1000 * below(r, 120);
        if (chance(r, 10)) {
            uint64_t t = op->x;
            op->x = op->y + 1;
            op->y = t;
        }
    }
    if (op->b == 0)
        return LEDGER_E_BAD_FIELD;
    if (op->x != 0 && op->y != 0 && op->x > op->y)
        return LEDGER_E_BAD_FIELD;
    if (unknown)
        return LEDGER_E_UNKNOWN_ORG;
    if (*signer != o->admin && *signer != o->authority)
        return LEDGER_E_NOT_AUTHORISED;
    if (m->seal_key_used[op->c2])
        return LEDGER_E_SEAL_KEY_EXISTS;
    if (op->b == 1 && o->official >= 0)
        return LEDGER_E_OFFICIAL_SEAL_EXISTS;
    return 0;
}

static void apply_seal(struct run *r, const struct op *op, int signer, const uint8_t *id)
{
    (void)signer;
    struct model *m = r->m;
    int i = m->n_seals++;
    struct m_seal *s = &m->seals[i];
    memset(s, 0, sizeof(*s));
    memcpy(s->id, id, 32);
    memcpy(s->last, id, 32);
    s->org = op->a;
    s->type = op->b;
    s->key = op->c2;
    s->custodian = op->d >= 0 ? op->d : m->orgs[op->a].admin;
    s->status = S_ACTIVE;
    s->hist = 1;
    s->from = op->x;
    s->to = op->y;
    m->seal_key_used[op->c2] = true;
    if (op->b == 1)
        m->orgs[op->a].official = i;
}

/* A seal index, or -1 for an unknown seal (pct of the time). */
static int pick_seal(struct run *r, uint32_t unknown_pct)
{
    if (r->m->n_seals == 0 || chance(r, unknown_pct))
        return -1;
    return (int)below(r, (uint32_t)r->m->n_seals);
}

static const uint8_t *seal_id_of(struct run *r, int seal, uint8_t scratch[32])
{
    if (seal >= 0)
        return r->m->seals[seal].id;
    memset(scratch, 0xee, 32);
    scratch[0] = (uint8_t)below(r, 256);
    return scratch;
}

static int gen_grant(struct run *r, struct op *op, int *signer)
{
    struct model *m = r->m;
    op->a = pick_seal(r, 5);
    op->b = person(r); /* user */
    op->n_ap = chance(r, 50) ? 0 : 1 + (int)below(r, 3);
    for (int i = 0; i < op->n_ap; i++) {
        int k;
        bool dup;
        do {
            k = person(r);
            dup = k == op->b;
            for (int j = 0; j < i; j++)
                dup |= op->ap[j] == k;
        } while (dup);
        op->ap[i] = k;
    }
    op->m = op->n_ap ? 1 + below(r, (uint32_t)op->n_ap) : 0;
    bool bad_rule = chance(r, 5);
    if (bad_rule) {
        if (op->n_ap > 0 && chance(r, 50))
            op->ap[below(r, (uint32_t)op->n_ap)] = op->b;
        else
            op->m = (uint32_t)op->n_ap + 1;
    }
    op->x = chance(r, 70) ? 0 : r->t - 5000 + 1000 * below(r, 125); /* expires */
    op->max_uses = chance(r, 50) ? 0 : 1 + below(r, 4);
    op->y = chance(r, 50) ? 0 : 1000 * (2 + below(r, 28)); /* window */
    if (op->a >= 0) {
        const struct m_seal *s = &m->seals[op->a];
        uint32_t x = below(r, 100);
        *signer = x < 45 ? s->custodian : x < 75 ? m->orgs[s->org].admin : (int)below(r, M_KEYS);
    } else {
        *signer = person(r);
    }
    if (bad_rule)
        return LEDGER_E_BAD_GRANT_RULE;
    if (op->x != 0 && r->t > op->x)
        return LEDGER_E_GRANT_EXPIRED;
    if (op->a < 0)
        return LEDGER_E_UNKNOWN_SEAL;
    if (!role_of(m, op->a, *signer, true, true, false))
        return LEDGER_E_NOT_AUTHORISED;
    if (m->seals[op->a].status == S_DESTROYED)
        return LEDGER_E_SEAL_DESTROYED;
    if (m->seals[op->a].status == S_SUSPENDED)
        return LEDGER_E_SEAL_SUSPENDED;
    return 0;
}

static void apply_grant(struct run *r, const struct op *op, int signer, const uint8_t *id)
{
    (void)signer;
    struct model *m = r->m;
    int old = m_latest(m, op->a, op->b);
    if (old >= 0)
        m->grants[old].revoked = true; /* replaced */
    struct m_grant *g = &m->grants[m->n_grants++];
    memset(g, 0, sizeof(*g));
    memcpy(g->id, id, 32);
    g->seal = op->a;
    g->user = op->b;
    g->expires = op->x;
    g->window = op->y ? op->y : LEDGER_DEFAULT_APPROVAL_WINDOW_MS;
    g->max_uses = op->max_uses;
    g->m = op->m;
    g->n_ap = op->n_ap;
    memcpy(g->ap, op->ap, sizeof(g->ap));
}

static int gen_revoke(struct run *r, struct op *op, int *signer)
{
    struct model *m = r->m;
    op->a = pick_seal(r, 5);
    op->b = person(r);
    if (op->a >= 0 && chance(r, 70)) {
        for (int i = m->n_grants - 1; i >= 0; i--)
            if (m->grants[i].seal == op->a && chance(r, 50)) {
                op->b = m->grants[i].user;
                break;
            }
    }
    if (op->a < 0) {
        *signer = person(r);
        return LEDGER_E_UNKNOWN_SEAL;
    }
    const struct m_seal *s = &m->seals[op->a];
    uint32_t x = below(r, 100);
    *signer = x < 45 ? s->custodian : x < 80 ? m->orgs[s->org].admin : (int)below(r, M_KEYS);
    if (!role_of(m, op->a, *signer, true, true, false))
        return LEDGER_E_NOT_AUTHORISED;
    int g = m_latest(m, op->a, op->b);
    if (g < 0)
        return LEDGER_E_GRANT_MISSING;
    if (m->grants[g].revoked)
        return LEDGER_E_GRANT_REVOKED;
    return 0;
}

static void apply_revoke(struct run *r, const struct op *op, int signer, const uint8_t *id)
{
    (void)signer;
    (void)id;
    r->m->grants[m_latest(r->m, op->a, op->b)].revoked = true;
}

static int gen_lifecycle(struct run *r, struct op *op, int *signer)
{
    struct model *m = r->m;
    op->a = pick_seal(r, 4);
    /* Mostly a seal this op can act on: suspended ones for a resume. */
    int want = op->kind == K_RESUME ? S_SUSPENDED : S_ACTIVE;
    if (op->a >= 0 && chance(r, 80))
        for (int i = m->n_seals - 1; i >= 0; i--)
            if (m->seals[i].status == want && chance(r, 30)) {
                op->a = i;
                break;
            }
    op->flag = chance(r, 85); /* names the latest entry */
    if (op->a < 0) {
        *signer = person(r);
        return LEDGER_E_UNKNOWN_SEAL;
    }
    const struct m_seal *s = &m->seals[op->a];
    const struct m_org *o = &m->orgs[s->org];
    uint32_t x = below(r, 100);
    *signer = x < 35   ? s->custodian
              : x < 70 ? o->admin
              : x < 85 ? o->authority
                       : (int)below(r, M_KEYS);
    bool destroy = op->kind == K_DESTROY;
    int role = role_of(m, op->a, *signer, !destroy, true, destroy);
    if (!role)
        return LEDGER_E_NOT_AUTHORISED;
    op->b = role;
    if (s->status == S_DESTROYED)
        return LEDGER_E_SEAL_DESTROYED;
    if (!op->flag)
        return LEDGER_E_STALE;
    if (op->kind == K_SUSPEND && s->status == S_SUSPENDED)
        return LEDGER_E_SEAL_SUSPENDED;
    if (op->kind == K_RESUME && s->status != S_SUSPENDED)
        return LEDGER_E_SEAL_NOT_SUSPENDED;
    if (op->kind == K_RESUME && role < s->suspended_by)
        return LEDGER_E_RESUME_ROLE;
    return 0;
}

static void apply_lifecycle(struct run *r, const struct op *op, int signer, const uint8_t *id)
{
    (void)signer;
    struct model *m = r->m;
    struct m_seal *s = &m->seals[op->a];
    memcpy(s->older, s->last, 32);
    memcpy(s->last, id, 32);
    s->hist++;
    if (op->kind == K_SUSPEND) {
        s->status = S_SUSPENDED;
        s->suspended_by = op->b;
    } else if (op->kind == K_RESUME) {
        s->status = S_ACTIVE;
        s->suspended_by = 0;
    } else {
        s->status = S_DESTROYED;
        s->suspended_by = 0;
        if (m->orgs[s->org].official == op->a)
            m->orgs[s->org].official = -1;
    }
}

static int gen_use(struct run *r, struct op *op, int *signer, bool *late)
{
    struct model *m = r->m;
    op->a = m->n_grants == 0 || chance(r, 4) ? -1 : (int)below(r, (uint32_t)m->n_grants);
    if (op->a >= 0 && chance(r, 70))
        for (int i = m->n_grants - 1; i >= 0; i--)
            if (!m->grants[i].revoked && m->seals[m->grants[i].seal].status == S_ACTIVE &&
                chance(r, 30)) {
                op->a = i;
                break;
            }
    const struct m_grant *g = op->a >= 0 ? &m->grants[op->a] : NULL;
    op->b = g != NULL && chance(r, 92) ? g->seal : pick_seal(r, 5); /* seal named */
    *signer = g != NULL && chance(r, 92) ? g->user : person(r);
    op->flag = chance(r, 95);        /* the right seal key */
    op->c2 = (int)below(r, 1000000); /* document */
    if (op->b < 0)
        return LEDGER_E_UNKNOWN_SEAL;
    if (g == NULL || g->seal != op->b)
        return LEDGER_E_GRANT_MISSING;
    if (*signer != g->user)
        return LEDGER_E_NOT_AUTHORISED;
    const struct m_seal *s = &m->seals[op->b];
    if (s->status == S_DESTROYED)
        return LEDGER_E_SEAL_DESTROYED;
    if (s->status == S_SUSPENDED)
        return LEDGER_E_SEAL_SUSPENDED;
    if (!m_in_window(s, r->t))
        return LEDGER_E_SEAL_OUTSIDE_WINDOW;
    if (g->revoked)
        return LEDGER_E_GRANT_REVOKED;
    if (m_expired(g, r->t))
        return LEDGER_E_GRANT_EXPIRED;
    uint32_t pending;
    uint32_t held = m_held(m, op->a, r->t, &pending);
    if (g->max_uses != 0 && held >= g->max_uses)
        return LEDGER_E_GRANT_USED_UP;
    if (g->n_ap > 0 && pending >= 256)
        return LEDGER_E_TOO_MANY_PENDING;
    *late = true;
    return op->flag ? 0 : LEDGER_E_BAD_SEAL_SIGNATURE;
}

static void apply_use(struct run *r, const struct op *op, int signer, const uint8_t *id)
{
    (void)signer;
    struct model *m = r->m;
    struct m_usage *u = &m->usages[m->n_usages++];
    memset(u, 0, sizeof(*u));
    memcpy(u->id, id, 32);
    u->grant = op->a;
    u->time = r->t;
    u->status = m->grants[op->a].n_ap ? U_PENDING : U_EFFECTIVE;
}

static bool m_listed(const int *keys, int n, int k)
{
    for (int i = 0; i < n; i++)
        if (keys[i] == k)
            return true;
    return false;
}

static int gen_vote(struct run *r, struct op *op, int *signer)
{
    struct model *m = r->m;
    op->a = -1;
    if (m->n_usages > 0 && !chance(r, 4)) {
        /* Mostly uses still pending (the latest ones first). */
        op->a = (int)below(r, (uint32_t)m->n_usages);
        if (chance(r, 80))
            for (int i = m->n_usages - 1; i >= 0; i--)
                if (m->usages[i].status == U_PENDING && chance(r, 50)) {
                    op->a = i;
                    break;
                }
    }
    if (op->a < 0) {
        *signer = person(r);
        return LEDGER_E_UNKNOWN_USAGE;
    }
    const struct m_usage *u = &m->usages[op->a];
    const struct m_grant *g = &m->grants[u->grant];
    *signer = g->n_ap && chance(r, 75) ? g->ap[below(r, (uint32_t)g->n_ap)] : person(r);
    if (!m_listed(g->ap, g->n_ap, *signer))
        return LEDGER_E_NOT_APPROVER;
    if (m_listed(u->appr, u->n_appr, *signer) || m_listed(u->rej, u->n_rej, *signer))
        return LEDGER_E_ALREADY_VOTED;
    if (m_status(m, u, r->t) != U_PENDING)
        return LEDGER_E_USAGE_NOT_PENDING;
    if (op->kind == K_APPROVE && (uint32_t)u->n_appr + 1 >= g->m) {
        const struct m_seal *s = &m->seals[g->seal];
        if (s->status != S_ACTIVE || !m_in_window(s, r->t) || g->revoked || m_expired(g, r->t))
            return LEDGER_E_APPROVAL_INVALID;
    }
    return 0;
}

static void apply_vote(struct run *r, const struct op *op, int signer, const uint8_t *id)
{
    (void)id;
    struct m_usage *u = &r->m->usages[op->a];
    const struct m_grant *g = &r->m->grants[u->grant];
    if (op->kind == K_APPROVE) {
        u->appr[u->n_appr++] = signer;
        if ((uint32_t)u->n_appr >= g->m)
            u->status = U_EFFECTIVE;
    } else {
        u->rej[u->n_rej++] = signer;
        if ((uint32_t)(g->n_ap - u->n_rej) < g->m)
            u->status = U_REJECTED;
    }
}

/* --- building the tx for an op ------------------------------------------------------------ */

static void build(struct run *r, const struct op *op, int signer, uint64_t vu, uint8_t **tx,
                  size_t *len)
{
    struct tfx_chain *c = r->c;
    struct model *m = r->m;
    const uint8_t *sk = r->keys[signer].sk;
    uint8_t scratch[32], prev[32];
    int rc = 0;
    switch (op->kind) {
    case K_ORG:
        rc = ledger_txb_org_register(&c->g, sk, vu, op->code, op->flag ? "Org" : "",
                                     r->keys[op->a].pk, NULL, tx, len);
        break;
    case K_SEAL: {
        struct ledger_txb_seal p = {
            op->code, op->b, "Seal", m->seal_keys[op->c2].pk, op->d >= 0 ? r->keys[op->d].pk : NULL,
            NULL,     op->x, op->y
        };
        rc = ledger_txb_seal_register(&c->g, sk, vu, &p, tx, len);
        break;
    }
    case K_GRANT: {
        uint8_t ap[4][32];
        for (int i = 0; i < op->n_ap; i++)
            memcpy(ap[i], r->keys[op->ap[i]].pk, 32);
        struct ledger_txb_grant p = {
            seal_id_of(r, op->a, scratch), r->keys[op->b].pk, op->x, op->max_uses,
            (const uint8_t(*)[32])ap,      (size_t)op->n_ap,  op->m, op->y
        };
        rc = ledger_txb_grant(&c->g, sk, vu, &p, tx, len);
        break;
    }
    case K_REVOKE:
        rc = ledger_txb_revoke_grant(&c->g, sk, vu, seal_id_of(r, op->a, scratch),
                                     r->keys[op->b].pk, tx, len);
        break;
    case K_SUSPEND:
    case K_RESUME:
    case K_DESTROY: {
        const uint8_t *id = seal_id_of(r, op->a, scratch);
        if (op->a >= 0 && op->flag)
            memcpy(prev, m->seals[op->a].last, 32);
        else if (op->a >= 0 && m->seals[op->a].hist > 1)
            memcpy(prev, m->seals[op->a].older, 32);
        else
            memset(prev, 0x5a, 32);
        rc = op->kind == K_SUSPEND  ? ledger_txb_suspend(&c->g, sk, vu, id, prev, "r", tx, len)
             : op->kind == K_RESUME ? ledger_txb_resume(&c->g, sk, vu, id, prev, tx, len)
                                    : ledger_txb_destroy(&c->g, sk, vu, id, prev, "r", tx, len);
        break;
    }
    case K_USE: {
        uint8_t doc[32], gid[32];
        uint32_t d = (uint32_t)op->c2;
        ledger_sha256(&d, sizeof(d), doc);
        if (op->a >= 0)
            memcpy(gid, m->grants[op->a].id, 32);
        else
            memset(gid, 0x77, 32);
        int key = op->b >= 0 ? m->seals[op->b].key : 0;
        const struct tfx_key *seal_sk =
            op->flag && m->n_seal_keys > 0 ? &m->seal_keys[key] : &r->keys[person(r)];
        rc = ledger_txb_use(&c->g, sk, vu, seal_sk->sk, seal_id_of(r, op->b, scratch), gid, doc,
                            NULL, NULL, tx, len);
        break;
    }
    case K_APPROVE:
    case K_REJECT: {
        const uint8_t *u = op->a >= 0 ? m->usages[op->a].id : (memset(scratch, 0x66, 32), scratch);
        rc = op->kind == K_APPROVE ? ledger_txb_approve(&c->g, sk, vu, u, tx, len)
                                   : ledger_txb_reject(&c->g, sk, vu, u, "r", tx, len);
        break;
    }
    }
    assert_int_equal(rc, 0);
}

/* Before the original: its body re-signed by another key (any key, often one
 * with the same right) and offered first. The body names the original
 * signer, so the copy is refused whatever the key's rights, unless its id is
 * already on chain. The original is then judged as if nothing happened. */
static void resign_first(struct run *r, const struct pending_tx *p, int signer)
{
    int k = (int)below(r, M_KEYS - 1);
    k += k >= signer;
    Sealchain__Tx *env = sealchain__tx__unpack(NULL, p->len, p->tx);
    assert_non_null(env);
    uint8_t sig[64], *copy;
    size_t copy_len;
    assert_int_equal(
        ledger_sign(LEDGER_TAG_TX, r->c->g.hash, env->body.data, env->body.len, r->keys[k].sk, sig),
        0);
    assert_int_equal(
        ledger_txb_wrap(env->body.data, env->body.len, r->keys[k].pk, sig, &copy, &copy_len), 0);
    sealchain__tx__free_unpacked(env, NULL);
    int want = m_seen(r->m, p->id) ? LEDGER_E_DUPLICATE_TX : LEDGER_E_SIGNER_MISMATCH;
    int checked = tfx_check(r->c, copy, copy_len);
    int got = tfx_submit(r->c, copy, copy_len, NULL);
    if (checked != want || got != want)
        fail_msg("re-signed copy: check %s, exec %s (%s), model %s", ledger_errname(checked),
                 ledger_errname(got), r->c->errmsg, ledger_errname(want));
    r->by_code[got]++;
    r->refused++;
}

/* One random transaction: generate, predict, submit, compare, apply to the model. */
static void step(struct run *r)
{
    struct model *m = r->m;
    /* Sometimes replay an accepted tx: always a duplicate. */
    if (r->n_replay > 0 && chance(r, 3)) {
        int i = (int)below(r, (uint32_t)r->n_replay);
        uint8_t *copy = malloc(r->replay_len[i]);
        memcpy(copy, r->replay[i], r->replay_len[i]);
        int rc = tfx_submit(r->c, copy, r->replay_len[i], NULL);
        if (rc != LEDGER_E_DUPLICATE_TX)
            fail_msg("replay: got %s (%s)", ledger_errname(rc), r->c->errmsg);
        r->by_code[rc]++;
        r->refused++;
        return;
    }
    static const uint32_t weights[K__N] = { 4, 10, 14, 4, 5, 5, 1, 37, 12, 8 };
    uint32_t x = below(r, 100), acc = 0;
    struct op op;
    memset(&op, 0, sizeof(op));
    for (op.kind = 0; op.kind < K__N - 1; op.kind++) {
        acc += weights[op.kind];
        if (x < acc)
            break;
    }
    if (m->n_seals >= M_MAX - 1 || m->n_grants >= M_MAX - 1 || m->n_usages >= M_MAX - 1 ||
        m->n_orgs >= 255 || m->n_seal_keys >= M_MAX - 1)
        op.kind = K_APPROVE;
    int signer = 0;
    struct pending_tx p = { .twist = pick_twist(r) };
    switch (op.kind) {
    case K_ORG:
        p.want = gen_org(r, &op, &signer);
        break;
    case K_SEAL:
        p.want = gen_seal(r, &op, &signer);
        break;
    case K_GRANT:
        p.want = gen_grant(r, &op, &signer);
        break;
    case K_REVOKE:
        p.want = gen_revoke(r, &op, &signer);
        break;
    case K_SUSPEND:
    case K_RESUME:
    case K_DESTROY:
        p.want = gen_lifecycle(r, &op, &signer);
        break;
    case K_USE:
        p.want = gen_use(r, &op, &signer, &p.late);
        break;
    default:
        p.want = gen_vote(r, &op, &signer);
        break;
    }
    build(r, &op, signer, valid_until(r, p.twist), &p.tx, &p.len);
    if (p.twist == T_BAD_SIG)
        p.tx[p.len - 1 - below(r, 64)] ^= (uint8_t)(1u << below(r, 8));
    assert_int_equal(ledger_tx_id(p.tx, p.len, p.id), 0);
    if (p.twist == T_RESIGN) {
        resign_first(r, &p, signer);
        p.twist = T_NONE;
    }
    int want = m_seen(m, p.id) ? LEDGER_E_DUPLICATE_TX : final_verdict(&p);
    uint8_t *keep = malloc(p.len);
    memcpy(keep, p.tx, p.len);
    size_t keep_len = p.len;
    /* Mempool admission (check) and block execution must agree. */
    int checked = tfx_check(r->c, p.tx, p.len);
    int got = tfx_submit(r->c, p.tx, p.len, NULL);
    if (checked != got)
        fail_msg("check said %s, exec said %s", ledger_errname(checked), ledger_errname(got));
    if (got != want)
        fail_msg("op %d at h=%llu t=%llu: ledger %s (%s), model %s", op.kind,
                 (unsigned long long)r->c->height + 1, (unsigned long long)r->t,
                 ledger_errname(got), r->c->errmsg, ledger_errname(want));
    r->by_code[got]++;
    if (got != 0) {
        r->refused++;
        free(keep);
        return;
    }
    r->accepted++;
    memcpy(m->seen[m->n_seen++], p.id, 32);
    if (r->n_replay < 64) {
        r->replay[r->n_replay] = keep;
        r->replay_len[r->n_replay++] = keep_len;
    } else {
        int i = (int)below(r, 64);
        free(r->replay[i]);
        r->replay[i] = keep;
        r->replay_len[i] = keep_len;
    }
    static void (*const apply[K__N])(struct run *, const struct op *, int, const uint8_t *) = {
        apply_org,       apply_seal,      apply_grant, apply_revoke, apply_lifecycle,
        apply_lifecycle, apply_lifecycle, apply_use,   apply_vote,   apply_vote,
    };
    apply[op.kind](r, &op, signer, p.id);
}

/* --- comparing query-visible facts ------------------------------------------------------- */

static void compare(struct run *r)
{
    struct model *m = r->m;
    struct tfx_chain *c = r->c;
    uint64_t now = c->time_ms;
    for (int i = 0; i < m->n_orgs; i++) {
        Sealchain__OrgRecord *o = tfx_org(c, m->orgs[i].code);
        assert_non_null(o);
        int off = m->orgs[i].official;
        assert_int_equal(o->official_seal.len, off >= 0 ? 32 : 0);
        if (off >= 0)
            assert_memory_equal(o->official_seal.data, m->seals[off].id, 32);
        assert_int_equal(o->authority, m->orgs[i].authority);
        sealchain__org_record__free_unpacked(o, NULL);
    }
    for (int i = 0; i < m->n_seals; i++) {
        const struct m_seal *ms = &m->seals[i];
        Sealchain__SealRecord *s = tfx_seal(c, ms->id);
        assert_non_null(s);
        assert_int_equal(s->status, ms->status);
        assert_int_equal(s->history_count, ms->hist);
        assert_int_equal(s->suspended_by, ms->suspended_by);
        assert_memory_equal(s->last_history_tx.data, ms->last, 32);
        sealchain__seal_record__free_unpacked(s, NULL);
    }
    for (int i = 0; i < m->n_grants; i++) {
        const struct m_grant *mg = &m->grants[i];
        Sealchain__GrantRecord *g = tfx_grant(c, mg->id);
        assert_non_null(g);
        assert_int_equal(g->revoked, mg->revoked);
        /* Uses held now: the stored count less the pending uses that have lapsed
         * but not been touched since (lapse is lazy, DESIGN §1 / exec.h). */
        uint32_t lapsed = 0;
        for (size_t j = 0; j < g->n_pending; j++) {
            Sealchain__UsageRecord *u = tfx_usage(c, g->pending[j].data);
            assert_non_null(u);
            lapsed += ledger_usage_status_at(u->status, u->time_ms, g->approval_window_ms, now) ==
                      U_LAPSED;
            sealchain__usage_record__free_unpacked(u, NULL);
        }
        uint32_t pending;
        assert_int_equal(g->uses - lapsed, m_held(m, i, now, &pending));
        assert_int_equal(g->n_pending - lapsed, pending);
        sealchain__grant_record__free_unpacked(g, NULL);
    }
    for (int i = 0; i < m->n_usages; i++) {
        const struct m_usage *mu = &m->usages[i];
        Sealchain__UsageRecord *u = tfx_usage(c, mu->id);
        assert_non_null(u);
        int st = ledger_usage_status_at(u->status, u->time_ms, m->grants[mu->grant].window, now);
        if (st != m_status(m, mu, now))
            fail_msg("usage %d: ledger status %d, model %d", i, st, m_status(m, mu, now));
        assert_int_equal(u->n_approvals, mu->n_appr);
        assert_int_equal(u->n_rejections, mu->n_rej);
        sealchain__usage_record__free_unpacked(u, NULL);
    }
}

static void run_seed(uint64_t seed, int n_txs)
{
    struct run *r = calloc(1, sizeof(*r));
    r->m = calloc(1, sizeof(*r->m));
    r->m->seen = malloc((size_t)(n_txs + 16) * 32);
    r->rng = seed * 0x9e3779b97f4a7c15ull + 1;
    r->c = tfx_chain_new(M_NAUTH);
    r->next_code = 1000;
    for (int i = 0; i < M_NAUTH; i++) {
        r->keys[i] = r->c->admin[i];
        struct m_org *o = &r->m->orgs[r->m->n_orgs++];
        snprintf(o->code, sizeof(o->code), "agency%d", i);
        o->admin = i;
        o->authority = i;
        o->official = -1;
    }
    for (int i = M_NAUTH; i < M_KEYS; i++)
        tfx_key_make(600, (uint32_t)i, &r->keys[i]);
    int done = 0;
    while (done < n_txs) {
        uint32_t x = below(r, 100);
        /* Whole seconds, like every window and expiry below, so that block
         * times land exactly on boundaries (inclusive/exclusive matters). */
        uint64_t dt = 1000 * (x < 60   ? 1 + below(r, 4)
                              : x < 90 ? 5 + below(r, 25)
                                       : 60 + below(r, 540));
        r->t = r->c->time_ms + dt;
        tfx_block_open(r->c, r->t);
        int n = 1 + (int)below(r, 8);
        for (int i = 0; i < n && done < n_txs; i++, done++)
            step(r);
        tfx_block_commit(r->c);
        compare(r);
    }
    print_message("seed %llu: %d txs in %llu blocks, %d accepted, %d refused (%d seals, %d grants, "
                  "%d uses)\n",
                  (unsigned long long)seed, n_txs, (unsigned long long)r->c->height, r->accepted,
                  r->refused, r->m->n_seals, r->m->n_grants, r->m->n_usages);
    if (getenv("MODEL_VERBOSE") != NULL)
        for (int i = 0; i < LEDGER_E__COUNT; i++)
            if (r->by_code[i])
                print_message("  %-22s %d\n", ledger_errname(i), r->by_code[i]);
    /* Every refusal the generator aims at must actually occur, or the test
     * would pass while exercising nothing. */
    static const int must[] = { LEDGER_E_NOT_AUTHORISED,
                                LEDGER_E_ORG_EXISTS,
                                LEDGER_E_BAD_CREDIT_CODE,
                                LEDGER_E_UNKNOWN_SEAL,
                                LEDGER_E_SEAL_SUSPENDED,
                                LEDGER_E_SEAL_DESTROYED,
                                LEDGER_E_STALE,
                                LEDGER_E_RESUME_ROLE,
                                LEDGER_E_GRANT_MISSING,
                                LEDGER_E_GRANT_REVOKED,
                                LEDGER_E_GRANT_USED_UP,
                                LEDGER_E_GRANT_EXPIRED,
                                LEDGER_E_BAD_SEAL_SIGNATURE,
                                LEDGER_E_BAD_SIGNATURE,
                                LEDGER_E_NOT_APPROVER,
                                LEDGER_E_USAGE_NOT_PENDING,
                                LEDGER_E_DUPLICATE_TX,
                                LEDGER_E_EXPIRED_TX,
                                LEDGER_E_TX_TOO_FAR,
                                LEDGER_E_SIGNER_MISMATCH,
                                LEDGER_E_SEAL_KEY_EXISTS,
                                LEDGER_E_OFFICIAL_SEAL_EXISTS };
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        if (r->by_code[must[i]] == 0)
            fail_msg("seed %llu never produced %s", (unsigned long long)seed,
                     ledger_errname(must[i]));
    for (int i = 0; i < r->n_replay; i++)
        free(r->replay[i]);
    tfx_chain_free(r->c);
    free(r->m->seen);
    free(r->m);
    free(r);
}

static void ledger_and_model_agree_seed_1(void **state)
{
    (void)state;
    run_seed(1, 3000);
}

static void ledger_and_model_agree_seed_2(void **state)
{
    (void)state;
    run_seed(2, 3000);
}

static void ledger_and_model_agree_seed_3(void **state)
{
    (void)state;
    run_seed(3, 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ledger_and_model_agree_seed_1),
        cmocka_unit_test(ledger_and_model_agree_seed_2),
        cmocka_unit_test(ledger_and_model_agree_seed_3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
