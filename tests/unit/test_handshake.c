/* Peer handshake: mutual authentication against genesis, clock offset, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ledger/crypto.h"
#include "node/err.h"
#include "node/frame.h"
#include "node/handshake.h"

#define EXPECT_RC(expr, want)                                                                      \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (want))                                                                         \
            fail_msg("%s:%d: got %s, want %s", __FILE__, __LINE__, node_errname(rc_),              \
                     node_errname(want));                                                          \
    } while (0)

/* Four validators in genesis, and a fifth key that is in no genesis. */
#define N 4
static uint8_t pk[N + 1][LEDGER_KEY_LEN];
static uint8_t sk[N + 1][LEDGER_SECRET_LEN];
static uint8_t genesis[LEDGER_HASH_LEN], other_genesis[LEDGER_HASH_LEN];

static int setup(void **state)
{
    (void)state;
    ledger_crypto_init();
    for (int i = 0; i <= N; i++) {
        uint8_t seed[crypto_sign_SEEDBYTES];
        memset(seed, 0x30 + i, sizeof seed);
        crypto_sign_seed_keypair(pk[i], sk[i], seed);
    }
    ledger_sha256("genesis", 7, genesis);
    ledger_sha256("another chain", 13, other_genesis);
    return 0;
}

/* A message as it crossed the wire: the body of one plaintext frame. */
struct msg {
    uint8_t b[NODE_HS_MSG_MAX + 8];
    size_t len;
};

/* Strips the wire prefix with the plaintext reader, one byte at a time. */
static void unwire(const uint8_t *wire, size_t len, struct msg *m)
{
    struct node_frame_rx rx;
    node_frame_rx_init_plain(&rx, NODE_HS_MSG_MAX);
    m->len = 0;
    int got = 0;
    for (size_t i = 0; i < len; i++) {
        size_t used, flen;
        const uint8_t *f;
        EXPECT_RC(node_frame_rx_feed(&rx, wire + i, 1, &used, &f, &flen), 0);
        assert_int_equal(used, 1);
        if (f != NULL) {
            assert_int_equal(i, len - 1);
            memcpy(m->b, f, flen);
            m->len = flen;
            got = 1;
        }
    }
    assert_true(got);
    node_frame_rx_close(&rx);
}

/* One pair of endpoints: d dials l. */
struct pair {
    struct node_hs d, l;
    struct msg hello, reply, finish;
};

static void keys_flat(uint8_t out[N][LEDGER_KEY_LEN])
{
    memcpy(out, pk, N * LEDGER_KEY_LEN);
}

static void dial(struct pair *p, int self, int expected, const uint8_t *g, uint64_t now)
{
    uint8_t keys[N][LEDGER_KEY_LEN];
    keys_flat(keys);
    const uint8_t *out;
    size_t out_len;
    EXPECT_RC(node_hs_init(&p->d, NODE_HS_DIALER, g, sk[self], &keys[0][0], N, expected, now, &out,
                           &out_len),
              0);
    unwire(out, out_len, &p->hello);
}

static void listen_as(struct pair *p, int self, const uint8_t *g)
{
    uint8_t keys[N][LEDGER_KEY_LEN];
    keys_flat(keys);
    const uint8_t *out;
    size_t out_len;
    EXPECT_RC(
        node_hs_init(&p->l, NODE_HS_LISTENER, g, sk[self], &keys[0][0], N, -1, 0, &out, &out_len),
        0);
    assert_int_equal(out_len, 0);
}

/* Listener takes the HELLO and answers. */
static int to_listener_hello(struct pair *p, uint64_t now)
{
    const uint8_t *out;
    size_t out_len;
    int rc = node_hs_step(&p->l, p->hello.b, p->hello.len, now, &out, &out_len);
    p->reply.len = 0;
    if (out_len > 0)
        unwire(out, out_len, &p->reply); /* a REPLY, or a REFUSE on failure */
    if (rc == 0)
        assert_int_equal(p->reply.b[1], NODE_HS_REPLY);
    return rc;
}

static int to_dialer_reply(struct pair *p, uint64_t now)
{
    const uint8_t *out;
    size_t out_len;
    int rc = node_hs_step(&p->d, p->reply.b, p->reply.len, now, &out, &out_len);
    if (rc == 0)
        unwire(out, out_len, &p->finish);
    return rc;
}

static int to_listener_finish(struct pair *p, uint64_t now)
{
    const uint8_t *out;
    size_t out_len;
    int rc = node_hs_step(&p->l, p->finish.b, p->finish.len, now, &out, &out_len);
    assert_int_equal(out_len, 0);
    return rc;
}

static void pair_close(struct pair *p)
{
    node_hs_close(&p->d);
    node_hs_close(&p->l);
}

/* Sends one frame from tx to rx and checks it arrives. */
static void frame_across(struct node_frame_tx *tx, struct node_frame_rx *rx, const char *text)
{
    uint8_t *wire;
    size_t wire_len, used, flen;
    const uint8_t *f;
    EXPECT_RC(node_frame_seal_alloc(tx, (const uint8_t *)text, strlen(text), &wire, &wire_len), 0);
    EXPECT_RC(node_frame_rx_feed(rx, wire, wire_len, &used, &f, &flen), 0);
    assert_int_equal(used, wire_len);
    assert_int_equal(flen, strlen(text));
    assert_memory_equal(f, text, flen);
    free(wire);
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

/* Dialer clock T, listener clock T + skew; delays out and back differ. */
static void handshake_with_skew(int d, int l, int64_t skew, uint64_t out_ms, uint64_t back_ms)
{
    struct pair p;
    uint64_t t0 = 1795000000000ull;
    dial(&p, d, l, genesis, t0);
    listen_as(&p, l, genesis);
    EXPECT_RC(to_listener_hello(&p, (uint64_t)((int64_t)(t0 + out_ms) + skew)), 0);
    assert_false(node_hs_done(&p.l)); /* nothing proven yet */
    uint64_t t_reply = t0 + out_ms + back_ms;
    EXPECT_RC(to_dialer_reply(&p, t_reply), 0);
    assert_true(node_hs_done(&p.d));
    assert_false(node_hs_done(&p.l));
    struct node_hs_result rl, rd;
    EXPECT_RC(node_hs_take(&p.l, &rl), NODE_E_INVALID);
    EXPECT_RC(to_listener_finish(&p, (uint64_t)((int64_t)(t_reply + out_ms) + skew)), 0);
    assert_true(node_hs_done(&p.l));
    EXPECT_RC(node_hs_take(&p.d, &rd), 0);
    EXPECT_RC(node_hs_take(&p.l, &rl), 0);
    EXPECT_RC(node_hs_take(&p.l, &rl), NODE_E_INVALID);

    assert_int_equal(rd.peer_index, l);
    assert_memory_equal(rd.peer_key, pk[l], LEDGER_KEY_LEN);
    assert_int_equal(rl.peer_index, d);
    assert_memory_equal(rl.peer_key, pk[d], LEDGER_KEY_LEN);
    /* The estimate is off by at most half the round trip. */
    uint64_t rtt = out_ms + back_ms;
    assert_int_equal(rd.rtt_ms, rtt);
    assert_int_equal(rl.rtt_ms, rtt);
    assert_true(abs64(rd.clock_offset_ms - skew) <= (int64_t)rtt / 2);
    assert_true(abs64(rl.clock_offset_ms + skew) <= (int64_t)rtt / 2);
    assert_true(abs64(rd.clock_offset_ms - skew) == abs64((int64_t)out_ms - (int64_t)back_ms) / 2);

    /* The session carries frames both ways, and the two directions differ. */
    frame_across(&rd.tx, &rl.rx, "prepare from the dialer");
    frame_across(&rl.tx, &rd.rx, "commit from the listener");
    frame_across(&rd.tx, &rl.rx, "second");
    uint8_t *wire;
    size_t wire_len, used, flen;
    const uint8_t *f;
    EXPECT_RC(node_frame_seal_alloc(&rd.tx, (const uint8_t *)"x", 1, &wire, &wire_len), 0);
    EXPECT_RC(node_frame_rx_feed(&rd.rx, wire, wire_len, &used, &f, &flen), NODE_E_FRAME_BAD);
    free(wire);
    node_frame_tx_close(&rd.tx);
    node_frame_rx_close(&rd.rx);
    node_frame_tx_close(&rl.tx);
    node_frame_rx_close(&rl.rx);
    pair_close(&p);
}

static void validators_authenticate_each_other_both_ways_and_measure_the_clock(void **state)
{
    (void)state;
    handshake_with_skew(0, 1, 5000, 30, 50);
    handshake_with_skew(1, 0, -7000, 80, 20);
    handshake_with_skew(3, 2, 0, 0, 0);
    handshake_with_skew(2, 3, 123456, 1, 1000);
}

/* The listener refuses the HELLO and answers with a REFUSE naming the reason;
 * the dialer then fails with dialer_rc. */
static void run_to_failure_at_listener(struct pair *p, int want, int dialer_rc)
{
    EXPECT_RC(to_listener_hello(p, 1000), want);
    assert_false(node_hs_done(&p->l));
    assert_true(node_hs_errmsg(&p->l)[0] != '\0');
    struct node_hs_refuse r;
    EXPECT_RC(node_hs_refuse_decode(p->reply.b, p->reply.len, &r), 0);
    assert_int_equal(r.code, want);
    assert_memory_equal(r.genesis, genesis, LEDGER_HASH_LEN); /* every listener here */
    struct msg refusal = p->reply;
    EXPECT_RC(to_listener_hello(p, 1000), NODE_E_HS_FAILED);
    p->reply = refusal;
    EXPECT_RC(to_dialer_reply(p, 1001), dialer_rc);
    assert_false(node_hs_done(&p->d));
}

static void a_key_not_in_genesis_is_refused(void **state)
{
    (void)state;
    struct pair p;
    /* The outsider (key N) dials validator 1: the listener refuses it. */
    dial(&p, N, 1, genesis, 1000);
    listen_as(&p, 1, genesis);
    run_to_failure_at_listener(&p, NODE_E_HS_UNKNOWN_PEER, NODE_E_HS_REFUSED);
    assert_non_null(strstr(node_hs_errmsg(&p.l), "not a validator"));
    assert_non_null(strstr(node_hs_errmsg(&p.d), "not a validator"));
    pair_close(&p);

    /* An outsider answering a dialer is refused by the dialer (the outsider's
     * own list names the dialer, so it answers). */
    dial(&p, 0, 1, genesis, 1000);
    uint8_t keys[N][LEDGER_KEY_LEN];
    keys_flat(keys);
    memcpy(keys[3], pk[N], LEDGER_KEY_LEN);
    const uint8_t *out;
    size_t out_len;
    EXPECT_RC(
        node_hs_init(&p.l, NODE_HS_LISTENER, genesis, sk[N], &keys[0][0], N, -1, 0, &out, &out_len),
        0);
    EXPECT_RC(to_listener_hello(&p, 1000), 0);
    EXPECT_RC(to_dialer_reply(&p, 1001), NODE_E_HS_UNKNOWN_PEER);
    assert_false(node_hs_done(&p.d));
    pair_close(&p);
}

static void a_peer_other_than_the_one_dialled_is_refused(void **state)
{
    (void)state;
    struct pair p;
    dial(&p, 0, 2, genesis, 1000);
    listen_as(&p, 1, genesis); /* validator 1 answers at validator 2's address */
    EXPECT_RC(to_listener_hello(&p, 1000), 0);
    EXPECT_RC(to_dialer_reply(&p, 1001), NODE_E_HS_WRONG_PEER);
    const char *why = node_hs_errmsg(&p.d);
    assert_non_null(strstr(why, "dialled validator 2"));
    assert_non_null(strstr(why, "validator 1"));
    assert_false(node_hs_done(&p.d));
    pair_close(&p);
}

static void a_peer_of_another_chain_is_refused_naming_both_chains(void **state)
{
    (void)state;
    struct pair p;
    dial(&p, 0, 1, other_genesis, 1000);
    listen_as(&p, 1, genesis);
    run_to_failure_at_listener(&p, NODE_E_HS_WRONG_CHAIN, NODE_E_HS_WRONG_CHAIN);
    char theirs[17], ours[17];
    ledger_hex(other_genesis, 8, theirs);
    ledger_hex(genesis, 8, ours);
    /* "peer is on <theirs> but we are on <ours>", and the mirror image at the
     * dialer, from the listener's REFUSE. */
    const char *why = node_hs_errmsg(&p.l);
    assert_non_null(strstr(why, theirs));
    assert_non_null(strstr(why, ours));
    assert_true(strstr(why, theirs) < strstr(why, ours));
    why = node_hs_errmsg(&p.d);
    assert_non_null(strstr(why, theirs));
    assert_non_null(strstr(why, ours));
    assert_true(strstr(why, ours) < strstr(why, theirs));
    pair_close(&p);
}

static void our_own_key_from_a_peer_is_refused(void **state)
{
    (void)state;
    struct pair p;
    dial(&p, 1, 0, genesis, 1000);
    listen_as(&p, 1, genesis); /* a HELLO reflected back to its sender's listener */
    run_to_failure_at_listener(&p, NODE_E_HS_SELF, NODE_E_HS_REFUSED);
    pair_close(&p);
}

/* Offsets of fields in the messages. */
#define HELLO_EPH   (2 + LEDGER_HASH_LEN + LEDGER_KEY_LEN)
#define REPLY_EPH   (2 + LEDGER_KEY_LEN)
#define REPLY_TIME  (REPLY_EPH + LEDGER_KEY_LEN)
#define REPLY_SIG   (REPLY_TIME + 8)
#define REPLY_HDR   (REPLY_SIG + LEDGER_SIG_LEN)
#define FINISH_TIME 2
#define FINISH_SIG  (FINISH_TIME + 8)
#define FINISH_HDR  (FINISH_SIG + LEDGER_SIG_LEN)

/* Runs 0 → 1 with one byte of one message flipped; returns the refusal. */
static int flip_and_run(int which, size_t at, int *who)
{
    struct pair p;
    dial(&p, 0, 1, genesis, 1000);
    listen_as(&p, 1, genesis);
    if (which == 0)
        p.hello.b[at] ^= 0x01;
    int rc = to_listener_hello(&p, 1000);
    *who = 1;
    if (rc == 0) {
        if (which == 1)
            p.reply.b[at] ^= 0x01;
        rc = to_dialer_reply(&p, 1001);
        *who = 0;
    }
    if (rc == 0) {
        if (which == 2)
            p.finish.b[at] ^= 0x01;
        rc = to_listener_finish(&p, 1002);
        *who = 1;
    }
    if (rc != 0)
        assert_false(node_hs_done(*who == 0 ? &p.d : &p.l));
    pair_close(&p);
    return rc;
}

static void tampered_signatures_ephemerals_and_fields_are_refused(void **state)
{
    (void)state;
    int who;
    EXPECT_RC(flip_and_run(1, REPLY_SIG + 5, &who), NODE_E_HS_BAD_SIGNATURE);
    assert_int_equal(who, 0);
    EXPECT_RC(flip_and_run(2, FINISH_SIG + 60, &who), NODE_E_HS_BAD_SIGNATURE);
    assert_int_equal(who, 1);
    /* A changed ephemeral key breaks the signature over it. */
    EXPECT_RC(flip_and_run(1, REPLY_EPH + 3, &who), NODE_E_HS_BAD_SIGNATURE);
    EXPECT_RC(flip_and_run(0, HELLO_EPH + 3, &who), NODE_E_HS_BAD_SIGNATURE);
    assert_int_equal(who, 0); /* the dialer sees the listener signed another key */
    /* Unsigned fields are bound by the key-confirmation MAC. */
    EXPECT_RC(flip_and_run(1, REPLY_TIME + 7, &who), NODE_E_HS_BAD_MAC);
    EXPECT_RC(flip_and_run(1, REPLY_HDR, &who), NODE_E_HS_BAD_MAC);
    EXPECT_RC(flip_and_run(1, NODE_HS_REPLY_LEN - 1, &who), NODE_E_HS_BAD_MAC);
    EXPECT_RC(flip_and_run(2, FINISH_TIME, &who), NODE_E_HS_BAD_MAC);
    EXPECT_RC(flip_and_run(2, FINISH_HDR + 1, &who), NODE_E_HS_BAD_MAC);
    EXPECT_RC(flip_and_run(2, NODE_HS_FINISH_LEN - 1, &who), NODE_E_HS_BAD_MAC);
    EXPECT_RC(flip_and_run(0, NODE_HS_HELLO_LEN - 1, &who), NODE_E_HS_BAD_MAC);
    /* Every byte of every message matters. */
    size_t lens[3] = { NODE_HS_HELLO_LEN, NODE_HS_REPLY_LEN, NODE_HS_FINISH_LEN };
    for (int m = 0; m < 3; m++)
        for (size_t at = 0; at < lens[m]; at++)
            assert_int_not_equal(flip_and_run(m, at, &who), 0);
}

static void a_message_reflected_to_its_sender_is_refused(void **state)
{
    (void)state;
    struct pair p;
    const uint8_t *out;
    size_t out_len;
    /* The listener's REPLY sent back to the listener. */
    dial(&p, 0, 1, genesis, 1000);
    listen_as(&p, 1, genesis);
    EXPECT_RC(to_listener_hello(&p, 1000), 0);
    EXPECT_RC(node_hs_step(&p.l, p.reply.b, p.reply.len, 1001, &out, &out_len),
              NODE_E_HS_UNEXPECTED);
    pair_close(&p);
    /* The dialer's HELLO sent back to the dialer. */
    dial(&p, 0, 1, genesis, 1000);
    EXPECT_RC(node_hs_step(&p.d, p.hello.b, p.hello.len, 1001, &out, &out_len),
              NODE_E_HS_UNEXPECTED);
    node_hs_close(&p.d);
}

/* Re-signs the FINISH with the dialer's key under the given role. */
static void resign_finish(struct pair *p, enum node_hs_role role)
{
    struct node_hs_hello h;
    struct node_hs_reply r;
    struct node_hs_finish f;
    EXPECT_RC(node_hs_hello_decode(p->hello.b, p->hello.len, &h), 0);
    EXPECT_RC(node_hs_reply_decode(p->reply.b, p->reply.len, &r), 0);
    EXPECT_RC(node_hs_finish_decode(p->finish.b, p->finish.len, &f), 0);
    uint8_t payload[NODE_HS_SIGNED_LEN];
    node_hs_signed_payload(role, h.node_key, r.node_key, h.eph, r.eph, payload);
    assert_int_equal(
        ledger_sign(LEDGER_TAG_HANDSHAKE, genesis, payload, sizeof payload, sk[0], f.sig), 0);
    node_hs_finish_encode(&f, p->finish.b);
}

static void a_dialer_signature_under_the_listener_role_is_refused(void **state)
{
    (void)state;
    struct pair p;
    /* Control: re-signing as the dialer gives the very same message. */
    dial(&p, 0, 1, genesis, 1000);
    listen_as(&p, 1, genesis);
    EXPECT_RC(to_listener_hello(&p, 1000), 0);
    EXPECT_RC(to_dialer_reply(&p, 1001), 0);
    struct msg before = p.finish;
    resign_finish(&p, NODE_HS_DIALER);
    assert_memory_equal(before.b, p.finish.b, p.finish.len);
    EXPECT_RC(to_listener_finish(&p, 1002), 0);
    pair_close(&p);
    /* The same key, the same session, the other role: refused. */
    dial(&p, 0, 1, genesis, 1000);
    listen_as(&p, 1, genesis);
    EXPECT_RC(to_listener_hello(&p, 1000), 0);
    EXPECT_RC(to_dialer_reply(&p, 1001), 0);
    resign_finish(&p, NODE_HS_LISTENER);
    EXPECT_RC(to_listener_finish(&p, 1002), NODE_E_HS_BAD_SIGNATURE);
    pair_close(&p);
}

static void messages_replayed_from_an_earlier_session_are_refused(void **state)
{
    (void)state;
    struct pair old, p;
    dial(&old, 0, 1, genesis, 1000);
    listen_as(&old, 1, genesis);
    EXPECT_RC(to_listener_hello(&old, 1000), 0);
    EXPECT_RC(to_dialer_reply(&old, 1001), 0);
    EXPECT_RC(to_listener_finish(&old, 1002), 0);

    /* An old REPLY to a new dialer: signed over another dialer ephemeral. */
    dial(&p, 0, 1, genesis, 2000);
    p.reply = old.reply;
    EXPECT_RC(to_dialer_reply(&p, 2001), NODE_E_HS_BAD_SIGNATURE);
    node_hs_close(&p.d);

    /* An old HELLO and then the old FINISH to a new listener: it answered
     * with a fresh ephemeral, so the old signature does not cover it. */
    listen_as(&p, 1, genesis);
    p.hello = old.hello;
    EXPECT_RC(to_listener_hello(&p, 2000), 0);
    p.finish = old.finish;
    EXPECT_RC(to_listener_finish(&p, 2001), NODE_E_HS_BAD_SIGNATURE);
    assert_false(node_hs_done(&p.l));
    node_hs_close(&p.l);
    pair_close(&old);
}

/* Decoder i of HELLO, REPLY, FINISH, REFUSE. */
static int decode_any(int i, const uint8_t *buf, size_t len)
{
    struct node_hs_hello h;
    struct node_hs_reply r;
    struct node_hs_finish f;
    struct node_hs_refuse x;
    switch (i) {
    case 0:
        return node_hs_hello_decode(buf, len, &h);
    case 1:
        return node_hs_reply_decode(buf, len, &r);
    case 2:
        return node_hs_finish_decode(buf, len, &f);
    default:
        return node_hs_refuse_decode(buf, len, &x);
    }
}

static void truncated_over_long_and_unknown_version_messages_are_refused(void **state)
{
    (void)state;
    struct pair p;
    const uint8_t *out;
    size_t out_len;
    dial(&p, 0, 1, genesis, 1000);
    listen_as(&p, 1, genesis);
    EXPECT_RC(to_listener_hello(&p, 1000), 0);
    EXPECT_RC(to_dialer_reply(&p, 1001), 0);
    struct msg m[4] = { p.hello, p.reply, p.finish, { .len = NODE_HS_REFUSE_LEN } };
    struct node_hs_refuse r = { .code = NODE_E_HS_WRONG_CHAIN };
    node_hs_refuse_encode(&r, m[3].b);
    pair_close(&p);
    for (int i = 0; i < 4; i++) {
        for (size_t len = 0; len <= m[i].len + 1; len++) {
            uint8_t buf[NODE_HS_MSG_MAX + 8] = { 0 };
            memcpy(buf, m[i].b, m[i].len);
            EXPECT_RC(decode_any(i, buf, len), len == m[i].len ? 0 : NODE_E_HS_MALFORMED);
        }
        m[i].b[0] = NODE_HS_VERSION + 1;
        EXPECT_RC(decode_any(i, m[i].b, m[i].len), NODE_E_HS_VERSION);
        m[i].b[0] = NODE_HS_VERSION;
        /* Each decoder takes its own type only. */
        EXPECT_RC(decode_any((i + 1) % 4, m[i].b, m[i].len), NODE_E_HS_UNEXPECTED);
    }
    /* Through the state machine too: a truncated HELLO, an over-long REPLY. */
    dial(&p, 0, 1, genesis, 1000);
    listen_as(&p, 1, genesis);
    EXPECT_RC(node_hs_step(&p.l, p.hello.b, p.hello.len - 1, 1000, &out, &out_len),
              NODE_E_HS_MALFORMED);
    assert_non_null(strstr(node_hs_errmsg(&p.l), "HELLO"));
    node_hs_close(&p.l);
    listen_as(&p, 1, genesis);
    EXPECT_RC(to_listener_hello(&p, 1000), 0);
    p.reply.b[p.reply.len] = 0;
    EXPECT_RC(node_hs_step(&p.d, p.reply.b, p.reply.len + 1, 1001, &out, &out_len),
              NODE_E_HS_MALFORMED);
    pair_close(&p);
}

static void a_step_after_completion_or_failure_is_refused(void **state)
{
    (void)state;
    struct pair p;
    const uint8_t *out;
    size_t out_len;
    dial(&p, 0, 1, genesis, 1000);
    listen_as(&p, 1, genesis);
    EXPECT_RC(to_listener_hello(&p, 1000), 0);
    EXPECT_RC(to_dialer_reply(&p, 1001), 0);
    EXPECT_RC(node_hs_step(&p.d, p.reply.b, p.reply.len, 1002, &out, &out_len),
              NODE_E_HS_UNEXPECTED);
    EXPECT_RC(node_hs_step(&p.d, p.reply.b, p.reply.len, 1002, &out, &out_len), NODE_E_HS_FAILED);
    pair_close(&p);
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    struct node_hs hs;
    const uint8_t *out;
    size_t out_len;
    uint8_t keys[N][LEDGER_KEY_LEN];
    keys_flat(keys);
    EXPECT_RC(
        node_hs_init(&hs, NODE_HS_DIALER, genesis, sk[0], &keys[0][0], N, N, 0, &out, &out_len),
        NODE_E_INVALID);
    node_hs_close(&hs);
    EXPECT_RC(
        node_hs_init(&hs, NODE_HS_DIALER, genesis, sk[0], &keys[0][0], N, 0, 0, &out, &out_len),
        NODE_E_INVALID); /* dialling ourselves */
    node_hs_close(&hs);
    EXPECT_RC(
        node_hs_init(&hs, NODE_HS_LISTENER, genesis, sk[0], &keys[0][0], N, 1, 0, &out, &out_len),
        NODE_E_INVALID);
    node_hs_close(&hs);
    EXPECT_RC(
        node_hs_init(&hs, NODE_HS_LISTENER, genesis, sk[0], &keys[0][0], 0, -1, 0, &out, &out_len),
        NODE_E_INVALID);
    node_hs_close(&hs);
}

/* The transport's path: FINISH and the dialer's first frame arrive in one
 * chunk; the plaintext reader stops after FINISH and the rest goes to the
 * decrypting reader the handshake produced. */
static void finish_and_the_first_frame_in_one_chunk_are_split_by_the_reader(void **state)
{
    (void)state;
    struct pair p;
    const uint8_t *out;
    size_t out_len;
    dial(&p, 2, 3, genesis, 1000);
    listen_as(&p, 3, genesis);
    EXPECT_RC(to_listener_hello(&p, 1000), 0);
    EXPECT_RC(node_hs_step(&p.d, p.reply.b, p.reply.len, 1001, &out, &out_len), 0);
    struct node_hs_result rd, rl;
    EXPECT_RC(node_hs_take(&p.d, &rd), 0);
    uint8_t chunk[512];
    memcpy(chunk, out, out_len);
    size_t n;
    EXPECT_RC(node_frame_seal(&rd.tx, (const uint8_t *)"block", 5, chunk + out_len,
                              sizeof chunk - out_len, &n),
              0);
    size_t total = out_len + n, used, flen;
    const uint8_t *f;
    struct node_frame_rx plain;
    node_frame_rx_init_plain(&plain, NODE_HS_MSG_MAX);
    EXPECT_RC(node_frame_rx_feed(&plain, chunk, total, &used, &f, &flen), 0);
    assert_int_equal(used, out_len);
    assert_non_null(f);
    EXPECT_RC(node_hs_step(&p.l, f, flen, 1002, &out, &out_len), 0);
    node_frame_rx_close(&plain);
    EXPECT_RC(node_hs_take(&p.l, &rl), 0);
    EXPECT_RC(node_frame_rx_feed(&rl.rx, chunk + used, total - used, &used, &f, &flen), 0);
    assert_int_equal(flen, 5);
    assert_memory_equal(f, "block", 5);
    node_frame_tx_close(&rd.tx);
    node_frame_rx_close(&rd.rx);
    node_frame_tx_close(&rl.tx);
    node_frame_rx_close(&rl.rx);
    pair_close(&p);
}

/* Clocks are the peers' to report: absurd ones saturate the estimate and
 * never overflow it. */
static void an_absurd_peer_clock_saturates_the_offset(void **state)
{
    (void)state;
    uint64_t clocks[] = { 1ull << 63, UINT64_MAX, 0 };
    for (int i = 0; i < 3; i++) {
        struct pair p;
        uint64_t t0 = 1795000000000ull;
        dial(&p, 0, 1, genesis, t0);
        listen_as(&p, 1, genesis);
        EXPECT_RC(to_listener_hello(&p, clocks[i]), 0);
        EXPECT_RC(to_dialer_reply(&p, t0 + 10), 0);
        EXPECT_RC(to_listener_finish(&p, clocks[i]), 0);
        struct node_hs_result rd, rl;
        EXPECT_RC(node_hs_take(&p.d, &rd), 0);
        EXPECT_RC(node_hs_take(&p.l, &rl), 0);
        assert_int_equal(rd.rtt_ms, 10);
        if (clocks[i] == 0) {
            assert_true(rd.clock_offset_ms == -(int64_t)(t0 + 5));
            assert_int_equal(rl.rtt_ms, 0);
        } else {
            assert_true(rd.clock_offset_ms > 0);
            assert_true(rl.clock_offset_ms < 0);
        }
        node_frame_tx_close(&rd.tx);
        node_frame_rx_close(&rd.rx);
        node_frame_tx_close(&rl.tx);
        node_frame_rx_close(&rl.rx);
        pair_close(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validators_authenticate_each_other_both_ways_and_measure_the_clock),
        cmocka_unit_test(a_key_not_in_genesis_is_refused),
        cmocka_unit_test(a_peer_other_than_the_one_dialled_is_refused),
        cmocka_unit_test(a_peer_of_another_chain_is_refused_naming_both_chains),
        cmocka_unit_test(our_own_key_from_a_peer_is_refused),
        cmocka_unit_test(tampered_signatures_ephemerals_and_fields_are_refused),
        cmocka_unit_test(a_message_reflected_to_its_sender_is_refused),
        cmocka_unit_test(a_dialer_signature_under_the_listener_role_is_refused),
        cmocka_unit_test(messages_replayed_from_an_earlier_session_are_refused),
        cmocka_unit_test(truncated_over_long_and_unknown_version_messages_are_refused),
        cmocka_unit_test(a_step_after_completion_or_failure_is_refused),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(an_absurd_peer_clock_saturates_the_offset),
        cmocka_unit_test(finish_and_the_first_frame_in_one_chunk_are_split_by_the_reader),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
