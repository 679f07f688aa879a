/* Shared declarations of the simulated PBFT cluster (tests/sim). */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

/* Largest cluster the simulator runs (the core supports at least 31). */
#define SIM_MAX_N 31

/* What the command line asked for. */
struct sim_opts {
    uint64_t seeds;  /* --seeds N: sweep seeds 1..N */
    uint64_t seed;   /* --seed S: replay one */
    bool one;        /* --seed given */
    int n;           /* --n (0: chosen from the seed) */
    const char *mix; /* --mix (NULL: chosen from the seed) */
    bool verbose, quiet, expect_violation, scenarios, ed25519, list_mixes;
    bool all; /* --all: with --expect-violation, run every seed instead of stopping at the first */
    const char *argv0; /* how this binary was invoked, for replay commands */
};

/* --seeds N: runs seeds 1..N; exit status for main. */
int sim_sweep(const struct sim_opts *o);
/* --seed S: replays one run; exit status for main. */
int sim_replay(const struct sim_opts *o);
/* --scenarios: the hand-written scenarios; exit status for main. */
int sim_scenarios(const struct sim_opts *o);
/* --ed25519: a small cluster with real libsodium signatures; exit status for main. */
int sim_ed25519(const struct sim_opts *o);
/* --list-mixes: prints the fault mixes; returns 0. */
int sim_list_mixes(void);

#endif
