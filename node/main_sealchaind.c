/* sealchaind: one agency's validator node. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "node/config.h"
#include "node/daemon.h"
#include "node/keyfile.h"
#include "node/log.h"

/* Exit codes: 0 stopped by a signal, 1 fatal at run time (logged), 2 a bad
 * command line, config, genesis or key file (one line on stderr). */
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

static void usage(FILE *f)
{
    fprintf(f, "usage: sealchaind --config FILE\n"
               "       sealchaind --dev [--data DIR]\n"
               "\n"
               "  --config FILE  run the validator that FILE describes (configs/node.ini.sample)\n"
               "  --dev          run a one-validator development chain that commits alone;\n"
               "                 keys, genesis, data and socket live under DIR\n"
               "                 (default ./sealchain-dev) and are made on first start\n"
               "  --help         this text\n");
}

static void to_p2p_addr(const struct node_addr *a, struct node_p2p_addr *out)
{
    snprintf(out->host, sizeof out->host, "%s", a->host);
    out->port = a->host[0] ? a->port : 0;
}

/* The validator whose node key is pk, or -1. */
static int self_index(const struct ledger_genesis *g, const uint8_t pk[LEDGER_KEY_LEN])
{
    for (uint32_t i = 0; i < g->n; i++)
        if (memcmp(g->validators[i].node_key, pk, LEDGER_KEY_LEN) == 0)
            return (int)i;
    return -1;
}

static int run_config(const char *path, const char *dev_note)
{
    char errmsg[1024];
    struct node_config *c = malloc(sizeof *c);
    struct ledger_genesis *g = malloc(sizeof *g);
    struct node_daemon_opts *o = calloc(1, sizeof *o);
    struct node_key key = { 0 };
    int rc = EXIT_USAGE;
    if (c == NULL || g == NULL || o == NULL) {
        fprintf(stderr, "sealchaind: out of memory\n");
        goto out;
    }
    if (node_config_load(path, c, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "sealchaind: %s\n", errmsg);
        goto out;
    }
    if (ledger_genesis_load(c->genesis, g, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "sealchaind: %s: %s\n", c->genesis, errmsg);
        goto out;
    }
    if (node_keyfile_read(c->key_file, &key, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "sealchaind: %s\n", errmsg);
        goto out;
    }
    int self = self_index(g, key.pk);
    if (self < 0) {
        char pk[2 * LEDGER_KEY_LEN + 1];
        ledger_hex(key.pk, LEDGER_KEY_LEN, pk);
        fprintf(stderr, "sealchaind: %s: node key %s is not a validator of chain %s (%s)\n",
                c->key_file, pk, g->chain_id, c->genesis);
        goto out;
    }
    node_log_set_level((enum node_log_level)c->log_level);
    o->data_dir = c->data_dir;
    o->api_path = c->api_socket;
    o->g = g;
    o->self = (unsigned)self;
    o->node_sk = key.sk;
    to_p2p_addr(&c->listen, &o->listen);
    to_p2p_addr(&c->metrics_listen, &o->metrics_listen);
    for (unsigned i = 0; i < LEDGER_MAX_VALIDATORS; i++)
        if (i != (unsigned)self)
            to_p2p_addr(&c->peers[i], &o->peers[i]);
    o->clock_skew_ms = c->clock_skew_ms;
    o->progress_timeout_ms = c->progress_timeout_ms;
    o->view_change_timeout_ms = c->view_change_timeout_ms;
    o->view_change_max_ms = c->view_change_max_ms;
    o->request_timeout_ms = c->request_timeout_ms;
    o->block_txs = (size_t)c->block_max_txs;
    o->block_wait_ms = c->block_max_wait_ms;
    o->mempool_max_txs = (size_t)c->mempool_max_txs;
    o->mempool_max_bytes = (size_t)c->mempool_max_bytes;
    if (dev_note != NULL) {
        printf("%s", dev_note);
        fflush(stdout);
    }
    rc = node_daemon_run(o) == 0 ? 0 : EXIT_RUNTIME;
out:
    node_key_close(&key);
    free(o);
    free(g);
    free(c);
    return rc;
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* dir/name into out; -1 when it does not fit. */
static int path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int write_key(const char *path, struct node_key *k, char *errmsg, size_t errmsg_len)
{
    if (node_key_generate(k) != 0) {
        snprintf(errmsg, errmsg_len, "key generation failed");
        return -1;
    }
    return node_keyfile_write(path, k, errmsg, errmsg_len) == 0 ? 0 : -1;
}

/* A loopback port free now, for the dev node's (unused) peer listener. */
static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    unsigned port = 26699;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* First start of --dev: a key pair for the node and for its filing
 * authority, a one-validator genesis and a node.ini, all under dir. */
static int dev_init(const char *dir, char *errmsg, size_t errmsg_len)
{
    char path[PATH_MAX];
    struct node_key node = { 0 }, admin = { 0 };
    struct ledger_genesis *g = calloc(1, sizeof *g);
    int rc = -1;
    if (g == NULL)
        goto out;
    if (path_join(path, sizeof path, dir, "node.key") != 0 ||
        write_key(path, &node, errmsg, errmsg_len) != 0)
        goto out;
    if (path_join(path, sizeof path, dir, "admin.key") != 0 ||
        write_key(path, &admin, errmsg, errmsg_len) != 0)
        goto out;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(g->chain_id, sizeof g->chain_id, "sealchain-dev");
    g->time_ms = (uint64_t)ts.tv_sec * 1000 - 1000;
    g->n = 1;
    memcpy(g->validators[0].node_key, node.pk, LEDGER_KEY_LEN);
    memcpy(g->validators[0].admin_key, admin.pk, LEDGER_KEY_LEN);
    snprintf(g->validators[0].org_id, sizeof g->validators[0].org_id, "agency0");
    snprintf(g->validators[0].org_name, sizeof g->validators[0].org_name,
             "Development filing authority");
    if (path_join(path, sizeof path, dir, "genesis.ini") != 0 ||
        ledger_genesis_finish(g, errmsg, errmsg_len) != 0 ||
        ledger_genesis_write(path, g, errmsg, errmsg_len) != 0)
        goto out;
    if (path_join(path, sizeof path, dir, "node.ini") != 0)
        goto out;
    FILE *f = fopen(path, "wx");
    if (f == NULL) {
        snprintf(errmsg, errmsg_len, "%.900s: %s", path, strerror(errno));
        goto out;
    }
    fprintf(f,
            "; sealchaind --dev: a one-validator development chain.\n"
            "[node]\n"
            "data_dir = data\n"
            "key_file = node.key\n"
            "genesis = genesis.ini\n"
            "listen = 127.0.0.1:%u\n"
            "api_socket = node.sock\n"
            "log_level = info\n",
            free_port());
    rc = fclose(f) == 0 ? 0 : -1;
out:
    node_key_close(&node);
    node_key_close(&admin);
    free(g);
    return rc;
}

static int run_dev(const char *dir)
{
    char errmsg[1024], cfg[PATH_MAX], abs_dir[PATH_MAX];
    if (mkdir_p(dir) != 0 || realpath(dir, abs_dir) == NULL) {
        fprintf(stderr, "sealchaind: --data %s: %s\n", dir, strerror(errno));
        return EXIT_USAGE;
    }
    if (path_join(cfg, sizeof cfg, abs_dir, "node.ini") != 0 || strlen(abs_dir) > 900) {
        fprintf(stderr, "sealchaind: --data %s: path too long\n", dir);
        return EXIT_USAGE;
    }
    struct stat st;
    if (stat(cfg, &st) != 0 && dev_init(abs_dir, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "sealchaind: --dev: %s\n", errmsg);
        return EXIT_USAGE;
    }
    char note[6 * PATH_MAX];
    snprintf(note, sizeof note,
             "sealchaind --dev: a one-validator chain in %s\n"
             "  socket:    %s/node.sock\n"
             "  admin key: %s/admin.key (the filing authority agency0)\n"
             "  try:       build/sealctl --node %s/node.sock status\n",
             abs_dir, abs_dir, abs_dir, abs_dir);
    return run_config(cfg, note);
}

/* glibc gives each thread that allocates its own arena (up to 8 per core),
 * and memory freed into one is not reused by another: with libuv's pool
 * threads beside the loop, make bench's nodes peaked at 62-70 MB of
 * anonymous memory; with two arenas, 46-48 MB. Before any thread starts. */
static void bound_malloc_arenas(void)
{
#ifdef M_ARENA_MAX
    (void)mallopt(M_ARENA_MAX, 2);
#endif
}

int main(int argc, char **argv)
{
    bound_malloc_arenas();
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "dev", no_argument, NULL, 'd' },
        { "data", required_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL, *data = NULL;
    int dev = 0, ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 'd':
            dev = 1;
            break;
        case 'D':
            data = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || (config != NULL) == (dev != 0) || (data != NULL && !dev)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (sodium_init() < 0 || ledger_crypto_init() != 0) {
        fprintf(stderr, "sealchaind: libsodium failed to initialise\n");
        return EXIT_RUNTIME;
    }
    return dev ? run_dev(data ? data : "./sealchain-dev") : run_config(config, NULL);
}
