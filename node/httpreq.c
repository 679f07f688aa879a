/* The pure part of the /metrics responder: what an HTTP request head asks for. */
#include "node/httpreq.h"

#include <stdbool.h>
#include <string.h>

/* The end of the head ("\r\n\r\n" or "\n\n"), or NULL. */
static const char *head_end(const char *req, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (req[i] == '\n' && req[i + 1] == '\n')
            return req + i + 2;
        if (i + 3 < len && memcmp(req + i, "\r\n\r\n", 4) == 0)
            return req + i + 4;
    }
    return NULL;
}

/* A token of visible ASCII, at least one byte. */
static bool token(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] <= ' ' || p[i] == 0x7f)
            return false;
    return true;
}

int node_http_classify(const char *req, size_t len, const char *path)
{
    size_t cap = len < NODE_HTTP_REQUEST_MAX ? len : NODE_HTTP_REQUEST_MAX;
    if (head_end(req, cap) == NULL)
        return len >= NODE_HTTP_REQUEST_MAX ? 431 : 0;
    const char *eol = memchr(req, '\n', cap); /* the head is complete: there is one */
    size_t line = (size_t)(eol - req);
    if (line > 0 && req[line - 1] == '\r')
        line--;
    const char *sp1 = memchr(req, ' ', line);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', line - (size_t)(sp1 + 1 - req)) : NULL;
    if (sp1 == NULL || sp2 == NULL)
        return 400;
    size_t mlen = (size_t)(sp1 - req), tlen = (size_t)(sp2 - sp1 - 1);
    size_t vlen = line - (size_t)(sp2 + 1 - req);
    if (!token(req, mlen) || !token(sp1 + 1, tlen) || vlen != 8 ||
        memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1'))
        return 400;
    const char *q = memchr(sp1 + 1, '?', tlen);
    if (q != NULL)
        tlen = (size_t)(q - sp1 - 1);
    if (tlen != strlen(path) || memcmp(sp1 + 1, path, tlen) != 0)
        return 404;
    return mlen == 3 && memcmp(req, "GET", 3) == 0 ? 200 : 405;
}
