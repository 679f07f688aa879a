/* The node's request timer (node/reqtimer.h): when a held transaction is overdue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "node/reqtimer.h"

#define T     5000 /* time-out, ms */
#define BLOCK 1000 /* transactions per full block */

/*
 * The FISCO BCOS storm: a backlog of 3,000 transactions that new arrivals keep
 * at that size, and full blocks committing every 20 ms for a minute. Its
 * oldest transactions wait far longer than the time-out, but the chain keeps
 * executing requests and no block had room: nothing is ever overdue.
 */
static void a_backlog_drained_by_full_blocks_is_never_overdue(void **state)
{
    (void)state;
    struct node_reqtimer t;
    struct node_reqwait w = { 0 }; /* the transaction at the back of the backlog */
    node_reqtimer_init(&t, T);
    for (size_t i = 0; i < 3000; i++)
        node_reqtimer_admitted(&t, 1000);
    for (uint64_t now = 1020; now < 61000; now += 20) {
        assert_false(node_reqtimer_stalled(&t, now));
        node_reqtimer_admitted(&t, now); /* arrivals replace what the block took */
        if (node_reqtimer_had_room(BLOCK, BLOCK))
            node_reqwait_left_out(&w, now);
        node_reqtimer_executed(&t, 3000, now);
        assert_false(node_reqtimer_stalled(&t, now + T - 1));
        assert_false(node_reqwait_overdue(&t, &w, now + T));
    }
}

/* "starts a timer when it receives a request and the timer is not already running" */
static void a_chain_that_executes_nothing_for_the_time_out_makes_requests_overdue(void **state)
{
    (void)state;
    struct node_reqtimer t;
    node_reqtimer_init(&t, T);
    assert_false(node_reqtimer_stalled(&t, 100000)); /* nothing held: not running */
    node_reqtimer_admitted(&t, 1000);
    node_reqtimer_admitted(&t, 4000); /* already running: not restarted */
    assert_false(node_reqtimer_stalled(&t, 1000 + T - 1));
    assert_true(node_reqtimer_stalled(&t, 1000 + T));
    /* "restarts it if at that point it is waiting to execute some other request" */
    node_reqtimer_executed(&t, 1, 7000);
    assert_false(node_reqtimer_stalled(&t, 7000 + T - 1));
    assert_true(node_reqtimer_stalled(&t, 7000 + T));
    /* "stops the timer when it is no longer waiting" */
    node_reqtimer_executed(&t, 0, 8000);
    assert_false(node_reqtimer_stalled(&t, 100000));
    assert_false(node_reqtimer_stalled(&t, 0)); /* a clock that went back is no time-out */
}

/*
 * Censorship: a block with room that leaves a held transaction out starts its
 * clock; one time-out later, if still left out, it is overdue even though the
 * chain kept committing (the stall rule alone would never fire). Full blocks
 * are no evidence.
 */
static void a_transaction_left_out_of_blocks_with_room_is_overdue_a_time_out_later(void **state)
{
    (void)state;
    struct node_reqtimer t;
    struct node_reqwait w = { 0 };
    node_reqtimer_init(&t, T);
    node_reqtimer_admitted(&t, 1000);
    assert_false(node_reqtimer_had_room(BLOCK, BLOCK));
    assert_true(node_reqtimer_had_room(BLOCK - 1, BLOCK));
    assert_false(node_reqwait_overdue(&t, &w, 100000)); /* never left out */
    node_reqwait_left_out(&w, 2000);
    for (uint64_t now = 2000; now < 2000 + 3 * T; now += 500) {
        node_reqwait_left_out(&w, now); /* later blocks do not move its clock */
        node_reqtimer_executed(&t, 1, now);
        assert_false(node_reqtimer_stalled(&t, now));
        assert_int_equal(node_reqwait_overdue(&t, &w, now), now >= 2000 + T);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_backlog_drained_by_full_blocks_is_never_overdue),
        cmocka_unit_test(a_chain_that_executes_nothing_for_the_time_out_makes_requests_overdue),
        cmocka_unit_test(a_transaction_left_out_of_blocks_with_room_is_overdue_a_time_out_later),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
