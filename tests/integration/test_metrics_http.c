/* A sealchaind --dev node's metrics: GET /metrics over raw TCP, the API request, sealctl metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ledger/genesis.h"
#include "ledger/txbuild.h"
#include "tests/integration/cluster.h"
#include "node/client.h"
#include "node/keyfile.h"

struct node {
    char dir[128], sock[200], build[128];
    uint16_t port; /* metrics_listen */
    pid_t pid;
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

/* One API call; *out owned by the caller. */
static int call(const char *sock, Sealchain__ApiRequest *req, Sealchain__ApiReply **out)
{
    struct node_client *cl;
    char err[256];
    if (node_client_open(sock, &cl, err, sizeof err) != 0)
        return -1;
    int rc = node_client_call(cl, req, 35000, out, err, sizeof err);
    node_client_close(cl);
    return rc;
}

static int status_ok(const char *sock)
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__StatusRequest s = SEALCHAIN__STATUS_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_STATUS;
    req.status = &s;
    Sealchain__ApiReply *r;
    if (call(sock, &req, &r) != 0)
        return -1;
    int rc = r->rep_case == SEALCHAIN__API_REPLY__REP_STATUS ? 0 : -1;
    sealchain__api_reply__free_unpacked(r, NULL);
    return rc;
}

/* A loopback port free now, below the ephemeral range (32768 and up) where
 * an outgoing connection could take it before the node binds it. */
static uint16_t free_port(void)
{
    for (int tries = 0; tries < 200; tries++) {
        uint16_t port = (uint16_t)(20000 + randombytes_uniform(12000));
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
        close(fd);
        if (rc == 0)
            return port;
    }
    fail_msg("no free loopback port");
    return 0;
}

static void start(struct node *n)
{
    char bin[256], log[256];
    snprintf(bin, sizeof bin, "%s/sealchaind", n->build);
    snprintf(log, sizeof log, "%s/log", n->dir);
    char *argv[] = { bin, "--dev", "--data", n->dir, NULL };
    n->pid = cluster_spawn(log, argv);
    int ok = -1;
    for (int i = 0; i < 400 && (ok = status_ok(n->sock)) != 0; i++)
        sleep_ms(50);
    assert_int_equal(ok, 0);
}

static void stop(struct node *n)
{
    kill(n->pid, SIGTERM);
    waitpid(n->pid, NULL, 0);
    n->pid = 0;
}

/* A --dev node (first start writes node.ini), restarted with metrics_listen. */
static int setup(void **state)
{
    struct node *n = calloc(1, sizeof *n);
    const char *b = getenv("BUILD");
    snprintf(n->build, sizeof n->build, "%s", b && *b ? b : "build");
    snprintf(n->dir, sizeof n->dir, "/tmp/sealchain-metrics-XXXXXX");
    if (mkdtemp(n->dir) == NULL)
        return -1;
    snprintf(n->sock, sizeof n->sock, "%s/node.sock", n->dir);
    start(n);
    stop(n);
    n->port = free_port();
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "sed -i 's/^\\[node\\]$/[node]\\nmetrics_listen = 127.0.0.1:%u/' '%s/node.ini'",
             n->port, n->dir);
    if (system(cmd) != 0)
        return -1;
    start(n);
    *state = n;
    return 0;
}

static int teardown(void **state)
{
    struct node *n = *state;
    if (n->pid > 0) {
        kill(n->pid, SIGKILL);
        waitpid(n->pid, NULL, 0);
    }
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", n->dir);
    if (system(cmd) != 0)
        return -1;
    free(n);
    return 0;
}

/* Sends raw bytes to the metrics port and reads until the server closes.
 * Returns the response (malloc'd). */
static char *http_raw(const struct node *n, const char *req, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(n->port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = { 15, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, req + off, len - off);
        if (w <= 0)
            break; /* the server may answer and close before reading it all */
        off += (size_t)w;
    }
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t r;
    while ((r = read(fd, buf + got, cap - 1 - got)) > 0) {
        got += (size_t)r;
        if (got == cap - 1) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    assert_true(r == 0 || got > 0); /* closed by the server, not timed out */
    buf[got] = '\0';
    close(fd);
    return buf;
}

static char *http_get(const struct node *n, const char *path)
{
    char req[256];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    return http_raw(n, req, (size_t)len);
}

/* The body of a 200 response, checked: status line, content type, length. */
static const char *body_of(const char *resp)
{
    assert_true(strncmp(resp, "HTTP/1.0 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(resp, "\r\nContent-Type: text/plain; version=0.0.4"));
    const char *cl = strstr(resp, "\r\nContent-Length: ");
    const char *body = strstr(resp, "\r\n\r\n");
    assert_non_null(cl);
    assert_non_null(body);
    body += 4;
    assert_int_equal(strtoul(cl + 18, NULL, 10), strlen(body));
    return body;
}

static char *api_metrics(const struct node *n)
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__MetricsRequest m = SEALCHAIN__METRICS_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_METRICS;
    req.metrics = &m;
    Sealchain__ApiReply *r;
    assert_int_equal(call(n->sock, &req, &r), 0);
    assert_int_equal(r->rep_case, SEALCHAIN__API_REPLY__REP_METRICS);
    char *text = strdup(r->metrics->text);
    sealchain__api_reply__free_unpacked(r, NULL);
    return text;
}

/* The value of the sample line that starts with "series " (-1 when absent). */
static double value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

static void submit_seal(const struct node *n)
{
    char path[256], err[512];
    struct ledger_genesis g;
    snprintf(path, sizeof path, "%s/genesis.ini", n->dir);
    assert_int_equal(ledger_genesis_load(path, &g, err, sizeof err), 0);
    struct node_key admin;
    snprintf(path, sizeof path, "%s/admin.key", n->dir);
    assert_int_equal(node_keyfile_read(path, &admin, err, sizeof err), 0);
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    struct ledger_txb_seal p = { .org_id = g.validators[0].org_id,
                                 .type = SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OTHER,
                                 .name = "metrics seal",
                                 .seal_key = pk };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint8_t *tx;
    size_t len;
    assert_int_equal(
        ledger_txb_seal_register(&g, admin.sk, (uint64_t)ts.tv_sec * 1000 + 3600000, &p, &tx, &len),
        0);
    node_key_close(&admin);
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SubmitRequest s = SEALCHAIN__SUBMIT_REQUEST__INIT;
    s.tx.data = tx;
    s.tx.len = len;
    s.wait = true;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
    req.submit = &s;
    Sealchain__ApiReply *r;
    assert_int_equal(call(n->sock, &req, &r), 0);
    assert_int_equal(r->rep_case, SEALCHAIN__API_REPLY__REP_SUBMIT);
    assert_string_equal(r->submit->status, "committed");
    sealchain__api_reply__free_unpacked(r, NULL);
    free(tx);
}

#define SEALS "sealchain_transactions_committed_total{type=\"seal_register\"}"

static void metrics_over_http_and_the_api_move_after_a_commit(void **state)
{
    struct node *n = *state;
    char *before = http_get(n, "/metrics");
    const char *b = body_of(before);
    char *api = api_metrics(n);
    /* Both carry every family from the first scrape. */
    const char *families[] = { "sealchain_height",
                               SEALS,
                               "sealchain_submit_commit_latency_seconds_count",
                               "sealchain_block_execution_seconds_count",
                               "sealchain_seconds_since_last_commit",
                               "sealchain_syncing" };
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        assert_true(value(b, families[i]) >= 0);
        assert_true(value(api, families[i]) >= 0);
    }
    double h0 = value(b, "sealchain_height");
    assert_true(value(b, SEALS) == 0);
    assert_true(value(b, "sealchain_submit_commit_latency_seconds_count") == 0);
    assert_true(value(api, "sealchain_height") == h0);

    submit_seal(n);

    char *after = http_get(n, "/metrics?x=1"); /* a query string is ignored */
    const char *a = body_of(after);
    assert_true(value(a, "sealchain_height") == h0 + 1);
    assert_true(value(a, SEALS) == 1);
    assert_true(value(a, "sealchain_submit_commit_latency_seconds_count") == 1);
    assert_true(value(a, "sealchain_submit_commit_latency_seconds_bucket{le=\"+Inf\"}") == 1);
    assert_true(value(a, "sealchain_block_execution_seconds_count") >= 1);
    /* The block's durable commit was timed, after the ones before it. */
    assert_true(value(a, "sealchain_store_sync_seconds_count{what=\"block\"}") >
                value(b, "sealchain_store_sync_seconds_count{what=\"block\"}"));
    assert_true(value(b, "sealchain_store_sync_seconds_count{what=\"block\"}") >= 0);
    assert_true(value(a, "sealchain_store_sync_seconds_count{what=\"consensus\"}") >= 0);
    assert_true(value(a, "sealchain_seconds_since_last_commit") < 30);
    free(api);
    api = api_metrics(n);
    assert_true(value(api, "sealchain_height") == h0 + 1);
    assert_true(value(api, SEALS) == 1);

    /* sealctl metrics prints the same text. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s/sealctl' --node '%s' metrics", n->build, n->sock);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[16384];
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_true(strncmp(out, "# HELP sealchain_height ", 24) == 0);
    assert_true(value(out, SEALS) == 1);
    free(api);
    free(before);
    free(after);
}

static void the_endpoint_answers_only_get_metrics_and_bounds_requests(void **state)
{
    struct node *n = *state;
    char *r = http_get(n, "/other");
    assert_true(strncmp(r, "HTTP/1.0 404 ", 13) == 0);
    free(r);
    const char post[] = "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n";
    r = http_raw(n, post, sizeof post - 1);
    assert_true(strncmp(r, "HTTP/1.0 405 ", 13) == 0);
    assert_non_null(strstr(r, "\r\nAllow: GET\r\n"));
    free(r);
    const char junk[] = "\x01\x02garbage\r\n\r\n";
    r = http_raw(n, junk, sizeof junk - 1);
    assert_true(strncmp(r, "HTTP/1.0 400 ", 13) == 0);
    free(r);
    /* A head longer than the bound: refused, the connection closed. */
    size_t big = 20000;
    char *huge = malloc(big);
    assert_non_null(huge);
    memcpy(huge, "GET /metrics HTTP/1.0\r\nX: ", 26);
    memset(huge + 26, 'a', big - 26);
    r = http_raw(n, huge, big);
    assert_true(strncmp(r, "HTTP/1.0 431 ", 13) == 0);
    free(r);
    free(huge);
    /* A client that connects and says nothing does not hold up others. */
    int idle = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(n->port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(idle, (struct sockaddr *)&sa, sizeof sa), 0);
    r = http_get(n, "/metrics");
    body_of(r);
    free(r);
    close(idle);
    assert_int_equal(status_ok(n->sock), 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN); /* a server that answers before reading all is fine */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(metrics_over_http_and_the_api_move_after_a_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_endpoint_answers_only_get_metrics_and_bounds_requests,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
