/* Real sealchaind processes on 127.0.0.1 for integration tests. */
#include "tests/integration/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ledger/txbuild.h"
#include "node/client.h"
#include "node/keyfile.h"

uint64_t cluster_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cluster_sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static bool port_free(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* A range of n free loopback ports, away from the usual ephemeral range. */
static uint16_t free_ports(unsigned n)
{
    for (int tries = 0; tries < 200; tries++) {
        uint16_t base = (uint16_t)(20000 + randombytes_uniform(12000));
        bool ok = true;
        for (unsigned i = 0; i < n && ok; i++)
            ok = port_free((uint16_t)(base + i));
        if (ok)
            return base;
    }
    return 0;
}

static int run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int cluster_new(struct cluster *c, unsigned n, const char *extra)
{
    memset(c, 0, sizeof *c);
    const char *b = getenv("BUILD");
    snprintf(c->build, sizeof c->build, "%s", b && *b ? b : "build");
    snprintf(c->dir, sizeof c->dir, "/tmp/sealchain-itest-XXXXXX");
    if (n > CLUSTER_MAX || mkdtemp(c->dir) == NULL)
        return -1;
    c->n = n;
    c->base_port = free_ports(n);
    if (c->base_port == 0)
        return -1;
    char sealctl[256], nodes[16], port[16], tn[300];
    snprintf(sealctl, sizeof sealctl, "%s/sealctl", c->build);
    snprintf(nodes, sizeof nodes, "%u", n);
    snprintf(port, sizeof port, "%u", c->base_port);
    snprintf(tn, sizeof tn, "%s/net", c->dir);
    char *argv[] = { sealctl, "testnet", "--nodes", nodes, "--dir", tn, "--base-port", port, NULL };
    if (run(argv) != 0)
        return -1;
    snprintf(c->dir + strlen(c->dir), sizeof c->dir - strlen(c->dir), "/net");
    char path[400], err[512];
    snprintf(path, sizeof path, "%s/genesis.ini", c->dir);
    if (ledger_genesis_load(path, &c->g, err, sizeof err) != 0)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        struct node_key k;
        snprintf(path, sizeof path, "%s/node%u/admin.key", c->dir, i);
        if (node_keyfile_read(path, &k, err, sizeof err) != 0)
            return -1;
        c->admin_sk[i] = k.sk; /* sodium_malloc'd; freed in cluster_free */
        if (extra != NULL) {
            snprintf(path, sizeof path, "%s/node%u/node.ini", c->dir, i);
            FILE *f = fopen(path, "a");
            if (f == NULL)
                return -1;
            fprintf(f, "\n%s", extra);
            fclose(f);
        }
    }
    return 0;
}

void cluster_free(struct cluster *c, bool keep)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (c->pid[i] > 0)
            cluster_signal(c, i, SIGKILL, NULL);
        if (c->admin_sk[i] != NULL)
            sodium_free(c->admin_sk[i]);
        c->admin_sk[i] = NULL;
    }
    if (!keep && c->dir[0] == '/') {
        char cmd[400];
        /* dir is DIR/net: remove DIR */
        snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strlen(c->dir) - 4), c->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cluster: could not remove %s\n", c->dir);
    } else if (keep) {
        fprintf(stderr, "cluster: kept %s\n", c->dir);
    }
}

pid_t cluster_spawn(const char *log, char *const argv[])
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Dies with the test, whatever happens to it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int cluster_start(struct cluster *c, unsigned i)
{
    if (i >= c->n || c->pid[i] > 0)
        return -1;
    char bin[256], cfg[400], log[400];
    snprintf(bin, sizeof bin, "%s/sealchaind", c->build);
    snprintf(cfg, sizeof cfg, "%s/node%u/node.ini", c->dir, i);
    snprintf(log, sizeof log, "%s/node%u/log", c->dir, i);
    char *argv[] = { bin, "--config", cfg, NULL };
    pid_t pid = cluster_spawn(log, argv);
    if (pid < 0)
        return -1;
    c->pid[i] = pid;
    return 0;
}

int cluster_signal(struct cluster *c, unsigned i, int sig, int *out_status)
{
    if (i >= c->n || c->pid[i] <= 0)
        return -1;
    if (kill(c->pid[i], sig) != 0)
        return -1;
    if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT) {
        int st = 0;
        if (waitpid(c->pid[i], &st, 0) < 0)
            return -1;
        c->pid[i] = 0;
        if (out_status != NULL)
            *out_status = st;
    }
    return 0;
}

int cluster_call(struct cluster *c, unsigned i, Sealchain__ApiRequest *req, int timeout_ms,
                 Sealchain__ApiReply **out)
{
    char path[400], err[512];
    snprintf(path, sizeof path, "%s/node%u/node.sock", c->dir, i);
    struct node_client *cl;
    if (node_client_open(path, &cl, err, sizeof err) != 0)
        return -1;
    int rc = node_client_call(cl, req, timeout_ms, out, err, sizeof err);
    node_client_close(cl);
    return rc;
}

int cluster_status(struct cluster *c, unsigned i, Sealchain__StatusReply **out,
                   Sealchain__ApiReply **owner)
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__StatusRequest s = SEALCHAIN__STATUS_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_STATUS;
    req.status = &s;
    if (cluster_call(c, i, &req, 5000, owner) != 0)
        return -1;
    if ((*owner)->rep_case != SEALCHAIN__API_REPLY__REP_STATUS) {
        sealchain__api_reply__free_unpacked(*owner, NULL);
        return -1;
    }
    *out = (*owner)->status;
    return 0;
}

uint64_t cluster_height(struct cluster *c, unsigned i)
{
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    if (cluster_status(c, i, &s, &r) != 0)
        return UINT64_MAX;
    uint64_t h = s->height;
    sealchain__api_reply__free_unpacked(r, NULL);
    return h;
}

int cluster_wait_up(struct cluster *c, unsigned i, int timeout_ms)
{
    uint64_t end = cluster_ms() + (uint64_t)timeout_ms;
    while (cluster_ms() < end) {
        if (cluster_height(c, i) != UINT64_MAX)
            return 0;
        cluster_sleep_ms(50);
    }
    return -1;
}

int cluster_wait_height(struct cluster *c, uint32_t mask, uint64_t h, int timeout_ms)
{
    uint64_t end = cluster_ms() + (uint64_t)timeout_ms;
    while (cluster_ms() < end) {
        bool all = true;
        for (unsigned i = 0; i < c->n && all; i++) {
            if (!(mask & (1u << i)))
                continue;
            uint64_t got = cluster_height(c, i);
            all = got != UINT64_MAX && got >= h;
        }
        if (all)
            return 0;
        cluster_sleep_ms(50);
    }
    return -1;
}

int cluster_block_hash(struct cluster *c, unsigned i, uint64_t h, uint8_t out[32])
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__BlockRequest b = SEALCHAIN__BLOCK_REQUEST__INIT;
    b.height = h;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_BLOCK;
    req.block = &b;
    Sealchain__ApiReply *r;
    if (cluster_call(c, i, &req, 5000, &r) != 0)
        return -1;
    int rc = -1;
    if (r->rep_case == SEALCHAIN__API_REPLY__REP_BLOCK && r->block->hash.len == 32 &&
        r->block->height == h) {
        memcpy(out, r->block->hash.data, 32);
        rc = 0;
    }
    sealchain__api_reply__free_unpacked(r, NULL);
    return rc;
}

int cluster_tx(struct cluster *c, unsigned org, uint8_t **out, size_t *out_len)
{
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    char name[64];
    snprintf(name, sizeof name, "test seal %02x%02x%02x%02x", pk[0], pk[1], pk[2], pk[3]);
    struct ledger_txb_seal p = {
        .org_id = c->g.validators[org].org_id,
        .type = SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OTHER,
        .name = name,
        .seal_key = pk,
    };
    int rc = ledger_txb_seal_register(&c->g, c->admin_sk[org], wall_ms() + 3600 * 1000, &p, out,
                                      out_len);
    sodium_memzero(sk, sizeof sk);
    return rc == 0 ? 0 : -1;
}

int cluster_submit(struct cluster *c, unsigned i, const uint8_t *tx, size_t len, bool wait,
                   char out_status[16], uint64_t *out_height)
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SubmitRequest s = SEALCHAIN__SUBMIT_REQUEST__INIT;
    s.tx.data = (uint8_t *)tx;
    s.tx.len = len;
    s.wait = wait;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
    req.submit = &s;
    Sealchain__ApiReply *r;
    /* A node that is still catching up (after a restart) says so and admits
     * nothing: ask again, as an operator would, for a while. */
    uint64_t until = cluster_ms() + 20000;
    for (;;) {
        if (cluster_call(c, i, &req, 35000, &r) != 0)
            return -1;
        if (r->rep_case == SEALCHAIN__API_REPLY__REP_SUBMIT ||
            r->outcome != SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE || cluster_ms() > until)
            break;
        sealchain__api_reply__free_unpacked(r, NULL);
        cluster_sleep_ms(200);
    }
    int rc = -1;
    if (r->rep_case == SEALCHAIN__API_REPLY__REP_SUBMIT) {
        snprintf(out_status, 16, "%s", r->submit->status);
        if (out_height != NULL)
            *out_height = r->submit->height;
        rc = 0;
    } else {
        snprintf(out_status, 16, "error");
    }
    sealchain__api_reply__free_unpacked(r, NULL);
    return rc;
}

bool cluster_log_has(struct cluster *c, unsigned i, const char *needle)
{
    char path[400];
    snprintf(path, sizeof path, "%s/node%u/log", c->dir, i);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

int cluster_start_all(struct cluster *c, int timeout_ms)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->pid[i] <= 0 && cluster_start(c, i) != 0)
            return -1;
    for (unsigned i = 0; i < c->n; i++)
        if (cluster_wait_up(c, i, timeout_ms) != 0)
            return -1;
    return 0;
}

uint64_t cluster_settle(struct cluster *c, uint32_t mask, int timeout_ms)
{
    uint64_t end = cluster_ms() + (uint64_t)timeout_ms;
    while (cluster_ms() < end) {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (unsigned i = 0; i < c->n; i++)
            if (mask & (1u << i)) {
                uint64_t h = cluster_height(c, i);
                lo = h < lo ? h : lo;
                hi = h > hi ? h : hi;
            }
        if (lo == hi && lo != UINT64_MAX) {
            cluster_sleep_ms(500);
            bool same = true;
            for (unsigned i = 0; i < c->n; i++)
                if ((mask & (1u << i)) && cluster_height(c, i) != lo)
                    same = false;
            if (same)
                return lo;
        }
        cluster_sleep_ms(100);
    }
    return UINT64_MAX;
}

int cluster_primary(struct cluster *c, unsigned ask)
{
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    if (cluster_status(c, ask, &s, &r) != 0)
        return -1;
    int p = (int)s->primary;
    sealchain__api_reply__free_unpacked(r, NULL);
    return p;
}

bool cluster_has_tx(struct cluster *c, unsigned i, const uint8_t id[32])
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__TxRequest t = SEALCHAIN__TX_REQUEST__INIT;
    t.hash.data = (uint8_t *)id;
    t.hash.len = 32;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_TX;
    req.tx = &t;
    Sealchain__ApiReply *r;
    if (cluster_call(c, i, &req, 10000, &r) != 0)
        return false;
    bool found = r->rep_case == SEALCHAIN__API_REPLY__REP_TX;
    sealchain__api_reply__free_unpacked(r, NULL);
    return found;
}
