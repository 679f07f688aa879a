/* libFuzzer harness for the peer link decoders: handshake messages and frames.
 *
 * Built and run by `make fuzz` (see the Makefile for the flags).
 * The first input byte picks the target; the rest is its input. Every call
 * must return without crashing, leaking or reading out of bounds. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    init_once();
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    switch (data[0] % 5) {
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
    default:
        state_machine(in, len, NODE_HS_DIALER);
        break;
    }
    return 0;
}
