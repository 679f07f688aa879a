/* Tests of key files: round trip, mode 0600 and its refusal, no overwrite, strict decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "node/keyfile.h"
#include "tests/unit/util_store.h"

static const char GOOD[] =
    "ed25519-seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

static void write_text(const char *path, const char *text, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void a_written_key_reads_back_the_same_and_has_mode_0600(void **state)
{
    (void)state;
    char dir[64], path[128], err[256] = "";
    tst_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/node.key", dir);
    struct node_key k = { .sk = NULL }, r = { .sk = NULL };
    assert_int_equal(node_key_generate(&k), 0);
    mode_t old = umask(0); /* the file is 0600 whatever the umask */
    int rc = node_keyfile_write(path, &k, err, sizeof(err));
    umask(old);
    assert_int_equal(rc, 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, (long)NODE_KEYFILE_LEN);
    assert_int_equal(node_keyfile_read(path, &r, err, sizeof(err)), 0);
    assert_memory_equal(r.pk, k.pk, LEDGER_KEY_LEN);
    assert_memory_equal(r.sk, k.sk, LEDGER_SECRET_LEN);
    /* the key signs: the public key matches the secret one */
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, (const uint8_t *)"m", 1, r.sk);
    assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)"m", 1, k.pk), 0);
    node_key_close(&r);
    assert_null(r.sk);
    node_key_close(&r); /* twice is harmless */
    node_key_close(&k);
    unlink(path);
    tst_rmdir(dir);
}

static void an_existing_file_is_never_overwritten(void **state)
{
    (void)state;
    char dir[64], path[128], err[256] = "";
    tst_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/admin.key", dir);
    write_text(path, "precious\n", 9, 0600);
    struct node_key k = { .sk = NULL };
    assert_int_equal(node_key_generate(&k), 0);
    assert_int_equal(node_keyfile_write(path, &k, err, sizeof(err)), NODE_E_EXISTS);
    assert_non_null(strstr(err, "already exists; a key file is never overwritten"));
    char buf[32] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "precious\n");
    /* nor a symlink followed to somewhere else */
    char link[160];
    snprintf(link, sizeof(link), "%s/link.key", dir);
    assert_int_equal(symlink("/nonexistent-target", link), 0);
    assert_int_not_equal(node_keyfile_write(link, &k, err, sizeof(err)), 0);
    unlink(link);
    /* a missing directory is reported as such */
    snprintf(link, sizeof(link), "%s/no/such.key", dir);
    assert_int_equal(node_keyfile_write(link, &k, err, sizeof(err)), NODE_E_NOT_FOUND);
    node_key_close(&k);
    unlink(path);
    tst_rmdir(dir);
}

static void a_key_file_readable_by_group_or_others_is_refused(void **state)
{
    (void)state;
    char dir[64], path[128], err[512] = "", want[512];
    tst_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/node.key", dir);
    static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0602, 0620, 0610 };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        write_text(path, GOOD, strlen(GOOD), modes[i]);
        struct node_key k = { .sk = NULL };
        assert_int_equal(node_keyfile_read(path, &k, err, sizeof(err)), NODE_E_PERM);
        snprintf(want, sizeof(want),
                 "key file %s has mode %04o; must be 0600 or stricter: chmod 600 %s", path,
                 (unsigned)modes[i], path);
        assert_string_equal(err, want);
        assert_null(k.sk);
        unlink(path);
    }
    /* stricter than 0600 is fine */
    write_text(path, GOOD, strlen(GOOD), 0400);
    struct node_key k = { .sk = NULL };
    assert_int_equal(node_keyfile_read(path, &k, err, sizeof(err)), 0);
    node_key_close(&k);
    unlink(path);
    assert_int_equal(node_keyfile_read(path, &k, err, sizeof(err)), NODE_E_NOT_FOUND);
    assert_non_null(strstr(err, path));
    /* a directory is not a key file */
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(node_keyfile_read(dir, &k, err, sizeof(err)), NODE_E_MALFORMED);
    tst_rmdir(dir);
}

struct bad_case {
    const char *text, *want;
};

static void malformed_key_files_are_refused_with_the_reason(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        { "", "does not start with 'ed25519-seed '" },
        { "ed25519-sk 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
          "does not start with" },
        { " ed25519-seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
          "does not start with" },
        { "ed25519-seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
          "the seed has 63 hex digits; want 64" },
        { "ed25519-seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0\n",
          "the seed has 65 hex digits; want 64" },
        { "ed25519-seed 000102030405060708090A0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
          "uppercase hex digit at byte 34" },
        { "ed25519-seed 00010203040506070809xa0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
          "byte 33 (0x78) is not a hex digit" },
        { "ed25519-seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
          "missing newline after the seed" },
        { "ed25519-seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \n",
          "byte 77 (0x20) after the seed" },
        { "ed25519-seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n",
          "byte 77 (0x0d) after the seed" },
        { "ed25519-seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n",
          "1 trailing bytes after the key line" },
        { "ed25519-seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\nx",
          "1 trailing bytes" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct node_key k = { .sk = NULL };
        char err[256] = "";
        int rc = node_keyfile_decode(cases[i].text, strlen(cases[i].text), &k, err, sizeof(err));
        if (rc != NODE_E_MALFORMED || strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: rc %d, \"%s\", wanted \"%s\"", i, rc, err, cases[i].want);
        assert_null(k.sk);
    }
    /* the good text decodes to the key of its seed */
    struct node_key k = { .sk = NULL };
    char err[256] = "";
    assert_int_equal(node_keyfile_decode(GOOD, strlen(GOOD), &k, err, sizeof(err)), 0);
    uint8_t seed[32], pk[32], sk[64];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    crypto_sign_seed_keypair(pk, sk, seed);
    assert_memory_equal(k.pk, pk, 32);
    assert_memory_equal(k.sk, sk, 64);
    node_key_close(&k);
    /* a file longer than a key file is refused as such, through read */
    char dir[64], path[128];
    tst_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/big.key", dir);
    char big[4096];
    memset(big, 'a', sizeof(big));
    memcpy(big, GOOD, strlen(GOOD));
    write_text(path, big, sizeof(big), 0600);
    assert_int_equal(node_keyfile_read(path, &k, err, sizeof(err)), NODE_E_MALFORMED);
    assert_non_null(strstr(err, "trailing bytes"));
    assert_non_null(strstr(err, path));
    unlink(path);
    tst_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_written_key_reads_back_the_same_and_has_mode_0600),
        cmocka_unit_test(an_existing_file_is_never_overwritten),
        cmocka_unit_test(a_key_file_readable_by_group_or_others_is_refused),
        cmocka_unit_test(malformed_key_files_are_refused_with_the_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
