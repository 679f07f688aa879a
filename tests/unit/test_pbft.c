/* Unit tests of the PBFT core: quorum arithmetic and the normal case, driven by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/unit/test_pbft_fixture.h"

static void quorum_sizes_match_the_formula_and_intersect_in_a_correct_replica(void **state)
{
    (void)state;
    for (unsigned n = 1; n <= 31; n++) {
        unsigned f = pbft_faults(n), q = pbft_quorum(n);
        assert_int_equal(f, (n - 1) / 3);
        assert_int_equal(q, (n + f + 2) / 2);
        assert_true(2 * q >= n + f + 1); /* two quorums share >= f+1 replicas */
        assert_true(q <= n - f);         /* correct replicas alone form a quorum */
    }
    assert_int_equal(pbft_quorum(1), 1);
    assert_int_equal(pbft_quorum(2), 2);
    assert_int_equal(pbft_quorum(3), 2);
    assert_int_equal(pbft_quorum(4), 3);
    assert_int_equal(pbft_quorum(5), 4);
    assert_int_equal(pbft_quorum(6), 4);
    assert_int_equal(pbft_quorum(7), 5);
    assert_int_equal(pbft_quorum(31), 21);
}

static void a_single_validator_commits_alone(void **state)
{
    (void)state;
    struct fx *x = fx_new(1);
    fx_start_all(x);
    /* each commit asks for the next block at once: the auto proposer answers up to 10 */
    assert_int_equal(x->nodes[0].committed, 10);
    assert_int_equal(x->nodes[0].last_cert.count, 1);
    assert_int_equal(pbft_cert_verify(&x->base.crypto, 1, &x->nodes[0].last_cert), 0);
    fx_free(x);
}

static void four_replicas_commit_the_primarys_block_with_a_quorum_certificate(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    for (unsigned i = 0; i < 4; i++) {
        x->nodes[i].auto_propose = false;
    }
    fx_start_all(x);
    assert_true(x->nodes[0].has_propose);
    assert_int_equal(x->nodes[0].propose_height, 1);
    assert_false(x->nodes[1].has_propose);

    /* The primary proposes block 1 by hand. */
    char blk[64];
    size_t len;
    fx_build(1, 0, 0, 7, blk, sizeof(blk), &len);
    struct pbft_event ev = { .type = PBFT_EV_PROPOSAL, .now = x->now };
    ev.proposal.height = 1;
    fx_digest((const uint8_t *)blk, len, ev.proposal.digest);
    ev.proposal.payload = (const uint8_t *)blk;
    ev.proposal.payload_len = len;
    fx_step(x, 0, &ev);
    assert_int_equal(x->sent[0][PBFT_MSG_PREPREPARE], 1);
    assert_int_equal(x->sent[0][PBFT_MSG_PREPARE], 1);

    fx_deliver(x, 100000);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(x->nodes[i].committed, 1);
        assert_memory_equal(x->nodes[i].chain[1], ev.proposal.digest, PBFT_DIGEST_SIZE);
        assert_true(x->nodes[i].last_cert.count >= 3);
        assert_int_equal(pbft_cert_verify(&x->base.crypto, 4, &x->nodes[i].last_cert), 0);
        assert_int_equal(x->nodes[i].last_err, 0);
    }
    /* The primary is asked for block 2; an idle chain has no timer running. */
    assert_true(x->nodes[0].has_propose);
    assert_int_equal(x->nodes[0].propose_height, 2);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(x->nodes[i].deadline, 0);
    }
    fx_free(x);
}

static void a_chain_of_blocks_commits_in_order(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    fx_start_all(x);
    for (int k = 0; k < 20 && x->nmsgs > 0; k++) {
        fx_deliver(x, 100000);
        if (x->nodes[0].committed >= 10) {
            break;
        }
    }
    assert_true(x->nodes[0].committed >= 10);
    for (unsigned i = 1; i < 4; i++) {
        uint64_t h = x->nodes[i].committed < x->nodes[0].committed ? x->nodes[i].committed
                                                                   : x->nodes[0].committed;
        for (uint64_t k = 1; k <= h; k++) {
            assert_memory_equal(x->nodes[i].chain[k], x->nodes[0].chain[k], PBFT_DIGEST_SIZE);
        }
    }
    fx_free(x);
}

static void a_backup_prepares_only_after_its_caller_validated_the_block(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->auto_until = 1;
    x->nodes[1].auto_validate = false;
    x->drop_kind = PBFT_MSG_COMMIT; /* keep everyone at height 1 */
    fx_start_all(x);
    fx_deliver(x, 100000);
    assert_true(x->nodes[1].has_validate);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 0);
    assert_int_equal(x->sent[1][PBFT_MSG_COMMIT], 0);
    /* 0, 2, 3 are a quorum: they prepared and committed without 1's vote */
    assert_int_equal(x->sent[2][PBFT_MSG_COMMIT], 1);

    struct pbft_event ev = { .type = PBFT_EV_VALIDATED, .now = x->now };
    ev.validated.height = 1;
    memcpy(ev.validated.digest, x->nodes[1].validate_digest, PBFT_DIGEST_SIZE);
    ev.validated.ok = true;
    fx_step(x, 1, &ev);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 1);
    fx_free(x);
}

static void a_backup_never_prepares_a_block_its_caller_refused(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->nodes[1].refuse = true;
    x->nodes[2].refuse = true;
    fx_start_all(x);
    fx_deliver(x, 100000);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 0);
    assert_int_equal(x->sent[2][PBFT_MSG_PREPARE], 0);
    /* only 0 and 3 prepare: no quorum, nobody commits */
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(x->nodes[i].committed, 0);
    }
    /* a second, late "ok" verdict for the same block changes nothing */
    struct pbft_event ev = { .type = PBFT_EV_VALIDATED, .now = x->now };
    ev.validated.height = 1;
    memcpy(ev.validated.digest, x->nodes[1].validate_digest, PBFT_DIGEST_SIZE);
    ev.validated.ok = true;
    fx_step(x, 1, &ev);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 0);
    fx_free(x);
}

static void votes_wait_for_their_snapshot_to_be_durable(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->nodes[1].auto_persist = false;
    x->drop_kind = PBFT_MSG_COMMIT; /* keep everyone at height 1 */
    fx_start_all(x);
    fx_deliver(x, 100000);
    /* 1 validated and signed its PREPARE, but the snapshot is not durable yet */
    assert_true(x->nodes[1].pending_seq > 0);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 0);
    struct pbft_event ev = { .type = PBFT_EV_PERSISTED, .now = x->now };
    ev.persisted.seq = x->nodes[1].pending_seq;
    fx_step(x, 1, &ev);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 1);
    /* an ack for a seq never issued is an error (the core's, through the driver) */
    assert_int_not_equal(node_driver_persisted(x->nodes[1].d, 1000, x->now), 0);
    assert_non_null(strstr(node_driver_errmsg(x->nodes[1].d), pbft_strerror(PBFT_ERR_EVENT)));
    fx_free(x);
}

static void every_cluster_size_from_2_to_31_commits_the_same_blocks(void **state)
{
    (void)state;
    static const unsigned sizes[] = { 2, 3, 5, 6, 7, 31 };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        unsigned n = sizes[k];
        struct fx *x = fx_new(n);
        x->auto_until = 3;
        fx_start_all(x);
        fx_run(x, x->now + 500, 100);
        for (unsigned i = 0; i < n; i++) {
            assert_int_equal(x->nodes[i].committed, 3);
            assert_int_equal(x->nodes[i].last_err, 0);
            assert_true(x->nodes[i].last_cert.count >= pbft_quorum(n));
            for (uint64_t h = 1; h <= 3; h++) {
                assert_memory_equal(x->nodes[i].chain[h], x->nodes[0].chain[h], PBFT_DIGEST_SIZE);
            }
        }
        fx_free(x);
    }
}

/* The primary proposes h+1 the moment it commits h, so a backup still waiting for the
 * COMMITs of h often receives that PRE-PREPARE first: it keeps it and takes it up as soon
 * as it commits h, instead of waiting for the primary's retransmission (found by the
 * simulator once it drove the production driver, which proposes at once). */
static void a_pre_prepare_for_the_next_height_is_taken_up_once_the_backup_commits(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->auto_until = 1;
    fx_start_all(x);
    /* Everything flows except the COMMITs for replica 3, which are held back. */
    struct fx_msg held[64];
    size_t nheld = 0;
    struct fx_msg m;
    while (fx_pop(x, &m)) {
        if (m.to == 3 && m.kind == PBFT_MSG_COMMIT && nheld < 64) {
            held[nheld++] = m;
            continue;
        }
        fx_receive(x, &m);
        free(m.bytes);
    }
    assert_int_equal(x->nodes[0].committed, 1);
    assert_int_equal(x->nodes[3].committed, 0);
    assert_true(nheld >= 3);
    /* The primary's block 2 reaches replica 3 before those COMMITs. */
    char blk[64];
    uint8_t digest[PBFT_DIGEST_SIZE], msg[512];
    size_t len, mlen;
    fx_build(2, 0, 0, 1, blk, sizeof(blk), &len);
    fx_digest((const uint8_t *)blk, len, digest);
    struct fx_key k0 = { .self = 0 };
    struct pbft_crypto cr = { .ctx = &k0, .sign = fx_sign, .verify = fx_verify };
    assert_int_equal(pbft_msg_preprepare_encode(&cr, 0, 2, 0, digest, (const uint8_t *)blk, len,
                                                msg, sizeof(msg), &mlen),
                     0);
    struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
    ev.receive.from = 0;
    ev.receive.bytes = msg;
    ev.receive.len = mlen;
    fx_step(x, 3, &ev);
    assert_int_equal(x->nodes[3].validate_height, 1);
    /* The COMMITs arrive: replica 3 commits h=1 and validates block 2 in the same step. */
    for (size_t i = 0; i < nheld; i++) {
        fx_receive(x, &held[i]);
        free(held[i].bytes);
    }
    assert_int_equal(x->nodes[3].committed, 1);
    assert_int_equal(x->nodes[3].validate_height, 2);
    assert_memory_equal(x->nodes[3].validate_digest, digest, PBFT_DIGEST_SIZE);
    fx_free(x);
}

/* A backup that hears the others' PRE-PREPAREs and COMMITs for the heights above its own
 * before it reaches them (it fell a few blocks behind while the chain moved on, every block
 * committing on the other three) keeps them, and once the height below arrives it commits
 * them one after the other on their certificates, without asking anyone for blocks (found
 * by make bench: a backup one block behind fetched every later block by sync, one round
 * trip each, for the whole half-load phase). */
static void a_backup_behind_commits_the_heights_it_kept_messages_for_without_sync(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->auto_until = 5;
    fx_start_all(x);
    /* Replica 3 gets nothing of height 1 until the others are at height 5. */
    struct fx_msg held[256];
    size_t nheld = 0;
    struct fx_msg m;
    while (fx_pop(x, &m)) {
        if (m.to == 3 && m.height == 1 && nheld < 256) {
            held[nheld++] = m;
            continue;
        }
        fx_receive(x, &m);
        free(m.bytes);
    }
    assert_int_equal(x->nodes[0].committed, 5);
    assert_int_equal(x->nodes[3].committed, 0);
    assert_true(x->nodes[3].behind); /* it knows, and its caller may sync too */
    x->nodes[3].behind = false;
    for (size_t i = 0; i < nheld; i++) {
        fx_receive(x, &held[i]);
        free(held[i].bytes);
    }
    /* Its own messages for heights the others passed bring nothing back: drain them. */
    fx_deliver(x, FX_MAX_MSGS);
    assert_int_equal(x->nodes[3].committed, 5);
    for (uint64_t h = 1; h <= 5; h++) {
        assert_memory_equal(x->nodes[3].chain[h], x->nodes[0].chain[h], PBFT_DIGEST_SIZE);
    }
    fx_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quorum_sizes_match_the_formula_and_intersect_in_a_correct_replica),
        cmocka_unit_test(a_single_validator_commits_alone),
        cmocka_unit_test(four_replicas_commit_the_primarys_block_with_a_quorum_certificate),
        cmocka_unit_test(a_chain_of_blocks_commits_in_order),
        cmocka_unit_test(every_cluster_size_from_2_to_31_commits_the_same_blocks),
        cmocka_unit_test(a_backup_prepares_only_after_its_caller_validated_the_block),
        cmocka_unit_test(a_backup_never_prepares_a_block_its_caller_refused),
        cmocka_unit_test(votes_wait_for_their_snapshot_to_be_durable),
        cmocka_unit_test(a_pre_prepare_for_the_next_height_is_taken_up_once_the_backup_commits),
        cmocka_unit_test(a_backup_behind_commits_the_heights_it_kept_messages_for_without_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
