/* Simulated network: per-link delay, drop, duplicate, reorder, and partitions that heal. */
#ifndef SIM_NET_H
#define SIM_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/sim/queue.h"
#include "tests/sim/rng.h"

/* Most replica instances in one run: n up to 31 plus f = 10 twins. */
#define SIM_MAX_SLOTS 42

/* Behaviour of one directed link. Probabilities are in parts per million. */
struct sim_link {
    uint32_t delay_min, delay_max; /* one-way delay in virtual ms, uniform */
    uint32_t drop_ppm;             /* message lost */
    uint32_t dup_ppm;              /* message delivered twice (second copy later) */
    uint32_t reorder_ppm;          /* message held back long enough to overtake later ones */
};

/* Counts of what the network did, for the summary line. */
struct sim_net_stats {
    uint64_t sent, delivered_sched, drops, dups, reorders, cut; /* cut: lost to a partition */
};

struct sim_net {
    int slots;
    struct sim_link link[SIM_MAX_SLOTS][SIM_MAX_SLOTS];
    int group[SIM_MAX_SLOTS]; /* partition side of each slot; equal sides talk */
    bool partitioned;
    struct sim_net_stats st;
};

/* A fault-free network of `slots` instances where every link has the given delay range. */
void sim_net_init(struct sim_net *net, int slots, uint32_t delay_min, uint32_t delay_max);
/* Applies the same faults to every link (self-links stay perfect). */
void sim_net_set_faults(struct sim_net *net, uint32_t drop_ppm, uint32_t dup_ppm,
                        uint32_t reorder_ppm);
/* Puts slot s on partition side `side`; marks the network partitioned. */
void sim_net_place(struct sim_net *net, int s, int side);
/* Sets every link's delay range (self-links stay 0). */
void sim_net_set_delay(struct sim_net *net, uint32_t delay_min, uint32_t delay_max);
/* Gives every link its own delay range: delay_min..(delay_min + 1..3 x delay_max). */
void sim_net_vary(struct sim_net *net, struct sim_rng *rng);
/* Heals every partition. */
void sim_net_heal(struct sim_net *net);
/* True when a and b can currently talk. */
bool sim_net_connected(const struct sim_net *net, int a, int b);
/*
 * Sends blob from slot `from` to slot `to` at time `now`: schedules zero, one or two
 * SIM_EV_MSG deliveries on q. Consumes the caller's reference to blob.
 */
void sim_net_send(struct sim_net *net, struct sim_rng *rng, struct sim_queue *q, uint64_t now,
                  int from, int to, struct sim_blob *blob);

#endif
