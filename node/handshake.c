/* The SIGMA-style handshake of a peer link: a pure state machine over fixed-size messages. */
#include "node/handshake.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "node/err.h"

_Static_assert(NODE_HS_MAC_LEN == crypto_auth_hmacsha512256_BYTES, "mac size");
_Static_assert(LEDGER_KEY_LEN == crypto_kx_PUBLICKEYBYTES, "kx key size");

enum state { AWAIT_HELLO, AWAIT_REPLY, AWAIT_FINISH, DONE, TAKEN, FAILED };

/* Secret material of one handshake, in sodium_malloc'd memory. */
struct node_hs__secret {
    uint8_t sk[LEDGER_SECRET_LEN];
    uint8_t eph_sk[crypto_kx_SECRETKEYBYTES];
    uint8_t send_mac[crypto_auth_hmacsha512256_KEYBYTES];
    uint8_t recv_mac[crypto_auth_hmacsha512256_KEYBYTES];
    uint8_t send_stream[NODE_FRAME_KEY_LEN];
    uint8_t recv_stream[NODE_FRAME_KEY_LEN];
};

/* --- message codecs --------------------------------------------------------- */

struct cursor {
    uint8_t *p;
};

static void put(struct cursor *c, const void *src, size_t len)
{
    memcpy(c->p, src, len);
    c->p += len;
}

static void put_u64(struct cursor *c, uint64_t v)
{
    ledger_put_u64be(c->p, v);
    c->p += 8;
}

static void put_head(struct cursor *c, enum node_hs_type type)
{
    c->p[0] = NODE_HS_VERSION;
    c->p[1] = (uint8_t)type;
    c->p += 2;
}

struct reader {
    const uint8_t *p;
};

static void get(struct reader *r, void *dst, size_t len)
{
    memcpy(dst, r->p, len);
    r->p += len;
}

static uint64_t get_u64(struct reader *r)
{
    uint64_t v = ledger_get_u64be(r->p);
    r->p += 8;
    return v;
}

/* Version first (a later version may be longer), then type, then exact size. */
static int check_head(const uint8_t *in, size_t len, enum node_hs_type type, size_t want)
{
    if (len == 0)
        return NODE_E_HS_MALFORMED;
    if (in[0] != NODE_HS_VERSION)
        return NODE_E_HS_VERSION;
    if (len < 2)
        return NODE_E_HS_MALFORMED;
    if (in[1] != type)
        return NODE_E_HS_UNEXPECTED;
    return len == want ? 0 : NODE_E_HS_MALFORMED;
}

int node_hs_hello_decode(const uint8_t *in, size_t len, struct node_hs_hello *out)
{
    int rc = check_head(in, len, NODE_HS_HELLO, NODE_HS_HELLO_LEN);
    if (rc != 0)
        return rc;
    struct reader r = { in + 2 };
    get(&r, out->genesis, sizeof out->genesis);
    get(&r, out->node_key, sizeof out->node_key);
    get(&r, out->eph, sizeof out->eph);
    out->time_ms = get_u64(&r);
    return 0;
}

int node_hs_reply_decode(const uint8_t *in, size_t len, struct node_hs_reply *out)
{
    int rc = check_head(in, len, NODE_HS_REPLY, NODE_HS_REPLY_LEN);
    if (rc != 0)
        return rc;
    struct reader r = { in + 2 };
    get(&r, out->node_key, sizeof out->node_key);
    get(&r, out->eph, sizeof out->eph);
    out->time_ms = get_u64(&r);
    get(&r, out->sig, sizeof out->sig);
    get(&r, out->stream_header, sizeof out->stream_header);
    get(&r, out->mac, sizeof out->mac);
    return 0;
}

int node_hs_finish_decode(const uint8_t *in, size_t len, struct node_hs_finish *out)
{
    int rc = check_head(in, len, NODE_HS_FINISH, NODE_HS_FINISH_LEN);
    if (rc != 0)
        return rc;
    struct reader r = { in + 2 };
    out->time_ms = get_u64(&r);
    get(&r, out->sig, sizeof out->sig);
    get(&r, out->stream_header, sizeof out->stream_header);
    get(&r, out->mac, sizeof out->mac);
    return 0;
}

int node_hs_refuse_decode(const uint8_t *in, size_t len, struct node_hs_refuse *out)
{
    int rc = check_head(in, len, NODE_HS_REFUSE, NODE_HS_REFUSE_LEN);
    if (rc != 0)
        return rc;
    struct reader r = { in + 2 };
    get(&r, &out->code, 1);
    get(&r, out->genesis, sizeof out->genesis);
    return 0;
}

void node_hs_refuse_encode(const struct node_hs_refuse *m, uint8_t out[static NODE_HS_REFUSE_LEN])
{
    struct cursor c = { out };
    put_head(&c, NODE_HS_REFUSE);
    put(&c, &m->code, 1);
    put(&c, m->genesis, sizeof m->genesis);
}

void node_hs_hello_encode(const struct node_hs_hello *m, uint8_t out[static NODE_HS_HELLO_LEN])
{
    struct cursor c = { out };
    put_head(&c, NODE_HS_HELLO);
    put(&c, m->genesis, sizeof m->genesis);
    put(&c, m->node_key, sizeof m->node_key);
    put(&c, m->eph, sizeof m->eph);
    put_u64(&c, m->time_ms);
}

void node_hs_reply_encode(const struct node_hs_reply *m, uint8_t out[static NODE_HS_REPLY_LEN])
{
    struct cursor c = { out };
    put_head(&c, NODE_HS_REPLY);
    put(&c, m->node_key, sizeof m->node_key);
    put(&c, m->eph, sizeof m->eph);
    put_u64(&c, m->time_ms);
    put(&c, m->sig, sizeof m->sig);
    put(&c, m->stream_header, sizeof m->stream_header);
    put(&c, m->mac, sizeof m->mac);
}

void node_hs_finish_encode(const struct node_hs_finish *m, uint8_t out[static NODE_HS_FINISH_LEN])
{
    struct cursor c = { out };
    put_head(&c, NODE_HS_FINISH);
    put_u64(&c, m->time_ms);
    put(&c, m->sig, sizeof m->sig);
    put(&c, m->stream_header, sizeof m->stream_header);
    put(&c, m->mac, sizeof m->mac);
}

void node_hs_signed_payload(enum node_hs_role role, const uint8_t dialer_key[static LEDGER_KEY_LEN],
                            const uint8_t listener_key[static LEDGER_KEY_LEN],
                            const uint8_t dialer_eph[static LEDGER_KEY_LEN],
                            const uint8_t listener_eph[static LEDGER_KEY_LEN],
                            uint8_t out[static NODE_HS_SIGNED_LEN])
{
    struct cursor c = { out };
    uint8_t r = (uint8_t)role;
    put(&c, &r, 1);
    put(&c, dialer_key, LEDGER_KEY_LEN);
    put(&c, listener_key, LEDGER_KEY_LEN);
    put(&c, dialer_eph, LEDGER_KEY_LEN);
    put(&c, listener_eph, LEDGER_KEY_LEN);
}

/* --- state helpers ---------------------------------------------------------- */

static void wipe_secrets(struct node_hs *hs)
{
    if (hs->sec != NULL)
        sodium_free(hs->sec); /* wipes before unmapping */
    hs->sec = NULL;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(struct node_hs *hs, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char why[NODE_HS_ERRMSG_LEN - 32];
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(hs->errmsg, sizeof hs->errmsg, "handshake: %s", why);
    hs->err = code;
    hs->state = FAILED;
    wipe_secrets(hs);
    node_frame_tx_close(&hs->tx);
    node_frame_rx_close(&hs->rx);
    return code;
}

/* First 8 bytes in hex and an ellipsis: enough for an operator to tell keys
 * and chains apart in a log line. */
struct short_hex {
    char s[2 * 8 + 4];
};

static struct short_hex short_hex(const uint8_t *bytes)
{
    struct short_hex h;
    ledger_hex(bytes, 8, h.s);
    strcat(h.s, "\xe2\x80\xa6");
    return h;
}

static int find_key(const struct node_hs *hs, const uint8_t key[static LEDGER_KEY_LEN])
{
    for (uint32_t i = 0; i < hs->n; i++)
        if (sodium_memcmp(hs->keys[i], key, LEDGER_KEY_LEN) == 0)
            return (int)i;
    return -1;
}

/* Checks the peer's node key: not ours, in genesis, and (dialer) the one dialled. */
static int check_peer_key(struct node_hs *hs, const uint8_t key[static LEDGER_KEY_LEN])
{
    if (sodium_memcmp(key, hs->own_key, LEDGER_KEY_LEN) == 0)
        return fail(hs, NODE_E_HS_SELF, "peer presented our own node key %s", short_hex(key).s);
    int idx = find_key(hs, key);
    if (idx < 0)
        return fail(hs, NODE_E_HS_UNKNOWN_PEER,
                    "peer key %s is not a validator node key in genesis", short_hex(key).s);
    if (hs->role == NODE_HS_DIALER && idx != hs->expected)
        return fail(hs, NODE_E_HS_WRONG_PEER,
                    "dialled validator %d (key %s) but validator %d (key %s) answered",
                    hs->expected, short_hex(hs->keys[hs->expected]).s, idx, short_hex(key).s);
    hs->peer_index = idx;
    memcpy(hs->peer_key, key, LEDGER_KEY_LEN);
    return 0;
}

/* Session keys from crypto_kx, split per direction into a stream key and a
 * MAC key so no key serves two algorithms. */
static int derive_keys(struct node_hs *hs)
{
    uint8_t rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
    int rc =
        hs->role == NODE_HS_DIALER
            ? crypto_kx_client_session_keys(rx, tx, hs->own_eph, hs->sec->eph_sk, hs->peer_eph)
            : crypto_kx_server_session_keys(rx, tx, hs->own_eph, hs->sec->eph_sk, hs->peer_eph);
    if (rc == 0) {
        static const char ctx[crypto_kdf_CONTEXTBYTES] = "sealp2p1";
        crypto_kdf_derive_from_key(hs->sec->send_stream, NODE_FRAME_KEY_LEN, 1, ctx, tx);
        crypto_kdf_derive_from_key(hs->sec->send_mac, sizeof hs->sec->send_mac, 2, ctx, tx);
        crypto_kdf_derive_from_key(hs->sec->recv_stream, NODE_FRAME_KEY_LEN, 1, ctx, rx);
        crypto_kdf_derive_from_key(hs->sec->recv_mac, sizeof hs->sec->recv_mac, 2, ctx, rx);
    }
    sodium_memzero(rx, sizeof rx);
    sodium_memzero(tx, sizeof tx);
    if (rc != 0)
        return fail(hs, NODE_E_HS_MALFORMED, "peer ephemeral key refused by X25519");
    return 0;
}

/* HMAC over SHA-256(transcript so far ‖ body), body being a message up to its MAC. */
static void transcript_mac(const struct node_hs *hs, const uint8_t *body, size_t len,
                           const uint8_t key[static crypto_auth_hmacsha512256_KEYBYTES],
                           uint8_t mac[static NODE_HS_MAC_LEN])
{
    crypto_hash_sha256_state st;
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, hs->transcript, hs->transcript_len);
    crypto_hash_sha256_update(&st, body, len);
    crypto_hash_sha256_final(&st, digest);
    crypto_auth_hmacsha512256(mac, digest, sizeof digest, key);
}

static void append_transcript(struct node_hs *hs, const uint8_t *msg, size_t len)
{
    memcpy(hs->transcript + hs->transcript_len, msg, len);
    hs->transcript_len += len;
}

static void payload(const struct node_hs *hs, enum node_hs_role signer,
                    uint8_t out[static NODE_HS_SIGNED_LEN])
{
    bool dialer = hs->role == NODE_HS_DIALER;
    node_hs_signed_payload(signer, dialer ? hs->own_key : hs->peer_key,
                           dialer ? hs->peer_key : hs->own_key, dialer ? hs->own_eph : hs->peer_eph,
                           dialer ? hs->peer_eph : hs->own_eph, out);
}

static int sign_own(struct node_hs *hs, uint8_t sig[static LEDGER_SIG_LEN])
{
    uint8_t p[NODE_HS_SIGNED_LEN];
    payload(hs, hs->role, p);
    if (ledger_sign(LEDGER_TAG_HANDSHAKE, hs->genesis, p, sizeof p, hs->sec->sk, sig) != 0)
        return fail(hs, NODE_E_NOMEM, "cannot sign");
    return 0;
}

static int verify_peer(struct node_hs *hs, const uint8_t sig[static LEDGER_SIG_LEN])
{
    uint8_t p[NODE_HS_SIGNED_LEN];
    enum node_hs_role peer = hs->role == NODE_HS_DIALER ? NODE_HS_LISTENER : NODE_HS_DIALER;
    payload(hs, peer, p);
    if (ledger_verify(LEDGER_TAG_HANDSHAKE, hs->genesis, p, sizeof p, hs->peer_key, sig) != 0)
        return fail(hs, NODE_E_HS_BAD_SIGNATURE,
                    "signature of validator %d (key %s) does not verify for this session",
                    hs->peer_index, short_hex(hs->peer_key).s);
    return 0;
}

static int check_mac(struct node_hs *hs, const uint8_t *msg, size_t len)
{
    uint8_t mac[NODE_HS_MAC_LEN];
    transcript_mac(hs, msg, len - NODE_HS_MAC_LEN, hs->sec->recv_mac, mac);
    if (sodium_memcmp(mac, msg + len - NODE_HS_MAC_LEN, NODE_HS_MAC_LEN) != 0)
        return fail(hs, NODE_E_HS_BAD_MAC, "validator %d did not prove it holds the session keys",
                    hs->peer_index);
    return 0;
}

/* Ends a message: its MAC under our send key, then the wire prefix. */
static void seal_out(struct node_hs *hs, size_t len, const uint8_t **out, size_t *out_len)
{
    uint8_t *msg = hs->out + NODE_FRAME_PREFIX_LEN;
    transcript_mac(hs, msg, len - NODE_HS_MAC_LEN, hs->sec->send_mac, msg + len - NODE_HS_MAC_LEN);
    ledger_put_u32be(hs->out, (uint32_t)len);
    *out = hs->out;
    *out_len = NODE_FRAME_PREFIX_LEN + len;
}

/* peer − own, from the peer's clock at the midpoint of our round trip. In
 * unsigned arithmetic and saturated: the peer's clock is its to report. */
static void measure_clock(struct node_hs *hs, uint64_t peer_ms, uint64_t now_ms)
{
    uint64_t sent = hs->sent_ms;
    uint64_t rtt = now_ms >= sent ? now_ms - sent : 0; /* a wall clock may step back */
    uint64_t mid = sent + rtt / 2;
    uint64_t d = peer_ms >= mid ? peer_ms - mid : mid - peer_ms;
    if (d > (uint64_t)INT64_MAX)
        d = (uint64_t)INT64_MAX;
    hs->rtt_ms = rtt;
    hs->offset_ms = peer_ms >= mid ? (int64_t)d : -(int64_t)d;
}

/* --- the three steps -------------------------------------------------------- */

/* The listener's failure with a REFUSE for the dialer in *out. */
static int refuse(struct node_hs *hs, int code, const uint8_t **out, size_t *out_len)
{
    struct node_hs_refuse m = { .code = (uint8_t)code };
    memcpy(m.genesis, hs->genesis, LEDGER_HASH_LEN);
    node_hs_refuse_encode(&m, hs->out + NODE_FRAME_PREFIX_LEN);
    ledger_put_u32be(hs->out, NODE_HS_REFUSE_LEN);
    *out = hs->out;
    *out_len = NODE_FRAME_PREFIX_LEN + NODE_HS_REFUSE_LEN;
    return code;
}

static int on_hello(struct node_hs *hs, const uint8_t *in, size_t len, uint64_t now_ms,
                    const uint8_t **out, size_t *out_len)
{
    struct node_hs_hello h;
    int rc = node_hs_hello_decode(in, len, &h);
    if (rc != 0)
        return fail(hs, rc, "bad HELLO (%zu bytes)", len);
    if (memcmp(h.genesis, hs->genesis, LEDGER_HASH_LEN) != 0)
        return refuse(hs,
                      fail(hs, NODE_E_HS_WRONG_CHAIN, "peer is on chain %s but we are on %s",
                           short_hex(h.genesis).s, short_hex(hs->genesis).s),
                      out, out_len);
    if ((rc = check_peer_key(hs, h.node_key)) != 0)
        return refuse(hs, rc, out, out_len);
    memcpy(hs->peer_eph, h.eph, LEDGER_KEY_LEN);
    if ((rc = derive_keys(hs)) != 0)
        return rc;
    append_transcript(hs, in, len);

    struct node_hs_reply r;
    memcpy(r.node_key, hs->own_key, LEDGER_KEY_LEN);
    memcpy(r.eph, hs->own_eph, LEDGER_KEY_LEN);
    r.time_ms = now_ms;
    if ((rc = sign_own(hs, r.sig)) != 0)
        return rc;
    if (node_frame_tx_init(&hs->tx, hs->sec->send_stream, r.stream_header) != 0)
        return fail(hs, NODE_E_NOMEM, "cannot start the send stream");
    memset(r.mac, 0, sizeof r.mac);
    uint8_t *msg = hs->out + NODE_FRAME_PREFIX_LEN;
    node_hs_reply_encode(&r, msg);
    seal_out(hs, NODE_HS_REPLY_LEN, out, out_len);
    append_transcript(hs, msg, NODE_HS_REPLY_LEN);
    hs->sent_ms = now_ms;
    hs->state = AWAIT_FINISH;
    return 0;
}

static int start_rx(struct node_hs *hs, const uint8_t header[static NODE_FRAME_HEADER_LEN])
{
    int rc = node_frame_rx_init(&hs->rx, hs->sec->recv_stream, header);
    if (rc != 0)
        return fail(hs, rc, "cannot start the receive stream");
    return 0;
}

/* A listener's unauthenticated refusal: reported, never trusted further. */
static int on_refuse(struct node_hs *hs, const uint8_t *in, size_t len)
{
    struct node_hs_refuse m;
    int rc = node_hs_refuse_decode(in, len, &m);
    if (rc != 0)
        return fail(hs, rc, "bad REFUSE (%zu bytes)", len);
    if (m.code == NODE_E_HS_WRONG_CHAIN)
        return fail(hs, NODE_E_HS_WRONG_CHAIN,
                    "peer is on chain %s but we are on %s (its refusal, unauthenticated)",
                    short_hex(m.genesis).s, short_hex(hs->genesis).s);
    return fail(hs, NODE_E_HS_REFUSED, "validator %d refused us: %s (unauthenticated)",
                hs->expected, node_strerror(m.code));
}

/* The dialer's checks of a REPLY, cheapest first; then FINISH goes out. */
static int on_reply(struct node_hs *hs, const uint8_t *in, size_t len, uint64_t now_ms,
                    const uint8_t **out, size_t *out_len)
{
    struct node_hs_reply r;
    int rc = node_hs_reply_decode(in, len, &r);
    if (rc != 0)
        return fail(hs, rc, "bad REPLY (%zu bytes)", len);
    if ((rc = check_peer_key(hs, r.node_key)) != 0)
        return rc;
    memcpy(hs->peer_eph, r.eph, LEDGER_KEY_LEN);
    if ((rc = derive_keys(hs)) != 0 || (rc = verify_peer(hs, r.sig)) != 0 ||
        (rc = check_mac(hs, in, len)) != 0 || (rc = start_rx(hs, r.stream_header)) != 0)
        return rc;
    append_transcript(hs, in, len);
    measure_clock(hs, r.time_ms, now_ms);

    struct node_hs_finish f;
    f.time_ms = now_ms;
    if ((rc = sign_own(hs, f.sig)) != 0)
        return rc;
    if (node_frame_tx_init(&hs->tx, hs->sec->send_stream, f.stream_header) != 0)
        return fail(hs, NODE_E_NOMEM, "cannot start the send stream");
    memset(f.mac, 0, sizeof f.mac);
    node_hs_finish_encode(&f, hs->out + NODE_FRAME_PREFIX_LEN);
    seal_out(hs, NODE_HS_FINISH_LEN, out, out_len);
    wipe_secrets(hs);
    hs->state = DONE;
    return 0;
}

static int on_finish(struct node_hs *hs, const uint8_t *in, size_t len, uint64_t now_ms)
{
    struct node_hs_finish f;
    int rc = node_hs_finish_decode(in, len, &f);
    if (rc != 0)
        return fail(hs, rc, "bad FINISH (%zu bytes)", len);
    if ((rc = verify_peer(hs, f.sig)) != 0 || (rc = check_mac(hs, in, len)) != 0 ||
        (rc = start_rx(hs, f.stream_header)) != 0)
        return rc;
    measure_clock(hs, f.time_ms, now_ms);
    wipe_secrets(hs);
    hs->state = DONE;
    return 0;
}

/* --- public entry points ---------------------------------------------------- */

static int start_dialer(struct node_hs *hs, uint64_t now_ms, const uint8_t **out, size_t *out_len)
{
    struct node_hs_hello h;
    memcpy(h.genesis, hs->genesis, LEDGER_HASH_LEN);
    memcpy(h.node_key, hs->own_key, LEDGER_KEY_LEN);
    memcpy(h.eph, hs->own_eph, LEDGER_KEY_LEN);
    h.time_ms = now_ms;
    uint8_t *msg = hs->out + NODE_FRAME_PREFIX_LEN;
    node_hs_hello_encode(&h, msg);
    ledger_put_u32be(hs->out, NODE_HS_HELLO_LEN);
    append_transcript(hs, msg, NODE_HS_HELLO_LEN);
    hs->sent_ms = now_ms;
    hs->state = AWAIT_REPLY;
    *out = hs->out;
    *out_len = NODE_FRAME_PREFIX_LEN + NODE_HS_HELLO_LEN;
    return 0;
}

static int check_args(struct node_hs *hs, enum node_hs_role role, uint32_t n, int expected)
{
    if (role != NODE_HS_DIALER && role != NODE_HS_LISTENER)
        return fail(hs, NODE_E_INVALID, "role %d is neither dialer nor listener", (int)role);
    if (n == 0 || n > LEDGER_MAX_VALIDATORS)
        return fail(hs, NODE_E_INVALID, "%u validators (need 1..%d)", n, LEDGER_MAX_VALIDATORS);
    if (role == NODE_HS_LISTENER && expected != -1)
        return fail(hs, NODE_E_INVALID, "a listener expects no particular peer");
    if (role == NODE_HS_DIALER && (expected < 0 || (uint32_t)expected >= n))
        return fail(hs, NODE_E_INVALID, "dialled validator %d is not in 0..%u", expected, n - 1);
    return 0;
}

int node_hs_init(struct node_hs *hs, enum node_hs_role role,
                 const uint8_t genesis[static LEDGER_HASH_LEN],
                 const uint8_t sk[static LEDGER_SECRET_LEN], const uint8_t *keys, uint32_t n,
                 int expected, uint64_t now_ms, const uint8_t **out, size_t *out_len)
{
    memset(hs, 0, sizeof *hs);
    *out = NULL;
    *out_len = 0;
    hs->role = role;
    hs->expected = expected;
    hs->peer_index = -1;
    int rc = check_args(hs, role, n, expected);
    if (rc != 0)
        return rc;
    hs->n = n;
    memcpy(hs->genesis, genesis, LEDGER_HASH_LEN);
    memcpy(hs->keys, keys, (size_t)n * LEDGER_KEY_LEN);
    memcpy(hs->own_key, sk + LEDGER_SECRET_LEN - LEDGER_KEY_LEN, LEDGER_KEY_LEN);
    if (role == NODE_HS_DIALER && memcmp(hs->keys[expected], hs->own_key, LEDGER_KEY_LEN) == 0)
        return fail(hs, NODE_E_INVALID, "dialled validator %d is this node", expected);
    hs->sec = sodium_malloc(sizeof *hs->sec);
    if (hs->sec == NULL)
        return fail(hs, NODE_E_NOMEM, "no memory for the session secrets");
    memcpy(hs->sec->sk, sk, LEDGER_SECRET_LEN);
    crypto_kx_keypair(hs->own_eph, hs->sec->eph_sk);
    if (role == NODE_HS_DIALER)
        return start_dialer(hs, now_ms, out, out_len);
    hs->state = AWAIT_HELLO;
    return 0;
}

static const char *awaiting(int state)
{
    return state == AWAIT_HELLO ? "HELLO" : state == AWAIT_REPLY ? "REPLY" : "FINISH";
}

int node_hs_step(struct node_hs *hs, const uint8_t *in, size_t len, uint64_t now_ms,
                 const uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (hs->state == FAILED)
        return NODE_E_HS_FAILED;
    if (hs->state == DONE || hs->state == TAKEN)
        return fail(hs, NODE_E_HS_UNEXPECTED, "handshake message after the handshake completed");
    if (len >= 2 && in[0] == NODE_HS_VERSION) {
        int want = hs->state == AWAIT_HELLO   ? NODE_HS_HELLO
                   : hs->state == AWAIT_REPLY ? NODE_HS_REPLY
                                              : NODE_HS_FINISH;
        bool refusal = hs->state == AWAIT_REPLY && in[1] == NODE_HS_REFUSE;
        if (in[1] != want && !refusal)
            return fail(hs, NODE_E_HS_UNEXPECTED, "message type %u while awaiting %s",
                        (unsigned)in[1], awaiting(hs->state));
    }
    switch (hs->state) {
    case AWAIT_HELLO:
        return on_hello(hs, in, len, now_ms, out, out_len);
    case AWAIT_REPLY:
        if (len >= 2 && in[1] == NODE_HS_REFUSE)
            return on_refuse(hs, in, len);
        return on_reply(hs, in, len, now_ms, out, out_len);
    default:
        return on_finish(hs, in, len, now_ms);
    }
}

bool node_hs_done(const struct node_hs *hs)
{
    return hs->state == DONE;
}

int node_hs_take(struct node_hs *hs, struct node_hs_result *out)
{
    if (hs->state != DONE)
        return NODE_E_INVALID;
    memset(out, 0, sizeof *out);
    out->peer_index = (uint32_t)hs->peer_index;
    memcpy(out->peer_key, hs->peer_key, LEDGER_KEY_LEN);
    out->clock_offset_ms = hs->offset_ms;
    out->rtt_ms = hs->rtt_ms;
    out->tx = hs->tx;
    out->rx = hs->rx;
    memset(&hs->tx, 0, sizeof hs->tx);
    memset(&hs->rx, 0, sizeof hs->rx);
    hs->state = TAKEN;
    return 0;
}

const char *node_hs_errmsg(const struct node_hs *hs)
{
    return hs->errmsg;
}

void node_hs_close(struct node_hs *hs)
{
    wipe_secrets(hs);
    node_frame_tx_close(&hs->tx);
    node_frame_rx_close(&hs->rx);
    sodium_memzero(hs, sizeof *hs);
}
