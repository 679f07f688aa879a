/* Tests of the genesis: quorum numbers, the hash, the strict INI genesis file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/genesis.h"
#include "tests/unit/util_store.h"

static const char *const K1 = "1111111111111111111111111111111111111111111111111111111111111111";
static const char *const K2 = "2222222222222222222222222222222222222222222222222222222222222222";
static const char *const K3 = "3333333333333333333333333333333333333333333333333333333333333333";
static const char *const K4 = "4444444444444444444444444444444444444444444444444444444444444444";

/* A valid two-validator file (lines numbered in the comments of the tests). */
static char *valid_text(void)
{
    char *t = malloc(2048);
    assert_non_null(t);
    snprintf(t, 2048,
             "[chain]\n"                 /* 1 */
             "id = sealchain-local\n"    /* 2 */
             "time_ms = 1795000000000\n" /* 3 */
             "[validator.0]\n"           /* 4 */
             "node_key = %s\n"           /* 5 */
             "org_id = agency0\n"        /* 6 */
             "org_name = Agency 0\n"     /* 7 */
             "admin_key = %s\n"          /* 8 */
             "[validator.1]\n"           /* 9 */
             "node_key = %s\n"           /* 10 */
             "org_id = agency1\n"        /* 11 */
             "org_name = Agency 1\n"     /* 12 */
             "admin_key = %s\n",         /* 13 */
             K1, K2, K3, K4);
    return t;
}

/* Replaces the first occurrence of from with to in t (reallocated). */
static char *edit(char *t, const char *from, const char *to)
{
    char *at = strstr(t, from);
    assert_non_null(at);
    size_t pre = (size_t)(at - t), flen = strlen(from), tlen = strlen(to);
    char *n = malloc(strlen(t) - flen + tlen + 1);
    assert_non_null(n);
    memcpy(n, t, pre);
    memcpy(n + pre, to, tlen);
    strcpy(n + pre + tlen, at + flen);
    free(t);
    return n;
}

static int parse(const char *t, struct ledger_genesis *g, char *err, size_t err_len)
{
    return ledger_genesis_parse(t, strlen(t), g, err, err_len);
}

static void quorum_is_ceil_of_n_plus_f_plus_1_over_2(void **state)
{
    (void)state;
    static const uint32_t n[] = { 1, 2, 3, 4, 5, 6, 7, 10, 64 };
    static const uint32_t f[] = { 0, 0, 0, 1, 1, 1, 2, 3, 21 };
    static const uint32_t q[] = { 1, 2, 2, 3, 4, 4, 5, 7, 43 };
    for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
        assert_int_equal(ledger_genesis_f(n[i]), f[i]);
        assert_int_equal(ledger_genesis_quorum(n[i]), q[i]);
    }
}

static void valid_file_parses_and_hash_is_deterministic(void **state)
{
    (void)state;
    char *t = valid_text(), err[256];
    struct ledger_genesis a, b;
    assert_int_equal(parse(t, &a, err, sizeof(err)), 0);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.chain_id, "sealchain-local");
    assert_true(a.time_ms == 1795000000000ull);
    assert_string_equal(a.validators[1].org_name, "Agency 1");
    assert_int_equal(a.validators[0].node_key[0], 0x11);
    /* comments and blank lines change nothing */
    t = edit(t, "[validator.0]\n", "; the first one\n\n[validator.0]  \n");
    assert_int_equal(parse(t, &b, err, sizeof(err)), 0);
    assert_memory_equal(a.hash, b.hash, LEDGER_HASH_LEN);
    /* any field changes the hash */
    t = edit(t, "Agency 1", "Agency 9");
    assert_int_equal(parse(t, &b, err, sizeof(err)), 0);
    assert_memory_not_equal(a.hash, b.hash, LEDGER_HASH_LEN);
    free(t);
}

/* An RFC 3339 time is the same genesis (same hash) as its time_ms. */
static void rfc3339_time_is_the_same_genesis_as_its_time_ms(void **state)
{
    (void)state;
    char *t = valid_text(), err[256];
    struct ledger_genesis a, b;
    assert_int_equal(parse(t, &a, err, sizeof(err)), 0);
    t = edit(t, "time_ms = 1795000000000", "time = 2026-11-18T19:06:40+08:00");
    assert_int_equal(parse(t, &b, err, sizeof(err)), 0);
    assert_true(b.time_ms == 1795000000000ull);
    assert_memory_equal(a.hash, b.hash, LEDGER_HASH_LEN);
    free(t);
}

static void write_then_load_gives_the_same_genesis(void **state)
{
    (void)state;
    struct tst_chain *c = malloc(sizeof(*c));
    assert_non_null(c);
    tst_chain_init(c, 7, "roundtrip");
    char dir[64], path[128], err[256];
    tst_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/genesis.ini", dir);
    assert_int_equal(ledger_genesis_write(path, &c->g, err, sizeof(err)), 0);
    struct ledger_genesis g;
    assert_int_equal(ledger_genesis_load(path, &g, err, sizeof(err)), 0);
    assert_memory_equal(g.hash, c->g.hash, LEDGER_HASH_LEN);
    assert_memory_equal(&g, &c->g, sizeof(g));
    unlink(path);
    tst_rmdir(dir);
    free(c);
}

struct bad_case {
    const char *from, *to; /* edit of the valid text */
    const char *want;      /* substring of the error */
};

static void each_malformed_file_is_refused_with_line_and_reason(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        { "id = sealchain-local\n", "id = x\ncolor = red\n", "line 3: unknown key 'color'" },
        { "[validator.1]", "[validators.1]", "line 9: unknown section [validators.1]" },
        { "node_key = 1111", "node_key = 111", "line 5: node_key must be 64 hex digits" },
        { "admin_key = 4444", "admin_key = 444g", "line 13: admin_key must be 64 hex digits" },
        { "[validator.1]", "[validator.2]", "line 9: [validator.2] without [validator.1]" },
        { "org_id = agency1\n", "org_id = agency1\norg_id = agency2\n",
          "line 12: duplicate key 'org_id'" },
        { "[validator.1]", "[validator.0]", "line 9: duplicate section [validator.0]" },
        { "org_name = Agency 1\n", "", "line 9: [validator.1] lacks 'org_name'" },
        { "[chain]\nid = sealchain-local\ntime_ms = 1795000000000\n", "",
          "missing [chain] section" },
        { "time_ms = 1795000000000", "time_ms = 17e9", "line 3: time_ms '17e9'" },
        { "time_ms = 1795000000000", "time_ms = 0", "line 3: time_ms '0'" },
        { "time_ms = 1795000000000", "time_ms = 01795000000000", "line 3: time_ms" },
        { "time_ms = 1795000000000", "time_ms = 99999999999999999999999", "line 3: time_ms" },
        { "org_name = Agency 0\n", "org_name = Agency 0\n  continued\n", "line 8: indented line" },
        { "[chain]\n", "id2 = x\n[chain]\n", "line 1: unknown section []" },
        { "org_id = agency0\n", "org_id agency0\n", "line 6: syntax error" },
        { "[validator.1]", "[validator.01]", "line 9: unknown section [validator.01]" },
        { "[validator.1]", "[validator.64]", "line 9: unknown section [validator.64]" },
        { "org_id = agency1", "org_id = agency0", "validator 1: same org_id as validator 0" },
        { "node_key = 3333333333333333333333333333333333333333333333333333333333333333",
          "node_key = 1111111111111111111111111111111111111111111111111111111111111111",
          "validator 1: same node_key as validator 0" },
        { "admin_key = 2222222222222222222222222222222222222222222222222222222222222222",
          "admin_key = 0000000000000000000000000000000000000000000000000000000000000000",
          "validator 0: all-zero key" },
        { "id = sealchain-local", "id = ", "line 2: chain id is empty" },
        { "[validator.0]\n", "[validator.0\n", "line 4: bad section header" },
        { "[validator.0]\n", "[validator.0] x\n", "line 4: text after a section header" },
        { "time_ms = 1795000000000\n", "time_ms = 1795000000000\ntime = 2026-11-18T11:06:40Z\n",
          "line 4: [chain] has both 'time' and 'time_ms'" },
        { "time_ms = 1795000000000", "time = 2026-02-30T00:00:00Z",
          "line 3: time '2026-02-30T00:00:00Z' is not an RFC 3339 time: no such day" },
        { "time_ms = 1795000000000", "time = 1795000000", "line 3: time '1795000000'" },
        { "time_ms = 1795000000000\n", "", "line 1: [chain] lacks 'time' (RFC 3339) or 'time_ms'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = edit(valid_text(), cases[i].from, cases[i].to), err[256] = "";
        struct ledger_genesis g;
        memset(&g, 0xab, sizeof(g));
        int rc = parse(t, &g, err, sizeof(err));
        if (rc == 0 || strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: rc %d, error \"%s\", wanted \"%s\"", i, rc, err, cases[i].want);
        assert_int_equal(((uint8_t *)&g)[0], 0xab); /* *out untouched */
        free(t);
    }
}

static void long_line_nul_byte_and_big_file_are_refused(void **state)
{
    (void)state;
    char err[256];
    struct ledger_genesis g;
    char name[300];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    char *t = edit(valid_text(), "Agency 0", name);
    assert_int_equal(parse(t, &g, err, sizeof(err)), LEDGER_E_INVALID);
    assert_non_null(strstr(err, "line 7: line longer than"));
    free(t);
    t = valid_text();
    size_t len = strlen(t);
    t[20] = '\0'; /* a NUL inside the text */
    assert_int_equal(ledger_genesis_parse(t, len, &g, err, sizeof(err)), LEDGER_E_INVALID);
    assert_non_null(strstr(err, "NUL byte"));
    free(t);
    char dir[64], path[128];
    tst_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/big.ini", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 40000; i++)
        fputs("; padding padding padding padding\n", f);
    fclose(f);
    assert_int_equal(ledger_genesis_load(path, &g, err, sizeof(err)), LEDGER_E_TOO_LARGE);
    unlink(path);
    assert_int_equal(ledger_genesis_load(path, &g, err, sizeof(err)), LEDGER_E_NOT_FOUND);
    assert_non_null(strstr(err, path));
    tst_rmdir(dir);
}

/* DESIGN.md §6: a genesis file is input across a trust boundary. Random
 * byte edits of a valid file either parse to a finished genesis or are
 * refused with a message; never a crash (the sanitizer build checks the
 * rest). */
static void mutated_files_parse_or_are_refused_with_a_message(void **state)
{
    (void)state;
    char *base = valid_text();
    size_t len = strlen(base);
    uint64_t rng = 42;
    int refused = 0;
    for (int i = 0; i < 3000; i++) {
        char *t = malloc(len + 1);
        assert_non_null(t);
        memcpy(t, base, len + 1);
        for (int e = 0; e < 1 + i % 4; e++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(rng >> 33) % len;
            static const char alphabet[] = "[]=;#\n \t.0aZ\x01\xff";
            t[at] = alphabet[(rng >> 20) % (sizeof(alphabet) - 1)];
        }
        char err[256] = "";
        struct ledger_genesis g;
        int rc = parse(t, &g, err, sizeof(err));
        if (rc == 0) {
            struct ledger_genesis again = g;
            assert_int_equal(ledger_genesis_finish(&again, NULL, 0), 0);
            assert_memory_equal(again.hash, g.hash, LEDGER_HASH_LEN);
        } else {
            assert_true(strlen(err) > 0);
            refused++;
        }
        free(t);
    }
    assert_true(refused > 0);
    free(base);
}

static void finish_refuses_bad_validator_sets(void **state)
{
    (void)state;
    struct tst_chain *c = malloc(sizeof(*c));
    assert_non_null(c);
    tst_chain_init(c, 4, "finish");
    char err[256];
    struct ledger_genesis g = c->g;
    g.n = 0;
    assert_int_equal(ledger_genesis_finish(&g, err, sizeof(err)), LEDGER_E_INVALID);
    g.n = LEDGER_MAX_VALIDATORS + 1;
    assert_int_equal(ledger_genesis_finish(&g, err, sizeof(err)), LEDGER_E_INVALID);
    g = c->g;
    g.time_ms = 0;
    assert_int_equal(ledger_genesis_finish(&g, err, sizeof(err)), LEDGER_E_INVALID);
    g = c->g;
    strcpy(g.validators[2].org_name, "bad\nname");
    assert_int_equal(ledger_genesis_finish(&g, err, sizeof(err)), LEDGER_E_INVALID);
    assert_non_null(strstr(err, "validator 2: org_name contains a control character"));
    g = c->g;
    assert_int_equal(ledger_genesis_finish(&g, err, sizeof(err)), 0);
    assert_memory_equal(g.hash, c->g.hash, LEDGER_HASH_LEN);
    free(c);
}

static void authority_of_finds_the_admin_key(void **state)
{
    (void)state;
    struct tst_chain *c = malloc(sizeof(*c));
    assert_non_null(c);
    tst_chain_init(c, 4, "authority");
    assert_int_equal(ledger_genesis_authority_of(&c->g, c->g.validators[2].admin_key), 2);
    assert_int_equal(ledger_genesis_authority_of(&c->g, c->g.validators[2].node_key), -1);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quorum_is_ceil_of_n_plus_f_plus_1_over_2),
        cmocka_unit_test(valid_file_parses_and_hash_is_deterministic),
        cmocka_unit_test(rfc3339_time_is_the_same_genesis_as_its_time_ms),
        cmocka_unit_test(write_then_load_gives_the_same_genesis),
        cmocka_unit_test(each_malformed_file_is_refused_with_line_and_reason),
        cmocka_unit_test(long_line_nul_byte_and_big_file_are_refused),
        cmocka_unit_test(mutated_files_parse_or_are_refused_with_a_message),
        cmocka_unit_test(finish_refuses_bad_validator_sets),
        cmocka_unit_test(authority_of_finds_the_admin_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
