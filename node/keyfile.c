/* Ed25519 key files: one line "ed25519-seed <64 hex>\n", mode 0600, O_EXCL, fsynced. */
#include "ledger/err.h"
#include "node/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX_LEN (sizeof(NODE_KEYFILE_PREFIX) - 1)
#define SEED_LEN   32

/* A key pair from a seed; the secret half in fresh sodium_malloc memory. */
static int key_from_seed(const uint8_t seed[static SEED_LEN], struct node_key *out)
{
    if (sodium_init() < 0)
        return NODE_E_NOMEM;
    uint8_t *sk = sodium_malloc(LEDGER_SECRET_LEN);
    if (sk == NULL)
        return NODE_E_NOMEM;
    crypto_sign_seed_keypair(out->pk, sk, seed);
    out->sk = sk;
    return 0;
}

int node_key_generate(struct node_key *out)
{
    if (sodium_init() < 0)
        return NODE_E_NOMEM;
    uint8_t *seed = sodium_malloc(SEED_LEN);
    if (seed == NULL)
        return NODE_E_NOMEM;
    randombytes_buf(seed, SEED_LEN);
    int rc = key_from_seed(seed, out);
    sodium_free(seed); /* wipes */
    return rc;
}

void node_key_close(struct node_key *k)
{
    if (k->sk != NULL)
        sodium_free(k->sk); /* fills with zeros before releasing */
    k->sk = NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Checks the layout of text and reports the first problem, or NULL. */
static const char *layout_error(const char *text, size_t len, char *why, size_t why_len)
{
    if (len < PREFIX_LEN || memcmp(text, NODE_KEYFILE_PREFIX, PREFIX_LEN) != 0)
        return "does not start with '" NODE_KEYFILE_PREFIX "'";
    size_t n = 0;
    while (PREFIX_LEN + n < len && hexval(text[PREFIX_LEN + n]) >= 0)
        n++;
    size_t at = PREFIX_LEN + n;
    if (n < 64 && at < len && text[at] != '\n') {
        unsigned char c = (unsigned char)text[at];
        if (c >= 'A' && c <= 'F')
            snprintf(why, why_len, "uppercase hex digit at byte %zu (write lowercase)", at);
        else
            snprintf(why, why_len, "byte %zu (0x%02x) is not a hex digit", at, c);
        return why;
    }
    if (n != 64) {
        snprintf(why, why_len, "the seed has %zu hex digits; want 64", n);
        return why;
    }
    if (at == len)
        return "missing newline after the seed";
    if (text[at] != '\n') {
        snprintf(why, why_len, "byte %zu (0x%02x) after the seed", at, (unsigned char)text[at]);
        return why;
    }
    if (at + 1 != len) {
        snprintf(why, why_len, "%zu trailing bytes after the key line", len - at - 1);
        return why;
    }
    return NULL;
}

int node_keyfile_decode(const char *text, size_t len, struct node_key *out, char *errmsg,
                        size_t errmsg_len)
{
    char why[96];
    const char *bad = layout_error(text, len, why, sizeof(why));
    if (bad != NULL) {
        ledger_errf(0, errmsg, errmsg_len, "malformed key file: %s", bad);
        return NODE_E_MALFORMED;
    }
    if (sodium_init() < 0)
        return NODE_E_NOMEM;
    uint8_t *seed = sodium_malloc(SEED_LEN);
    if (seed == NULL)
        return NODE_E_NOMEM;
    for (size_t i = 0; i < SEED_LEN; i++)
        seed[i] =
            (uint8_t)(hexval(text[PREFIX_LEN + 2 * i]) << 4 | hexval(text[PREFIX_LEN + 2 * i + 1]));
    struct node_key k;
    int rc = key_from_seed(seed, &k);
    sodium_free(seed);
    if (rc == 0)
        *out = k;
    return rc;
}

static int errno_code(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return NODE_E_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return NODE_E_PERM;
    case EEXIST:
        return NODE_E_EXISTS;
    default:
        return NODE_E_IO;
    }
}

/* The mode check on the open file (fstat: no window between check and read). */
static int check_mode(int fd, const char *path, char *errmsg, size_t errmsg_len)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ledger_errf(0, errmsg, errmsg_len, "%s: %s", path, strerror(errno));
        return NODE_E_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        ledger_errf(0, errmsg, errmsg_len, "key file %s is not a regular file", path);
        return NODE_E_MALFORMED;
    }
    if ((st.st_mode & 077) != 0) {
        ledger_errf(0, errmsg, errmsg_len,
                    "key file %s has mode %04o; must be 0600 or stricter: chmod 600 %s", path,
                    (unsigned)(st.st_mode & 07777), path);
        return NODE_E_PERM;
    }
    return 0;
}

int node_keyfile_read(const char *path, struct node_key *out, char *errmsg, size_t errmsg_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        ledger_errf(0, errmsg, errmsg_len, "key file %s: %s", path, strerror(e));
        return errno_code(e);
    }
    int rc = check_mode(fd, path, errmsg, errmsg_len);
    if (rc != 0)
        goto err_after_open;
    rc = NODE_E_NOMEM;
    /* One byte more than a key file, so a longer file is seen as such. */
    char *buf = sodium_init() < 0 ? NULL : sodium_malloc(NODE_KEYFILE_LEN + 1);
    if (buf == NULL)
        goto err_after_open;
    size_t len = 0;
    while (len < NODE_KEYFILE_LEN + 1) {
        ssize_t r = read(fd, buf + len, NODE_KEYFILE_LEN + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ledger_errf(0, errmsg, errmsg_len, "key file %s: %s", path, strerror(errno));
            rc = NODE_E_IO;
            goto err_after_alloc;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    char why[160];
    rc = node_keyfile_decode(buf, len, out, why, sizeof(why));
    if (rc != 0)
        ledger_errf(0, errmsg, errmsg_len, "key file %s: %s", path, why);
err_after_alloc:
    sodium_free(buf);
err_after_open:
    close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t len)
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

/* fsyncs the directory holding path, so the new entry survives a crash. */
static int sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if ((size_t)(slash - path) >= sizeof(dir))
        return -1;
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int node_keyfile_write(const char *path, const struct node_key *k, char *errmsg, size_t errmsg_len)
{
    if (sodium_init() < 0)
        return NODE_E_NOMEM;
    char *text = sodium_malloc(NODE_KEYFILE_LEN + 1);
    if (text == NULL)
        return NODE_E_NOMEM;
    memcpy(text, NODE_KEYFILE_PREFIX, PREFIX_LEN);
    /* the seed is the first half of libsodium's secret key */
    sodium_bin2hex(text + PREFIX_LEN, 65, k->sk, SEED_LEN);
    text[NODE_KEYFILE_LEN - 1] = '\n';
    int rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        rc = errno_code(e);
        if (rc == NODE_E_EXISTS)
            ledger_errf(0, errmsg, errmsg_len, "%s already exists; a key file is never overwritten",
                        path);
        else
            ledger_errf(0, errmsg, errmsg_len, "%s: %s", path, strerror(e));
        goto out;
    }
    /* 0600 exactly, whatever the umask. */
    if (fchmod(fd, 0600) != 0 || write_all(fd, text, NODE_KEYFILE_LEN) != 0 || fsync(fd) != 0) {
        ledger_errf(0, errmsg, errmsg_len, "%s: %s", path, strerror(errno));
        rc = NODE_E_IO;
        close(fd);
        goto err_after_create;
    }
    if (close(fd) != 0 || sync_dir(path) != 0) {
        ledger_errf(0, errmsg, errmsg_len, "%s: %s", path, strerror(errno));
        rc = NODE_E_IO;
        goto err_after_create;
    }
    rc = 0;
    goto out;
err_after_create:
    unlink(path);
out:
    sodium_free(text);
    return rc;
}
