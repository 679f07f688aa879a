/* A tiny HTTP/1.0 responder on libuv: one path, GET only, one response per connection. */
#include "node/http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/log.h"

/* After the response, the connection lingers this long for the client to
 * close first: closing with unread request bytes would reset the connection
 * and could destroy the response before the client reads it. */
#define LINGER_MS 2000

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    struct node_http *h;
    struct conn *next, *prev;
    int open_handles; /* freed when both handles have closed */
    bool closing, answered;
    size_t got;
    char req[NODE_HTTP_REQUEST_MAX];
};

struct node_http {
    uv_loop_t *loop;
    uv_tcp_t listener;
    char *path;
    const char *content_type;
    node_http_body_fn body;
    void *ctx;
    struct conn *conns;
    size_t n_conns;
    uint16_t port;
};

struct write_req {
    uv_write_t req;
    struct conn *c;
    char *bytes;
};

static void handle_closed(uv_handle_t *handle)
{
    struct conn *c = handle->data;
    if (--c->open_handles == 0)
        free(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct node_http *h = c->h;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    h->n_conns--;
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    uv_close((uv_handle_t *)&c->tcp, handle_closed);
}

static void timer_cb(uv_timer_t *t)
{
    conn_close(t->data);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    if (status != 0)
        conn_close(req->data);
}

/* The response is out: send FIN, then read (and discard) until the client
 * closes, or LINGER_MS. */
static void write_cb(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct conn *c = w->c;
    free(w->bytes);
    free(w);
    if (c->closing)
        return;
    c->shutdown.data = c;
    if (status != 0 || uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, timer_cb, LINGER_MS, 0);
}

static const char *reason_of(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Internal Server Error";
    }
}

/* Sends the whole response (body owned, freed) and closes afterwards. */
static void respond(struct conn *c, int code, const char *type, char *body, size_t len)
{
    c->answered = true;
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n",
                     code, reason_of(code), type, len, code == 405 ? "Allow: GET\r\n" : "");
    struct write_req *w = malloc(sizeof *w);
    char *bytes = malloc((size_t)n + len);
    if (w == NULL || bytes == NULL || n < 0) {
        free(w);
        free(bytes);
        free(body);
        conn_close(c);
        return;
    }
    memcpy(bytes, head, (size_t)n);
    if (len > 0)
        memcpy(bytes + n, body, len);
    free(body);
    w->c = c;
    w->bytes = bytes;
    uv_buf_t buf = uv_buf_init(bytes, (unsigned)((size_t)n + len));
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb) != 0) {
        free(bytes);
        free(w);
        conn_close(c);
    }
}

static void respond_text(struct conn *c, int code, const char *text)
{
    char *body = strdup(text);
    respond(c, code, "text/plain; charset=utf-8", body, body ? strlen(body) : 0);
}

/* A complete head (or one too long): the answer node_http_classify names. */
static void answer(struct conn *c, int code)
{
    struct node_http *h = c->h;
    static const char *const texts[] = { "bad request\n", "not found\n", "method not allowed\n",
                                         "request too large\n" };
    if (code != 200) {
        respond_text(c, code, texts[code == 400 ? 0 : code == 404 ? 1 : code == 405 ? 2 : 3]);
        return;
    }
    char *body = NULL;
    size_t len = 0;
    if (h->body(h->ctx, &body, &len) != 0) {
        respond_text(c, 500, "internal error\n");
        return;
    }
    respond(c, 200, h->content_type, body, len);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = handle->data;
    /* Straight into the request buffer: one byte is kept for the NUL, and a
     * full buffer reads into a scratch byte that marks the head too long. */
    static char discard[4096];
    if (c->answered || c->got >= NODE_HTTP_REQUEST_MAX)
        *buf = uv_buf_init(discard, sizeof discard);
    else
        *buf = uv_buf_init(c->req + c->got, (unsigned)(NODE_HTTP_REQUEST_MAX - c->got));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (c->closing)
        return;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (c->answered)
        return;                       /* lingering: the rest of the request is dropped */
    if (buf->base == c->req + c->got) /* else the discard buffer: already answered */
        c->got += (size_t)nread;
    int code = node_http_classify(c->req, c->got, c->h->path);
    if (code != 0)
        answer(c, code);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct node_http *h = server->data;
    if (status < 0)
        return;
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->h = h;
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->next = h->conns;
    if (c->next != NULL)
        c->next->prev = c;
    h->conns = c;
    h->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    if (h->n_conns > NODE_HTTP_CLIENTS_MAX) {
        node_log(NODE_LOG_WARN, "metrics", "refuse client reason=\"%d clients connected\"",
                 NODE_HTTP_CLIENTS_MAX);
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, timer_cb, NODE_HTTP_READ_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
        conn_close(c);
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    const char *h = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (uv_ip4_addr(h, port, (struct sockaddr_in *)out) == 0)
        return 0;
    return uv_ip6_addr(h, port, (struct sockaddr_in6 *)out);
}

static void free_http(uv_handle_t *handle)
{
    struct node_http *h = handle->data;
    free(h->path);
    free(h);
}

int node_http_start(uv_loop_t *loop, const char *host, uint16_t port, const char *path,
                    const char *content_type, node_http_body_fn body, void *ctx,
                    struct node_http **out, char *errmsg, size_t errmsg_len)
{
    struct sockaddr_storage sa;
    if (resolve(host, port, &sa) != 0) {
        snprintf(errmsg, errmsg_len, "metrics: bad address '%s'", host);
        return -1;
    }
    struct node_http *h = calloc(1, sizeof *h);
    if (h == NULL || (h->path = strdup(path)) == NULL) {
        free(h);
        snprintf(errmsg, errmsg_len, "metrics: out of memory");
        return -1;
    }
    *h = (struct node_http){
        .loop = loop, .path = h->path, .content_type = content_type, .body = body, .ctx = ctx
    };
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    int rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, 64, on_connection);
    if (rc != 0) {
        snprintf(errmsg, errmsg_len, "metrics: listen on %s:%u: %s", host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)&h->listener, free_http);
        return -1;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound, &blen) == 0)
        h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    *out = h;
    return 0;
}

uint16_t node_http_port(const struct node_http *h)
{
    return h->port;
}

void node_http_close(struct node_http *h)
{
    if (h == NULL)
        return;
    while (h->conns != NULL)
        conn_close(h->conns);
    uv_close((uv_handle_t *)&h->listener, free_http);
}
