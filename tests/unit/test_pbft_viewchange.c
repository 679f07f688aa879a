/* Unit tests of the PBFT core's view change, restart and catch-up, driven by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/unit/test_pbft_fixture.h"

/* Runs the normal case of height 1 until every replica prepared, without any COMMIT arriving. */
static struct fx *prepared_but_not_committed_with(unsigned n, bool block_ok)
{
    struct fx *x = fx_new(n);
    if (!block_ok) {
        x->base.crypto.block_ok = NULL;
    }
    x->auto_until = 1;
    x->drop_kind = PBFT_MSG_COMMIT;
    fx_start_all(x);
    fx_deliver(x, 100000);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(x->nodes[i].committed, 0);
        assert_int_equal(x->sent[i][PBFT_MSG_COMMIT], 1);
    }
    return x; /* COMMITs still dropped: the caller decides when they flow again */
}

static struct fx *prepared_but_not_committed(unsigned n)
{
    return prepared_but_not_committed_with(n, true);
}

/* Runs until replicas 1..3 left view 0, then lets COMMITs flow again. */
static void change_view_without_commits(struct fx *x)
{
    fx_run(x, x->now + 3000, 100);
    for (unsigned i = 1; i < 4; i++) {
        assert_true(fx_stats(x, i).view >= 1);
        assert_int_equal(x->nodes[i].committed, 0);
    }
    x->drop_kind = 0;
}

static void the_prepared_block_survives_a_primary_crash_and_view_change(void **state)
{
    (void)state;
    struct fx *x = prepared_but_not_committed(4);
    uint8_t d[PBFT_DIGEST_SIZE];
    memcpy(d, x->nodes[1].validate_digest, PBFT_DIGEST_SIZE);
    fx_crash(x, 0);
    /* the backups' progress timers expire; q = 3 VIEW-CHANGEs reach primary 1 */
    change_view_without_commits(x);
    fx_run(x, x->now + 10000, 100);
    for (unsigned i = 1; i < 4; i++) {
        struct pbft_stats s = fx_stats(x, i);
        assert_int_equal(s.view, 1);
        assert_int_equal(s.status, PBFT_STATUS_NORMAL);
        assert_int_equal(x->nodes[i].committed, 1);
        assert_memory_equal(x->nodes[i].chain[1], d, PBFT_DIGEST_SIZE);
        assert_int_equal(x->nodes[i].last_cert.view, 1);
    }
    assert_int_equal(x->sent[1][PBFT_MSG_NEWVIEW] > 0, 1);
    /* the re-proposal was flagged so callers skip the clock check */
    assert_true(x->nodes[2].validate_reproposal || x->nodes[2].validations == 1);
    fx_free(x);
}

static void after_a_view_change_the_new_primary_proposes_fresh_blocks(void **state)
{
    (void)state;
    struct fx *x = prepared_but_not_committed(4);
    fx_crash(x, 0);
    x->auto_until = 5;
    change_view_without_commits(x);
    fx_run(x, x->now + 10000, 100);
    for (unsigned i = 1; i < 4; i++) {
        assert_int_equal(x->nodes[i].committed, 5);
        for (uint64_t h = 1; h <= 5; h++) {
            assert_memory_equal(x->nodes[i].chain[h], x->nodes[1].chain[h], PBFT_DIGEST_SIZE);
        }
    }
    /* the crashed replica comes back, learns it is behind, syncs and follows */
    fx_boot(x, 0);
    x->auto_until = 6;
    struct pbft_event ev = { .type = PBFT_EV_REQUEST_OVERDUE, .now = x->now };
    (void)ev;
    fx_run(x, x->now + 3000, 100);
    fx_free(x);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* A VIEW-CHANGE at height 1 (nothing committed, nothing prepared), by the wire format of codec.c.
 */
static size_t craft_vc(unsigned signer, uint64_t view, uint8_t out[256])
{
    uint8_t sp[PBFT_SIG_PAYLOAD_MAX] = { 0 };
    size_t o = 0;
    put64(sp, 1);
    put64(sp + 8, view);
    memset(out, 0, 256);
    out[o++] = 1;
    out[o++] = PBFT_MSG_VIEWCHANGE;
    out[o++] = 0;
    out[o++] = (uint8_t)signer;
    put64(out + o, 1);
    o += 8;
    put64(out + o, view);
    o += 8;
    o += 8 + PBFT_DIGEST_SIZE + 2 + 1 + 4; /* cert view, digest, 0 sigs, not prepared, no payload */
    fx_sigcalc(signer, PBFT_SIG_VIEWCHANGE, sp, sizeof(sp), out + o);
    return o + PBFT_SIG_SIZE;
}

/* A VIEW-CHANGE at height 1 carrying a prepared certificate (PREPAREs of 0, 1, 2) and a block. */
static size_t craft_vc_prepared(unsigned signer, uint64_t view, const uint8_t d[PBFT_DIGEST_SIZE],
                                const uint8_t *blk, size_t blen, uint8_t out[1024])
{
    uint8_t sp[PBFT_SIG_PAYLOAD_MAX] = { 0 }, vp[PBFT_VOTE_PAYLOAD_SIZE];
    size_t o = 0;
    put64(sp, 1);
    put64(sp + 8, view);
    sp[56] = 1;
    memcpy(sp + 65, d, PBFT_DIGEST_SIZE); /* prepared view 0 at sp+57 */
    memset(out, 0, 1024);
    out[o++] = 1;
    out[o++] = PBFT_MSG_VIEWCHANGE;
    out[o++] = 0;
    out[o++] = (uint8_t)signer;
    put64(out + o, 1);
    o += 8;
    put64(out + o, view);
    o += 8;
    o += 8 + PBFT_DIGEST_SIZE + 2; /* no commit certificate at height 1 */
    out[o++] = 1;
    o += 8; /* prepared in view 0 */
    memcpy(out + o, d, PBFT_DIGEST_SIZE);
    o += PBFT_DIGEST_SIZE;
    out[o++] = 0;
    out[o++] = 3;
    pbft_vote_payload(1, 0, d, vp);
    for (unsigned i = 0; i < 3; i++) {
        out[o++] = 0;
        out[o++] = (uint8_t)i;
        fx_sigcalc(i, PBFT_SIG_PREPARE, vp, sizeof(vp), out + o);
        o += PBFT_SIG_SIZE;
    }
    out[o++] = 0;
    out[o++] = 0;
    out[o++] = 0;
    out[o++] = (uint8_t)blen;
    memcpy(out + o, blk, blen);
    o += blen;
    fx_sigcalc(signer, PBFT_SIG_VIEWCHANGE, sp, sizeof(sp), out + o);
    return o + PBFT_SIG_SIZE;
}

static void a_view_change_whose_block_does_not_match_its_prepared_digest_is_dropped(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    uint8_t vc[1024], d[PBFT_DIGEST_SIZE];
    x->auto_until = 0;
    fx_start_all(x);
    fx_digest((const uint8_t *)"good", 4, d);
    struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
    ev.receive.from = 3;
    ev.receive.bytes = vc;
    /* the wrong block for d: dropped by the primary of view 1 */
    ev.receive.len = craft_vc_prepared(3, 1, d, (const uint8_t *)"evil", 4, vc);
    uint64_t before = fx_stats(x, 1).dropped_malformed;
    fx_step(x, 1, &ev);
    assert_int_equal(fx_stats(x, 1).dropped_malformed, before + 1);
    /* the right block: kept (a later duplicate counts as one) */
    ev.receive.len = craft_vc_prepared(3, 1, d, (const uint8_t *)"good", 4, vc);
    fx_step(x, 1, &ev);
    assert_int_equal(fx_stats(x, 1).dropped_malformed, before + 1);
    uint64_t dup = fx_stats(x, 1).dropped_duplicate;
    fx_step(x, 1, &ev);
    assert_int_equal(fx_stats(x, 1).dropped_duplicate, dup + 1);
    fx_free(x);
}

static void a_new_view_that_drops_the_prepared_block_is_rejected(void **state)
{
    (void)state;
    /* without block_ok: the replicas' own recomputation of the choice must catch it */
    struct fx *x = prepared_but_not_committed_with(4, false);
    fx_crash(x, 0);
    x->cut[1][2] = x->cut[1][3] = true; /* keep 2 and 3 in VIEW_CHANGE (COMMITs still dropped) */
    uint8_t *nv = NULL;
    size_t nvlen = 0;
    for (int k = 0; k < 60 && nv == NULL; k++) {
        for (size_t i = 0; i < x->nmsgs; i++) {
            if (x->msgs[i].kind == PBFT_MSG_NEWVIEW && nv == NULL) {
                nvlen = x->msgs[i].len;
                nv = malloc(nvlen);
                memcpy(nv, x->msgs[i].bytes, nvlen);
            }
        }
        fx_deliver(x, 100000);
        fx_tick(x, x->now + 100);
    }
    assert_non_null(nv);
    assert_int_equal(fx_stats(x, 2).status, PBFT_STATUS_VIEW_CHANGE);
    assert_int_equal(nv[20], 1); /* it re-proposes the prepared block */
    /* a faulty primary 1 re-signs it as "nothing to re-propose" (payload cut off) */
    uint8_t zero[PBFT_DIGEST_SIZE] = { 0 }, sp[49];
    uint64_t base = 0, view = 0;
    for (int i = 0; i < 8; i++) {
        base = base << 8 | nv[4 + i];
        view = view << 8 | nv[12 + i];
    }
    pbft_vote_payload(base, view, zero, sp);
    sp[48] = 0;
    nv[20] = 0;
    memset(nv + 21, 0, PBFT_DIGEST_SIZE);
    fx_sigcalc(1, PBFT_SIG_NEWVIEW, sp, sizeof(sp), nv + 21 + PBFT_DIGEST_SIZE);
    /* find the payload length field: it precedes the payload, which ends the message */
    size_t cut = 0;
    for (size_t off = nvlen; off >= 4 && cut == 0; off--) {
        size_t l = (size_t)nv[off - 4] << 24 | (size_t)nv[off - 3] << 16 |
                   (size_t)nv[off - 2] << 8 | nv[off - 1];
        if (off + l == nvlen && l > 0) {
            cut = off - 4;
        }
    }
    assert_true(cut > 0);
    memset(nv + cut, 0, 4);
    nvlen = cut + 4;
    uint64_t before = fx_stats(x, 2).dropped_malformed;
    struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
    ev.receive.from = 1;
    ev.receive.bytes = nv;
    ev.receive.len = nvlen;
    fx_step(x, 2, &ev);
    assert_int_equal(fx_stats(x, 2).dropped_malformed, before + 1);
    assert_int_equal(fx_stats(x, 2).status, PBFT_STATUS_VIEW_CHANGE);
    free(nv);
    fx_free(x);
}

static void one_replica_asking_for_a_huge_view_moves_nobody_but_f_plus_one_do(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    uint8_t vc[256];
    x->auto_until = 0;
    fx_start_all(x);
    size_t len = craft_vc(3, 1000000000ull, vc);
    for (unsigned to = 0; to < 3; to++) {
        struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
        ev.receive.from = 3;
        ev.receive.bytes = vc;
        ev.receive.len = len;
        fx_step(x, to, &ev);
        fx_step(x, to, &ev); /* a duplicate changes nothing either */
        assert_int_equal(fx_stats(x, to).view, 0);
        assert_int_equal(fx_stats(x, to).status, PBFT_STATUS_NORMAL);
        assert_int_equal(fx_stats(x, to).dropped_duplicate, 1);
    }
    /*
     * a second replica asking for view 10^9 makes f+1 = 2: 0 and 1 join the smallest, 10^9
     * (0 is its primary and holds q = 3 VIEW-CHANGEs with its own: it sends the NEW-VIEW)
     */
    len = craft_vc(2, 1000000000ull, vc);
    for (unsigned to = 0; to < 2; to++) {
        struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
        ev.receive.from = 2;
        ev.receive.bytes = vc;
        ev.receive.len = len;
        fx_step(x, to, &ev);
        assert_int_equal(fx_stats(x, to).view, 1000000000ull);
        assert_int_equal(fx_stats(x, to).status,
                         to == 0 ? PBFT_STATUS_NORMAL : PBFT_STATUS_VIEW_CHANGE);
    }
    fx_free(x);
}

static void replicas_changing_to_v1_move_on_when_a_third_has_already_left_for_v2(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    uint8_t vc[256];
    x->auto_until = 0;
    fx_start_all(x);
    fx_crash(x, 0);
    fx_crash(x, 3);
    x->now += 10000;
    for (unsigned i = 1; i <= 2; i++) {
        struct pbft_event ev = { .type = PBFT_EV_REQUEST_OVERDUE, .now = x->now };
        fx_step(x, i, &ev);
        assert_int_equal(fx_stats(x, i).view, 1);
    }
    fx_deliver(x, 100000);
    /* 3 is already in view 2: its VIEW-CHANGE counts as leaving view 1 too */
    size_t len = craft_vc(3, 2, vc);
    for (unsigned to = 1; to <= 2; to++) {
        struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
        ev.receive.from = 3;
        ev.receive.bytes = vc;
        ev.receive.len = len;
        fx_step(x, to, &ev);
    }
    fx_run(x, x->now + 10000, 100);
    for (unsigned i = 1; i <= 2; i++) {
        assert_int_equal(fx_stats(x, i).view, 2);
    }
    fx_free(x);
}

static void
a_replica_behind_at_the_new_view_refuses_a_fresh_block_for_the_re_proposed_height(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->auto_until = 1;
    for (unsigned i = 0; i < 3; i++) {
        x->cut[i][3] = x->cut[3][i] = true;
    }
    x->drop_kind = PBFT_MSG_COMMIT;
    fx_start_all(x);
    /* block 1 commits at 0, 1, 2 only (COMMITs let through once) */
    fx_deliver(x, 100000);
    x->drop_kind = 0;
    fx_tick(x, x->now + 600);
    fx_deliver(x, 100000);
    x->drop_kind = PBFT_MSG_COMMIT;
    /* block 2 is proposed and prepared by 0, 1, 2, but no COMMIT arrives */
    char blk[64];
    size_t blen;
    fx_build(2, 0, 0, 0, blk, sizeof(blk), &blen);
    struct pbft_event pev = { .type = PBFT_EV_PROPOSAL, .now = x->now };
    pev.proposal.height = 2;
    fx_digest((const uint8_t *)blk, blen, pev.proposal.digest);
    pev.proposal.payload = (const uint8_t *)blk;
    pev.proposal.payload_len = blen;
    fx_step(x, 0, &pev);
    fx_run(x, x->now + 1000, 100);
    assert_int_equal(x->nodes[1].committed, 1);
    assert_int_equal(x->nodes[3].committed, 0);
    uint8_t d2[PBFT_DIGEST_SIZE];
    memcpy(d2, x->nodes[1].validate_digest, PBFT_DIGEST_SIZE);
    /* 0 crashes, 3 is back: the view change re-proposes block 2; 3 learns it is behind */
    fx_crash(x, 0);
    memset(x->cut, 0, sizeof(x->cut));
    fx_run(x, x->now + 2200, 100);
    uint64_t v = fx_stats(x, 3).view;
    unsigned p = (unsigned)(v % 4);
    assert_int_equal(v, 1);
    assert_int_equal(fx_stats(x, 3).status, PBFT_STATUS_NORMAL);
    assert_true(x->nodes[3].behind);
    /* 3 syncs block 1 */
    memcpy(x->nodes[3].chain, x->nodes[1].chain, sizeof(x->nodes[1].chain));
    x->nodes[3].committed = 1;
    struct pbft_cert c1 = x->nodes[2].last_cert;
    if (c1.height != 1) {
        /* 1 and 2 may have committed block 2 meanwhile: only block 1 is needed here */
        c1 = x->nodes[3].last_cert;
    }
    fx_drop_queue(x);
    x->nodes[3].last_cert = c1;
    unsigned before = x->nodes[3].validations;
    /* the new primary 1 now offers 3 a fresh block for height 2: refused */
    struct fx_key k1 = { .self = p };
    struct pbft_crypto c = { .ctx = &k1, .sign = fx_sign, .verify = fx_verify };
    uint8_t de[PBFT_DIGEST_SIZE], buf[512];
    size_t len;
    fx_digest((const uint8_t *)"E", 1, de);
    pbft_msg_preprepare_encode(&c, p, 2, v, de, (const uint8_t *)"E", 1, buf, sizeof(buf), &len);
    if (c1.height == 1) {
        struct pbft_event ev = { .type = PBFT_EV_SYNCED, .now = x->now };
        ev.synced.cert = &x->nodes[3].last_cert;
        fx_step(x, 3, &ev);
        assert_int_equal(fx_stats(x, 3).height, 2);
        /* it takes up the NEW-VIEW's re-proposal of block 2 (kept while it was behind) */
        assert_int_equal(x->nodes[3].validations, before + 1);
        before = x->nodes[3].validations;
        ev = (struct pbft_event){ .type = PBFT_EV_RECEIVE, .now = x->now };
        ev.receive.from = p;
        ev.receive.bytes = buf;
        ev.receive.len = len;
        fx_step(x, 3, &ev);
        assert_int_equal(x->nodes[3].validations, before);
        /* every PREPARE it sent is for the re-proposed block, none for the fresh one */
        struct fx_key k3 = { .self = 3 };
        struct pbft_crypto c3 = { .ctx = &k3, .sign = fx_sign, .verify = fx_verify };
        uint8_t want[512];
        size_t wl;
        pbft_msg_vote_encode(&c3, PBFT_MSG_PREPARE, 3, 2, v, d2, want, sizeof(want), &wl);
        for (size_t i = 0; i < x->nmsgs; i++) {
            if (x->msgs[i].from == 3 && x->msgs[i].kind == PBFT_MSG_PREPARE) {
                assert_int_equal(x->msgs[i].len, wl);
                assert_memory_equal(x->msgs[i].bytes, want, wl);
            }
        }
    }
    fx_free(x);
}

static void
a_restarted_replica_never_prepares_a_second_block_for_the_same_view_and_height(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->auto_until = 0; /* the primary's block is crafted below */
    x->drop_kind = PBFT_MSG_COMMIT;
    fx_start_all(x);
    struct fx_key k0 = { .self = 0 };
    struct pbft_crypto c0 = { .ctx = &k0, .sign = fx_sign, .verify = fx_verify };
    uint8_t buf[512];
    size_t len;
    const char *a = "block A", *b = "block B";
    uint8_t da[PBFT_DIGEST_SIZE], db[PBFT_DIGEST_SIZE];
    fx_digest((const uint8_t *)a, strlen(a), da);
    fx_digest((const uint8_t *)b, strlen(b), db);

    /* an equivocating primary sends A to replica 1 */
    assert_int_equal(pbft_msg_preprepare_encode(&c0, 0, 1, 0, da, (const uint8_t *)a, strlen(a),
                                                buf, sizeof(buf), &len),
                     0);
    struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
    ev.receive.from = 0;
    ev.receive.bytes = buf;
    ev.receive.len = len;
    fx_step(x, 1, &ev);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 1);
    unsigned signs = x->nodes[1].key.signs;

    /* replica 1 crashes and restarts from its snapshot; then B arrives for the same slot */
    fx_crash(x, 1);
    fx_boot(x, 1);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 2); /* the same PREPARE, re-sent */
    assert_int_equal(x->nodes[1].key.signs, signs);    /* ... not re-signed */
    assert_int_equal(pbft_msg_preprepare_encode(&c0, 0, 1, 0, db, (const uint8_t *)b, strlen(b),
                                                buf, sizeof(buf), &len),
                     0);
    ev.receive.len = len;
    fx_step(x, 1, &ev);
    assert_int_equal(x->sent[1][PBFT_MSG_PREPARE], 2);
    assert_int_equal(x->nodes[1].key.signs, signs);
    assert_true(fx_stats(x, 1).dropped_duplicate >= 1);

    /* every PREPARE replica 1 ever sent is for A */
    for (size_t i = 0; i < x->nmsgs; i++) {
        if (x->msgs[i].from == 1 && x->msgs[i].kind == PBFT_MSG_PREPARE) {
            uint8_t want[512];
            size_t wl;
            struct fx_key k1 = { .self = 1 };
            struct pbft_crypto c1 = { .ctx = &k1, .sign = fx_sign, .verify = fx_verify };
            pbft_msg_vote_encode(&c1, PBFT_MSG_PREPARE, 1, 1, 0, da, want, sizeof(want), &wl);
            assert_int_equal(x->msgs[i].len, wl);
            assert_memory_equal(x->msgs[i].bytes, want, wl);
        }
    }
    fx_free(x);
}

static void a_block_committed_before_everyone_crashed_survives_the_restart(void **state)
{
    (void)state;
    struct fx *x = prepared_but_not_committed(4);
    uint8_t d[PBFT_DIGEST_SIZE];
    memcpy(d, x->nodes[1].validate_digest, PBFT_DIGEST_SIZE);
    /* the COMMITs reach replica 3 only: it commits; then all four crash at once */
    x->drop_kind = 0;
    for (unsigned i = 0; i < 4; i++) {
        for (unsigned j = 0; j < 3; j++) {
            x->cut[i][j] = true;
        }
    }
    fx_drop_queue(x);
    for (unsigned i = 0; i < 3; i++) {
        /* resend timers bring the COMMITs again, only 3 hears them */
        fx_tick(x, x->now + 600);
    }
    fx_deliver(x, 100000);
    assert_int_equal(x->nodes[3].committed, 1);
    assert_int_equal(x->nodes[0].committed, 0);
    for (unsigned i = 0; i < 4; i++) {
        fx_crash(x, i);
    }
    fx_drop_queue(x);
    memset(x->cut, 0, sizeof(x->cut));
    /* 3 stays down; 0, 1, 2 restart with a primary whose proposals would differ */
    x->nodes[0].salt = 99;
    x->nodes[1].salt = 98;
    x->auto_until = 3;
    for (unsigned i = 0; i < 3; i++) {
        fx_boot(x, i);
    }
    fx_run(x, x->now + 20000, 100);
    for (unsigned i = 0; i < 3; i++) {
        assert_true(x->nodes[i].committed >= 1);
        assert_memory_equal(x->nodes[i].chain[1], d, PBFT_DIGEST_SIZE);
    }
    fx_free(x);
}

static void an_overdue_request_replaces_a_primary_that_proposes_nothing(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->nodes[0].auto_propose = false; /* the primary stays silent */
    x->auto_until = 2;
    fx_start_all(x);
    fx_deliver(x, 100000);
    assert_int_equal(x->nodes[1].deadline, 0); /* idle: no timer */
    /* too early: the view is younger than the request timeout */
    for (unsigned i = 1; i < 4; i++) {
        struct pbft_event ev = { .type = PBFT_EV_REQUEST_OVERDUE, .now = x->now + 10 };
        fx_step(x, i, &ev);
        assert_int_equal(fx_stats(x, i).status, PBFT_STATUS_NORMAL);
        assert_true(x->nodes[i].deadline != 0);
    }
    fx_run(x, x->now + 10000, 100);
    for (unsigned i = 1; i < 4; i++) {
        assert_true(fx_stats(x, i).view >= 1);
        assert_int_equal(x->nodes[i].committed, 2);
    }
    fx_free(x);
}

static void a_replica_cut_off_learns_it_is_behind_and_syncs(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->auto_until = 3;
    for (unsigned i = 0; i < 4; i++) {
        x->cut[i][3] = x->cut[3][i] = true;
    }
    fx_start_all(x);
    fx_run(x, x->now + 1000, 100);
    assert_int_equal(x->nodes[0].committed, 3);
    assert_int_equal(x->nodes[3].committed, 0);
    memset(x->cut, 0, sizeof(x->cut));
    /* the primary proposes block 4: f+1 replicas signing for height 4 show 3 it is behind */
    char blk[64];
    size_t blen;
    fx_build(4, 0, 0, 0, blk, sizeof(blk), &blen);
    struct pbft_event ev = { .type = PBFT_EV_PROPOSAL, .now = x->now };
    ev.proposal.height = 4;
    fx_digest((const uint8_t *)blk, blen, ev.proposal.digest);
    ev.proposal.payload = (const uint8_t *)blk;
    ev.proposal.payload_len = blen;
    fx_step(x, 0, &ev);
    fx_run(x, x->now + 2000, 100);
    assert_true(x->nodes[3].behind);
    assert_true(x->nodes[3].behind_height >= 3);
    /* the node syncs by copying 0's chain, then reports SYNCED */
    struct fx_node *n3 = &x->nodes[3], *n0 = &x->nodes[0];
    memcpy(n3->chain, n0->chain, sizeof(n0->chain));
    n3->committed = n0->committed;
    n3->last_cert = n0->last_cert;
    ev = (struct pbft_event){ .type = PBFT_EV_SYNCED, .now = x->now };
    ev.synced.cert = &n3->last_cert;
    fx_step(x, 3, &ev);
    assert_int_equal(fx_stats(x, 3).height, n0->committed + 1);
    fx_free(x);
}

/* Makes node i's pending snapshot durable (its disk) and tells its core (auto_persist off). */
static void persist_now(struct fx *x, unsigned i)
{
    struct fx_node *nd = &x->nodes[i];
    assert_non_null(nd->pending);
    free(nd->disk);
    nd->disk = nd->pending;
    nd->disk_len = nd->pending_len;
    nd->pending = NULL;
    struct pbft_event ev = { .type = PBFT_EV_PERSISTED, .now = x->now };
    ev.persisted.seq = nd->pending_seq;
    fx_step(x, i, &ev);
}

static void receive_at(struct fx *x, unsigned to, unsigned from, const uint8_t *b, size_t len)
{
    struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
    ev.receive.from = from;
    ev.receive.bytes = b;
    ev.receive.len = len;
    fx_step(x, to, &ev);
}

/*
 * Replica 1, primary of view 1, hears VIEW-CHANGEs for view 1 from 2 and 3 (f+1: it joins),
 * its own VIEW-CHANGE becomes durable, and with q of them it builds its NEW-VIEW: that one
 * waits for the snapshot of view 1, which its caller has not made durable yet.
 */
static struct fx *new_view_built_but_not_durable(void)
{
    struct fx *x = fx_new(4);
    uint8_t vc[256];
    x->auto_until = 0;
    x->nodes[1].auto_persist = false;
    fx_start_all(x);
    if (x->nodes[1].pending != NULL) {
        persist_now(x, 1);
    }
    for (unsigned from = 2; from <= 3; from++) {
        size_t len = craft_vc(from, 1, vc);
        receive_at(x, 1, from, vc, len);
    }
    assert_int_equal(fx_stats(x, 1).status, PBFT_STATUS_VIEW_CHANGE);
    persist_now(x, 1); /* its VIEW-CHANGE leaves; the NEW-VIEW is built */
    assert_int_equal(x->sent[1][PBFT_MSG_VIEWCHANGE], 1);
    assert_int_equal(fx_stats(x, 1).view, 1);
    assert_int_equal(fx_stats(x, 1).status, PBFT_STATUS_NORMAL);
    assert_non_null(x->nodes[1].pending); /* view 1 entered, not yet durable */
    assert_int_equal(x->sent[1][PBFT_MSG_NEWVIEW], 0);
    return x;
}

/*
 * DESIGN §3: the new view is persisted before the NEW-VIEW leaves, like a vote. A VIEW-CHANGE
 * arriving for the view just entered asks the primary to re-send its NEW-VIEW; before the
 * snapshot is durable it must not (a crash would let it build and sign a different one, and
 * two backups would then validate different blocks for one view and height). Once durable,
 * the NEW-VIEW leaves, and later requests are answered.
 */
static void a_new_view_is_not_re_sent_before_the_new_view_is_durable(void **state)
{
    (void)state;
    struct fx *x = new_view_built_but_not_durable();
    uint8_t vc[1024], d[PBFT_DIGEST_SIZE];
    fx_digest((const uint8_t *)"good", 4, d);
    size_t len = craft_vc_prepared(0, 1, d, (const uint8_t *)"good", 4, vc);
    receive_at(x, 1, 0, vc, len);
    assert_int_equal(x->sent[1][PBFT_MSG_NEWVIEW], 0);
    persist_now(x, 1);
    assert_int_equal(x->sent[1][PBFT_MSG_NEWVIEW], 1); /* broadcast once durable */
    x->now += 1000;
    receive_at(x, 1, 0, vc, len);
    assert_int_equal(x->sent[1][PBFT_MSG_NEWVIEW], 2); /* and re-sent on request */
    fx_free(x);
}

/*
 * The crash the rule prevents: the primary of view 1 built its NEW-VIEW from the VIEW-CHANGEs
 * of 2 and 3, a third VIEW-CHANGE arrived before the save returned, then it crashed. Restarted
 * from its last durable snapshot (still changing to view 1) it hears 0 (which prepared a block)
 * and 2, and builds a NEW-VIEW that re-proposes that block. At most one NEW-VIEW for view 1 may
 * ever have left it.
 */
static void a_primary_crashing_before_its_new_view_is_durable_never_sent_two(void **state)
{
    (void)state;
    struct fx *x = new_view_built_but_not_durable();
    uint8_t vc[1024], d[PBFT_DIGEST_SIZE];
    fx_digest((const uint8_t *)"good", 4, d);
    size_t len = craft_vc_prepared(0, 1, d, (const uint8_t *)"good", 4, vc);
    receive_at(x, 1, 0, vc, len);
    fx_crash(x, 1);
    fx_boot(x, 1);
    assert_int_equal(fx_stats(x, 1).status, PBFT_STATUS_VIEW_CHANGE);
    persist_now(x, 1);
    receive_at(x, 1, 0, vc, len);
    len = craft_vc(2, 1, vc);
    receive_at(x, 1, 2, vc, len);
    persist_now(x, 1);
    assert_int_equal(fx_stats(x, 1).status, PBFT_STATUS_NORMAL);
    assert_true(x->sent[1][PBFT_MSG_NEWVIEW] >= 1);
    const struct fx_msg *first = NULL;
    for (size_t i = 0; i < x->nmsgs; i++) {
        const struct fx_msg *m = &x->msgs[i];
        if (m->from != 1 || m->kind != PBFT_MSG_NEWVIEW) {
            continue;
        }
        assert_int_equal(m->view, 1);
        if (first == NULL) {
            first = m;
        }
        assert_int_equal(m->len, first->len);
        assert_memory_equal(m->bytes, first->bytes, m->len);
    }
    assert_non_null(first);
    fx_free(x);
}

/*
 * Blocks 1..k commit at 0, 1 and 2 while 3 is cut off; block k+1 is prepared there but no COMMIT
 * arrives. Then 0 crashes and 3 is back: the view change to view 1 re-proposes block k+1, and 3,
 * k heights behind, learns from the NEW-VIEW that it must sync. Returns the re-proposed digest.
 */
static void behind_at_a_re_proposing_new_view(struct fx *x, uint64_t k, uint8_t d[PBFT_DIGEST_SIZE])
{
    x->auto_until = k;
    for (unsigned i = 0; i < 3; i++) {
        x->cut[i][3] = x->cut[3][i] = true;
    }
    fx_start_all(x);
    fx_run(x, x->now + 1000, 100);
    assert_int_equal(x->nodes[1].committed, k);
    assert_int_equal(x->nodes[3].committed, 0);
    x->drop_kind = PBFT_MSG_COMMIT;
    char blk[64];
    size_t blen;
    fx_build(k + 1, 0, 0, 0, blk, sizeof(blk), &blen);
    struct pbft_event pev = { .type = PBFT_EV_PROPOSAL, .now = x->now };
    pev.proposal.height = k + 1;
    fx_digest((const uint8_t *)blk, blen, pev.proposal.digest);
    memcpy(d, pev.proposal.digest, PBFT_DIGEST_SIZE);
    pev.proposal.payload = (const uint8_t *)blk;
    pev.proposal.payload_len = blen;
    fx_step(x, 0, &pev);
    fx_deliver(x, 100000);
    fx_crash(x, 0);
    memset(x->cut, 0, sizeof(x->cut));
    for (int i = 0; i < 60 && !(x->nodes[3].behind && fx_stats(x, 3).view == 1); i++) {
        fx_deliver(x, 100000);
        fx_tick(x, x->now + 100);
    }
    fx_deliver(x, 100000);
    assert_int_equal(fx_stats(x, 3).view, 1);
    assert_int_equal(fx_stats(x, 3).status, PBFT_STATUS_NORMAL);
    assert_true(x->nodes[3].behind);
    assert_int_equal(x->nodes[3].behind_height, k);
    for (unsigned i = 1; i < 3; i++) {
        assert_int_equal(x->nodes[i].committed, k);
    }
}

/*
 * A backup one or two heights behind when the NEW-VIEW re-proposes a prepared block keeps that
 * re-proposal, syncs, and then votes for it in the same view: with the old primary down, the
 * view's quorum needs it, so the block commits in view 1 and no further view change happens.
 */
static void a_backup_behind_at_a_new_view_votes_in_that_view(uint64_t k)
{
    struct fx *x = fx_new(4);
    uint8_t d[PBFT_DIGEST_SIZE];
    behind_at_a_re_proposing_new_view(x, k, d);
    /* 3 syncs blocks 1..k from 1 (the caller's sync path) and reports it */
    struct fx_node *n3 = &x->nodes[3], *n1 = &x->nodes[1];
    memcpy(n3->chain, n1->chain, sizeof(n1->chain));
    n3->committed = n1->committed;
    n3->last_cert = n1->last_cert;
    assert_int_equal(n3->last_cert.height, k);
    struct pbft_event ev = { .type = PBFT_EV_SYNCED, .now = x->now };
    ev.synced.cert = &n3->last_cert;
    fx_step(x, 3, &ev);
    assert_int_equal(fx_stats(x, 3).height, k + 1);
    assert_int_equal(x->sent[3][PBFT_MSG_PREPARE], 1); /* it votes for the re-proposal */
    x->drop_kind = 0;
    fx_run(x, x->now + 1500, 100);
    for (unsigned i = 1; i < 4; i++) {
        assert_int_equal(fx_stats(x, i).view, 1);
        assert_int_equal(x->nodes[i].committed, k + 1);
        assert_memory_equal(x->nodes[i].chain[k + 1], d, PBFT_DIGEST_SIZE);
        assert_int_equal(x->nodes[i].last_cert.view, 1);
    }
    fx_free(x);
}

static void a_backup_one_height_behind_at_a_new_view_votes_in_that_view(void **state)
{
    (void)state;
    a_backup_behind_at_a_new_view_votes_in_that_view(1);
}

static void a_backup_two_heights_behind_at_a_new_view_votes_in_that_view(void **state)
{
    (void)state;
    a_backup_behind_at_a_new_view_votes_in_that_view(2);
}

/* A NEW-VIEW from `sender` for view v at base 1 (nothing re-proposed) over the given VCs. */
static size_t craft_nv(unsigned sender, uint64_t view, const uint8_t *const *vcs,
                       const size_t *vc_lens, unsigned count, uint8_t *out)
{
    uint8_t sp[49], zero[PBFT_DIGEST_SIZE] = { 0 };
    size_t o = 0;
    out[o++] = 1;
    out[o++] = PBFT_MSG_NEWVIEW;
    out[o++] = 0;
    out[o++] = (uint8_t)sender;
    put64(out + o, 1);
    o += 8;
    put64(out + o, view);
    o += 8;
    out[o++] = 0;
    memcpy(out + o, zero, PBFT_DIGEST_SIZE);
    o += PBFT_DIGEST_SIZE;
    pbft_vote_payload(1, view, zero, sp);
    sp[48] = 0;
    fx_sigcalc(sender, PBFT_SIG_NEWVIEW, sp, sizeof(sp), out + o);
    o += PBFT_SIG_SIZE;
    out[o++] = 0;
    out[o++] = (uint8_t)count;
    for (unsigned i = 0; i < count; i++) {
        out[o++] = 0;
        out[o++] = 0;
        out[o++] = (uint8_t)(vc_lens[i] >> 8);
        out[o++] = (uint8_t)vc_lens[i];
        memcpy(out + o, vcs[i], vc_lens[i]);
        o += vc_lens[i];
    }
    memset(out + o, 0, 4); /* no payload */
    return o + 4;
}

/*
 * A faulty replica 3 is primary of views 3, 7, 11, ...: it signs NEW-VIEWs for them with its own
 * valid VIEW-CHANGE and forged ones. Replica 1 checks no signature of a NEW-VIEW for a view it has
 * no reason to enter; for the view it is changing to, it checks a forged NEW-VIEW once, never a
 * VIEW-CHANGE it already holds, and then ignores that primary's NEW-VIEWs for the view.
 */
static void a_flood_of_forged_new_views_costs_a_bounded_number_of_checks(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    uint8_t vc3[256], vc2[256], vc0[256], nv[1024];
    const uint8_t *set[3] = { vc3, vc2, vc0 };
    size_t lens[3];
    x->auto_until = 0;
    fx_start_all(x);
    unsigned before = x->nodes[1].key.verifies;
    for (uint64_t v = 3; v < 3 + 4 * 200; v += 4) {
        lens[0] = craft_vc(3, v, vc3);
        lens[1] = craft_vc(2, v, vc2);
        lens[2] = craft_vc(0, v, vc0);
        vc2[lens[1] - 1] ^= 1; /* forged */
        vc0[lens[2] - 1] ^= 1;
        size_t len = craft_nv(3, v, set, lens, 3, nv);
        receive_at(x, 1, 3, nv, len);
    }
    assert_int_equal(x->nodes[1].key.verifies - before, 0);
    assert_int_equal(fx_stats(x, 1).view, 0);
    /* 2 and 3 ask for view 3: f+1, so 1 changes to view 3 (their VIEW-CHANGEs checked once) */
    lens[0] = craft_vc(3, 3, vc3);
    lens[1] = craft_vc(2, 3, vc2);
    receive_at(x, 1, 3, vc3, lens[0]);
    receive_at(x, 1, 2, vc2, lens[1]);
    assert_int_equal(fx_stats(x, 1).view, 3);
    assert_int_equal(fx_stats(x, 1).status, PBFT_STATUS_VIEW_CHANGE);
    before = x->nodes[1].key.verifies;
    for (unsigned i = 0; i < 200; i++) {
        lens[2] = craft_vc(0, 3, vc0);
        vc0[lens[2] - 1 - (i % 64)] ^= (uint8_t)(1 + i / 64); /* a different forgery each time */
        size_t len = craft_nv(3, 3, set, lens, 3, nv);
        receive_at(x, 1, 3, nv, len);
    }
    /* the first: its own signature and the one VIEW-CHANGE not held; then none */
    assert_true(x->nodes[1].key.verifies - before <= 2);
    assert_int_equal(fx_stats(x, 1).view, 3);
    assert_int_equal(fx_stats(x, 1).status, PBFT_STATUS_VIEW_CHANGE);
    fx_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_prepared_block_survives_a_primary_crash_and_view_change),
        cmocka_unit_test(after_a_view_change_the_new_primary_proposes_fresh_blocks),
        cmocka_unit_test(one_replica_asking_for_a_huge_view_moves_nobody_but_f_plus_one_do),
        cmocka_unit_test(a_new_view_that_drops_the_prepared_block_is_rejected),
        cmocka_unit_test(a_view_change_whose_block_does_not_match_its_prepared_digest_is_dropped),
        cmocka_unit_test(replicas_changing_to_v1_move_on_when_a_third_has_already_left_for_v2),
        cmocka_unit_test(
            a_replica_behind_at_the_new_view_refuses_a_fresh_block_for_the_re_proposed_height),
        cmocka_unit_test(
            a_restarted_replica_never_prepares_a_second_block_for_the_same_view_and_height),
        cmocka_unit_test(a_block_committed_before_everyone_crashed_survives_the_restart),
        cmocka_unit_test(an_overdue_request_replaces_a_primary_that_proposes_nothing),
        cmocka_unit_test(a_replica_cut_off_learns_it_is_behind_and_syncs),
        cmocka_unit_test(a_new_view_is_not_re_sent_before_the_new_view_is_durable),
        cmocka_unit_test(a_primary_crashing_before_its_new_view_is_durable_never_sent_two),
        cmocka_unit_test(a_backup_one_height_behind_at_a_new_view_votes_in_that_view),
        cmocka_unit_test(a_backup_two_heights_behind_at_a_new_view_votes_in_that_view),
        cmocka_unit_test(a_flood_of_forged_new_views_costs_a_bounded_number_of_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
