/* Small open-addressing hash map with fixed-size keys and values, for the checkers. */
#ifndef SIM_MAP_H
#define SIM_MAP_H

#include <stdbool.h>
#include <stddef.h>

#define SIM_MAP_KEY 48
#define SIM_MAP_VAL 32

struct sim_map_entry {
    bool used;
    unsigned char key[SIM_MAP_KEY];
    unsigned char val[SIM_MAP_VAL];
};

struct sim_map {
    struct sim_map_entry *e;
    size_t cap, len;
};

void sim_map_init(struct sim_map *m);
void sim_map_close(struct sim_map *m);
void sim_map_clear(struct sim_map *m);
/*
 * Looks key (zero-padded to SIM_MAP_KEY) up. Returns the stored value (valid until the
 * next insert), or NULL.
 */
const unsigned char *sim_map_get(const struct sim_map *m, const void *key, size_t key_len);
/* Inserts key -> val (val zero-padded) unless present; returns the stored value. Aborts on OOM. */
const unsigned char *sim_map_put(struct sim_map *m, const void *key, size_t key_len,
                                 const void *val, size_t val_len);

#endif
