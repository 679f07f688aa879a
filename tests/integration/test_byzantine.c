/* A Byzantine validator among three honest sealchaind processes, in consensus: equivocation, forged
 * blocks, a NEW-VIEW without the prepared block, indexes, views and heights out of range, duplicate
 * signers. The honest nodes agree and go on (tests/integration/byz.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consensus/pbft.h"
#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "node/handshake.h"
#include "node/wire.h"
#include "proto/block.pb-c.h"
#include "tests/integration/byz.h"
#include "tests/integration/cluster.h"
#include "tests/integration/hostile.h"
#include "tests/sim/craft.h"

static int setup_as0(void **state)
{
    return (*state = byz_start(0, 0xe)) ? 0 : -1;
}

/* Validator 1 (primary of view 1) with nodes 0 and 2: node 3 comes later. */
static int setup_as1(void **state)
{
    return (*state = byz_start(1, 0x5)) ? 0 : -1;
}

/* Validator 3 with nodes 0, 1 and 2. */
static int setup_as3(void **state)
{
    return (*state = byz_start(3, 0x7)) ? 0 : -1;
}

/* A ledger of the test's own on the cluster's genesis: blocks that any
 * backup finds valid (at height 1). */
static struct ledger *shadow_ledger(struct cluster *c)
{
    char dir[400], err[512];
    snprintf(dir, sizeof dir, "%s/shadow", c->dir);
    mkdir(dir, 0700);
    struct ledger *l = NULL;
    assert_int_equal(ledger_crypto_init(), 0);
    assert_int_equal(ledger_open(dir, &c->g, NULL, &l, err, sizeof err), 0);
    return l;
}

struct blk {
    uint8_t *bytes;
    size_t len;
    uint8_t hash[32];
};

static void build(struct ledger *l, unsigned proposer, uint64_t view, uint64_t time_ms,
                  struct blk *out)
{
    assert_int_equal(ledger_build_block(l, NULL, 0, time_ms, proposer, view, &out->bytes, &out->len,
                                        out->hash, NULL, NULL, NULL),
                     0);
}

/* As b->me: PRE-PREPARE of blk for (height, view), with our PREPARE and
 * COMMIT for it (votes: 0 none, 1 PREPARE, 2 both), to h. */
static void propose(struct byz *b, struct hostile *h, uint64_t height, uint64_t view,
                    const struct blk *blk, int votes)
{
    size_t cap = blk->len + 256, len;
    uint8_t *m = malloc(cap);
    assert_non_null(m);
    assert_int_equal(pbft_msg_preprepare_encode(&b->cr, b->me, height, view, blk->hash, blk->bytes,
                                                blk->len, m, cap, &len),
                     0);
    byz_send(h, m, len);
    for (int k = 0; k < votes; k++) {
        int kind = k == 0 ? PBFT_MSG_PREPARE : PBFT_MSG_COMMIT;
        assert_int_equal(
            pbft_msg_vote_encode(&b->cr, kind, b->me, height, view, blk->hash, m, cap, &len), 0);
        byz_send(h, m, len);
    }
    free(m);
}

/* True when one of the links brings a PREPARE for digest within ms. */
static bool anyone_prepares(struct hostile *hs, unsigned n, const uint8_t digest[32], int ms)
{
    uint64_t end = cluster_ms() + (uint64_t)ms;
    while (cluster_ms() < end)
        for (unsigned k = 0; k < n; k++) {
            uint8_t type;
            const uint8_t *body;
            size_t len;
            if (hs[k].fd >= 0 && hostile_recv(&hs[k], 50, &type, &body, &len) == 1 &&
                type == NODE_WIRE_CONSENSUS && len > BYZ_HDR + 32 && body[1] == PBFT_MSG_PREPARE &&
                memcmp(body + BYZ_HDR, digest, 32) == 0)
                return true;
        }
    return false;
}

/* ---- equivocation and forged blocks as primary ------------------------------------- */

/* Validator 0, primary of view 0, signs two valid blocks for (view 0,
 * height 1): A with its PREPARE and COMMIT to node 1, B with both votes to
 * nodes 2 and 3. At most one of them commits, the same one on all three;
 * the silent primary is then replaced and later transactions commit. */
static void equivocating_pre_prepares_commit_one_block_and_the_view_moves_on(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    struct hostile h[4];
    for (unsigned i = 1; i < 4; i++)
        assert_int_equal(hostile_connect(c, 0, i, 5000, &h[i]), 0);
    struct ledger *l = shadow_ledger(c);
    struct blk a, bb;
    uint64_t now = byz_wall_ms();
    build(l, 0, 0, now, &a);
    build(l, 0, 0, now + 1, &bb);
    assert_memory_not_equal(a.hash, bb.hash, 32);
    propose(b, &h[1], 1, 0, &a, 2);
    propose(b, &h[2], 1, 0, &bb, 2);
    propose(b, &h[3], 1, 0, &bb, 2);
    hostile_drain(&h[1], 500, 0, &(bool){ false });
    uint8_t at1[32];
    byz_honest_go_on(b);
    assert_int_equal(cluster_block_hash(c, 1, 1, at1), 0);
    print_message("height 1: %s\n", memcmp(at1, a.hash, 32) == 0    ? "A"
                                    : memcmp(at1, bb.hash, 32) == 0 ? "B"
                                                                    : "another block");
    for (unsigned i = 1; i < 4; i++) {
        assert_true(byz_view(c, i) >= 1); /* the equivocating primary is gone */
        hostile_close(&h[i]);
    }
    free(a.bytes);
    free(bb.bytes);
    ledger_close(l);
}

/* Validator 0 as primary proposes a block whose header names a forged tx
 * root (to node 1) and one with a forged state root (to nodes 2 and 3),
 * each with its own PREPARE and COMMIT. No honest node prepares either;
 * the primary is replaced and the chain goes on without them. */
static void a_primary_block_with_a_forged_tx_or_state_root_is_refused(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    struct hostile h[4];
    for (unsigned i = 1; i < 4; i++)
        assert_int_equal(hostile_connect(c, 0, i, 5000, &h[i]), 0);
    struct ledger *l = shadow_ledger(c);
    struct blk v, ftx, fst;
    build(l, 0, 0, byz_wall_ms(), &v);
    uint8_t junk[32];
    memset(junk, 0xa5, sizeof junk);
    assert_int_equal(hostile_reroot(v.bytes, v.len, junk, NULL, &ftx.bytes, &ftx.len, ftx.hash), 0);
    assert_int_equal(hostile_reroot(v.bytes, v.len, NULL, junk, &fst.bytes, &fst.len, fst.hash), 0);
    propose(b, &h[1], 1, 0, &ftx, 2);
    propose(b, &h[2], 1, 0, &fst, 2);
    propose(b, &h[3], 1, 0, &fst, 2);
    assert_false(anyone_prepares(&h[1], 3, ftx.hash, 800));
    assert_false(anyone_prepares(&h[1], 3, fst.hash, 400));
    byz_honest_go_on(b);
    uint8_t at1[32];
    assert_int_equal(cluster_block_hash(c, 1, 1, at1), 0);
    assert_memory_not_equal(at1, ftx.hash, 32);
    assert_memory_not_equal(at1, fst.hash, 32);
    for (unsigned i = 1; i < 4; i++)
        hostile_close(&h[i]);
    free(v.bytes);
    free(ftx.bytes);
    free(fst.bytes);
    ledger_close(l);
}

/* ---- a new view that leaves out the prepared block ------------------------------------ */

/* Sends msg to nodes 0 and 2 as validator 1, on a new link each; returns
 * how many of them closed the link. */
static unsigned to_backups(struct cluster *c, const uint8_t *msg, size_t len)
{
    unsigned closed = 0;
    assert_true(len > 0);
    for (unsigned i = 0; i < 4; i += 2) {
        struct hostile h;
        assert_int_equal(hostile_connect(c, 1, i, 5000, &h), 0);
        byz_send(&h, msg, len);
        closed += byz_closes(&h, 500);
        hostile_close(&h);
    }
    return closed;
}

/* Node 0 proposes B at height 1 while node 3 is down; validator 1 (the
 * test) sends nodes 0 and 2 its PREPARE, so both prepare B, but never its
 * COMMIT: B cannot commit, both time out and ask for view 1 with B's
 * prepared certificate. Validator 1 is the primary of view 1, and sends
 * NEW-VIEWs that do not re-propose B: one re-proposing nothing over their
 * VIEW-CHANGEs, one with its own VIEW-CHANGE three times over (duplicate
 * signers), one re-proposing a block of its own; then that block's
 * PRE-PREPARE and votes. The backups refuse each NEW-VIEW and drop the
 * link, and nobody prepares the block; once node 3 is back the next view
 * re-proposes B, and B is block 1 everywhere. */
static void a_new_view_that_omits_the_prepared_block_is_refused(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    struct hostile h0, h2;
    assert_int_equal(hostile_connect(c, 1, 0, 5000, &h0), 0);
    assert_int_equal(hostile_connect(c, 1, 2, 5000, &h2), 0);
    char st[16];
    byz_submit(c, 0, false, st);
    assert_string_equal(st, "pending");
    uint8_t *pp = malloc(BYZ_MSG_CAP), *m0 = malloc(BYZ_MSG_CAP), *m2 = malloc(BYZ_MSG_CAP),
            *nv = malloc(BYZ_MSG_CAP);
    assert_true(pp && m0 && m2 && nv);
    size_t pp_len, l0, l2;
    assert_true(byz_await_msg(&h0, PBFT_MSG_PREPREPARE, pp, &pp_len, 5000));
    uint8_t digest[32];
    memcpy(digest, pp + BYZ_HDR, 32);
    assert_int_equal(byz_be64(pp + 4), 1);
    byz_vote(b, &h0, PBFT_MSG_PREPARE, 1, 1, 0, digest);
    byz_vote(b, &h2, PBFT_MSG_PREPARE, 1, 1, 0, digest);
    bool got0 = false, got2 = false;
    for (int k = 0; k < 10 && !(got0 && got2); k++) {
        if (!got0 && byz_await_msg(&h0, PBFT_MSG_VIEWCHANGE, m0, &l0, 500))
            got0 = byz_be64(m0 + 12) == 1;
        if (!got2 && byz_await_msg(&h2, PBFT_MSG_VIEWCHANGE, m2, &l2, 500))
            got2 = byz_be64(m2 + 12) == 1;
    }
    assert_true(got0 && got2);
    struct sim_vc vcs[3] = { { .sender = 1, .height = 1, .view = 1 } };
    assert_int_equal(sim_vc_sign(&b->cr, &vcs[0]), 0);
    assert_int_equal(sim_vc_decode(m0, l0, 4, &vcs[1]), 0);
    assert_int_equal(sim_vc_decode(m2, l2, 4, &vcs[2]), 0);
    assert_true(vcs[1].prepared && memcmp(vcs[1].pcert.digest, digest, 32) == 0);
    hostile_close(&h0);
    hostile_close(&h2);
    struct sim_vc dup[3] = { vcs[0], vcs[0], vcs[0] };
    struct ledger *l = shadow_ledger(c);
    struct blk mine;
    build(l, 1, 1, byz_wall_ms(), &mine);
    size_t n1 = sim_nv_encode(&b->cr, 1, 1, 1, false, NULL, vcs, 3, NULL, 0, nv, BYZ_MSG_CAP);
    assert_int_equal(to_backups(c, nv, n1), 2);
    n1 = sim_nv_encode(&b->cr, 1, 1, 1, false, NULL, dup, 3, NULL, 0, nv, BYZ_MSG_CAP);
    assert_int_equal(to_backups(c, nv, n1), 2);
    n1 = sim_nv_encode(&b->cr, 1, 1, 1, true, mine.hash, vcs, 3, mine.bytes, mine.len, nv,
                       BYZ_MSG_CAP);
    assert_int_equal(to_backups(c, nv, n1), 2);
    struct hostile hs[2];
    assert_int_equal(hostile_connect(c, 1, 0, 5000, &hs[0]), 0);
    assert_int_equal(hostile_connect(c, 1, 2, 5000, &hs[1]), 0);
    propose(b, &hs[0], 1, 1, &mine, 2);
    propose(b, &hs[1], 1, 1, &mine, 2);
    assert_false(anyone_prepares(hs, 2, mine.hash, 1000));
    assert_int_equal(cluster_height(c, 0), 0);
    assert_int_equal(cluster_start(c, 3), 0);
    assert_int_equal(cluster_wait_up(c, 3, 10000), 0);
    byz_honest_go_on(b);
    for (unsigned i = 0; i < 4; i++) {
        uint8_t at1[32];
        if (i == 1)
            continue;
        assert_int_equal(cluster_block_hash(c, i, 1, at1), 0);
        assert_memory_equal(at1, digest, 32); /* the prepared block */
    }
    hostile_close(&hs[0]);
    hostile_close(&hs[1]);
    free(mine.bytes);
    ledger_close(l);
    free(pp);
    free(m0);
    free(m2);
    free(nv);
}

/* ---- votes out of range ----------------------------------------------------------------- */

/* Writes a CERT message (sender, height, view, digest) naming signers
 * (count of them, each with sig) into out; returns its length. */
static size_t cert_msg(unsigned sender, uint64_t height, uint64_t view, const uint8_t digest[32],
                       const uint16_t *signers, unsigned count, const uint8_t sig[64], uint8_t *out)
{
    size_t n = 0;
    out[n++] = 1;
    out[n++] = PBFT_MSG_CERT;
    out[n++] = (uint8_t)(sender >> 8);
    out[n++] = (uint8_t)sender;
    ledger_put_u64be(out + n, height);
    ledger_put_u64be(out + n + 8, view);
    n += 16;
    memcpy(out + n, digest, 32);
    n += 32;
    out[n++] = (uint8_t)(count >> 8);
    out[n++] = (uint8_t)count;
    for (unsigned i = 0; i < count; i++) {
        out[n++] = (uint8_t)(signers[i] >> 8);
        out[n++] = (uint8_t)signers[i];
        memcpy(out + n, sig, 64);
        n += 64;
    }
    return n;
}

/* Our COMMIT signature over (height, view, digest), as a certificate entry. */
static void commit_sig(struct byz *b, uint64_t height, uint64_t view, const uint8_t digest[32],
                       uint8_t sig[64])
{
    uint8_t p[PBFT_VOTE_PAYLOAD_SIZE];
    pbft_vote_payload(height, view, digest, p);
    assert_int_equal(b->cr.sign(b->cr.ctx, PBFT_SIG_COMMIT, p, sizeof p, sig), 0);
}

/* Votes whose sender index is 4, 64 or 65535 (n = 4), each validly signed
 * by us, and a certificate naming validator 9: each drops the peer, and
 * the chain goes on. */
static void votes_with_out_of_range_validator_indexes_drop_the_peer(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    uint8_t digest[32] = { 9 };
    static const unsigned senders[] = { 4, 64, 65535 };
    for (unsigned k = 0; k < 3; k++) {
        struct hostile h;
        assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
        byz_vote(b, &h, k == 1 ? PBFT_MSG_COMMIT : PBFT_MSG_PREPARE, senders[k], 1, 0, digest);
        assert_true(byz_closes(&h, 2000));
        hostile_close(&h);
    }
    uint8_t sig[64], m[512];
    commit_sig(b, 5, 0, digest, sig);
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    size_t n = cert_msg(3, 5, 0, digest, (const uint16_t[]){ 0, 3, 9 }, 3, sig, m);
    byz_send(&h, m, n);
    assert_true(byz_closes(&h, 2000));
    hostile_close(&h);
    assert_false(byz_syncing(c, 0));
    byz_honest_go_on(b);
}

/* PREPARE, COMMIT, VIEW-CHANGE, NEW-VIEW and PRE-PREPARE at view 2^64-1
 * (validator 3 is its primary), 2^64-2 and 2^63, each validly signed and each on a link
 * of its own to one of the nodes in turn: nothing wraps, no honest node
 * follows into such a view, and the chain goes on in small views. (A
 * NEW-VIEW, which needs a quorum of VIEW-CHANGEs, carries ours three times:
 * refused as malformed, which drops the link.) */
static void votes_at_view_2_64_minus_1_change_nothing(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    uint8_t digest[32] = { 7 }, *nv = malloc(BYZ_MSG_CAP), vcm[512], m[512];
    assert_non_null(nv);
    static const uint64_t views[] = { UINT64_MAX, UINT64_MAX - 1, UINT64_C(1) << 63 };
    static const char *const kinds[] = { "prepare", "commit", "view-change", "new-view",
                                         "pre-prepare" };
    unsigned to = 0;
    for (unsigned k = 0; k < 3; k++) {
        uint64_t v = views[k];
        struct sim_vc vc = { .sender = 3, .height = 1, .view = v };
        assert_int_equal(sim_vc_sign(&b->cr, &vc), 0);
        struct sim_vc three[3] = { vc, vc, vc };
        const uint8_t *msg[5] = { m, m + 128, vcm, nv, m + 256 };
        size_t len[5];
        assert_int_equal(
            pbft_msg_vote_encode(&b->cr, PBFT_MSG_PREPARE, 3, 1, v, digest, m, 128, &len[0]), 0);
        assert_int_equal(
            pbft_msg_vote_encode(&b->cr, PBFT_MSG_COMMIT, 3, 1, v, digest, m + 128, 128, &len[1]),
            0);
        len[2] = sim_vc_encode(&vc, false, vcm, sizeof vcm);
        len[3] = sim_nv_encode(&b->cr, 3, 1, v, false, NULL, three, 3, NULL, 0, nv, BYZ_MSG_CAP);
        assert_int_equal(pbft_msg_preprepare_encode(&b->cr, 3, 1, v, digest, (const uint8_t *)"x",
                                                    1, m + 256, 256, &len[4]),
                         0);
        for (unsigned j = 0; j < 5; j++, to = (to + 1) % 3) {
            assert_true(len[j] > 0);
            struct hostile h;
            assert_int_equal(hostile_connect(c, 3, to, 5000, &h), 0);
            byz_send(&h, msg[j], len[j]);
            bool closed = byz_closes(&h, 300);
            hostile_close(&h);
            print_message("%s at view %" PRIu64 " to node %u: closed %d\n", kinds[j], v, to,
                          closed);
        }
    }
    free(nv);
    /* With our VIEW-CHANGE for 2^64-1 held by every node, a real view
     * change: node 0, the primary, freezes while a tx waits at node 1. */
    struct sim_vc vc = { .sender = 3, .height = 1, .view = UINT64_MAX };
    assert_int_equal(sim_vc_sign(&b->cr, &vc), 0);
    size_t vl = sim_vc_encode(&vc, false, vcm, sizeof vcm);
    struct hostile h[3];
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(hostile_connect(c, 3, i, 5000, &h[i]), 0);
        byz_send(&h[i], vcm, vl);
    }
    cluster_sleep_ms(200);
    assert_int_equal(cluster_signal(c, 0, SIGSTOP, NULL), 0);
    char st[16];
    byz_submit(c, 1, false, st);
    cluster_sleep_ms(3500);
    assert_int_equal(cluster_signal(c, 0, SIGCONT, NULL), 0);
    byz_honest_go_on(b);
    for (unsigned i = 0; i < 3; i++) {
        uint64_t v = byz_view(c, i);
        print_message("node %u view %" PRIu64 "\n", i, v);
        assert_true(v >= 1 && v < 100);
        hostile_close(&h[i]);
    }
}

/* PREPAREs and COMMITs for heights 2^64-1, 2^63 and a million ahead, and
 * a VIEW-CHANGE from height 2^64-1: one validator's word is no evidence
 * that the chain is there (the node does not call itself syncing), and
 * nothing overflows. */
static void votes_for_heights_far_in_the_future_change_nothing(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    byz_honest_go_on(b);
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    uint8_t digest[32] = { 3 }, vcm[512];
    uint64_t heights[] = { UINT64_MAX, UINT64_C(1) << 63, cluster_height(c, 0) + 1000000 };
    for (unsigned k = 0; k < 3; k++) {
        byz_vote(b, &h, PBFT_MSG_PREPARE, 3, heights[k], 0, digest);
        byz_vote(b, &h, PBFT_MSG_COMMIT, 3, heights[k], 1, digest);
    }
    struct sim_vc vc = { .sender = 3, .height = UINT64_MAX, .view = 1 };
    assert_int_equal(sim_vc_sign(&b->cr, &vc), 0);
    size_t vl = sim_vc_encode(&vc, false, vcm, sizeof vcm);
    byz_send(&h, vcm, vl);
    hostile_drain(&h, 500, 0, &(bool){ false });
    assert_false(byz_syncing(c, 0));
    hostile_close(&h);
    byz_honest_go_on(b);
}

/* A CERT consensus message naming our signature three times (duplicate
 * signers) for a block ten heights ahead: the core takes certificates from
 * CERT messages as proof that it is behind. Refused: the node neither
 * asks us for blocks nor calls itself syncing, and drops the peer. So are
 * VIEW-CHANGEs whose commit or prepared certificate does the same. */
static void a_consensus_certificate_with_duplicate_signers_is_refused(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    byz_honest_go_on(b);
    uint64_t at = cluster_height(c, 0) + 10;
    uint8_t digest[32] = { 0x42 }, sig[64], m[512];
    commit_sig(b, at, 0, digest, sig);
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    size_t n = cert_msg(3, at, 0, digest, (const uint16_t[]){ 3, 3, 3 }, 3, sig, m);
    byz_send(&h, m, n);
    bool asked = false, closed = false;
    uint64_t end = cluster_ms() + 2000;
    while (cluster_ms() < end && !closed) {
        uint8_t type;
        const uint8_t *body;
        size_t len;
        int rc = hostile_recv(&h, 200, &type, &body, &len);
        closed = rc < 0;
        asked = asked || (rc == 1 && type == NODE_WIRE_SYNC_REQ);
    }
    hostile_close(&h);
    assert_false(asked);
    assert_false(byz_syncing(c, 0));
    assert_true(closed);
    /* VIEW-CHANGEs whose commit certificate (of the tip), or whose
     * prepared certificate, counts our signature three times. */
    uint64_t tip = cluster_height(c, 0);
    for (int k = 0; k < 2; k++) {
        struct sim_vc vc = { .sender = 3, .height = tip + 1, .view = 1 };
        struct pbft_cert *ce = k == 0 ? &vc.cert : &vc.pcert;
        vc.cert.height = tip;
        assert_int_equal(cluster_block_hash(c, 0, tip, vc.cert.digest), 0);
        vc.prepared = k == 1;
        vc.pcert.height = tip + 1;
        memcpy(vc.pcert.digest, digest, 32);
        ce->count = 3;
        for (unsigned i = 0; i < 3; i++) {
            ce->signers[i] = 3;
            if (k == 0)
                commit_sig(b, tip, 0, vc.cert.digest, ce->sigs[i]);
            else {
                uint8_t p[PBFT_VOTE_PAYLOAD_SIZE];
                pbft_vote_payload(tip + 1, 0, digest, p);
                assert_int_equal(b->cr.sign(b->cr.ctx, PBFT_SIG_PREPARE, p, sizeof p, ce->sigs[i]),
                                 0);
            }
        }
        assert_int_equal(sim_vc_sign(&b->cr, &vc), 0);
        n = sim_vc_encode(&vc, true, m, sizeof m);
        assert_true(n > 0);
        assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
        byz_send(&h, m, n);
        assert_true(byz_closes(&h, 2000));
        hostile_close(&h);
    }
    byz_honest_go_on(b);
}

int main(void)
{
    if (getenv("TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            equivocating_pre_prepares_commit_one_block_and_the_view_moves_on, setup_as0,
            byz_teardown),
        cmocka_unit_test_setup_teardown(a_primary_block_with_a_forged_tx_or_state_root_is_refused,
                                        setup_as0, byz_teardown),
        cmocka_unit_test_setup_teardown(a_new_view_that_omits_the_prepared_block_is_refused,
                                        setup_as1, byz_teardown),
        cmocka_unit_test_setup_teardown(votes_with_out_of_range_validator_indexes_drop_the_peer,
                                        setup_as3, byz_teardown),
        cmocka_unit_test_setup_teardown(votes_at_view_2_64_minus_1_change_nothing, setup_as3,
                                        byz_teardown),
        cmocka_unit_test_setup_teardown(votes_for_heights_far_in_the_future_change_nothing,
                                        setup_as3, byz_teardown),
        cmocka_unit_test_setup_teardown(a_consensus_certificate_with_duplicate_signers_is_refused,
                                        setup_as3, byz_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
