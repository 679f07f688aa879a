/* A test-only TCP proxy between sealchaind processes: one poll thread, controls under a mutex. */
#include "tests/integration/proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One read: small enough that a delayed stream is released in steps. */
#define CHUNK_MAX 16384
/* Connections per link: nodes keep one, plus re-dials racing a cut; more is
 * a runaway dialler, and the newest are reset. */
#define CONNS_MAX 64

/* Bytes read from one side and not yet written to the other, in order. */
struct chunk {
    struct chunk *next;
    uint64_t release_ms;
    size_t len, off;
    uint8_t data[];
};

/* One direction of a connection: src = fd[d], dst = fd[1 - d]. */
struct flow {
    struct chunk *head, *tail;
    size_t bytes;
    uint64_t last_release_ms;
    bool eof;  /* src sent FIN */
    bool shut; /* FIN passed on to dst */
};

struct conn {
    struct conn *next;
    int fd[2]; /* [0] the dialler (node i), [1] towards the listener (node j) */
    bool connecting;
    bool blackholed;
    bool stranded; /* its path is dead for good: bytes in vanish, nothing comes out */
    struct flow flow[2];
};

struct dirctl {
    unsigned delay_ms, jitter_ms;
    bool hold;
};

struct link {
    int lfd;
    uint16_t port, target;
    bool cut;
    enum proxy_cut how;
    struct dirctl dir[2];
    struct conn *conns;
    unsigned n_conns;
    struct proxy_stats st;
};

struct proxy {
    unsigned n;
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    int wake[2];
    bool stop;
    uint64_t gen; /* bumped by every control: revents of an older poll are stale */
    struct link link[CLUSTER_MAX][CLUSTER_MAX];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- sockets ------------------------------------------------------------------------ */

static void close_rst(int fd)
{
    if (fd < 0)
        return;
    struct linger l = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

static int listen_any(uint16_t *out_port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *out_port = ntohs(sa.sin_port);
    return fd;
}

/* A non-blocking connect to 127.0.0.1:port; -1 when it failed at once. */
static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- connections ---------------------------------------------------------------------- */

static void flow_clear(struct flow *f)
{
    while (f->head != NULL) {
        struct chunk *k = f->head;
        f->head = k->next;
        free(k);
    }
    f->tail = NULL;
    f->bytes = 0;
}

/* Unlinks c from l and closes it: with RST when rst, else a plain close. */
static void conn_drop(struct link *l, struct conn *c, bool rst)
{
    for (struct conn **pp = &l->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    l->n_conns--;
    for (int d = 0; d < 2; d++) {
        flow_clear(&c->flow[d]);
        if (rst)
            close_rst(c->fd[d]);
        else if (c->fd[d] >= 0)
            close(c->fd[d]);
    }
    free(c);
}

static void drop_all(struct link *l, bool rst)
{
    while (l->conns != NULL)
        conn_drop(l, l->conns, rst);
}

/* Starts the upstream connect of c; false (and c reset) when it failed. */
static bool conn_connect(struct link *l, struct conn *c)
{
    c->fd[1] = connect_to(l->target);
    if (c->fd[1] < 0) {
        conn_drop(l, c, true);
        return false;
    }
    c->connecting = true;
    c->blackholed = false;
    return true;
}

static void on_accept(struct link *l)
{
    int fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if ((l->cut && l->how == PROXY_CUT_REFUSE) || l->n_conns >= CONNS_MAX) {
        close_rst(fd);
        l->st.refused++;
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close_rst(fd);
        return;
    }
    c->fd[0] = fd;
    c->fd[1] = -1;
    c->next = l->conns;
    l->conns = c;
    l->n_conns++;
    l->st.accepted++;
    if (l->cut)
        c->blackholed = true;
    else
        conn_connect(l, c);
}

/* ---- moving bytes ------------------------------------------------------------------ */

/* When the chunk read now may be written: delay ± jitter, never before the
 * chunk ahead of it. */
static uint64_t release_at(const struct dirctl *ctl, struct flow *f, uint64_t now)
{
    int64_t d = ctl->delay_ms;
    if (ctl->jitter_ms > 0)
        d += (int64_t)randombytes_uniform(2 * ctl->jitter_ms + 1) - ctl->jitter_ms;
    uint64_t at = now + (uint64_t)(d < 0 ? 0 : d);
    if (at < f->last_release_ms)
        at = f->last_release_ms;
    f->last_release_ms = at;
    return at;
}

/* Whether direction d of l delivers nothing now: held one way, or stalled by a cut. */
static bool held(const struct link *l, int d)
{
    return l->dir[d].hold || (l->cut && l->how == PROXY_CUT_STALL);
}

/* Reads what src has (room permitting); -1 on a socket error. */
static int flow_read(struct link *l, struct conn *c, int d, uint64_t now)
{
    struct flow *f = &c->flow[d];
    size_t room = PROXY_BUF_MAX - f->bytes;
    size_t want = room < CHUNK_MAX ? room : CHUNK_MAX;
    if (want == 0 || f->eof)
        return 0;
    struct chunk *k = malloc(sizeof *k + want);
    if (k == NULL)
        return 0;
    ssize_t got = read(c->fd[d], k->data, want);
    if (got <= 0) {
        free(k);
        if (got == 0) {
            f->eof = true;
            return 0;
        }
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
    k->next = NULL;
    k->len = (size_t)got;
    k->off = 0;
    k->release_ms = release_at(&l->dir[d], f, now);
    if (f->tail != NULL)
        f->tail->next = k;
    else
        f->head = k;
    f->tail = k;
    f->bytes += k->len;
    return 0;
}

/* Writes the released bytes to dst, and passes a FIN on once all are out;
 * -1 on a socket error. */
static int flow_write(struct link *l, struct conn *c, int d, uint64_t now)
{
    struct flow *f = &c->flow[d];
    int dst = c->fd[1 - d];
    while (!held(l, d) && f->head != NULL && f->head->release_ms <= now) {
        struct chunk *k = f->head;
        ssize_t put = send(dst, k->data + k->off, k->len - k->off, MSG_NOSIGNAL);
        if (put < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        k->off += (size_t)put;
        f->bytes -= (size_t)put;
        l->st.bytes[d] += (uint64_t)put;
        if (k->off < k->len)
            return 0;
        f->head = k->next;
        if (f->head == NULL)
            f->tail = NULL;
        free(k);
    }
    if (f->eof && f->head == NULL && !f->shut && !held(l, d)) {
        shutdown(dst, SHUT_WR);
        f->shut = true;
    }
    return 0;
}

static bool flow_ready(const struct link *l, const struct conn *c, int d, uint64_t now)
{
    const struct flow *f = &c->flow[d];
    if (held(l, d))
        return false;
    return (f->head != NULL && f->head->release_ms <= now) || (f->eof && !f->shut);
}

/* The poll events for side s of c. */
static short conn_events(const struct link *l, const struct conn *c, int s, uint64_t now)
{
    if (c->fd[s] < 0)
        return 0;
    if (c->stranded)
        return POLLIN;
    if (c->blackholed)
        return s == 0 ? POLLRDHUP : 0;
    if (s == 1 && c->connecting)
        return POLLOUT;
    short ev = 0;
    const struct flow *in = &c->flow[s];
    if (!in->eof && in->bytes < PROXY_BUF_MAX)
        ev |= POLLIN;
    if (!c->connecting && flow_ready(l, c, 1 - s, now))
        ev |= POLLOUT;
    return ev;
}

/* Side s of c failed (reset, error): the other side is reset too, except
 * across a stall, where nothing passes, not even that: it is reset at heal.
 * Returns true when c was dropped. */
static bool side_failed(struct link *l, struct conn *c, int s)
{
    if (!(l->cut && l->how == PROXY_CUT_STALL)) {
        conn_drop(l, c, true);
        return true;
    }
    close_rst(c->fd[s]);
    c->fd[s] = -1;
    flow_clear(&c->flow[s]);
    c->flow[s].eof = true;
    return false;
}

/* A stranded connection: what either node sends is read and dropped; a
 * node that closes its side is not told anything on the other. */
static void strand_step(struct link *l, struct conn *c, const short rev[2])
{
    for (int s = 0; s < 2; s++) {
        if (rev[s] == 0 || c->fd[s] < 0)
            continue;
        char buf[CHUNK_MAX];
        ssize_t got = read(c->fd[s], buf, sizeof buf);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            close(c->fd[s]);
            c->fd[s] = -1;
        }
    }
    if (c->fd[0] < 0 && c->fd[1] < 0)
        conn_drop(l, c, false);
}

/* Handles what poll said about both sides of c; c may be dropped. */
static void conn_step(struct link *l, struct conn *c, const short rev[2], uint64_t now)
{
    if (c->stranded) {
        strand_step(l, c, rev);
        return;
    }
    if (c->blackholed) {
        if (rev[0] != 0)
            conn_drop(l, c, true);
        return;
    }
    if (c->connecting && rev[1] != 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (rev[1] & (POLLERR | POLLHUP))) {
            conn_drop(l, c, true); /* node j is down: the dialler reads a reset */
            return;
        }
        c->connecting = false;
    }
    for (int s = 0; s < 2; s++)
        if (((rev[s] & POLLERR) || ((rev[s] & (POLLIN | POLLHUP)) && !(s == 1 && c->connecting) &&
                                    flow_read(l, c, s, now) != 0)) &&
            side_failed(l, c, s))
            return;
    if (!c->connecting)
        for (int d = 0; d < 2; d++)
            if (flow_write(l, c, d, now) != 0) {
                conn_drop(l, c, true);
                return;
            }
    if (c->flow[0].shut && c->flow[1].shut)
        conn_drop(l, c, false);
}

/* ---- the thread ------------------------------------------------------------------------ */

struct pollset {
    struct pollfd *pfd;
    struct link **plink;
    struct conn **pconn; /* NULL for a listener */
    size_t n, cap;
};

static int pollset_add(struct pollset *s, int fd, short ev, struct link *l, struct conn *c)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct pollfd *a = realloc(s->pfd, cap * sizeof *a);
        if (a != NULL)
            s->pfd = a;
        struct link **b = realloc(s->plink, cap * sizeof *b);
        if (b != NULL)
            s->plink = b;
        struct conn **k = realloc(s->pconn, cap * sizeof *k);
        if (k != NULL)
            s->pconn = k;
        if (a == NULL || b == NULL || k == NULL)
            return -1;
        s->cap = cap;
    }
    s->pfd[s->n] = (struct pollfd){ .fd = ev != 0 ? fd : -1, .events = ev };
    s->plink[s->n] = l;
    s->pconn[s->n] = c;
    s->n++;
    return 0;
}

/* Every listener, then both sides of every connection; returns poll's time-out. */
static int pollset_build(struct proxy *p, struct pollset *s, uint64_t now)
{
    s->n = 0;
    pollset_add(s, p->wake[0], POLLIN, NULL, NULL);
    int64_t timeout = -1;
    for (unsigned i = 0; i < p->n; i++)
        for (unsigned j = 0; j < p->n; j++) {
            struct link *l = &p->link[i][j];
            if (i == j)
                continue;
            pollset_add(s, l->lfd, POLLIN, l, NULL);
            for (struct conn *c = l->conns; c != NULL; c = c->next) {
                pollset_add(s, c->fd[0], conn_events(l, c, 0, now), l, c);
                pollset_add(s, c->fd[1], conn_events(l, c, 1, now), l, c);
                for (int d = 0; d < 2; d++) {
                    const struct chunk *k = c->flow[d].head;
                    if (k == NULL || held(l, d) || k->release_ms <= now)
                        continue;
                    int64_t t = (int64_t)(k->release_ms - now);
                    timeout = timeout < 0 || t < timeout ? t : timeout;
                }
            }
        }
    return (int)timeout;
}

/* Connections whose next chunk came due while poll slept have no event: write them. */
static void release_due(struct proxy *p, uint64_t now)
{
    for (unsigned i = 0; i < p->n; i++)
        for (unsigned j = 0; j < p->n; j++) {
            struct link *l = &p->link[i][j];
            struct conn *next;
            for (struct conn *c = i == j ? NULL : l->conns; c != NULL; c = next) {
                next = c->next;
                if (c->connecting || c->blackholed || c->stranded)
                    continue;
                short none[2] = { 0, 0 };
                if (flow_ready(l, c, 0, now) || flow_ready(l, c, 1, now))
                    conn_step(l, c, none, now);
            }
        }
}

static void *run(void *arg)
{
    struct proxy *p = arg;
    struct pollset s = { 0 };
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        uint64_t now = now_ms();
        int timeout = pollset_build(p, &s, now);
        uint64_t gen = p->gen;
        pthread_mutex_unlock(&p->mu);
        poll(s.pfd, s.n, timeout);
        pthread_mutex_lock(&p->mu);
        if (s.pfd[0].revents & POLLIN) {
            char buf[64];
            while (read(p->wake[0], buf, sizeof buf) > 0) {
            }
        }
        if (gen != p->gen)
            continue; /* a control changed the sockets: poll again */
        now = now_ms();
        for (size_t k = 1; k < s.n; k++) {
            if (s.pconn[k] == NULL) {
                if (s.pfd[k].revents & POLLIN)
                    on_accept(s.plink[k]);
                continue;
            }
            short rev[2] = { s.pfd[k].revents, s.pfd[k + 1].revents };
            if (rev[0] != 0 || rev[1] != 0)
                conn_step(s.plink[k], s.pconn[k], rev, now);
            k++; /* both sides handled together */
        }
        release_due(p, now);
    }
    pthread_mutex_unlock(&p->mu);
    free(s.pfd);
    free(s.plink);
    free(s.pconn);
    return NULL;
}

/* ---- lifetime ------------------------------------------------------------------------ */

int proxy_new(unsigned n, const uint16_t target[], struct proxy **out)
{
    *out = NULL;
    if (n > CLUSTER_MAX)
        return -1;
    struct proxy *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -1;
    p->n = n;
    p->wake[0] = p->wake[1] = -1;
    for (unsigned i = 0; i < CLUSTER_MAX; i++)
        for (unsigned j = 0; j < CLUSTER_MAX; j++)
            p->link[i][j].lfd = -1;
    pthread_mutex_init(&p->mu, NULL);
    if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0)
        goto err_after_alloc;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < n; j++) {
            struct link *l = &p->link[i][j];
            if (i == j)
                continue;
            l->target = target[j];
            l->lfd = listen_any(&l->port);
            if (l->lfd < 0)
                goto err_after_alloc;
        }
    if (pthread_create(&p->thread, NULL, run, p) != 0)
        goto err_after_alloc;
    p->running = true;
    *out = p;
    return 0;

err_after_alloc:
    proxy_free(p);
    return -1;
}

void proxy_free(struct proxy *p)
{
    if (p == NULL)
        return;
    if (p->running) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_mutex_unlock(&p->mu);
        if (write(p->wake[1], "x", 1) < 0) {
            /* the pipe is non-blocking and drained by the thread: cannot be full */
        }
        pthread_join(p->thread, NULL);
    }
    for (unsigned i = 0; i < CLUSTER_MAX; i++)
        for (unsigned j = 0; j < CLUSTER_MAX; j++) {
            struct link *l = &p->link[i][j];
            drop_all(l, true);
            if (l->lfd >= 0)
                close(l->lfd);
        }
    for (int k = 0; k < 2; k++)
        if (p->wake[k] >= 0)
            close(p->wake[k]);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

uint16_t proxy_port(const struct proxy *p, unsigned i, unsigned j)
{
    return i < p->n && j < p->n && i != j ? p->link[i][j].port : 0;
}

/* ---- controls ------------------------------------------------------------------------- */

static struct link *lock_link(struct proxy *p, unsigned i, unsigned j)
{
    if (i >= p->n || j >= p->n || i == j)
        return NULL;
    pthread_mutex_lock(&p->mu);
    return &p->link[i][j];
}

/* Ends a control: the thread's current poll set is stale. */
static void unlock_wake(struct proxy *p)
{
    p->gen++;
    pthread_mutex_unlock(&p->mu);
    if (write(p->wake[1], "x", 1) < 0) {
        /* full: the thread has wake-ups pending already */
    }
}

void proxy_cut(struct proxy *p, unsigned i, unsigned j, enum proxy_cut how)
{
    struct link *l = lock_link(p, i, j);
    if (l == NULL)
        return;
    l->cut = true;
    l->how = how;
    if (how != PROXY_CUT_STALL)
        drop_all(l, false);
    unlock_wake(p);
}

void proxy_delay(struct proxy *p, unsigned i, unsigned j, enum proxy_dir dir, unsigned delay_ms,
                 unsigned jitter_ms)
{
    struct link *l = lock_link(p, i, j);
    if (l == NULL)
        return;
    for (int d = 0; d < 2; d++)
        if (dir & (1 << d)) {
            l->dir[d].delay_ms = delay_ms;
            l->dir[d].jitter_ms = jitter_ms;
        }
    unlock_wake(p);
}

void proxy_hold(struct proxy *p, unsigned i, unsigned j, enum proxy_dir dir, bool on)
{
    struct link *l = lock_link(p, i, j);
    if (l == NULL)
        return;
    for (int d = 0; d < 2; d++)
        if (dir & (1 << d))
            l->dir[d].hold = on;
    unlock_wake(p);
}

void proxy_reset(struct proxy *p, unsigned i, unsigned j)
{
    struct link *l = lock_link(p, i, j);
    if (l == NULL)
        return;
    l->st.resets += l->n_conns;
    drop_all(l, true);
    unlock_wake(p);
}

void proxy_heal(struct proxy *p, unsigned i, unsigned j)
{
    struct link *l = lock_link(p, i, j);
    if (l == NULL)
        return;
    l->cut = false;
    memset(l->dir, 0, sizeof l->dir);
    struct conn *next;
    for (struct conn *c = l->conns; c != NULL; c = next) {
        next = c->next;
        if (c->stranded) /* dead for good: only the nodes can give up on it */
            continue;
        if (c->blackholed) /* the SYN gets through at last */
            conn_connect(l, c);
        else if (c->fd[0] < 0 || c->fd[1] < 0) /* one side died during a stall */
            conn_drop(l, c, true);
        else
            for (int d = 0; d < 2; d++) { /* delayed bytes go now */
                c->flow[d].last_release_ms = 0;
                for (struct chunk *k = c->flow[d].head; k != NULL; k = k->next)
                    k->release_ms = 0;
            }
    }
    unlock_wake(p);
}

void proxy_strand(struct proxy *p, unsigned i, unsigned j)
{
    struct link *l = lock_link(p, i, j);
    if (l == NULL)
        return;
    for (struct conn *c = l->conns; c != NULL; c = c->next)
        if (!c->blackholed) {
            c->stranded = true;
            for (int d = 0; d < 2; d++)
                flow_clear(&c->flow[d]);
        }
    unlock_wake(p);
}

void proxy_stats(struct proxy *p, unsigned i, unsigned j, struct proxy_stats *out)
{
    memset(out, 0, sizeof *out);
    struct link *l = lock_link(p, i, j);
    if (l == NULL)
        return;
    *out = l->st;
    out->live = l->n_conns;
    for (struct conn *c = l->conns; c != NULL; c = c->next)
        for (int d = 0; d < 2; d++)
            out->held[d] += c->flow[d].bytes;
    pthread_mutex_unlock(&p->mu);
}

void proxy_hold_flow(struct proxy *p, unsigned from, unsigned to, bool on)
{
    proxy_hold(p, from, to, PROXY_FWD, on);
    proxy_hold(p, to, from, PROXY_BACK, on);
}

void proxy_partition(struct proxy *p, uint32_t group, enum proxy_cut how)
{
    for (unsigned i = 0; i < p->n; i++)
        for (unsigned j = 0; j < p->n; j++)
            if (((group >> i) & 1) != ((group >> j) & 1))
                proxy_cut(p, i, j, how);
}

void proxy_delay_all(struct proxy *p, unsigned delay_ms, unsigned jitter_ms)
{
    for (unsigned i = 0; i < p->n; i++)
        for (unsigned j = 0; j < p->n; j++)
            proxy_delay(p, i, j, PROXY_BOTH, delay_ms, jitter_ms);
}

void proxy_reset_all(struct proxy *p)
{
    for (unsigned i = 0; i < p->n; i++)
        for (unsigned j = 0; j < p->n; j++)
            proxy_reset(p, i, j);
}

void proxy_heal_all(struct proxy *p)
{
    for (unsigned i = 0; i < p->n; i++)
        for (unsigned j = 0; j < p->n; j++)
            proxy_heal(p, i, j);
}

/* ---- routing a cluster through the proxy ------------------------------------------------ */

/* Rewrites the [peers] lines of node i's node.ini to dial the proxy. */
static int route_node(const struct proxy *p, const struct cluster *c, unsigned i)
{
    char path[400], tmp[420], line[512];
    snprintf(path, sizeof path, "%s/node%u/node.ini", c->dir, i);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *in = fopen(path, "r");
    if (in == NULL)
        return -1;
    FILE *out = fopen(tmp, "w");
    if (out == NULL) {
        fclose(in);
        return -1;
    }
    bool peers = false;
    unsigned routed = 0;
    while (fgets(line, sizeof line, in) != NULL) {
        unsigned j, port;
        if (line[0] == '[')
            peers = strncmp(line, "[peers]", 7) == 0;
        if (peers && sscanf(line, "%u = 127.0.0.1:%u", &j, &port) == 2 && j < p->n && j != i &&
            port == c->base_port + j) {
            fprintf(out, "%u = 127.0.0.1:%u\n", j, proxy_port(p, i, j));
            routed++;
        } else {
            fputs(line, out);
        }
    }
    fclose(in);
    bool ok = fclose(out) == 0 && routed == p->n - 1 && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    return ok ? 0 : -1;
}

int proxy_attach(struct cluster *c, struct proxy **out)
{
    uint16_t target[CLUSTER_MAX];
    for (unsigned j = 0; j < c->n; j++)
        target[j] = (uint16_t)(c->base_port + j);
    if (proxy_new(c->n, target, out) != 0)
        return -1;
    for (unsigned i = 0; i < c->n; i++)
        if (route_node(*out, c, i) != 0) {
            proxy_free(*out);
            *out = NULL;
            return -1;
        }
    return 0;
}
