/* The pure part of the /metrics responder: what an HTTP request head asks for. */
#ifndef SEALCHAIN_NODE_HTTPREQ_H
#define SEALCHAIN_NODE_HTTPREQ_H

#include <stddef.h>

/* A request head is at most this many bytes (node/http.h). */
#define NODE_HTTP_REQUEST_MAX 8192

/*
 * Classifies the bytes received so far on a connection (req, len bytes; any
 * bytes, NULs included) against the one path served (a NUL-terminated
 * string such as "/metrics"):
 *   0    the head is not complete yet (no blank line) and len is within
 *        NODE_HTTP_REQUEST_MAX: read more;
 *   431  no complete head within NODE_HTTP_REQUEST_MAX bytes;
 *   400  the request line is not "METHOD SP TARGET SP HTTP/1.x", or holds a NUL;
 *   404  another target (a query string after '?' is ignored);
 *   405  the path with a method other than GET;
 *   200  GET of the path.
 * Only the request line is read; headers are skipped.
 */
int node_http_classify(const char *req, size_t len, const char *path);

#endif
