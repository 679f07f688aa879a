/* Trace ring buffer: keeps the last lines of a run so a failing seed can show them. */
#include <stdarg.h>
#include <string.h>

#include "tests/sim/trace.h"

void sim_trace_reset(struct sim_trace *t, bool verbose)
{
    t->next = 0;
    t->count = 0;
    t->verbose = verbose;
    t->off = false;
}

void sim_trace(struct sim_trace *t, uint64_t now, int who, const char *fmt, ...)
{
    if (t->off && !t->verbose)
        return;
    char *line = t->lines[t->next];
    int n;
    if (who >= 0)
        n = snprintf(line, SIM_TRACE_WIDTH, "[%5llu] %d ", (unsigned long long)now, who);
    else
        n = snprintf(line, SIM_TRACE_WIDTH, "[%5llu] - ", (unsigned long long)now);
    if (n < 0)
        n = 0;
    if ((size_t)n < SIM_TRACE_WIDTH) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + n, SIM_TRACE_WIDTH - (size_t)n, fmt, ap);
        va_end(ap);
    }
    if (t->verbose)
        printf("%s\n", line);
    t->next = (t->next + 1) % SIM_TRACE_LINES;
    t->count++;
}

void sim_trace_dump(const struct sim_trace *t, FILE *out, size_t max)
{
    size_t have = t->count < SIM_TRACE_LINES ? t->count : SIM_TRACE_LINES;
    size_t show = max < have ? max : have;
    size_t start = (t->next + SIM_TRACE_LINES - show) % SIM_TRACE_LINES;
    for (size_t i = 0; i < show; i++)
        fprintf(out, "%s\n", t->lines[(start + i) % SIM_TRACE_LINES]);
}
