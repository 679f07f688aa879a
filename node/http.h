/* A tiny HTTP/1.0 responder on libuv: one path, GET only, one response per connection. */
#ifndef SEALCHAIN_NODE_HTTP_H
#define SEALCHAIN_NODE_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "node/httpreq.h" /* NODE_HTTP_REQUEST_MAX: a scrape's head is ~200 bytes */

/*
 * Enough HTTP for a Prometheus scraper and curl, nothing more: the request
 * head is read up to NODE_HTTP_REQUEST_MAX bytes and within NODE_HTTP_READ_MS
 * (then the connection is closed), and answered as node_http_classify
 * (node/httpreq.h) says: 200 and the body for "GET PATH", else 404, 405,
 * 400 or 431 with a one-line text. Every
 * response is HTTP/1.0 with Content-Length and "Connection: close"; once it
 * is written the server sends FIN and closes when the client does (or after
 * two seconds; whatever else the client sends is dropped). At most NODE_HTTP_CLIENTS_MAX
 * connections at once; the next is accepted and closed.
 */

/* A scraper sends its request at once: a connection silent this long goes. */
#define NODE_HTTP_READ_MS 10000
/* Scrapers and operators; each holds a few KiB. */
#define NODE_HTTP_CLIENTS_MAX 64

/* Makes the body for a GET of the path: *out malloc'd (owned by the
 * responder afterwards), *out_len bytes. Returns 0, or -1 for a 500. */
typedef int (*node_http_body_fn)(void *ctx, char **out, size_t *out_len);

struct node_http;

/* Listens on host:port (an IPv4 or IPv6 literal, or "localhost"; port 0
 * picks a free one, see node_http_port) and serves path (copied, e.g.
 * "/metrics") with body(ctx) as content_type (static). *out owned by the
 * caller (node_http_close). Returns 0 or -1 with the reason in errmsg. */
int node_http_start(uv_loop_t *loop, const char *host, uint16_t port, const char *path,
                    const char *content_type, node_http_body_fn body, void *ctx,
                    struct node_http **out, char *errmsg, size_t errmsg_len);

/* The port listened on. */
uint16_t node_http_port(const struct node_http *h);

/* Closes the listener and every connection; memory is released from
 * libuv's close callbacks: run the loop once more. NULL does nothing. */
void node_http_close(struct node_http *h);

#endif
