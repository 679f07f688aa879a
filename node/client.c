/* A blocking client of the operator socket. */
#include "node/client.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct node_client {
    int fd;
    uint64_t next_id;
    char path[108];
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int node_client_open(const char *path, struct node_client **out, char *errmsg, size_t errmsg_len)
{
    *out = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (path == NULL || path[0] == '\0') {
        snprintf(errmsg, errmsg_len, "no node socket given (--node or $SEALCHAIN_SOCKET)");
        return -1;
    }
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(errmsg, errmsg_len, "socket path %s is too long", path);
        return -1;
    }
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    struct node_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return -1;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(errmsg, errmsg_len, "cannot reach the node at %s: %s", path, strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void node_client_close(struct node_client *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    free(c);
}

int node_client_fd(const struct node_client *c)
{
    return c->fd;
}

static int write_all(struct node_client *c, const uint8_t *p, size_t n, char *errmsg,
                     size_t errmsg_len)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(errmsg, errmsg_len, "write to %s: %s", c->path, strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes before the monotonic deadline. */
static int read_all(struct node_client *c, uint8_t *p, size_t n, uint64_t deadline, char *errmsg,
                    size_t errmsg_len)
{
    while (n > 0) {
        uint64_t now = mono_ms();
        if (now >= deadline) {
            snprintf(errmsg, errmsg_len, "no reply from %s in time", c->path);
            return -1;
        }
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int pr = poll(&pfd, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        ssize_t r = recv(c->fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(errmsg, errmsg_len, "%s closed the connection%s%s", c->path, r < 0 ? ": " : "",
                     r < 0 ? strerror(errno) : "");
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int node_client_send(struct node_client *c, Sealchain__ApiRequest *req, uint64_t *out_id,
                     char *errmsg, size_t errmsg_len)
{
    req->id = ++c->next_id;
    size_t len = sealchain__api_request__get_packed_size(req);
    uint8_t *buf = malloc(4 + len);
    if (buf == NULL) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return -1;
    }
    buf[0] = (uint8_t)(len >> 24);
    buf[1] = (uint8_t)(len >> 16);
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    sealchain__api_request__pack(req, buf + 4);
    int rc = write_all(c, buf, 4 + len, errmsg, errmsg_len);
    free(buf);
    if (rc == 0 && out_id != NULL)
        *out_id = req->id;
    return rc;
}

int node_client_recv(struct node_client *c, int timeout_ms, Sealchain__ApiReply **out, char *errmsg,
                     size_t errmsg_len)
{
    uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
    uint8_t hdr[4];
    if (read_all(c, hdr, 4, deadline, errmsg, errmsg_len) != 0)
        return -1;
    size_t len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    if (len > NODE_CLIENT_REPLY_MAX) {
        snprintf(errmsg, errmsg_len, "reply of %zu bytes from %s is over the limit", len, c->path);
        return -1;
    }
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        snprintf(errmsg, errmsg_len, "out of memory");
        return -1;
    }
    if (read_all(c, buf, len, deadline, errmsg, errmsg_len) != 0) {
        free(buf);
        return -1;
    }
    *out = sealchain__api_reply__unpack(NULL, len, buf);
    free(buf);
    if (*out == NULL) {
        snprintf(errmsg, errmsg_len, "reply from %s does not decode", c->path);
        return -1;
    }
    return 0;
}

int node_client_call(struct node_client *c, Sealchain__ApiRequest *req, int timeout_ms,
                     Sealchain__ApiReply **out, char *errmsg, size_t errmsg_len)
{
    uint64_t id;
    if (node_client_send(c, req, &id, errmsg, errmsg_len) != 0)
        return -1;
    for (;;) {
        if (node_client_recv(c, timeout_ms, out, errmsg, errmsg_len) != 0)
            return -1;
        if ((*out)->id == id || (*out)->id == 0)
            return 0;
        sealchain__api_reply__free_unpacked(*out, NULL); /* an earlier request's */
    }
}
