/* Unit tests of the PBFT core's input checks: bad messages, bad snapshots, bad events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/unit/test_pbft_fixture.h"

static void receive(struct fx *x, unsigned to, unsigned from, const uint8_t *b, size_t len)
{
    struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
    ev.receive.from = from;
    ev.receive.bytes = b;
    ev.receive.len = len;
    fx_step(x, to, &ev);
}

/* A fresh 4-replica cluster where replica 1 accepted the primary's block 1. */
static struct fx *started(uint8_t digest[PBFT_DIGEST_SIZE])
{
    struct fx *x = fx_new(4);
    x->auto_until = 1;
    x->drop_kind = PBFT_MSG_COMMIT;
    fx_start_all(x);
    fx_deliver(x, 100000);
    memcpy(digest, x->nodes[1].validate_digest, PBFT_DIGEST_SIZE);
    return x;
}

static void duplicate_votes_are_ignored(void **state)
{
    (void)state;
    uint8_t d[PBFT_DIGEST_SIZE], buf[512];
    size_t len;
    struct fx *x = started(d);
    struct fx_key k2 = { .self = 2 };
    struct pbft_crypto c2 = { .ctx = &k2, .sign = fx_sign, .verify = fx_verify };
    uint64_t before = fx_stats(x, 1).dropped_duplicate;

    assert_int_equal(
        pbft_msg_vote_encode(&c2, PBFT_MSG_PREPARE, 2, 1, 0, d, buf, sizeof(buf), &len), 0);
    receive(x, 1, 2, buf, len);
    receive(x, 1, 2, buf, len);
    assert_int_equal(fx_stats(x, 1).dropped_duplicate, before + 2);
    /* a second PREPARE by 2 for another digest in the same view is not counted either */
    uint8_t other[PBFT_DIGEST_SIZE];
    memset(other, 0x42, sizeof(other));
    pbft_msg_vote_encode(&c2, PBFT_MSG_PREPARE, 2, 1, 0, other, buf, sizeof(buf), &len);
    receive(x, 1, 2, buf, len);
    assert_int_equal(fx_stats(x, 1).dropped_duplicate, before + 3);
    fx_free(x);
}

static void votes_outside_the_height_and_view_window_are_dropped(void **state)
{
    (void)state;
    uint8_t d[PBFT_DIGEST_SIZE], buf[512];
    size_t len;
    struct fx *x = started(d);
    struct fx_key k2 = { .self = 2 };
    struct pbft_crypto c2 = { .ctx = &k2, .sign = fx_sign, .verify = fx_verify };
    uint64_t before = fx_stats(x, 1).dropped_window;

    pbft_msg_vote_encode(&c2, PBFT_MSG_COMMIT, 2, 1, 1000000, d, buf, sizeof(buf), &len);
    receive(x, 1, 2, buf, len);
    pbft_msg_vote_encode(&c2, PBFT_MSG_COMMIT, 2, 1000000, 0, d, buf, sizeof(buf), &len);
    receive(x, 1, 2, buf, len);
    assert_int_equal(fx_stats(x, 1).dropped_window, before + 2);
    assert_int_equal(fx_stats(x, 1).height, 1);
    assert_int_equal(fx_stats(x, 1).view, 0);
    assert_false(x->nodes[1].behind); /* one replica's word is not f+1 evidence */
    fx_free(x);
}

static void votes_with_a_bad_signature_or_a_forged_sender_are_dropped(void **state)
{
    (void)state;
    uint8_t d[PBFT_DIGEST_SIZE], buf[512];
    size_t len;
    struct fx *x = started(d);
    struct fx_key k3 = { .self = 3 };
    struct pbft_crypto c3 = { .ctx = &k3, .sign = fx_sign, .verify = fx_verify };
    struct pbft_stats s0 = fx_stats(x, 1);

    /* 3 signs a COMMIT claiming to be 2: the signature does not verify as 2's */
    pbft_msg_vote_encode(&c3, PBFT_MSG_COMMIT, 2, 1, 0, d, buf, sizeof(buf), &len);
    receive(x, 1, 2, buf, len);
    assert_int_equal(fx_stats(x, 1).dropped_bad_sig, s0.dropped_bad_sig + 1);
    /* ... and on 3's own link it is a forged sender */
    receive(x, 1, 3, buf, len);
    assert_int_equal(fx_stats(x, 1).dropped_malformed, s0.dropped_malformed + 1);
    /* a PREPARE signature never passes for a COMMIT */
    pbft_msg_vote_encode(&c3, PBFT_MSG_PREPARE, 3, 1, 0, d, buf, sizeof(buf), &len);
    buf[1] = PBFT_MSG_COMMIT;
    receive(x, 1, 3, buf, len);
    assert_int_equal(fx_stats(x, 1).dropped_bad_sig, s0.dropped_bad_sig + 2);
    /* a sender index out of range, and a link index out of range */
    pbft_msg_vote_encode(&c3, PBFT_MSG_COMMIT, 3, 1, 0, d, buf, sizeof(buf), &len);
    buf[2] = 0;
    buf[3] = 200;
    receive(x, 1, 3, buf, len);
    buf[3] = 3;
    receive(x, 1, 77, buf, len);
    assert_int_equal(fx_stats(x, 1).dropped_malformed, s0.dropped_malformed + 3);
    assert_int_equal(x->nodes[1].committed, 0);
    fx_free(x);
}

static void garbage_and_truncated_messages_never_crash_and_are_counted(void **state)
{
    (void)state;
    uint8_t d[PBFT_DIGEST_SIZE], buf[4096];
    size_t len;
    struct fx *x = started(d);
    struct fx_key k0 = { .self = 0 };
    struct pbft_crypto c0 = { .ctx = &k0, .sign = fx_sign, .verify = fx_verify };
    uint64_t rng = 12345;

    assert_int_equal(pbft_msg_preprepare_encode(&c0, 0, 1, 0, d, (const uint8_t *)"payload", 7, buf,
                                                sizeof(buf), &len),
                     0);
    /* every truncation of a valid message, and random byte flips */
    for (size_t cut = 0; cut < len; cut++) {
        receive(x, 2, 0, buf, cut);
    }
    for (int i = 0; i < 2000; i++) {
        uint8_t m[128];
        size_t ml = (size_t)(rng % sizeof(m));
        for (size_t k = 0; k < ml; k++) {
            rng = fx_mix(rng, k);
            m[k] = (uint8_t)rng;
        }
        if (ml > 2) {
            m[0] = 1;
            m[1] = (uint8_t)(1 + rng % 6);
        }
        receive(x, 2, 0, m, ml);
    }
    receive(x, 2, 0, NULL, 0);
    assert_true(fx_stats(x, 2).dropped_malformed >= len);
    assert_int_equal(x->nodes[2].last_err, 0);
    /* the replica still works: commits flow again and it commits block 1 */
    x->drop_kind = 0;
    fx_run(x, x->now + 1000, 100);
    assert_int_equal(x->nodes[2].committed, 1);
    fx_free(x);
}

static void a_pre_prepare_from_a_backup_is_refused(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    uint8_t d[PBFT_DIGEST_SIZE], buf[512];
    size_t len;
    x->auto_until = 0;
    fx_start_all(x);
    struct fx_key k2 = { .self = 2 };
    struct pbft_crypto c2 = { .ctx = &k2, .sign = fx_sign, .verify = fx_verify };
    fx_digest((const uint8_t *)"x", 1, d);
    pbft_msg_preprepare_encode(&c2, 2, 1, 0, d, (const uint8_t *)"x", 1, buf, sizeof(buf), &len);
    receive(x, 1, 2, buf, len);
    assert_int_equal(x->nodes[1].validations, 0);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 0);
    fx_free(x);
}

static void a_snapshot_is_decoded_strictly(void **state)
{
    (void)state;
    uint8_t d[PBFT_DIGEST_SIZE];
    struct fx *x = started(d);
    struct fx_node *nd = &x->nodes[1];
    size_t len = nd->disk_len;
    uint8_t *good = malloc(len + 1);
    memcpy(good, nd->disk, len);
    struct pbft_config cfg = x->base;
    cfg.self = 1;
    cfg.crypto.ctx = &nd->key;

    for (size_t cut = 0; cut <= len + 1; cut++) {
        struct pbft *r;
        struct pbft_update up;
        struct pbft_event ev = { .type = PBFT_EV_START, .now = x->now };
        assert_int_equal(pbft_new(&cfg, &r), 0);
        good[len] = 0;
        ev.start.snapshot = good;
        ev.start.snapshot_len = cut;
        int rv = pbft_step(r, &ev, &up);
        if (cut == 0 || cut == len) {
            assert_int_equal(rv, 0); /* empty = fresh; whole = fine */
        } else {
            assert_int_equal(rv, PBFT_ERR_SNAPSHOT); /* truncated, or one trailing byte */
            assert_true(strlen(pbft_errmsg(r)) > 0);
        }
        pbft_free(r);
    }
    /* a snapshot of replica 1 is refused by replica 2 */
    struct pbft *r;
    struct pbft_update up;
    struct pbft_event ev = { .type = PBFT_EV_START, .now = x->now };
    cfg.self = 2;
    assert_int_equal(pbft_new(&cfg, &r), 0);
    ev.start.snapshot = good;
    ev.start.snapshot_len = len;
    assert_int_equal(pbft_step(r, &ev, &up), PBFT_ERR_SNAPSHOT);
    pbft_free(r);
    free(good);
    fx_free(x);
}

static void events_out_of_order_are_refused(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    struct pbft *r;
    struct pbft_update up;
    struct pbft_config cfg = x->base;
    struct fx_key k = { .self = 0 };
    cfg.crypto.ctx = &k;
    assert_int_equal(pbft_new(&cfg, &r), 0);
    struct pbft_event ev = { .type = PBFT_EV_TIMEOUT, .now = 5 };
    assert_int_equal(pbft_step(r, &ev, &up), PBFT_ERR_STATE);
    ev.type = PBFT_EV_START;
    assert_int_equal(pbft_step(r, &ev, &up), 0);
    assert_int_equal(pbft_step(r, &ev, &up), PBFT_ERR_STATE);
    ev.type = (enum pbft_event_type)99;
    assert_int_equal(pbft_step(r, &ev, &up), PBFT_ERR_EVENT);
    pbft_free(r);
    pbft_free(NULL);
    /* bad configurations */
    cfg.n = 0;
    assert_int_equal(pbft_new(&cfg, &r), PBFT_ERR_CONFIG);
    cfg.n = PBFT_MAX_N + 1;
    assert_int_equal(pbft_new(&cfg, &r), PBFT_ERR_CONFIG);
    cfg.n = 4;
    cfg.self = 4;
    assert_int_equal(pbft_new(&cfg, &r), PBFT_ERR_CONFIG);
    assert_string_equal(pbft_strerror(PBFT_ERR_SNAPSHOT), "malformed or foreign snapshot");
    assert_string_equal(pbft_strerror(-1), "unknown error");
    fx_free(x);
}

static void a_certificate_needs_a_quorum_of_distinct_valid_commits(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    fx_start_all(x);
    fx_deliver(x, 100000);
    struct pbft_cert c = x->nodes[0].last_cert;
    assert_int_equal(pbft_cert_verify(&x->base.crypto, 4, &c), 0);
    struct pbft_cert bad = c;
    bad.count = 2;
    assert_int_equal(pbft_cert_verify(&x->base.crypto, 4, &bad), PBFT_ERR_BAD_CERT);
    bad = c;
    bad.signers[1] = bad.signers[0];
    assert_int_equal(pbft_cert_verify(&x->base.crypto, 4, &bad), PBFT_ERR_BAD_CERT);
    bad = c;
    bad.view++;
    assert_int_equal(pbft_cert_verify(&x->base.crypto, 4, &bad), PBFT_ERR_BAD_CERT);
    bad = c;
    bad.sigs[0][5] ^= 1;
    assert_int_equal(pbft_cert_verify(&x->base.crypto, 4, &bad), PBFT_ERR_BAD_CERT);
    fx_free(x);
}

static void one_faulty_vote_does_not_start_the_progress_timer_of_an_idle_chain(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    uint8_t d[PBFT_DIGEST_SIZE], buf[512];
    size_t len;
    x->auto_until = 0;
    fx_start_all(x);
    memset(d, 7, sizeof(d));
    struct fx_key k3 = { .self = 3 }, k2 = { .self = 2 };
    struct pbft_crypto c3 = { .ctx = &k3, .sign = fx_sign, .verify = fx_verify };
    struct pbft_crypto c2 = { .ctx = &k2, .sign = fx_sign, .verify = fx_verify };
    pbft_msg_vote_encode(&c3, PBFT_MSG_PREPARE, 3, 1, 0, d, buf, sizeof(buf), &len);
    receive(x, 1, 3, buf, len);
    assert_int_equal(x->nodes[1].deadline, 0);
    /* f+1 = 2 replicas voting in our view: a correct one saw a proposal */
    pbft_msg_vote_encode(&c2, PBFT_MSG_PREPARE, 2, 1, 0, d, buf, sizeof(buf), &len);
    receive(x, 1, 2, buf, len);
    assert_true(x->nodes[1].deadline > x->now);
    fx_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duplicate_votes_are_ignored),
        cmocka_unit_test(votes_outside_the_height_and_view_window_are_dropped),
        cmocka_unit_test(votes_with_a_bad_signature_or_a_forged_sender_are_dropped),
        cmocka_unit_test(garbage_and_truncated_messages_never_crash_and_are_counted),
        cmocka_unit_test(a_pre_prepare_from_a_backup_is_refused),
        cmocka_unit_test(a_snapshot_is_decoded_strictly),
        cmocka_unit_test(events_out_of_order_are_refused),
        cmocka_unit_test(a_certificate_needs_a_quorum_of_distinct_valid_commits),
        cmocka_unit_test(one_faulty_vote_does_not_start_the_progress_timer_of_an_idle_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
