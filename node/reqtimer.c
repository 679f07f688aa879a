/* PBFT's request timer over a mempool: stall and censorship rules (node/reqtimer.h). */
#include "node/reqtimer.h"

/* now - since has reached the time-out (a clock that went back has not). */
static bool elapsed(uint64_t since, uint64_t now, uint64_t timeout)
{
    return now >= since && now - since >= timeout;
}

void node_reqtimer_init(struct node_reqtimer *t, uint64_t timeout_ms)
{
    *t = (struct node_reqtimer){ .timeout_ms = timeout_ms };
}

/* "starts a timer when it receives a request and the timer is not already running" */
void node_reqtimer_admitted(struct node_reqtimer *t, uint64_t now)
{
    if (!t->running) {
        t->running = true;
        t->since = now;
    }
}

/* "stops the timer when it is no longer waiting ..., but restarts it if at that point it
 * is waiting to execute some other request" */
void node_reqtimer_executed(struct node_reqtimer *t, size_t held, uint64_t now)
{
    t->running = held > 0;
    t->since = now;
}

bool node_reqtimer_had_room(size_t block_txs, size_t max_txs)
{
    return block_txs < max_txs;
}

void node_reqwait_left_out(struct node_reqwait *w, uint64_t now)
{
    if (!w->left_out) {
        w->left_out = true;
        w->since = now;
    }
}

bool node_reqtimer_stalled(const struct node_reqtimer *t, uint64_t now)
{
    return t->running && elapsed(t->since, now, t->timeout_ms);
}

bool node_reqwait_overdue(const struct node_reqtimer *t, const struct node_reqwait *w, uint64_t now)
{
    return w->left_out && elapsed(w->since, now, t->timeout_ms);
}
