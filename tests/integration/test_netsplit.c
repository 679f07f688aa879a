/* Broken networks between real sealchaind processes: partitions, delay, resets, one-way links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/tx.h"
#include "tests/integration/cluster.h"
#include "tests/integration/proxy.h"

#define UP_MS 30000
/* How long each fault lasts: several blocks and, at the time-outs below,
 * several view-change rounds. */
#define FAULT_MS 8000
/* The bounds this file asserts, from heal (or from the fault, for the view
 * change): measured on the loaded 2-core machine at a few seconds at most;
 * wide enough for a slow neighbour, tight enough that a node which only
 * recovers on some unrelated time-out (a 30 s view-change back-off, a
 * forgotten re-dial) fails. */
#if defined(__SANITIZE_ADDRESS__)
/* Under ASan the nodes run ~3x slower, and a node coming back works through
 * the backlog the others sent it (every vote for a height above its own gets
 * a signature check): measured 3-7 s where the plain build takes under 1.5. */
#define SLOW 2
#else
#define SLOW 1
#endif
#define CATCHUP_MS    (SLOW * 10000) /* an isolated node reaches the others' height */
#define RESUME_MS     (SLOW * 15000) /* a 2|2 split commits again */
#define VIEWCHANGE_MS (SLOW * 10000) /* the three replace a primary cut off */
/* A link dead without a word (nothing closed, nothing received) is given up
 * by both nodes, re-dialled and the node behind it caught up: sealchaind
 * announces its tip on every link every 2 s and drops a link that brought
 * nothing for 20 s (PEER_SILENT_MS, checked every 5 s), plus a re-dial and a
 * sync. */
#define SILENT_MS (30000 + SLOW * 5000)
#define SETTLE_MS 30000
#define TOLD_MAX  4096

/* Short consensus time-outs so view changes fit in seconds; the back-off
 * cap matters most: an isolated or split node backs its view-change timer
 * off up to it, and after heal nobody moves before it fires. */
static const char EXTRA[] = "[consensus]\n"
                            "progress_timeout_ms = 1000\n"
                            "request_timeout_ms = 2000\n"
                            "view_change_timeout_ms = 1000\n"
                            "view_change_max_ms = 4000\n";

/* Steady load: one thread per node (so a node that stalls or turns
 * submits away while it catches up stalls only its own), each round two
 * fresh transactions without waiting when its node is in submit_mask, then,
 * when it is in wait_mask, one that waits for its commit (its id is kept
 * when told "committed"). */
struct load;

struct loader {
    struct load *ld;
    unsigned node;
    pthread_t thread;
    atomic_ulong rounds;
};

struct load {
    struct cluster *c;
    struct loader at[CLUSTER_MAX];
    unsigned running;
    atomic_bool stop;
    atomic_uint submit_mask, wait_mask;
    pthread_mutex_t mu;
    uint8_t told[TOLD_MAX][32];
    size_t n_told, submitted;
};

struct fx {
    struct cluster c;
    struct proxy *px;
    struct load ld;
};

static bool submit_one(struct cluster *c, unsigned i, bool wait, uint8_t id[32])
{
    uint8_t *tx;
    size_t len;
    if (cluster_tx(c, i, &tx, &len) != 0)
        return false;
    ledger_tx_id(tx, len, id);
    char st[16] = "";
    int rc = cluster_submit(c, i, tx, len, wait, st, NULL);
    free(tx);
    return rc == 0 && strcmp(st, "committed") == 0;
}

static void load_count(struct load *ld, const uint8_t id[32], bool told)
{
    pthread_mutex_lock(&ld->mu);
    ld->submitted++;
    if (told && ld->n_told < TOLD_MAX)
        memcpy(ld->told[ld->n_told++], id, 32);
    pthread_mutex_unlock(&ld->mu);
}

static void *load_run(void *arg)
{
    struct loader *me = arg;
    struct load *ld = me->ld;
    unsigned bit = 1u << me->node;
    while (!atomic_load(&ld->stop)) {
        uint8_t id[32];
        bool busy = false;
        for (int k = 0; k < 2 && (atomic_load(&ld->submit_mask) & bit); k++) {
            load_count(ld, id, submit_one(ld->c, me->node, false, id));
            busy = true;
        }
        if (atomic_load(&ld->wait_mask) & bit) {
            load_count(ld, id, submit_one(ld->c, me->node, true, id));
            busy = true;
        }
        cluster_sleep_ms(busy ? 20 : 100);
        atomic_fetch_add(&me->rounds, 1);
    }
    return NULL;
}

/* New masks; returns once every loader has finished a round begun under
 * them, so no waiting submit is left at a node about to be cut. */
static void load_set(struct load *ld, unsigned submit_mask, unsigned wait_mask)
{
    atomic_store(&ld->submit_mask, submit_mask);
    atomic_store(&ld->wait_mask, wait_mask);
    unsigned long r[CLUSTER_MAX];
    for (unsigned i = 0; i < ld->running; i++)
        r[i] = atomic_load(&ld->at[i].rounds);
    uint64_t end = cluster_ms() + 40000;
    for (unsigned i = 0; i < ld->running; i++) {
        while (atomic_load(&ld->at[i].rounds) < r[i] + 2 && cluster_ms() < end)
            cluster_sleep_ms(20);
        assert_true(atomic_load(&ld->at[i].rounds) >= r[i] + 2);
    }
}

static void load_start(struct load *ld, unsigned submit_mask, unsigned wait_mask)
{
    atomic_store(&ld->submit_mask, submit_mask);
    atomic_store(&ld->wait_mask, wait_mask);
    for (unsigned i = 0; i < ld->c->n; i++) {
        ld->at[i].ld = ld;
        ld->at[i].node = i;
        assert_int_equal(pthread_create(&ld->at[i].thread, NULL, load_run, &ld->at[i]), 0);
        ld->running = i + 1;
    }
}

static void load_stop(struct load *ld)
{
    atomic_store(&ld->stop, true);
    for (unsigned i = 0; i < ld->running; i++)
        pthread_join(ld->at[i].thread, NULL);
    ld->running = 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    /* NS_DEFAULTS=1: the nodes' own time-outs instead (slower; the bounds hold) */
    if (cluster_new(&f->c, 4, getenv("NS_DEFAULTS") ? NULL : EXTRA) != 0 ||
        proxy_attach(&f->c, &f->px) != 0) {
        cluster_free(&f->c, false);
        free(f);
        return -1;
    }
    pthread_mutex_init(&f->ld.mu, NULL);
    f->ld.c = &f->c;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    atomic_store(&f->ld.stop, true);
    proxy_heal_all(f->px); /* a submit waiting across a fault returns */
    load_stop(&f->ld);
    cluster_free(&f->c, getenv("KEEP_CLUSTER") != NULL); /* kills only its own nodes */
    proxy_free(f->px);
    pthread_mutex_destroy(&f->ld.mu);
    free(f);
    return 0;
}

/* Starts the nodes and the load, and waits for the first commits. */
static void begin(struct fx *f)
{
    assert_int_equal(cluster_start_all(&f->c, UP_MS), 0);
    load_start(&f->ld, 0xf, 0xf);
    assert_int_equal(cluster_wait_height(&f->c, 0xf, 2, UP_MS), 0);
}

static uint64_t height(struct fx *f, unsigned i)
{
    uint64_t h = cluster_height(&f->c, i);
    assert_true(h != UINT64_MAX);
    return h;
}

/* Lowest and highest height over the nodes of mask. */
static void heights(struct fx *f, uint32_t mask, uint64_t *lo, uint64_t *hi)
{
    *lo = UINT64_MAX;
    *hi = 0;
    for (unsigned i = 0; i < f->c.n; i++)
        if (mask & (1u << i)) {
            uint64_t h = height(f, i);
            *lo = h < *lo ? h : *lo;
            *hi = h > *hi ? h : *hi;
        }
}

/* Milliseconds until every node of mask is at height >= h; fails past bound_ms. */
static uint64_t time_to_height(struct fx *f, uint32_t mask, uint64_t h, uint64_t bound_ms)
{
    uint64_t t0 = cluster_ms();
    int rc = cluster_wait_height(&f->c, mask, h, (int)bound_ms);
    uint64_t took = cluster_ms() - t0;
    if (rc != 0)
        print_message("    not at height %llu after %llu ms\n", (unsigned long long)h,
                      (unsigned long long)took);
    assert_int_equal(rc, 0);
    return took;
}

/* The same block at every height on every node. */
static void assert_no_fork(struct cluster *c, uint64_t top)
{
    for (uint64_t h = 1; h <= top; h++) {
        uint8_t first[32], got[32];
        assert_int_equal(cluster_block_hash(c, 0, h, first), 0);
        for (unsigned i = 1; i < c->n; i++) {
            assert_int_equal(cluster_block_hash(c, i, h, got), 0);
            assert_memory_equal(first, got, 32);
        }
    }
}

/* Bytes the proxy delivered on every link: proof the nodes talk through it. */
static uint64_t proxied_bytes(struct fx *f)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < f->c.n; i++)
        for (unsigned j = 0; j < f->c.n; j++) {
            struct proxy_stats st;
            proxy_stats(f->px, i, j, &st);
            sum += st.bytes[0] + st.bytes[1];
        }
    return sum;
}

/* Stops the load, heals, and checks: one more transaction commits, every
 * node settles at one height with one chain, and every transaction a
 * submit was told committed is on every node. */
static void finish(struct fx *f)
{
    load_stop(&f->ld);
    proxy_heal_all(f->px);
    uint8_t id[32];
    assert_true(submit_one(&f->c, 0, true, id));
    if (f->ld.n_told < TOLD_MAX)
        memcpy(f->ld.told[f->ld.n_told++], id, 32);
    uint64_t top = cluster_settle(&f->c, 0xf, SETTLE_MS);
    assert_true(top != UINT64_MAX);
    assert_no_fork(&f->c, top);
    for (size_t k = 0; k < f->ld.n_told; k++)
        for (unsigned i = 0; i < f->c.n; i++)
            assert_true(cluster_has_tx(&f->c, i, f->ld.told[k]));
    assert_true(proxied_bytes(f) > 0);
    print_message("    height %llu, %zu submitted, %zu told committed, all on every node\n",
                  (unsigned long long)top, f->ld.submitted, f->ld.n_told);
}

static uint64_t view_of(struct fx *f, unsigned i)
{
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    assert_int_equal(cluster_status(&f->c, i, &s, &r), 0);
    uint64_t v = s->view;
    sealchain__api_reply__free_unpacked(r, NULL);
    return v;
}

static unsigned primary_of(struct fx *f, unsigned ask)
{
    int p = cluster_primary(&f->c, ask);
    assert_true(p >= 0);
    return (unsigned)p;
}

/* Bytes the proxy holds now on their way to node x. */
static uint64_t held_towards(struct fx *f, unsigned x)
{
    uint64_t sum = 0;
    for (unsigned j = 0; j < f->c.n; j++)
        if (j != x) {
            struct proxy_stats a, b;
            proxy_stats(f->px, j, x, &a); /* j dialled x: towards x is FWD */
            proxy_stats(f->px, x, j, &b); /* x dialled j: towards x is BACK */
            sum += a.held[0] + b.held[1];
        }
    return sum;
}

/* Node x cut off for FAULT_MS while the others keep committing; then the
 * time until x is at the height the others had at heal. */
static uint64_t isolate_and_heal(struct fx *f, unsigned x, enum proxy_cut how)
{
    uint32_t rest = 0xfu & ~(1u << x);
    load_set(&f->ld, 0xf, rest);
    uint64_t lo, hi;
    heights(f, rest, &lo, &hi);
    uint64_t x0 = height(f, x);
    proxy_partition(f->px, 1u << x, how);
    cluster_sleep_ms(FAULT_MS);
    uint64_t lo2, hi2;
    heights(f, rest, &lo2, &hi2);
    uint64_t x1 = height(f, x);
    uint64_t held = held_towards(f, x);
    if (how == PROXY_CUT_STALL) {
        assert_true(held > 0); /* the links were open and silent */
        print_message("    %llu bytes held on their way to node %u\n", (unsigned long long)held, x);
    }
    print_message("    node %u cut off %d ms: the three went %llu -> %llu, it %llu -> %llu\n", x,
                  FAULT_MS, (unsigned long long)hi, (unsigned long long)lo2, (unsigned long long)x0,
                  (unsigned long long)x1);
    assert_true(lo2 >= hi + 3); /* the three keep committing */
    assert_true(x1 <= x0 + 1);  /* alone it commits nothing (one block may be in flight) */
    proxy_heal_all(f->px);
    uint64_t took = time_to_height(f, 1u << x, lo2, CATCHUP_MS);
    unsigned other = (x + 1) % f->c.n;
    print_message("    healed: node %u at height %llu after %llu ms (bound %d); view %llu, the "
                  "others' %llu\n",
                  x, (unsigned long long)lo2, (unsigned long long)took, CATCHUP_MS,
                  (unsigned long long)view_of(f, x), (unsigned long long)view_of(f, other));
    return took;
}

static void one_node_cut_off_the_three_commit_and_it_catches_up(void **state)
{
    struct fx *f = *state;
    begin(f);
    unsigned x = (primary_of(f, 0) + 1) % f->c.n;
    isolate_and_heal(f, x, PROXY_CUT_REFUSE);
    load_set(&f->ld, 0xf, 0xf);
    finish(f);
}

static void one_node_behind_a_silent_partition_gets_the_backlog_and_catches_up(void **state)
{
    struct fx *f = *state;
    begin(f);
    unsigned x = (primary_of(f, 0) + 3) % f->c.n;
    /* its links stay open and pass nothing: the three keep sending into them */
    isolate_and_heal(f, x, PROXY_CUT_STALL);
    load_set(&f->ld, 0xf, 0xf);
    finish(f);
}

/* A validator's host restarts during a network outage: its peers' links to
 * it stay open and silent until the outage ends (then they are reset, as the
 * restarted host answers their retransmissions), and its own re-dials hang. */
static void a_node_restarted_behind_a_silent_partition_is_let_back_in(void **state)
{
    struct fx *f = *state;
    begin(f);
    unsigned x = (primary_of(f, 0) + 2) % f->c.n;
    uint32_t rest = 0xfu & ~(1u << x);
    load_set(&f->ld, 0xf, rest);
    proxy_partition(f->px, 1u << x, PROXY_CUT_STALL);
    cluster_sleep_ms(FAULT_MS / 2);
    assert_int_equal(cluster_signal(&f->c, x, SIGKILL, NULL), 0);
    assert_int_equal(cluster_start(&f->c, x), 0);
    assert_int_equal(cluster_wait_up(&f->c, x, UP_MS), 0);
    cluster_sleep_ms(FAULT_MS / 2);
    uint64_t lo, hi;
    heights(f, rest, &lo, &hi);
    uint64_t xh = height(f, x);
    assert_true(xh < lo);
    proxy_heal_all(f->px);
    uint64_t took = time_to_height(f, 1u << x, lo, CATCHUP_MS);
    print_message("    node %u restarted behind a stall at %llu; healed, at %llu after %llu ms "
                  "(bound %d)\n",
                  x, (unsigned long long)xh, (unsigned long long)lo, (unsigned long long)took,
                  CATCHUP_MS);
    load_set(&f->ld, 0xf, 0xf);
    finish(f);
}

/* A firewall between one validator and the others drops the state of their
 * connections: both ends think the links are up, nothing gets through, and
 * nobody sends a FIN or a RST. New connections would pass. */
static void links_dead_without_a_word_are_dropped_and_redialled(void **state)
{
    struct fx *f = *state;
    begin(f);
    unsigned x = (primary_of(f, 0) + 2) % f->c.n;
    uint32_t rest = 0xfu & ~(1u << x);
    load_set(&f->ld, 0xf, rest);
    for (unsigned j = 0; j < f->c.n; j++)
        if (j != x) {
            proxy_strand(f->px, x, j);
            proxy_strand(f->px, j, x);
        }
    uint64_t t0 = cluster_ms();
    uint64_t lo, hi;
    cluster_sleep_ms(2000);
    heights(f, rest, &lo, &hi);
    uint64_t took = time_to_height(f, 1u << x, lo, SILENT_MS);
    print_message("    node %u's links dead: at the others' height %llu again %llu ms after "
                  "(bound %d)\n",
                  x, (unsigned long long)lo, (unsigned long long)(cluster_ms() - t0), SILENT_MS);
    (void)took;
    load_set(&f->ld, 0xf, 0xf);
    finish(f);
}

/* Each node cut off in turn, with a short heal between: a node that timed
 * out alone still waits in its own view change when the next one goes, so
 * the two left voting must change view (with its help) to go on. */
static void each_node_cut_off_in_turn_the_rest_go_on(void **state)
{
    struct fx *f = *state;
    begin(f);
    unsigned p = primary_of(f, 0);
    for (unsigned k = 1; k <= f->c.n; k++) {
        unsigned x = (p + k) % f->c.n; /* backups first: the primary last */
        uint32_t rest = 0xfu & ~(1u << x);
        load_set(&f->ld, 0xf, rest);
        uint64_t lo, hi;
        heights(f, rest, &lo, &hi);
        proxy_partition(f->px, 1u << x, PROXY_CUT_REFUSE);
        uint64_t took = time_to_height(f, rest, hi + 3, VIEWCHANGE_MS);
        cluster_sleep_ms(3000);
        uint64_t lo2, hi2;
        heights(f, rest, &lo2, &hi2);
        proxy_heal_all(f->px);
        uint64_t back = time_to_height(f, 1u << x, lo2, CATCHUP_MS);
        print_message("    node %u cut off: 3 blocks among the rest in %llu ms; healed, at %llu "
                      "after %llu ms; views %llu %llu %llu %llu\n",
                      x, (unsigned long long)took, (unsigned long long)lo2,
                      (unsigned long long)back, (unsigned long long)view_of(f, 0),
                      (unsigned long long)view_of(f, 1), (unsigned long long)view_of(f, 2),
                      (unsigned long long)view_of(f, 3));
        cluster_sleep_ms(1000);
    }
    load_set(&f->ld, 0xf, 0xf);
    finish(f);
}

static void a_two_two_split_commits_nothing_and_resumes_after_heal(void **state)
{
    struct fx *f = *state;
    begin(f);
    load_set(&f->ld, 0xf, 0); /* nobody can commit: submit, never wait */
    /* stalled: the links stay open and silent, as in a real partition */
    proxy_partition(f->px, 0x3, PROXY_CUT_STALL);
    cluster_sleep_ms(1500); /* a block in flight at the cut may still land */
    uint64_t before[4], after[4];
    for (unsigned i = 0; i < 4; i++)
        before[i] = height(f, i);
    cluster_sleep_ms(FAULT_MS);
    for (unsigned i = 0; i < 4; i++) {
        after[i] = height(f, i);
        assert_int_equal(after[i], before[i]); /* no quorum, no commit */
    }
    uint64_t lo, hi;
    heights(f, 0xf, &lo, &hi);
    print_message("    {0,1} | {2,3} for %d ms: heights held at %llu..%llu\n", FAULT_MS,
                  (unsigned long long)lo, (unsigned long long)hi);
    proxy_heal_all(f->px);
    atomic_store(&f->ld.wait_mask, 0xfu);
    uint64_t resumed = time_to_height(f, 0xf, hi + 1, RESUME_MS);
    print_message("    healed: every node past %llu after %llu ms (bound %d)\n",
                  (unsigned long long)hi, (unsigned long long)resumed, RESUME_MS);
    finish(f);
}

static void the_primary_cut_off_is_replaced_and_rejoins(void **state)
{
    struct fx *f = *state;
    begin(f);
    unsigned p = primary_of(f, 0);
    uint32_t rest = 0xfu & ~(1u << p);
    unsigned other = (p + 1) % f->c.n;
    load_set(&f->ld, 0xf, rest);
    uint64_t h0 = height(f, other), t0 = cluster_ms();
    /* black-holed: its re-dials hang until the handshake deadline */
    proxy_partition(f->px, 1u << p, PROXY_CUT_BLACKHOLE);
    while (primary_of(f, other) == p && cluster_ms() - t0 < VIEWCHANGE_MS)
        cluster_sleep_ms(100);
    unsigned np = primary_of(f, other);
    assert_int_not_equal(np, p);
    uint64_t vc = cluster_ms() - t0;
    uint64_t moved = time_to_height(f, rest, h0 + 3, VIEWCHANGE_MS);
    print_message("    primary %u cut off: primary %u after %llu ms, 3 more blocks %llu ms later\n",
                  p, np, (unsigned long long)vc, (unsigned long long)moved);
    while (cluster_ms() - t0 < FAULT_MS)
        cluster_sleep_ms(100);
    uint64_t lo, hi;
    heights(f, rest, &lo, &hi);
    proxy_heal_all(f->px);
    uint64_t t1 = cluster_ms();
    uint64_t took = time_to_height(f, 1u << p, lo, CATCHUP_MS);
    print_message("    healed: old primary %u at height %llu after %llu ms (bound %d)\n", p,
                  (unsigned long long)lo, (unsigned long long)took, CATCHUP_MS);
    /* rejoined: it follows the view the three are in */
    uint64_t vp = 0, vo = 0;
    while (cluster_ms() - t1 < CATCHUP_MS) {
        vp = view_of(f, p);
        vo = view_of(f, other);
        if (vp == vo)
            break;
        cluster_sleep_ms(100);
    }
    print_message("    old primary in view %llu, the others in %llu, %llu ms after heal\n",
                  (unsigned long long)vp, (unsigned long long)vo,
                  (unsigned long long)(cluster_ms() - t1));
    assert_int_equal(vp, vo);
    load_set(&f->ld, 0xf, 0xf);
    finish(f);
}

static void delay_and_jitter_on_every_link_slow_but_never_fork(void **state)
{
    struct fx *f = *state;
    begin(f);
    proxy_delay_all(f->px, 40, 30);
    uint64_t lo, hi, lo2, hi2;
    heights(f, 0xf, &lo, &hi);
    cluster_sleep_ms(FAULT_MS);
    heights(f, 0xf, &lo2, &hi2);
    print_message("    40 +- 30 ms on every link for %d ms: %llu -> %llu\n", FAULT_MS,
                  (unsigned long long)hi, (unsigned long long)lo2);
    assert_true(lo2 >= hi + 5);
    finish(f);
}

static void connections_reset_every_second_commits_go_on(void **state)
{
    struct fx *f = *state;
    begin(f);
    uint64_t lo, hi, lo2, hi2;
    heights(f, 0xf, &lo, &hi);
    unsigned resets = 0;
    for (int k = 0; k < FAULT_MS / 1000; k++) {
        cluster_sleep_ms(800 + randombytes_uniform(400));
        proxy_reset_all(f->px);
    }
    for (unsigned i = 0; i < f->c.n; i++)
        for (unsigned j = 0; j < f->c.n; j++) {
            struct proxy_stats st;
            proxy_stats(f->px, i, j, &st);
            resets += st.resets;
        }
    heights(f, 0xf, &lo2, &hi2);
    print_message("    %d rounds of resets (%u connections reset): %llu -> %llu\n", FAULT_MS / 1000,
                  resets, (unsigned long long)hi, (unsigned long long)lo2);
    assert_true(resets >= (unsigned)(FAULT_MS / 1000) * 3); /* each pair's link, each time */
    assert_true(lo2 >= hi + 5);
    finish(f);
}

/* Every byte towards `to` (inbound) or from it (outbound) held, or released. */
static void one_way(struct fx *f, unsigned x, bool inbound, bool on)
{
    for (unsigned j = 0; j < f->c.n; j++)
        if (j != x) {
            if (inbound)
                proxy_hold_flow(f->px, j, x, on);
            else
                proxy_hold_flow(f->px, x, j, on);
        }
}

/* One phase of the asymmetric test: x's inbound (or outbound) bytes held
 * for FAULT_MS while the others commit, then released. */
static void asymmetric_phase(struct fx *f, unsigned x, bool inbound)
{
    uint32_t rest = 0xfu & ~(1u << x);
    load_set(&f->ld, 0xf, rest);
    uint64_t lo, hi, lo2, hi2;
    heights(f, rest, &lo, &hi);
    one_way(f, x, inbound, true);
    cluster_sleep_ms(FAULT_MS);
    heights(f, rest, &lo2, &hi2);
    uint64_t held = inbound ? held_towards(f, x) : 0;
    uint64_t xh = height(f, x);
    print_message("    node %u %s: the three went %llu -> %llu, it is at %llu%s\n", x,
                  inbound ? "sends but does not receive" : "receives but does not send",
                  (unsigned long long)hi, (unsigned long long)lo2, (unsigned long long)xh,
                  inbound ? "" : " (it hears every vote)");
    assert_true(lo2 >= hi + 3);
    if (inbound) {
        assert_true(held > 0); /* the hold was live: bytes waited in the proxy */
        assert_true(xh < lo2);
    }
    one_way(f, x, inbound, false);
    uint64_t took = time_to_height(f, 1u << x, lo2, CATCHUP_MS);
    print_message("    healed: node %u at height %llu after %llu ms (bound %d); view %llu, the "
                  "others' %llu\n",
                  x, (unsigned long long)lo2, (unsigned long long)took, CATCHUP_MS,
                  (unsigned long long)view_of(f, x),
                  (unsigned long long)view_of(f, (x + 1) % f->c.n));
}

static void a_node_that_only_sends_or_only_receives_catches_up(void **state)
{
    struct fx *f = *state;
    begin(f);
    /* two backups, so the second is still in step when its turn comes (the
     * first waits in a view change of its own after heal: see README) */
    unsigned p = primary_of(f, 0);
    asymmetric_phase(f, (p + 2) % f->c.n, true);
    asymmetric_phase(f, (p + 3) % f->c.n, false);
    load_set(&f->ld, 0xf, 0xf);
    finish(f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    if (getenv("TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_node_cut_off_the_three_commit_and_it_catches_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            one_node_behind_a_silent_partition_gets_the_backlog_and_catches_up, setup, teardown),
        cmocka_unit_test_setup_teardown(each_node_cut_off_in_turn_the_rest_go_on, setup, teardown),
        cmocka_unit_test_setup_teardown(links_dead_without_a_word_are_dropped_and_redialled, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_node_restarted_behind_a_silent_partition_is_let_back_in,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_two_two_split_commits_nothing_and_resumes_after_heal,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_primary_cut_off_is_replaced_and_rejoins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(delay_and_jitter_on_every_link_slow_but_never_fork, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(connections_reset_every_second_commits_go_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_node_that_only_sends_or_only_receives_catches_up, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
