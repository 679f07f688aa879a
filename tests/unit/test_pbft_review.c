/* Review tests of the PBFT core: each checks a Castro-Liskov rule a reviewer found broken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/unit/test_pbft_fixture.h"

/* Per-node slow validator: answers each validation request `delay` ms after it was asked. */
struct slow {
    bool timing[FX_MAX_N];
    uint64_t since[FX_MAX_N];
    uint8_t digest[FX_MAX_N][PBFT_DIGEST_SIZE];
};

static void slow_validate(struct fx *x, struct slow *s, uint64_t delay)
{
    for (unsigned i = 0; i < x->n; i++) {
        struct fx_node *nd = &x->nodes[i];
        if (!nd->up || !nd->has_validate) {
            s->timing[i] = false;
            continue;
        }
        if (!s->timing[i] || memcmp(s->digest[i], nd->validate_digest, PBFT_DIGEST_SIZE) != 0) {
            s->timing[i] = true; /* a new request: its clock starts now */
            s->since[i] = x->now;
            memcpy(s->digest[i], nd->validate_digest, PBFT_DIGEST_SIZE);
        }
        if (x->now - s->since[i] >= delay) {
            struct pbft_event ev = { .type = PBFT_EV_VALIDATED, .now = x->now };
            nd->has_validate = false;
            s->timing[i] = false;
            ev.validated.height = nd->validate_height;
            memcpy(ev.validated.digest, nd->validate_digest, PBFT_DIGEST_SIZE);
            ev.validated.ok = true;
            fx_step(x, i, &ev);
        }
    }
}

/*
 * Castro & Liskov, OSDI '99, 4.5.2: "If the timer expires before it receives
 * a valid new-view message for v+1 or before it executes a request in the new
 * view that it had not executed previously, it starts the view change for
 * view v+2 but this time it will wait 2T". Here every backup needs 3 s to
 * execute a block and the progress timeout is 2 s: views whose NEW-VIEW
 * arrives at once but that commit nothing must still double the wait, or the
 * cluster changes view every 2 s forever and never commits.
 */
static void run_slow_cluster(uint64_t validate_ms, bool overdue)
{
    struct fx *x = fx_new(4);
    struct slow s;
    memset(&s, 0, sizeof(s));
    x->auto_until = 1;
    for (unsigned i = 0; i < 4; i++) {
        x->nodes[i].auto_validate = false;
    }
    fx_start_all(x);
    uint64_t until = x->now + 120000;
    while (x->now < until && x->nodes[1].committed == 0) {
        fx_deliver(x, 100000);
        slow_validate(x, &s, validate_ms);
        fx_deliver(x, 100000);
        for (unsigned i = 0; overdue && i < 4; i++) {
            /* the callers hold a transaction no block has included yet */
            struct pbft_event ev = { .type = PBFT_EV_REQUEST_OVERDUE, .now = x->now };
            fx_step(x, i, &ev);
        }
        fx_tick(x, x->now + 100);
    }
    fx_run(x, x->now + 1000, 100);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(x->nodes[i].committed, 1);
    }
    /* the timeouts doubled a few times, not forever: the view is small */
    assert_true(fx_stats(x, 1).view < 10);
    fx_free(x);
}

static void views_that_commit_nothing_double_the_timeout_until_a_slow_block_commits(void **state)
{
    (void)state;
    run_slow_cluster(3000, false);
}

/*
 * The request timer is the same timer in the paper (4.5.2 doubles "the"
 * timer): with a request reported overdue all along and blocks that take 5 s
 * to execute, a fixed request time-out of 4 s would end every view too.
 */
static void an_overdue_request_backs_off_like_the_view_change_timer(void **state)
{
    (void)state;
    run_slow_cluster(5000, true);
}

/* Big-endian writer for hand-made snapshots (layout in consensus/snapshot.c). */
struct wr {
    uint8_t b[1024];
    size_t len;
};

static void wr_be(struct wr *w, uint64_t v, int size)
{
    for (int i = size - 1; i >= 0; i--) {
        w->b[w->len + (size_t)i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    w->len += (size_t)size;
}

static void wr_bytes(struct wr *w, uint8_t byte, size_t n)
{
    memset(w->b + w->len, byte, n);
    w->len += n;
}

/*
 * A snapshot of replica 1 of 4 at height 1 in `view`, holding only its own
 * PREPARE (of view prep_view) and, when commit_view != 0, its COMMIT.
 */
static size_t make_snapshot(uint8_t *out, uint64_t view, uint64_t prep_view, uint64_t commit_view,
                            uint64_t last_cert_height)
{
    struct wr w = { .len = 0 };
    memcpy(w.b, "PBS1", 4);
    w.len = 4;
    wr_be(&w, 1, 1); /* version */
    wr_be(&w, 4, 2); /* n */
    wr_be(&w, 1, 2); /* self */
    wr_be(&w, view, 8);
    wr_be(&w, PBFT_STATUS_NORMAL, 1);
    wr_be(&w, 1, 8);                /* height */
    wr_be(&w, 1, 8);                /* fresh_from */
    wr_be(&w, last_cert_height, 8); /* last cert: height, view, digest, no signatures */
    wr_be(&w, 0, 8);
    wr_bytes(&w, 0, PBFT_DIGEST_SIZE);
    wr_be(&w, 0, 2);
    wr_be(&w, 0, 1); /* no accepted pre-prepare */
    wr_be(&w, 1, 1); /* my PREPARE */
    wr_be(&w, prep_view, 8);
    wr_bytes(&w, 0xd1, PBFT_DIGEST_SIZE);
    wr_bytes(&w, 0x51, PBFT_SIG_SIZE);
    wr_be(&w, commit_view != 0 ? 1 : 0, 1); /* my COMMIT */
    if (commit_view != 0) {
        wr_be(&w, commit_view, 8);
        wr_bytes(&w, 0xd1, PBFT_DIGEST_SIZE);
        wr_bytes(&w, 0x52, PBFT_SIG_SIZE);
    }
    wr_be(&w, 0, 1); /* not prepared */
    wr_be(&w, 0, 1); /* no VIEW-CHANGE */
    memcpy(out, w.b, w.len);
    return w.len;
}

static int start_from(struct fx *x, const uint8_t *snap, size_t len)
{
    struct fx_key k = { .self = 1 };
    struct pbft_config cfg = x->base;
    struct pbft *r;
    struct pbft_update up;
    struct pbft_event ev = { .type = PBFT_EV_START, .now = x->now };
    cfg.self = 1;
    cfg.crypto.ctx = &k;
    assert_int_equal(pbft_new(&cfg, &r), 0);
    ev.start.snapshot = snap;
    ev.start.snapshot_len = len;
    int rv = pbft_step(r, &ev, &up);
    pbft_free(r);
    return rv;
}

/*
 * Castro & Liskov 4.4: a replica never goes back to a view it left, and its
 * votes are for the view it is in. A snapshot whose own PREPARE or COMMIT is
 * of a later view than its view (or whose last certificate is not the one of
 * height-1) cannot have been written by the core: restoring it would put the
 * replica back in views it already voted in, without those votes, so it is
 * refused like a truncated one.
 */
static void a_snapshot_whose_votes_are_ahead_of_its_view_is_refused(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    uint8_t snap[1024];
    size_t len;

    len = make_snapshot(snap, 5, 5, 5, 0);
    assert_int_equal(start_from(x, snap, len), 0); /* the consistent one is fine */
    len = make_snapshot(snap, 4, 5, 0, 0);
    assert_int_equal(start_from(x, snap, len), PBFT_ERR_SNAPSHOT);
    len = make_snapshot(snap, 5, 5, 6, 0);
    assert_int_equal(start_from(x, snap, len), PBFT_ERR_SNAPSHOT);
    len = make_snapshot(snap, 5, 5, 5, 7); /* height 1 but a certificate for height 7 */
    assert_int_equal(start_from(x, snap, len), PBFT_ERR_SNAPSHOT);
    fx_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(views_that_commit_nothing_double_the_timeout_until_a_slow_block_commits),
        cmocka_unit_test(an_overdue_request_backs_off_like_the_view_change_timer),
        cmocka_unit_test(a_snapshot_whose_votes_are_ahead_of_its_view_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
