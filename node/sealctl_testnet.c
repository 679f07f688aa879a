/* sealctl testnet: a local consortium on loopback (genesis, per-node config, node and admin keys).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger/genesis.h"
#include "node/config.h"
#include "node/keyfile.h"
#include "node/sealctl.h"

#define DEFAULT_BASE_PORT 26600
#define DEFAULT_CHAIN_ID  "sealchain-testnet"
/* "/node63/node.sock" after the directory. */
#define SOCKET_SUFFIX_MAX 17

struct testnet {
    unsigned long n, base_port;
    const char *chain_id;
    const char *names;       /* --names: comma-separated, one per node; NULL = "Agency <i>" */
    char dir[NODE_PATH_MAX]; /* absolute */
    struct ledger_genesis g;
};

/* DIR: created, or an existing empty directory (testnet never overwrites). */
static int prepare_dir(const struct sealctl *s, const char *dir, char out[static NODE_PATH_MAX])
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return sealctl_fail(s, errno == ENOENT ? SEALCTL_EXIT_USAGE : SEALCTL_EXIT_UNREACHABLE,
                            "%s: %s", dir, strerror(errno));
    char *abs = realpath(dir, NULL);
    if (abs == NULL)
        return sealctl_fail(s, SEALCTL_EXIT_USAGE, "%s: %s", dir, strerror(errno));
    int rc = 0;
    struct stat st;
    char probe[NODE_PATH_MAX + 16];
    if (strlen(abs) + SOCKET_SUFFIX_MAX >= NODE_SOCKET_PATH_MAX)
        rc = sealctl_fail(s, SEALCTL_EXIT_USAGE,
                          "%s: path too long: the API sockets under it would pass the %d-byte "
                          "limit of Unix socket paths",
                          abs, NODE_SOCKET_PATH_MAX - 1);
    else if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = sealctl_fail(s, SEALCTL_EXIT_USAGE, "%s is not a directory", abs);
    else if (snprintf(probe, sizeof(probe), "%s/genesis.ini", abs) > 0 && access(probe, F_OK) == 0)
        rc = sealctl_fail(s, SEALCTL_EXIT_USAGE, "%s exists: testnet never overwrites", probe);
    else if (snprintf(probe, sizeof(probe), "%s/node0", abs) > 0 && access(probe, F_OK) == 0)
        rc = sealctl_fail(s, SEALCTL_EXIT_USAGE, "%s exists: testnet never overwrites", probe);
    else
        snprintf(out, NODE_PATH_MAX, "%s", abs);
    free(abs);
    return rc;
}

/* DIR/node<i>/ with its node key and admin key; fills validator i. */
static int make_node(const struct sealctl *s, struct testnet *t, unsigned i)
{
    char path[NODE_PATH_MAX + 32], err[NODE_PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/node%u", t->dir, i);
    if (mkdir(path, 0750) != 0) /* keys inside are 0600; the group may reach the socket */
        return sealctl_fail(s, errno == EEXIST ? SEALCTL_EXIT_USAGE : SEALCTL_EXIT_UNREACHABLE,
                            "%s: %s", path, strerror(errno));
    struct ledger_validator *v = &t->g.validators[i];
    snprintf(v->org_id, sizeof(v->org_id), "agency%u", i);
    if (t->names == NULL)
        snprintf(v->org_name, sizeof(v->org_name), "Agency %u", i);
    static const char *const files[2] = { "node.key", "admin.key" };
    for (int f = 0; f < 2; f++) {
        struct node_key k = { .sk = NULL };
        int rc = node_key_generate(&k);
        snprintf(path, sizeof(path), "%s/node%u/%s", t->dir, i, files[f]);
        if (rc == 0)
            rc = node_keyfile_write(path, &k, err, sizeof(err));
        else
            snprintf(err, sizeof(err), "%s", node_strerror(rc));
        memcpy(f == 0 ? v->node_key : v->admin_key, k.pk, LEDGER_KEY_LEN);
        node_key_close(&k);
        if (rc != 0)
            return sealctl_fail(s, sealctl_exit_for_config_err(rc), "%s", err);
    }
    return 0;
}

static void write_config_text(FILE *f, const struct testnet *t, unsigned i)
{
    fprintf(f,
            "; sealchaind config of validator %u (org agency%u) of the local testnet '%s',\n"
            "; written by sealctl testnet. Relative paths are from this directory;\n"
            "; see configs/node.ini.sample for every key and its default.\n"
            "[node]\n"
            "data_dir = data\n"
            "key_file = node.key\n"
            "genesis = ../genesis.ini\n"
            "listen = 127.0.0.1:%lu\n"
            "api_socket = node.sock\n"
            "log_level = info\n"
            "\n[peers]\n",
            i, i, t->chain_id, t->base_port + i);
    for (unsigned j = 0; j < t->n; j++)
        if (j != i)
            fprintf(f, "%u = 127.0.0.1:%lu\n", j, t->base_port + j);
}

/* DIR/node<i>/node.ini, created exclusively, then loaded back as a check. */
static int write_config(const struct sealctl *s, const struct testnet *t, unsigned i)
{
    char path[NODE_PATH_MAX + 32], err[NODE_PATH_MAX + 256];
    snprintf(path, sizeof(path), "%s/node%u/node.ini", t->dir, i);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s: %s", path, strerror(errno));
    }
    write_config_text(f, t, i);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad)
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s: %s", path, strerror(errno));
    struct node_config *cfg = malloc(sizeof(*cfg));
    int rc = cfg == NULL ? NODE_E_NOMEM : node_config_load(path, cfg, err, sizeof(err));
    free(cfg);
    if (rc != 0)
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "internal: written config refused: %s",
                            rc == NODE_E_NOMEM ? "out of memory" : err);
    return 0;
}

static json_t *result_json(const struct testnet *t)
{
    char path[NODE_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/genesis.ini", t->dir);
    json_t *nodes = json_array(), *obj = json_pack("{s:s}", "genesis", path);
    if (nodes == NULL || obj == NULL || json_object_set(obj, "nodes", nodes) != 0)
        goto err_after_alloc;
    for (unsigned i = 0; i < t->n; i++) {
        char cfg[NODE_PATH_MAX + 32], sock[NODE_PATH_MAX + 32], admin[NODE_PATH_MAX + 32];
        snprintf(cfg, sizeof(cfg), "%s/node%u/node.ini", t->dir, i);
        snprintf(sock, sizeof(sock), "%s/node%u/node.sock", t->dir, i);
        snprintf(admin, sizeof(admin), "%s/node%u/admin.key", t->dir, i);
        if (json_array_append_new(nodes, json_pack("{s:s, s:s, s:s, s:s}", "config", cfg, "socket",
                                                   sock, "admin_key", admin, "org_id",
                                                   t->g.validators[i].org_id)) != 0)
            goto err_after_alloc;
    }
    json_decref(nodes);
    return obj;
err_after_alloc:
    json_decref(nodes);
    json_decref(obj);
    return NULL;
}

/* An aligned table: one row per node. */
static void human(json_t *obj, FILE *f)
{
    json_t *nodes = json_object_get(obj, "nodes"), *e;
    size_t i, w_org = strlen("org_id"), w_cfg = strlen("config");
    fprintf(f, "genesis  %s\n\n", json_string_value(json_object_get(obj, "genesis")));
    json_array_foreach(nodes, i, e)
    {
        size_t a = strlen(json_string_value(json_object_get(e, "org_id")));
        size_t b = strlen(json_string_value(json_object_get(e, "config")));
        w_org = a > w_org ? a : w_org;
        w_cfg = b > w_cfg ? b : w_cfg;
    }
    fprintf(f, "node  %-*s  %-*s  %s\n", (int)w_org, "org_id", (int)w_cfg, "config",
            "socket / admin_key");
    json_array_foreach(nodes, i, e)
    {
        fprintf(f, "%-4zu  %-*s  %-*s  %s\n", i, (int)w_org,
                json_string_value(json_object_get(e, "org_id")), (int)w_cfg,
                json_string_value(json_object_get(e, "config")),
                json_string_value(json_object_get(e, "socket")));
        fprintf(f, "%-4s  %-*s  %-*s  %s\n", "", (int)w_org, "", (int)w_cfg, "",
                json_string_value(json_object_get(e, "admin_key")));
    }
}

/* --names: exactly n non-empty names, each at most LEDGER_NAME_MAX bytes,
 * into the genesis validators (org ids stay agency<i>). */
static int take_names(const struct sealctl *s, struct testnet *t)
{
    const char *p = t->names;
    for (unsigned i = 0; i < t->n; i++) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len > LEDGER_NAME_MAX)
            return sealctl_usage_error(s, "--names: name %u is %s", i,
                                       len == 0 ? "empty" : "too long");
        snprintf(t->g.validators[i].org_name, sizeof t->g.validators[i].org_name, "%.*s", (int)len,
                 p);
        p += len;
        if (i + 1 < t->n && *p++ != ',')
            return sealctl_usage_error(s, "--names: %u names for %lu nodes", i + 1, t->n);
    }
    if (*p != '\0')
        return sealctl_usage_error(s, "--names: more names than the %lu nodes", t->n);
    return SEALCTL_GO;
}

static int parse_testnet_args(struct sealctl *s, int argc, char **argv, struct testnet *t,
                              const char **dir)
{
    const char *nodes = NULL, *base = NULL;
    t->chain_id = NULL;
    const struct sealctl_opt opts[] = {
        { "nodes", true, &nodes },    { "dir", true, dir },
        { "base-port", true, &base }, { "chain-id", true, &t->chain_id },
        { "names", true, &t->names }, { NULL, false, NULL },
    };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    if (nodes == NULL || *dir == NULL || **dir == '\0')
        return sealctl_usage_error(s, "--nodes N and --dir DIR are required");
    if (sealctl_uint_arg(s, "nodes", nodes, 1, LEDGER_MAX_VALIDATORS, &t->n) != 0)
        return SEALCTL_EXIT_USAGE;
    t->base_port = DEFAULT_BASE_PORT;
    if (base != NULL && sealctl_uint_arg(s, "base-port", base, 1, 65536 - t->n, &t->base_port))
        return SEALCTL_EXIT_USAGE;
    if (t->chain_id == NULL)
        t->chain_id = DEFAULT_CHAIN_ID;
    if (strlen(t->chain_id) > LEDGER_CHAIN_ID_MAX)
        return sealctl_usage_error(s, "--chain-id is longer than %d bytes", LEDGER_CHAIN_ID_MAX);
    return t->names != NULL ? take_names(s, t) : SEALCTL_GO;
}

int sealctl_cmd_testnet(struct sealctl *s, int argc, char **argv)
{
    struct testnet *t = calloc(1, sizeof(*t));
    const char *dir = NULL;
    char err[NODE_PATH_MAX + 256], path[NODE_PATH_MAX + 32];
    if (t == NULL)
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "out of memory");
    int rc = parse_testnet_args(s, argc, argv, t, &dir);
    if (rc != SEALCTL_GO)
        goto out;
    snprintf(t->g.chain_id, sizeof(t->g.chain_id), "%s", t->chain_id);
    t->g.n = (uint32_t)t->n;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    t->g.time_ms = (uint64_t)now.tv_sec * 1000; /* a whole second: reads well in RFC 3339 */
    /* the chain id is checked before anything is written */
    if (ledger_genesis_finish(&t->g, err, sizeof(err)) != 0 && strstr(err, "chain id") != NULL) {
        rc = sealctl_usage_error(s, "--chain-id: %s", err);
        goto out;
    }
    if ((rc = prepare_dir(s, dir, t->dir)) != 0)
        goto out;
    for (unsigned i = 0; i < t->n; i++)
        if ((rc = make_node(s, t, i)) != 0)
            goto out;
    snprintf(path, sizeof(path), "%s/genesis.ini", t->dir);
    if (ledger_genesis_write(path, &t->g, err, sizeof(err)) != 0) {
        rc = sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "genesis: %s", err);
        goto out;
    }
    for (unsigned i = 0; i < t->n; i++)
        if ((rc = write_config(s, t, i)) != 0)
            goto out;
    rc = sealctl_print(s, result_json(t), human);
out:
    free(t);
    return rc;
}
