/* Driving one replica: simulated events turned into calls of the production driver. */
#ifndef SIM_REPLICA_H
#define SIM_REPLICA_H

#include "tests/sim/cluster.h"

/* Creates r's driver over its simulated chain (START from its durable snapshot and tip). */
void sim_replica_boot(struct sim_cluster *c, struct sim_replica *r);
/* The driver's send callback (ctx = the replica). */
void sim_replica_send(void *ctx, int to, const uint8_t *bytes, size_t len);
/* The driver's and core's trace callback (ctx = the replica). */
void sim_replica_trace(void *ctx, uint64_t now, unsigned self, const char *line);
/* Handles one popped event (ev->blob stays owned by the caller). */
void sim_replica_dispatch(struct sim_cluster *c, const struct sim_event *ev);

#endif
