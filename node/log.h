/* Structured log lines on stderr: `time level component key=value ...`. */
#ifndef SEALCHAIN_NODE_LOG_H
#define SEALCHAIN_NODE_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum node_log_level { NODE_LOG_DEBUG, NODE_LOG_INFO, NODE_LOG_WARN, NODE_LOG_ERROR };

/* Lines below level are not written. Default NODE_LOG_INFO. Not thread-safe
 * against concurrent node_log calls from the thread pool: log from the loop. */
void node_log_set_level(enum node_log_level level);
enum node_log_level node_log_get_level(void);

/* Parses "debug", "info", "warn" or "error". Returns 0 or -1. */
int node_log_parse_level(const char *s, enum node_log_level *out);

/* Writes one line: `2026-11-26T08:00:00.123Z info component <fmt...>\n`
 * (RFC 3339 UTC, milliseconds). fmt should be `key=value` pairs; a value
 * with spaces goes in double quotes. The line is written with one write(2)
 * so lines of concurrent processes sharing a file do not interleave. */
void node_log(enum node_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats unix milliseconds as RFC 3339 UTC with milliseconds into out
 * (at least 25 bytes). */
void node_log_time(uint64_t unix_ms, char out[static 25]);

#endif
