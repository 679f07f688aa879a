/* Attacks on the core's log window: what it keeps for the 16 heights above the one in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/unit/test_pbft_fixture.h"

/* The replica under attack; 0 is the primary of view 0 (and of view 4, 8, ...). */
#define VICTIM 3

struct blk {
    uint8_t bytes[8192];
    size_t len;
    uint8_t digest[PBFT_DIGEST_SIZE];
};

/* Block text for height h (padded with 'x' to `size` bytes when size is larger). */
static void blk_make(struct blk *b, uint64_t h, uint64_t v, unsigned salt, size_t size)
{
    fx_build(h, v, 0, salt, (char *)b->bytes, sizeof(b->bytes), &b->len);
    if (size > b->len) {
        memset(b->bytes + b->len, 'x', size - b->len);
        b->len = size;
    }
    fx_digest(b->bytes, b->len, b->digest);
}

/* Only the victim runs: the others are booted, but propose nothing and their queue is dropped. */
static struct fx *victim_cluster(size_t max_payload)
{
    struct fx *x = fx_new(4);
    x->auto_until = 0;
    x->base.max_payload = max_payload;
    fx_start_all(x);
    fx_drop_queue(x);
    return x;
}

static void hand(struct fx *x, unsigned link, uint8_t *bytes, size_t len)
{
    struct fx_msg m = { .from = link, .to = VICTIM, .bytes = bytes, .len = len };
    fx_receive(x, &m);
    free(bytes);
    fx_drop_queue(x); /* what the victim sends is not under test */
}

/* A PRE-PREPARE from `sender` signed with `key`'s key, handed to the victim on `sender`'s link. */
static void send_pp_as(struct fx *x, unsigned sender, unsigned key, uint64_t h, uint64_t v,
                       const uint8_t digest[PBFT_DIGEST_SIZE], const struct blk *b)
{
    struct fx_key k = { .self = key };
    struct pbft_crypto c = { .ctx = &k, .sign = fx_sign, .verify = fx_verify };
    size_t cap = pbft_msg_max_size(x->n, b->len), len = 0;
    uint8_t *out = malloc(cap);
    assert_int_equal(
        pbft_msg_preprepare_encode(&c, sender, h, v, digest, b->bytes, b->len, out, cap, &len), 0);
    hand(x, sender, out, len);
}

static void send_pp(struct fx *x, unsigned sender, uint64_t h, uint64_t v, const struct blk *b)
{
    send_pp_as(x, sender, sender, h, v, b->digest, b);
}

/* A COMMIT from `sender` signed with `key`'s key (another key: a forgery), on link `link`. */
static void send_commit_as(struct fx *x, unsigned link, unsigned sender, unsigned key, uint64_t h,
                           uint64_t v, const uint8_t digest[PBFT_DIGEST_SIZE])
{
    struct fx_key k = { .self = key };
    struct pbft_crypto c = { .ctx = &k, .sign = fx_sign, .verify = fx_verify };
    size_t cap = pbft_msg_max_size(x->n, 0), len = 0;
    uint8_t *out = malloc(cap);
    assert_int_equal(
        pbft_msg_vote_encode(&c, PBFT_MSG_COMMIT, sender, h, v, digest, out, cap, &len), 0);
    hand(x, link, out, len);
}

static void send_commit(struct fx *x, unsigned sender, uint64_t h, uint64_t v,
                        const uint8_t digest[PBFT_DIGEST_SIZE])
{
    send_commit_as(x, sender, sender, sender, h, v, digest);
}

/* The caller synced the victim's chain up to height h (block digest, certificate of view v). */
static void sync_to(struct fx *x, uint64_t h, uint64_t v, const uint8_t digest[PBFT_DIGEST_SIZE])
{
    struct fx_node *nd = &x->nodes[VICTIM];
    struct pbft_cert c = { .height = h, .view = v, .count = 3 };
    uint8_t sp[PBFT_VOTE_PAYLOAD_SIZE];
    memcpy(c.digest, digest, PBFT_DIGEST_SIZE);
    pbft_vote_payload(h, v, digest, sp);
    for (unsigned i = 0; i < 3; i++) {
        c.signers[i] = (uint16_t)i;
        fx_sigcalc(i, PBFT_SIG_COMMIT, sp, sizeof(sp), c.sigs[i]);
    }
    for (uint64_t k = nd->committed + 1; k <= h; k++) {
        memset(nd->chain[k], 0xee, PBFT_DIGEST_SIZE); /* blocks the test does not look at */
    }
    memcpy(nd->chain[h], digest, PBFT_DIGEST_SIZE);
    nd->committed = h;
    nd->last_cert = c;
    nd->behind = false;
    struct pbft_event ev = { .type = PBFT_EV_SYNCED, .now = x->now };
    fx_step(x, VICTIM, &ev);
    fx_drop_queue(x);
}

static void sync_to_block(struct fx *x, uint64_t h)
{
    struct blk b;
    blk_make(&b, h, 0, 7, 0);
    sync_to(x, h, 0, b.digest);
}

/* The victim's certificate for its tip is one anybody accepts. */
static void assert_tip_cert_valid(struct fx *x)
{
    struct fx_key k = { .self = VICTIM };
    struct pbft_crypto c = { .ctx = &k, .sign = fx_sign, .verify = fx_verify };
    assert_int_equal(x->nodes[VICTIM].last_cert.height, x->nodes[VICTIM].committed);
    assert_int_equal(pbft_cert_verify(&c, x->n, &x->nodes[VICTIM].last_cert), 0);
}

/*
 * Attacks the memory bound: a faulty primary sends a block of max_payload bytes for every
 * height of the window (and again in a later view of its own, which replaces the first).
 * The victim holds at most 2 x max_payload of them at any time, seen through pbft_stats.
 */
static void a_primary_filling_the_window_with_full_blocks_is_held_to_two_blocks(void **state)
{
    (void)state;
    const size_t max = 4096;
    struct fx *x = victim_cluster(max);
    struct blk b;
    for (uint64_t v = 0; v <= 4; v += 4) {
        for (uint64_t h = 2; h <= 17; h++) {
            blk_make(&b, h, v, 0, max);
            send_pp(x, 0, h, v, &b);
            struct pbft_stats s = fx_stats(x, VICTIM);
            assert_true(s.ahead_bytes <= 2 * max);
            assert_true(s.ahead_preprepares <= 2);
        }
    }
    struct pbft_stats s = fx_stats(x, VICTIM);
    assert_int_equal(s.ahead_bytes, 2 * max); /* two were kept: the window works */
    assert_int_equal(s.ahead_preprepares, 2);
    fx_free(x);
}

/*
 * Attacks the budget and the "higher view replaces" rule: replica 1 is primary only of view
 * 1 (and 5, 9, ...), views nobody is in. Its full blocks for the far heights of the window, and
 * a block of a later view for the next height, must not push out the PRE-PREPARE of the
 * primary of the victim's view, which is the one the victim can use when it gets there.
 */
static void
a_replica_that_is_primary_only_of_a_later_view_cannot_crowd_out_the_primary(void **state)
{
    (void)state;
    const size_t max = 4096;
    struct fx *x = victim_cluster(max);
    struct blk evil, good;
    blk_make(&evil, 16, 1, 66, max);
    send_pp(x, 1, 16, 1, &evil);
    blk_make(&evil, 17, 5, 66, max);
    send_pp(x, 1, 17, 5, &evil);
    assert_int_equal(fx_stats(x, VICTIM).ahead_bytes, 2 * max); /* the budget is spent */
    blk_make(&good, 2, 0, 0, 100);
    send_pp(x, 0, 2, 0, &good);
    blk_make(&evil, 2, 9, 66, 100);
    send_pp(x, 1, 2, 9, &evil); /* primary of view 9 */
    /* At height 2 in view 0 the victim validates the primary's block and nothing else. */
    unsigned before = x->nodes[VICTIM].validations;
    sync_to_block(x, 1);
    assert_int_equal(x->nodes[VICTIM].validations, before + 1);
    assert_memory_equal(x->nodes[VICTIM].validate_digest, good.digest, PBFT_DIGEST_SIZE);
    assert_true(fx_stats(x, VICTIM).ahead_bytes <= 2 * max);
    fx_free(x);
}

/*
 * Attacks the signature-check cost: a COMMIT for a later height replayed many times (by a
 * faulty peer or the network) costs one Ed25519 verification, not one per copy; a higher view
 * from the same sender is new and is checked once, a lower one after it is a replay.
 */
static void replayed_commits_for_a_later_height_cost_one_signature_check(void **state)
{
    (void)state;
    struct fx *x = victim_cluster(0);
    struct blk b;
    blk_make(&b, 3, 0, 0, 0);
    unsigned *verifies = &x->nodes[VICTIM].key.verifies;
    unsigned v0 = *verifies;
    send_commit(x, 1, 3, 0, b.digest);
    assert_int_equal(*verifies, v0 + 1);
    for (int i = 0; i < 50; i++) {
        send_commit(x, 1, 3, 0, b.digest);
    }
    assert_int_equal(*verifies, v0 + 1);
    send_commit(x, 1, 3, 2, b.digest);
    assert_int_equal(*verifies, v0 + 2);
    for (int i = 0; i < 50; i++) {
        send_commit(x, 1, 3, 2, b.digest);
        send_commit(x, 1, 3, 1, b.digest);
        send_commit(x, 1, 3, 0, b.digest);
    }
    assert_int_equal(*verifies, v0 + 2);
    assert_int_equal(fx_stats(x, VICTIM).ahead_commits, 1);
    fx_free(x);
}

/*
 * The same for PRE-PREPAREs: the primary retransmits its block to the replicas whose PREPARE
 * it lacks, so a replica behind gets a later height's PRE-PREPARE again and again; a copy of
 * the one kept (or of a view it would not replace) costs no signature check either.
 */
static void replayed_pre_prepares_for_a_later_height_cost_one_signature_check(void **state)
{
    (void)state;
    struct fx *x = victim_cluster(0);
    struct blk b;
    blk_make(&b, 3, 0, 0, 0);
    unsigned *verifies = &x->nodes[VICTIM].key.verifies;
    unsigned v0 = *verifies;
    send_pp(x, 0, 3, 0, &b);
    assert_int_equal(*verifies, v0 + 1);
    assert_int_equal(fx_stats(x, VICTIM).ahead_preprepares, 1);
    for (int i = 0; i < 50; i++) {
        send_pp(x, 0, 3, 0, &b);
    }
    assert_int_equal(*verifies, v0 + 1);
    fx_free(x);
}

/*
 * Attacks the window's upper edge: COMMITs for the height in flight + 17 are not kept, so once
 * the victim reaches that height they do not count toward a certificate (the same COMMITs 16
 * heights ahead do: the control that the test can tell the two apart).
 */
static void commits_seventeen_heights_ahead_are_not_kept_and_never_count(void **state)
{
    (void)state;
    struct fx *x = victim_cluster(0);
    struct blk b17, b18;
    blk_make(&b17, 17, 0, 0, 0);
    blk_make(&b18, 18, 0, 0, 0);
    for (unsigned i = 0; i < 3; i++) {
        send_commit(x, i, 18, 0, b18.digest);
    }
    assert_int_equal(fx_stats(x, VICTIM).ahead_commits, 0);
    send_pp(x, 0, 17, 0, &b17);
    for (unsigned i = 0; i < 3; i++) {
        send_commit(x, i, 17, 0, b17.digest);
    }
    assert_int_equal(fx_stats(x, VICTIM).ahead_commits, 3);
    sync_to_block(x, 16);
    assert_int_equal(x->nodes[VICTIM].committed, 17); /* on the kept certificate */
    assert_memory_equal(x->nodes[VICTIM].chain[17], b17.digest, PBFT_DIGEST_SIZE);
    /* Height 18 now in flight: the block arrives, but the earlier COMMITs were not kept. */
    send_pp(x, 0, 18, 0, &b18);
    assert_int_equal(x->nodes[VICTIM].committed, 17);
    for (unsigned i = 0; i < 3; i++) {
        send_commit(x, i, 18, 0, b18.digest);
    }
    assert_int_equal(x->nodes[VICTIM].committed, 18);
    assert_tip_cert_valid(x);
    fx_free(x);
}

/*
 * Attacks the signature and sender checks: COMMITs for a later height signed with another
 * replica's key, or naming a sender >= n (on its own link or on another's), are never kept;
 * with one genuine COMMIT they would make a quorum of three, and the victim must not commit.
 */
static void forged_commits_for_a_later_height_are_never_kept_nor_counted(void **state)
{
    (void)state;
    struct fx *x = victim_cluster(0);
    struct blk b;
    blk_make(&b, 2, 0, 0, 0);
    send_pp(x, 0, 2, 0, &b);
    struct pbft_stats s0 = fx_stats(x, VICTIM);
    send_commit(x, 0, 2, 0, b.digest);
    send_commit_as(x, 1, 1, 0, 2, 0, b.digest); /* 1's COMMIT, signed by 0 */
    send_commit_as(x, 2, 2, 3, 2, 0, b.digest); /* 2's COMMIT, signed by 3 */
    send_commit_as(x, 9, 9, 9, 2, 0, b.digest); /* no replica 9 of 4 */
    send_commit_as(x, 1, 9, 9, 2, 0, b.digest); /* ...nor on 1's link */
    send_commit_as(x, 2, 6, 6, 2, 0, b.digest);
    struct pbft_stats s = fx_stats(x, VICTIM);
    assert_int_equal(s.ahead_commits, 1);
    assert_int_equal(s.dropped_bad_sig - s0.dropped_bad_sig, 2);
    assert_int_equal(s.dropped_malformed - s0.dropped_malformed, 3);
    sync_to_block(x, 1);
    assert_int_equal(x->nodes[VICTIM].committed, 1);
    /* The genuine COMMITs of 1 and 2 complete it: the forged ones were all that was missing. */
    send_commit(x, 1, 2, 0, b.digest);
    assert_int_equal(x->nodes[VICTIM].committed, 1);
    send_commit(x, 2, 2, 0, b.digest);
    assert_int_equal(x->nodes[VICTIM].committed, 2);
    assert_memory_equal(x->nodes[VICTIM].chain[2], b.digest, PBFT_DIGEST_SIZE);
    assert_tip_cert_valid(x);
    fx_free(x);
}

/*
 * Attacks the pairing of a kept block with kept votes: an equivocating primary sends the victim
 * block A for height 2 (kept: first of its view) and the others block B, and B's COMMITs reach
 * the victim too. At height 2 the victim holds A and a certificate for B: it must neither
 * commit A on B's votes nor commit B, whose payload it never had; it reports itself behind.
 */
static void an_equivocating_primarys_block_does_not_commit_on_votes_for_another(void **state)
{
    (void)state;
    struct fx *x = victim_cluster(0);
    struct blk a, b;
    blk_make(&a, 2, 0, 1, 0);
    blk_make(&b, 2, 0, 2, 0);
    send_pp(x, 0, 2, 0, &a);
    send_pp(x, 0, 2, 0, &b); /* the same view: the first stays */
    for (unsigned i = 0; i < 3; i++) {
        send_commit(x, i, 2, 0, b.digest);
    }
    assert_int_equal(fx_stats(x, VICTIM).ahead_commits, 3);
    sync_to_block(x, 1);
    assert_memory_equal(x->nodes[VICTIM].validate_digest, a.digest, PBFT_DIGEST_SIZE);
    assert_int_equal(x->nodes[VICTIM].committed, 1);
    assert_true(x->nodes[VICTIM].behind);
    assert_int_equal(x->nodes[VICTIM].behind_height, 2);
    assert_int_equal(x->nodes[VICTIM].last_err, 0); /* its chain was never handed A for B */
    /* Nor do A's own COMMITs from a minority change it. */
    send_commit(x, 0, 2, 1, a.digest);
    assert_int_equal(x->nodes[VICTIM].committed, 1);
    fx_free(x);
}

/*
 * Attacks the PRE-PREPARE checks: for a later height, one from a replica that is not the
 * primary of its view, one from the primary whose payload is not the block of its digest, one
 * whose signature is another replica's, and one on the wrong link are never kept; the victim
 * has nothing to validate once it gets to that height.
 */
static void
pre_prepares_for_a_later_height_from_a_non_primary_or_a_wrong_block_are_not_kept(void **state)
{
    (void)state;
    struct fx *x = victim_cluster(0);
    struct blk b, other;
    blk_make(&b, 2, 0, 0, 0);
    blk_make(&other, 2, 0, 5, 0);
    send_pp(x, 1, 2, 0, &b);                     /* 1 is not the primary of view 0 */
    send_pp(x, 2, 2, 4, &b);                     /* nor is 2 of view 4 */
    send_pp_as(x, 0, 0, 2, 0, other.digest, &b); /* b's payload, other's digest */
    send_pp_as(x, 0, 1, 2, 0, b.digest, &b);     /* signed by 1 */
    struct fx_key k = { .self = 0 };             /* 0's genuine message on 2's link */
    struct pbft_crypto c = { .ctx = &k, .sign = fx_sign };
    size_t cap = pbft_msg_max_size(x->n, b.len), len = 0;
    uint8_t *out = malloc(cap);
    assert_int_equal(
        pbft_msg_preprepare_encode(&c, 0, 2, 0, b.digest, b.bytes, b.len, out, cap, &len), 0);
    hand(x, 2, out, len);
    struct pbft_stats s = fx_stats(x, VICTIM);
    assert_int_equal(s.ahead_preprepares, 0);
    assert_int_equal(s.ahead_bytes, 0);
    unsigned before = x->nodes[VICTIM].validations;
    sync_to_block(x, 1);
    assert_int_equal(x->nodes[VICTIM].validations, before);
    /* The genuine one is kept and taken up: the checks above are what stopped the others. */
    blk_make(&b, 3, 0, 0, 0);
    send_pp(x, 0, 3, 0, &b);
    assert_int_equal(fx_stats(x, VICTIM).ahead_preprepares, 1);
    sync_to_block(x, 2);
    assert_int_equal(x->nodes[VICTIM].validations, before + 1);
    fx_free(x);
}

/*
 * Attacks slot reuse: heights h and h+16 share a slot. What was kept for heights 2 and 3 (a
 * block and a full certificate of COMMITs for it, all signed for height 2) must be dropped
 * when a sync takes the victim past them, and never count at height 18 even when height 18's
 * block is byte for byte the same (so the same digest): COMMITs carry no height once kept.
 */
static void state_kept_for_heights_a_sync_passed_is_never_used_sixteen_heights_later(void **state)
{
    (void)state;
    struct fx *x = victim_cluster(0);
    struct blk same;
    memcpy(same.bytes, "the same block", 14);
    same.len = 14;
    fx_digest(same.bytes, same.len, same.digest);
    send_pp(x, 0, 2, 0, &same);
    send_pp(x, 0, 3, 0, &same);
    for (unsigned i = 0; i < 3; i++) {
        send_commit(x, i, 2, 0, same.digest);
    }
    struct pbft_stats s = fx_stats(x, VICTIM);
    assert_int_equal(s.ahead_preprepares, 2);
    assert_int_equal(s.ahead_commits, 3);
    sync_to_block(x, 17);
    s = fx_stats(x, VICTIM);
    assert_int_equal(s.ahead_preprepares, 0);
    assert_int_equal(s.ahead_bytes, 0);
    assert_int_equal(s.ahead_commits, 0);
    assert_int_equal(x->nodes[VICTIM].committed, 17);
    /* Height 18, slot 2: the same block arrives live; height 2's COMMITs are gone. */
    send_pp(x, 0, 18, 0, &same);
    assert_int_equal(x->nodes[VICTIM].committed, 17);
    for (unsigned i = 0; i < 3; i++) {
        send_commit(x, i, 18, 0, same.digest);
    }
    assert_int_equal(x->nodes[VICTIM].committed, 18);
    assert_tip_cert_valid(x);
    /* Kept for 19 (slot 3) before, then a sync to 19: slot 3 is emptied, 20 starts clean. */
    send_pp(x, 0, 19, 0, &same);
    for (unsigned i = 0; i < 2; i++) {
        send_commit(x, i, 19, 0, same.digest);
    }
    sync_to_block(x, 19);
    assert_int_equal(fx_stats(x, VICTIM).ahead_commits, 0);
    send_pp(x, 0, 20, 0, &same);
    send_commit(x, 2, 20, 0, same.digest);
    assert_int_equal(x->nodes[VICTIM].committed, 19);
    fx_free(x);
}

/* Replica i is behind: the caller syncs it to replica 0's chain. */
static void sync_from_zero(struct fx *x, unsigned i)
{
    struct fx_node *nd = &x->nodes[i], *z = &x->nodes[0];
    if (!nd->behind || z->committed <= nd->committed) {
        return;
    }
    nd->behind = false;
    memcpy(nd->chain, z->chain, sizeof(nd->chain));
    nd->committed = z->committed;
    nd->last_cert = z->last_cert;
    struct pbft_event ev = { .type = PBFT_EV_SYNCED, .now = x->now };
    fx_step(x, i, &ev);
}

/* Every two replicas agree on every height both committed. */
static void assert_agree(struct fx *x)
{
    for (unsigned i = 0; i < x->n; i++) {
        for (unsigned j = i + 1; j < x->n; j++) {
            uint64_t top = x->nodes[i].committed < x->nodes[j].committed ? x->nodes[i].committed
                                                                         : x->nodes[j].committed;
            for (uint64_t h = 1; h <= top; h++) {
                assert_memory_equal(x->nodes[i].chain[h], x->nodes[j].chain[h], PBFT_DIGEST_SIZE);
            }
        }
    }
}

/*
 * Safety under all of the above at once, in a live cluster: while replica 3 misses height 1,
 * the primary equivocates to it for every later height of the window (its own blocks of view
 * 0 first, so they are the ones kept), others' COMMITs for those blocks arrive forged, a
 * replica primary of a later view offers full blocks, COMMITs arrive 17 heights ahead and
 * replayed. The victim must end on the same chain as everyone (syncing where it must), and no
 * two replicas may ever commit different blocks at one height.
 */
static void no_two_replicas_commit_different_blocks_under_every_window_attack(void **state)
{
    (void)state;
    struct fx *x = fx_new(4);
    x->auto_until = 24;
    x->base.max_payload = 4096;
    fx_start_all(x);
    struct blk evil;
    for (uint64_t h = 2; h <= 17; h++) {
        blk_make(&evil, h, 0, 99, 0); /* salt 99: not the block the primary's chain builds */
        send_pp(x, 0, h, 0, &evil);
        send_commit(x, 0, h, 0, evil.digest);
        send_commit_as(x, 1, 1, 3, h, 0, evil.digest);
        send_commit_as(x, 2, 2, 3, h, 0, evil.digest);
        send_commit(x, 1, h + 16, 0, evil.digest);
        send_commit(x, 0, h, 0, evil.digest);
        blk_make(&evil, h, 1, 98, 4096);
        send_pp(x, 1, h, 1, &evil);
    }
    struct fx_msg m;
    for (int round = 0; round < 200 && x->nodes[VICTIM].committed < 24; round++) {
        while (fx_pop(x, &m)) {
            if (!(m.to == VICTIM && m.height == 1 && x->nodes[0].committed < 8)) {
                fx_receive(x, &m);
            }
            free(m.bytes);
            assert_agree(x);
        }
        sync_from_zero(x, VICTIM);
        assert_agree(x);
        assert_true(fx_stats(x, VICTIM).ahead_bytes <= 2 * 4096);
        fx_tick(x, x->now + 100);
    }
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(x->nodes[i].committed, 24);
    }
    assert_agree(x);
    fx_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_primary_filling_the_window_with_full_blocks_is_held_to_two_blocks),
        cmocka_unit_test(
            a_replica_that_is_primary_only_of_a_later_view_cannot_crowd_out_the_primary),
        cmocka_unit_test(replayed_commits_for_a_later_height_cost_one_signature_check),
        cmocka_unit_test(replayed_pre_prepares_for_a_later_height_cost_one_signature_check),
        cmocka_unit_test(commits_seventeen_heights_ahead_are_not_kept_and_never_count),
        cmocka_unit_test(forged_commits_for_a_later_height_are_never_kept_nor_counted),
        cmocka_unit_test(an_equivocating_primarys_block_does_not_commit_on_votes_for_another),
        cmocka_unit_test(
            pre_prepares_for_a_later_height_from_a_non_primary_or_a_wrong_block_are_not_kept),
        cmocka_unit_test(state_kept_for_heights_a_sync_passed_is_never_used_sixteen_heights_later),
        cmocka_unit_test(no_two_replicas_commit_different_blocks_under_every_window_attack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
