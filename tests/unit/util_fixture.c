/* Test fixture: deterministic keys, a genesis of N validators, an in-memory
 * committed state, and block-by-block execution through ledger_exec. */
#include "util_fixture.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/creditcode.h"
#include "ledger/crypto.h"
#include "ledger/err.h"
#include "ledger/txbuild.h"

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

void tfx_key_make(uint32_t a, uint32_t b, struct tfx_key *k)
{
    uint8_t seed[32] = { 't', 'f', 'x' };
    ledger_put_u32be(seed + 8, a);
    ledger_put_u32be(seed + 12, b);
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

/* --- in-memory state ---------------------------------------------------------- */

struct mem_entry {
    uint8_t *key, *val;
    size_t key_len, val_len;
};

struct tfx_mem {
    struct ledger_state_base base;
    struct mem_entry *slots;
    size_t cap, count;
};

static uint64_t mem_hash(const uint8_t *k, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 1099511628211ull;
    return h;
}

static struct mem_entry *mem_find(struct mem_entry *slots, size_t cap, const uint8_t *k, size_t n)
{
    for (size_t i = mem_hash(k, n) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (slots[i].key == NULL || (slots[i].key_len == n && memcmp(slots[i].key, k, n) == 0))
            return &slots[i];
}

static int mem_get(void *ctx, const uint8_t *key, size_t key_len, const uint8_t **out_val,
                   size_t *out_val_len)
{
    struct tfx_mem *m = ctx;
    struct mem_entry *e = mem_find(m->slots, m->cap, key, key_len);
    if (e->key == NULL)
        return LEDGER_E_NOT_FOUND;
    *out_val = e->val;
    *out_val_len = e->val_len;
    return 0;
}

struct tfx_mem *tfx_mem_new(void)
{
    struct tfx_mem *m = xmalloc(sizeof(*m));
    m->cap = 1024;
    m->count = 0;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (m->slots == NULL)
        abort();
    m->base.ctx = m;
    m->base.get = mem_get;
    return m;
}

void tfx_mem_free(struct tfx_mem *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        free(m->slots[i].val);
    }
    free(m->slots);
    free(m);
}

const struct ledger_state_base *tfx_mem_base(struct tfx_mem *m)
{
    return &m->base;
}

size_t tfx_mem_count(const struct tfx_mem *m)
{
    return m->count;
}

static void mem_put(struct tfx_mem *m, const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len)
{
    if ((m->count + 1) * 2 > m->cap) {
        size_t cap = m->cap * 2;
        struct mem_entry *slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
            abort();
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key != NULL)
                *mem_find(slots, cap, m->slots[i].key, m->slots[i].key_len) = m->slots[i];
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    struct mem_entry *e = mem_find(m->slots, m->cap, key, key_len);
    if (e->key == NULL) {
        e->key = xmalloc(key_len);
        memcpy(e->key, key, key_len);
        e->key_len = key_len;
        m->count++;
    } else {
        free(e->val);
    }
    e->val = xmalloc(val_len);
    if (val_len)
        memcpy(e->val, val, val_len);
    e->val_len = val_len;
}

static int commit_one(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                      size_t val_len)
{
    mem_put(arg, key, key_len, val, val_len);
    return 0;
}

void tfx_mem_commit(struct tfx_mem *m, struct ledger_overlay *ov)
{
    if (ledger_overlay_foreach(ov, commit_one, m) != 0)
        abort();
}

/* --- chain ------------------------------------------------------------------------- */

struct tfx_chain *tfx_chain_new(uint32_t n)
{
    if (n == 0 || n > TFX_MAX_N || ledger_crypto_init() != 0)
        abort();
    struct tfx_chain *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    snprintf(c->g.chain_id, sizeof(c->g.chain_id), "tfx-%u", n);
    c->g.time_ms = TFX_GENESIS_TIME;
    c->g.n = n;
    for (uint32_t i = 0; i < n; i++) {
        tfx_key_make(1, i, &c->node[i]);
        tfx_key_make(2, i, &c->admin[i]);
        struct ledger_validator *v = &c->g.validators[i];
        memcpy(v->node_key, c->node[i].pk, 32);
        memcpy(v->admin_key, c->admin[i].pk, 32);
        snprintf(v->org_id, sizeof(v->org_id), "agency%u", i);
        snprintf(v->org_name, sizeof(v->org_name), "Agency %u", i);
    }
    if (ledger_genesis_finish(&c->g, c->errmsg, sizeof(c->errmsg)) != 0) {
        fprintf(stderr, "tfx: genesis: %s\n", c->errmsg);
        abort();
    }
    c->mem = tfx_mem_new();
    struct ledger_overlay *ov = ledger_overlay_new(tfx_mem_base(c->mem));
    if (ov == NULL || ledger_state_genesis(&c->g, ov) != 0)
        abort();
    tfx_mem_commit(c->mem, ov);
    ledger_overlay_free(ov);
    memcpy(c->root, c->g.hash, 32);
    c->time_ms = c->g.time_ms;
    return c;
}

void tfx_chain_free(struct tfx_chain *c)
{
    if (c == NULL)
        return;
    ledger_exec_free(c->ex);
    tfx_mem_free(c->mem);
    free(c);
}

void tfx_block_open(struct tfx_chain *c, uint64_t time_ms)
{
    if (c->ex != NULL)
        return;
    c->ex_time = time_ms ? time_ms : c->time_ms + TFX_BLOCK_MS;
    c->ex = ledger_exec_new(&c->g, tfx_mem_base(c->mem), c->height + 1, c->ex_time);
    if (c->ex == NULL)
        abort();
}

int tfx_submit(struct tfx_chain *c, uint8_t *tx, size_t len, uint8_t id[32])
{
    tfx_block_open(c, 0);
    c->errmsg[0] = '\0';
    int rc = ledger_exec_tx(c->ex, tx, len, id, c->errmsg, sizeof(c->errmsg));
    free(tx);
    return rc;
}

int tfx_check(struct tfx_chain *c, const uint8_t *tx, size_t len)
{
    tfx_block_open(c, 0);
    c->errmsg[0] = '\0';
    return ledger_exec_check(c->ex, tx, len, NULL, c->errmsg, sizeof(c->errmsg));
}

void tfx_block_commit(struct tfx_chain *c)
{
    tfx_block_open(c, 0);
    uint8_t root[32];
    if (ledger_exec_finish(c->ex, c->root, c->tx_root, root) != 0)
        abort();
    tfx_mem_commit(c->mem, ledger_exec_overlay(c->ex));
    memcpy(c->root, root, 32);
    c->height++;
    c->time_ms = c->ex_time;
    ledger_exec_free(c->ex);
    c->ex = NULL;
}

void tfx_block_abort(struct tfx_chain *c)
{
    ledger_exec_free(c->ex);
    c->ex = NULL;
}

int tfx_run(struct tfx_chain *c, uint8_t *tx, size_t len, uint8_t id[32])
{
    int rc = tfx_submit(c, tx, len, id);
    tfx_block_commit(c);
    return rc;
}

uint64_t tfx_vu(const struct tfx_chain *c)
{
    return c->time_ms + 3600 * 1000;
}

/* --- reads -------------------------------------------------------------------------- */

bool tfx_get(struct tfx_chain *c, const uint8_t *key, size_t key_len, uint8_t *out, size_t out_cap,
             size_t *out_len)
{
    const uint8_t *v;
    size_t n;
    int rc = c->ex != NULL ? ledger_overlay_get(ledger_exec_overlay(c->ex), key, key_len, &v, &n)
                           : mem_get(c->mem, key, key_len, &v, &n);
    if (rc != 0)
        return false;
    if (out != NULL)
        memcpy(out, v, n < out_cap ? n : out_cap);
    if (out_len != NULL)
        *out_len = n;
    return true;
}

size_t tfx_key2(uint8_t *key, int prefix, const void *a, size_t a_len, const void *b, size_t b_len)
{
    key[0] = (uint8_t)prefix;
    memcpy(key + 1, a, a_len);
    if (b != NULL)
        memcpy(key + 1 + a_len, b, b_len);
    return 1 + a_len + (b != NULL ? b_len : 0);
}

#define TFX_READ(fn, type, unpack, prefix, arg_t, arg_len)                                         \
    type *fn(struct tfx_chain *c, arg_t arg)                                                       \
    {                                                                                              \
        uint8_t key[LEDGER_KEY_MAX];                                                               \
        size_t kn = tfx_key2(key, (prefix), arg, (arg_len), NULL, 0);                              \
        const uint8_t *v;                                                                          \
        size_t n;                                                                                  \
        int rc = c->ex != NULL ? ledger_overlay_get(ledger_exec_overlay(c->ex), key, kn, &v, &n)   \
                               : mem_get(c->mem, key, kn, &v, &n);                                 \
        return rc == 0 ? unpack(NULL, n, v) : NULL;                                                \
    }

TFX_READ(tfx_org, Sealchain__OrgRecord, sealchain__org_record__unpack, LEDGER_K_ORG, const char *,
         strlen(arg))
TFX_READ(tfx_seal, Sealchain__SealRecord, sealchain__seal_record__unpack, LEDGER_K_SEAL,
         const uint8_t *, 32)
TFX_READ(tfx_grant, Sealchain__GrantRecord, sealchain__grant_record__unpack, LEDGER_K_GRANT,
         const uint8_t *, 32)
TFX_READ(tfx_usage, Sealchain__UsageRecord, sealchain__usage_record__unpack, LEDGER_K_USAGE,
         const uint8_t *, 32)

Sealchain__HistoryEntry *tfx_history(struct tfx_chain *c, const uint8_t seal_id[32], uint32_t seq)
{
    uint8_t key[64], s[4], v[4096];
    ledger_put_u32be(s, seq);
    size_t kn = tfx_key2(key, LEDGER_K_HISTORY, seal_id, 32, s, 4), n;
    if (!tfx_get(c, key, kn, v, sizeof(v), &n) || n > sizeof(v))
        return NULL;
    return sealchain__history_entry__unpack(NULL, n, v);
}

void tfx_credit_code(uint32_t n, char out[19])
{
    /* 9 (工商) 1 (企业) 110000 (Beijing) then an 8-digit serial + a fixed 9th
     * organisation-code character, then the GB 32100 check character. */
    snprintf(out, 19, "91110000%08uX", n % 100000000u);
    out[17] = ledger_credit_code_check_char(out);
    out[18] = '\0';
}

/* --- a ready-made world ---------------------------------------------------------------- */

void tfx_last(struct tfx_chain *c, const uint8_t seal[32], uint8_t out[32])
{
    Sealchain__SealRecord *s = tfx_seal(c, seal);
    if (s == NULL || s->last_history_tx.len != 32)
        abort();
    memcpy(out, s->last_history_tx.data, 32);
    sealchain__seal_record__free_unpacked(s, NULL);
}

int tfx_use(struct tfx_chain *c, const struct tfx_key *user, const struct tfx_key *seal_key,
            const uint8_t seal[32], const uint8_t grant[32], uint32_t doc, uint8_t usage[32])
{
    uint8_t d[32], *tx;
    size_t len;
    ledger_sha256(&doc, sizeof(doc), d);
    if (ledger_txb_use(&c->g, user->sk, tfx_vu(c), seal_key->sk, seal, grant, d, NULL, NULL, &tx,
                       &len) != 0)
        abort();
    return tfx_submit(c, tx, len, usage);
}

static void must(int rc, struct tfx_chain *c, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "tfx world: %s: %s (%s)\n", what, ledger_errname(rc), c->errmsg);
        abort();
    }
}

void tfx_world_init(struct tfx_world *w, uint32_t n_validators)
{
    memset(w, 0, sizeof(*w));
    w->c = tfx_chain_new(n_validators);
    struct tfx_chain *c = w->c;
    tfx_key_make(10, 0, &w->admin);
    tfx_key_make(10, 1, &w->custodian);
    tfx_key_make(10, 2, &w->seal_key);
    tfx_key_make(10, 3, &w->user);
    tfx_key_make(10, 4, &w->other);
    tfx_credit_code(1, w->org);
    uint8_t *tx;
    size_t len;
    must(ledger_txb_org_register(&c->g, c->admin[0].sk, tfx_vu(c), w->org, "Org One", w->admin.pk,
                                 NULL, &tx, &len),
         c, "build org");
    must(tfx_run(c, tx, len, NULL), c, "org register");
    struct ledger_txb_seal sp = { w->org,
                                  SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL,
                                  "Official seal",
                                  w->seal_key.pk,
                                  w->custodian.pk,
                                  NULL,
                                  0,
                                  0 };
    must(ledger_txb_seal_register(&c->g, w->admin.sk, tfx_vu(c), &sp, &tx, &len), c, "build seal");
    must(tfx_run(c, tx, len, w->seal), c, "seal register");
    struct ledger_txb_grant gp = { w->seal, w->user.pk, 0, 0, NULL, 0, 0, 0 };
    must(ledger_txb_grant(&c->g, w->custodian.sk, tfx_vu(c), &gp, &tx, &len), c, "build grant");
    must(tfx_run(c, tx, len, w->grant), c, "grant");
}

void tfx_world_close(struct tfx_world *w)
{
    tfx_chain_free(w->c);
    w->c = NULL;
}
