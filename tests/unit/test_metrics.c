/* Metrics (node/metrics.h, node/stats.h): Prometheus text exposition 0.0.4, the node's metric set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/chain_timed.h"
#include "node/httpreq.h"
#include "node/metrics.h"
#include "node/stats.h"

/* ---- an independent reader of the exposition format ---------------------------------- */

#define MAX_SAMPLES 512

struct sample {
    char family[96];  /* the # TYPE name it belongs to */
    char name[112];   /* as written: family, or family_bucket/_sum/_count */
    char labels[256]; /* the label set without le, as written */
    double le;        /* bucket bound (NAN when none) */
    double value;
};

struct parsed {
    struct sample s[MAX_SAMPLES];
    size_t n;
    char types[64][96];
    char kinds[64][16];
    size_t n_types;
};

static bool name_ok(const char *p, size_t n, bool label)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (c == ':' && !label) || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static double parse_value(const char *v)
{
    if (strcmp(v, "+Inf") == 0)
        return INFINITY;
    if (strcmp(v, "-Inf") == 0)
        return -INFINITY;
    if (strcmp(v, "NaN") == 0)
        return NAN;
    char *end;
    double d = strtod(v, &end);
    assert_true(end != v && *end == '\0');
    assert_false(isnan(d) || isinf(d)); /* spelled out as above, never "inf"/"nan" */
    return d;
}

/* {a="x",le="0.5"}: checks escapes; le is taken out of the label set. */
static const char *parse_labels(const char *p, struct sample *s)
{
    assert_int_equal(*p, '{');
    p++;
    s->le = NAN;
    size_t out = 0;
    while (*p != '}') {
        const char *eq = strchr(p, '=');
        assert_non_null(eq);
        assert_true(name_ok(p, (size_t)(eq - p), true));
        bool is_le = eq - p == 2 && strncmp(p, "le", 2) == 0;
        const char *start = p;
        assert_int_equal(eq[1], '"');
        p = eq + 2;
        char value[128];
        size_t vn = 0;
        for (; *p != '"'; p++) {
            assert_true(*p != '\0' && *p != '\n');
            if (*p == '\\') {
                p++;
                assert_true(*p == '\\' || *p == '"' || *p == 'n');
            }
            assert_true(vn + 1 < sizeof value);
            value[vn++] = *p;
        }
        value[vn] = '\0';
        p++;
        if (is_le) {
            s->le = parse_value(value);
        } else {
            size_t len = (size_t)(p - start);
            assert_true(out + len + 2 < sizeof s->labels);
            if (out > 0)
                s->labels[out++] = ',';
            memcpy(s->labels + out, start, len);
            out += len;
            s->labels[out] = '\0';
        }
        if (*p == ',')
            p++;
        else
            assert_int_equal(*p, '}');
    }
    return p + 1;
}

static void parse_sample(struct parsed *x, const char *line, const char *family, const char *kind)
{
    assert_true(x->n < MAX_SAMPLES);
    struct sample *s = &x->s[x->n++];
    memset(s, 0, sizeof *s);
    s->le = NAN;
    size_t nl = strcspn(line, "{ ");
    assert_true(name_ok(line, nl, false) && nl < sizeof s->name);
    memcpy(s->name, line, nl);
    snprintf(s->family, sizeof s->family, "%s", family);
    const char *p = line + nl;
    if (*p == '{')
        p = parse_labels(p, s);
    assert_int_equal(*p, ' ');
    s->value = parse_value(p + 1);
    /* The sample belongs to the family its TYPE line announced. */
    char want[112];
    bool ok = strcmp(s->name, family) == 0 && strcmp(kind, "histogram") != 0;
    for (int k = 0; !ok && k < 3 && strcmp(kind, "histogram") == 0; k++) {
        static const char *const suffix[] = { "_bucket", "_sum", "_count" };
        snprintf(want, sizeof want, "%s%s", family, suffix[k]);
        ok = strcmp(s->name, want) == 0;
    }
    assert_true(ok);
    assert_int_equal(isnan(s->le), strstr(s->name, "_bucket") == NULL);
}

/* Reads text, asserting the syntax of every line. */
static void parse(const char *text, struct parsed *x)
{
    memset(x, 0, sizeof *x);
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    char *copy = strdup(text), *save = NULL;
    assert_non_null(copy);
    char family[96] = "", kind[16] = "", help_for[96] = "";
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# HELP ", 7) == 0) {
            size_t nl = strcspn(line + 7, " ");
            assert_true(name_ok(line + 7, nl, false) && line[7 + nl] == ' ');
            snprintf(help_for, sizeof help_for, "%.*s", (int)nl, line + 7);
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_true(sscanf(line + 7, "%95s %15s", family, kind) == 2);
            assert_string_equal(family, help_for); /* HELP just before TYPE */
            assert_true(strcmp(kind, "counter") == 0 || strcmp(kind, "gauge") == 0 ||
                        strcmp(kind, "histogram") == 0);
            for (size_t i = 0; i < x->n_types; i++)
                assert_string_not_equal(x->types[i], family); /* one TYPE per name */
            snprintf(x->types[x->n_types], sizeof x->types[0], "%s", family);
            snprintf(x->kinds[x->n_types++], sizeof x->kinds[0], "%s", kind);
        } else {
            assert_true(line[0] != '#' && family[0] != '\0');
            parse_sample(x, line, family, kind);
        }
    }
    free(copy);
}

static const struct sample *find(const struct parsed *x, const char *name, const char *labels)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->s[i].name, name) == 0 && strcmp(x->s[i].labels, labels) == 0 &&
            isnan(x->s[i].le))
            return &x->s[i];
    return NULL;
}

/* Every histogram series: bounds increasing, counts cumulative, +Inf last
 * and equal to _count. Returns the number of series checked. */
static size_t check_histograms(const struct parsed *x)
{
    size_t checked = 0;
    for (size_t i = 0; i < x->n; i++) {
        const struct sample *s = &x->s[i];
        if (strstr(s->name, "_count") == NULL)
            continue;
        char bucket[112];
        snprintf(bucket, sizeof bucket, "%s_bucket", s->family);
        double prev_le = -INFINITY, prev = 0, last_le = NAN, last = -1;
        size_t n = 0;
        for (size_t k = 0; k < x->n; k++) {
            const struct sample *b = &x->s[k];
            if (strcmp(b->name, bucket) != 0 || strcmp(b->labels, s->labels) != 0)
                continue;
            assert_true(b->le > prev_le);
            assert_true(b->value >= prev);
            prev_le = last_le = b->le;
            prev = last = b->value;
            n++;
        }
        assert_true(n >= 2);
        assert_true(isinf(last_le) && last_le > 0);
        assert_true(last == s->value);
        checked++;
    }
    return checked;
}

/* ---- the renderer -------------------------------------------------------------------- */

static char *render(struct node_metrics *m)
{
    char *text;
    size_t len;
    assert_int_equal(node_metrics_render(m, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

static void the_rendering_is_valid_exposition_syntax_with_escapes_and_numbers(void **state)
{
    (void)state;
    struct node_metrics *m;
    assert_int_equal(node_metrics_new(&m), 0);
    const char *values[] = { "plain", "quote\" back\\slash\nnewline", "市场监督管理局" };
    struct node_metric_def g = { .name = "t_gauge",
                                 .help = "a help with \\ and\na newline",
                                 .kind = NODE_METRIC_GAUGE,
                                 .label = "who",
                                 .values = values,
                                 .n_values = 3 };
    struct node_metric_def c = { .name = "t_total", .help = "c", .kind = NODE_METRIC_COUNTER };
    size_t gid, cid;
    assert_int_equal(node_metrics_add(m, &g, &gid), 0);
    assert_int_equal(node_metrics_add(m, &c, &cid), 0);
    node_metrics_set(m, gid, 0, 0.1);
    node_metrics_set(m, gid, 1, -INFINITY);
    node_metrics_set(m, gid, 2, NAN);
    node_metrics_add_to(m, cid, 0, 3);
    node_metrics_add_to(m, cid, 0, -1); /* a counter never goes down */
    char *text = render(m);
    struct parsed *x = malloc(sizeof *x);
    assert_non_null(x);
    parse(text, x);
    assert_non_null(strstr(text, "# HELP t_gauge a help with \\\\ and\\na newline\n"));
    assert_non_null(strstr(text, "t_gauge{who=\"plain\"} 0.1\n"));
    assert_non_null(strstr(text, "t_gauge{who=\"quote\\\" back\\\\slash\\nnewline\"} -Inf\n"));
    assert_non_null(strstr(text, "t_gauge{who=\"市场监督管理局\"} NaN\n"));
    assert_non_null(strstr(text, "t_total 3\n"));
    assert_int_equal(x->n, 4);
    free(x);
    free(text);
    node_metrics_free(m);
}

static void every_series_is_rendered_from_the_start_at_zero(void **state)
{
    (void)state;
    struct node_metrics *m;
    assert_int_equal(node_metrics_new(&m), 0);
    const char *v[] = { "a", "b" };
    const double b[] = { 1, 2 };
    struct node_metric_def defs[] = {
        { .name = "z_g",
          .help = "g",
          .kind = NODE_METRIC_GAUGE,
          .label = "k",
          .values = v,
          .n_values = 2 },
        { .name = "z_h", .help = "h", .kind = NODE_METRIC_HISTOGRAM, .buckets = b, .n_buckets = 2 },
    };
    size_t id;
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(node_metrics_add(m, &defs[i], &id), 0);
    char *text = render(m);
    assert_string_equal(text, "# HELP z_g g\n# TYPE z_g gauge\nz_g{k=\"a\"} 0\nz_g{k=\"b\"} 0\n"
                              "# HELP z_h h\n# TYPE z_h histogram\nz_h_bucket{le=\"1\"} 0\n"
                              "z_h_bucket{le=\"2\"} 0\nz_h_bucket{le=\"+Inf\"} 0\nz_h_sum 0\n"
                              "z_h_count 0\n");
    free(text);
    node_metrics_free(m);
}

static void histogram_buckets_are_cumulative_and_inf_equals_the_count(void **state)
{
    (void)state;
    struct node_metrics *m;
    assert_int_equal(node_metrics_new(&m), 0);
    const double b[] = { 0.01, 0.1, 1, 10 };
    const char *v[] = { "x", "y" };
    struct node_metric_def h = { .name = "lat_seconds",
                                 .help = "h",
                                 .kind = NODE_METRIC_HISTOGRAM,
                                 .label = "path",
                                 .values = v,
                                 .n_values = 2,
                                 .buckets = b,
                                 .n_buckets = 4 };
    size_t id;
    assert_int_equal(node_metrics_add(m, &h, &id), 0);
    const double obs[] = { 0.005, 0.01, 0.05, 0.5, 0.5, 5, 50, 1e9 };
    double sum = 0;
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++) {
        node_metrics_observe(m, id, 0, obs[i]);
        sum += obs[i];
    }
    node_metrics_observe(m, id, 1, 0.02);
    node_metrics_observe(m, id, 0, NAN); /* ignored */
    char *text = render(m);
    struct parsed *x = malloc(sizeof *x);
    assert_non_null(x);
    parse(text, x);
    assert_int_equal(check_histograms(x), 2);
    /* le="0.01" holds 0.005 and 0.01 (bounds are inclusive); +Inf all 8. */
    assert_non_null(strstr(text, "lat_seconds_bucket{path=\"x\",le=\"0.01\"} 2\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{path=\"x\",le=\"0.1\"} 3\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{path=\"x\",le=\"1\"} 5\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{path=\"x\",le=\"10\"} 6\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{path=\"x\",le=\"+Inf\"} 8\n"));
    assert_non_null(strstr(text, "lat_seconds_count{path=\"x\"} 8\n"));
    assert_true(find(x, "lat_seconds_sum", "path=\"x\"")->value == sum);
    assert_non_null(strstr(text, "lat_seconds_bucket{path=\"y\",le=\"0.01\"} 0\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{path=\"y\",le=\"0.1\"} 1\n"));
    assert_true(node_metrics_value(m, id, 0) == 8);
    free(x);
    free(text);
    node_metrics_free(m);
}

/* Counts kept elsewhere replace the series' own; the count never falls below
 * the hits kept, hits past the metric's buckets are dropped, and a gauge or
 * a bad id is left alone. */
static void a_histogram_set_from_outside_counts_renders_like_observed_ones(void **state)
{
    (void)state;
    struct node_metrics *m;
    assert_int_equal(node_metrics_new(&m), 0);
    const double b[] = { 0.01, 0.1, 1 };
    struct node_metric_def h = { .name = "w_seconds",
                                 .help = "h",
                                 .kind = NODE_METRIC_HISTOGRAM,
                                 .buckets = b,
                                 .n_buckets = 3 };
    struct node_metric_def g = { .name = "g", .help = "g", .kind = NODE_METRIC_GAUGE };
    size_t id, gid;
    assert_int_equal(node_metrics_add(m, &h, &id), 0);
    assert_int_equal(node_metrics_add(m, &g, &gid), 0);
    node_metrics_observe(m, id, 0, 0.5);    /* replaced below */
    const uint64_t hits[] = { 1, 0, 2, 7 }; /* the 4th has no bucket here */
    node_metrics_set_histogram(m, id, 0, hits, 4, 5, 1.25);
    node_metrics_set_histogram(m, gid, 0, hits, 4, 5, 1.25);
    node_metrics_set_histogram(m, id + 7, 0, hits, 4, 5, 1.25);
    char *text = render(m);
    assert_non_null(strstr(text, "w_seconds_bucket{le=\"0.01\"} 1\n"));
    assert_non_null(strstr(text, "w_seconds_bucket{le=\"0.1\"} 1\n"));
    assert_non_null(strstr(text, "w_seconds_bucket{le=\"1\"} 3\n"));
    assert_non_null(strstr(text, "w_seconds_bucket{le=\"+Inf\"} 5\n"));
    assert_non_null(strstr(text, "w_seconds_sum 1.25\n"));
    assert_non_null(strstr(text, "g 0\n"));
    free(text);
    node_metrics_set_histogram(m, id, 0, hits, 3, 1, 0); /* count below the hits: raised */
    text = render(m);
    assert_non_null(strstr(text, "w_seconds_count 3\n"));
    free(text);
    node_metrics_free(m);
}

static void bad_definitions_are_refused_and_leave_the_registry_unchanged(void **state)
{
    (void)state;
    struct node_metrics *m;
    assert_int_equal(node_metrics_new(&m), 0);
    size_t id;
    const double up[] = { 1, 2 }, down[] = { 2, 1 }, inf[] = { 1, INFINITY };
    const char *v[] = { "a" };
    struct node_metric_def ok = { .name = "ok", .help = "h", .kind = NODE_METRIC_GAUGE };
    assert_int_equal(node_metrics_add(m, &ok, &id), 0);
    struct node_metric_def d = ok;
    assert_int_equal(node_metrics_add(m, &d, &id), NODE_METRICS_E_DUPLICATE);
    d.name = "9lives";
    assert_int_equal(node_metrics_add(m, &d, &id), NODE_METRICS_E_BAD_NAME);
    d.name = "a-b";
    assert_int_equal(node_metrics_add(m, &d, &id), NODE_METRICS_E_BAD_NAME);
    d = (struct node_metric_def){
        .name = "l", .help = "h", .label = "a:b", .values = v, .n_values = 1
    };
    assert_int_equal(node_metrics_add(m, &d, &id), NODE_METRICS_E_BAD_NAME);
    d = (struct node_metric_def){
        .name = "h1", .help = "h", .kind = NODE_METRIC_HISTOGRAM, .buckets = down, .n_buckets = 2
    };
    assert_int_equal(node_metrics_add(m, &d, &id), NODE_METRICS_E_BAD_BUCKETS);
    d.buckets = inf;
    assert_int_equal(node_metrics_add(m, &d, &id), NODE_METRICS_E_BAD_BUCKETS);
    d.n_buckets = 0;
    assert_int_equal(node_metrics_add(m, &d, &id), NODE_METRICS_E_BAD_BUCKETS);
    d = (struct node_metric_def){ .name = "h2",
                                  .help = "h",
                                  .kind = NODE_METRIC_HISTOGRAM,
                                  .label = "le",
                                  .values = v,
                                  .n_values = 1,
                                  .buckets = up,
                                  .n_buckets = 2 };
    assert_int_equal(node_metrics_add(m, &d, &id), NODE_METRICS_E_BAD_NAME);
    d = (struct node_metric_def){ .name = "g2", .help = "h", .n_values = 1, .values = v };
    assert_int_equal(node_metrics_add(m, &d, &id), NODE_METRICS_E_BAD_DEF);
    char *text = render(m);
    assert_string_equal(text, "# HELP ok h\n# TYPE ok gauge\nok 0\n");
    free(text);
    /* Wrong-kind and out-of-range updates do nothing. */
    node_metrics_observe(m, 0, 0, 1);
    node_metrics_set(m, 0, 1, 5);
    node_metrics_set(m, 7, 0, 5);
    assert_true(node_metrics_value(m, 0, 0) == 0);
    assert_string_equal(node_metrics_strerror(NODE_METRICS_E_BAD_BUCKETS),
                        "histogram buckets must be finite and strictly increasing");
    node_metrics_free(m);
    node_metrics_free(NULL);
}

static void numbers_print_exactly_and_read_back(void **state)
{
    (void)state;
    struct node_metrics *m;
    assert_int_equal(node_metrics_new(&m), 0);
    struct node_metric_def d = { .name = "n", .help = "h", .kind = NODE_METRIC_GAUGE };
    size_t id;
    assert_int_equal(node_metrics_add(m, &d, &id), 0);
    const double vals[] = { 0,       1,    -3,      1234567890123.0,   0.1,
                            1.0 / 3, 1e-9, 2.5e300, 9007199254740993.0 };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        node_metrics_set(m, id, 0, vals[i]);
        char *text = render(m);
        struct parsed *x = malloc(sizeof *x);
        assert_non_null(x);
        parse(text, x);
        assert_true(x->s[0].value == vals[i]);
        free(x);
        free(text);
    }
    node_metrics_free(m);
}

/* ---- the node's set ------------------------------------------------------------------ */

static const char *const node_families[] = {
    "sealchain_height",
    "sealchain_transactions_committed_total",
    "sealchain_view",
    "sealchain_view_changes_total",
    "sealchain_peers_connected",
    "sealchain_mempool_transactions",
    "sealchain_syncing",
    "sealchain_submit_commit_latency_seconds",
    "sealchain_block_execution_seconds",
    "sealchain_best_peer_height",
    "sealchain_seconds_since_last_commit",
    "sealchain_peer_clock_offset_seconds",
    "sealchain_store_sync_seconds",
};

static void the_node_registers_every_metric_and_series_before_anything_happens(void **state)
{
    (void)state;
    struct node_stats *s;
    assert_int_equal(node_stats_new(4, 1, 7, 1000, &s), 0);
    struct node_stats_sample z = { 0 };
    char *text;
    size_t len;
    assert_int_equal(node_stats_render(s, &z, 1000, &text, &len), 0);
    struct parsed *x = malloc(sizeof *x);
    assert_non_null(x);
    parse(text, x);
    size_t nf = sizeof node_families / sizeof node_families[0];
    assert_int_equal(x->n_types, nf);
    for (size_t i = 0; i < nf; i++)
        assert_string_equal(x->types[i], node_families[i]);
    const char *types[] = { "org_register",  "seal_register", "seal_grant",   "seal_revoke_grant",
                            "seal_suspend",  "seal_resume",   "seal_destroy", "seal_use",
                            "usage_approve", "usage_reject" };
    for (size_t i = 0; i < 10; i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "type=\"%s\"", types[i]);
        const struct sample *c = find(x, "sealchain_transactions_committed_total", labels);
        assert_non_null(c);
        assert_true(c->value == 0);
    }
    /* One offset series per other validator: 0, 2, 3 (not ourselves), NaN
     * before any handshake. */
    assert_null(find(x, "sealchain_peer_clock_offset_seconds", "peer=\"1\""));
    for (int p = 0; p < 4; p++) {
        char labels[32];
        snprintf(labels, sizeof labels, "peer=\"%d\"", p);
        const struct sample *o = find(x, "sealchain_peer_clock_offset_seconds", labels);
        assert_true(p == 1 ? o == NULL : o != NULL && isnan(o->value));
    }
    /* latency, execution, and the two kinds of durable commit */
    assert_int_equal(check_histograms(x), 4);
    assert_true(find(x, "sealchain_submit_commit_latency_seconds_count", "")->value == 0);
    assert_true(find(x, "sealchain_store_sync_seconds_count", "what=\"block\"")->value == 0);
    assert_true(find(x, "sealchain_store_sync_seconds_count", "what=\"consensus\"")->value == 0);
    free(text);

    /* The gauges follow the sample given at render time. */
    struct node_stats_sample g = { .height = 12,
                                   .view = 5,
                                   .view_changes = 2,
                                   .mempool_txs = 9,
                                   .best_peer_height = 14,
                                   .peers_connected = 3,
                                   .syncing = true };
    g.has_offset[2] = true;
    g.offset_ms[2] = -1500;
    /* The store's counts are copied as they are: 2 block commits at most
     * 0.5 ms, 1 at most 2 ms, 1 above 2 s; 5 snapshots at most 0.1 ms. */
    g.sync[LEDGER_STORE_SYNC_BLOCKS].hits[4] = 2;
    g.sync[LEDGER_STORE_SYNC_BLOCKS].hits[8] = 1;
    g.sync[LEDGER_STORE_SYNC_BLOCKS].hits[LEDGER_STORE_SYNC_BUCKETS] = 1;
    g.sync[LEDGER_STORE_SYNC_BLOCKS].count = 4;
    g.sync[LEDGER_STORE_SYNC_BLOCKS].sum_seconds = 2.5;
    g.sync[LEDGER_STORE_SYNC_CONSENSUS].hits[0] = 5;
    g.sync[LEDGER_STORE_SYNC_CONSENSUS].count = 5;
    node_stats_block_exec(s, 0.003);
    assert_int_equal(node_stats_render(s, &g, 4500, &text, &len), 0);
    parse(text, x);
    assert_true(find(x, "sealchain_height", "")->value == 12);
    assert_true(find(x, "sealchain_view", "")->value == 5);
    assert_true(find(x, "sealchain_view_changes_total", "")->value == 2);
    assert_true(find(x, "sealchain_mempool_transactions", "")->value == 9);
    assert_true(find(x, "sealchain_best_peer_height", "")->value == 14);
    assert_true(find(x, "sealchain_peers_connected", "")->value == 3);
    assert_true(find(x, "sealchain_syncing", "")->value == 1);
    assert_true(find(x, "sealchain_seconds_since_last_commit", "")->value == 3.5);
    assert_true(find(x, "sealchain_peer_clock_offset_seconds", "peer=\"2\"")->value == -1.5);
    assert_true(isnan(find(x, "sealchain_peer_clock_offset_seconds", "peer=\"3\"")->value));
    assert_true(find(x, "sealchain_block_execution_seconds_count", "")->value == 1);
    assert_non_null(strstr(text, "sealchain_block_execution_seconds_bucket{le=\"0.0025\"} 0\n"));
    assert_non_null(strstr(text, "sealchain_block_execution_seconds_bucket{le=\"0.005\"} 1\n"));
    assert_non_null(
        strstr(text, "sealchain_store_sync_seconds_bucket{what=\"block\",le=\"0.0003\"} 0\n"));
    assert_non_null(
        strstr(text, "sealchain_store_sync_seconds_bucket{what=\"block\",le=\"0.0005\"} 2\n"));
    assert_non_null(
        strstr(text, "sealchain_store_sync_seconds_bucket{what=\"block\",le=\"0.002\"} 3\n"));
    assert_non_null(
        strstr(text, "sealchain_store_sync_seconds_bucket{what=\"block\",le=\"2\"} 3\n"));
    assert_non_null(
        strstr(text, "sealchain_store_sync_seconds_bucket{what=\"block\",le=\"+Inf\"} 4\n"));
    assert_true(find(x, "sealchain_store_sync_seconds_sum", "what=\"block\"")->value == 2.5);
    assert_non_null(
        strstr(text, "sealchain_store_sync_seconds_bucket{what=\"consensus\",le=\"0.0001\"} 5\n"));
    assert_int_equal(check_histograms(x), 4);
    free(text);
    free(x);
    node_stats_free(s);
    node_stats_free(NULL);
}

/* Ids whose first 8 bytes agree land in one probe chain. */
static void colliding_id(uint8_t id[32], uint8_t k)
{
    memset(id, 0xab, 32);
    id[31] = k;
}

static void tracked_submits_survive_removals_from_the_middle_of_a_probe_chain(void **state)
{
    (void)state;
    struct node_stats *s;
    assert_int_equal(node_stats_new(1, 0, 0, 0, &s), 0);
    uint8_t id[32];
    for (uint8_t k = 0; k < 20; k++) {
        colliding_id(id, k);
        node_stats_submitted(s, id, 100 + k);
    }
    node_stats_submitted(s, id, 500); /* again: still one entry */
    assert_int_equal(node__stats_tracked(s), 20);
    for (uint8_t k = 0; k < 20; k += 3) {
        colliding_id(id, k);
        node_stats_forget(s, id);
    }
    for (uint8_t k = 0; k < 20; k++) {
        colliding_id(id, k);
        assert_int_equal(node__stats_tracking(s, id), k % 3 != 0);
    }
    assert_int_equal(node__stats_tracked(s), 13);
    colliding_id(id, 200);
    node_stats_forget(s, id); /* unknown: nothing */
    assert_int_equal(node__stats_tracked(s), 13);
    node_stats_free(s);
}

static void a_full_table_forgets_submits_older_than_the_tracking_window(void **state)
{
    (void)state;
    struct node_stats *s;
    assert_int_equal(node_stats_new(1, 0, 0, 0, &s), 0);
    uint8_t id[32] = { 0 };
    for (uint32_t i = 0; i < NODE_STATS_TRACKED_MAX; i++) {
        memcpy(id, &i, sizeof i);
        id[8] = 1;
        node_stats_submitted(s, id, 1000 + (i < 100 ? 0 : NODE_STATS_TRACK_MS));
    }
    assert_int_equal(node__stats_tracked(s), NODE_STATS_TRACKED_MAX);
    id[8] = 2;
    node_stats_submitted(s, id, 2000 + NODE_STATS_TRACK_MS); /* the first 100 are stale */
    assert_true(node__stats_tracking(s, id));
    assert_int_equal(node__stats_tracked(s), NODE_STATS_TRACKED_MAX - 100 + 1);
    node_stats_free(s);
}

/* ---- the /metrics responder's request classification -------------------------------- */

static int classify(const char *req)
{
    return node_http_classify(req, strlen(req), "/metrics");
}

static void only_a_complete_get_of_the_path_is_served(void **state)
{
    (void)state;
    assert_int_equal(classify("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
    assert_int_equal(classify("GET /metrics HTTP/1.0\n\n"), 200);
    assert_int_equal(classify("GET /metrics?name[]=x HTTP/1.0\r\n\r\n"), 200);
    assert_int_equal(classify("GET /metrics HTTP/1.1\r\nHost: x\r\n"), 0); /* read more */
    assert_int_equal(classify(""), 0);
    assert_int_equal(classify("GET /metricsx HTTP/1.0\r\n\r\n"), 404);
    assert_int_equal(classify("GET / HTTP/1.0\r\n\r\n"), 404);
    assert_int_equal(classify("GET /metric HTTP/1.0\r\n\r\n"), 404);
    assert_int_equal(classify("POST /metrics HTTP/1.0\r\n\r\n"), 405);
    assert_int_equal(classify("HEAD /metrics HTTP/1.0\r\n\r\n"), 405);
    assert_int_equal(classify("get /metrics HTTP/1.0\r\n\r\n"), 405);
    assert_int_equal(classify("GET /metrics\r\n\r\n"), 400); /* HTTP/0.9 */
    assert_int_equal(classify("GET /metrics HTTP/2.0\r\n\r\n"), 400);
    assert_int_equal(classify("GET  /metrics HTTP/1.0\r\n\r\n"), 400); /* empty target */
    assert_int_equal(classify("GET /metrics HTTP/1.0 x\r\n\r\n"), 400);
    assert_int_equal(classify(" /metrics HTTP/1.0\r\n\r\n"), 400);
    assert_int_equal(classify("\r\n\r\n"), 400);
    const char nul[] = "GET /met\0rics HTTP/1.0\r\n\r\n";
    assert_int_equal(node_http_classify(nul, sizeof nul - 1, "/metrics"), 400);
    /* No blank line within the bound: 431, whatever follows. */
    char *big = malloc(NODE_HTTP_REQUEST_MAX + 10);
    assert_non_null(big);
    memset(big, 'a', NODE_HTTP_REQUEST_MAX + 10);
    memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
    assert_int_equal(node_http_classify(big, NODE_HTTP_REQUEST_MAX - 1, "/metrics"), 0);
    assert_int_equal(node_http_classify(big, NODE_HTTP_REQUEST_MAX, "/metrics"), 431);
    memcpy(big + NODE_HTTP_REQUEST_MAX + 6, "\r\n\r\n", 4); /* the end comes too late */
    assert_int_equal(node_http_classify(big, NODE_HTTP_REQUEST_MAX + 10, "/metrics"), 431);
    memcpy(big + NODE_HTTP_REQUEST_MAX - 4, "\r\n\r\n", 4); /* just in time */
    assert_int_equal(node_http_classify(big, NODE_HTTP_REQUEST_MAX, "/metrics"), 200);
    free(big);
}

/* ---- block execution timing (node/chain_timed.h) -------------------------------------- */

/* A fake chain whose calls advance a fake clock by fixed amounts. */
static uint64_t fake_now;
static int fake_validate_rc;

static uint64_t fake_clock(void)
{
    return fake_now;
}

static int fake_block_info(void *ctx, const uint8_t *block, size_t len, struct node_block_info *out)
{
    (void)ctx;
    (void)len;
    memset(out, 0, sizeof *out);
    out->height = block[0];
    return 0;
}

static int fake_validate(void *ctx, const uint8_t *block, size_t len, uint64_t view, bool re)
{
    (void)ctx, (void)block, (void)len, (void)view, (void)re;
    fake_now += 3000;
    return fake_validate_rc;
}

static int fake_build(void *ctx, const struct node_txref *txs, size_t count, uint64_t time_ms,
                      unsigned proposer, uint64_t view, uint8_t **out_block, size_t *out_len,
                      uint8_t out_digest[PBFT_DIGEST_SIZE])
{
    (void)ctx, (void)txs, (void)count, (void)time_ms, (void)proposer, (void)view;
    (void)out_digest;
    fake_now += 7000;
    *out_block = NULL;
    *out_len = 0;
    return 0;
}

static int fake_commit(void *ctx, const struct pbft_cert *cert, const uint8_t *block, size_t len)
{
    (void)ctx, (void)cert, (void)block, (void)len;
    fake_now += 500;
    return 0;
}

static void fake_tip(void *ctx, uint64_t *h, uint64_t *t)
{
    *h = *(uint64_t *)ctx;
    *t = 0;
}

static void a_block_takes_its_execution_here_plus_its_commit(void **state)
{
    (void)state;
    uint64_t tip = 4;
    struct node_chain inner = { .ctx = &tip,
                                .block_info = fake_block_info,
                                .validate = fake_validate,
                                .build = fake_build,
                                .commit = fake_commit,
                                .tip = fake_tip };
    struct node_chain_timed t;
    struct node_chain c;
    node_chain_timed_init(&t, &inner, fake_clock, &c);
    assert_int_equal(node_chain_timed_last_ns(&t), 0);
    struct pbft_cert cert = { .height = 5 };
    uint8_t block[1] = { 5 };
    /* A backup: validated (3 us), then committed (0.5 us). */
    fake_validate_rc = 0;
    assert_int_equal(c.validate(c.ctx, block, 1, 0, false), 0);
    assert_int_equal(c.commit(c.ctx, &cert, block, 1), 0);
    assert_int_equal(node_chain_timed_last_ns(&t), 3500);
    /* The primary: built (7 us) for tip + 1 = 6. */
    tip = 5;
    uint8_t *b;
    size_t len;
    uint8_t digest[PBFT_DIGEST_SIZE];
    assert_int_equal(c.build(c.ctx, NULL, 0, 0, 0, 0, &b, &len, digest), 0);
    cert.height = 6;
    block[0] = 6;
    assert_int_equal(c.commit(c.ctx, &cert, block, 1), 0);
    assert_int_equal(node_chain_timed_last_ns(&t), 7500);
    /* A block this node never executed (a late joiner): its commit only. A
     * verdict that comes later is not timed. */
    fake_validate_rc = NODE_CHAIN_PENDING;
    block[0] = 7;
    assert_int_equal(c.validate(c.ctx, block, 1, 0, false), NODE_CHAIN_PENDING);
    cert.height = 7;
    assert_int_equal(c.commit(c.ctx, &cert, block, 1), 0);
    assert_int_equal(node_chain_timed_last_ns(&t), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_rendering_is_valid_exposition_syntax_with_escapes_and_numbers),
        cmocka_unit_test(every_series_is_rendered_from_the_start_at_zero),
        cmocka_unit_test(histogram_buckets_are_cumulative_and_inf_equals_the_count),
        cmocka_unit_test(a_histogram_set_from_outside_counts_renders_like_observed_ones),
        cmocka_unit_test(bad_definitions_are_refused_and_leave_the_registry_unchanged),
        cmocka_unit_test(numbers_print_exactly_and_read_back),
        cmocka_unit_test(the_node_registers_every_metric_and_series_before_anything_happens),
        cmocka_unit_test(tracked_submits_survive_removals_from_the_middle_of_a_probe_chain),
        cmocka_unit_test(a_full_table_forgets_submits_older_than_the_tracking_window),
        cmocka_unit_test(only_a_complete_get_of_the_path_is_served),
        cmocka_unit_test(a_block_takes_its_execution_here_plus_its_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
