/* A Byzantine validator among three honest sealchaind processes: equivocation, forged blocks and
 * certificates, bad new views, bad frames and floods; the honest nodes agree and go on. */
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
#include <sys/wait.h>
#include <time.h>
#include <sodium.h>
#include <unistd.h>

#include "consensus/pbft.h"
#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "node/handshake.h"
#include "node/keyfile.h"
#include "node/wire.h"
#include "proto/block.pb-c.h"
#include "tests/integration/cluster.h"
#include "tests/integration/hostile.h"
#include "tests/sim/craft.h"

/* Memory bound of an honest node after an attack (RssAnon); the sanitizer
 * build's shadow memory and quarantine need far more. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MAX_KIB (768ul * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_MAX_KIB (768ul * 1024)
#endif
#endif
#ifndef RSS_MAX_KIB
#define RSS_MAX_KIB (64ul * 1024)
#endif

/* Short timers so that view changes take about a second. */
#define FAST                                                                                       \
    "[consensus]\nprogress_timeout_ms = 1000\nview_change_timeout_ms = 1000\n"                     \
    "request_timeout_ms = 2000\n"

#define HDR 20 /* consensus/codec.c: version, kind, sender u16, height u64, view u64 */
#define MSG_CAP (64u << 10)

/* The cluster, and the validator the test plays with its own key. */
struct byz {
    struct cluster c;
    unsigned me;
    struct hostile_signer s;
    struct pbft_crypto cr;
};

static struct byz *start(unsigned me, uint32_t run)
{
    struct byz *b = calloc(1, sizeof *b);
    if (b == NULL || cluster_new(&b->c, 4, FAST) != 0) {
        free(b);
        return NULL;
    }
    b->me = me;
    if (hostile_signer_init(&b->c, me, &b->s, &b->cr) != 0)
        return NULL;
    for (unsigned i = 0; i < 4; i++)
        if ((run >> i & 1) && cluster_start(&b->c, i) != 0)
            return NULL;
    for (unsigned i = 0; i < 4; i++)
        if ((run >> i & 1) && cluster_wait_up(&b->c, i, 10000) != 0)
            return NULL;
    return b;
}

static int setup_as0(void **state)
{
    return (*state = start(0, 0xe)) ? 0 : -1;
}
static int setup_as3(void **state)
{
    return (*state = start(3, 0x7)) ? 0 : -1;
}
/* Validator 1 (primary of view 1) with nodes 0 and 2: node 3 comes later. */
static int setup_as1(void **state)
{
    return (*state = start(1, 0x5)) ? 0 : -1;
}

/* Every node still stops cleanly (under ASan: no leak). */
static int teardown(void **state)
{
    struct byz *b = *state;
    int rc = 0;
    for (unsigned i = 0; i < 4; i++) {
        int st = 0;
        if (b->c.pid[i] > 0 && cluster_signal(&b->c, i, SIGTERM, &st) == 0 &&
            !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            print_error("node %u did not stop cleanly (wait status %#x)\n", i, (unsigned)st);
            rc = -1;
        }
    }
    if (getenv("KEEP") != NULL)
        print_message("kept %s\n", b->c.dir);
    cluster_free(&b->c, getenv("KEEP") != NULL);
    sodium_memzero(b->s.sk, sizeof b->s.sk);
    free(b);
    return rc;
}

/* ---- what every test checks afterwards ------------------------------------------------ */

static unsigned long rss_anon_kib(struct cluster *c, unsigned i)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)c->pid[i]);
    FILE *f = fopen(path, "r");
    unsigned long kib = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "RssAnon: %lu kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static uint32_t honest(const struct byz *b)
{
    uint32_t mask = 0;
    for (unsigned i = 0; i < 4; i++)
        if (i != b->me && b->c.pid[i] > 0)
            mask |= 1u << i;
    return mask;
}

static void submit(struct cluster *c, unsigned i, bool wait, char st[16])
{
    uint8_t *tx;
    size_t len;
    assert_int_equal(cluster_tx(c, i, &tx, &len), 0);
    cluster_submit(c, i, tx, len, wait, st, NULL);
    free(tx);
}

/* The honest nodes go on: a fresh tx submitted at each commits, they reach
 * one height, every block hash is the same on all of them (no fork), and
 * each stays within its memory bound. Returns the height. */
static uint64_t honest_go_on(struct byz *b)
{
    struct cluster *c = &b->c;
    uint32_t mask = honest(b);
    char st[16];
    for (unsigned i = 0; i < 4; i++)
        if (mask >> i & 1) {
            submit(c, i, true, st);
            assert_string_equal(st, "committed");
        }
    uint64_t top = 0;
    for (unsigned i = 0; i < 4; i++)
        if ((mask >> i & 1) && cluster_height(c, i) > top && cluster_height(c, i) != UINT64_MAX)
            top = cluster_height(c, i);
    assert_int_equal(cluster_wait_height(c, mask, top, 20000), 0);
    for (uint64_t h = 1; h <= top; h++) {
        uint8_t first[32], other[32];
        bool have = false;
        for (unsigned i = 0; i < 4; i++) {
            if (!(mask >> i & 1))
                continue;
            assert_int_equal(cluster_block_hash(c, i, h, have ? other : first), 0);
            if (have)
                assert_memory_equal(first, other, 32);
            have = true;
        }
    }
    for (unsigned i = 0; i < 4; i++)
        if (mask >> i & 1) {
            unsigned long kib = rss_anon_kib(c, i);
            print_message("node %u: height %" PRIu64 ", RssAnon %lu KiB\n", i, top, kib);
            assert_true(kib > 0 && kib < RSS_MAX_KIB);
            assert_false(cluster_log_has(c, i, "fail-stop"));
        }
    return top;
}

static uint64_t view_of(struct cluster *c, unsigned i)
{
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    assert_int_equal(cluster_status(c, i, &s, &r), 0);
    uint64_t v = s->view;
    sealchain__api_reply__free_unpacked(r, NULL);
    return v;
}

static bool syncing(struct cluster *c, unsigned i)
{
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    assert_int_equal(cluster_status(c, i, &s, &r), 0);
    bool v = s->syncing;
    sealchain__api_reply__free_unpacked(r, NULL);
    return v;
}

/* ---- crafting ------------------------------------------------------------------------- */

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | p[k];
    return v;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads until a CONSENSUS frame of kind arrives (copied to buf); false on
 * time-out or a closed link. */
static bool await_msg(struct hostile *h, int kind, uint8_t *buf, size_t *len, int timeout_ms)
{
    uint64_t end = cluster_ms() + (uint64_t)timeout_ms;
    while (cluster_ms() < end) {
        uint8_t type;
        const uint8_t *body;
        size_t n;
        int rc = hostile_recv(h, (int)(end - cluster_ms()), &type, &body, &n);
        if (rc < 0)
            return false;
        if (rc == 1 && type == NODE_WIRE_CONSENSUS && n > HDR && n <= MSG_CAP && body[1] == kind) {
            memcpy(buf, body, n);
            *len = n;
            return true;
        }
    }
    return false;
}

/* True when the node closes the link within timeout_ms. */
static bool closes(struct hostile *h, int timeout_ms)
{
    bool closed;
    hostile_drain(h, timeout_ms, 0, &closed);
    return closed;
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
    assert_int_equal(ledger_build_block(l, NULL, 0, time_ms, proposer, view, &out->bytes,
                                        &out->len, out->hash, NULL, NULL, NULL),
                     0);
}

static void send_msg(struct hostile *h, const uint8_t *m, size_t len)
{
    hostile_send(h, NODE_WIRE_CONSENSUS, m, len);
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
    send_msg(h, m, len);
    for (int k = 0; k < votes; k++) {
        int kind = k == 0 ? PBFT_MSG_PREPARE : PBFT_MSG_COMMIT;
        assert_int_equal(
            pbft_msg_vote_encode(&b->cr, kind, b->me, height, view, blk->hash, m, cap, &len), 0);
        send_msg(h, m, len);
    }
    free(m);
}

static void vote(struct byz *b, struct hostile *h, int kind, unsigned sender, uint64_t height,
                 uint64_t view, const uint8_t digest[32])
{
    uint8_t m[256];
    size_t len;
    assert_int_equal(pbft_msg_vote_encode(&b->cr, kind, sender, height, view, digest, m, sizeof m,
                                          &len),
                     0);
    send_msg(h, m, len);
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
                type == NODE_WIRE_CONSENSUS && len > HDR + 32 && body[1] == PBFT_MSG_PREPARE &&
                memcmp(body + HDR, digest, 32) == 0)
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
    uint64_t now = wall_ms();
    build(l, 0, 0, now, &a);
    build(l, 0, 0, now + 1, &bb);
    assert_memory_not_equal(a.hash, bb.hash, 32);
    propose(b, &h[1], 1, 0, &a, 2);
    propose(b, &h[2], 1, 0, &bb, 2);
    propose(b, &h[3], 1, 0, &bb, 2);
    hostile_drain(&h[1], 500, 0, &(bool){ false });
    uint8_t at1[32];
    honest_go_on(b);
    assert_int_equal(cluster_block_hash(c, 1, 1, at1), 0);
    print_message("height 1: %s\n", memcmp(at1, a.hash, 32) == 0    ? "A"
                                    : memcmp(at1, bb.hash, 32) == 0 ? "B"
                                                                    : "another block");
    for (unsigned i = 1; i < 4; i++) {
        assert_true(view_of(c, i) >= 1); /* the equivocating primary is gone */
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
    build(l, 0, 0, wall_ms(), &v);
    uint8_t junk[32];
    memset(junk, 0xa5, sizeof junk);
    assert_int_equal(hostile_reroot(v.bytes, v.len, junk, NULL, &ftx.bytes, &ftx.len, ftx.hash),
                     0);
    assert_int_equal(hostile_reroot(v.bytes, v.len, NULL, junk, &fst.bytes, &fst.len, fst.hash),
                     0);
    propose(b, &h[1], 1, 0, &ftx, 2);
    propose(b, &h[2], 1, 0, &fst, 2);
    propose(b, &h[3], 1, 0, &fst, 2);
    assert_false(anyone_prepares(&h[1], 3, ftx.hash, 800));
    assert_false(anyone_prepares(&h[1], 3, fst.hash, 400));
    honest_go_on(b);
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
        send_msg(&h, msg, len);
        closed += closes(&h, 500);
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
    submit(c, 0, false, st);
    assert_string_equal(st, "pending");
    uint8_t *pp = malloc(MSG_CAP), *m0 = malloc(MSG_CAP), *m2 = malloc(MSG_CAP),
            *nv = malloc(MSG_CAP);
    assert_true(pp && m0 && m2 && nv);
    size_t pp_len, l0, l2;
    assert_true(await_msg(&h0, PBFT_MSG_PREPREPARE, pp, &pp_len, 5000));
    uint8_t digest[32];
    memcpy(digest, pp + HDR, 32);
    assert_int_equal(be64(pp + 4), 1);
    vote(b, &h0, PBFT_MSG_PREPARE, 1, 1, 0, digest);
    vote(b, &h2, PBFT_MSG_PREPARE, 1, 1, 0, digest);
    bool got0 = false, got2 = false;
    for (int k = 0; k < 10 && !(got0 && got2); k++) {
        if (!got0 && await_msg(&h0, PBFT_MSG_VIEWCHANGE, m0, &l0, 500))
            got0 = be64(m0 + 12) == 1;
        if (!got2 && await_msg(&h2, PBFT_MSG_VIEWCHANGE, m2, &l2, 500))
            got2 = be64(m2 + 12) == 1;
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
    build(l, 1, 1, wall_ms(), &mine);
    size_t n1 = sim_nv_encode(&b->cr, 1, 1, 1, false, NULL, vcs, 3, NULL, 0, nv, MSG_CAP);
    assert_int_equal(to_backups(c, nv, n1), 2);
    n1 = sim_nv_encode(&b->cr, 1, 1, 1, false, NULL, dup, 3, NULL, 0, nv, MSG_CAP);
    assert_int_equal(to_backups(c, nv, n1), 2);
    n1 = sim_nv_encode(&b->cr, 1, 1, 1, true, mine.hash, vcs, 3, mine.bytes, mine.len, nv,
                       MSG_CAP);
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
    honest_go_on(b);
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
                       const uint16_t *signers, unsigned count, const uint8_t sig[64],
                       uint8_t *out)
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
        vote(b, &h, k == 1 ? PBFT_MSG_COMMIT : PBFT_MSG_PREPARE, senders[k], 1, 0, digest);
        assert_true(closes(&h, 2000));
        hostile_close(&h);
    }
    uint8_t sig[64], m[512];
    commit_sig(b, 5, 0, digest, sig);
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    size_t n = cert_msg(3, 5, 0, digest, (const uint16_t[]){ 0, 3, 9 }, 3, sig, m);
    send_msg(&h, m, n);
    assert_true(closes(&h, 2000));
    hostile_close(&h);
    assert_false(syncing(c, 0));
    honest_go_on(b);
}

/* PREPARE, COMMIT, VIEW-CHANGE and NEW-VIEW at view 2^64-1 (validator 3
 * is its primary), 2^64-2 and 2^63, each validly signed and each on a link
 * of its own to one of the nodes in turn: nothing wraps, no honest node
 * follows into such a view, and the chain goes on in small views. (A
 * NEW-VIEW, which needs a quorum of VIEW-CHANGEs, carries ours three times:
 * refused as malformed, which drops the link.) */
static void votes_at_view_2_64_minus_1_change_nothing(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    uint8_t digest[32] = { 7 }, *nv = malloc(MSG_CAP), vcm[512], m[256];
    assert_non_null(nv);
    static const uint64_t views[] = { UINT64_MAX, UINT64_MAX - 1, UINT64_C(1) << 63 };
    static const char *const kinds[] = { "prepare", "commit", "view-change", "new-view" };
    unsigned to = 0;
    for (unsigned k = 0; k < 3; k++) {
        uint64_t v = views[k];
        struct sim_vc vc = { .sender = 3, .height = 1, .view = v };
        assert_int_equal(sim_vc_sign(&b->cr, &vc), 0);
        struct sim_vc three[3] = { vc, vc, vc };
        const uint8_t *msg[4] = { m, m + 128, vcm, nv };
        size_t len[4];
        assert_int_equal(pbft_msg_vote_encode(&b->cr, PBFT_MSG_PREPARE, 3, 1, v, digest, m, 128,
                                              &len[0]),
                         0);
        assert_int_equal(pbft_msg_vote_encode(&b->cr, PBFT_MSG_COMMIT, 3, 1, v, digest, m + 128,
                                              128, &len[1]),
                         0);
        len[2] = sim_vc_encode(&vc, false, vcm, sizeof vcm);
        len[3] = sim_nv_encode(&b->cr, 3, 1, v, false, NULL, three, 3, NULL, 0, nv, MSG_CAP);
        for (unsigned j = 0; j < 4; j++, to = (to + 1) % 3) {
            assert_true(len[j] > 0);
            struct hostile h;
            assert_int_equal(hostile_connect(c, 3, to, 5000, &h), 0);
            send_msg(&h, msg[j], len[j]);
            bool closed = closes(&h, 300);
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
        send_msg(&h[i], vcm, vl);
    }
    cluster_sleep_ms(200);
    assert_int_equal(cluster_signal(c, 0, SIGSTOP, NULL), 0);
    char st[16];
    submit(c, 1, false, st);
    cluster_sleep_ms(3500);
    assert_int_equal(cluster_signal(c, 0, SIGCONT, NULL), 0);
    honest_go_on(b);
    for (unsigned i = 0; i < 3; i++) {
        uint64_t v = view_of(c, i);
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
    honest_go_on(b);
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    uint8_t digest[32] = { 3 }, vcm[512];
    uint64_t heights[] = { UINT64_MAX, UINT64_C(1) << 63, cluster_height(c, 0) + 1000000 };
    for (unsigned k = 0; k < 3; k++) {
        vote(b, &h, PBFT_MSG_PREPARE, 3, heights[k], 0, digest);
        vote(b, &h, PBFT_MSG_COMMIT, 3, heights[k], 1, digest);
    }
    struct sim_vc vc = { .sender = 3, .height = UINT64_MAX, .view = 1 };
    assert_int_equal(sim_vc_sign(&b->cr, &vc), 0);
    size_t vl = sim_vc_encode(&vc, false, vcm, sizeof vcm);
    send_msg(&h, vcm, vl);
    hostile_drain(&h, 500, 0, &(bool){ false });
    assert_false(syncing(c, 0));
    hostile_close(&h);
    honest_go_on(b);
}

/* ---- sync replies --------------------------------------------------------------------- */

/* Real blocks 1..count of node `from` (a SYNC_REQ as validator 3): each
 * encoded Block and CommitCert, malloc'd. */
struct stored {
    uint8_t *block, *cert;
    size_t block_len, cert_len;
};

static unsigned fetch_blocks(struct cluster *c, unsigned from, struct stored *out, unsigned count)
{
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, from, 5000, &h), 0);
    uint8_t req[NODE_WIRE_SYNC_REQ_LEN];
    ledger_put_u64be(req, 1);
    ledger_put_u32be(req + 8, count);
    assert_int_equal(hostile_send(&h, NODE_WIRE_SYNC_REQ, req, sizeof req), 0);
    unsigned got = 0;
    for (;;) {
        uint8_t type;
        const uint8_t *body;
        size_t len;
        if (hostile_recv(&h, 3000, &type, &body, &len) != 1 || type == NODE_WIRE_SYNC_END)
            break;
        if (type != NODE_WIRE_SYNC_BLOCK || got == count)
            continue;
        Sealchain__StoredBlock *sb = sealchain__stored_block__unpack(NULL, len, body);
        assert_non_null(sb);
        struct stored *s = &out[got++];
        s->block_len = sealchain__block__get_packed_size(sb->block);
        s->cert_len = sealchain__commit_cert__get_packed_size(sb->cert);
        s->block = malloc(s->block_len);
        s->cert = malloc(s->cert_len);
        sealchain__block__pack(sb->block, s->block);
        sealchain__commit_cert__pack(sb->cert, s->cert);
        sealchain__stored_block__free_unpacked(sb, NULL);
    }
    hostile_close(&h);
    return got;
}

/* A StoredBlock of encoded block and cert bytes, sent as SYNC_BLOCK. */
static void send_stored(struct hostile *h, const uint8_t *block, size_t block_len,
                        const uint8_t *cert, size_t cert_len)
{
    Sealchain__Block *bl = sealchain__block__unpack(NULL, block_len, block);
    Sealchain__CommitCert *ce = sealchain__commit_cert__unpack(NULL, cert_len, cert);
    assert_true(bl != NULL && ce != NULL);
    Sealchain__StoredBlock sb = SEALCHAIN__STORED_BLOCK__INIT;
    sb.block = bl;
    sb.cert = ce;
    size_t len = sealchain__stored_block__get_packed_size(&sb);
    uint8_t *buf = malloc(len);
    sealchain__stored_block__pack(&sb, buf);
    hostile_send(h, NODE_WIRE_SYNC_BLOCK, buf, len);
    free(buf);
    sealchain__block__free_unpacked(bl, NULL);
    sealchain__commit_cert__free_unpacked(ce, NULL);
}

static void send_tip(struct hostile *h, uint64_t height)
{
    uint8_t body[NODE_WIRE_TIP_LEN] = { 0 };
    ledger_put_u64be(body, height);
    hostile_send(h, NODE_WIRE_TIP, body, sizeof body);
}

/* Node 2 empty and alone with us (nodes 0 and 1 frozen), asking us for
 * blocks from height 1: a link on which it waits for our answer. */
static void asked_by_empty_node2(struct cluster *c, struct hostile *h)
{
    assert_int_equal(hostile_connect(c, 3, 2, 5000, h), 0);
    send_tip(h, 10);
    uint64_t end = cluster_ms() + 4000;
    while (cluster_ms() < end) {
        uint8_t type;
        const uint8_t *body;
        size_t len;
        if (hostile_recv(h, 200, &type, &body, &len) == 1 && type == NODE_WIRE_SYNC_REQ &&
            len == NODE_WIRE_SYNC_REQ_LEN) {
            assert_int_equal(be64(body), 1);
            return;
        }
    }
    fail_msg("node 2 did not ask for blocks");
}

static void answer_with(struct cluster *c, const uint8_t *block, size_t block_len,
                        const uint8_t *cert, size_t cert_len, const char *log)
{
    struct hostile h;
    asked_by_empty_node2(c, &h);
    send_stored(&h, block, block_len, cert, cert_len);
    uint8_t end[NODE_WIRE_SYNC_END_LEN];
    ledger_put_u64be(end, 1);
    hostile_send(&h, NODE_WIRE_SYNC_END, end, sizeof end);
    bool closed = closes(&h, 3000);
    hostile_close(&h);
    print_message("%s: closed %d\n", log, closed);
    assert_true(closed);
    cluster_sleep_ms(100);
    assert_true(cluster_log_has(c, 2, log));
    assert_false(cluster_log_has(c, 2, "fail-stop"));
    assert_int_equal(cluster_height(c, 2), 0);
}

/* Node 2, wiped and alone with the test, asks it for blocks. Refused, the
 * link closed each time and nothing applied: a block nobody asked for;
 * block 2 when 1 was asked for; block 1 with a forged state root under its
 * real certificate; block 1 with a forged tx root (its transactions
 * replaced) under its real certificate; block 1 with a forged state root
 * under a certificate of our own signature counted three times (duplicate
 * signers: a quorum if they were counted). The node never fail-stops, and
 * once the honest nodes are back it catches up. */
static void sync_replies_with_forged_or_wrong_blocks_are_refused(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    char st[16];
    for (int k = 0; k < 3; k++) {
        submit(c, 0, true, st);
        assert_string_equal(st, "committed");
    }
    struct stored sb[2] = { 0 };
    assert_int_equal(fetch_blocks(c, 1, sb, 2), 2);
    assert_int_equal(cluster_signal(c, 2, SIGKILL, NULL), 0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/node2/data'", c->dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cluster_signal(c, 0, SIGSTOP, NULL), 0);
    assert_int_equal(cluster_signal(c, 1, SIGSTOP, NULL), 0);
    assert_int_equal(cluster_start(c, 2), 0);
    assert_int_equal(cluster_wait_up(c, 2, 10000), 0);

    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 2, 5000, &h), 0);
    send_stored(&h, sb[0].block, sb[0].block_len, sb[0].cert, sb[0].cert_len);
    assert_true(closes(&h, 2000));
    hostile_close(&h);
    assert_true(cluster_log_has(c, 2, "unasked sync block"));

    asked_by_empty_node2(c, &h);
    send_stored(&h, sb[1].block, sb[1].block_len, sb[1].cert, sb[1].cert_len);
    assert_true(closes(&h, 2000));
    hostile_close(&h);
    assert_true(cluster_log_has(c, 2, "out of order"));

    uint8_t junk[32], fhash[32], *forged, *cert;
    size_t flen, clen;
    memset(junk, 0x5c, sizeof junk);
    assert_int_equal(hostile_reroot(sb[0].block, sb[0].block_len, NULL, junk, &forged, &flen, fhash),
                     0);
    answer_with(c, forged, flen, sb[0].cert, sb[0].cert_len, "another block hash");

    Sealchain__Block *bl = sealchain__block__unpack(NULL, sb[0].block_len, sb[0].block);
    assert_non_null(bl);
    assert_true(bl->n_txs >= 1);
    bl->txs[0].data[bl->txs[0].len - 1] ^= 1; /* another tx: another leaf */
    uint8_t body[65536];
    size_t blen = sealchain__block__pack(bl, body);
    sealchain__block__free_unpacked(bl, NULL);
    answer_with(c, body, blen, sb[0].cert, sb[0].cert_len, "bad sync blocks");
    assert_true(cluster_log_has(c, 2, "root") || cluster_log_has(c, 2, "match"));

    const uint32_t thrice[] = { 3, 3, 3 };
    assert_int_equal(hostile_cert(&b->s, 1, 0, fhash, thrice, 3, &cert, &clen), 0);
    answer_with(c, forged, flen, cert, clen, "duplicate signer");
    free(cert);
    free(forged);
    for (int k = 0; k < 2; k++) {
        free(sb[k].block);
        free(sb[k].cert);
    }
    cluster_signal(c, 0, SIGCONT, NULL);
    cluster_signal(c, 1, SIGCONT, NULL);
    honest_go_on(b);
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
    honest_go_on(b);
    uint64_t at = cluster_height(c, 0) + 10;
    uint8_t digest[32] = { 0x42 }, sig[64], m[512];
    commit_sig(b, at, 0, digest, sig);
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    size_t n = cert_msg(3, at, 0, digest, (const uint16_t[]){ 3, 3, 3 }, 3, sig, m);
    send_msg(&h, m, n);
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
    assert_false(syncing(c, 0));
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
        send_msg(&h, m, n);
        assert_true(closes(&h, 2000));
        hostile_close(&h);
    }
    honest_go_on(b);
}

/* ---- frames --------------------------------------------------------------------------- */

static void expect_drop(struct cluster *c, uint8_t type, const uint8_t *body, size_t len)
{
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    hostile_send(&h, type, body, len);
    bool closed = closes(&h, 2000);
    hostile_close(&h);
    print_message("frame type %u of %zu bytes: closed %d\n", type, len, closed);
    assert_true(closed);
}

/* Writes raw bytes on an authenticated link (past the frame layer). */
static void expect_drop_raw(struct cluster *c, const uint8_t *raw, size_t len, bool then_valid)
{
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    assert_true(send(h.fd, raw, len, MSG_NOSIGNAL) == (ssize_t)len);
    if (then_valid)
        send_tip(&h, 0);
    bool closed = closes(&h, 2000);
    hostile_close(&h);
    print_message("%zu raw bytes: closed %d\n", len, closed);
    assert_true(closed);
}

/* Valid messages with bytes after them inside the encrypted frame (a
 * signed PREPARE, a transaction, a TIP, a SYNC_REQ), an unasked SYNC_END
 * one byte long, a frame announced larger than any allowed, one cut short
 * (its length names more bytes than come before the next frame) and one
 * shorter than its MAC: each drops the peer, and memory stays bounded. */
static void frames_with_trailing_bytes_oversized_or_truncated_drop_the_peer(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    uint8_t m[1024], digest[32] = { 1 };
    size_t len;
    assert_int_equal(
        pbft_msg_vote_encode(&b->cr, PBFT_MSG_PREPARE, 3, 1, 0, digest, m, sizeof m, &len), 0);
    memcpy(m + len, "\x00\x01\x02", 3);
    expect_drop(c, NODE_WIRE_CONSENSUS, m, len + 3);
    uint8_t *tx;
    size_t tx_len;
    assert_int_equal(cluster_tx(c, 0, &tx, &tx_len), 0);
    uint8_t *txg = malloc(tx_len + 3);
    memcpy(txg, tx, tx_len);
    memcpy(txg + tx_len, "\x00\x00\x00", 3);
    expect_drop(c, NODE_WIRE_TX, txg, tx_len + 3);
    free(txg);
    free(tx);
    uint8_t big[64] = { 0 };
    expect_drop(c, NODE_WIRE_TIP, big, NODE_WIRE_TIP_LEN + 1);
    ledger_put_u32be(big + 8, 1);
    expect_drop(c, NODE_WIRE_SYNC_REQ, big, NODE_WIRE_SYNC_REQ_LEN + 1);
    expect_drop(c, NODE_WIRE_SYNC_END, big, 1);
    expect_drop_raw(c, (const uint8_t *)"\xff\xff\xff\xff", 4, false);
    uint8_t cut[4 + 50]; /* 100 bytes announced, 50 sent, then a whole frame */
    ledger_put_u32be(cut, 100);
    memset(cut + 4, 0x33, 50);
    expect_drop_raw(c, cut, sizeof cut, true);
    ledger_put_u32be(cut, 5);
    expect_drop_raw(c, cut, 9, false);
    honest_go_on(b);
}

/* ---- handshakes ----------------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Reads one plain handshake frame within ms; 1, 0 time-out, -1 closed. */
static int read_hs(int fd, struct node_frame_rx *rx, int ms, const uint8_t **msg, size_t *len)
{
    uint8_t buf[4096];
    uint64_t end = cluster_ms() + (uint64_t)ms;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint64_t now = cluster_ms();
        if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
            return 0;
        ssize_t r = recv(fd, buf, 1, 0); /* byte by byte: no frame is read past */
        if (r <= 0)
            return -1;
        size_t used;
        if (node_frame_rx_feed(rx, buf, 1, &used, msg, len) != 0)
            return -1;
        if (*msg != NULL)
            return 1;
    }
}

/* A handshake as validator 3 with node 0, the bytes we sent recorded:
 * HELLO (hello_len bytes) then FINISH. 0 or -1. */
static int recorded_handshake(struct byz *b, uint8_t *rec, size_t *rec_len, size_t *hello_len)
{
    struct cluster *c = &b->c;
    uint8_t keys[LEDGER_MAX_VALIDATORS][LEDGER_KEY_LEN];
    for (unsigned i = 0; i < c->g.n; i++)
        memcpy(keys[i], c->g.validators[i].node_key, LEDGER_KEY_LEN);
    int fd = hostile_tcp(c, 0), rc = -1;
    struct node_hs hs;
    struct node_frame_rx rx;
    const uint8_t *out, *msg;
    size_t out_len, msg_len;
    node_frame_rx_init_plain(&rx, NODE_HS_MSG_MAX);
    if (node_hs_init(&hs, NODE_HS_DIALER, c->g.hash, b->s.sk, &keys[0][0], c->g.n, 0, wall_ms(),
                     &out, &out_len) != 0)
        goto out;
    memcpy(rec, out, out_len);
    *hello_len = *rec_len = out_len;
    if (write_all(fd, out, out_len) != 0 || read_hs(fd, &rx, 3000, &msg, &msg_len) != 1 ||
        node_hs_step(&hs, msg, msg_len, wall_ms(), &out, &out_len) != 0 || !node_hs_done(&hs))
        goto out_hs;
    memcpy(rec + *rec_len, out, out_len);
    *rec_len += out_len;
    rc = write_all(fd, out, out_len);
out_hs:
    node_hs_close(&hs);
out:
    node_frame_rx_close(&rx);
    cluster_sleep_ms(200);
    close(fd);
    return rc;
}

/* The bytes of a completed handshake, replayed on a new TCP connection
 * (HELLO, then FINISH once node 0 answers): the node's fresh challenge
 * makes the old FINISH worthless; the link is refused and closed. */
static void a_replayed_handshake_is_refused(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    uint8_t rec[4096];
    size_t rec_len = 0, hello_len = 0;
    assert_int_equal(recorded_handshake(b, rec, &rec_len, &hello_len), 0);
    assert_true(rec_len > hello_len);
    int fd = hostile_tcp(c, 0);
    assert_true(fd >= 0);
    struct node_frame_rx rx;
    node_frame_rx_init_plain(&rx, NODE_HS_MSG_MAX);
    const uint8_t *msg;
    size_t msg_len;
    assert_int_equal(write_all(fd, rec, hello_len), 0);
    int got = read_hs(fd, &rx, 3000, &msg, &msg_len);
    node_frame_rx_close(&rx);
    assert_int_equal(got, 1);
    write_all(fd, rec + hello_len, rec_len - hello_len);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    uint8_t buf[256];
    bool closed = false;
    uint64_t end = cluster_ms() + 3000;
    while (!closed && cluster_ms() < end && poll(&p, 1, 200) >= 0)
        if (p.revents && recv(fd, buf, sizeof buf, 0) <= 0)
            closed = true;
    close(fd);
    assert_true(closed);
    assert_true(cluster_log_has(c, 0, "handshake:"));
    honest_go_on(b);
}

/* Three diallers on node 0's peer port send a real HELLO one byte a
 * second and never finish. The node closes each within its handshake
 * deadline (NODE_HS_TIMEOUT_MS), and commits meanwhile take no longer
 * than usual. */
static void a_one_byte_per_second_dialler_is_cut_off_at_the_handshake_deadline(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    uint8_t keys[LEDGER_MAX_VALIDATORS][LEDGER_KEY_LEN];
    for (unsigned i = 0; i < c->g.n; i++)
        memcpy(keys[i], c->g.validators[i].node_key, LEDGER_KEY_LEN);
    struct node_hs hs;
    const uint8_t *out;
    size_t out_len;
    assert_int_equal(node_hs_init(&hs, NODE_HS_DIALER, c->g.hash, b->s.sk, &keys[0][0], c->g.n, 0,
                                  wall_ms(), &out, &out_len),
                     0);
    uint8_t hello[1024];
    assert_true(out_len <= sizeof hello);
    memcpy(hello, out, out_len);
    node_hs_close(&hs);
    enum { LORIS = 3 };
    int fd[LORIS];
    uint64_t t0 = cluster_ms(), closed_at[LORIS] = { 0 }, worst = 0;
    for (unsigned k = 0; k < LORIS; k++)
        assert_true((fd[k] = hostile_tcp(c, 0)) >= 0);
    unsigned open = LORIS;
    for (size_t sent = 0; open > 0 && cluster_ms() - t0 < NODE_HS_TIMEOUT_MS + 4000; sent++) {
        for (unsigned k = 0; k < LORIS; k++) {
            if (closed_at[k] != 0)
                continue;
            uint8_t buf[256];
            struct pollfd p = { .fd = fd[k], .events = POLLIN };
            bool gone = send(fd[k], &hello[sent % out_len], 1, MSG_NOSIGNAL) != 1;
            while (!gone && poll(&p, 1, 0) > 0)
                gone = recv(fd[k], buf, sizeof buf, 0) <= 0;
            if (gone) {
                closed_at[k] = cluster_ms() - t0;
                open--;
            }
        }
        uint64_t s0 = cluster_ms();
        char st[16];
        submit(c, 0, true, st);
        assert_string_equal(st, "committed");
        uint64_t took = cluster_ms() - s0;
        worst = took > worst ? took : worst;
        if (took < 1000)
            cluster_sleep_ms((unsigned)(1000 - took));
    }
    for (unsigned k = 0; k < LORIS; k++) {
        close(fd[k]);
        print_message("dialler %u closed after %" PRIu64 " ms\n", k, closed_at[k]);
        assert_true(closed_at[k] != 0 && closed_at[k] <= NODE_HS_TIMEOUT_MS + 2000);
    }
    print_message("slowest commit meanwhile: %" PRIu64 " ms\n", worst);
    assert_true(worst < 3000);
    honest_go_on(b);
}

/* ---- floods --------------------------------------------------------------------------- */

/* As gossip: up to 2,000 well-formed transactions with a bad signature
 * each (the first drops the peer), then on a new link one valid
 * transaction 5,000 times over and 5,000 distinct validly signed
 * PREPAREs. Memory stays bounded, a submit at the node commits during the
 * flood, and the chain goes on. */
static void floods_of_transactions_and_votes_leave_memory_bounded(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    unsigned bad_sent = 0;
    for (unsigned k = 0; k < 2000; k++) {
        uint8_t *tx;
        size_t len;
        assert_int_equal(cluster_tx(c, k % 3, &tx, &len), 0);
        tx[len - 1] ^= 0x40; /* the signature, last field */
        bad_sent += hostile_send(&h, NODE_WIRE_TX, tx, len) == 0;
        free(tx);
    }
    char st[16];
    submit(c, 0, true, st);
    print_message("bad-signature txs written: %u; a submit meanwhile: %s\n", bad_sent, st);
    assert_string_equal(st, "committed");
    bool dropped = closes(&h, 300);
    hostile_close(&h);
    print_message("flooding peer dropped: %d\n", dropped);

    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    uint8_t *tx;
    size_t len;
    assert_int_equal(cluster_tx(c, 1, &tx, &len), 0);
    assert_int_equal(hostile_send_copies(&h, NODE_WIRE_TX, tx, len, 5000), 0);
    free(tx);
    uint64_t height = cluster_height(c, 0);
    for (unsigned k = 0; k < 5000; k++) {
        uint8_t digest[32] = { 0 };
        ledger_put_u32be(digest, k);
        vote(b, &h, PBFT_MSG_PREPARE, 3, height + 1, 0, digest);
    }
    submit(c, 0, true, st);
    assert_string_equal(st, "committed");
    hostile_close(&h);
    honest_go_on(b);
}

/* CPU time (user + system) node i has used, in ms, or 0. */
static uint64_t cpu_ms(struct cluster *c, unsigned i)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)c->pid[i]);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    char *p = ok ? strrchr(line, ')') : NULL;
    unsigned long long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (ut + st) * 1000 / (uint64_t)sysconf(_SC_CLK_TCK);
}

/* One well-formed transaction with a bad signature, gossiped 20,000 times
 * in one write. An honest node gossips only transactions whose signatures
 * it checked, and a signature's validity does not depend on state, so the
 * first such copy proves the peer faulty. Each copy was verified again
 * (it is never held, so never a duplicate) in the slots the operator's
 * submits share (NODE_DAEMON_VERIFY_MAX), and the peer stayed to send the
 * next write: ~260 ms of CPU per 20,000-copy write here. The peer is
 * dropped at the first (~70 ms: the copies already read). */
static void a_gossiped_transaction_with_a_bad_signature_drops_the_peer(void **state)
{
    struct byz *b = *state;
    struct cluster *c = &b->c;
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    uint8_t *tx;
    size_t len;
    assert_int_equal(cluster_tx(c, 1, &tx, &len), 0);
    tx[len - 1] ^= 0x40; /* the signature, last field */
    uint64_t before = cpu_ms(c, 0);
    bool closed = hostile_send_copies(&h, NODE_WIRE_TX, tx, len, 20000) != 0;
    free(tx);
    if (!closed)
        closed = closes(&h, 3000);
    hostile_close(&h);
    print_message("node 0 spent %" PRIu64 " ms of CPU (closed: %d)\n", cpu_ms(c, 0) - before,
                  closed);
    assert_true(closed);
    cluster_sleep_ms(100);
    assert_true(cluster_log_has(c, 0, "transaction with a bad signature"));
    honest_go_on(b);
}

int main(void)
{
    if (getenv("TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            equivocating_pre_prepares_commit_one_block_and_the_view_moves_on, setup_as0,
            teardown),
        cmocka_unit_test_setup_teardown(a_primary_block_with_a_forged_tx_or_state_root_is_refused,
                                        setup_as0, teardown),
        cmocka_unit_test_setup_teardown(a_new_view_that_omits_the_prepared_block_is_refused,
                                        setup_as1, teardown),
        cmocka_unit_test_setup_teardown(votes_with_out_of_range_validator_indexes_drop_the_peer,
                                        setup_as3, teardown),
        cmocka_unit_test_setup_teardown(votes_at_view_2_64_minus_1_change_nothing, setup_as3,
                                        teardown),
        cmocka_unit_test_setup_teardown(votes_for_heights_far_in_the_future_change_nothing,
                                        setup_as3, teardown),
        cmocka_unit_test_setup_teardown(sync_replies_with_forged_or_wrong_blocks_are_refused,
                                        setup_as3, teardown),
        cmocka_unit_test_setup_teardown(a_consensus_certificate_with_duplicate_signers_is_refused,
                                        setup_as3, teardown),
        cmocka_unit_test_setup_teardown(
            frames_with_trailing_bytes_oversized_or_truncated_drop_the_peer, setup_as3, teardown),
        cmocka_unit_test_setup_teardown(a_replayed_handshake_is_refused, setup_as3, teardown),
        cmocka_unit_test_setup_teardown(
            a_one_byte_per_second_dialler_is_cut_off_at_the_handshake_deadline, setup_as3,
            teardown),
        cmocka_unit_test_setup_teardown(floods_of_transactions_and_votes_leave_memory_bounded,
                                        setup_as3, teardown),
        cmocka_unit_test_setup_teardown(a_gossiped_transaction_with_a_bad_signature_drops_the_peer,
                                        setup_as3, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
