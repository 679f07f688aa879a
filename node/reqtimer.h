/* PBFT's request timer over a mempool: when a held transaction is overdue (DESIGN §3). */
#ifndef SEALCHAIN_NODE_REQTIMER_H
#define SEALCHAIN_NODE_REQTIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Castro & Liskov, OSDI '99, 4.4: "A backup is waiting for a request if it
 * received a valid request and has not executed it. A backup starts a timer
 * when it receives a request and the timer is not already running. It stops
 * the timer when it is no longer waiting to execute the request, but restarts
 * it if at that point it is waiting to execute some other request."
 *
 * The core orders opaque blocks and cannot see transactions, so the timer
 * lives beside the mempool, in the node (and in the simulator's caller, which
 * links this file). The rule: a held transaction is overdue when
 *  (a) stall: the node has waited a whole time-out without executing a block:
 *      the paper's timer, started on admission when stopped, restarted on every
 *      executed block while transactions are still held, stopped when none are; or
 *  (b) censorship: a committed block that had room for it (fewer transactions
 *      than the block maximum) left it out while it was held and valid, and a
 *      whole time-out has passed since the first such block without it being
 *      included. The time-out after that block covers gossip: a primary that
 *      had not received it yet includes it in a later block.
 * A backlog that full blocks drain is neither, however old its transactions:
 * a primary committing full blocks is not replaced (before, a transaction's
 * age alone made it overdue, and any backlog longer than a time-out changed
 * view again and again: the view-change storms reported against FISCO BCOS).
 * The node then reports PBFT_EV_REQUEST_OVERDUE, and the core still grants
 * each view its own request time-out before it replaces the primary.
 */

/* The node's one request timer (plain value; node_reqtimer_init first). */
struct node_reqtimer {
    uint64_t timeout_ms;
    bool running;
    uint64_t since; /* when it was (re)started, caller's clock in ms */
};

/* Censorship evidence of one held transaction (zeroed when admitted). */
struct node_reqwait {
    bool left_out;  /* a committed block with room left it out */
    uint64_t since; /* when the first such block was committed */
};

/* A stopped timer with this time-out (ms). */
void node_reqtimer_init(struct node_reqtimer *t, uint64_t timeout_ms);

/* A transaction was admitted at now: starts the timer unless it runs. */
void node_reqtimer_admitted(struct node_reqtimer *t, uint64_t now);

/*
 * A block was executed (committed, or applied by sync) at now and `held`
 * transactions still wait: restarts the timer, or stops it when held is 0.
 */
void node_reqtimer_executed(struct node_reqtimer *t, size_t held, uint64_t now);

/* True when a committed block of block_txs transactions had room under max_txs. */
bool node_reqtimer_had_room(size_t block_txs, size_t max_txs);

/*
 * A committed block that had room did not include the transaction w belongs
 * to, which is still held and valid after it: its clock starts (the first
 * time only).
 */
void node_reqwait_left_out(struct node_reqwait *w, uint64_t now);

/* Rule (a): the timer ran a whole time-out without a block executed. */
bool node_reqtimer_stalled(const struct node_reqtimer *t, uint64_t now);

/* Rule (b) for one held transaction: left out by a block with room a time-out ago. */
bool node_reqwait_overdue(const struct node_reqtimer *t, const struct node_reqwait *w,
                          uint64_t now);

#endif
