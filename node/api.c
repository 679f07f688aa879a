/* The operator socket: framing, bounds and client bookkeeping over libuv. */
#include "node/api.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "node/log.h"

struct client {
    uv_pipe_t pipe;
    struct node_api *api;
    uint64_t id;
    struct client *next, *prev;
    uint8_t hdr[4];
    size_t hdr_got;
    uint8_t *body; /* the request being read, len bytes once hdr is whole */
    size_t len, got;
    size_t unsent;   /* memory of its replies not yet written (write_req and all) */
    size_t held;     /* replies its handler holds for later (node_api_hold) */
    uint64_t active; /* loop time of its last byte in or out */
    bool closing;
};

struct node_api {
    uv_loop_t *loop;
    uv_pipe_t listener;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    node_api_request_fn on_request;
    void *ctx;
    struct client *clients;
    size_t n_clients;
    size_t pending; /* bytes allocated for requests read in part, all clients */
    size_t unsent;  /* the same for all clients, dropped ones until their writes are freed */
    size_t handles; /* the listener and client pipes not closed yet: api is freed after the last */
    uint64_t next_id;
    bool closing;
};

struct write_req {
    uv_write_t req;
    struct client *c;
    size_t len;  /* bytes to write */
    size_t cost; /* the memory they hold: sizeof(struct write_req) + len */
    uint8_t bytes[];
};

/* The last handle's close callback frees api (node_api_close). */
static void handle_gone(struct node_api *api)
{
    if (--api->handles == 0 && api->closing)
        free(api);
}

static void free_client(uv_handle_t *h)
{
    struct client *c = h->data;
    struct node_api *api = c->api;
    free(c->body);
    free(c);
    handle_gone(api);
}

/* Frees the request read in part, if any. */
static void free_body(struct client *c)
{
    if (c->body == NULL)
        return;
    c->api->pending -= c->len;
    free(c->body);
    c->body = NULL;
}

static void drop(struct client *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct node_api *api = c->api;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        api->clients = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    api->n_clients--;
    free_body(c);
    uv_close((uv_handle_t *)&c->pipe, free_client);
}

static struct client *find(struct node_api *api, uint64_t id)
{
    for (struct client *c = api->clients; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    /* Reads go through a small stack-sized buffer; bodies are copied into
     * exactly sized allocations once their length is known and checked. */
    static char slab[65536];
    buf->base = slab;
    buf->len = sizeof slab;
}

/* Drops, until need more bytes fit under NODE_API_PENDING_MAX, the clients
 * other than c with a request read in part, idle the longest first: an
 * upload that stalled, not one that is arriving. False when c itself must go. */
static bool room_for_body(struct client *c, size_t need)
{
    struct node_api *api = c->api;
    while (api->pending + need > NODE_API_PENDING_MAX) {
        struct client *old = NULL;
        for (struct client *o = api->clients; o != NULL; o = o->next)
            if (o != c && o->body != NULL && (old == NULL || o->active < old->active))
                old = o;
        if (old == NULL)
            return false;
        node_log(NODE_LOG_WARN, "api",
                 "client=%llu drop reason=\"%zu bytes of requests read in part: the longest "
                 "stalled makes room\"",
                 (unsigned long long)old->id, api->pending);
        drop(old);
    }
    return true;
}

/* Feeds received bytes through the framing; delivers whole requests. */
static void consume(struct client *c, const uint8_t *p, size_t n)
{
    uint64_t id = c->id;
    struct node_api *api = c->api;
    while (n > 0 && !c->closing) {
        if (c->hdr_got < 4) {
            size_t k = 4 - c->hdr_got < n ? 4 - c->hdr_got : n;
            memcpy(c->hdr + c->hdr_got, p, k);
            c->hdr_got += k;
            p += k;
            n -= k;
            if (c->hdr_got < 4)
                return;
            c->len = (size_t)c->hdr[0] << 24 | (size_t)c->hdr[1] << 16 | (size_t)c->hdr[2] << 8 |
                     c->hdr[3];
            if (c->len == 0 || c->len > NODE_API_REQUEST_MAX) {
                node_log(NODE_LOG_WARN, "api", "client=%llu drop reason=\"request length %zu\"",
                         (unsigned long long)c->id, c->len);
                drop(c);
                return;
            }
            if (!room_for_body(c, c->len) || (c->body = malloc(c->len)) == NULL) {
                drop(c);
                return;
            }
            api->pending += c->len;
            c->got = 0;
        }
        size_t k = c->len - c->got < n ? c->len - c->got : n;
        memcpy(c->body + c->got, p, k);
        c->got += k;
        p += k;
        n -= k;
        if (c->got == c->len) {
            uint8_t *body = c->body;
            size_t len = c->len;
            c->body = NULL;
            api->pending -= len;
            c->hdr_got = 0;
            api->on_request(api->ctx, id, body, len);
            free(body);
            /* The handler may have dropped this client (a reply it did not read). */
            if (find(api, id) == NULL)
                return;
        }
    }
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct client *c = s->data;
    if (nread < 0) {
        drop(c);
        return;
    }
    c->active = uv_now(c->api->loop);
    consume(c, (const uint8_t *)buf->base, (size_t)nread);
}

/* The client to drop for a newcomer when all slots are taken: the one idle
 * the longest, preferring one with no request half read and no reply
 * unwritten. Refusing the newcomer instead would let NODE_API_CLIENTS_MAX
 * silent connections lock the operator out for good. */
static struct client *evictee(const struct node_api *api)
{
    struct client *best = NULL;
    bool best_quiet = false;
    for (struct client *c = api->clients; c != NULL; c = c->next) {
        bool quiet = c->hdr_got == 0 && c->unsent == 0;
        if (best == NULL || (quiet && !best_quiet) ||
            (quiet == best_quiet && c->active < best->active)) {
            best = c;
            best_quiet = quiet;
        }
    }
    return best;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct node_api *api = server->data;
    if (status < 0)
        return;
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->api = api;
    c->id = ++api->next_id;
    if (uv_pipe_init(api->loop, &c->pipe, 0) != 0) {
        free(c);
        return;
    }
    api->handles++;
    c->pipe.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        uv_close((uv_handle_t *)&c->pipe, free_client);
        return;
    }
    if (api->n_clients >= NODE_API_CLIENTS_MAX) {
        struct client *old = evictee(api);
        node_log(NODE_LOG_WARN, "api",
                 "client=%llu drop reason=\"%d clients connected: the longest idle makes room\"",
                 (unsigned long long)old->id, NODE_API_CLIENTS_MAX);
        drop(old);
    }
    c->active = uv_now(api->loop);
    c->next = api->clients;
    if (c->next != NULL)
        c->next->prev = c;
    api->clients = c;
    api->n_clients++;
    if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) != 0)
        drop(c);
}

/* Removes a socket file left by a crashed node; refuses one that answers. */
static int clear_stale(const char *path, char *errmsg, size_t errmsg_len)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(errmsg, errmsg_len, "%s exists and is not a socket", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(errmsg, errmsg_len, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    close(fd);
    if (rc == 0) {
        snprintf(errmsg, errmsg_len, "%s is in use by a running node", path);
        return -1;
    }
    if (unlink(path) != 0) {
        snprintf(errmsg, errmsg_len, "remove stale %s: %s", path, strerror(errno));
        return -1;
    }
    node_log(NODE_LOG_INFO, "api", "removed stale socket path=%s", path);
    return 0;
}

/* Descriptors the node needs beside its API clients: peer links and their
 * handshakes, LMDB, the loop's own, logs. */
#define FDS_BESIDE_CLIENTS 256

/* Raises the soft limit on open files so NODE_API_CLIENTS_MAX clients fit:
 * the common default of 1,024 ran out first, and libuv then closes every
 * new connection at once (the operator locked out, eviction never asked). */
static void ensure_fds(void)
{
    struct rlimit rl;
    rlim_t want = NODE_API_CLIENTS_MAX + FDS_BESIDE_CLIENTS;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return;
    rlim_t had = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        node_log(NODE_LOG_WARN, "api",
                 "open files limit=%llu reason=\"below %llu: fewer operator clients fit; raise "
                 "the hard limit (ulimit -Hn)\"",
                 (unsigned long long)(rl.rlim_cur > had ? rl.rlim_cur : had),
                 (unsigned long long)want);
}

int node_api_start(uv_loop_t *loop, const char *path, node_api_request_fn on_request, void *ctx,
                   struct node_api **out, char *errmsg, size_t errmsg_len)
{
    *out = NULL;
    ensure_fds();
    struct node_api *api = calloc(1, sizeof *api);
    if (api == NULL) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return -1;
    }
    if (strlen(path) >= sizeof api->path) {
        snprintf(errmsg, errmsg_len, "socket path %s is longer than %zu bytes", path,
                 sizeof api->path - 1);
        goto err_after_alloc;
    }
    snprintf(api->path, sizeof api->path, "%s", path);
    api->loop = loop;
    api->on_request = on_request;
    api->ctx = ctx;
    if (clear_stale(path, errmsg, errmsg_len) != 0)
        goto err_after_alloc;
    int rc = uv_pipe_init(loop, &api->listener, 0);
    if (rc != 0) {
        snprintf(errmsg, errmsg_len, "pipe: %s", uv_strerror(rc));
        goto err_after_alloc;
    }
    api->listener.data = api;
    api->handles = 1;
    /* 0660 (DESIGN §5): the node's group may operate it, nobody else. The
     * umask covers the window between bind and chmod. */
    mode_t old = umask(0117);
    rc = uv_pipe_bind(&api->listener, path);
    umask(old);
    if (rc == 0 && chmod(path, 0660) != 0)
        rc = uv_translate_sys_error(errno);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&api->listener, 128, on_connection);
    if (rc != 0) {
        snprintf(errmsg, errmsg_len, "listen on %s: %s", path, uv_strerror(rc));
        uv_close((uv_handle_t *)&api->listener, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
        goto err_after_alloc;
    }
    *out = api;
    return 0;

err_after_alloc:
    free(api);
    return -1;
}

static void write_cb(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    w->c->unsent -= w->cost;
    w->c->api->unsent -= w->cost; /* api outlives its clients' pipes */
    if (status < 0)
        drop(w->c);
    free(w);
}

/* Drops, until need more bytes fit under NODE_API_UNSENT_MAX, the clients
 * with the most replies unread. False when c is among them. The total
 * counts the replies of dropped clients until libuv frees them (at the end
 * of this loop iteration), so clients dropped together cannot hold the
 * bound many times over; a reply that only their memory keeps out goes. */
static bool room_for_reply(struct client *c, size_t need)
{
    struct node_api *api = c->api;
    while (api->unsent + need > NODE_API_UNSENT_MAX) {
        struct client *worst = c;
        for (struct client *o = api->clients; o != NULL; o = o->next)
            if (!o->closing && o->unsent > worst->unsent)
                worst = o;
        if (worst->unsent == 0)
            break;
        node_log(NODE_LOG_WARN, "api",
                 "client=%llu drop reason=\"%zu reply bytes unread, %zu by all clients\"",
                 (unsigned long long)worst->id, worst->unsent, api->unsent);
        drop(worst);
        if (worst == c)
            return false;
    }
    return true;
}

int node_api_reply(struct node_api *api, uint64_t id, const uint8_t *bytes, size_t len)
{
    struct client *c = find(api, id);
    if (c == NULL || c->closing)
        return -1;
    size_t cost = sizeof(struct write_req) + 4 + len;
    if (c->unsent + cost > NODE_API_WRITE_MAX) {
        node_log(NODE_LOG_WARN, "api", "client=%llu drop reason=\"%zu reply bytes unread\"",
                 (unsigned long long)id, c->unsent);
        drop(c);
        return -1;
    }
    if (!room_for_reply(c, cost))
        return -1;
    struct write_req *w = malloc(sizeof *w + 4 + len);
    if (w == NULL)
        return -1;
    w->c = c;
    w->len = 4 + len;
    w->cost = cost;
    w->bytes[0] = (uint8_t)(len >> 24);
    w->bytes[1] = (uint8_t)(len >> 16);
    w->bytes[2] = (uint8_t)(len >> 8);
    w->bytes[3] = (uint8_t)len;
    memcpy(w->bytes + 4, bytes, len);
    uv_buf_t buf = uv_buf_init((char *)w->bytes, (unsigned)w->len);
    c->unsent += cost;
    api->unsent += cost;
    c->active = uv_now(api->loop);
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_cb) != 0) {
        c->unsent -= cost;
        api->unsent -= cost;
        free(w);
        drop(c);
        return -1;
    }
    return 0;
}

size_t node_api_clients(const struct node_api *api)
{
    return api->n_clients;
}

int node_api_hold(struct node_api *api, uint64_t client, size_t max)
{
    struct client *c = find(api, client);
    if (c == NULL || c->closing || c->held >= max)
        return -1;
    c->held++;
    return 0;
}

void node_api_release(struct node_api *api, uint64_t client)
{
    struct client *c = find(api, client);
    if (c != NULL && c->held > 0)
        c->held--;
}

static void free_api(uv_handle_t *h)
{
    handle_gone(h->data);
}

void node_api_close(struct node_api *api)
{
    if (api == NULL || api->closing)
        return;
    api->closing = true;
    while (api->clients != NULL)
        drop(api->clients);
    unlink(api->path);
    uv_close((uv_handle_t *)&api->listener, free_api);
}
