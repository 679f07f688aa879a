/* A metric registry and its Prometheus text rendering (exposition format 0.0.4). */
#include "node/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG(name, msg) msg,
static const char *const messages[] = { NODE_METRICS_ERRORS(MSG) };
#undef MSG

const char *node_metrics_strerror(int code)
{
    if (code < 0 || code >= NODE_METRICS_E__COUNT)
        return "unknown error";
    return messages[code];
}

struct series {
    char *label_value; /* NULL for an unlabelled metric */
    double value;      /* counter, gauge; a histogram's sum */
    uint64_t count;    /* histogram */
    uint64_t *hits;    /* histogram: per bucket, not cumulative (n_buckets) */
};

struct metric {
    char *name, *help, *label;
    enum node_metric_kind kind;
    double *bounds;
    size_t n_buckets;
    struct series *series;
    size_t n_series;
};

struct node_metrics {
    struct metric m[NODE_METRICS_MAX];
    size_t n;
};

int node_metrics_new(struct node_metrics **out)
{
    *out = calloc(1, sizeof **out);
    return *out == NULL ? NODE_METRICS_E_NOMEM : 0;
}

static void metric_close(struct metric *x)
{
    for (size_t i = 0; i < x->n_series; i++) {
        free(x->series[i].label_value);
        free(x->series[i].hits);
    }
    free(x->series);
    free(x->bounds);
    free(x->name);
    free(x->help);
    free(x->label);
    memset(x, 0, sizeof *x);
}

void node_metrics_free(struct node_metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        metric_close(&m->m[i]);
    free(m);
}

/* Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no ':' and no "__" prefix). */
static bool valid_name(const char *s, bool label)
{
    if (s == NULL || s[0] == '\0' || (label && strncmp(s, "__", 2) == 0))
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';
        bool digit = *p >= '0' && *p <= '9';
        if (!(alpha || (*p == ':' && !label) || (digit && p != s)))
            return false;
    }
    return true;
}

static int check_def(const struct node_metrics *m, const struct node_metric_def *d)
{
    if (!valid_name(d->name, false) || (d->label != NULL && !valid_name(d->label, true)))
        return NODE_METRICS_E_BAD_NAME;
    if (d->label != NULL && strcmp(d->label, "le") == 0 && d->kind == NODE_METRIC_HISTOGRAM)
        return NODE_METRICS_E_BAD_NAME;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->m[i].name, d->name) == 0)
            return NODE_METRICS_E_DUPLICATE;
    if (m->n == NODE_METRICS_MAX || d->help == NULL || (d->label == NULL && d->n_values != 0) ||
        d->n_values > NODE_METRICS_SERIES_MAX || (d->n_values > 0 && d->values == NULL) ||
        (unsigned)d->kind > NODE_METRIC_HISTOGRAM)
        return NODE_METRICS_E_BAD_DEF;
    for (size_t i = 0; i < d->n_values; i++)
        if (d->values[i] == NULL)
            return NODE_METRICS_E_BAD_DEF;
    if (d->kind != NODE_METRIC_HISTOGRAM)
        return d->n_buckets == 0 ? 0 : NODE_METRICS_E_BAD_DEF;
    if (d->n_buckets == 0 || d->n_buckets > NODE_METRICS_BUCKETS_MAX || d->buckets == NULL)
        return NODE_METRICS_E_BAD_BUCKETS;
    for (size_t i = 0; i < d->n_buckets; i++)
        if (!isfinite(d->buckets[i]) || (i > 0 && !(d->buckets[i] > d->buckets[i - 1])))
            return NODE_METRICS_E_BAD_BUCKETS;
    return 0;
}

static char *dup_str(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

static int fill_metric(struct metric *x, const struct node_metric_def *d)
{
    x->kind = d->kind;
    x->name = dup_str(d->name);
    x->help = dup_str(d->help);
    x->label = dup_str(d->label);
    x->n_series = d->label != NULL ? d->n_values : 1;
    x->series = calloc(x->n_series ? x->n_series : 1, sizeof *x->series);
    if (x->name == NULL || x->help == NULL || (d->label && x->label == NULL) || x->series == NULL)
        return NODE_METRICS_E_NOMEM;
    if (d->kind == NODE_METRIC_HISTOGRAM) {
        x->n_buckets = d->n_buckets;
        x->bounds = malloc(d->n_buckets * sizeof *x->bounds);
        if (x->bounds == NULL)
            return NODE_METRICS_E_NOMEM;
        memcpy(x->bounds, d->buckets, d->n_buckets * sizeof *x->bounds);
    }
    for (size_t i = 0; i < x->n_series; i++) {
        struct series *s = &x->series[i];
        if (d->label != NULL && (s->label_value = dup_str(d->values[i])) == NULL)
            return NODE_METRICS_E_NOMEM;
        if (d->kind == NODE_METRIC_HISTOGRAM &&
            (s->hits = calloc(d->n_buckets, sizeof *s->hits)) == NULL)
            return NODE_METRICS_E_NOMEM;
    }
    return 0;
}

int node_metrics_add(struct node_metrics *m, const struct node_metric_def *def, size_t *out_id)
{
    int rc = check_def(m, def);
    if (rc != 0)
        return rc;
    struct metric *x = &m->m[m->n];
    rc = fill_metric(x, def);
    if (rc != 0) {
        metric_close(x);
        return rc;
    }
    *out_id = m->n++;
    return 0;
}

static struct series *get(const struct node_metrics *m, size_t id, size_t series,
                          enum node_metric_kind kind)
{
    if (m == NULL || id >= m->n || series >= m->m[id].n_series || m->m[id].kind != kind)
        return NULL;
    return &m->m[id].series[series];
}

void node_metrics_set(struct node_metrics *m, size_t id, size_t series, double value)
{
    struct series *s = get(m, id, series, NODE_METRIC_GAUGE);
    if (s == NULL)
        s = get(m, id, series, NODE_METRIC_COUNTER);
    if (s != NULL)
        s->value = value;
}

void node_metrics_add_to(struct node_metrics *m, size_t id, size_t series, double delta)
{
    struct series *s = get(m, id, series, NODE_METRIC_GAUGE);
    if (s == NULL && delta >= 0)
        s = get(m, id, series, NODE_METRIC_COUNTER);
    if (s != NULL)
        s->value += delta;
}

void node_metrics_observe(struct node_metrics *m, size_t id, size_t series, double value)
{
    struct series *s = get(m, id, series, NODE_METRIC_HISTOGRAM);
    if (s == NULL || isnan(value))
        return;
    const struct metric *x = &m->m[id];
    for (size_t b = 0; b < x->n_buckets; b++)
        if (value <= x->bounds[b]) {
            s->hits[b]++;
            break;
        }
    s->count++;
    s->value += value;
}

void node_metrics_set_histogram(struct node_metrics *m, size_t id, size_t series,
                                const uint64_t *hits, size_t n_hits, uint64_t count, double sum)
{
    struct series *s = get(m, id, series, NODE_METRIC_HISTOGRAM);
    if (s == NULL)
        return;
    const struct metric *x = &m->m[id];
    uint64_t kept = 0;
    for (size_t b = 0; b < x->n_buckets; b++) {
        s->hits[b] = b < n_hits ? hits[b] : 0;
        kept += s->hits[b];
    }
    s->count = count > kept ? count : kept;
    s->value = sum;
}

double node_metrics_value(const struct node_metrics *m, size_t id, size_t series)
{
    if (m == NULL || id >= m->n || series >= m->m[id].n_series)
        return 0;
    const struct series *s = &m->m[id].series[series];
    return m->m[id].kind == NODE_METRIC_HISTOGRAM ? (double)s->count : s->value;
}

/* ---- rendering ------------------------------------------------------------------ */

struct buf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void printf_(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(struct buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        b->failed = true;
    else
        put(b, tmp, (size_t)n);
}

/* HELP text escapes '\' and newline; label values also '"'. */
static void escaped(struct buf *b, const char *s, bool quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            puts_(b, "\\\\");
        else if (*p == '\n')
            puts_(b, "\\n");
        else if (*p == '"' && quote)
            puts_(b, "\\\"");
        else
            put(b, p, 1);
    }
}

static void number(struct buf *b, double v)
{
    if (isnan(v)) {
        puts_(b, "NaN");
    } else if (isinf(v)) {
        puts_(b, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        printf_(b, "%.0f", v);
    } else {
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v)
            snprintf(tmp, sizeof tmp, "%.17g", v);
        puts_(b, tmp);
    }
}

/* name[suffix]{label="v"[,le="x"]} */
static void series_name(struct buf *b, const struct metric *x, const struct series *s,
                        const char *suffix, const double *le)
{
    puts_(b, x->name);
    puts_(b, suffix);
    if (x->label == NULL && le == NULL)
        return;
    puts_(b, "{");
    if (x->label != NULL) {
        puts_(b, x->label);
        puts_(b, "=\"");
        escaped(b, s->label_value, true);
        puts_(b, le != NULL ? "\"," : "\"");
    }
    if (le != NULL) {
        puts_(b, "le=\"");
        number(b, *le);
        puts_(b, "\"");
    }
    puts_(b, "}");
}

static void render_histogram(struct buf *b, const struct metric *x, const struct series *s)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= x->n_buckets; i++) {
        double le = i < x->n_buckets ? x->bounds[i] : INFINITY;
        cum = i < x->n_buckets ? cum + s->hits[i] : s->count;
        series_name(b, x, s, "_bucket", &le);
        printf_(b, " %llu\n", (unsigned long long)cum);
    }
    series_name(b, x, s, "_sum", NULL);
    puts_(b, " ");
    number(b, s->value);
    puts_(b, "\n");
    series_name(b, x, s, "_count", NULL);
    printf_(b, " %llu\n", (unsigned long long)s->count);
}

static void render_metric(struct buf *b, const struct metric *x)
{
    static const char *const kinds[] = { "counter", "gauge", "histogram" };
    printf_(b, "# HELP %s ", x->name);
    escaped(b, x->help, false);
    printf_(b, "\n# TYPE %s %s\n", x->name, kinds[x->kind]);
    for (size_t i = 0; i < x->n_series; i++) {
        const struct series *s = &x->series[i];
        if (x->kind == NODE_METRIC_HISTOGRAM) {
            render_histogram(b, x, s);
            continue;
        }
        series_name(b, x, s, "", NULL);
        puts_(b, " ");
        number(b, s->value);
        puts_(b, "\n");
    }
}

int node_metrics_render(const struct node_metrics *m, char **out, size_t *out_len)
{
    struct buf b = { 0 };
    put(&b, "", 0);
    for (size_t i = 0; i < m->n; i++)
        render_metric(&b, &m->m[i]);
    if (b.failed) {
        free(b.p);
        return NODE_METRICS_E_NOMEM;
    }
    *out = b.p;
    *out_len = b.len;
    return 0;
}
