/* Seed sweeps and single replays: per-mix summary lines, totals, replay commands for failures. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/sim/run.h"
#include "tests/sim/sim.h"

/* Trace lines a failing seed prints (the ring keeps SIM_TRACE_LINES). */
#define FAIL_LINES 200

struct group {
    uint64_t seeds, failed, safety;
    unsigned sizes; /* bit n set when n was run */
    struct sim_stats st;
};

bool sim_is_safety(enum sim_violation v)
{
    return v == SIM_V_AGREEMENT || v == SIM_V_VALIDITY || v == SIM_V_CERT || v == SIM_V_DOUBLE_SIGN;
}

void sim_stats_add(struct sim_stats *a, const struct sim_stats *b)
{
    const uint64_t *pb = (const uint64_t *)b;
    uint64_t *pa = (uint64_t *)a;
    for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
        pa[i] += pb[i];
}

void sim_stats_print(const struct sim_stats *st)
{
    printf("drops=%llu dups=%llu reorders=%llu cut=%llu partitions=%llu crashes=%llu "
           "restarts=%llu all-crash=%llu lost-fsync=%llu byz[equiv=%llu unsent=%llu "
           "badsig=%llu badsender=%llu huge=%llu flood=%llu garbage=%llu selective=%llu "
           "replay=%llu deaf=%llu newview=%llu vchange=%llu] "
           "view-changes=%llu "
           "blocks=%llu txs=%llu syncs=%llu core-dropped=%llu commit-drops=%llu",
           (unsigned long long)st->drops, (unsigned long long)st->dups,
           (unsigned long long)st->reorders, (unsigned long long)st->cut,
           (unsigned long long)st->partitions, (unsigned long long)st->crashes,
           (unsigned long long)st->restarts, (unsigned long long)st->all_crashes,
           (unsigned long long)st->lost_persists, (unsigned long long)st->byz[SIM_BK_EQUIVOCATE],
           (unsigned long long)st->byz[SIM_BK_UNSENT], (unsigned long long)st->byz[SIM_BK_BADSIG],
           (unsigned long long)st->byz[SIM_BK_BADSENDER], (unsigned long long)st->byz[SIM_BK_HUGE],
           (unsigned long long)st->byz[SIM_BK_FLOOD], (unsigned long long)st->byz[SIM_BK_GARBAGE],
           (unsigned long long)st->byz[SIM_BK_SELECTIVE],
           (unsigned long long)st->byz[SIM_BK_REPLAY], (unsigned long long)st->byz[SIM_BK_DEAF],
           (unsigned long long)st->byz[SIM_BK_NEWVIEW], (unsigned long long)st->byz[SIM_BK_VCHANGE],
           (unsigned long long)st->view_changes, (unsigned long long)st->blocks,
           (unsigned long long)st->txs, (unsigned long long)st->syncs,
           (unsigned long long)st->core_dropped, (unsigned long long)st->commit_drops);
    printf(" checked[certs=%llu honest-votes=%llu]", (unsigned long long)st->certs_checked,
           (unsigned long long)st->votes_checked);
    if (st->short_certs)
        printf(" short-certs=%llu", (unsigned long long)st->short_certs);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_replay(uint64_t seed, int n, const struct sim_mix *m, const char *argv0)
{
    printf("  replay: %s --seed %llu --n %d --mix %s --verbose\n", argv0, (unsigned long long)seed,
           n, m->name);
}

/* Re-runs a failing seed with the trace on (runs are exact replays) and prints its tail. */
static void show_failure(uint64_t seed, int n, const struct sim_mix *m, const char *argv0)
{
    static struct sim_trace t;
    struct sim_result res;
    sim_trace_reset(&t, false);
    sim_run(seed, n, m, &t, NULL, &res);
    print_replay(seed, n, m, argv0);
    printf("  last %d trace lines:\n", FAIL_LINES);
    sim_trace_dump(&t, stdout, FAIL_LINES);
}

static void print_group(const char *name, const struct group *g)
{
    char sizes[64] = "";
    size_t k = 0;
    for (int n = 1; n <= SIM_MAX_N; n++) {
        if (g->sizes & (1u << n))
            k += (size_t)snprintf(sizes + k, sizeof(sizes) - k, "%s%d", k ? "," : "", n);
    }
    printf("%-10s n=%-11s seeds=%-5llu failed=%-3llu safety=%-3llu ", name, sizes,
           (unsigned long long)g->seeds, (unsigned long long)g->failed,
           (unsigned long long)g->safety);
    sim_stats_print(&g->st);
    printf("\n");
}

static void note_failure(const struct sim_opts *o, uint64_t seed, int n, const struct sim_mix *m,
                         const struct sim_result *res, uint64_t *shown)
{
    if (o->quiet && o->expect_violation)
        return;
    printf("FAIL seed %llu n=%d mix=%s: %s\n", (unsigned long long)seed, n, m->name, res->what);
    if ((*shown)++ < 3 && !o->expect_violation)
        show_failure(seed, n, m, o->argv0);
    else
        print_replay(seed, n, m, o->argv0);
}

/* State of a sweep across seeds. */
struct sweep {
    struct group groups[16];
    uint64_t shown, first_safety;
};

static void print_run(uint64_t seed, int n, const struct sim_mix *m, const struct sim_result *res)
{
    printf("seed %llu n=%d mix=%s: %s\n  ", (unsigned long long)seed, n, m->name,
           res->violated ? res->what : "safe and live");
    sim_stats_print(&res->st);
    printf("\n");
}

/* Runs one seed of the sweep and files its result; returns -1 on setup failure. */
static int sweep_seed(const struct sim_opts *o, struct sweep *sw, struct sim_trace *t,
                      uint64_t seed)
{
    int n;
    const struct sim_mix *m;
    struct sim_result res;
    sim_pick(seed, &n, &m);
    if (o->n)
        n = o->n;
    if (o->mix && sim_mix_find(o->mix))
        m = sim_mix_find(o->mix);
    /* Byzantine and twin mixes need f >= 1 to mean anything. */
    if (o->n == 0 && (m->byz || m->twins) && n < 4)
        n = 4;
    struct sim_run_hooks hooks = { .soft_quorum = o->expect_violation };
    if (sim_run(seed, n, m, t, &hooks, &res) != 0)
        return -1;
    struct group *g = &sw->groups[m - sim_mix_at(0)];
    if (o->verbose)
        print_run(seed, n, m, &res);
    g->seeds++;
    g->sizes |= 1u << n;
    sim_stats_add(&g->st, &res.st);
    if (!res.violated)
        return 0;
    g->failed++;
    if (sim_is_safety(res.vkind)) {
        g->safety++;
        if (sw->first_safety == 0)
            sw->first_safety = seed;
    }
    note_failure(o, seed, n, m, &res, &sw->shown);
    return 0;
}

/* Prints the per-mix lines, the total and the closing line; returns the exit status. */
static int sweep_report(const struct sim_opts *o, const struct sweep *sw, double dt)
{
    struct group total;
    memset(&total, 0, sizeof(total));
    for (int i = 0; i < sim_mix_count(); i++) {
        const struct group *g = &sw->groups[i];
        if (g->seeds == 0)
            continue;
        print_group(sim_mix_at(i)->name, g);
        total.seeds += g->seeds;
        total.failed += g->failed;
        total.safety += g->safety;
        total.sizes |= g->sizes;
        sim_stats_add(&total.st, &g->st);
    }
    print_group("TOTAL", &total);
    printf("%llu seeds in %.1f s (%.0f seeds/s): %llu failed, %llu with a safety violation",
           (unsigned long long)total.seeds, dt, dt > 0 ? (double)total.seeds / dt : 0.0,
           (unsigned long long)total.failed, (unsigned long long)total.safety);
    if (sw->first_safety)
        printf(" (first at seed %llu)", (unsigned long long)sw->first_safety);
    printf("\n");
    if (o->expect_violation) {
        printf("%s\n", total.safety ? "expected a safety violation: caught"
                                    : "expected a safety violation: NOT caught");
        return total.safety ? 0 : 1;
    }
    return total.failed ? 1 : 0;
}

int sim_sweep(const struct sim_opts *o)
{
    static struct sim_trace t;
    static struct sweep sw;
    if (o->mix != NULL && sim_mix_find(o->mix) == NULL) {
        fprintf(stderr, "unknown mix %s (see --list-mixes)\n", o->mix);
        return 2;
    }
    memset(&sw, 0, sizeof(sw));
    sim_trace_reset(&t, false);
    t.off = true; /* fast: failing seeds are re-run with the trace on */
    double t0 = seconds();
    for (uint64_t seed = 1; seed <= o->seeds; seed++) {
        if (sweep_seed(o, &sw, &t, seed) != 0)
            return 2;
        /* Hunting a mutant: the first safety violation is the answer, unless --all. */
        if (o->expect_violation && !o->all && sw.first_safety != 0)
            break;
    }
    return sweep_report(o, &sw, seconds() - t0);
}

int sim_replay(const struct sim_opts *o)
{
    static struct sim_trace t;
    int n;
    const struct sim_mix *m;
    struct sim_result res;
    sim_pick(o->seed, &n, &m);
    if (o->n)
        n = o->n;
    if (o->mix != NULL && (m = sim_mix_find(o->mix)) == NULL) {
        fprintf(stderr, "unknown mix %s (see --list-mixes)\n", o->mix);
        return 2;
    }
    if (o->n == 0 && (m->byz || m->twins) && n < 4)
        n = 4; /* as the sweep does */
    sim_trace_reset(&t, o->verbose);
    if (sim_run(o->seed, n, m, &t, NULL, &res) != 0)
        return 2;
    printf("seed %llu n=%d mix=%s: %s\n  ", (unsigned long long)o->seed, n, m->name,
           res.violated ? res.what : "safe and live");
    sim_stats_print(&res.st);
    printf("\n");
    if (res.violated && !o->verbose) {
        print_replay(o->seed, n, m, o->argv0);
        sim_trace_dump(&t, stdout, FAIL_LINES);
    }
    if (o->expect_violation)
        return res.violated && sim_is_safety(res.vkind) ? 0 : 1;
    return res.violated ? 1 : 0;
}

int sim_list_mixes(void)
{
    for (int i = 0; i < sim_mix_count(); i++)
        printf("%-10s %s\n", sim_mix_at(i)->name, sim_mix_at(i)->desc);
    return 0;
}
