/* Structured log lines on stderr. */
#include "node/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum node_log_level min_level = NODE_LOG_INFO;
static const char *const names[] = { "debug", "info", "warn", "error" };

void node_log_set_level(enum node_log_level level)
{
    min_level = level;
}

enum node_log_level node_log_get_level(void)
{
    return min_level;
}

int node_log_parse_level(const char *s, enum node_log_level *out)
{
    for (int i = NODE_LOG_DEBUG; i <= NODE_LOG_ERROR; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum node_log_level)i;
            return 0;
        }
    }
    return -1;
}

void node_log_time(uint64_t unix_ms, char out[static 25])
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64]; /* wide enough for any int the compiler can imagine */
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)(unix_ms % 1000));
    memcpy(out, buf, 24);
    out[24] = '\0';
}

void node_log(enum node_log_level level, const char *component, const char *fmt, ...)
{
    if (level < min_level || level > NODE_LOG_ERROR)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[25];
    node_log_time((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, when);
    /* One line, one write: long lines are cut rather than split. */
    char line[2048];
    int n = snprintf(line, sizeof line, "%s %s %s ", when, names[level], component);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* nowhere to report a failed log write */
}
