/* A Byzantine validator among three honest sealchaind processes, on the wire: forged and wrong sync
 * answers, bad frames, a replayed handshake, a slow-loris dialler, floods. The honest nodes agree
 * and go on (tests/integration/byz.h). */
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

/* Validator 3 with nodes 0, 1 and 2. */
static int setup_as3(void **state)
{
    return (*state = byz_start(3, 0x7)) ? 0 : -1;
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

/* Node 2 empty and alone with us (nodes 0 and 1 frozen), asking us for
 * blocks from height 1 (claim: our tip): a link on which it waits for our
 * answer. */
static void asked_by_empty_node2(struct cluster *c, struct hostile *h, uint64_t claim)
{
    assert_int_equal(hostile_connect(c, 3, 2, 5000, h), 0);
    byz_send_tip(h, claim);
    uint64_t end = cluster_ms() + 4000;
    while (cluster_ms() < end) {
        uint8_t type;
        const uint8_t *body;
        size_t len;
        if (hostile_recv(h, 200, &type, &body, &len) == 1 && type == NODE_WIRE_SYNC_REQ &&
            len == NODE_WIRE_SYNC_REQ_LEN) {
            assert_int_equal(byz_be64(body), 1);
            return;
        }
    }
    fail_msg("node 2 did not ask for blocks");
}

/* How many lines of node i's log contain needle. */
static unsigned log_count(struct cluster *c, unsigned i, const char *needle)
{
    char path[400], line[2048];
    snprintf(path, sizeof path, "%s/node%u/log", c->dir, i);
    FILE *f = fopen(path, "r");
    unsigned n = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        n += strstr(line, needle) != NULL;
    if (f != NULL)
        fclose(f);
    return n;
}

static void answer_with(struct cluster *c, const uint8_t *block, size_t block_len,
                        const uint8_t *cert, size_t cert_len, const char *log)
{
    struct hostile h;
    asked_by_empty_node2(c, &h, 10);
    send_stored(&h, block, block_len, cert, cert_len);
    uint8_t end[NODE_WIRE_SYNC_END_LEN];
    ledger_put_u64be(end, 1);
    hostile_send(&h, NODE_WIRE_SYNC_END, end, sizeof end);
    bool closed = byz_closes(&h, 3000);
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
 * block 2 when 1 was asked for; three blocks when two were asked for; a
 * true block and a SYNC_END naming none; block 1 with a forged state root under its
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
        byz_submit(c, 0, true, st);
        assert_string_equal(st, "committed");
    }
    struct stored sb[3] = { 0 };
    assert_int_equal(fetch_blocks(c, 1, sb, 3), 3);
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
    assert_true(byz_closes(&h, 2000));
    hostile_close(&h);
    assert_true(cluster_log_has(c, 2, "unasked sync block"));

    asked_by_empty_node2(c, &h, 10);
    send_stored(&h, sb[1].block, sb[1].block_len, sb[1].cert, sb[1].cert_len);
    assert_true(byz_closes(&h, 2000));
    hostile_close(&h);
    assert_true(cluster_log_has(c, 2, "out of order"));

    asked_by_empty_node2(c, &h, 2); /* two blocks asked for, three sent */
    for (int k = 0; k < 3; k++)
        send_stored(&h, sb[k].block, sb[k].block_len, sb[k].cert, sb[k].cert_len);
    assert_true(byz_closes(&h, 2000));
    hostile_close(&h);
    assert_int_equal(log_count(c, 2, "drop peer=3 reason=\"unasked sync block\""), 2);

    asked_by_empty_node2(c, &h, 10); /* a true block, and an end that denies it */
    send_stored(&h, sb[0].block, sb[0].block_len, sb[0].cert, sb[0].cert_len);
    uint8_t end0[NODE_WIRE_SYNC_END_LEN] = { 0 };
    hostile_send(&h, NODE_WIRE_SYNC_END, end0, sizeof end0);
    assert_true(byz_closes(&h, 2000));
    hostile_close(&h);
    assert_true(cluster_log_has(c, 2, "sync end does not match"));
    assert_int_equal(cluster_height(c, 2), 0);

    uint8_t junk[32], fhash[32], *forged, *cert;
    size_t flen, clen;
    memset(junk, 0x5c, sizeof junk);
    assert_int_equal(
        hostile_reroot(sb[0].block, sb[0].block_len, NULL, junk, &forged, &flen, fhash), 0);
    answer_with(c, forged, flen, sb[0].cert, sb[0].cert_len, "another block hash");

    Sealchain__Block *bl = sealchain__block__unpack(NULL, sb[0].block_len, sb[0].block);
    assert_non_null(bl);
    assert_true(bl->n_txs >= 1);
    bl->txs[0].data[bl->txs[0].len - 1] ^= 1; /* another tx: another leaf */
    uint8_t body[65536];
    size_t blen = sealchain__block__pack(bl, body);
    sealchain__block__free_unpacked(bl, NULL);
    answer_with(c, body, blen, sb[0].cert, sb[0].cert_len, "transaction root mismatch");

    const uint32_t thrice[] = { 3, 3, 3 };
    assert_int_equal(hostile_cert(&b->s, 1, 0, fhash, thrice, 3, &cert, &clen), 0);
    answer_with(c, forged, flen, cert, clen, "duplicate signer");
    free(cert);
    free(forged);
    for (int k = 0; k < 3; k++) {
        free(sb[k].block);
        free(sb[k].cert);
    }
    cluster_signal(c, 0, SIGCONT, NULL);
    cluster_signal(c, 1, SIGCONT, NULL);
    byz_honest_go_on(b);
}

/* ---- frames --------------------------------------------------------------------------- */

static void expect_drop(struct cluster *c, uint8_t type, const uint8_t *body, size_t len)
{
    struct hostile h;
    assert_int_equal(hostile_connect(c, 3, 0, 5000, &h), 0);
    hostile_send(&h, type, body, len);
    bool closed = byz_closes(&h, 2000);
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
        byz_send_tip(&h, 0);
    bool closed = byz_closes(&h, 2000);
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
    expect_drop(c, 99, big, 8); /* no such frame type */
    expect_drop_raw(c, (const uint8_t *)"\xff\xff\xff\xff", 4, false);
    uint8_t cut[4 + 50]; /* 100 bytes announced, 50 sent, then a whole frame */
    ledger_put_u32be(cut, 100);
    memset(cut + 4, 0x33, 50);
    expect_drop_raw(c, cut, sizeof cut, true);
    ledger_put_u32be(cut, 5);
    expect_drop_raw(c, cut, 9, false);
    byz_honest_go_on(b);
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
    if (node_hs_init(&hs, NODE_HS_DIALER, c->g.hash, b->s.sk, &keys[0][0], c->g.n, 0, byz_wall_ms(),
                     &out, &out_len) != 0)
        goto out;
    memcpy(rec, out, out_len);
    *hello_len = *rec_len = out_len;
    if (write_all(fd, out, out_len) != 0 || read_hs(fd, &rx, 3000, &msg, &msg_len) != 1 ||
        node_hs_step(&hs, msg, msg_len, byz_wall_ms(), &out, &out_len) != 0 || !node_hs_done(&hs))
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
    assert_true(cluster_log_has(c, 0, "does not verify for this session"));
    byz_honest_go_on(b);
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
                                  byz_wall_ms(), &out, &out_len),
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
        byz_submit(c, 0, true, st);
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
    byz_honest_go_on(b);
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
    byz_submit(c, 0, true, st);
    print_message("bad-signature txs written: %u; a submit meanwhile: %s\n", bad_sent, st);
    assert_string_equal(st, "committed");
    bool dropped = byz_closes(&h, 300);
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
        byz_vote(b, &h, PBFT_MSG_PREPARE, 3, height + 1, 0, digest);
    }
    byz_submit(c, 0, true, st);
    assert_string_equal(st, "committed");
    hostile_close(&h);
    byz_honest_go_on(b);
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
        closed = byz_closes(&h, 3000);
    hostile_close(&h);
    print_message("node 0 spent %" PRIu64 " ms of CPU (closed: %d)\n", cpu_ms(c, 0) - before,
                  closed);
    assert_true(closed);
    cluster_sleep_ms(100);
    assert_true(cluster_log_has(c, 0, "transaction with a bad signature"));
    byz_honest_go_on(b);
}

int main(void)
{
    if (getenv("TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sync_replies_with_forged_or_wrong_blocks_are_refused,
                                        setup_as3, byz_teardown),
        cmocka_unit_test_setup_teardown(
            frames_with_trailing_bytes_oversized_or_truncated_drop_the_peer, setup_as3,
            byz_teardown),
        cmocka_unit_test_setup_teardown(a_replayed_handshake_is_refused, setup_as3, byz_teardown),
        cmocka_unit_test_setup_teardown(
            a_one_byte_per_second_dialler_is_cut_off_at_the_handshake_deadline, setup_as3,
            byz_teardown),
        cmocka_unit_test_setup_teardown(floods_of_transactions_and_votes_leave_memory_bounded,
                                        setup_as3, byz_teardown),
        cmocka_unit_test_setup_teardown(a_gossiped_transaction_with_a_bad_signature_drops_the_peer,
                                        setup_as3, byz_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
