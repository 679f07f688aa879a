/* A hostile peer for integration tests: a validator's key, a blocking socket, any frame. */
#include "tests/integration/hostile.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "node/handshake.h"
#include "node/keyfile.h"
#include "proto/block.pb-c.h"

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int hostile_tcp(struct cluster *c, unsigned to)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)(c->base_port + to)) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Fills h->buf when it is empty; 1 bytes there, 0 time-out, -1 closed. */
static int fill(struct hostile *h, int timeout_ms)
{
    if (h->off < h->have)
        return 1;
    struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
    int pr = poll(&pfd, 1, timeout_ms);
    if (pr == 0)
        return 0;
    if (pr < 0)
        return -1;
    ssize_t r = read(h->fd, h->buf, sizeof h->buf);
    if (r <= 0)
        return -1;
    h->have = (size_t)r;
    h->off = 0;
    return 1;
}

/* The next frame body from rx (plain or encrypted) within the deadline. */
static int next_frame(struct hostile *h, uint64_t deadline, const uint8_t **out, size_t *out_len)
{
    for (;;) {
        if (h->off < h->have) {
            size_t used;
            int rc =
                node_frame_rx_feed(&h->rx, h->buf + h->off, h->have - h->off, &used, out, out_len);
            if (rc != 0)
                return -1;
            h->off += used;
            if (*out != NULL)
                return 1;
        }
        uint64_t now = wall_ms();
        if (now >= deadline)
            return 0;
        int f = fill(h, (int)(deadline - now));
        if (f <= 0)
            return f;
    }
}

static int handshake(struct hostile *h, struct cluster *c, const uint8_t *sk, int timeout_ms,
                     uint64_t finish_ms)
{
    uint8_t keys[LEDGER_MAX_VALIDATORS][LEDGER_KEY_LEN];
    for (unsigned i = 0; i < c->g.n; i++)
        memcpy(keys[i], c->g.validators[i].node_key, LEDGER_KEY_LEN);
    struct node_hs hs;
    const uint8_t *out;
    size_t out_len;
    int rc = -1;
    uint64_t deadline = wall_ms() + (uint64_t)timeout_ms;
    if (node_hs_init(&hs, NODE_HS_DIALER, c->g.hash, sk, &keys[0][0], c->g.n, (int)h->to, wall_ms(),
                     &out, &out_len) != 0 ||
        write_all(h->fd, out, out_len) != 0)
        goto out;
    node_frame_rx_init_plain(&h->rx, NODE_HS_MSG_MAX);
    const uint8_t *msg;
    size_t msg_len;
    if (next_frame(h, deadline, &msg, &msg_len) != 1 ||
        node_hs_step(&hs, msg, msg_len, finish_ms ? finish_ms : wall_ms(), &out, &out_len) != 0 ||
        write_all(h->fd, out, out_len) != 0 || !node_hs_done(&hs))
        goto out;
    struct node_hs_result res;
    if (node_hs_take(&hs, &res) != 0)
        goto out;
    node_frame_rx_close(&h->rx);
    h->rx = res.rx;
    h->tx = res.tx;
    rc = 0;
out:
    node_hs_close(&hs);
    return rc;
}

int hostile_connect(struct cluster *c, unsigned as, unsigned to, int timeout_ms,
                    struct hostile *out)
{
    return hostile_connect_at(c, as, to, timeout_ms, 0, out);
}

int hostile_connect_at(struct cluster *c, unsigned as, unsigned to, int timeout_ms,
                       uint64_t finish_ms, struct hostile *out)
{
    memset(out, 0, sizeof *out);
    out->as = as;
    out->to = to;
    char path[400], err[512];
    snprintf(path, sizeof path, "%s/node%u/node.key", c->dir, as);
    struct node_key k = { 0 };
    if (node_keyfile_read(path, &k, err, sizeof err) != 0)
        return -1;
    out->fd = hostile_tcp(c, to);
    int rc = out->fd < 0 ? -1 : handshake(out, c, k.sk, timeout_ms, finish_ms);
    node_key_close(&k);
    if (rc != 0) {
        hostile_close(out);
        return -1;
    }
    return 0;
}

int hostile_send(struct hostile *h, uint8_t type, const void *body, size_t len)
{
    uint8_t *plain = malloc(len + 1);
    if (plain == NULL)
        return -1;
    plain[0] = type;
    if (len > 0)
        memcpy(plain + 1, body, len);
    uint8_t *wire;
    size_t wire_len;
    int rc = node_frame_seal_alloc(&h->tx, plain, len + 1, &wire, &wire_len);
    free(plain);
    if (rc != 0)
        return -1;
    rc = write_all(h->fd, wire, wire_len);
    free(wire);
    return rc;
}

int hostile_send_copies(struct hostile *h, uint8_t type, const void *body, size_t len,
                        unsigned copies)
{
    size_t one = node_frame_wire_len(len + 1), total = one * copies;
    uint8_t *plain = malloc(len + 1), *wire = malloc(total ? total : 1);
    int rc = plain == NULL || wire == NULL ? -1 : 0;
    if (rc == 0) {
        plain[0] = type;
        if (len > 0)
            memcpy(plain + 1, body, len);
    }
    for (unsigned k = 0; rc == 0 && k < copies; k++) {
        size_t got;
        if (node_frame_seal(&h->tx, plain, len + 1, wire + k * one, one, &got) != 0 || got != one)
            rc = -1;
    }
    if (rc == 0)
        rc = write_all(h->fd, wire, total);
    free(plain);
    free(wire);
    return rc;
}

int hostile_recv(struct hostile *h, int timeout_ms, uint8_t *type, const uint8_t **body,
                 size_t *len)
{
    const uint8_t *f;
    size_t n;
    int rc = next_frame(h, wall_ms() + (uint64_t)timeout_ms, &f, &n);
    if (rc != 1)
        return rc;
    if (n < 1)
        return -1;
    *type = f[0];
    *body = f + 1;
    *len = n - 1;
    return 1;
}

unsigned hostile_drain(struct hostile *h, int timeout_ms, uint8_t count_type, bool *out_closed)
{
    uint64_t deadline = wall_ms() + (uint64_t)timeout_ms;
    unsigned count = 0;
    *out_closed = false;
    for (;;) {
        uint64_t now = wall_ms();
        if (now >= deadline)
            return count;
        uint8_t type;
        const uint8_t *body;
        size_t len;
        int rc = hostile_recv(h, (int)(deadline - now), &type, &body, &len);
        if (rc < 0) {
            *out_closed = true;
            return count;
        }
        if (rc == 1 && type == count_type)
            count++;
    }
}

void hostile_close(struct hostile *h)
{
    if (h->fd > 0)
        close(h->fd);
    h->fd = -1;
    node_frame_tx_close(&h->tx);
    node_frame_rx_close(&h->rx);
}

static int signer_sign(void *ctx, enum pbft_sig_kind kind, const uint8_t *payload, size_t len,
                       uint8_t sig[PBFT_SIG_SIZE])
{
    static const enum ledger_tag tag[] = {
        [PBFT_SIG_PREPREPARE] = LEDGER_TAG_PREPREPARE,
        [PBFT_SIG_PREPARE] = LEDGER_TAG_PREPARE,
        [PBFT_SIG_COMMIT] = LEDGER_TAG_COMMIT,
        [PBFT_SIG_VIEWCHANGE] = LEDGER_TAG_VIEWCHANGE,
        [PBFT_SIG_NEWVIEW] = LEDGER_TAG_NEWVIEW,
    };
    const struct hostile_signer *s = ctx;
    if (kind < PBFT_SIG_PREPREPARE || kind > PBFT_SIG_NEWVIEW)
        return -1;
    return ledger_sign(tag[kind], s->g->hash, payload, len, s->sk, sig);
}

int hostile_signer_init(struct cluster *c, unsigned as, struct hostile_signer *s,
                        struct pbft_crypto *out)
{
    char path[400], err[512];
    snprintf(path, sizeof path, "%s/node%u/node.key", c->dir, as);
    struct node_key k = { 0 };
    if (node_keyfile_read(path, &k, err, sizeof err) != 0)
        return -1;
    s->g = &c->g;
    s->as = as;
    memcpy(s->sk, k.sk, sizeof s->sk);
    node_key_close(&k);
    *out = (struct pbft_crypto){ .ctx = s, .sign = signer_sign };
    return 0;
}

int hostile_cert(const struct hostile_signer *s, uint64_t height, uint64_t view,
                 const uint8_t hash[LEDGER_HASH_LEN], const uint32_t *signers, size_t count,
                 uint8_t **out, size_t *out_len)
{
    uint8_t payload[LEDGER_COMMIT_PAYLOAD_LEN], sig[LEDGER_SIG_LEN];
    ledger_commit_payload(height, view, hash, payload);
    if (count > 64 ||
        ledger_sign(LEDGER_TAG_COMMIT, s->g->hash, payload, sizeof payload, s->sk, sig) != 0)
        return -1;
    ProtobufCBinaryData sigs[64];
    for (size_t i = 0; i < count; i++)
        sigs[i] = (ProtobufCBinaryData){ LEDGER_SIG_LEN, sig };
    Sealchain__CommitCert cert = SEALCHAIN__COMMIT_CERT__INIT;
    cert.height = height;
    cert.view = view;
    cert.block_hash = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)hash };
    cert.n_signers = cert.n_signatures = count;
    cert.signers = (uint32_t *)signers;
    cert.signatures = sigs;
    *out_len = sealchain__commit_cert__get_packed_size(&cert);
    if ((*out = malloc(*out_len)) == NULL)
        return -1;
    sealchain__commit_cert__pack(&cert, *out);
    return 0;
}

int hostile_reroot(const uint8_t *block, size_t len, const uint8_t *tx_root,
                   const uint8_t *state_root, uint8_t **out, size_t *out_len,
                   uint8_t out_hash[LEDGER_HASH_LEN])
{
    Sealchain__Block *b = sealchain__block__unpack(NULL, len, block);
    Sealchain__BlockHeader *h =
        b ? sealchain__block_header__unpack(NULL, b->header.len, b->header.data) : NULL;
    int rc = -1;
    if (h == NULL || h->tx_root.len != LEDGER_HASH_LEN || h->state_root.len != LEDGER_HASH_LEN)
        goto out;
    if (tx_root != NULL)
        memcpy(h->tx_root.data, tx_root, LEDGER_HASH_LEN);
    if (state_root != NULL)
        memcpy(h->state_root.data, state_root, LEDGER_HASH_LEN);
    uint8_t hdr[1024];
    if (sealchain__block_header__get_packed_size(h) > sizeof hdr)
        goto out;
    size_t hdr_len = sealchain__block_header__pack(h, hdr);
    ledger_sha256(hdr, hdr_len, out_hash);
    ProtobufCBinaryData old = b->header;
    b->header = (ProtobufCBinaryData){ hdr_len, hdr };
    *out_len = sealchain__block__get_packed_size(b);
    if ((*out = malloc(*out_len)) != NULL) {
        sealchain__block__pack(b, *out);
        rc = 0;
    }
    b->header = old;
out:
    if (h != NULL)
        sealchain__block_header__free_unpacked(h, NULL);
    if (b != NULL)
        sealchain__block__free_unpacked(b, NULL);
    return rc;
}
