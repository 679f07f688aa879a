/* Hostile peers and clients against real sealchaind processes: each test an attack that once
 * worked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ledger/crypto.h"
#include "consensus/pbft.h"
#include "node/api.h"
#include "node/keyfile.h"
#include "node/wire.h"
#include "proto/block.pb-c.h"
#include "tests/integration/cluster.h"
#include "tests/integration/hostile.h"

/* Four validators; nodes 0..2 run (a quorum of three), the test holds
 * validator 3's key and plays it. */
#define ME 3

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    struct cluster *c = calloc(1, sizeof *c);
    if (c == NULL || cluster_new(c, 4, NULL) != 0) {
        print_error("cluster_new failed\n");
        free(c);
        return -1;
    }
    for (unsigned i = 0; i < 3; i++)
        if (cluster_start(c, i) != 0)
            return -1;
    for (unsigned i = 0; i < 3; i++)
        if (cluster_wait_up(c, i, 10000) != 0)
            return -1;
    *state = c;
    return 0;
}

/* After every attack each node still stops cleanly on SIGTERM with exit 0:
 * under ASan that also means no leak (LeakSanitizer fails the exit). */
static int teardown(void **state)
{
    struct cluster *c = *state;
    int rc = 0;
    for (unsigned i = 0; i < 3; i++) {
        int st = 0;
        if (c->pid[i] > 0 && cluster_signal(c, i, SIGTERM, &st) == 0 &&
            !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            print_error("node %u did not stop cleanly (wait status %#x)\n", i, (unsigned)st);
            rc = -1;
        }
    }
    cluster_free(c, getenv("KEEP") != NULL);
    free(c);
    return rc;
}

/* Submits a fresh tx at node i; status gets the reply's status ("error"
 * when the node answered with something other than a submit reply). */
static void submit_status(struct cluster *c, unsigned i, bool wait, char status[16])
{
    uint8_t *tx;
    size_t len;
    assert_int_equal(cluster_tx(c, i, &tx, &len), 0);
    cluster_submit(c, i, tx, len, wait, status, NULL);
    free(tx);
}

static void commit_some(struct cluster *c, unsigned count)
{
    char st[16];
    for (unsigned k = 0; k < count; k++) {
        submit_status(c, 0, true, st);
        assert_string_equal(st, "committed");
    }
}

/* Reads frames until one of type arrives; returns false if the link closed
 * or timeout_ms passed first. */
static bool await_frame(struct hostile *h, uint8_t want, int timeout_ms, uint8_t *body_out,
                        size_t body_cap, size_t *len_out)
{
    uint64_t end = cluster_ms() + (uint64_t)timeout_ms;
    while (cluster_ms() < end) {
        uint8_t type;
        const uint8_t *body;
        size_t len;
        int rc = hostile_recv(h, (int)(end - cluster_ms()), &type, &body, &len);
        if (rc < 0)
            return false;
        if (rc == 1 && type == want) {
            if (body_out != NULL && len <= body_cap)
                memcpy(body_out, body, len);
            if (len_out != NULL)
                *len_out = len;
            return true;
        }
    }
    return false;
}

static void send_tip(struct hostile *h, uint64_t height)
{
    uint8_t body[NODE_WIRE_TIP_LEN] = { 0 };
    ledger_put_u64be(body, height);
    assert_int_equal(hostile_send(h, NODE_WIRE_TIP, body, sizeof body), 0);
}

/* A Byzantine validator announces a tip of 2^64-1. One peer's word must
 * not make the node refuse every operator submit as "syncing" (f+1 peers
 * vouch for a height before the node calls itself behind), and a peer that
 * claims blocks it then does not send is dropped as a liar. */
static void a_peer_lying_about_its_tip_neither_stalls_submits_nor_stays(void **state)
{
    struct cluster *c = *state;
    commit_some(c, 1);
    struct hostile h;
    assert_int_equal(hostile_connect(c, ME, 0, 5000, &h), 0);
    send_tip(&h, UINT64_MAX);
    uint8_t req[NODE_WIRE_SYNC_REQ_LEN];
    size_t len = 0;
    assert_true(await_frame(&h, NODE_WIRE_SYNC_REQ, 3000, req, sizeof req, &len));
    assert_int_equal(len, NODE_WIRE_SYNC_REQ_LEN);
    /* While the request is outstanding, the operator can still submit. */
    char st[16];
    submit_status(c, 0, false, st);
    assert_string_equal(st, "pending");
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    assert_int_equal(cluster_status(c, 0, &s, &r), 0);
    assert_false(s->syncing);
    sealchain__api_reply__free_unpacked(r, NULL);
    /* Nothing to show for the claim: dropped. */
    uint8_t end[NODE_WIRE_SYNC_END_LEN] = { 0 };
    assert_int_equal(hostile_send(&h, NODE_WIRE_SYNC_END, end, sizeof end), 0);
    bool closed;
    hostile_drain(&h, 3000, 0, &closed);
    assert_true(closed);
    hostile_close(&h);
    sleep_ms(100);
    assert_true(cluster_log_has(c, 0, "sent no block"));
}

/* Twelve bytes of SYNC_REQ buy up to 8 MiB of answer. A peer sending them
 * back to back must not get one full answer each: answers come out of a
 * per-peer budget, a request that finds it spent is owed, and a second
 * request while one is owed (an honest node never has two out) drops it. */
static void a_flood_of_sync_requests_gets_a_few_answers_not_hundreds(void **state)
{
    struct cluster *c = *state;
    commit_some(c, 3);
    struct hostile h;
    assert_int_equal(hostile_connect(c, ME, 0, 5000, &h), 0);
    uint8_t req[NODE_WIRE_SYNC_REQ_LEN];
    ledger_put_u64be(req, 1);
    ledger_put_u32be(req + 8, 64);
    unsigned sent = 200;
    assert_int_equal(hostile_send_copies(&h, NODE_WIRE_SYNC_REQ, req, sizeof req, sent), 0);
    bool closed;
    unsigned answers = hostile_drain(&h, 1500, NODE_WIRE_SYNC_END, &closed);
    hostile_close(&h);
    print_message("sync answers to %u requests: %u (closed: %d)\n", sent, answers, closed);
    assert_true(answers <= 8); /* the burst, a refill or two; before: every one */
    /* The node is fine and still commits. */
    commit_some(c, 1);
}

/* Strangers open more connections than the handshake slots and say
 * nothing. A validator dialling in must still get through: the oldest
 * silent stranger gives way, not the newcomer. */
static void silent_strangers_do_not_lock_a_validator_out(void **state)
{
    struct cluster *c = *state;
    enum { STRANGERS = 48 };
    int fds[STRANGERS];
    for (unsigned k = 0; k < STRANGERS; k++)
        fds[k] = hostile_tcp(c, 0);
    sleep_ms(100);
    struct hostile h;
    int rc = hostile_connect(c, ME, 0, 3000, &h);
    if (rc == 0)
        hostile_close(&h);
    for (unsigned k = 0; k < STRANGERS; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    assert_int_equal(rc, 0);
}

static int api_connect(struct cluster *c, unsigned i)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char path[400];
    int n = snprintf(path, sizeof path, "%s/node%u/node.sock", c->dir, i);
    if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
        close(fd);
        return -1;
    }
    memcpy(sa.sun_path, path, (size_t)n + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A local client opens NODE_API_CLIENTS_MAX connections and sends nothing.
 * The operator's next sealctl must still be served: the longest-idle client
 * gives way. Node 0 is restarted with the common default of 1,024
 * descriptors: before the socket's own bound, the node ran out of them and
 * libuv closed every new client at once, whatever the eviction did. */
static void idle_api_clients_do_not_lock_the_operator_out(void **state)
{
    struct cluster *c = *state;
    struct rlimit rl, low;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max < NODE_API_CLIENTS_MAX + 300) {
        skip();
        return;
    }
    assert_int_equal(cluster_signal(c, 0, SIGTERM, NULL), 0);
    low = rl;
    low.rlim_cur = 1024;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int started = cluster_start(c, 0);
    setrlimit(RLIMIT_NOFILE, &rl);
    assert_int_equal(started, 0);
    assert_int_equal(cluster_wait_up(c, 0, 10000), 0);
    enum { IDLE = NODE_API_CLIENTS_MAX + 16 };
    int *fds = calloc(IDLE, sizeof *fds);
    assert_non_null(fds);
    unsigned opened = 0;
    for (unsigned k = 0; k < IDLE; k++)
        if ((fds[k] = api_connect(c, 0)) >= 0)
            opened++;
    sleep_ms(300);
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    int rc = cluster_status(c, 0, &s, &r);
    if (rc == 0)
        sealchain__api_reply__free_unpacked(r, NULL);
    for (unsigned k = 0; k < IDLE; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    free(fds);
    print_message("idle clients opened: %u\n", opened);
    assert_int_equal(rc, 0);
}

/* A TX frame that is no transaction at all: the peer is dropped (wire.h:
 * a frame that does not decode drops its peer), not silently ignored
 * forever. */
static void a_garbage_transaction_frame_drops_the_peer(void **state)
{
    struct cluster *c = *state;
    struct hostile h;
    assert_int_equal(hostile_connect(c, ME, 0, 5000, &h), 0);
    uint8_t junk[64];
    memset(junk, 0xff, sizeof junk);
    assert_int_equal(hostile_send(&h, NODE_WIRE_TX, junk, sizeof junk), 0);
    bool closed;
    hostile_drain(&h, 2000, 0, &closed);
    hostile_close(&h);
    assert_true(closed);
    commit_some(c, 1);
}

/* A CONSENSUS frame that is no PBFT message, or a real one sent under
 * another validator's index: the core ignored both, but the peer stayed
 * connected (wire.h and DESIGN §6: a peer whose frame does not decode is
 * dropped; an honest node only ever sends its own messages). */
static void junk_or_relayed_consensus_frames_drop_the_peer(void **state)
{
    struct cluster *c = *state;
    struct hostile h;
    assert_int_equal(hostile_connect(c, ME, 0, 5000, &h), 0);
    uint8_t junk[64];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(hostile_send(&h, NODE_WIRE_CONSENSUS, junk, sizeof junk), 0);
    bool closed;
    hostile_drain(&h, 1000, 0, &closed);
    hostile_close(&h);
    assert_true(closed);

    assert_int_equal(hostile_connect(c, ME, 0, 5000, &h), 0);
    commit_some(c, 1);
    uint8_t msg[4096];
    size_t len = 0;
    assert_true(await_frame(&h, NODE_WIRE_CONSENSUS, 3000, msg, sizeof msg, &len));
    assert_true(len <= sizeof msg);
    /* node 0's own message, back to it under our link */
    assert_int_equal(hostile_send(&h, NODE_WIRE_CONSENSUS, msg, len), 0);
    hostile_drain(&h, 1000, 0, &closed);
    hostile_close(&h);
    assert_true(closed);
    commit_some(c, 1);
}

/* Twenty thousand PREPAREs for a future height under our index, each with
 * a signature that does not verify (node 0's vote, re-addressed). The core
 * checks a future vote's signature (evidence that a peer is ahead) and
 * drops a bad one, but the link stayed: each 130-byte frame cost the loop
 * an Ed25519 verification (20,000 held an operator's status call ~0.5 s)
 * and the peer could go on. An honest node never sends a bad signature
 * (it relays only votes it verified): the first one drops the peer. */
static void a_flood_of_badly_signed_votes_drops_the_peer_at_the_first(void **state)
{
    struct cluster *c = *state;
    struct hostile h;
    assert_int_equal(hostile_connect(c, ME, 0, 5000, &h), 0);
    commit_some(c, 1);
    uint8_t msg[4096];
    size_t len = 0;
    bool got_vote = false;
    for (int k = 0; k < 50 && !got_vote; k++) {
        assert_true(await_frame(&h, NODE_WIRE_CONSENSUS, 3000, msg, sizeof msg, &len));
        got_vote = len > 12 && len <= sizeof msg && msg[1] == 2 /* PREPARE */;
    }
    assert_true(got_vote);
    uint64_t height = 0;
    for (int k = 0; k < 8; k++)
        height = height << 8 | msg[4 + k];
    msg[2] = 0; /* sender: us, so the signature no longer verifies */
    msg[3] = ME;
    ledger_put_u64be(msg + 4, height + 5);
    /* The write may fail part way: the node closed the link on us. */
    bool closed = hostile_send_copies(&h, NODE_WIRE_CONSENSUS, msg, len, 20000) != 0;
    if (!closed)
        hostile_drain(&h, 1000, 0, &closed);
    hostile_close(&h);
    assert_true(closed);
    sleep_ms(100);
    assert_true(cluster_log_has(c, 0, "bad signature"));
    commit_some(c, 1);
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
    char *p = ok ? strrchr(line, ')') : NULL; /* after "pid (comm)" */
    unsigned long long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (ut + st) * 1000 / (uint64_t)sysconf(_SC_CLK_TCK);
}

struct sign_ctx {
    const struct ledger_genesis *g;
    const uint8_t *sk;
};

static int sign_vote(void *ctx, enum pbft_sig_kind kind, const uint8_t *payload, size_t len,
                     uint8_t sig[PBFT_SIG_SIZE])
{
    struct sign_ctx *sc = ctx;
    if (kind != PBFT_SIG_PREPARE)
        return -1;
    return ledger_sign(LEDGER_TAG_PREPARE, sc->g->hash, payload, len, sc->sk, sig);
}

/* One PREPARE for a future height, validly signed with our node key,
 * replayed 20,000 times. The core checked the signature of every copy (a
 * future vote is evidence that a peer is ahead) although only the first
 * could add evidence: a free way to spend the node's loop on Ed25519
 * verifications (about a second of CPU per burst). Only a vote that can
 * raise what is known of its sender is checked now. */
static void a_replayed_future_vote_is_verified_once_not_each_time(void **state)
{
    struct cluster *c = *state;
    char path[400], err[512];
    snprintf(path, sizeof path, "%s/node%u/node.key", c->dir, ME);
    struct node_key k = { 0 };
    assert_int_equal(node_keyfile_read(path, &k, err, sizeof err), 0);
    struct sign_ctx sc = { &c->g, k.sk };
    struct pbft_crypto crypto = { .ctx = &sc, .sign = sign_vote };
    uint8_t digest[PBFT_DIGEST_SIZE] = { 7 }, msg[512];
    size_t len = 0;
    assert_int_equal(
        pbft_msg_vote_encode(&crypto, PBFT_MSG_PREPARE, ME, 1000, 0, digest, msg, sizeof msg, &len),
        0);
    node_key_close(&k);
    struct hostile h;
    assert_int_equal(hostile_connect(c, ME, 0, 5000, &h), 0);
    uint64_t before = cpu_ms(c, 0);
    assert_int_equal(hostile_send_copies(&h, NODE_WIRE_CONSENSUS, msg, len, 20000), 0);
    /* a status call is answered after the burst was read */
    bool closed;
    hostile_drain(&h, 500, 0, &closed);
    assert_true(cluster_height(c, 0) != UINT64_MAX);
    uint64_t spent = cpu_ms(c, 0) - before;
    hostile_close(&h);
    print_message("node 0 spent %" PRIu64 " ms of CPU on 20,000 copies (closed: %d)\n", spent,
                  closed);
    assert_false(closed);     /* a valid vote: nothing to drop the peer for */
    assert_true(spent < 250); /* ~20 ms now; ~560 ms before */
}

/* Peak resident memory of node i in KiB (VmHWM), or 0. */
static unsigned long peak_kib(struct cluster *c, unsigned i)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)c->pid[i]);
    FILE *f = fopen(path, "r");
    unsigned long kib = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %lu kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Claims to be far ahead of node 0 and returns the height node 0 asks
 * for first. */
static uint64_t lure_sync_request(struct cluster *c, struct hostile *h)
{
    uint64_t tip = cluster_height(c, 0);
    assert_int_equal(hostile_connect(c, ME, 0, 5000, h), 0);
    send_tip(h, tip + 64);
    uint8_t req[NODE_WIRE_SYNC_REQ_LEN];
    size_t len = 0;
    assert_true(await_frame(h, NODE_WIRE_SYNC_REQ, 3000, req, sizeof req, &len));
    uint64_t from = 0;
    for (int k = 0; k < 8; k++)
        from = from << 8 | req[k];
    return from;
}

/* protobuf varint and a length-delimited field header into out; returns
 * the bytes written. */
static size_t put_len_field(uint8_t *out, uint32_t field, size_t len)
{
    size_t n = 0;
    out[n++] = (uint8_t)(field << 3 | 2);
    do {
        uint8_t b = len & 0x7f;
        len >>= 7;
        out[n++] = (uint8_t)(b | (len ? 0x80 : 0));
    } while (len);
    return n;
}

/* A SYNC_BLOCK of 8 MiB whose block is four million empty tx entries:
 * protobuf-c allocates per entry before any count is checked (ledger/
 * codec.h: ledger_wire_count), so unpacking it cost the node hundreds of
 * MiB. The node must refuse it for the price of the bytes. */
static void a_sync_block_of_empty_entries_costs_no_more_than_its_bytes(void **state)
{
    struct cluster *c = *state;
    struct hostile h;
    lure_sync_request(c, &h);
    const size_t inner = 8u << 20;
    uint8_t *body = malloc(inner + 32);
    assert_non_null(body);
    size_t n = put_len_field(body, 1 /* StoredBlock.block */, inner);
    for (size_t k = 0; k < inner; k += 2) {
        body[n + k] = 2 << 3 | 2; /* Block.txs, length 0 */
        body[n + k + 1] = 0;
    }
    n += inner;
    unsigned long before = peak_kib(c, 0);
    assert_true(before > 0);
    assert_int_equal(hostile_send(&h, NODE_WIRE_SYNC_BLOCK, body, n), 0);
    free(body);
    bool closed;
    hostile_drain(&h, 3000, 0, &closed);
    hostile_close(&h);
    unsigned long after = peak_kib(c, 0);
    print_message("node 0 peak RSS %lu -> %lu KiB (closed: %d)\n", before, after, closed);
    assert_true(closed);
    assert_true(after - before < 64 * 1024);
    commit_some(c, 1);
}

/* An encoded StoredBlock for height h with one junk tx of tx_len bytes and
 * a junk certificate; *out malloc'd. */
static void junk_stored_block(struct cluster *c, uint64_t height, size_t tx_len, uint8_t **out,
                              size_t *out_len)
{
    uint8_t hash[32] = { 1 };
    Sealchain__BlockHeader hd = SEALCHAIN__BLOCK_HEADER__INIT;
    hd.chain = (ProtobufCBinaryData){ 32, c->g.hash };
    hd.height = height;
    hd.prev_hash = hd.tx_root = hd.state_root = (ProtobufCBinaryData){ 32, hash };
    hd.time_ms = 1;
    hd.tx_count = 1;
    uint8_t hdr[256];
    size_t hdr_len = sealchain__block_header__pack(&hd, hdr);
    uint8_t *tx = calloc(1, tx_len);
    assert_non_null(tx);
    ProtobufCBinaryData txs[1] = { { tx_len, tx } };
    Sealchain__Block b = SEALCHAIN__BLOCK__INIT;
    b.header = (ProtobufCBinaryData){ hdr_len, hdr };
    b.n_txs = 1;
    b.txs = txs;
    Sealchain__CommitCert cert = SEALCHAIN__COMMIT_CERT__INIT;
    cert.height = height;
    cert.block_hash = (ProtobufCBinaryData){ 32, hash };
    Sealchain__StoredBlock sb = SEALCHAIN__STORED_BLOCK__INIT;
    sb.block = &b;
    sb.cert = &cert;
    *out_len = sealchain__stored_block__get_packed_size(&sb);
    *out = malloc(*out_len);
    assert_non_null(*out);
    sealchain__stored_block__pack(&sb, *out);
    free(tx);
}

/* The server stops an answer after SYNC_ANSWER_BYTES (8 MiB) and one more
 * block; a peer sending more than that (up to 64 blocks of 16 MiB) made
 * the node hold it all until SYNC_END. It is dropped once the answer
 * outgrows what an honest server sends. */
static void a_sync_answer_larger_than_any_honest_one_drops_the_peer(void **state)
{
    struct cluster *c = *state;
    struct hostile h;
    uint64_t from = lure_sync_request(c, &h);
    bool sent_all = true;
    for (uint64_t k = 0; k < 4 && sent_all; k++) {
        uint8_t *sb;
        size_t len;
        junk_stored_block(c, from + k, 12u << 20, &sb, &len);
        sent_all = hostile_send(&h, NODE_WIRE_SYNC_BLOCK, sb, len) == 0;
        free(sb);
    }
    bool closed;
    hostile_drain(&h, 3000, 0, &closed);
    hostile_close(&h);
    assert_true(closed);
    sleep_ms(100);
    assert_true(cluster_log_has(c, 0, "larger than any honest"));
    commit_some(c, 1);
}

/* (Held: kept as a guard.) A peer asked for blocks answers with a block
 * of the right height under a forged certificate. Only a *certified* block
 * that executes differently here may stop the node; this one is the
 * peer's fault: refused before execution, the peer dropped, the node
 * running and committing. */
static void a_forged_certificate_drops_the_peer_and_does_not_stop_the_node(void **state)
{
    struct cluster *c = *state;
    commit_some(c, 2);
    struct hostile h;
    uint64_t from = lure_sync_request(c, &h);
    uint8_t *sb;
    size_t len;
    junk_stored_block(c, from, 100, &sb, &len);
    assert_int_equal(hostile_send(&h, NODE_WIRE_SYNC_BLOCK, sb, len), 0);
    free(sb);
    uint8_t end[NODE_WIRE_SYNC_END_LEN];
    ledger_put_u64be(end, from);
    assert_int_equal(hostile_send(&h, NODE_WIRE_SYNC_END, end, sizeof end), 0);
    bool closed;
    hostile_drain(&h, 3000, 0, &closed);
    hostile_close(&h);
    assert_true(closed);
    sleep_ms(100);
    assert_true(cluster_log_has(c, 0, "bad sync blocks"));
    assert_false(cluster_log_has(c, 0, "fail-stop"));
    commit_some(c, 1);
}

/* Makes node 2 an empty node whose first peer is the test: node 2 is
 * killed and wiped, nodes 0 and 1 frozen (SIGSTOP) while it restarts and
 * the test connects to it as validator 3. Thaw with thaw(). */
static void lagging_node2(struct cluster *c, struct hostile *h)
{
    assert_int_equal(cluster_signal(c, 2, SIGKILL, NULL), 0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/node2/data'", c->dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cluster_signal(c, 0, SIGSTOP, NULL), 0);
    assert_int_equal(cluster_signal(c, 1, SIGSTOP, NULL), 0);
    assert_int_equal(cluster_start(c, 2), 0);
    assert_int_equal(cluster_wait_up(c, 2, 10000), 0);
    assert_int_equal(hostile_connect(c, ME, 2, 5000, h), 0);
}

static void thaw(struct cluster *c)
{
    cluster_signal(c, 0, SIGCONT, NULL);
    cluster_signal(c, 1, SIGCONT, NULL);
}

/* Keeps announcing `claim` to node 2 and never answering, until node 2
 * reaches target or 15 s pass; returns node 2's height. */
static uint64_t stonewall(struct cluster *c, struct hostile *h, uint64_t claim, uint64_t target)
{
    uint64_t t0 = cluster_ms(), got = 0;
    while (cluster_ms() - t0 < 15000 && (got = cluster_height(c, 2)) < target) {
        send_tip(h, claim);
        bool closed;
        hostile_drain(h, 300, 0, &closed);
        if (closed) {
            hostile_close(h);
            assert_int_equal(hostile_connect(c, ME, 2, 5000, h), 0);
        }
    }
    print_message("node 2 at %" PRIu64 " of %" PRIu64 " after %" PRIu64 " ms\n", got, target,
                  cluster_ms() - t0);
    return got;
}

/* A Byzantine validator announces a huge tip to a node that really is
 * behind, and never answers. The node must still catch up from the honest
 * peers: it asks a peer whose height f+1 peers vouch for, and gives up on
 * a request that brings no block for a few seconds. (Before: the liar,
 * having the best claim, was asked again after every 10 s time-out, and
 * the node never caught up: with one more fault the chain would halt.) */
static void a_liar_cannot_keep_a_lagging_node_from_catching_up(void **state)
{
    struct cluster *c = *state;
    commit_some(c, 3);
    uint64_t target = cluster_height(c, 0);
    struct hostile h;
    lagging_node2(c, &h);
    send_tip(&h, UINT64_MAX / 2);
    bool asked = await_frame(&h, NODE_WIRE_SYNC_REQ, 3000, NULL, 0, NULL);
    thaw(c);
    assert_true(asked);
    uint64_t got = stonewall(c, &h, UINT64_MAX / 2, target);
    hostile_close(&h);
    assert_true(got != UINT64_MAX && got >= target);
}

/* The same with a real commit certificate: the test gets one from node 0
 * (a consensus message from "behind" makes it send its last certificate),
 * relays it to the lagging node under its own index (a CERT carries no
 * sender signature), claims the true height and never answers. The node
 * took the certificate's sender as its first choice every time, however
 * often it had been left without an answer. */
static void a_relayed_certificate_does_not_make_a_silent_peer_the_only_source(void **state)
{
    struct cluster *c = *state;
    struct hostile h0;
    assert_int_equal(hostile_connect(c, ME, 0, 5000, &h0), 0);
    commit_some(c, 3);
    uint8_t msg[4096];
    size_t len = 0;
    bool got_vote = false;
    for (int k = 0; k < 50 && !got_vote; k++) {
        assert_true(await_frame(&h0, NODE_WIRE_CONSENSUS, 3000, msg, sizeof msg, &len));
        got_vote = len > 4 && len <= sizeof msg && msg[1] != 6 /* not a CERT */;
    }
    assert_true(got_vote);
    msg[2] = 0; /* sender: us */
    msg[3] = ME;
    assert_int_equal(hostile_send(&h0, NODE_WIRE_CONSENSUS, msg, len), 0);
    uint8_t cert[4096];
    size_t cert_len = 0;
    bool got_cert = false;
    for (int k = 0; k < 50 && !got_cert; k++) {
        if (!await_frame(&h0, NODE_WIRE_CONSENSUS, 3000, cert, sizeof cert, &cert_len))
            break;
        got_cert = cert_len > 4 && cert_len <= sizeof cert && cert[1] == 6;
    }
    hostile_close(&h0);
    assert_true(got_cert);
    uint64_t target = 0;
    for (int k = 0; k < 8; k++)
        target = target << 8 | cert[4 + k];
    assert_true(target >= 3);
    cert[2] = 0;
    cert[3] = ME;
    struct hostile h;
    lagging_node2(c, &h);
    send_tip(&h, target);
    assert_int_equal(hostile_send(&h, NODE_WIRE_CONSENSUS, cert, cert_len), 0);
    bool asked = await_frame(&h, NODE_WIRE_SYNC_REQ, 3000, NULL, 0, NULL);
    thaw(c);
    assert_true(asked);
    uint64_t got = stonewall(c, &h, target, target);
    hostile_close(&h);
    assert_true(got != UINT64_MAX && got >= target);
}

/* The clock offset node 0 reports for validator 3, after a handshake whose
 * FINISH carried finish_ms. */
static int64_t offset_after(struct cluster *c, uint64_t finish_ms)
{
    struct hostile h;
    assert_int_equal(hostile_connect_at(c, ME, 0, 5000, finish_ms, &h), 0);
    sleep_ms(100);
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    int rc = cluster_status(c, 0, &s, &r);
    hostile_close(&h);
    assert_int_equal(rc, 0);
    int64_t off = 0;
    for (size_t k = 0; k < s->n_peers; k++)
        if (s->peers[k]->index == ME)
            off = s->peers[k]->clock_offset_ms;
    sealchain__api_reply__free_unpacked(r, NULL);
    return off;
}

/* A validator's FINISH carries a time of 2^63 ms, then 2^64-1. The node's
 * offset estimate, peer time minus our midpoint, was taken in int64: 2^63
 * overflowed it (undefined behaviour: the sanitizer build aborted, so one
 * peer could stop a node), and 2^64-1 read as -1 ms, a peer far *behind*.
 * Both are peers far ahead, and the node runs on. */
static void a_handshake_time_past_int64_neither_overflows_nor_flips_sign(void **state)
{
    struct cluster *c = *state;
    assert_true(offset_after(c, UINT64_C(1) << 63) > INT64_MAX / 2);
    assert_true(offset_after(c, UINT64_MAX) == INT64_MAX);
    commit_some(c, 1);
}

/* Node 0 alone, so nothing it could commit moves it along. */
static int setup_one(void **state)
{
    struct cluster *c = calloc(1, sizeof *c);
    if (c == NULL || cluster_new(c, 4, NULL) != 0) {
        free(c);
        return -1;
    }
    if (cluster_start(c, 0) != 0 || cluster_wait_up(c, 0, 10000) != 0)
        return -1;
    *state = c;
    return 0;
}

/* Runs build/sealctl with args (NULL-terminated, after --node SOCK of node
 * 0); out gets stdout and stderr. Returns the exit status, or -1. */
static int sealctl(struct cluster *c, char *out, size_t out_len, char *const args[])
{
    char bin[200], sock[400], log[460];
    snprintf(bin, sizeof bin, "%s/sealctl", c->build);
    snprintf(sock, sizeof sock, "%s/node0/node.sock", c->dir);
    snprintf(log, sizeof log, "%s/sealctl.out", c->dir);
    char *argv[16] = { bin, "--node", sock };
    size_t k = 3;
    for (size_t i = 0; args[i] != NULL && k < 15; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execv(bin, argv);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    FILE *f = fopen(log, "r");
    size_t n = f != NULL ? fread(out, 1, out_len - 1, f) : 0;
    out[n] = '\0';
    if (f != NULL)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* CONTRACT.md: a node that is still syncing says so, and verify exits 3.
 * Two validators (f+1 of four) announce a tip far above node 0's; until it
 * has their blocks its status says syncing, and `sealctl verify` refuses to
 * give a verdict that could miss recent uses. */
static void a_node_that_is_behind_says_so_and_verify_exits_3(void **state)
{
    struct cluster *c = *state;
    struct hostile h2, h3;
    assert_int_equal(hostile_connect(c, 2, 0, 5000, &h2), 0);
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h3), 0);
    send_tip(&h2, 1000);
    send_tip(&h3, 1000);
    sleep_ms(300);
    char out[4096], doc[400], sig[400];
    snprintf(doc, sizeof doc, "%s/doc.txt", c->dir);
    snprintf(sig, sizeof sig, "%s/doc.txt.seal", c->dir);
    FILE *f = fopen(doc, "w");
    assert_non_null(f);
    fputs("a contract\n", f);
    fclose(f);
    f = fopen(sig, "w");
    assert_non_null(f);
    fputs("not a signature file", f);
    fclose(f);
    assert_int_equal(sealctl(c, out, sizeof out, (char *const[]){ "--json", "status", NULL }), 0);
    assert_true(strstr(out, "\"syncing\": true") != NULL ||
                strstr(out, "\"syncing\":true") != NULL);
    int rc =
        sealctl(c, out, sizeof out, (char *const[]){ "verify", "--doc", doc, "--sig", sig, NULL });
    assert_int_equal(rc, 3);
    assert_non_null(strstr(out, "syncing"));
    hostile_close(&h2);
    hostile_close(&h3);
}

int main(void)
{
    /* The idle-client test holds over NODE_API_CLIENTS_MAX descriptors, and
     * the nodes it starts inherit the limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getenv("TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_peer_lying_about_its_tip_neither_stalls_submits_nor_stays,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_flood_of_sync_requests_gets_a_few_answers_not_hundreds,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(silent_strangers_do_not_lock_a_validator_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(idle_api_clients_do_not_lock_the_operator_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_garbage_transaction_frame_drops_the_peer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(junk_or_relayed_consensus_frames_drop_the_peer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_flood_of_badly_signed_votes_drops_the_peer_at_the_first,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_replayed_future_vote_is_verified_once_not_each_time,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_sync_block_of_empty_entries_costs_no_more_than_its_bytes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_sync_answer_larger_than_any_honest_one_drops_the_peer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_forged_certificate_drops_the_peer_and_does_not_stop_the_node, setup, teardown),
        cmocka_unit_test_setup_teardown(a_node_that_is_behind_says_so_and_verify_exits_3, setup_one,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_liar_cannot_keep_a_lagging_node_from_catching_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_relayed_certificate_does_not_make_a_silent_peer_the_only_source, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_handshake_time_past_int64_neither_overflows_nor_flips_sign, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
