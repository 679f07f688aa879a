/* Helpers shared by the hand-written scenarios. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/sim/cluster.h"

struct sim_scen {
    char why[400]; /* why the scenario failed */
};

struct sim_scen_def {
    const char *name; /* the rule it checks, as a sentence */
    int (*fn)(struct sim_scen *s, struct sim_cluster *c);
    const char *mix; /* NULL: "clean" (no faults but those the script makes) */
};

/* The view slot s's core is in (0 when it is down). */
uint64_t sim_scen_view(struct sim_cluster *c, int s);
/* Runs until every honest up replica applied height h (true) or max_ms passed (false). */
bool sim_scen_reach(struct sim_cluster *c, uint64_t h, uint64_t max_ms);
/* Writes a narration line into the trace. */
void sim_scen_say(struct sim_cluster *c, const char *text);

#endif
