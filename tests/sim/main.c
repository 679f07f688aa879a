/* Command line of the simulated PBFT cluster: seed sweeps, single replays, scenarios, Ed25519. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/log.h"
#include "tests/sim/sim.h"

static void usage(void)
{
    fprintf(stderr, "usage: sim --seeds N [--verbose]\n"
                    "       sim --seeds N --expect-violation [--all] [--quiet]\n"
                    "       sim --seed S [--n N] [--mix NAME] [--verbose]\n"
                    "       sim --scenarios [--verbose]\n"
                    "       sim --ed25519 [--seeds N] [--verbose]\n"
                    "       sim --list-mixes\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (s == NULL || *s == 0)
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != 0)
        return -1;
    *out = v;
    return 0;
}

static int parse_value(int argc, char **argv, int *i, struct sim_opts *o)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    uint64_t x = 0;
    if (strcmp(a, "--mix") == 0) {
        if (v == NULL)
            return -1;
        o->mix = v;
    } else if (parse_u64(v, &x) != 0) {
        return -1;
    } else if (strcmp(a, "--seeds") == 0) {
        o->seeds = x;
    } else if (strcmp(a, "--seed") == 0) {
        o->seed = x;
        o->one = true;
    } else if (strcmp(a, "--n") == 0) {
        if (x < 1 || x > SIM_MAX_N)
            return -1;
        o->n = (int)x;
    } else {
        return -1;
    }
    (*i)++;
    return 0;
}

static int parse_args(int argc, char **argv, struct sim_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--verbose") == 0)
            o->verbose = true;
        else if (strcmp(a, "--quiet") == 0)
            o->quiet = true;
        else if (strcmp(a, "--expect-violation") == 0)
            o->expect_violation = true;
        else if (strcmp(a, "--scenarios") == 0)
            o->scenarios = true;
        else if (strcmp(a, "--ed25519") == 0)
            o->ed25519 = true;
        else if (strcmp(a, "--all") == 0)
            o->all = true;
        else if (strcmp(a, "--list-mixes") == 0)
            o->list_mixes = true;
        else if (parse_value(argc, argv, &i, o) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sim_opts o = { .argv0 = argv[0] };
    /* The simulated nodes run the production driver, whose log lines carry
     * wall-clock times: they would drown the simulator's own trace
     * (--verbose), which tells the same story in virtual time. */
    node_log_set_level(NODE_LOG_ERROR);
    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    if (o.list_mixes)
        return sim_list_mixes();
    if (o.scenarios)
        return sim_scenarios(&o);
    if (o.ed25519)
        return sim_ed25519(&o);
    if (o.one)
        return sim_replay(&o);
    if (o.seeds > 0)
        return sim_sweep(&o);
    usage();
    return 2;
}
