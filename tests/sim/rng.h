/* Seeded deterministic PRNG used for every random choice the simulator makes. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* xoshiro256** state; the same seed always yields the same sequence. */
struct sim_rng {
    uint64_t s[4];
};

/* Seeds the generator through splitmix64 (any seed, including 0, is fine). */
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
/* Next 64 random bits. */
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, n); 0 when n == 0. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* Uniform in [lo, hi]; lo when hi <= lo. */
uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi);
/* True with probability ppm / 1,000,000. */
bool sim_rng_ppm(struct sim_rng *r, uint32_t ppm);
/* Fills out[0..len) with random bytes. */
void sim_rng_bytes(struct sim_rng *r, unsigned char *out, size_t len);

#endif
