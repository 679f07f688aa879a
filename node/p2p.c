/* Peer links over libuv TCP: dialling, the handshake, encrypted frames, bounded queues. */
#include "node/p2p.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/err.h"
#include "node/frame.h"
#include "node/handshake.h"
#include "node/log.h"

/* Connections still in their handshake, all peers together: a validator
 * set has at most a few dozen legitimate ones at a time (each peer's dial
 * plus our own); the rest are strangers or a flood. When a new connection
 * finds them all taken, the oldest accepted one that has sent nothing (else
 * the oldest accepted one) is closed to make room: refusing the newcomer
 * instead would let a stranger holding PENDING_MAX silent connections keep
 * every validator out. */
#define PENDING_MAX 32
/* Re-dial back-off: from 100 ms, doubling, capped at 5 s so a restarted
 * peer is reached again within seconds; a little jitter keeps two nodes
 * from dialling each other in lock step. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* The read buffer libuv fills; frames are reassembled by the frame reader. */
#define READ_CHUNK 65536

enum link_state { LINK_HANDSHAKE, LINK_UP, LINK_CLOSING };

/* Frames a link holds before it flushes anyway. */
#define OB_MAX 64

struct link {
    uv_tcp_t tcp;
    uv_timer_t timer; /* the handshake deadline */
    struct node_p2p *p;
    struct link *next, *prev;
    enum link_state state;
    bool dialer;
    bool heard; /* any byte received */
    bool fresh; /* a byte received since the last silence tick */
    unsigned quiet_ticks;
    int peer; /* dialled index, or the authenticated one; -1 unknown */
    struct node_hs hs;
    struct node_frame_rx rx;
    struct node_frame_tx tx;
    size_t queued; /* bytes in ob and in libuv's write queue */
    /* Sealed frames (owned) not yet handed to libuv: the loop flushes them once
     * per turn (node_p2p's prepare and check handles), one writev for all, where
     * a write() per frame cost each node ~2% of its CPU under gossip load. */
    uv_buf_t ob[OB_MAX];
    unsigned n_ob;
    int handles; /* open libuv handles: freed when it reaches 0 */
    char addr[80];
};

struct slot {
    struct link *link; /* the authenticated link, or NULL */
    bool dialing;      /* a dial (connect or handshake) is in progress */
    uv_timer_t redial;
    uint64_t backoff_ms;
    bool has_offset;
    int64_t offset_ms;
    struct node_p2p *p;
    unsigned index;
};

struct node_p2p {
    struct node_p2p_config cfg;
    uv_tcp_t listener;
    uv_prepare_t flush_prepare; /* flushes the links' ob before the loop polls */
    uv_check_t flush_check;     /* and after the I/O callbacks of a turn */
    struct slot slots[LEDGER_MAX_VALIDATORS];
    struct link *links;
    unsigned pending;
    unsigned connected;
    int handles; /* listener + redial timers still open */
    bool closing;
};

struct write_req {
    uv_write_t req;
    struct link *k;
    size_t len;
    unsigned n;
    uv_buf_t bufs[]; /* owned */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void schedule_dial(struct node_p2p *p, unsigned peer);

/* ---- link lifetime ------------------------------------------------------------------ */

static void link_free_cb(uv_handle_t *h)
{
    struct link *k = h->data;
    if (--k->handles > 0)
        return;
    node_hs_close(&k->hs);
    node_frame_rx_close(&k->rx);
    node_frame_tx_close(&k->tx);
    free(k);
}

static void link_close(struct link *k, const char *why)
{
    if (k->state == LINK_CLOSING)
        return;
    struct node_p2p *p = k->p;
    bool was_up = k->state == LINK_UP;
    if (k->state == LINK_HANDSHAKE)
        p->pending--;
    k->state = LINK_CLOSING;
    if (k->prev != NULL)
        k->prev->next = k->next;
    else
        p->links = k->next;
    if (k->next != NULL)
        k->next->prev = k->prev;
    if (k->peer >= 0) {
        struct slot *s = &p->slots[k->peer];
        if (s->link == k) {
            s->link = NULL;
            p->connected--;
        }
        if (k->dialer && !was_up)
            s->dialing = false;
    }
    if (why != NULL)
        node_log(was_up ? NODE_LOG_INFO : NODE_LOG_WARN, "p2p",
                 "close peer=%d addr=%s reason=\"%s\"", k->peer, k->addr, why);
    for (unsigned i = 0; i < k->n_ob; i++) {
        k->queued -= k->ob[i].len;
        free(k->ob[i].base);
    }
    k->n_ob = 0;
    uv_close((uv_handle_t *)&k->timer, link_free_cb);
    uv_close((uv_handle_t *)&k->tcp, link_free_cb);
    if (was_up && k->peer >= 0 && p->slots[k->peer].link == NULL && !p->closing) {
        p->cfg.on_peer(p->cfg.ctx, (unsigned)k->peer, false);
        schedule_dial(p, (unsigned)k->peer);
    } else if (k->dialer && k->peer >= 0 && !p->closing && p->slots[k->peer].link == NULL) {
        schedule_dial(p, (unsigned)k->peer);
    }
}

static struct link *link_new(struct node_p2p *p, bool dialer, int peer)
{
    struct link *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    k->p = p;
    k->dialer = dialer;
    k->peer = peer;
    k->state = LINK_HANDSHAKE;
    if (uv_tcp_init(p->cfg.loop, &k->tcp) != 0) {
        free(k);
        return NULL;
    }
    uv_timer_init(p->cfg.loop, &k->timer);
    k->tcp.data = k->timer.data = k;
    k->handles = 2;
    k->next = p->links;
    if (k->next != NULL)
        k->next->prev = k;
    p->links = k;
    p->pending++;
    return k;
}

/* ---- writing ---------------------------------------------------------------------- */

static void write_cb(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    w->k->queued -= w->len;
    if (status < 0 && status != UV_ECANCELED)
        link_close(w->k, uv_strerror(status));
    for (unsigned i = 0; i < w->n; i++)
        free(w->bufs[i].base);
    free(w);
}

/* Hands the link's held frames to libuv in one write. */
static void link_flush(struct link *k)
{
    if (k->n_ob == 0 || k->state == LINK_CLOSING)
        return;
    unsigned n = k->n_ob;
    struct write_req *w = malloc(sizeof *w + n * sizeof w->bufs[0]);
    if (w == NULL) {
        link_close(k, "out of memory");
        return;
    }
    w->k = k;
    w->n = n;
    w->len = 0;
    for (unsigned i = 0; i < n; i++) {
        w->bufs[i] = k->ob[i];
        w->len += k->ob[i].len;
    }
    k->n_ob = 0;
    int rc = uv_write(&w->req, (uv_stream_t *)&k->tcp, w->bufs, n, write_cb);
    if (rc != 0) {
        k->queued -= w->len;
        for (unsigned i = 0; i < n; i++)
            free(w->bufs[i].base);
        free(w);
        link_close(k, uv_strerror(rc));
    }
}

static void flush_all(struct node_p2p *p)
{
    for (struct link *k = p->links, *next; k != NULL; k = next) {
        next = k->next;
        link_flush(k);
    }
}

static void flush_prepare_cb(uv_prepare_t *h)
{
    flush_all(h->data);
}

static void flush_check_cb(uv_check_t *h)
{
    flush_all(h->data);
}

/* Queues buf (ownership taken) on the link, to leave at the end of this loop
 * turn; drops a peer that stopped reading. */
static int link_write(struct link *k, uint8_t *buf, size_t len)
{
    if (k->state == LINK_CLOSING) {
        free(buf);
        return -1;
    }
    if (k->queued + len > k->p->cfg.queue_max_bytes) {
        free(buf);
        char why[96];
        snprintf(why, sizeof why, "send queue over %zu bytes: peer cannot keep up",
                 k->p->cfg.queue_max_bytes);
        link_close(k, why);
        return -1;
    }
    if (k->n_ob == OB_MAX)
        link_flush(k);
    if (k->state == LINK_CLOSING) {
        free(buf);
        return -1;
    }
    k->queued += len;
    k->ob[k->n_ob++] = uv_buf_init((char *)buf, (unsigned)len);
    return 0;
}

static int write_copy(struct link *k, const uint8_t *bytes, size_t len)
{
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return -1;
    memcpy(buf, bytes, len);
    return link_write(k, buf, len);
}

static int send_frame(struct link *k, uint8_t type, const uint8_t *body, size_t len)
{
    if (k->state != LINK_UP || len + 1 > k->p->cfg.frame_max)
        return -1;
    uint8_t *plain = malloc(len + 1);
    if (plain == NULL)
        return -1;
    plain[0] = type;
    if (len > 0)
        memcpy(plain + 1, body, len);
    uint8_t *wire;
    size_t wire_len;
    int rc = node_frame_seal_alloc(&k->tx, plain, len + 1, &wire, &wire_len);
    free(plain);
    if (rc != 0) {
        link_close(k, node_strerror(rc));
        return -1;
    }
    return link_write(k, wire, wire_len);
}

/* ---- the handshake ----------------------------------------------------------------- */

/* Decides between two authenticated links to one peer: the one dialled by
 * the lower index stays (both ends apply the same rule), unless both were
 * dialled by the same side, in which case the newer replaces a stale one. */
static bool keep_new(const struct node_p2p *p, const struct link *old, const struct link *nu)
{
    if (old->dialer == nu->dialer)
        return true;
    bool self_lower = p->cfg.self < (unsigned)nu->peer;
    return nu->dialer == self_lower;
}

/* Silence is counted in ticks of the link's timer, a quarter of silent_ms
 * each, and not from timestamps: a repeating timer fires once however late
 * it is, so our own loop stalling (a large sync batch) costs at most one
 * tick and never makes a link whose bytes wait unread look silent. */
#define SILENT_TICKS 4

static void silent_tick(uv_timer_t *t)
{
    struct link *k = t->data;
    if (k->state != LINK_UP)
        return;
    k->quiet_ticks = k->fresh ? 0 : k->quiet_ticks + 1;
    k->fresh = false;
    if (k->quiet_ticks >= SILENT_TICKS) {
        char why[80];
        snprintf(why, sizeof why, "nothing received for %" PRIu64 " ms: link dead",
                 k->p->cfg.silent_ms);
        link_close(k, why);
    }
}

/* The handshake deadline's timer becomes the link's silence watch. */
static void link_watch(struct link *k)
{
    uv_timer_stop(&k->timer);
    uint64_t every = k->p->cfg.silent_ms / SILENT_TICKS;
    if (every > 0)
        uv_timer_start(&k->timer, silent_tick, every, every);
}

static void link_up(struct link *k)
{
    struct node_p2p *p = k->p;
    struct node_hs_result res;
    if (node_hs_take(&k->hs, &res) != 0) {
        link_close(k, "handshake result");
        return;
    }
    node_hs_close(&k->hs);
    node_frame_rx_close(&k->rx);
    k->rx = res.rx;
    k->tx = res.tx;
    node_frame_rx_set_max(&k->rx, p->cfg.frame_max);
    k->peer = (int)res.peer_index;
    link_watch(k);
    struct slot *s = &p->slots[k->peer];
    if (k->dialer)
        s->dialing = false;
    if (s->link != NULL) {
        if (!keep_new(p, s->link, k)) {
            k->state = LINK_UP; /* counted as pending no more */
            p->pending--;
            k->peer = -1; /* not the slot's: closing it must not touch the slot */
            link_close(k, NULL);
            return;
        }
        struct link *old = s->link;
        s->link = NULL;
        p->connected--;
        old->peer = -1;
        link_close(old, NULL); /* replaced: no "down" for the peer */
        s->link = k;
        p->connected++;
        p->pending--;
        k->state = LINK_UP;
        s->has_offset = true;
        s->offset_ms = res.clock_offset_ms;
        return;
    }
    p->pending--;
    k->state = LINK_UP;
    s->link = k;
    s->backoff_ms = 0;
    s->has_offset = true;
    s->offset_ms = res.clock_offset_ms;
    p->connected++;
    node_log(NODE_LOG_INFO, "p2p",
             "up peer=%d addr=%s dialer=%s clock_offset_ms=%" PRId64 " rtt_ms=%" PRIu64, k->peer,
             k->addr, k->dialer ? "self" : "peer", res.clock_offset_ms, res.rtt_ms);
    int64_t off = res.clock_offset_ms < 0 ? -res.clock_offset_ms : res.clock_offset_ms;
    if (p->cfg.clock_warn_ms != 0 && (uint64_t)off >= p->cfg.clock_warn_ms)
        node_log(
            NODE_LOG_WARN, "p2p",
            "clock peer=%d offset_ms=%" PRId64
            " reason=\"our clocks disagree; blocks are refused past the skew limit: check NTP\"",
            k->peer, res.clock_offset_ms);
    p->cfg.on_peer(p->cfg.ctx, (unsigned)k->peer, true);
}

static void hs_message(struct link *k, const uint8_t *msg, size_t len)
{
    const uint8_t *out;
    size_t out_len;
    int rc = node_hs_step(&k->hs, msg, len, now_ms(), &out, &out_len);
    if (rc != 0) {
        /* A refused HELLO leaves a REFUSE to send, so the dialer's operator
         * reads why (another chain, an unknown key); best effort before the
         * close. */
        if (out_len > 0 && write_copy(k, out, out_len) == 0)
            link_flush(k); /* before the close drops what the link holds */
        char why[NODE_HS_ERRMSG_LEN + 32];
        snprintf(why, sizeof why, "handshake: %s", node_hs_errmsg(&k->hs));
        link_close(k, why);
        return;
    }
    if (out_len > 0 && write_copy(k, out, out_len) != 0)
        return;
    if (node_hs_done(&k->hs))
        link_up(k);
}

static void hs_timeout(uv_timer_t *t)
{
    struct link *k = t->data;
    if (k->state == LINK_HANDSHAKE)
        link_close(k, "handshake timed out");
}

static int hs_start(struct link *k)
{
    struct node_p2p *p = k->p;
    const struct ledger_genesis *g = p->cfg.g;
    uint8_t keys[LEDGER_MAX_VALIDATORS][LEDGER_KEY_LEN];
    for (uint32_t i = 0; i < g->n; i++)
        memcpy(keys[i], g->validators[i].node_key, LEDGER_KEY_LEN);
    const uint8_t *out = NULL;
    size_t out_len = 0;
    node_frame_rx_init_plain(&k->rx, NODE_HS_MSG_MAX);
    int rc =
        node_hs_init(&k->hs, k->dialer ? NODE_HS_DIALER : NODE_HS_LISTENER, g->hash, p->cfg.node_sk,
                     &keys[0][0], g->n, k->dialer ? k->peer : -1, now_ms(), &out, &out_len);
    sodium_memzero(keys, sizeof keys);
    if (rc != 0) {
        link_close(k, node_hs_errmsg(&k->hs));
        return -1;
    }
    uv_timer_start(&k->timer, hs_timeout, NODE_HS_TIMEOUT_MS, 0);
    if (out_len > 0)
        return write_copy(k, out, out_len);
    return 0;
}

/* ---- reading ------------------------------------------------------------------------ */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char chunk[READ_CHUNK]; /* one loop thread: consumed before the next read */
    buf->base = chunk;
    buf->len = sizeof chunk;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct link *k = s->data;
    if (nread < 0) {
        link_close(k, nread == UV_EOF ? "peer closed the connection" : uv_strerror((int)nread));
        return;
    }
    const uint8_t *in = (const uint8_t *)buf->base;
    size_t left = (size_t)nread;
    k->heard = k->heard || nread > 0;
    k->fresh = k->fresh || nread > 0;
    while (left > 0 && k->state != LINK_CLOSING) {
        size_t used;
        const uint8_t *frame;
        size_t frame_len;
        int rc = node_frame_rx_feed(&k->rx, in, left, &used, &frame, &frame_len);
        if (rc != 0) {
            link_close(k, node_strerror(rc));
            return;
        }
        in += used;
        left -= used;
        if (frame == NULL)
            break;
        if (k->state == LINK_HANDSHAKE) {
            hs_message(k, frame, frame_len);
            continue;
        }
        if (frame_len < 1) {
            link_close(k, "empty frame");
            return;
        }
        struct node_p2p *p = k->p;
        unsigned peer = (unsigned)k->peer;
        p->cfg.on_frame(p->cfg.ctx, peer, frame[0], frame + 1, frame_len - 1);
        /* The handler may have dropped this link or stopped the node. */
        if (p->closing || p->slots[peer].link != k)
            return;
    }
}

/* ---- dialling and accepting ---------------------------------------------------------- */

static int resolve(const struct node_p2p_addr *a, struct sockaddr_storage *out)
{
    const char *host = strcmp(a->host, "localhost") == 0 ? "127.0.0.1" : a->host;
    if (uv_ip4_addr(host, a->port, (struct sockaddr_in *)out) == 0)
        return 0;
    return uv_ip6_addr(host, a->port, (struct sockaddr_in6 *)out);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct link *k = req->data;
    free(req);
    if (k->state == LINK_CLOSING)
        return;
    if (status < 0) {
        node_log(NODE_LOG_DEBUG, "p2p", "dial peer=%d addr=%s reason=\"%s\"", k->peer, k->addr,
                 uv_strerror(status));
        link_close(k, NULL);
        return;
    }
    uv_tcp_nodelay(&k->tcp, 1);
    if (hs_start(k) == 0 && k->state != LINK_CLOSING)
        uv_read_start((uv_stream_t *)&k->tcp, alloc_cb, read_cb);
}

static void dial(struct node_p2p *p, unsigned peer)
{
    struct slot *s = &p->slots[peer];
    const struct node_p2p_addr *a = &p->cfg.peers[peer];
    if (p->closing || s->link != NULL || s->dialing || a->port == 0)
        return;
    struct sockaddr_storage sa;
    if (resolve(a, &sa) != 0) {
        node_log(NODE_LOG_ERROR, "p2p", "dial peer=%u reason=\"bad address %s:%u\"", peer, a->host,
                 a->port);
        return;
    }
    struct link *k = link_new(p, true, (int)peer);
    uv_connect_t *req = malloc(sizeof *req);
    if (k == NULL || req == NULL) {
        free(req);
        if (k != NULL)
            link_close(k, NULL);
        return;
    }
    snprintf(k->addr, sizeof k->addr, "%s:%u", a->host, a->port);
    s->dialing = true;
    req->data = k;
    int rc = uv_tcp_connect(req, &k->tcp, (const struct sockaddr *)&sa, on_connect);
    if (rc != 0) {
        free(req);
        link_close(k, NULL);
    }
}

static void redial_cb(uv_timer_t *t)
{
    struct slot *s = t->data;
    dial(s->p, s->index);
}

static void schedule_dial(struct node_p2p *p, unsigned peer)
{
    struct slot *s = &p->slots[peer];
    if (p->closing || p->cfg.peers[peer].port == 0 || s->link != NULL || s->dialing)
        return;
    s->backoff_ms = s->backoff_ms == 0 ? BACKOFF_MIN_MS : s->backoff_ms * 2;
    if (s->backoff_ms > BACKOFF_MAX_MS)
        s->backoff_ms = BACKOFF_MAX_MS;
    uint64_t wait = s->backoff_ms / 2 + randombytes_uniform((uint32_t)(s->backoff_ms / 2 + 1));
    if (!uv_is_active((uv_handle_t *)&s->redial))
        uv_timer_start(&s->redial, redial_cb, wait, 0);
}

/* The accepted connection in its handshake to close for a newcomer (not
 * nu): links are listed newest first, so the last match is the oldest. */
static struct link *evictee(const struct node_p2p *p, const struct link *nu)
{
    struct link *silent = NULL, *any = NULL;
    for (struct link *k = p->links; k != NULL; k = k->next) {
        if (k == nu || k->dialer || k->state != LINK_HANDSHAKE)
            continue;
        any = k;
        if (!k->heard)
            silent = k;
    }
    return silent != NULL ? silent : any;
}

static void on_accept(uv_stream_t *server, int status)
{
    struct node_p2p *p = server->data;
    if (status < 0 || p->closing)
        return;
    struct link *k = link_new(p, false, -1);
    if (k == NULL)
        return;
    if (uv_accept(server, (uv_stream_t *)&k->tcp) != 0) {
        link_close(k, NULL);
        return;
    }
    struct sockaddr_storage sa;
    int len = sizeof sa;
    char host[64] = "?";
    if (uv_tcp_getpeername(&k->tcp, (struct sockaddr *)&sa, &len) == 0) {
        if (sa.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&sa, host, sizeof host);
        else
            uv_ip6_name((struct sockaddr_in6 *)&sa, host, sizeof host);
        snprintf(k->addr, sizeof k->addr, "%s:%u", host,
                 ntohs(((struct sockaddr_in *)&sa)->sin_port));
    }
    if (p->pending > PENDING_MAX) {
        struct link *old = evictee(p, k);
        if (old == NULL) {
            link_close(k, "too many connections in handshake");
            return;
        }
        link_close(old, "handshake slots full: the oldest stranger makes room");
    }
    uv_tcp_nodelay(&k->tcp, 1);
    if (hs_start(k) == 0 && k->state != LINK_CLOSING)
        uv_read_start((uv_stream_t *)&k->tcp, alloc_cb, read_cb);
}

/* ---- the public face -------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
    struct node_p2p *p = h->data;
    if (--p->handles == 0)
        free(p);
}

int node_p2p_start(const struct node_p2p_config *cfg, struct node_p2p **out, char *errmsg,
                   size_t errmsg_len)
{
    *out = NULL;
    struct node_p2p *p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return -1;
    }
    p->cfg = *cfg;
    struct sockaddr_storage sa;
    if (resolve(&cfg->listen, &sa) != 0) {
        snprintf(errmsg, errmsg_len, "bad listen address %s:%u", cfg->listen.host,
                 cfg->listen.port);
        free(p);
        return -1;
    }
    uv_tcp_init(cfg->loop, &p->listener);
    p->listener.data = p;
    p->handles = 1;
    uv_prepare_init(cfg->loop, &p->flush_prepare);
    uv_check_init(cfg->loop, &p->flush_check);
    p->flush_prepare.data = p->flush_check.data = p;
    p->handles += 2;
    uv_prepare_start(&p->flush_prepare, flush_prepare_cb);
    uv_check_start(&p->flush_check, flush_check_cb);
    for (unsigned i = 0; i < LEDGER_MAX_VALIDATORS; i++) {
        struct slot *s = &p->slots[i];
        s->p = p;
        s->index = i;
        uv_timer_init(cfg->loop, &s->redial);
        s->redial.data = s;
        p->handles++;
    }
    int rc = uv_tcp_bind(&p->listener, (const struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&p->listener, 128, on_accept);
    if (rc != 0) {
        snprintf(errmsg, errmsg_len, "listen on %s:%u: %s", cfg->listen.host, cfg->listen.port,
                 uv_strerror(rc));
        node_p2p_close(p);
        return -1;
    }
    /* uv handles of slots keep their data pointer to the slot; the listener
     * and slot timers share the close counter through p. */
    node_log(NODE_LOG_INFO, "p2p", "listen addr=%s:%u", cfg->listen.host, cfg->listen.port);
    for (unsigned i = 0; i < cfg->g->n; i++)
        if (i != cfg->self)
            dial(p, i);
    *out = p;
    return 0;
}

int node_p2p_send(struct node_p2p *p, unsigned peer, uint8_t type, const uint8_t *body, size_t len)
{
    if (p == NULL || peer >= LEDGER_MAX_VALIDATORS || p->slots[peer].link == NULL)
        return -1;
    return send_frame(p->slots[peer].link, type, body, len);
}

void node_p2p_broadcast(struct node_p2p *p, uint8_t type, const uint8_t *body, size_t len)
{
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->cfg.g->n; i++)
        if (i != p->cfg.self && p->slots[i].link != NULL)
            send_frame(p->slots[i].link, type, body, len);
}

bool node_p2p_connected(const struct node_p2p *p, unsigned peer)
{
    return p != NULL && peer < LEDGER_MAX_VALIDATORS && p->slots[peer].link != NULL;
}

unsigned node_p2p_connected_count(const struct node_p2p *p)
{
    return p == NULL ? 0 : p->connected;
}

bool node_p2p_clock_offset(const struct node_p2p *p, unsigned peer, int64_t *out_ms)
{
    if (p == NULL || peer >= LEDGER_MAX_VALIDATORS || !p->slots[peer].has_offset)
        return false;
    *out_ms = p->slots[peer].offset_ms;
    return true;
}

void node_p2p_drop(struct node_p2p *p, unsigned peer, const char *why)
{
    if (p == NULL || peer >= LEDGER_MAX_VALIDATORS || p->slots[peer].link == NULL)
        return;
    node_log(NODE_LOG_WARN, "p2p", "drop peer=%u reason=\"%s\"", peer, why);
    link_close(p->slots[peer].link, why);
}

void node_p2p_close(struct node_p2p *p)
{
    if (p == NULL || p->closing)
        return;
    p->closing = true;
    while (p->links != NULL)
        link_close(p->links, NULL);
    for (unsigned i = 0; i < LEDGER_MAX_VALIDATORS; i++) {
        p->slots[i].redial.data = p;
        uv_close((uv_handle_t *)&p->slots[i].redial, handle_closed);
    }
    uv_close((uv_handle_t *)&p->listener, handle_closed);
    uv_close((uv_handle_t *)&p->flush_prepare, handle_closed);
    uv_close((uv_handle_t *)&p->flush_check, handle_closed);
}
