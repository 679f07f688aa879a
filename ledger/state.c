/* The write overlay of one block over committed state, and the state root. */
#include "ledger/state.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"

/* An open-addressing hash table of copied writes; sorted only when iterated
 * (for the block's digest, then its commit), so puts stay O(1). The sorted
 * order is kept until a new key or a move of the table, so the commit
 * reuses the digest's sort. */
struct entry {
    uint8_t *key; /* NULL = empty slot */
    size_t key_len;
    uint8_t *val;
    size_t val_len;
    uint64_t hash;
    uint32_t writer; /* ledger_overlay_set_writer at the last put */
};

struct ledger_overlay {
    const struct ledger_state_base *base;
    struct entry *slots;
    size_t cap; /* power of two */
    size_t count;
    uint32_t writer;
    struct entry **sorted; /* the entries in key order, while sorted_ok */
    bool sorted_ok;
};

#define INITIAL_CAP 64

static uint64_t hash_key(const uint8_t *key, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: keys are hashes already, mostly */
    for (size_t i = 0; i < len; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return h;
}

struct ledger_overlay *ledger_overlay_new(const struct ledger_state_base *base)
{
    struct ledger_overlay *ov = calloc(1, sizeof(*ov));
    if (ov == NULL)
        return NULL;
    ov->slots = calloc(INITIAL_CAP, sizeof(*ov->slots));
    if (ov->slots == NULL) {
        free(ov);
        return NULL;
    }
    ov->base = base;
    ov->cap = INITIAL_CAP;
    return ov;
}

void ledger_overlay_free(struct ledger_overlay *ov)
{
    if (ov == NULL)
        return;
    free(ov->sorted);
    for (size_t i = 0; i < ov->cap; i++) {
        free(ov->slots[i].key);
        free(ov->slots[i].val);
    }
    free(ov->slots);
    free(ov);
}

static struct entry *find(const struct ledger_overlay *ov, const uint8_t *key, size_t key_len,
                          uint64_t h)
{
    size_t mask = ov->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct entry *e = &ov->slots[i];
        if (e->key == NULL)
            return e;
        if (e->hash == h && e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
            return e;
    }
}

int ledger_overlay_get(struct ledger_overlay *ov, const uint8_t *key, size_t key_len,
                       const uint8_t **out_val, size_t *out_val_len)
{
    struct entry *e = find(ov, key, key_len, hash_key(key, key_len));
    if (e->key != NULL) {
        *out_val = e->val;
        *out_val_len = e->val_len;
        return 0;
    }
    if (ov->base == NULL || ov->base->get == NULL)
        return LEDGER_E_NOT_FOUND;
    return ov->base->get(ov->base->ctx, key, key_len, out_val, out_val_len);
}

static int grow(struct ledger_overlay *ov)
{
    size_t cap = ov->cap * 2;
    struct entry *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return LEDGER_E_NOMEM;
    struct entry *old = ov->slots;
    size_t old_cap = ov->cap;
    ov->slots = slots;
    ov->cap = cap;
    ov->sorted_ok = false;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key != NULL)
            *find(ov, old[i].key, old[i].key_len, old[i].hash) = old[i];
    free(old);
    return 0;
}

static uint8_t *dup(const uint8_t *p, size_t len)
{
    uint8_t *d = malloc(len ? len : 1);
    if (d != NULL && len > 0)
        memcpy(d, p, len);
    return d;
}

int ledger_overlay_put(struct ledger_overlay *ov, const uint8_t *key, size_t key_len,
                       const uint8_t *val, size_t val_len)
{
    if (key_len == 0 || key_len > LEDGER_KEY_MAX)
        return LEDGER_E_INVALID;
    /* Keep the load under 1/2 so probes stay short. */
    if ((ov->count + 1) * 2 > ov->cap && grow(ov) != 0)
        return LEDGER_E_NOMEM;
    uint64_t h = hash_key(key, key_len);
    struct entry *e = find(ov, key, key_len, h);
    uint8_t *v = dup(val, val_len);
    if (v == NULL)
        return LEDGER_E_NOMEM;
    if (e->key == NULL) {
        e->key = dup(key, key_len);
        if (e->key == NULL) {
            free(v);
            return LEDGER_E_NOMEM;
        }
        e->key_len = key_len;
        e->hash = h;
        ov->count++;
        ov->sorted_ok = false;
    } else {
        free(e->val);
    }
    e->val = v;
    e->val_len = val_len;
    e->writer = ov->writer;
    return 0;
}

size_t ledger_overlay_count(const struct ledger_overlay *ov)
{
    return ov->count;
}

void ledger_overlay_set_writer(struct ledger_overlay *ov, uint32_t writer)
{
    ov->writer = writer;
}

int ledger_overlay_forget(struct ledger_overlay *ov, bool (*gone)(void *ctx, uint32_t writer),
                          void *ctx)
{
    /* Linear probing has no cheap delete: the survivors go to a fresh table. */
    struct entry *slots = calloc(ov->cap, sizeof(*slots));
    if (slots == NULL)
        return LEDGER_E_NOMEM;
    struct entry *old = ov->slots;
    ov->slots = slots;
    ov->count = 0;
    ov->sorted_ok = false;
    for (size_t i = 0; i < ov->cap; i++) {
        struct entry *e = &old[i];
        if (e->key == NULL)
            continue;
        if (gone(ctx, e->writer)) {
            free(e->key);
            free(e->val);
            continue;
        }
        *find(ov, e->key, e->key_len, e->hash) = *e;
        ov->count++;
    }
    free(old);
    return 0;
}

/* memcmp order, the shorter first on a common prefix: LMDB's default order. */
static int cmp_entries(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a;
    const struct entry *y = *(const struct entry *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c != 0)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

int ledger_overlay_foreach(struct ledger_overlay *ov,
                           int (*fn)(void *arg, const uint8_t *key, size_t key_len,
                                     const uint8_t *val, size_t val_len),
                           void *arg)
{
    if (ov->count == 0)
        return 0;
    if (!ov->sorted_ok) {
        struct entry **sorted = realloc(ov->sorted, ov->count * sizeof(*sorted));
        if (sorted == NULL)
            return LEDGER_E_NOMEM;
        ov->sorted = sorted;
        size_t n = 0;
        for (size_t i = 0; i < ov->cap; i++)
            if (ov->slots[i].key != NULL)
                sorted[n++] = &ov->slots[i];
        qsort(sorted, n, sizeof(*sorted), cmp_entries);
        ov->sorted_ok = true;
    }
    int rc = 0;
    size_t n = ov->count;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct entry *e = ov->sorted[i];
        rc = fn(arg, e->key, e->key_len, e->val, e->val_len);
    }
    return rc;
}

static int digest_one(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                      size_t val_len)
{
    crypto_hash_sha256_state *st = arg;
    uint8_t len[4];
    ledger_put_u32be(len, (uint32_t)key_len);
    crypto_hash_sha256_update(st, len, sizeof(len));
    crypto_hash_sha256_update(st, key, key_len);
    ledger_put_u32be(len, (uint32_t)val_len);
    crypto_hash_sha256_update(st, len, sizeof(len));
    crypto_hash_sha256_update(st, val, val_len);
    return 0;
}

int ledger_overlay_digest(struct ledger_overlay *ov, uint8_t out[static LEDGER_HASH_LEN])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    int rc = ledger_overlay_foreach(ov, digest_one, &st);
    if (rc != 0)
        return rc;
    crypto_hash_sha256_final(&st, out);
    return 0;
}

void ledger_state_root_next(const uint8_t prev[static LEDGER_HASH_LEN],
                            const uint8_t digest[static LEDGER_HASH_LEN],
                            uint8_t out[static LEDGER_HASH_LEN])
{
    uint8_t buf[2 * LEDGER_HASH_LEN];
    memcpy(buf, prev, LEDGER_HASH_LEN);
    memcpy(buf + LEDGER_HASH_LEN, digest, LEDGER_HASH_LEN);
    ledger_sha256(buf, sizeof(buf), out);
}
