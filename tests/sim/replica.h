/* Driving one replica: stepping its core and carrying out the update as its caller would. */
#ifndef SIM_REPLICA_H
#define SIM_REPLICA_H

#include "tests/sim/cluster.h"

/* Steps r's core with ev (ev->now is set here) and carries out the update. */
void sim_replica_step(struct sim_cluster *c, struct sim_replica *r, struct pbft_event *ev);
/* Handles one popped event (ev->blob stays owned by the caller). */
void sim_replica_dispatch(struct sim_cluster *c, const struct sim_event *ev);

#endif
