/* One simulated run from a seed: fault schedule, healing, liveness bound, summary. */
#ifndef SIM_RUN_H
#define SIM_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/sim/cluster.h"

/* Virtual ms after healing within which commits must resume (timers are capped at 8 s). */
#define SIM_LIVENESS_BOUND 60000
/* Virtual ms after liveness in which honest replicas must settle (no view churn). */
#define SIM_SETTLE_MS 3000

/* The outcome of one run. */
struct sim_result {
    bool violated;
    enum sim_violation vkind;
    char what[320];
    struct sim_stats st;
};

/* The fault mixes, by name; NULL when unknown. */
const struct sim_mix *sim_mix_find(const char *name);
/* Number of mixes and the i-th one. */
int sim_mix_count(void);
const struct sim_mix *sim_mix_at(int i);
/* The (n, mix) a sweep uses for seed. */
void sim_pick(uint64_t seed, int *out_n, const struct sim_mix **out_mix);
/* Optional knobs of a run. */
struct sim_run_hooks {
    bool real_keys;   /* sign with Ed25519 (libsodium) instead of the fake signer */
    bool soft_quorum; /* count short certificates instead of failing on them (mutant hunt) */
    /* Called at the end of the run, before the cluster is freed (borrowed for the call). */
    void (*after)(struct sim_cluster *c, void *ctx);
    void *ctx;
};

/*
 * Runs one seed with n replicas and the mix; trace borrowed (set off for speed); hooks
 * may be NULL. Fills *out. Returns 0, or -1 on setup failure.
 */
int sim_run(uint64_t seed, int n, const struct sim_mix *mix, struct sim_trace *trace,
            const struct sim_run_hooks *hooks, struct sim_result *out);
/* Adds b's counters to a. */
void sim_stats_add(struct sim_stats *a, const struct sim_stats *b);
/* Prints the counters of st as "key=value" pairs (no newline). */
void sim_stats_print(const struct sim_stats *st);
/* True for the violations that break safety (not liveness or harness errors). */
bool sim_is_safety(enum sim_violation v);

#endif
