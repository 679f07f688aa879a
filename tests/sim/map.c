/* Open-addressing hash map (linear probing, FNV-1a) used by the safety checkers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/map.h"

void sim_map_init(struct sim_map *m)
{
    memset(m, 0, sizeof(*m));
}

void sim_map_close(struct sim_map *m)
{
    free(m->e);
    memset(m, 0, sizeof(*m));
}

void sim_map_clear(struct sim_map *m)
{
    if (m->e != NULL)
        memset(m->e, 0, m->cap * sizeof(*m->e));
    m->len = 0;
}

static size_t hash(const unsigned char *k)
{
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < SIM_MAP_KEY; i++)
        h = (h ^ k[i]) * 1099511628211ULL;
    return (size_t)h;
}

static void pad(unsigned char out[SIM_MAP_KEY], const void *key, size_t len)
{
    memset(out, 0, SIM_MAP_KEY);
    memcpy(out, key, len < SIM_MAP_KEY ? len : SIM_MAP_KEY);
}

static struct sim_map_entry *find(const struct sim_map *m, const unsigned char *k)
{
    size_t i = hash(k) & (m->cap - 1);
    while (m->e[i].used) {
        if (memcmp(m->e[i].key, k, SIM_MAP_KEY) == 0)
            return &m->e[i];
        i = (i + 1) & (m->cap - 1);
    }
    return &m->e[i];
}

static void grow(struct sim_map *m)
{
    size_t old = m->cap;
    struct sim_map_entry *oe = m->e;
    m->cap = old ? old * 2 : 256;
    m->e = calloc(m->cap, sizeof(*m->e));
    if (m->e == NULL) {
        fprintf(stderr, "sim: out of memory in map\n");
        abort();
    }
    for (size_t i = 0; i < old; i++) {
        if (oe[i].used)
            *find(m, oe[i].key) = oe[i];
    }
    free(oe);
}

const unsigned char *sim_map_get(const struct sim_map *m, const void *key, size_t key_len)
{
    unsigned char k[SIM_MAP_KEY];
    if (m->cap == 0)
        return NULL;
    pad(k, key, key_len);
    struct sim_map_entry *e = find(m, k);
    return e->used ? e->val : NULL;
}

const unsigned char *sim_map_put(struct sim_map *m, const void *key, size_t key_len,
                                 const void *val, size_t val_len)
{
    unsigned char k[SIM_MAP_KEY];
    if (2 * (m->len + 1) > m->cap)
        grow(m);
    pad(k, key, key_len);
    struct sim_map_entry *e = find(m, k);
    if (!e->used) {
        e->used = true;
        memcpy(e->key, k, SIM_MAP_KEY);
        memset(e->val, 0, SIM_MAP_VAL);
        memcpy(e->val, val, val_len < SIM_MAP_VAL ? val_len : SIM_MAP_VAL);
        m->len++;
    }
    return e->val;
}
