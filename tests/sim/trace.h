/* Trace of one simulated run: a ring of the last lines, printed in full when verbose. */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* How many lines a failing seed prints: enough to see the fault and its aftermath. */
#define SIM_TRACE_LINES 256
/* Longest trace line kept; longer lines are cut. */
#define SIM_TRACE_WIDTH 200

struct sim_trace {
    char lines[SIM_TRACE_LINES][SIM_TRACE_WIDTH];
    size_t next;  /* index of the slot the next line goes to */
    size_t count; /* lines written since the last reset */
    bool verbose; /* also print each line to stdout as it is written */
    bool off;     /* fast mode: keep nothing (a failing seed is re-run with the trace on) */
};

/* Empties the ring; `verbose` makes every later line go to stdout too. */
void sim_trace_reset(struct sim_trace *t, bool verbose);
/* Adds "[  time] who text" (who < 0 prints "-"). */
void sim_trace(struct sim_trace *t, uint64_t now, int who, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prints the last `max` lines (at most SIM_TRACE_LINES) to `out`. */
void sim_trace_dump(const struct sim_trace *t, FILE *out, size_t max);

#endif
