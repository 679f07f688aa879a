/* Virtual time and the event queue: a min-heap of timed events, ties broken by insertion order. */
#ifndef SIM_QUEUE_H
#define SIM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/* What an event does when its time comes. */
enum sim_ev_kind {
    SIM_EV_MSG,       /* deliver a message blob to replica `to` */
    SIM_EV_TIMER,     /* replica `to`'s core deadline `arg` may have been reached */
    SIM_EV_PERSISTED, /* replica `to`'s snapshot `arg` (blob) is durable */
    SIM_EV_CLIENT_TX, /* a client transaction `arg` reaches replica `to` */
    SIM_EV_FAULT,     /* scheduled fault action `arg` (crash, restart, partition, ...) */
    SIM_EV_BYZ,       /* a Byzantine replica `to` acts (flood, forged vote, ...) */
    SIM_EV_SYNC,      /* replica `to`'s caller finished fetching blocks up to `arg` */
    SIM_EV_TICK,      /* replica `to`'s caller looks at its mempool (overdue, proposal) */
    SIM_EV_CLIENT,    /* the client generator submits the next transaction */
};

/* A reference-counted byte string shared by duplicated deliveries. */
struct sim_blob {
    unsigned refs;
    size_t len;
    unsigned char data[];
};

struct sim_event {
    uint64_t at;  /* virtual time in milliseconds */
    uint64_t seq; /* insertion order: equal times pop in the order they were pushed */
    enum sim_ev_kind kind;
    int to;                /* replica slot the event is for (-1: the cluster) */
    int from;              /* sender slot for messages */
    uint32_t epoch;        /* incarnation of `to` the event belongs to; stale ones are dropped */
    uint64_t arg;          /* kind-specific */
    struct sim_blob *blob; /* owned reference, or NULL */
};

struct sim_queue {
    struct sim_event *heap;
    size_t len, cap;
    uint64_t seq;
};

/* Allocates a blob holding a copy of data[0..len), refs = 1; NULL on out of memory. */
struct sim_blob *sim_blob_new(const void *data, size_t len);
/* Adds a reference and returns b. */
struct sim_blob *sim_blob_ref(struct sim_blob *b);
/* Drops a reference; frees at zero. NULL is a no-op. */
void sim_blob_unref(struct sim_blob *b);

void sim_queue_init(struct sim_queue *q);
/* Frees every queued event and its blob reference. */
void sim_queue_close(struct sim_queue *q);
/* Pushes a copy of *ev (seq is assigned here); takes over ev->blob's reference. Aborts on OOM. */
void sim_queue_push(struct sim_queue *q, const struct sim_event *ev);
/* Pops the earliest event into *out; returns 0, or -1 when empty. Caller owns out->blob. */
int sim_queue_pop(struct sim_queue *q, struct sim_event *out);
/* Time of the earliest event, or UINT64_MAX when empty. */
uint64_t sim_queue_peek_time(const struct sim_queue *q);

#endif
