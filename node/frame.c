/* Length-prefixed frames: a bounded streaming decoder and a secretstream encoder. */
#include "node/frame.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/crypto.h"
#include "node/err.h"

typedef crypto_secretstream_xchacha20poly1305_state stream_state;

_Static_assert(NODE_FRAME_KEY_LEN == crypto_secretstream_xchacha20poly1305_KEYBYTES, "key size");
_Static_assert(NODE_FRAME_HEADER_LEN == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "header size");
_Static_assert(NODE_FRAME_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES, "abytes");
_Static_assert(NODE_FRAME_MAX <= UINT32_MAX, "a frame length fits its prefix");

/* A buffer larger than this is released once its frame was delivered, so a
 * single large block does not pin its memory for the life of the link. */
#define KEEP_CAP (64u * 1024)
/* Smallest body buffer allocated: handshake messages and votes fit. */
#define MIN_CAP 512u

int node_frame_tx_init(struct node_frame_tx *tx, const uint8_t key[static NODE_FRAME_KEY_LEN],
                       uint8_t out_header[static NODE_FRAME_HEADER_LEN])
{
    memset(tx, 0, sizeof *tx);
    stream_state *st = sodium_malloc(sizeof *st);
    if (st == NULL)
        return NODE_E_NOMEM;
    crypto_secretstream_xchacha20poly1305_init_push(st, out_header, key);
    tx->st = st;
    return 0;
}

void node_frame_tx_close(struct node_frame_tx *tx)
{
    if (tx->st != NULL)
        sodium_free(tx->st); /* sodium_free wipes before unmapping */
    memset(tx, 0, sizeof *tx);
}

size_t node_frame_wire_len(size_t plain_len)
{
    return NODE_FRAME_PREFIX_LEN + plain_len + NODE_FRAME_ABYTES;
}

int node_frame_seal(struct node_frame_tx *tx, const uint8_t *plain, size_t len, uint8_t *out,
                    size_t cap, size_t *out_len)
{
    if (len > NODE_FRAME_PLAIN_MAX)
        return NODE_E_FRAME_TOO_LARGE;
    size_t wire = node_frame_wire_len(len);
    if (tx->st == NULL || out == NULL || cap < wire || (plain == NULL && len > 0))
        return NODE_E_INVALID;
    ledger_put_u32be(out, (uint32_t)(len + NODE_FRAME_ABYTES));
    unsigned long long clen;
    static const uint8_t empty[1];
    crypto_secretstream_xchacha20poly1305_push(
        tx->st, out + NODE_FRAME_PREFIX_LEN, &clen, len > 0 ? plain : empty, len, out,
        NODE_FRAME_PREFIX_LEN, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    tx->frames++;
    *out_len = wire;
    return 0;
}

int node_frame_seal_alloc(struct node_frame_tx *tx, const uint8_t *plain, size_t len, uint8_t **out,
                          size_t *out_len)
{
    *out = NULL;
    if (len > NODE_FRAME_PLAIN_MAX)
        return NODE_E_FRAME_TOO_LARGE;
    size_t wire = node_frame_wire_len(len);
    uint8_t *buf = malloc(wire);
    if (buf == NULL)
        return NODE_E_NOMEM;
    int rc = node_frame_seal(tx, plain, len, buf, wire, out_len);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}

int node_frame_rx_init_plain(struct node_frame_rx *rx, size_t max)
{
    memset(rx, 0, sizeof *rx);
    rx->max = max < NODE_FRAME_MAX ? max : NODE_FRAME_MAX;
    return 0;
}

int node_frame_rx_init(struct node_frame_rx *rx, const uint8_t key[static NODE_FRAME_KEY_LEN],
                       const uint8_t header[static NODE_FRAME_HEADER_LEN])
{
    memset(rx, 0, sizeof *rx);
    stream_state *st = sodium_malloc(sizeof *st);
    if (st == NULL)
        return NODE_E_NOMEM;
    if (crypto_secretstream_xchacha20poly1305_init_pull(st, header, key) != 0) {
        sodium_free(st);
        return NODE_E_FRAME_BAD;
    }
    rx->st = st;
    rx->max = NODE_FRAME_MAX;
    return 0;
}

void node_frame_rx_set_max(struct node_frame_rx *rx, size_t max_plain)
{
    if (max_plain > NODE_FRAME_PLAIN_MAX)
        return; /* never raised; and max_plain + ABYTES cannot wrap below */
    size_t body = rx->st != NULL ? max_plain + NODE_FRAME_ABYTES : max_plain;
    if (body < rx->max)
        rx->max = body;
}

static void release(struct node_frame_rx *rx)
{
    free(rx->buf);
    rx->buf = NULL;
    rx->cap = 0;
}

void node_frame_rx_close(struct node_frame_rx *rx)
{
    release(rx);
    if (rx->st != NULL)
        sodium_free(rx->st);
    memset(rx, 0, sizeof *rx);
}

int node_frame_rx_error(const struct node_frame_rx *rx)
{
    return rx->err;
}

size_t node_frame_rx_allocated(const struct node_frame_rx *rx)
{
    return rx->cap;
}

static int fail(struct node_frame_rx *rx, int code)
{
    rx->err = code;
    release(rx);
    if (rx->st != NULL) {
        sodium_free(rx->st);
        rx->st = NULL;
    }
    return code;
}

/* Parses a complete length prefix: checks it against the limit before any
 * body memory exists. */
static int start_body(struct node_frame_rx *rx)
{
    size_t len = ledger_get_u32be(rx->prefix);
    if (len > rx->max)
        return fail(rx, NODE_E_FRAME_TOO_LARGE);
    if (rx->st != NULL && len < NODE_FRAME_ABYTES)
        return fail(rx, NODE_E_FRAME_MALFORMED);
    if (rx->cap > KEEP_CAP)
        release(rx); /* the previous frame's pointer expired with the last call */
    rx->want = len;
    rx->have = 0;
    return 0;
}

/* Makes room for n more body bytes: geometric growth, never past want. */
static int reserve(struct node_frame_rx *rx, size_t n)
{
    size_t need = rx->have + n;
    if (need <= rx->cap)
        return 0;
    size_t cap = rx->cap < MIN_CAP ? MIN_CAP : rx->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > rx->want)
        cap = rx->want;
    uint8_t *buf = realloc(rx->buf, cap);
    if (buf == NULL)
        return fail(rx, NODE_E_NOMEM);
    rx->buf = buf;
    rx->cap = cap;
    return 0;
}

/* Authenticates and decrypts the complete body in place; the plaintext
 * starts one byte in (after the encrypted tag byte). */
static int open_body(struct node_frame_rx *rx, const uint8_t **out, size_t *out_len)
{
    if (rx->st == NULL) {
        static const uint8_t empty[1];
        *out = rx->want > 0 ? rx->buf : empty; /* never NULL: NULL means "no frame" */
        *out_len = rx->want;
        return 0;
    }
    unsigned long long mlen;
    unsigned char tag;
    uint8_t *m = rx->buf + 1;
    if (crypto_secretstream_xchacha20poly1305_pull(rx->st, m, &mlen, &tag, rx->buf, rx->want,
                                                   rx->prefix, NODE_FRAME_PREFIX_LEN) != 0)
        return fail(rx, NODE_E_FRAME_BAD);
    if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
        return fail(rx, NODE_E_FRAME_TAG);
    *out = m;
    *out_len = (size_t)mlen;
    return 0;
}

/* Consumes prefix bytes; returns how many. */
static size_t take_prefix(struct node_frame_rx *rx, const uint8_t *in, size_t len)
{
    size_t n = NODE_FRAME_PREFIX_LEN - rx->prefix_have;
    if (n > len)
        n = len;
    memcpy(rx->prefix + rx->prefix_have, in, n);
    rx->prefix_have += n;
    return n;
}

int node_frame_rx_feed(struct node_frame_rx *rx, const uint8_t *in, size_t len, size_t *out_used,
                       const uint8_t **out_frame, size_t *out_frame_len)
{
    *out_used = 0;
    *out_frame = NULL;
    *out_frame_len = 0;
    if (rx->err != 0)
        return NODE_E_FRAME_FAILED;
    size_t used = 0;
    int rc;
    if (rx->prefix_have < NODE_FRAME_PREFIX_LEN) {
        used = take_prefix(rx, in, len);
        *out_used = used;
        if (rx->prefix_have < NODE_FRAME_PREFIX_LEN)
            return 0;
        if ((rc = start_body(rx)) != 0)
            return rc;
    }
    size_t n = rx->want - rx->have;
    if (n > len - used)
        n = len - used;
    if (n > 0) {
        if ((rc = reserve(rx, n)) != 0)
            return rc;
        memcpy(rx->buf + rx->have, in + used, n);
        rx->have += n;
        used += n;
    }
    *out_used = used;
    if (rx->have < rx->want)
        return 0;
    if ((rc = open_body(rx, out_frame, out_frame_len)) != 0) {
        *out_frame = NULL;
        return rc;
    }
    rx->prefix_have = 0;
    rx->frames++;
    return 0;
}
