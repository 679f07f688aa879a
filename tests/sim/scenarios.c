/* Hand-written scenarios: each scripts faults step by step and asserts what PBFT must do. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "tests/sim/replica.h"
#include "tests/sim/run.h"
#include "tests/sim/scenario.h"
#include "tests/sim/sim.h"

/* Fails the scenario with a message unless cond holds. */
#define EXPECT(s, cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf((s)->why, sizeof((s)->why), __VA_ARGS__);                                     \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

uint64_t sim_scen_view(struct sim_cluster *c, int s)
{
    struct pbft_stats st = { 0 };
    sim_replica_stats(&c->r[s], &st);
    return st.view;
}

/* Runs until every honest up replica applied height h, or `max_ms` passed; true on success. */
bool sim_scen_reach(struct sim_cluster *c, uint64_t h, uint64_t max_ms)
{
    uint64_t end = c->now + max_ms;
    while (!c->chk.violated && sim_cluster_min_honest_height(c) < h && c->now < end)
        sim_cluster_run_until(c, c->now + 10);
    return sim_cluster_min_honest_height(c) >= h && !c->chk.violated;
}

void sim_scen_say(struct sim_cluster *c, const char *text)
{
    sim_trace(c->trace, c->now, -1, "%s", text);
}

static int kind_of(const uint8_t *b, size_t len, uint64_t *h, uint64_t *v)
{
    int kind = 0;
    if (pbft_msg_peek(b, len, &kind, NULL, h, v) != 0)
        return 0;
    return kind;
}

/* (1) COMMITs of view 0 at height 2 are lost, then the primary crashes. */
static bool drop_commits_v0_h2(struct sim_cluster *c, int from, int to, const uint8_t *b,
                               size_t len)
{
    uint64_t h = 0, v = 0;
    (void)c, (void)from, (void)to;
    return kind_of(b, len, &h, &v) == PBFT_MSG_COMMIT && h == 2 && v == 0;
}

static int scen_primary_crash(struct sim_scen *s, struct sim_cluster *c)
{
    unsigned char d[SIM_DIGEST_LEN];
    int prepared = 0;
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 1, 5000), "no commit of h=1 in a healthy cluster");
    c->filter = drop_commits_v0_h2;
    sim_scen_say(c, "every COMMIT of v=0 h=2 is now lost; submitting a tx");
    sim_cluster_submit(c);
    for (int i = 0; i < 300 && prepared < c->q; i++) {
        sim_cluster_run_until(c, c->now + 5);
        prepared = 0;
        for (int r = 1; r < c->n; r++)
            prepared += sim_replica_signed(&c->r[r], PBFT_SIG_COMMIT, 2, d, NULL);
    }
    EXPECT(s, prepared >= c->q - 1, "only %d backups prepared h=2 in view 0", prepared);
    sim_replica_signed(&c->r[1], PBFT_SIG_COMMIT, 2, d, NULL);
    sim_scen_say(c, "backups prepared h=2 (their COMMITs are lost): crash primary 0");
    sim_cluster_crash(c, 0);
    EXPECT(s, sim_scen_reach(c, 2, 30000), "h=2 not committed after the view change");
    EXPECT(s, memcmp(c->chk.h[2].cert.digest, d, SIM_DIGEST_LEN) == 0,
           "h=2 committed a different block than the one prepared in view 0");
    EXPECT(s, c->chk.h[2].cert.view >= 1, "h=2 committed in view %llu, expected >= 1",
           (unsigned long long)c->chk.h[2].cert.view);
    sim_scen_say(c, "the prepared block survived the view change; restart 0");
    c->filter = NULL;
    sim_cluster_restart(c, 0);
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 3, 20000), "no progress after the old primary restarted");
    return 0;
}

/* (2) The equivocating primary's own votes never arrive: neither side can reach q. */
static bool drop_votes_of_0(struct sim_cluster *c, int from, int to, const uint8_t *b, size_t len)
{
    int k = kind_of(b, len, NULL, NULL);
    (void)c, (void)to;
    return from == 0 && (k == PBFT_MSG_PREPARE || k == PBFT_MSG_COMMIT);
}

static int scen_equivocating_primary(struct sim_scen *s, struct sim_cluster *c)
{
    sim_cluster_set_byz(c, 0, SIM_BYZ_EQUIVOCATE);
    c->r[0].eq_fixed = 1u << 3; /* block A to 1 and 2, block B to 3 */
    c->filter = drop_votes_of_0;
    sim_scen_say(c, "primary 0 sends block A to 1,2 and block B to 3, and never votes");
    sim_cluster_submit(c);
    uint64_t end = c->now + 20000;
    while (!c->chk.violated && c->now < end && sim_cluster_min_honest_height(c) < 1) {
        sim_cluster_run_until(c, c->now + 10);
        for (int r = 1; r < c->n; r++) {
            EXPECT(s, !(c->r[r].node.height >= 1 && c->r[r].tip_cert.view == 0),
                   "replica %d committed h=1 in view 0 despite the equivocation", r);
        }
    }
    EXPECT(s, c->r[0].eq_active, "the primary never equivocated");
    EXPECT(s, sim_cluster_min_honest_height(c) >= 1, "h=1 never committed after a view change");
    EXPECT(s, c->chk.h[1].cert.view >= 1, "h=1 committed in view 0");
    sim_scen_say(c, "h=1 committed only after the view change; more txs");
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 2, 20000), "no progress after the view change");
    return 0;
}

/* (3) f+1 replicas down: nothing may commit; after their restart commits resume. */
static int scen_f_plus_one_crashed(struct sim_scen *s, struct sim_cluster *c)
{
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 1, 5000), "no commit of h=1 in a healthy cluster");
    uint64_t h = c->chk.max_height;
    sim_scen_say(c, "crash replicas 2 and 3 (f+1 of n=4)");
    sim_cluster_crash(c, 2);
    sim_cluster_crash(c, 3);
    for (int i = 0; i < 5; i++)
        sim_cluster_submit(c);
    sim_cluster_run_until(c, c->now + 15000);
    EXPECT(s, c->chk.max_height == h, "committed h=%llu with only 2 of 4 replicas up",
           (unsigned long long)c->chk.max_height);
    sim_scen_say(c, "no progress without a quorum, as required; restart 2 and 3");
    sim_cluster_restart(c, 2);
    sim_cluster_restart(c, 3);
    EXPECT(s, sim_scen_reach(c, h + 1, 40000), "no progress after the restart");
    return 0;
}

/* (4) COMMITs of h=2 reach replica 1 only; it commits; then every replica crashes at once. */
static bool commits_h2_only_to_1(struct sim_cluster *c, int from, int to, const uint8_t *b,
                                 size_t len)
{
    uint64_t h = 0;
    (void)c, (void)from;
    return kind_of(b, len, &h, NULL) == PBFT_MSG_COMMIT && h == 2 && to != 1;
}

static int scen_all_crash(struct sim_scen *s, struct sim_cluster *c)
{
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 1, 5000), "no commit of h=1 in a healthy cluster");
    c->filter = commits_h2_only_to_1;
    sim_scen_say(c, "COMMITs of h=2 now reach replica 1 only");
    sim_cluster_submit(c);
    for (int i = 0; i < 400 && c->r[1].node.height < 2; i++)
        sim_cluster_run_until(c, c->now + 2);
    EXPECT(s, c->r[1].node.height == 2, "replica 1 did not commit h=2");
    for (int r = 0; r < c->n; r++)
        EXPECT(s, r == 1 || c->r[r].node.height < 2, "replica %d committed h=2 too", r);
    unsigned char d[SIM_DIGEST_LEN];
    memcpy(d, c->r[1].tip_cert.digest, SIM_DIGEST_LEN);
    sim_scen_say(c, "replica 1 alone committed h=2: ALL replicas crash now");
    for (int r = 0; r < c->n; r++)
        sim_cluster_crash(c, r);
    c->filter = NULL;
    sim_cluster_run_until(c, c->now + 500);
    for (int r = 0; r < c->n; r++)
        sim_cluster_restart(c, r);
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 3, 40000), "no progress after every replica restarted");
    EXPECT(s, memcmp(c->chk.h[2].cert.digest, d, SIM_DIGEST_LEN) == 0,
           "h=2 changed across the crash of every replica");
    return 0;
}

/* (5) A Byzantine replica pushes view 10^9 (VIEW-CHANGE and votes); nobody follows. */
static int scen_huge_view(struct sim_scen *s, struct sim_cluster *c)
{
    sim_cluster_set_byz(c, 3, SIM_BYZ_HUGE);
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 1, 5000), "no commit of h=1 in a healthy cluster");
    int sent = sim_byz_huge_viewchange(c, &c->r[3], 1000000000ULL);
    sim_scen_say(c, sent > 0 ? "replica 3 sent VIEW-CHANGE for view 10^9 (validly signed)"
                             : "could not craft a VIEW-CHANGE: votes for view 10^9 only");
    for (int i = 0; i < 20; i++) {
        sim_cluster_schedule_byz(c, 3, c->now + 1 + (uint64_t)i * 200, (uint64_t)i);
        if (sent > 0 && i % 5 == 0)
            sim_byz_huge_viewchange(c, &c->r[3], 1000000000ULL + (uint64_t)i);
    }
    for (int i = 0; i < 3; i++)
        sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 3, 20000), "progress stopped under view 10^9 messages");
    for (int r = 0; r < 3; r++)
        EXPECT(s, sim_scen_view(c, r) < 100, "replica %d moved to view %llu", r,
               (unsigned long long)sim_scen_view(c, r));
    EXPECT(s, sent > 0, "no VIEW-CHANGE for 10^9 could be crafted (only votes were tested)");
    return 0;
}

/* (6) Primary 0 leaves one transaction out of every block it proposes. */
static int scen_censor(struct sim_scen *s, struct sim_cluster *c)
{
    sim_cluster_set_byz(c, 0, SIM_BYZ_CENSOR);
    c->censored_tx = sim_cluster_submit(c);
    sim_scen_say(c, "primary 0 censors the first transaction");
    for (int i = 0; i < 40 && !c->censor_done && !c->chk.violated; i++) {
        sim_cluster_submit(c);
        sim_cluster_run_until(c, c->now + 300);
    }
    EXPECT(s, c->censor_done, "the censored transaction was not committed within 12 s");
    for (int r = 1; r < c->n; r++)
        EXPECT(s, sim_scen_view(c, r) >= 1, "replica %d still in view 0", r);
    return 0;
}

/*
 * Heap bytes in use in the whole process. ASan's allocator reports 0: the check is then
 * skipped and only the dropped-message count and progress are asserted.
 */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd; /* small blocks plus mmap'd large ones */
}

static uint64_t dropped_window(struct sim_cluster *c)
{
    uint64_t d = 0;
    for (int r = 0; r < c->n; r++) {
        struct pbft_stats st = { 0 };
        sim_replica_stats(&c->r[r], &st);
        d += st.dropped_window + st.dropped_duplicate;
    }
    return d;
}

/* (7) 200 bursts of validly signed votes for future heights and views; memory stays flat. */
static int scen_flood(struct sim_scen *s, struct sim_cluster *c)
{
    sim_cluster_set_byz(c, 3, SIM_BYZ_FLOOD);
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 1, 5000), "no commit of h=1 in a healthy cluster");
    size_t base = 0;
    uint64_t d0 = dropped_window(c);
    for (int i = 0; i < 200; i++) {
        sim_cluster_schedule_byz(c, 3, c->now + 1, (uint64_t)i);
        sim_cluster_run_until(c, c->now + 60);
        if (i == 9)
            base = heap_in_use(); /* after the queue and maps reached their working size */
        if (i % 20 == 0)
            sim_cluster_submit(c);
    }
    size_t end = heap_in_use();
    char line[160];
    snprintf(line, sizeof(line), "200 x 64 future votes delivered; heap %zu -> %zu bytes", base,
             end);
    sim_scen_say(c, line);
    EXPECT(s, base == 0 || end < base + (1u << 20),
           "heap grew from %zu to %zu bytes under the flood", base, end);
    EXPECT(s, dropped_window(c) > d0, "the cores counted no dropped out-of-window messages");
    EXPECT(s, sim_scen_reach(c, 3, 20000), "progress stopped under the flood");
    return 0;
}

/* (8) The checkers are tests too: plant each kind of violation and expect it to be caught. */
static int planted(struct sim_cluster *c, enum sim_violation want)
{
    bool hit = c->chk.violated && c->chk.vkind == want;
    c->chk.violated = false;
    return hit;
}

static int scen_checkers_fire(struct sim_scen *s, struct sim_cluster *c)
{
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 1, 5000), "no commit of h=1 in a healthy cluster");
    struct sim_commit real = c->chk.h[1];
    struct pbft_cert cert = real.cert;
    unsigned char payload[SIM_BLOCK_MAX_LEN], emitted[48];
    struct sim_block b;
    sim_block_decode(real.payload, real.len, &b);
    b.time += 1; /* another block at height 1, never validated by anyone */
    size_t len = sim_block_encode(&b, payload);
    sim_block_digest(payload, len, cert.digest);
    sim_check_commit(&c->chk, 2, 2, &cert, payload, len);
    EXPECT(s, planted(c, SIM_V_CERT), "a certificate whose signatures cover another digest passed");
    sim_check_valid(&c->chk, cert.digest);
    for (unsigned i = 0; i < cert.count; i++) {
        unsigned char p48[48], msg[128];
        pbft_vote_payload(cert.height, cert.view, cert.digest, p48);
        size_t l = sim_signed_bytes(PBFT_SIG_COMMIT, p48, sizeof(p48), msg);
        sim_sign(&c->keys, cert.signers[i], msg, l, cert.sigs[i]);
    }
    sim_check_commit(&c->chk, 2, 2, &cert, payload, len);
    EXPECT(s, planted(c, SIM_V_AGREEMENT), "two blocks committed at h=1 were not reported");
    cert.count = (unsigned)c->q - 1;
    sim_check_commit(&c->chk, 2, 2, &cert, payload, len);
    EXPECT(s, c->chk.count[SIM_V_CERT] >= 2, "a certificate with q-1 signers passed");
    c->chk.violated = false;
    pbft_vote_payload(7, 3, real.cert.digest, emitted);
    sim_check_emitted(&c->chk, 1, PBFT_SIG_PREPARE, emitted, sizeof(emitted));
    pbft_vote_payload(7, 3, cert.digest, emitted);
    sim_check_emitted(&c->chk, 1, PBFT_SIG_PREPARE, emitted, sizeof(emitted));
    EXPECT(s, planted(c, SIM_V_DOUBLE_SIGN), "an honest double PREPARE went unnoticed");
    unsigned char nv[SIM_NEWVIEW_PAYLOAD] = { 0 };
    nv[15] = 9; /* view 9, base 0, nothing re-proposed */
    sim_check_emitted(&c->chk, 2, PBFT_SIG_NEWVIEW, nv, sizeof(nv));
    sim_check_emitted(&c->chk, 2, PBFT_SIG_NEWVIEW, nv, sizeof(nv)); /* re-sent: the same one */
    EXPECT(s, !c->chk.violated, "a re-sent NEW-VIEW was taken for a second one");
    nv[7] = 1; /* base 1 */
    sim_check_emitted(&c->chk, 2, PBFT_SIG_NEWVIEW, nv, sizeof(nv));
    EXPECT(s, planted(c, SIM_V_DOUBLE_SIGN), "two NEW-VIEWs for one view went unnoticed");
    unsigned char vc[SIM_VIEWCHANGE_PAYLOAD] = { 0 };
    vc[7] = 3;  /* height 3 */
    vc[15] = 4; /* view 4, nothing prepared */
    sim_check_emitted(&c->chk, 3, PBFT_SIG_VIEWCHANGE, vc, sizeof(vc));
    sim_check_emitted(&c->chk, 3, PBFT_SIG_VIEWCHANGE, vc, sizeof(vc)); /* re-sent */
    EXPECT(s, !c->chk.violated, "a re-sent VIEW-CHANGE was taken for a second one");
    vc[56] = 1; /* now claiming a prepared certificate */
    vc[64] = 2;
    sim_check_emitted(&c->chk, 3, PBFT_SIG_VIEWCHANGE, vc, sizeof(vc));
    EXPECT(s, planted(c, SIM_V_DOUBLE_SIGN), "two VIEW-CHANGEs for one view went unnoticed");
    b.height = 2;
    len = sim_block_encode(&b, payload);
    cert = real.cert;
    cert.height = 2;
    sim_block_digest(payload, len, cert.digest);
    sim_check_commit(&c->chk, 1, 1, &cert, payload, len);
    EXPECT(s, c->chk.count[SIM_V_VALIDITY] >= 1, "a block no honest caller validated passed");
    c->chk.violated = false;
    sim_scen_say(c, "planted violations of every kind were caught");
    return 0;
}

/* (9) Identity 0 runs twice, one copy on each side of a partition (Twins). */
static int scen_twins(struct sim_scen *s, struct sim_cluster *c)
{
    EXPECT(s, c->slots == 5 && c->r[4].id == 0, "no twin of identity 0");
    sim_net_place(&c->net, 0, 0);
    sim_net_place(&c->net, 1, 0);
    sim_net_place(&c->net, 4, 1);
    sim_net_place(&c->net, 2, 1);
    sim_net_place(&c->net, 3, 1);
    sim_scen_say(c, "partition {0, 1} | {0', 2, 3}: identity 0 on both sides, one key");
    for (int i = 0; i < 6; i++) {
        sim_cluster_submit(c);
        sim_cluster_run_until(c, c->now + 1500);
    }
    EXPECT(s, c->r[1].node.height == 0, "replica 1 committed with only 2 identities on its side");
    EXPECT(s, c->r[2].node.height >= 1, "the side holding a quorum of identities made no progress");
    sim_scen_say(c, "only the side with q identities committed; heal");
    sim_net_heal(&c->net);
    uint64_t h = c->chk.max_height;
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, h + 1, 30000), "no progress after healing");
    return 0;
}

/* Most view changes any replica started (its core's counter; 0 when it is down). */
static uint64_t most_view_changes(struct sim_cluster *c)
{
    uint64_t most = 0;
    for (int r = 0; r < c->n; r++) {
        struct pbft_stats st = { 0 };
        sim_replica_stats(&c->r[r], &st);
        most = st.view_changes > most ? st.view_changes : most;
    }
    return most;
}

/*
 * (10) A backlog of 1,000 transactions, then 500 tx/s (more than the chain drains) for 30 s,
 * all replicas honest. Blocks are full and commit every few ms, so no request is waiting on a
 * stalled chain or on a block that had room for it: PBFT's request timer restarts on every
 * execution, and a primary that keeps committing is never replaced (the FISCO BCOS storm).
 */
static int scen_backlog(struct sim_scen *s, struct sim_cluster *c)
{
    char line[200];
    for (int i = 0; i < 1000; i++)
        sim_cluster_submit(c);
    sim_scen_say(c, "a backlog of 1,000 transactions, then 500 tx/s for 30 s");
    uint64_t h = c->chk.max_height, start = c->now;
    for (int sec = 1; sec <= 30; sec++) {
        for (int k = 0; k < 500 && !c->chk.violated; k++) {
            sim_cluster_submit(c);
            sim_cluster_run_until(c, c->now + 2);
        }
        EXPECT(s, c->chk.max_height > h, "no block committed in second %d of the load", sec);
        EXPECT(s, most_view_changes(c) == 0, "a view change in second %d of the load (view %llu)",
               sec, (unsigned long long)sim_scen_view(c, 1));
        h = c->chk.max_height;
    }
    snprintf(line, sizeof(line),
             "%llu blocks in %llu ms (%llu tx/s drained), %zu txs still pending, no view change",
             (unsigned long long)h, (unsigned long long)(c->now - start),
             (unsigned long long)(h * SIM_BLOCK_MAX_TX * 1000 / (c->now - start)), c->npending);
    sim_scen_say(c, line);
    EXPECT(s, c->npending > SIM_BLOCK_MAX_TX, "the load did not exceed what the chain drains");
    return 0;
}

/*
 * (11) Fail-stop through the driver: replica 2's chain cannot apply the next certified block.
 * Its driver stops (every call LEDGER_E_FATAL) and the node goes down with the block unapplied;
 * the other three go on. Restarted from its durable state it catches up on the same chain.
 */
static int scen_fail_stop(struct sim_scen *s, struct sim_cluster *c)
{
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, 1, 5000), "no commit of h=1 in a healthy cluster");
    c->r[2].fail_commits = true;
    sim_scen_say(c, "replica 2's chain will fail its next commit");
    sim_cluster_submit(c);
    for (int i = 0; i < 500 && c->r[2].up; i++)
        sim_cluster_run_until(c, c->now + 10);
    EXPECT(s, !c->r[2].up && c->st.fail_stops == 1, "replica 2 did not stop on a failed commit");
    EXPECT(s, c->r[2].node.height == 1, "replica 2 applied h=%llu after failing",
           (unsigned long long)c->r[2].node.height);
    for (int k = 0; k < 3; k++)
        sim_cluster_submit(c);
    uint64_t h = c->chk.max_height;
    sim_cluster_run_until(c, c->now + 3000);
    EXPECT(s, c->chk.max_height > h, "the other three made no progress without replica 2");
    sim_scen_say(c, "restart replica 2 from its durable state");
    sim_cluster_restart(c, 2);
    sim_cluster_submit(c);
    EXPECT(s, sim_scen_reach(c, c->chk.max_height, 20000), "replica 2 did not catch up");
    EXPECT(s, most_view_changes(c) == 0, "a view change although the primary never failed");
    sim_scen_say(c, "replica 2 stopped, the others went on, and it caught up after a restart");
    return 0;
}

static const struct sim_scen_def defs[] = {
    { "primary crash: view change; the prepared block survives and commits at the same height",
      scen_primary_crash, NULL },
    { "equivocating primary: no commit at that height until a view change, then progress",
      scen_equivocating_primary, NULL },
    { "f+1 replicas crashed: no progress, no safety loss; restart: progress",
      scen_f_plus_one_crashed, NULL },
    { "all replicas crash after some COMMITs left: restart from persisted state, no fork",
      scen_all_crash, NULL },
    { "one Byzantine replica asks for view 10^9: the others do not move", scen_huge_view, NULL },
    { "censoring primary leaves one tx out: it is replaced and the tx gets in", scen_censor, NULL },
    { "a flood of votes from the future is dropped, memory stays bounded, progress goes on",
      scen_flood, NULL },
    { "the checkers catch planted violations (agreement, certificate, double-sign, two "
      "NEW-VIEWs, validity)",
      scen_checkers_fire, NULL },
    { "twins: one identity on both sides of a partition cannot make two blocks commit", scen_twins,
      "twins" },
    { "a backlog and load above the drain rate: commits go on, the primary is never replaced",
      scen_backlog, NULL },
    { "a replica whose chain cannot apply a certified block stops (fail-stop); the rest go on",
      scen_fail_stop, NULL },
};

static int run_scen(const struct sim_scen_def *d, int idx, bool verbose)
{
    static struct sim_cluster c;
    static struct sim_trace t;
    struct sim_scen s = { .why = "" };
    sim_trace_reset(&t, verbose);
    const struct sim_mix *mix = sim_mix_find(d->mix != NULL ? d->mix : "clean");
    if (sim_cluster_init(&c, 4, 1000 + (uint64_t)idx, mix, &t, false) != 0)
        return -1;
    c.stop_clients = true; /* the script submits every transaction itself */
    sim_trace(&t, 0, -1, "SCENARIO %d: %s", idx + 1, d->name);
    sim_cluster_start(&c);
    int rc = d->fn(&s, &c);
    if (c.chk.violated) {
        rc = -1;
        snprintf(s.why, sizeof(s.why), "%s", c.chk.what);
    }
    printf("%s scenario %d: %s\n", rc == 0 ? "PASS" : "FAIL", idx + 1, d->name);
    if (rc != 0) {
        printf("  why: %s\n  last trace lines:\n", s.why);
        if (!verbose)
            sim_trace_dump(&t, stdout, 80);
    }
    sim_cluster_close(&c);
    return rc;
}

int sim_scenarios(const struct sim_opts *o)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        if (run_scen(&defs[i], (int)i, o->verbose) == 0)
            passed++;
        else
            failed++;
    }
    printf("scenarios: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
