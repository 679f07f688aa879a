/* The operator socket under abuse, against a real sealchaind: garbage, truncated and huge frames,
 * thousands of idle clients, clients that never read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "node/api.h"
#include "node/daemon.h"
#include "proto/api.pb-c.h"
#include "tests/integration/cluster.h"

/*
 * Each test abuses node 0's socket and then, while the abusers are still
 * connected: another client is served (status), the node still commits (a
 * submit that waits), and its anonymous memory (RssAnon) has grown by less
 * than RSS_GROWTH_MAX_KB over what it was before the abuse. That bound is
 * what the node's caps allow (node/api.h: NODE_API_PENDING_MAX bytes of
 * half-read requests and NODE_API_UNSENT_MAX of unread replies in all, 32
 * MiB each; one test reaches one of them) and the allocator's overhead on
 * top (ASan's redzones make 32 MiB of small replies about 50 MiB); without
 * the caps, stalled uploads grew it by 101 MiB and non-readers by 189 MiB.
 */
#define RSS_GROWTH_MAX_KB (64u << 10)

static int setup(void **state)
{
    struct cluster *c = calloc(1, sizeof *c);
    if (c == NULL || cluster_new(c, 1, NULL) != 0) {
        free(c);
        return -1;
    }
    if (cluster_start_all(c, 30000) != 0)
        return -1;
    *state = c;
    return 0;
}

/* Four validators, only node 0 running: nothing commits, waiting submits wait. */
static int setup_alone(void **state)
{
    struct cluster *c = calloc(1, sizeof *c);
    if (c == NULL || cluster_new(c, 4, NULL) != 0) {
        free(c);
        return -1;
    }
    if (cluster_start(c, 0) != 0 || cluster_wait_up(c, 0, 30000) != 0)
        return -1;
    *state = c;
    return 0;
}

/* The node still stops cleanly (under ASan: without a leak). */
static int teardown(void **state)
{
    struct cluster *c = *state;
    int rc = 0;
    for (unsigned i = 0; i < c->n; i++) {
        int st = 0;
        if (c->pid[i] > 0 && cluster_signal(c, i, SIGTERM, &st) == 0 &&
            !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            print_error("node %u did not stop cleanly (wait status %#x)\n", i, (unsigned)st);
            rc = -1;
        }
    }
    cluster_free(c, getenv("KEEP_CLUSTER") != NULL);
    free(c);
    return rc;
}

static int api_connect(struct cluster *c)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/node0/node.sock", c->dir);
    if (n < 0 || (size_t)n >= sizeof sa.sun_path ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends what the socket takes; false when the node closed it. */
static bool send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        len -= (size_t)k;
    }
    return true;
}

/* Reads and discards until the node closes fd (true) or timeout_ms passes. */
static bool closed_within(int fd, int timeout_ms)
{
    uint64_t end = cluster_ms() + (uint64_t)timeout_ms;
    static uint8_t buf[65536];
    while (cluster_ms() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, (int)(end - cluster_ms())) <= 0)
            continue;
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
            return true;
    }
    return false;
}

/* Reads one reply frame; NULL when the node closed fd or timeout_ms passed. */
static Sealchain__ApiReply *read_reply(int fd, int timeout_ms)
{
    uint8_t hdr[4], *body = NULL;
    size_t want = 4, got = 0, len = 0;
    uint64_t end = cluster_ms() + (uint64_t)timeout_ms;
    while (got < want && cluster_ms() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, (int)(end - cluster_ms())) <= 0)
            continue;
        uint8_t *dst = body == NULL ? hdr + got : body + got;
        ssize_t k = recv(fd, dst, want - got, 0);
        if (k <= 0)
            break;
        got += (size_t)k;
        if (body == NULL && got == 4) {
            len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
            body = malloc(len ? len : 1);
            assert_non_null(body);
            want = len;
            got = 0;
        }
    }
    Sealchain__ApiReply *r = NULL;
    if (body != NULL && got == want)
        r = sealchain__api_reply__unpack(NULL, len, body);
    free(body);
    return r;
}

/* A framed request: length prefix and the packed message. *out malloc'd. */
static size_t frame(const Sealchain__ApiRequest *q, uint8_t **out)
{
    size_t len = sealchain__api_request__get_packed_size(q);
    uint8_t *b = malloc(4 + len);
    assert_non_null(b);
    b[0] = (uint8_t)(len >> 24);
    b[1] = (uint8_t)(len >> 16);
    b[2] = (uint8_t)(len >> 8);
    b[3] = (uint8_t)len;
    sealchain__api_request__pack(q, b + 4);
    *out = b;
    return 4 + len;
}

static size_t status_frame(uint64_t id, uint8_t **out)
{
    Sealchain__ApiRequest q = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__StatusRequest s = SEALCHAIN__STATUS_REQUEST__INIT;
    q.id = id;
    q.req_case = SEALCHAIN__API_REQUEST__REQ_STATUS;
    q.status = &s;
    return frame(&q, out);
}

static unsigned rss_anon_kb(struct cluster *c)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)c->pid[0]);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    unsigned kb = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "RssAnon: %u kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* While the abusers are connected: another client is served, the node
 * commits, and RssAnon grew by less than the bound since base_kb. */
static void assert_unharmed(struct cluster *c, unsigned base_kb, const char *what)
{
    unsigned kb = rss_anon_kb(c);
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    assert_int_equal(cluster_status(c, 0, &s, &r), 0);
    uint64_t h = s->height;
    sealchain__api_reply__free_unpacked(r, NULL);
    uint8_t *tx;
    size_t len;
    char st[16];
    uint64_t at = 0;
    assert_int_equal(cluster_tx(c, 0, &tx, &len), 0);
    assert_int_equal(cluster_submit(c, 0, tx, len, true, st, &at), 0);
    free(tx);
    assert_string_equal(st, "committed");
    assert_true(at > h);
    print_message("    %s: RssAnon %u -> %u KiB, committed at height %llu\n", what, base_kb, kb,
                  (unsigned long long)at);
    assert_true(kb < base_kb + RSS_GROWTH_MAX_KB);
}

/* A body that is no request gets BAD_REQUEST and the connection goes on; a
 * stream of random bytes (its first four a length over the bound) is dropped. */
static void garbage_is_answered_or_dropped(void **state)
{
    struct cluster *c = *state;
    unsigned base = rss_anon_kb(c);
    int fd = api_connect(c);
    assert_true(fd >= 0);
    uint8_t junk[4 + 16] = { 0, 0, 0, 16 };
    memset(junk + 4, 0xff, 16);
    assert_true(send_all(fd, junk, sizeof junk));
    Sealchain__ApiReply *r = read_reply(fd, 5000);
    assert_non_null(r);
    assert_int_equal(r->outcome, SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST);
    sealchain__api_reply__free_unpacked(r, NULL);
    uint8_t *st;
    size_t st_len = status_frame(7, &st);
    assert_true(send_all(fd, st, st_len));
    free(st);
    r = read_reply(fd, 5000);
    assert_non_null(r);
    assert_int_equal(r->id, 7);
    assert_int_equal(r->rep_case, SEALCHAIN__API_REPLY__REP_STATUS);
    sealchain__api_reply__free_unpacked(r, NULL);
    close(fd);

    enum { N = 64 };
    int fds[N];
    static uint8_t noise[256 << 10];
    for (unsigned k = 0; k < N; k++) {
        randombytes_buf(noise, sizeof noise);
        noise[0] |= 0x01; /* a length of at least 16 MiB */
        fds[k] = api_connect(c);
        assert_true(fds[k] >= 0);
        send_all(fds[k], noise, sizeof noise);
    }
    assert_unharmed(c, base, "64 clients sending 256 KiB of noise");
    for (unsigned k = 0; k < N; k++) {
        assert_true(closed_within(fds[k], 5000));
        close(fds[k]);
    }
}

/* A length prefix and then nothing (closed, or stalled), and a request cut
 * one byte short and stalled, from 100 clients each: the node holds at most
 * NODE_API_PENDING_MAX bytes of half-read requests. */
static void truncated_frames_hold_neither_memory_nor_others(void **state)
{
    struct cluster *c = *state;
    unsigned base = rss_anon_kb(c);
    enum { N = 100 };
    const uint8_t max_hdr[4] = { NODE_API_REQUEST_MAX >> 24, NODE_API_REQUEST_MAX >> 16 & 0xff,
                                 NODE_API_REQUEST_MAX >> 8 & 0xff, NODE_API_REQUEST_MAX & 0xff };
    for (unsigned k = 0; k < N; k++) {
        int fd = api_connect(c);
        assert_true(fd >= 0);
        send_all(fd, max_hdr, 2 + k % 3); /* a prefix cut short, or whole */
        close(fd);
    }
    int prefix_only[N], short_body[N];
    uint8_t *body = malloc(NODE_API_REQUEST_MAX);
    assert_non_null(body);
    memset(body, 0x5a, NODE_API_REQUEST_MAX);
    for (unsigned k = 0; k < N; k++) {
        prefix_only[k] = api_connect(c);
        assert_true(prefix_only[k] >= 0);
        send_all(prefix_only[k], max_hdr, 4);
        short_body[k] = api_connect(c);
        assert_true(short_body[k] >= 0);
        if (send_all(short_body[k], max_hdr, 4))
            send_all(short_body[k], body, NODE_API_REQUEST_MAX - 1);
    }
    free(body);
    cluster_sleep_ms(500);
    assert_unharmed(c, base, "100 prefixes and 100 requests 1 byte short, stalled");
    unsigned dropped = 0;
    for (unsigned k = 0; k < N; k++) {
        dropped += closed_within(short_body[k], 10);
        close(short_body[k]);
        close(prefix_only[k]);
    }
    print_message("    %u of the stalled 1 MiB requests dropped\n", dropped);
    assert_true(dropped > 0);
}

/* A length prefix of 4 GiB - 1 (and one of 0, and one a byte over the
 * bound) drops the client at once, before anything is allocated. */
static void a_4_gib_length_prefix_drops_the_client_at_once(void **state)
{
    struct cluster *c = *state;
    unsigned base = rss_anon_kb(c);
    const uint32_t lens[] = { 0xffffffffu, 0, NODE_API_REQUEST_MAX + 1 };
    for (unsigned k = 0; k < 3 * 50; k++) {
        uint32_t v = lens[k % 3];
        uint8_t hdr[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
        int fd = api_connect(c);
        assert_true(fd >= 0);
        send_all(fd, hdr, 4);
        assert_true(closed_within(fd, 2000));
        close(fd);
    }
    assert_unharmed(c, base, "150 clients with lengths 4 GiB - 1, 0 and 1 MiB + 1");
}

/* Three times NODE_API_CLIENTS_MAX connections that send nothing: the
 * longest idle make room, the operator is served. */
static void thousands_of_idle_connections_lock_nobody_out(void **state)
{
    struct cluster *c = *state;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    enum { IDLE = 3 * NODE_API_CLIENTS_MAX };
    if (rl.rlim_cur < IDLE + 100) {
        print_message("    (skipped: RLIMIT_NOFILE %llu)\n", (unsigned long long)rl.rlim_cur);
        skip();
    }
    unsigned base = rss_anon_kb(c);
    int *fds = calloc(IDLE, sizeof *fds);
    assert_non_null(fds);
    unsigned opened = 0;
    for (unsigned k = 0; k < IDLE; k++)
        opened += (fds[k] = api_connect(c)) >= 0;
    cluster_sleep_ms(300);
    assert_unharmed(c, base, "3,072 idle connections");
    unsigned dropped = 0;
    for (unsigned k = 0; k < IDLE; k++)
        if (fds[k] >= 0) {
            dropped += closed_within(fds[k], 0) || closed_within(fds[k], 1);
            close(fds[k]);
        }
    free(fds);
    print_message("    %u opened, %u dropped to make room\n", opened, dropped);
    assert_int_equal(opened, IDLE);
    assert_true(dropped >= IDLE - NODE_API_CLIENTS_MAX);
}

/* Eight clients each send 150,000 status requests and never read a reply:
 * each is dropped, and the node holds at most NODE_API_UNSENT_MAX bytes of
 * unread replies in all meanwhile. */
static void clients_that_never_read_are_dropped(void **state)
{
    struct cluster *c = *state;
    unsigned base = rss_anon_kb(c), peak = base;
    enum { N = 8, REQS = 150000 };
    uint8_t *one;
    size_t one_len = status_frame(1, &one);
    uint8_t *flood = malloc(REQS * one_len);
    assert_non_null(flood);
    for (size_t k = 0; k < REQS; k++)
        memcpy(flood + k * one_len, one, one_len);
    free(one);
    int fds[N];
    size_t off[N];
    for (unsigned k = 0; k < N; k++) {
        fds[k] = api_connect(c);
        assert_true(fds[k] >= 0);
        fcntl(fds[k], F_SETFL, O_NONBLOCK);
        off[k] = 0;
    }
    /* send until every flood is out or refused */
    uint64_t end = cluster_ms() + 60000;
    for (unsigned live = N; live > 0 && cluster_ms() < end;) {
        live = 0;
        for (unsigned k = 0; k < N; k++) {
            if (off[k] == REQS * one_len)
                continue;
            ssize_t n = send(fds[k], flood + off[k], REQS * one_len - off[k], MSG_NOSIGNAL);
            if (n > 0)
                off[k] += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                off[k] = REQS * one_len; /* dropped */
            live += off[k] < REQS * one_len;
        }
        unsigned kb = rss_anon_kb(c);
        peak = kb > peak ? kb : peak;
        cluster_sleep_ms(5);
    }
    free(flood);
    print_message("    RssAnon peak %u KiB while flooding\n", peak);
    assert_true(peak < base + RSS_GROWTH_MAX_KB);
    assert_unharmed(c, base, "8 clients that never read 150,000 replies");
    for (unsigned k = 0; k < N; k++) {
        assert_true(closed_within(fds[k], 10000));
        close(fds[k]);
    }
}

/* One client holds at most NODE_DAEMON_WAITERS_PER_CLIENT waiting submits
 * (nothing commits with one validator of four up): the rest are admitted
 * and answered at once, and another client may still wait. */
static void one_client_cannot_hold_every_waiting_submit(void **state)
{
    struct cluster *c = *state;
    enum { N = NODE_DAEMON_WAITERS_PER_CLIENT + 200 };
    int fd = api_connect(c);
    assert_true(fd >= 0);
    for (unsigned k = 0; k < N; k++) {
        if (k % 1000 == 999)
            cluster_sleep_ms(500); /* under NODE_DAEMON_VERIFY_MAX in the checks at once */
        uint8_t *tx, *b;
        size_t len;
        assert_int_equal(cluster_tx(c, 0, &tx, &len), 0);
        Sealchain__ApiRequest q = SEALCHAIN__API_REQUEST__INIT;
        Sealchain__SubmitRequest s = SEALCHAIN__SUBMIT_REQUEST__INIT;
        s.tx.data = tx;
        s.tx.len = len;
        s.wait = true;
        s.wait_ms = 60000;
        q.id = k + 1;
        q.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
        q.submit = &s;
        size_t n = frame(&q, &b);
        assert_true(send_all(fd, b, n));
        free(b);
        free(tx);
    }
    /* the ones over the bound are answered now; the others wait */
    unsigned answered = 0, unavailable = 0;
    Sealchain__ApiReply *r;
    while ((r = read_reply(fd, 3000)) != NULL) {
        answered++;
        unavailable += r->outcome == SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE;
        sealchain__api_reply__free_unpacked(r, NULL);
    }
    print_message("    %u waiting submits sent: %u answered at once (%u unavailable)\n", N,
                  answered, unavailable);
    assert_int_equal(unavailable, N - NODE_DAEMON_WAITERS_PER_CLIENT);
    /* another client may still wait: it is told "pending" when its wait ends */
    uint8_t *tx;
    size_t len;
    char st[16];
    assert_int_equal(cluster_tx(c, 0, &tx, &len), 0);
    Sealchain__ApiRequest q = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SubmitRequest s = SEALCHAIN__SUBMIT_REQUEST__INIT;
    s.tx.data = tx;
    s.tx.len = len;
    s.wait = true;
    s.wait_ms = 1000;
    q.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
    q.submit = &s;
    assert_int_equal(cluster_call(c, 0, &q, 10000, &r), 0);
    free(tx);
    assert_int_equal(r->rep_case, SEALCHAIN__API_REPLY__REP_SUBMIT);
    snprintf(st, sizeof st, "%s", r->submit->status);
    assert_string_equal(r->error, "not committed in time; it may still commit");
    sealchain__api_reply__free_unpacked(r, NULL);
    assert_string_equal(st, "pending");
    close(fd);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    /* The idle-connection test holds thousands of descriptors. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* Under ASan the node's freed memory would wait in quarantine and count
     * in RssAnon: the bound is on what it holds, so none is kept. */
    char asan[512];
    const char *was = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "%s%squarantine_size_mb=0", was ? was : "", was && *was ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
    if (getenv("TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(garbage_is_answered_or_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_frames_hold_neither_memory_nor_others, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_4_gib_length_prefix_drops_the_client_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(thousands_of_idle_connections_lock_nobody_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(clients_that_never_read_are_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(one_client_cannot_hold_every_waiting_submit, setup_alone,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
