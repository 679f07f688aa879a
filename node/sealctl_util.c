/* sealctl: argument values (hex, times), JSON values, file reading, hashing and atomic writes. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/crypto.h"
#include "ledger/timefmt.h"
#include "node/sealctl.h"

json_t *sealctl_jhex(const uint8_t *p, size_t len)
{
    if (p == NULL)
        return json_null();
    char *hex = malloc(2 * len + 1);
    if (hex == NULL)
        return NULL;
    ledger_hex(p, len, hex);
    json_t *v = json_string(hex);
    free(hex);
    return v;
}

json_t *sealctl_jstr(const char *text)
{
    json_t *v = json_string(text);
    if (v != NULL)
        return v;
    /* Not UTF-8 (an argument echoed in an error, say): keep it readable. */
    char *copy = strdup(text);
    if (copy == NULL)
        return NULL;
    for (char *p = copy; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v;
}

json_t *sealctl_jtime(uint64_t ms)
{
    if (ms == 0)
        return json_null();
    char t[LEDGER_TIME_STR_LEN];
    ledger_time_format(ms, t);
    return json_string(t);
}

json_t *sealctl_jint_or_null(uint64_t v)
{
    return v == 0 ? json_null() : json_integer((json_int_t)v);
}

int sealctl_hex32_arg(const struct sealctl *s, const char *opt, const char *val,
                      uint8_t out[static 32])
{
    if (strlen(val) != 64 || ledger_unhex(val, out, 32) != 0)
        return sealctl_usage_error(s, "%s '%s': want 64 hex digits", opt, val);
    return 0;
}

int sealctl_time_arg(const struct sealctl *s, const char *opt, const char *val, uint64_t *out_ms)
{
    size_t n = strlen(val);
    if (n > 0 && n <= 12 && strspn(val, "0123456789") == n) {
        *out_ms = strtoull(val, NULL, 10) * 1000;
        return 0;
    }
    const char *why = NULL;
    if (ledger_time_parse(val, out_ms, &why) != 0)
        return sealctl_usage_error(s,
                                   "%s '%s': want RFC 3339 (2026-11-26T08:00:00Z) or unix "
                                   "seconds (%s)",
                                   opt, val, why ? why : "bad time");
    return 0;
}

/* Opens path for reading: 0 and *fd, or an exit code (printed). */
static int open_in(const struct sealctl *s, const char *path, int *fd)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return sealctl_fail(s, SEALCTL_EXIT_USAGE, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(*fd);
        return sealctl_fail(s, SEALCTL_EXIT_USAGE, "%s: not a regular file", path);
    }
    return 0;
}

int sealctl_hash_file(const struct sealctl *s, const char *path, uint8_t out[static 32])
{
    int fd, rc = open_in(s, path, &fd);
    if (rc != 0)
        return rc;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    uint8_t buf[65536];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s: %s", path, strerror(errno));
            break;
        }
        crypto_hash_sha256_update(&st, buf, (unsigned long long)r);
    }
    close(fd);
    crypto_hash_sha256_final(&st, out);
    return rc;
}

int sealctl_read_file(const struct sealctl *s, const char *path, size_t max, bool missing_ok,
                      uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (missing_ok && access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    int fd, rc = open_in(s, path, &fd);
    if (rc != 0)
        return rc;
    uint8_t *buf = malloc(max + 1);
    size_t n = 0;
    if (buf == NULL) {
        close(fd);
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "out of memory");
    }
    while (n < max + 1) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int sealctl_write_atomic(const struct sealctl *s, const char *path, const uint8_t *p, size_t len)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16), *dir = strdup(path);
    if (tmp == NULL || dir == NULL) {
        free(tmp);
        free(dir);
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "out of memory");
    }
    snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
    int rc = 0, fd = mkstemp(tmp);
    if (fd < 0) {
        rc = sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fchmod(fd, 0644) != 0 || write_all(fd, p, len) != 0 || fsync(fd) != 0) {
        rc = sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        rc = sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    free(tmp);
    free(dir);
    return rc;
}
