/* One seeded run: faulty period with scheduled faults, then healing and the liveness bound. */
#include <stdio.h>
#include <string.h>

#include "tests/sim/run.h"

/* Choose which identities are Byzantine: f of them, the primary of view 0 among them. */
static void place_byzantine(struct sim_cluster *c)
{
    if (c->mix->byz == 0 || c->f == 0)
        return;
    for (int i = 0; i < c->f; i++) {
        /* Identity 0 leads view 0; the others are spread so later views meet them too. */
        int id = i == 0 ? 0 : (int)(1 + sim_rng_below(&c->rng, (uint64_t)c->n - 1));
        while (c->r[id].byz)
            id = (id + 1) % c->n;
        sim_cluster_set_byz(c, id, c->mix->byz);
        for (uint64_t t = 50; t < 60000; t += 100 + sim_rng_below(&c->rng, 400))
            sim_cluster_schedule_byz(c, id, t, sim_rng_next(&c->rng));
    }
}

static void random_partition(struct sim_cluster *c)
{
    int sides = 2 + (int)sim_rng_below(&c->rng, 2);
    for (int s = 0; s < c->slots; s++)
        sim_net_place(&c->net, s, (int)sim_rng_below(&c->rng, (uint64_t)sides));
    /* Twins always sit on different sides: that is what lets them equivocate. */
    for (int s = c->n; s < c->slots; s++) {
        if (c->net.group[s] == c->net.group[s - c->n])
            sim_net_place(&c->net, s, (c->net.group[s - c->n] + 1) % sides);
    }
    c->st.partitions++;
    char buf[160];
    size_t k = 0;
    for (int s = 0; s < c->slots && k + 8 < sizeof(buf); s++)
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, " %d:%c", s, 'A' + c->net.group[s]);
    sim_trace(c->trace, c->now, -1, "PARTITION%s", buf);
}

static int pick_up_slot(struct sim_cluster *c)
{
    int s = (int)sim_rng_below(&c->rng, (uint64_t)c->slots);
    for (int i = 0; i < c->slots; i++, s = (s + 1) % c->slots) {
        if (c->r[s].up)
            return s;
    }
    return -1;
}

static int pick_down_slot(struct sim_cluster *c)
{
    for (int s = 0; s < c->slots; s++) {
        if (!c->r[s].up)
            return s;
    }
    return -1;
}

static void all_crash(struct sim_cluster *c)
{
    sim_trace(c->trace, c->now, -1, "ALL CRASH");
    for (int s = 0; s < c->slots; s++)
        sim_cluster_crash(c, s);
    c->st.all_crashes++;
}

/* One fault action during the faulty period. */
static void fault_step(struct sim_cluster *c, bool *did_all_crash)
{
    const struct sim_mix *m = c->mix;
    uint64_t roll = sim_rng_below(&c->rng, 100);
    if (m->partitions && roll < 40) {
        if (c->net.partitioned && !m->twins && sim_rng_below(&c->rng, 2) == 0) {
            sim_net_heal(&c->net);
            sim_trace(c->trace, c->now, -1, "HEAL");
        } else {
            random_partition(c);
        }
    } else if (m->all_crash && !*did_all_crash && roll < 60) {
        *did_all_crash = true;
        all_crash(c);
    } else if (m->crashes && roll < 80) {
        int s = pick_up_slot(c);
        /* Half the crashes hit between "persist requested" and "persisted". */
        if (s >= 0 && m->persist_max > 0 && sim_rng_below(&c->rng, 2))
            c->r[s].crash_on_persist = true;
        else if (s >= 0)
            sim_cluster_crash(c, s);
    } else if (m->crashes || m->all_crash) {
        int s = pick_down_slot(c);
        if (s >= 0)
            sim_cluster_restart(c, s);
    }
}

static void heal_all(struct sim_cluster *c)
{
    sim_trace(c->trace, c->now, -1, "HEAL ALL: network healed, faults off, every replica up");
    sim_net_heal(&c->net);
    sim_net_set_faults(&c->net, 0, 0, 0);
    /* A healed network is a timely one: the bound below assumes delays well under timeouts. */
    sim_net_set_delay(&c->net, 1, c->mix->delay_max < 40 ? c->mix->delay_max : 40);
    c->healed = true;
    for (int s = 0; s < c->slots; s++) {
        c->r[s].crash_on_persist = false;
        sim_cluster_restart(c, s);
    }
}

static void faulty_period(struct sim_cluster *c, uint64_t until)
{
    bool did_all_crash = false;
    const struct sim_mix *m = c->mix;
    bool any = m->partitions || m->crashes || m->all_crash;
    if (m->twins)
        random_partition(c);
    while (c->now < until && !c->chk.violated) {
        uint64_t next = c->now + 500 + sim_rng_below(&c->rng, 3000);
        sim_cluster_run_until(c, next < until ? next : until);
        if (any && c->now < until && !c->chk.violated)
            fault_step(c, &did_all_crash);
        if (did_all_crash && m->all_crash && c->now < until && pick_down_slot(c) >= 0 &&
            sim_rng_below(&c->rng, 2) == 0) {
            for (int s = 0; s < c->slots; s++)
                sim_cluster_restart(c, s);
        }
    }
}

static bool live_enough(struct sim_cluster *c, uint64_t target, uint64_t last_tx)
{
    if (sim_cluster_min_honest_height(c) < target)
        return false;
    /* Every tx up to last_tx committed: none of them still pending. */
    for (size_t i = 0; i < c->npending; i++) {
        if (sim_tx_seq(c->pending[i]) <= last_tx)
            return false;
    }
    return true;
}

/* View changes each honest replica has started (its core's counter; 0 for the others). */
static void view_changes(struct sim_cluster *c, uint64_t out[SIM_MAX_SLOTS])
{
    for (int s = 0; s < c->n; s++) {
        struct pbft_stats st = { 0 };
        out[s] = 0;
        if (!c->r[s].byz && !c->r[s].twin && sim_replica_stats(&c->r[s], &st))
            out[s] = st.view_changes;
    }
}

/* The most view changes any honest replica started since `before`. */
static uint64_t view_churn(struct sim_cluster *c, const uint64_t before[SIM_MAX_SLOTS])
{
    uint64_t now[SIM_MAX_SLOTS], most = 0;
    view_changes(c, now);
    for (int s = 0; s < c->n; s++) {
        uint64_t d = now[s] > before[s] ? now[s] - before[s] : 0;
        most = d > most ? d : most;
    }
    return most;
}

/* A mix without any fault: its whole run is one fault-free stretch. */
static bool fault_free(const struct sim_mix *m)
{
    return m->drop_ppm == 0 && m->dup_ppm == 0 && m->reorder_ppm == 0 && !m->partitions &&
           !m->crashes && !m->all_crash && m->byz == 0 && !m->twins && m->commit_drop_ppm == 0 &&
           m->delay_max < 100;
}

/* In a fault-free stretch no honest replica may start a view change: a primary that keeps
 * committing is never replaced, however high the load. */
static void check_no_view_change(struct sim_cluster *c, const char *when)
{
    uint64_t zero[SIM_MAX_SLOTS] = { 0 };
    uint64_t churn = view_churn(c, zero);
    if (churn > 0)
        sim_check_fail(&c->chk, SIM_V_LIVENESS, "%llu view change(s) %s", (unsigned long long)churn,
                       when);
}

static void liveness_fail(struct sim_cluster *c, uint64_t target, uint64_t heal_at)
{
    char buf[200];
    size_t k = 0;
    for (int s = 0; s < c->slots && k + 24 < sizeof(buf); s++) {
        struct pbft_stats st = { 0 };
        sim_replica_stats(&c->r[s], &st);
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, " %d:h%llu/v%llu%s", s,
                              (unsigned long long)c->r[s].node.height, (unsigned long long)st.view,
                              c->r[s].byz ? "b" : (c->r[s].twin ? "t" : ""));
    }
    sim_check_fail(&c->chk, SIM_V_LIVENESS,
                   "%llu ms after healing: honest min height %llu < %llu or %zu txs pending "
                   "(censored %s); applied/view:%s",
                   (unsigned long long)(c->now - heal_at),
                   (unsigned long long)sim_cluster_min_honest_height(c), (unsigned long long)target,
                   c->npending, c->censored_tx == 0 ? "none" : (c->censor_done ? "in" : "OUT"),
                   buf);
}

/* No Byzantine replica may drag an honest one to a huge view (the f+1 rule). */
static void check_views(struct sim_cluster *c)
{
    for (int s = 0; s < c->n; s++) {
        struct pbft_stats st = { 0 };
        if (c->r[s].byz || c->r[s].twin || !sim_replica_stats(&c->r[s], &st))
            continue;
        if (st.view > 1000000)
            sim_check_fail(&c->chk, SIM_V_LIVENESS, "honest replica %d was pushed to view %llu", s,
                           (unsigned long long)st.view);
    }
}

/* fsyncs at most this slow once every fault is off (the crash mixes' own speed) */
#define SETTLED_FSYNC_MS 30

/*
 * After liveness: every fault off, slow storage included, then SIM_SETTLE_MS more with the
 * clients on. Progress alone would let endless view churn pass; here honest replicas must
 * settle. With only benign faults behind them none may change view again (one, if a slow fsync
 * from before was still in flight); with f Byzantine or twinned identities each may cost one view
 * change as primary (f + 1 with the view that replaces the last). And blocks keep committing.
 */
static void settle_period(struct sim_cluster *c)
{
    uint64_t before[SIM_MAX_SLOTS], h = c->chk.max_height;
    uint64_t allowed = c->mix->byz != 0 || c->mix->twins ? (uint64_t)c->f + 1 : 0;
    if (c->persist_max > SETTLED_FSYNC_MS) {
        c->persist_max = SETTLED_FSYNC_MS;
        allowed++;
    }
    view_changes(c, before);
    sim_cluster_run_until(c, c->now + SIM_SETTLE_MS);
    if (c->chk.violated)
        return;
    uint64_t churn = view_churn(c, before);
    if (churn > allowed)
        sim_check_fail(&c->chk, SIM_V_LIVENESS,
                       "view churn: %llu view changes in the %d ms after liveness (at most %llu)",
                       (unsigned long long)churn, SIM_SETTLE_MS, (unsigned long long)allowed);
    else if (churn == 0 && c->npending > 0 && c->chk.max_height == h)
        sim_check_fail(&c->chk, SIM_V_LIVENESS, "no block in the %d ms after liveness",
                       SIM_SETTLE_MS);
}

static void liveness_period(struct sim_cluster *c)
{
    uint64_t heal_at = c->now;
    uint64_t target = c->chk.max_height + 3;
    uint64_t last_tx = c->next_tx;
    while (!c->chk.violated && !live_enough(c, target, last_tx)) {
        if (c->now >= heal_at + SIM_LIVENESS_BOUND) {
            liveness_fail(c, target, heal_at);
            return;
        }
        sim_cluster_run_until(c, c->now + 250);
    }
    check_views(c);
    sim_trace(c->trace, c->now, -1, "LIVE: all honest replicas at h>=%llu, %llu ms after healing",
              (unsigned long long)target, (unsigned long long)(c->now - heal_at));
    settle_period(c);
}

int sim_run(uint64_t seed, int n, const struct sim_mix *mix, struct sim_trace *trace,
            const struct sim_run_hooks *hooks, struct sim_result *out)
{
    bool real_keys = hooks != NULL && hooks->real_keys;
    static struct sim_cluster c; /* large; reused run after run (one run at a time) */
    memset(out, 0, sizeof(*out));
    if (sim_cluster_init(&c, n, seed, mix, trace, real_keys) != 0) {
        sim_cluster_close(&c);
        return -1;
    }
    c.chk.soft_quorum = hooks != NULL && hooks->soft_quorum;
    sim_net_set_faults(&c.net, mix->drop_ppm, mix->dup_ppm, mix->reorder_ppm);
    sim_net_vary(&c.net, &c.rng); /* slow and fast links in one cluster */
    place_byzantine(&c);
    sim_trace(trace, 0, -1, "RUN seed=%llu n=%d f=%d q=%d mix=%s slots=%d",
              (unsigned long long)seed, n, c.f, c.q, mix->name, c.slots);
    sim_cluster_start(&c);
    if (mix->byz & SIM_BYZ_CENSOR)
        c.censored_tx = sim_cluster_submit(&c);
    /* Mostly 10-25 s of faults; one run in ten gets a full minute to reach deeper states. */
    uint64_t faulty = 10000 + sim_rng_below(&c.rng, 15000);
    if (sim_rng_below(&c.rng, 10) == 0)
        faulty = 60000;
    if (mix->faulty_max != 0 && faulty > mix->faulty_max)
        faulty = mix->faulty_max;
    faulty_period(&c, faulty);
    if (fault_free(mix))
        check_no_view_change(&c, "without any fault");
    if (!c.chk.violated) {
        heal_all(&c);
        liveness_period(&c);
    }
    sim_cluster_collect(&c);
    c.st.runs = 1;
    c.st.short_certs = c.chk.short_certs;
    c.st.votes_checked = c.chk.sigs.len;
    c.st.certs_checked = c.chk.certs_checked;
    if (hooks != NULL && hooks->after != NULL)
        hooks->after(&c, hooks->ctx);
    out->violated = c.chk.violated;
    out->vkind = c.chk.vkind;
    memcpy(out->what, c.chk.what, sizeof(out->what));
    out->st = c.st;
    sim_cluster_close(&c);
    return 0;
}
