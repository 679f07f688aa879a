/* Genesis: validation, the genesis hash, and the INI genesis file (load/write). */
#include "ledger/genesis.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/err.h"
#include "ledger/timefmt.h"
#include "proto/genesis.pb-c.h"

uint32_t ledger_genesis_f(uint32_t n)
{
    return n == 0 ? 0 : (n - 1) / 3;
}

uint32_t ledger_genesis_quorum(uint32_t n)
{
    uint32_t f = ledger_genesis_f(n);
    return (n + f + 1 + 1) / 2; /* ⌈(n+f+1)/2⌉ */
}

uint32_t ledger_genesis_primary(const struct ledger_genesis *g, uint64_t view)
{
    return (uint32_t)(view % g->n);
}

/* Strings must survive the INI round trip and log lines: printable, no
 * control characters, no surrounding blanks, and no " ;" (an inline comment
 * in INI). max is the field's capacity. */
static const char *check_text(const char *s, size_t max)
{
    size_t len = strnlen(s, max + 1);
    if (len == 0)
        return "is empty";
    if (len > max)
        return "is too long";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return "contains a control character";
        if (c == ';' && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
            return "contains ' ;' (an INI comment)";
    }
    if (s[0] == ' ' || s[len - 1] == ' ')
        return "has leading or trailing blanks";
    return NULL;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= p[i];
    return acc == 0;
}

static int check_validator(const struct ledger_genesis *g, uint32_t i, char *errmsg,
                           size_t errmsg_len)
{
    const struct ledger_validator *v = &g->validators[i];
    const char *why;
    if ((why = check_text(v->org_id, LEDGER_ORG_ID_MAX)) != NULL) {
        ledger_errf(0, errmsg, errmsg_len, "validator %" PRIu32 ": org_id %s", i, why);
        return LEDGER_E_INVALID;
    }
    if ((why = check_text(v->org_name, LEDGER_NAME_MAX)) != NULL) {
        ledger_errf(0, errmsg, errmsg_len, "validator %" PRIu32 ": org_name %s", i, why);
        return LEDGER_E_INVALID;
    }
    if (all_zero(v->node_key, LEDGER_KEY_LEN) || all_zero(v->admin_key, LEDGER_KEY_LEN)) {
        ledger_errf(0, errmsg, errmsg_len, "validator %" PRIu32 ": all-zero key", i);
        return LEDGER_E_INVALID;
    }
    for (uint32_t j = 0; j < i; j++) {
        const struct ledger_validator *w = &g->validators[j];
        const char *dup = NULL;
        if (memcmp(v->node_key, w->node_key, LEDGER_KEY_LEN) == 0)
            dup = "node_key";
        else if (memcmp(v->admin_key, w->admin_key, LEDGER_KEY_LEN) == 0)
            dup = "admin_key";
        else if (strcmp(v->org_id, w->org_id) == 0)
            dup = "org_id";
        if (dup != NULL) {
            ledger_errf(0, errmsg, errmsg_len,
                        "validator %" PRIu32 ": same %s as validator %" PRIu32, i, dup, j);
            return LEDGER_E_INVALID;
        }
    }
    return 0;
}

/* SHA-256 of the protobuf-c encoding of Genesis built field by field from g:
 * protobuf-c packs fields in field-number order, so the bytes are canonical. */
static int genesis_hash(struct ledger_genesis *g)
{
    Sealchain__GenesisValidator vals[LEDGER_MAX_VALIDATORS];
    Sealchain__GenesisValidator *ptrs[LEDGER_MAX_VALIDATORS];
    Sealchain__Genesis msg = SEALCHAIN__GENESIS__INIT;
    msg.chain_id = g->chain_id;
    msg.time_ms = g->time_ms;
    msg.n_validators = g->n;
    msg.validators = ptrs;
    for (uint32_t i = 0; i < g->n; i++) {
        struct ledger_validator *v = &g->validators[i];
        sealchain__genesis_validator__init(&vals[i]);
        vals[i].node_key.data = v->node_key;
        vals[i].node_key.len = LEDGER_KEY_LEN;
        vals[i].org_id = v->org_id;
        vals[i].org_name = v->org_name;
        vals[i].admin_key.data = v->admin_key;
        vals[i].admin_key.len = LEDGER_KEY_LEN;
        ptrs[i] = &vals[i];
    }
    size_t len = sealchain__genesis__get_packed_size(&msg);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return LEDGER_E_NOMEM;
    sealchain__genesis__pack(&msg, buf);
    ledger_sha256(buf, len, g->hash);
    free(buf);
    return 0;
}

int ledger_genesis_finish(struct ledger_genesis *g, char *errmsg, size_t errmsg_len)
{
    const char *why;
    if (g->n < 1 || g->n > LEDGER_MAX_VALIDATORS) {
        ledger_errf(0, errmsg, errmsg_len, "genesis: %" PRIu32 " validators (need 1..%d)", g->n,
                    LEDGER_MAX_VALIDATORS);
        return LEDGER_E_INVALID;
    }
    if ((why = check_text(g->chain_id, LEDGER_CHAIN_ID_MAX)) != NULL) {
        ledger_errf(0, errmsg, errmsg_len, "genesis: chain id %s", why);
        return LEDGER_E_INVALID;
    }
    if (g->time_ms == 0) {
        ledger_errf(0, errmsg, errmsg_len, "genesis: time_ms is 0");
        return LEDGER_E_INVALID;
    }
    for (uint32_t i = 0; i < g->n; i++) {
        int rc = check_validator(g, i, errmsg, errmsg_len);
        if (rc != 0)
            return rc;
    }
    return genesis_hash(g);
}

int ledger_genesis_authority_of(const struct ledger_genesis *g,
                                const uint8_t key[static LEDGER_KEY_LEN])
{
    for (uint32_t i = 0; i < g->n; i++)
        if (memcmp(g->validators[i].admin_key, key, LEDGER_KEY_LEN) == 0)
            return (int)i;
    return -1;
}

/* ---- the INI genesis file ------------------------------------------------ */

/* A genesis file of 64 validators is ~20 KiB; anything over 1 MiB is not a
 * genesis file, so it is refused before it is read into memory. */
#define GENESIS_FILE_MAX (1u << 20)
/* inih reads lines into a fixed INI_MAX_LINE (200) buffer and silently
 * splits longer ones; we refuse them first so a split can never be parsed. */
#define GENESIS_LINE_MAX 196

struct load_ctx {
    struct ledger_genesis *g;
    /* which (section, key) pairs were seen: chain 3 keys, validators 4 each */
    bool chain_seen[3];
    bool val_seen[LEDGER_MAX_VALIDATORS][4];
    int section_line[LEDGER_MAX_VALIDATORS + 1]; /* [0] = chain, [1+i] = validator i */
    char err[200];
    bool failed;
};

/* The genesis time is given once, as time_ms (unix ms) or time (RFC 3339). */
static const char *const chain_keys[3] = { "id", "time_ms", "time" };
static const char *const val_keys[4] = { "node_key", "org_id", "org_name", "admin_key" };

/* Parses a section name: -1 for [chain], i for [validator.i], -2 if unknown.
 * Indexes are decimal without leading zeros. */
static int section_index(const char *sec)
{
    if (strcmp(sec, "chain") == 0)
        return -1;
    if (strncmp(sec, "validator.", 10) != 0)
        return -2;
    const char *p = sec + 10;
    if (*p == '\0' || (p[0] == '0' && p[1] != '\0') || strlen(p) > 3)
        return -2;
    int v = 0;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -2;
        v = v * 10 + (*p - '0');
    }
    return v < LEDGER_MAX_VALIDATORS ? v : -2;
}

static int key_index(const char *const *keys, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (strcmp(keys[i], name) == 0)
            return i;
    return -1;
}

static int fail(struct load_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct load_ctx *c, const char *fmt, ...)
{
    if (!c->failed) { /* keep the first error: ini_parse reports its line */
        va_list ap;
        va_start(ap, fmt);
        ledger_verrf(0, c->err, sizeof(c->err), fmt, ap);
        va_end(ap);
        c->failed = true;
    }
    return 0;
}

static int copy_text(struct load_ctx *c, char *dst, size_t max, const char *what, const char *val)
{
    if (strlen(val) > max)
        return fail(c, "%s is longer than %zu bytes", what, max);
    strcpy(dst, val);
    const char *why = check_text(dst, max);
    if (why != NULL)
        return fail(c, "%s %s", what, why);
    return 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0') || strlen(s) > 20)
        return -1;
    uint64_t v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int chain_key(struct load_ctx *c, int k, const char *val)
{
    if (k == 0)
        return copy_text(c, c->g->chain_id, LEDGER_CHAIN_ID_MAX, "chain id", val);
    if (c->chain_seen[1] && c->chain_seen[2])
        return fail(c, "[chain] has both 'time' and 'time_ms': give one");
    if (k == 2) {
        const char *why = "";
        if (ledger_time_parse(val, &c->g->time_ms, &why) != 0)
            return fail(c, "time '%s' is not an RFC 3339 time: %s", val, why);
        if (c->g->time_ms == 0)
            return fail(c, "time '%s' is the epoch itself", val);
        return 1;
    }
    if (parse_u64(val, &c->g->time_ms) != 0 || c->g->time_ms == 0)
        return fail(c, "time_ms '%s' is not a positive decimal integer", val);
    return 1;
}

static int validator_key(struct load_ctx *c, int idx, int k, const char *val)
{
    struct ledger_validator *v = &c->g->validators[idx];
    switch (k) {
    case 0:
    case 3:
        if (strlen(val) != 2 * LEDGER_KEY_LEN ||
            ledger_unhex(val, k == 0 ? v->node_key : v->admin_key, LEDGER_KEY_LEN) != 0)
            return fail(c, "%s must be %d hex digits", val_keys[k], 2 * LEDGER_KEY_LEN);
        return 1;
    case 1:
        return copy_text(c, v->org_id, LEDGER_ORG_ID_MAX, "org_id", val);
    default:
        return copy_text(c, v->org_name, LEDGER_NAME_MAX, "org_name", val);
    }
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *c = user;
    int idx = section_index(section);
    if (idx == -2)
        return fail(c, "unknown section [%s]", section);
    const char *const *keys = idx == -1 ? chain_keys : val_keys;
    int nkeys = idx == -1 ? 3 : 4;
    int k = key_index(keys, nkeys, name);
    if (k < 0)
        return fail(c, "unknown key '%s' in [%s]", name, section);
    bool *seen = idx == -1 ? &c->chain_seen[k] : &c->val_seen[idx][k];
    if (*seen)
        return fail(c, "duplicate key '%s' in [%s]", name, section);
    *seen = true;
    return idx == -1 ? chain_key(c, k, value) : validator_key(c, idx, k, value);
}

/* What inih accepts but a strict genesis file must not contain, found before
 * inih sees the text: NUL bytes, over-long lines, continuation lines, unknown
 * or repeated section headers (inih does not report empty sections). Records
 * each section's line for later "missing key" errors. Returns the offending
 * line number or 0. */
static int prescan(struct load_ctx *c, const char *text, size_t len)
{
    int line = 1;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = (size_t)((nl != NULL ? nl : end) - p);
        if (memchr(p, '\0', ll) != NULL)
            return fail(c, "NUL byte"), line;
        if (ll > GENESIS_LINE_MAX)
            return fail(c, "line longer than %d bytes", GENESIS_LINE_MAX), line;
        size_t i = 0;
        while (i < ll && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
            i++;
        if (i > 0 && i < ll && p[i] != ';' && p[i] != '#')
            return fail(c, "indented line (continuation lines are not allowed)"), line;
        if (i == 0 && ll > 0 && p[0] == '[') {
            const char *close = memchr(p, ']', ll);
            char name[64];
            size_t nlen = close != NULL ? (size_t)(close - p - 1) : 0;
            if (close == NULL || nlen >= sizeof(name))
                return fail(c, "bad section header"), line;
            for (const char *q = close + 1; q < p + ll && *q != ';' && *q != '#'; q++)
                if (*q != ' ' && *q != '\t' && *q != '\r')
                    return fail(c, "text after a section header"), line;
            memcpy(name, p + 1, nlen);
            name[nlen] = '\0';
            int idx = section_index(name);
            if (idx == -2)
                return fail(c, "unknown section [%s]", name), line;
            if (c->section_line[idx + 1] != 0)
                return fail(c, "duplicate section [%s] (first at line %d)", name,
                            c->section_line[idx + 1]),
                       line;
            c->section_line[idx + 1] = line;
        }
        line++;
        p = nl != NULL ? nl + 1 : end;
    }
    return 0;
}

/* After parsing: every section complete, validators 0..n-1 without gaps. */
static int postcheck(struct load_ctx *c, int *out_line)
{
    *out_line = c->section_line[0];
    if (c->section_line[0] == 0)
        return fail(c, "missing [chain] section"), 1;
    if (!c->chain_seen[0])
        return fail(c, "[chain] lacks 'id'"), 1;
    if (!c->chain_seen[1] && !c->chain_seen[2])
        return fail(c, "[chain] lacks 'time' (RFC 3339) or 'time_ms'"), 1;
    uint32_t n = 0;
    while (n < LEDGER_MAX_VALIDATORS && c->section_line[n + 1] != 0)
        n++;
    for (uint32_t i = n; i < LEDGER_MAX_VALIDATORS; i++)
        if (c->section_line[i + 1] != 0) {
            *out_line = c->section_line[i + 1];
            return fail(c, "[validator.%" PRIu32 "] without [validator.%" PRIu32 "]", i, n), 1;
        }
    if (n == 0)
        return fail(c, "no [validator.0] section"), 1;
    for (uint32_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++)
            if (!c->val_seen[i][k]) {
                *out_line = c->section_line[i + 1];
                return fail(c, "[validator.%" PRIu32 "] lacks '%s'", i, val_keys[k]), 1;
            }
    c->g->n = n;
    return 0;
}

static int read_file(const char *path, char **out, size_t *out_len, char *errmsg, size_t errmsg_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        ledger_errf(0, errmsg, errmsg_len, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? LEDGER_E_NOT_FOUND : LEDGER_E_INVALID;
    }
    int rc = 0;
    char *buf = malloc(GENESIS_FILE_MAX + 1);
    if (buf == NULL) {
        rc = LEDGER_E_NOMEM;
        goto err_after_open;
    }
    size_t len = fread(buf, 1, GENESIS_FILE_MAX + 1, f);
    if (ferror(f)) {
        ledger_errf(0, errmsg, errmsg_len, "%s: read error", path);
        rc = LEDGER_E_INVALID;
        goto err_after_alloc;
    }
    if (len > GENESIS_FILE_MAX) {
        ledger_errf(0, errmsg, errmsg_len, "%s: larger than %u bytes", path, GENESIS_FILE_MAX);
        rc = LEDGER_E_TOO_LARGE;
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

int ledger_genesis_parse(const char *text, size_t len, struct ledger_genesis *out, char *errmsg,
                         size_t errmsg_len)
{
    struct load_ctx *c = calloc(1, sizeof(*c));
    struct ledger_genesis *g = calloc(1, sizeof(*g));
    int rc = LEDGER_E_INVALID, line;
    if (c == NULL || g == NULL) {
        rc = LEDGER_E_NOMEM;
        goto out;
    }
    c->g = g;
    if (len > GENESIS_FILE_MAX) {
        ledger_errf(0, errmsg, errmsg_len, "genesis larger than %u bytes", GENESIS_FILE_MAX);
        rc = LEDGER_E_TOO_LARGE;
        goto out;
    }
    if ((line = prescan(c, text, len)) == 0) {
        line = ini_parse_string(text, on_pair, c);
        if (line < 0) {
            rc = LEDGER_E_NOMEM;
            goto out;
        }
        if (line > 0 && !c->failed)
            fail(c, "syntax error (expected [section] or key = value)");
    }
    if (line == 0 && postcheck(c, &line) == 0) {
        char why[200];
        rc = ledger_genesis_finish(g, why, sizeof(why));
        if (rc == 0)
            *out = *g;
        else
            ledger_errf(0, errmsg, errmsg_len, "%s", why);
        goto out;
    }
    ledger_errf(0, errmsg, errmsg_len, "line %d: %s", line, c->err);
out:
    free(g);
    free(c);
    return rc;
}

int ledger_genesis_load(const char *path, struct ledger_genesis *out, char *errmsg,
                        size_t errmsg_len)
{
    char *text;
    size_t len;
    int rc = read_file(path, &text, &len, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    char why[256];
    rc = ledger_genesis_parse(text, len, out, why, sizeof(why));
    if (rc != 0)
        ledger_errf(0, errmsg, errmsg_len, "%s: %s", path, why);
    free(text);
    return rc;
}

static int write_all(FILE *f, const struct ledger_genesis *g)
{
    char hex[2 * LEDGER_KEY_LEN + 1];
    fprintf(f, "; sealchain genesis (validators are named by index, 0-based)\n");
    char when[LEDGER_TIME_STR_LEN];
    ledger_time_format(g->time_ms, when);
    fprintf(f, "[chain]\nid = %s\n; %s\ntime_ms = %" PRIu64 "\n", g->chain_id, when, g->time_ms);
    for (uint32_t i = 0; i < g->n; i++) {
        const struct ledger_validator *v = &g->validators[i];
        fprintf(f, "\n[validator.%" PRIu32 "]\n", i);
        ledger_hex(v->node_key, LEDGER_KEY_LEN, hex);
        fprintf(f, "node_key = %s\n", hex);
        fprintf(f, "org_id = %s\norg_name = %s\n", v->org_id, v->org_name);
        ledger_hex(v->admin_key, LEDGER_KEY_LEN, hex);
        fprintf(f, "admin_key = %s\n", hex);
    }
    return ferror(f) ? -1 : 0;
}

int ledger_genesis_write(const char *path, const struct ledger_genesis *g, char *errmsg,
                         size_t errmsg_len)
{
    struct ledger_genesis copy = *g;
    int rc = ledger_genesis_finish(&copy, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < g->n; i++)
        if (strlen(g->validators[i].org_name) + 11 > GENESIS_LINE_MAX) {
            ledger_errf(0, errmsg, errmsg_len,
                        "validator %" PRIu32 ": org_name too long for a line", i);
            return LEDGER_E_INVALID;
        }
    /* Written to a temporary file, flushed and renamed: a crash leaves the old
     * file or the new one, never half of one. */
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        ledger_errf(0, errmsg, errmsg_len, "%s: path too long", path);
        return LEDGER_E_INVALID;
    }
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        ledger_errf(0, errmsg, errmsg_len, "%s: %s", tmp, strerror(errno));
        return LEDGER_E_INVALID;
    }
    int bad = write_all(f, g);
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        ledger_errf(0, errmsg, errmsg_len, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return LEDGER_E_INVALID;
    }
    return 0;
}
