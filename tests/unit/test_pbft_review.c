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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(views_that_commit_nothing_double_the_timeout_until_a_slow_block_commits),
        cmocka_unit_test(an_overdue_request_backs_off_like_the_view_change_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
