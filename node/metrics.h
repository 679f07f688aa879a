/* A metric registry and its Prometheus text rendering (exposition format 0.0.4). Pure: no I/O. */
#ifndef SEALCHAIN_NODE_METRICS_H
#define SEALCHAIN_NODE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every metric, and every series of a labelled metric, is registered up
 * front with its full set of label values, so the first scrape already
 * shows all of them (at 0): a scraper never sees one appear late. Values
 * are doubles; histograms keep a count per bucket (rendered cumulatively,
 * the implicit +Inf bucket equal to _count), a sum and a count.
 *
 * Not thread-safe: one owner (the node's loop) updates and renders.
 */

#define NODE_METRICS_ERRORS(X)                                                                     \
    X(OK, "ok")                                                                                    \
    X(NOMEM, "out of memory")                                                                      \
    X(BAD_NAME, "metric or label name is not [a-zA-Z_:][a-zA-Z0-9_:]*")                            \
    X(DUPLICATE, "metric already registered")                                                      \
    X(BAD_BUCKETS, "histogram buckets must be finite and strictly increasing")                     \
    X(BAD_DEF, "metric definition inconsistent (series, labels or kind)")

#define NODE_METRICS__ENUM(name, msg) NODE_METRICS_E_##name,
enum node_metrics_err { NODE_METRICS_ERRORS(NODE_METRICS__ENUM) NODE_METRICS_E__COUNT };
#undef NODE_METRICS__ENUM

/* A static string for a code; "unknown error" when out of range. */
const char *node_metrics_strerror(int code);

enum node_metric_kind { NODE_METRIC_COUNTER, NODE_METRIC_GAUGE, NODE_METRIC_HISTOGRAM };

/* Bounds on one registry: far above the node's two dozen series. */
#define NODE_METRICS_MAX         64
#define NODE_METRICS_SERIES_MAX  256
#define NODE_METRICS_BUCKETS_MAX 32

/* What node_metrics_add registers. Every string is copied. */
struct node_metric_def {
    const char *name; /* e.g. "sealchain_height" */
    const char *help; /* one line; '\\' and newlines are escaped on output */
    enum node_metric_kind kind;
    /* label == NULL: one unlabelled series (n_values must be 0). Otherwise
     * n_values series, label="values[i]" each (any UTF-8; escaped); with
     * none, only the HELP and TYPE lines are rendered. */
    const char *label;
    const char *const *values;
    size_t n_values;
    /* Histograms only: upper bounds, finite and strictly increasing (the
     * +Inf bucket is implicit). */
    const double *buckets;
    size_t n_buckets;
};

struct node_metrics;

/* An empty registry; *out owned by the caller (node_metrics_free). Returns
 * 0 or NODE_METRICS_E_NOMEM. */
int node_metrics_new(struct node_metrics **out);
/* node_metrics_free(NULL) does nothing. */
void node_metrics_free(struct node_metrics *m);

/* Registers a metric; *out_id names it in the calls below. Returns 0 or a
 * NODE_METRICS_E_* code (the registry is unchanged then). */
int node_metrics_add(struct node_metrics *m, const struct node_metric_def *def, size_t *out_id);

/*
 * Updates series `series` (0 for an unlabelled metric; the index of its
 * label value otherwise) of metric id. An id or series out of range, or a
 * call of the wrong kind (observe on a gauge, set on a histogram), does
 * nothing: metrics never stop the node.
 */
void node_metrics_set(struct node_metrics *m, size_t id, size_t series, double value);
/* Adds delta (>= 0 for a counter; a negative delta to a counter is ignored). */
void node_metrics_add_to(struct node_metrics *m, size_t id, size_t series, double delta);
/* One observation into a histogram. */
void node_metrics_observe(struct node_metrics *m, size_t id, size_t series, double value);
/* Replaces a histogram's counts with ones kept elsewhere (e.g. atomics of
 * another thread): hits[b] for bucket b, not cumulative (n_hits of them;
 * buckets beyond are 0, hits beyond the metric's buckets are dropped),
 * count observations in all (at least the sum of the hits kept: raised to
 * it otherwise) and their sum. */
void node_metrics_set_histogram(struct node_metrics *m, size_t id, size_t series,
                                const uint64_t *hits, size_t n_hits, uint64_t count, double sum);

/* The value of a counter or gauge series (0 when out of range); a
 * histogram's count. For tests and for the node's own decisions. */
double node_metrics_value(const struct node_metrics *m, size_t id, size_t series);

/*
 * Renders every metric in registration order: "# HELP", "# TYPE", then one
 * line per series ("name{label=\"v\"} value"; histograms: "_bucket" lines
 * with le, cumulative, ending with le="+Inf", then "_sum" and "_count").
 * Integral values print without a fraction; others with the shortest of
 * %.15g/%.17g that reads back exactly; infinities as +Inf/-Inf, NaN as NaN.
 * *out (NUL-terminated, *out_len bytes without the NUL) is malloc'd, owned
 * by the caller. Returns 0 or NODE_METRICS_E_NOMEM.
 */
int node_metrics_render(const struct node_metrics *m, char **out, size_t *out_len);

/* The Content-Type of the rendering. */
#define NODE_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
