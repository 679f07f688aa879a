/* libFuzzer harness for the peer link decoders: handshake messages and frames.
 *
 * Built and run by `make fuzz` (see the Makefile for the flags).
 * The first input byte picks the target; the rest is its input. Every call
 * must return without crashing, leaking or reading out of bounds. Targets:
 * all four decoders on the bytes; the plain and the sealed frame readers;
 * a listener and a dialer stepped with the bytes; each message type's
 * decoder behind its own version and type bytes (HELLO, REPLY, FINISH,
 * REFUSE); and a real dialer and listener whose exchange has one message
 * (HELLO, REPLY or FINISH, or a REFUSE in place of the REPLY) changed by
 * the bytes, where no changed message may let both sides finish. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ledger/crypto.h"
#include "node/err.h"
#include "node/frame.h"
#include "node/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N 4
static uint8_t pk[N][LEDGER_KEY_LEN];
static uint8_t sk[N][LEDGER_SECRET_LEN];
static uint8_t genesis[LEDGER_HASH_LEN];

static void init_once(void)
{
    static int done;
    if (done)
        return;
    if (ledger_crypto_init() != 0)
        abort();
    for (int i = 0; i < N; i++) {
        uint8_t seed[crypto_sign_SEEDBYTES];
        memset(seed, 0x30 + i, sizeof seed);
        crypto_sign_seed_keypair(pk[i], sk[i], seed);
    }
    ledger_sha256("fuzz", 4, genesis);
    done = 1;
}

/* Accepted messages are canonical: re-encoding gives the same bytes. */
static void decoders(const uint8_t *in, size_t len)
{
    uint8_t re[NODE_HS_MSG_MAX];
    struct node_hs_hello h;
    struct node_hs_reply r;
    struct node_hs_finish f;
    if (node_hs_hello_decode(in, len, &h) == 0) {
        node_hs_hello_encode(&h, re);
        if (memcmp(re, in, len) != 0)
            abort();
    }
    if (node_hs_reply_decode(in, len, &r) == 0) {
        node_hs_reply_encode(&r, re);
        if (memcmp(re, in, len) != 0)
            abort();
    }
    struct node_hs_refuse x;
    if (node_hs_refuse_decode(in, len, &x) == 0) {
        node_hs_refuse_encode(&x, re);
        if (memcmp(re, in, len) != 0)
            abort();
    }
    if (node_hs_finish_decode(in, len, &f) == 0) {
        node_hs_finish_encode(&f, re);
        if (memcmp(re, in, len) != 0)
            abort();
    }
}

/* Feeds in to a reader in chunks whose sizes come from the input itself. */
static void feed_all(struct node_frame_rx *rx, const uint8_t *in, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t chunk = 1 + in[off] % 64;
        if (chunk > len - off)
            chunk = len - off;
        size_t left = chunk;
        const uint8_t *p = in + off;
        while (left > 0) {
            size_t used, flen;
            const uint8_t *fr;
            int rc = node_frame_rx_feed(rx, p, left, &used, &fr, &flen);
            if (used > left || (rc != 0 && fr != NULL))
                abort();
            if (rc != 0) {
                if (node_frame_rx_feed(rx, p, left, &used, &fr, &flen) != NODE_E_FRAME_FAILED ||
                    used != 0)
                    abort();
                return;
            }
            if (fr == NULL && used != left)
                abort();
            p += used;
            left -= used;
        }
        off += chunk;
    }
}

/* A state machine (listener or dialer) stepped with the input's messages. */
static void state_machine(const uint8_t *in, size_t len, enum node_hs_role role)
{
    struct node_hs hs;
    const uint8_t *out;
    size_t out_len;
    if (node_hs_init(&hs, role, genesis, sk[0], &pk[0][0], N, role == NODE_HS_DIALER ? 1 : -1, 1000,
                     &out, &out_len) != 0)
        abort();
    struct node_frame_rx rx;
    node_frame_rx_init_plain(&rx, NODE_HS_MSG_MAX);
    while (len > 0) {
        size_t used, flen;
        const uint8_t *fr;
        if (node_frame_rx_feed(&rx, in, len, &used, &fr, &flen) != 0)
            break;
        in += used;
        len -= used;
        if (fr != NULL && node_hs_step(&hs, fr, flen, 2000, &out, &out_len) != 0 &&
            node_hs_errmsg(&hs)[0] == '\0')
            abort();
    }
    node_frame_rx_close(&rx);
    node_hs_close(&hs);
}

/* One message type's decoder, the bytes behind a valid version and type. */
static void one_type(uint8_t type, const uint8_t *in, size_t len)
{
    uint8_t msg[2 + NODE_HS_MSG_MAX + 8];
    if (len > sizeof msg - 2)
        len = sizeof msg - 2;
    msg[0] = NODE_HS_VERSION;
    msg[1] = type;
    memcpy(msg + 2, in, len);
    decoders(msg, len + 2);
}

/* A message as it left: a frame body (the wire form less its length prefix). */
struct msg {
    uint8_t b[NODE_HS_MSG_MAX + 64];
    size_t len;
};

static void keep(struct msg *m, const uint8_t *wire, size_t wire_len)
{
    if (wire_len < NODE_FRAME_PREFIX_LEN || wire_len - NODE_FRAME_PREFIX_LEN > NODE_HS_MSG_MAX)
        abort();
    m->len = wire_len - NODE_FRAME_PREFIX_LEN;
    memcpy(m->b, wire + NODE_FRAME_PREFIX_LEN, m->len);
}

/* Changes m by in: mode 0 XORs the bytes in, 1 also cuts m to their
 * length, 2 appends them. Returns true when m changed. */
static bool tamper(struct msg *m, unsigned mode, const uint8_t *in, size_t len)
{
    uint8_t was[sizeof m->b];
    size_t was_len = m->len;
    memcpy(was, m->b, m->len);
    if (mode == 2) {
        size_t k = len < sizeof m->b - m->len ? len : sizeof m->b - m->len;
        memcpy(m->b + m->len, in, k);
        m->len += k;
    } else {
        size_t k = len < m->len ? len : m->len;
        for (size_t i = 0; i < k; i++)
            m->b[i] ^= in[i];
        if (mode == 1)
            m->len = k;
    }
    return m->len != was_len || memcmp(m->b, was, was_len) != 0;
}

/* A real handshake between validators 1 (dialer) and 0 (listener), with
 * message `which` (0 HELLO, 1 REPLY, 2 FINISH, 3 a REFUSE made of the bytes
 * in place of the REPLY) changed by in. Unchanged, both sides must finish;
 * changed, they must not both finish. */
static void exchange(unsigned which, unsigned mode, const uint8_t *in, size_t len)
{
    struct node_hs d, l;
    const uint8_t *out;
    size_t out_len;
    struct msg m;
    bool changed = false;
    const uint8_t *none;
    size_t none_len;
    if (node_hs_init(&l, NODE_HS_LISTENER, genesis, sk[0], &pk[0][0], N, -1, 1000, &none,
                     &none_len) != 0 ||
        node_hs_init(&d, NODE_HS_DIALER, genesis, sk[1], &pk[0][0], N, 0, 1000, &out, &out_len) !=
            0)
        abort();
    keep(&m, out, out_len); /* HELLO */
    if (which == 0)
        changed = tamper(&m, mode, in, len);
    if (node_hs_step(&l, m.b, m.len, 1001, &out, &out_len) != 0 || out_len == 0)
        goto done;
    keep(&m, out, out_len); /* REPLY */
    if (which == 1)
        changed = tamper(&m, mode, in, len);
    if (which == 3) {
        m.b[0] = NODE_HS_VERSION;
        m.b[1] = NODE_HS_REFUSE;
        m.len = 2;
        tamper(&m, 2, in, len);
        changed = true;
    }
    if (node_hs_step(&d, m.b, m.len, 1002, &out, &out_len) != 0 || out_len == 0)
        goto done;
    keep(&m, out, out_len); /* FINISH */
    if (which == 2)
        changed = tamper(&m, mode, in, len);
    node_hs_step(&l, m.b, m.len, 1003, &out, &out_len);
done:
    if (node_hs_done(&d) && node_hs_done(&l) ? changed : !changed)
        abort();
    node_hs_close(&d);
    node_hs_close(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    init_once();
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    switch (data[0] % 10) {
    case 0:
        decoders(in, len);
        break;
    case 1: {
        struct node_frame_rx rx;
        node_frame_rx_init_plain(&rx, NODE_HS_MSG_MAX);
        feed_all(&rx, in, len);
        node_frame_rx_close(&rx);
        break;
    }
    case 2: {
        /* A fixed key and header: reaches the length checks and the MAC. */
        uint8_t key[NODE_FRAME_KEY_LEN], header[NODE_FRAME_HEADER_LEN];
        memset(key, 7, sizeof key);
        memset(header, 9, sizeof header);
        struct node_frame_rx rx;
        if (node_frame_rx_init(&rx, key, header) == 0) {
            node_frame_rx_set_max(&rx, 1u << 16);
            feed_all(&rx, in, len);
        }
        node_frame_rx_close(&rx);
        break;
    }
    case 3:
        state_machine(in, len, NODE_HS_LISTENER);
        break;
    case 4:
        state_machine(in, len, NODE_HS_DIALER);
        break;
    case 5:
        one_type(NODE_HS_HELLO, in, len);
        break;
    case 6:
        one_type(NODE_HS_REPLY, in, len);
        break;
    case 7:
        one_type(NODE_HS_FINISH, in, len);
        break;
    case 8:
        one_type(NODE_HS_REFUSE, in, len);
        break;
    default:
        /* data[0] / 10 picks the message and the kind of change */
        exchange(data[0] / 10 % 4, data[0] / 40 % 3, in, len);
        break;
    }
    return 0;
}
