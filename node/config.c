/* The node configuration file: strict INI parsing, defaults, address checks, path resolution. */
#include "ledger/err.h"
#include "node/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "consensus/pbft.h"
#include "ledger/exec.h"

_Static_assert(NODE_SOCKET_PATH_MAX == sizeof(((struct sockaddr_un *)0)->sun_path),
               "NODE_SOCKET_PATH_MAX must be the size of sun_path");

/* inih reads lines into a fixed INI_MAX_LINE (200) buffer and silently
 * splits longer ones; they are refused first so a split is never parsed. */
#define CONFIG_LINE_MAX 196

void node_config_defaults(struct node_config *out)
{
    memset(out, 0, sizeof(*out));
    out->log_level = NODE_LOG_INFO;
    /* A block of 1,000 seal transactions executes in ~0.2 s on each backup
     * (two Ed25519 checks per use, bench-ledger) and needs three message
     * delays between agencies: 2 s leaves a wide margin on a WAN while a
     * dead primary is still replaced within seconds. Back-off doubles it
     * after each view change without a commit. */
    out->progress_timeout_ms = 2000;
    /* Twice the progress timeout: a primary is replaced for censoring a
     * request only when it let at least one whole block go by without it. */
    out->request_timeout_ms = 4000;
    /* Time to collect a NEW-VIEW once q VIEW-CHANGEs are held, doubling per
     * failed view up to 30 s so a long partition does not storm (the core's
     * own defaults). */
    out->view_change_timeout_ms = 2000;
    out->view_change_max_ms = 30000;
    /* NTP keeps servers within milliseconds; 10 s tolerates a badly synced
     * agency, and is nothing beside validity windows measured in days. */
    out->clock_skew_ms = 10000;
    /* The benchmark's block: commits in ~60 ms, executes well inside the
     * progress timeout. */
    out->block_max_txs = 1000;
    /* The core's default payload cap: 1,000 typical transactions (~400
     * bytes each) fit with room to spare. */
    out->block_max_bytes = 1u << 20;
    /* Holding less than a full block, the primary proposes once its oldest
     * pending transaction is this old (node_driver_config.batch_wait_ms);
     * 0: at once, the lowest latency. */
    out->block_max_wait_ms = 0;
    /* Ten full blocks of backlog, ~3 s of the 4-node bench's saturation
     * rate. Memory grows with it twice: the pool holds the transactions
     * (~450 bytes each) and the mempool's view their writes (~600 bytes
     * each, until its next rebuild): 20,000 put a node at 60-64 MB. */
    out->mempool_max_txs = 10000;
    /* 10,000 typical transactions are ~4 MiB; 32 MiB bounds memory when a
     * flood sends only maximum-size (4 KiB) ones. */
    out->mempool_max_bytes = 32u << 20;
}

const char *node_log_level_name(enum node_log_level level)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    return (unsigned)level < 4 ? names[level] : "?";
}

/* ---- addresses ----------------------------------------------------------- */

static int parse_port(const char *s, uint16_t *out)
{
    if (*s < '1' || *s > '9' || strlen(s) > 5)
        return -1;
    unsigned v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

int node_addr_parse(const char *s, struct node_addr *out, const char **why)
{
    char host[NODE_HOST_MAX + 2];
    const char *colon, *reason = NULL;
    struct node_addr a = { .port = 0 };
    bool v6 = s[0] == '[';
    if (v6) {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            reason = "IPv6 address must be written [addr]:port";
        colon = close != NULL ? close + 1 : NULL;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            reason = "missing ':port'";
    }
    size_t hlen = colon != NULL ? (size_t)(colon - s) - (v6 ? 2 : 0) : 0;
    if (reason == NULL && (hlen == 0 || hlen >= NODE_HOST_MAX))
        reason = hlen == 0 ? "empty host" : "host too long";
    if (reason == NULL) {
        memcpy(host, s + (v6 ? 1 : 0), hlen);
        host[hlen] = '\0';
        unsigned char bin[16];
        if (v6 ? inet_pton(AF_INET6, host, bin) != 1
               : strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, bin) != 1)
            reason = v6 || strchr(host, ':') != NULL
                         ? "not an IPv6 literal (write IPv6 as [addr]:port)"
                         : "host must be an IPv4 or IPv6 literal or 'localhost'";
    }
    if (reason == NULL && parse_port(colon + 1, &a.port) != 0)
        reason = "port must be a decimal number in 1..65535";
    if (reason != NULL) {
        if (why != NULL)
            *why = reason;
        return NODE_E_MALFORMED;
    }
    memcpy(a.host, host, hlen + 1);
    *out = a;
    return 0;
}

void node_addr_format(const struct node_addr *a, char out[static NODE_ADDR_STR_MAX])
{
    if (a->host[0] == '\0')
        out[0] = '\0';
    else if (strchr(a->host, ':') != NULL)
        snprintf(out, NODE_ADDR_STR_MAX, "[%s]:%u", a->host, (unsigned)a->port);
    else
        snprintf(out, NODE_ADDR_STR_MAX, "%s:%u", a->host, (unsigned)a->port);
}

/* ---- the key table ------------------------------------------------------- */

enum section { S_NODE, S_PEERS, S_CONSENSUS, S_BLOCK, S_MEMPOOL, S__COUNT };
static const char *const section_names[S__COUNT] = { "node", "peers", "consensus", "block",
                                                     "mempool" };

enum kind { K_PATH, K_SOCKET, K_ADDR, K_OPT_ADDR, K_LOG, K_U64 };

struct key_spec {
    enum section section;
    const char *name;
    enum kind kind;
    size_t offset;
    bool required;
    uint64_t min, max; /* K_U64 */
};

#define FIELD(f) offsetof(struct node_config, f)
/* Ranges: wide enough for any real deployment, narrow enough that a typo
 * (a timeout in seconds, a size in KiB) is caught. */
static const struct key_spec keys[] = {
    { S_NODE, "data_dir", K_PATH, FIELD(data_dir), true, 0, 0 },
    { S_NODE, "key_file", K_PATH, FIELD(key_file), true, 0, 0 },
    { S_NODE, "genesis", K_PATH, FIELD(genesis), true, 0, 0 },
    { S_NODE, "listen", K_ADDR, FIELD(listen), true, 0, 0 },
    { S_NODE, "api_socket", K_SOCKET, FIELD(api_socket), true, 0, 0 },
    { S_NODE, "log_level", K_LOG, FIELD(log_level), false, 0, 0 },
    { S_NODE, "metrics_listen", K_OPT_ADDR, FIELD(metrics_listen), false, 0, 0 },
    { S_CONSENSUS, "progress_timeout_ms", K_U64, FIELD(progress_timeout_ms), false, 100, 600000 },
    { S_CONSENSUS, "request_timeout_ms", K_U64, FIELD(request_timeout_ms), false, 100, 600000 },
    { S_CONSENSUS, "view_change_timeout_ms", K_U64, FIELD(view_change_timeout_ms), false, 100,
      600000 },
    { S_CONSENSUS, "view_change_max_ms", K_U64, FIELD(view_change_max_ms), false, 100, 3600000 },
    { S_CONSENSUS, "clock_skew_ms", K_U64, FIELD(clock_skew_ms), false, 100, 600000 },
    { S_BLOCK, "max_txs", K_U64, FIELD(block_max_txs), false, 1, LEDGER_MAX_BLOCK_TXS },
    /* at least one largest transaction; at most what the core accepts */
    { S_BLOCK, "max_bytes", K_U64, FIELD(block_max_bytes), false, 2 * LEDGER_MAX_TX_LEN,
      PBFT_MAX_PAYLOAD_LIMIT },
    { S_BLOCK, "max_wait_ms", K_U64, FIELD(block_max_wait_ms), false, 0, 60000 },
    { S_MEMPOOL, "max_txs", K_U64, FIELD(mempool_max_txs), false, 1, 1000000 },
    { S_MEMPOOL, "max_bytes", K_U64, FIELD(mempool_max_bytes), false, LEDGER_MAX_TX_LEN,
      1ull << 30 },
};
#undef FIELD
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct parse_ctx {
    struct node_config *cfg;
    const char *base_dir;
    int section_line[S__COUNT];
    int key_line[NKEYS]; /* from the prescan */
    bool seen[NKEYS];    /* from the parse */
    bool peer_seen[LEDGER_MAX_VALIDATORS];
    char err[256];
    bool failed;
};

static int section_of(const char *name)
{
    for (int s = 0; s < S__COUNT; s++)
        if (strcmp(section_names[s], name) == 0)
            return s;
    return -1;
}

static int key_of(int section, const char *name)
{
    for (size_t k = 0; k < NKEYS; k++)
        if ((int)keys[k].section == section && strcmp(keys[k].name, name) == 0)
            return (int)k;
    return -1;
}

/* A [peers] key: a validator index, decimal without leading zeros. */
static int peer_index(const char *name)
{
    if (*name == '\0' || (name[0] == '0' && name[1] != '\0') || strlen(name) > 2)
        return -1;
    int v = 0;
    for (; *name != '\0'; name++) {
        if (*name < '0' || *name > '9')
            return -1;
        v = v * 10 + (*name - '0');
    }
    return v < LEDGER_MAX_VALIDATORS ? v : -1;
}

static int fail(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parse_ctx *c, const char *fmt, ...)
{
    if (!c->failed) { /* keep the first error: inih reports its line */
        va_list ap;
        va_start(ap, fmt);
        ledger_verrf(0, c->err, sizeof(c->err), fmt, ap);
        va_end(ap);
        c->failed = true;
    }
    return 0;
}

/* ---- values -------------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0') || strlen(s) > 19)
        return -1;
    uint64_t v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0'); /* 19 digits cannot overflow */
    }
    *out = v;
    return 0;
}

static int set_path(struct parse_ctx *c, const struct key_spec *k, const char *val)
{
    size_t cap = k->kind == K_SOCKET ? NODE_SOCKET_PATH_MAX : NODE_PATH_MAX;
    if (*val == '\0')
        return fail(c, "%s is empty", k->name);
    for (const char *p = val; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(c, "%s contains a control character", k->name);
    char *dst = (char *)c->cfg + k->offset;
    int n = val[0] == '/' ? snprintf(dst, cap, "%s", val)
                          : snprintf(dst, cap, "%s/%s", c->base_dir, val);
    if (n < 0 || (size_t)n >= cap) {
        if (k->kind == K_SOCKET)
            return fail(c, "%s '%s' resolves to %d bytes; a Unix socket path is at most %d",
                        k->name, val, n, NODE_SOCKET_PATH_MAX - 1);
        return fail(c, "%s: path too long", k->name);
    }
    return 1;
}

static int set_value(struct parse_ctx *c, const struct key_spec *k, const char *val)
{
    void *field = (char *)c->cfg + k->offset;
    const char *why = "";
    switch (k->kind) {
    case K_PATH:
    case K_SOCKET:
        return set_path(c, k, val);
    case K_OPT_ADDR:
        if (*val == '\0') {
            memset(field, 0, sizeof(struct node_addr));
            return 1;
        }
        /* fall through */
    case K_ADDR:
        if (node_addr_parse(val, field, &why) != 0)
            return fail(c, "%s '%s': %s", k->name, val, why);
        return 1;
    case K_LOG:
        for (int l = NODE_LOG_DEBUG; l <= NODE_LOG_ERROR; l++)
            if (strcmp(val, node_log_level_name((enum node_log_level)l)) == 0) {
                *(enum node_log_level *)field = (enum node_log_level)l;
                return 1;
            }
        return fail(c, "log_level '%s': want debug, info, warn or error", val);
    case K_U64: {
        uint64_t v;
        if (parse_u64(val, &v) != 0 || v < k->min || v > k->max)
            return fail(c, "%s '%s': want a plain decimal number in %llu..%llu", k->name, val,
                        (unsigned long long)k->min, (unsigned long long)k->max);
        *(uint64_t *)field = v;
        return 1;
    }
    }
    return fail(c, "internal: bad key kind");
}

static int set_peer(struct parse_ctx *c, const char *name, const char *val)
{
    int i = peer_index(name);
    if (i < 0)
        return fail(c, "[peers] key '%s' is not a validator index 0..%d", name,
                    LEDGER_MAX_VALIDATORS - 1);
    if (c->peer_seen[i])
        return fail(c, "duplicate key '%s' in [peers]", name);
    c->peer_seen[i] = true;
    const char *why = "";
    struct node_addr a;
    if (node_addr_parse(val, &a, &why) != 0)
        return fail(c, "peer %d '%s': %s", i, val, why);
    for (int j = 0; j < LEDGER_MAX_VALIDATORS; j++)
        if (j != i && c->peer_seen[j] && c->cfg->peers[j].port == a.port &&
            strcmp(c->cfg->peers[j].host, a.host) == 0)
            return fail(c, "peer %d has the same address as peer %d", i, j);
    c->cfg->peers[i] = a;
    return 1;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *c = user;
    int s = section_of(section);
    if (s < 0)
        return fail(c, "unknown section [%s]", section);
    if (s == S_PEERS)
        return set_peer(c, name, value);
    int k = key_of(s, name);
    if (k < 0)
        return fail(c, "unknown key '%s' in [%s]", name, section);
    if (c->seen[k])
        return fail(c, "duplicate key '%s' in [%s]", name, section);
    c->seen[k] = true;
    return set_value(c, &keys[k], value);
}

/* ---- the strict pass before inih ----------------------------------------- */

/* Records the line of a "name = value" line's key in section s. */
static void note_key_line(struct parse_ctx *c, int s, const char *p, size_t ll, int line)
{
    const char *eq = p;
    while (eq < p + ll && *eq != '=' && *eq != ':')
        eq++;
    size_t nlen = (size_t)(eq - p);
    while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
        nlen--;
    char name[64];
    if (s < 0 || eq == p + ll || nlen >= sizeof(name))
        return;
    memcpy(name, p, nlen);
    name[nlen] = '\0';
    int k = key_of(s, name);
    if (k >= 0 && c->key_line[k] == 0)
        c->key_line[k] = line;
}

/* A section header line: known, not repeated, nothing after it. Returns
 * the section or -1 after fail(). */
static int header(struct parse_ctx *c, const char *p, size_t ll, int line)
{
    const char *close = memchr(p, ']', ll);
    char name[32];
    size_t nlen = close != NULL ? (size_t)(close - p - 1) : 0;
    if (close == NULL || nlen >= sizeof(name))
        return fail(c, "bad section header"), -1;
    for (const char *q = close + 1; q < p + ll && *q != ';' && *q != '#'; q++)
        if (*q != ' ' && *q != '\t' && *q != '\r')
            return fail(c, "text after a section header"), -1;
    memcpy(name, p + 1, nlen);
    name[nlen] = '\0';
    int s = section_of(name);
    if (s < 0)
        return fail(c, "unknown section [%s]", name), -1;
    if (c->section_line[s] != 0)
        return fail(c, "duplicate section [%s] (first at line %d)", name, c->section_line[s]), -1;
    c->section_line[s] = line;
    return s;
}

/* What inih accepts but a strict config must not contain, found before
 * inih sees the text: NUL bytes, over-long lines, continuation lines,
 * unknown or repeated sections (inih does not report empty ones). Returns
 * the offending line or 0. */
static int prescan(struct parse_ctx *c, const char *text, size_t len)
{
    int line = 1, s = -1;
    const char *p = text, *end = text + len;
    for (; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = (size_t)((nl != NULL ? nl : end) - p);
        if (memchr(p, '\0', ll) != NULL)
            return fail(c, "NUL byte"), line;
        if (ll > CONFIG_LINE_MAX)
            return fail(c, "line longer than %d bytes", CONFIG_LINE_MAX), line;
        size_t i = 0;
        while (i < ll && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
            i++;
        if (i > 0 && i < ll && p[i] != ';' && p[i] != '#')
            return fail(c, "indented line (continuation lines are not allowed)"), line;
        if (i == 0 && ll > 0 && p[0] == '[') {
            if ((s = header(c, p, ll, line)) < 0)
                return line;
        } else if (i == 0 && ll > 0 && p[0] != ';' && p[0] != '#') {
            note_key_line(c, s, p, ll, line);
        }
        p = nl != NULL ? nl + 1 : end;
    }
    return 0;
}

/* After parsing: required keys present, timeouts consistent. Returns the
 * line to blame, or 0. */
static int postcheck(struct parse_ctx *c)
{
    if (c->section_line[S_NODE] == 0)
        return fail(c, "missing [node] section"), 1;
    for (size_t k = 0; k < NKEYS; k++)
        if (keys[k].required && !c->seen[k])
            return fail(c, "[%s] lacks '%s'", section_names[keys[k].section], keys[k].name),
                   c->section_line[keys[k].section];
    if (c->cfg->view_change_max_ms < c->cfg->view_change_timeout_ms) {
        int kmax = key_of(S_CONSENSUS, "view_change_max_ms");
        int kvc = key_of(S_CONSENSUS, "view_change_timeout_ms");
        fail(c, "view_change_max_ms (%llu) is below view_change_timeout_ms (%llu)",
             (unsigned long long)c->cfg->view_change_max_ms,
             (unsigned long long)c->cfg->view_change_timeout_ms);
        return c->key_line[kmax] != 0 ? c->key_line[kmax] : c->key_line[kvc];
    }
    return 0;
}

int node_config_parse(const char *text, size_t len, const char *name, const char *base_dir,
                      struct node_config *out, char *errmsg, size_t errmsg_len)
{
    struct parse_ctx *c = calloc(1, sizeof(*c));
    struct node_config *cfg = malloc(sizeof(*cfg));
    int rc = NODE_E_NOMEM, line;
    if (c == NULL || cfg == NULL)
        goto out;
    rc = NODE_E_TOO_LARGE;
    if (len > NODE_CONFIG_FILE_MAX) {
        ledger_errf(0, errmsg, errmsg_len, "%s:1: larger than %u bytes", name,
                    NODE_CONFIG_FILE_MAX);
        goto out;
    }
    node_config_defaults(cfg);
    c->cfg = cfg;
    c->base_dir = base_dir;
    rc = NODE_E_MALFORMED;
    if ((line = prescan(c, text, len)) == 0) {
        line = ini_parse_string(text, on_pair, c);
        if (line < 0) {
            rc = NODE_E_NOMEM;
            goto out;
        }
        if (line > 0 && !c->failed)
            fail(c, "syntax error (expected [section] or key = value)");
    }
    if (line == 0)
        line = postcheck(c);
    if (line == 0) {
        *out = *cfg;
        rc = 0;
        goto out;
    }
    ledger_errf(0, errmsg, errmsg_len, "%s:%d: %s", name, line, c->err);
out:
    free(cfg);
    free(c);
    return rc;
}

/* Reads at most NODE_CONFIG_FILE_MAX bytes of path into *out (malloc'd, NUL-terminated). */
static int read_text(const char *path, char **out, size_t *out_len, char *errmsg, size_t errmsg_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        ledger_errf(0, errmsg, errmsg_len, "%s: %s", path, strerror(e));
        return e == ENOENT ? NODE_E_NOT_FOUND : e == EACCES ? NODE_E_PERM : NODE_E_IO;
    }
    int rc = NODE_E_NOMEM;
    char *buf = malloc(NODE_CONFIG_FILE_MAX + 2);
    if (buf == NULL)
        goto err_after_open;
    size_t len = fread(buf, 1, NODE_CONFIG_FILE_MAX + 1, f);
    rc = NODE_E_IO;
    if (ferror(f)) {
        ledger_errf(0, errmsg, errmsg_len, "%s: read error", path);
        goto err_after_alloc;
    }
    rc = NODE_E_TOO_LARGE;
    if (len > NODE_CONFIG_FILE_MAX) {
        ledger_errf(0, errmsg, errmsg_len, "%s:1: larger than %u bytes", path,
                    NODE_CONFIG_FILE_MAX);
        goto err_after_alloc;
    }
    buf[len] = '\0';
    fclose(f);
    *out = buf;
    *out_len = len;
    return 0;
err_after_alloc:
    free(buf);
err_after_open:
    fclose(f);
    return rc;
}

/* The absolute directory of path (malloc'd), or NULL with errno set. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return realpath(".", NULL);
    if (slash == path)
        return realpath("/", NULL);
    char *dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return NULL;
    char *abs = realpath(dir, NULL);
    free(dir);
    return abs;
}

int node_config_load(const char *path, struct node_config *out, char *errmsg, size_t errmsg_len)
{
    char *text;
    size_t len;
    int rc = read_text(path, &text, &len, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    char *base = dir_of(path);
    if (base == NULL) {
        ledger_errf(0, errmsg, errmsg_len, "%s: directory: %s", path, strerror(errno));
        rc = NODE_E_IO;
        goto out;
    }
    rc = node_config_parse(text, len, path, base, out, errmsg, errmsg_len);
    free(base);
out:
    free(text);
    return rc;
}
