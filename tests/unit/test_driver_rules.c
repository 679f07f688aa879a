/* The driver's own rules (node/driver.c) on the fixture's in-memory chain: clock, durability,
 * fail-stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/unit/test_pbft_fixture.h"

/* Primary 0 proposes block 1 by hand, stamped with `time`. */
static void propose_at(struct fx *x, uint64_t time, uint8_t digest[PBFT_DIGEST_SIZE])
{
    char blk[96];
    size_t len;
    fx_build_at(1, 0, 0, 3, time, blk, sizeof(blk), &len);
    struct pbft_event ev = { .type = PBFT_EV_PROPOSAL, .now = x->now };
    ev.proposal.height = 1;
    fx_digest((const uint8_t *)blk, len, ev.proposal.digest);
    memcpy(digest, ev.proposal.digest, PBFT_DIGEST_SIZE);
    ev.proposal.payload = (const uint8_t *)blk;
    ev.proposal.payload_len = len;
    fx_step(x, 0, &ev);
}

static struct fx *cluster_by_hand(void)
{
    struct fx *x = fx_new(4);
    x->clock_skew_ms = 1000;
    for (unsigned i = 0; i < 4; i++) {
        x->nodes[i].auto_propose = false;
    }
    fx_start_all(x);
    assert_true(x->nodes[0].has_propose);
    return x;
}

/* DESIGN §3 (trusted time): a backup refuses a block whose time is more than Δ from its clock,
 * ahead or behind, and accepts one within Δ. */
static void a_backup_refuses_a_block_more_than_delta_from_its_clock(void **state)
{
    (void)state;
    uint8_t d[PBFT_DIGEST_SIZE];
    uint64_t times[] = { 1000 + 1001, 1000 + 60000 };
    for (unsigned k = 0; k < 2; k++) {
        struct fx *x = cluster_by_hand();
        propose_at(x, times[k], d);
        fx_deliver(x, 100000);
        for (unsigned i = 1; i < 4; i++) {
            assert_int_equal(x->sent[i][PBFT_MSG_PREPARE], 0);
            assert_int_equal(x->nodes[i].committed, 0);
        }
        fx_free(x);
    }
    /* behind the clock by more than Δ */
    struct fx *x = cluster_by_hand();
    x->now = 5000;
    propose_at(x, 3999, d);
    fx_deliver(x, 100000);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 0);
    fx_free(x);
    /* within Δ: prepared and committed */
    x = cluster_by_hand();
    propose_at(x, 1000 + 999, d);
    fx_deliver(x, 100000);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(x->nodes[i].committed, 1);
        assert_memory_equal(x->nodes[i].chain[1], d, PBFT_DIGEST_SIZE);
    }
    fx_free(x);
}

/* Persist before send: with the chain's persist answering later, replica 1 sends no PREPARE,
 * no COMMIT and no VIEW-CHANGE until the snapshot that holds it is reported durable. */
static void no_vote_leaves_before_its_snapshot_write_has_returned(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->nodes[1].auto_persist = false;
    x->auto_until = 1;
    fx_start_all(x);
    if (x->nodes[1].pending != NULL) {
        struct pbft_event ev = { .type = PBFT_EV_PERSISTED, .now = x->now };
        ev.persisted.seq = x->nodes[1].pending_seq; /* the START snapshot */
        fx_step(x, 1, &ev);
    }
    fx_deliver(x, 100000);
    /* 0, 2, 3 commit block 1 without 1, whose PREPARE waits for its snapshot */
    assert_int_equal(x->nodes[0].committed, 1);
    assert_true(x->nodes[1].pending_seq > 0);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 0);
    assert_int_equal(x->sent[1][PBFT_MSG_COMMIT], 0);
    /* block 2 is never proposed: everyone asks for a view change; 1's waits too */
    for (unsigned i = 0; i < 4; i++) {
        struct pbft_event ev = { .type = PBFT_EV_REQUEST_OVERDUE, .now = x->now + 10000 };
        fx_step(x, i, &ev);
    }
    x->now += 10000;
    fx_deliver(x, 100000);
    assert_int_equal(x->sent[1][PBFT_MSG_VIEWCHANGE], 0);
    assert_true(x->sent[2][PBFT_MSG_VIEWCHANGE] > 0);
    /* the write returns: what was held leaves (its PREPARE is stale by now, the VIEW-CHANGE is
     * not) */
    struct pbft_event ev = { .type = PBFT_EV_PERSISTED, .now = x->now };
    ev.persisted.seq = x->nodes[1].pending_seq;
    fx_step(x, 1, &ev);
    assert_int_equal(x->nodes[1].last_err, 0);
    assert_true(x->sent[1][PBFT_MSG_VIEWCHANGE] > 0);
    fx_free(x);
}

/* A view change through the drivers: the primary falls silent, the others move to view 1 and
 * the new primary's block commits. */
static void a_view_change_through_the_driver(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->auto_until = 2;
    fx_start_all(x);
    fx_deliver(x, 100000);
    assert_int_equal(x->nodes[1].committed, 2);
    fx_crash(x, 0);
    x->auto_until = 4;
    for (unsigned i = 1; i < 4; i++) {
        struct pbft_event ev = { .type = PBFT_EV_REQUEST_OVERDUE, .now = x->now + 5000 };
        fx_step(x, i, &ev);
    }
    fx_run(x, x->now + 60000, 100);
    for (unsigned i = 1; i < 4; i++) {
        assert_int_equal(fx_stats(x, i).view, 1);
        assert_int_equal(x->nodes[i].committed, 4);
        assert_int_equal(x->nodes[i].last_err, 0);
    }
    fx_free(x);
}

/* Fail-stop: a certified block the chain cannot apply stops the driver for good (every call
 * answers LEDGER_E_FATAL, nothing more is sent); the other three go on. */
static void a_commit_the_chain_cannot_apply_stops_the_driver(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->nodes[2].fail_commit = true;
    x->auto_until = 3;
    fx_start_all(x);
    fx_deliver(x, 100000);
    assert_int_equal(x->nodes[2].last_err, LEDGER_E_FATAL);
    assert_int_equal(x->nodes[2].committed, 0);
    assert_non_null(strstr(node_driver_errmsg(x->nodes[2].d), "commit block 1"));
    unsigned sent = 0;
    for (unsigned k = 0; k < 8; k++) {
        sent += x->sent[2][k];
    }
    assert_int_equal(node_driver_tick(x->nodes[2].d, x->now + 100000), LEDGER_E_FATAL);
    assert_int_equal(node_driver_request_overdue(x->nodes[2].d, x->now + 100000), LEDGER_E_FATAL);
    fx_run(x, x->now + 30000, 100);
    unsigned after = 0;
    for (unsigned k = 0; k < 8; k++) {
        after += x->sent[2][k];
    }
    assert_int_equal(after, sent);
    for (unsigned i = 0; i < 4; i++) {
        if (i != 2) {
            assert_int_equal(x->nodes[i].committed, 3);
        }
    }
    fx_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_backup_refuses_a_block_more_than_delta_from_its_clock),
        cmocka_unit_test(no_vote_leaves_before_its_snapshot_write_has_returned),
        cmocka_unit_test(a_view_change_through_the_driver),
        cmocka_unit_test(a_commit_the_chain_cannot_apply_stops_the_driver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
