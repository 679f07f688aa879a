/* Tests of the node config file: defaults, strict refusals with FILE:LINE, paths, addresses,
 * samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/genesis.h"
#include "node/config.h"
#include "tests/unit/util_store.h"

/* A valid config (lines numbered in the comments). */
static const char VALID[] = "[node]\n"                      /* 1 */
                            "data_dir = data\n"             /* 2 */
                            "key_file = node.key\n"         /* 3 */
                            "genesis = ../genesis.ini\n"    /* 4 */
                            "listen = 127.0.0.1:26600\n"    /* 5 */
                            "api_socket = node.sock\n"      /* 6 */
                            "\n"                            /* 7 */
                            "[peers]\n"                     /* 8 */
                            "1 = 127.0.0.1:26601\n"         /* 9 */
                            "2 = [::1]:26602\n"             /* 10 */
                            "3 = localhost:26603\n"         /* 11 */
                            "[consensus]\n"                 /* 12 */
                            "progress_timeout_ms = 3000\n"; /* 13 */

/* Replaces the first occurrence of from with to in t (malloc'd result). */
static char *edit(const char *t, const char *from, const char *to)
{
    const char *at = strstr(t, from);
    assert_non_null(at);
    size_t pre = (size_t)(at - t), flen = strlen(from), tlen = strlen(to);
    char *n = malloc(strlen(t) - flen + tlen + 1);
    assert_non_null(n);
    memcpy(n, t, pre);
    memcpy(n + pre, to, tlen);
    strcpy(n + pre + tlen, at + flen);
    return n;
}

static int parse(const char *t, struct node_config *c, char *err, size_t err_len)
{
    return node_config_parse(t, strlen(t), "node.ini", "/srv/agency0", c, err, err_len);
}

static void a_valid_config_resolves_paths_and_takes_defaults(void **state)
{
    (void)state;
    struct node_config *c = malloc(sizeof(*c)), *d = malloc(sizeof(*d));
    assert_non_null(c);
    assert_non_null(d);
    char err[256] = "";
    assert_int_equal(parse(VALID, c, err, sizeof(err)), 0);
    assert_string_equal(c->data_dir, "/srv/agency0/data");
    assert_string_equal(c->key_file, "/srv/agency0/node.key");
    assert_string_equal(c->genesis, "/srv/agency0/../genesis.ini");
    assert_string_equal(c->api_socket, "/srv/agency0/node.sock");
    assert_string_equal(c->listen.host, "127.0.0.1");
    assert_int_equal(c->listen.port, 26600);
    assert_string_equal(c->peers[0].host, ""); /* not listed: not dialled */
    assert_string_equal(c->peers[2].host, "::1");
    assert_int_equal(c->peers[3].port, 26603);
    assert_string_equal(c->metrics_listen.host, "");
    assert_int_equal(c->log_level, NODE_LOG_INFO);
    assert_true(c->progress_timeout_ms == 3000);
    node_config_defaults(d);
    assert_true(c->request_timeout_ms == d->request_timeout_ms);
    assert_true(c->view_change_timeout_ms == 2000 && c->view_change_max_ms == 30000);
    assert_true(c->clock_skew_ms == 10000 && c->block_max_txs == 1000);
    assert_true(c->block_max_bytes == d->block_max_bytes && c->mempool_max_txs == 10000);
    /* absolute paths are kept; every optional key can be set */
    char *t = edit(VALID, "data_dir = data\n",
                   "data_dir = /var/lib/sealchain\nlog_level = debug\nmetrics_listen = "
                   "0.0.0.0:9100\n");
    char *u = edit(t, "progress_timeout_ms = 3000\n",
                   "progress_timeout_ms = 3000\nrequest_timeout_ms = 9000\n"
                   "view_change_timeout_ms = 500\nview_change_max_ms = 8000\nclock_skew_ms = 2500\n"
                   "[block]\nmax_txs = 10\nmax_bytes = 65536\nmax_wait_ms = 0\n"
                   "[mempool]\nmax_txs = 7\nmax_bytes = 100000\n");
    assert_int_equal(parse(u, c, err, sizeof(err)), 0);
    assert_string_equal(c->data_dir, "/var/lib/sealchain");
    assert_int_equal(c->log_level, NODE_LOG_DEBUG);
    assert_int_equal(c->metrics_listen.port, 9100);
    assert_true(c->request_timeout_ms == 9000 && c->view_change_timeout_ms == 500);
    assert_true(c->view_change_max_ms == 8000 && c->clock_skew_ms == 2500);
    assert_true(c->block_max_txs == 10 && c->block_max_bytes == 65536 && c->block_max_wait_ms == 0);
    assert_true(c->mempool_max_txs == 7 && c->mempool_max_bytes == 100000);
    free(u);
    free(t);
    free(c);
    free(d);
}

struct bad_case {
    const char *from, *to, *want;
};

static void each_bad_config_is_refused_with_file_line_and_reason(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        { "data_dir = data\n", "data_dir = data\ncolour = red\n",
          "node.ini:3: unknown key 'colour' in [node]" },
        { "[consensus]", "[consensu]", "node.ini:12: unknown section [consensu]" },
        { "[consensus]", "[peers]", "node.ini:12: duplicate section [peers] (first at line 8)" },
        { "key_file = node.key\n", "key_file = node.key\nkey_file = other.key\n",
          "node.ini:4: duplicate key 'key_file' in [node]" },
        { "key_file = node.key\n", "", "node.ini:1: [node] lacks 'key_file'" },
        { "api_socket = node.sock\n", "", "node.ini:1: [node] lacks 'api_socket'" },
        { "[node]\n", "[nodes]\n", "node.ini:1: unknown section [nodes]" },
        { "listen = 127.0.0.1:26600", "listen = 127.0.0.1",
          "node.ini:5: listen '127.0.0.1': missing ':port'" },
        { "listen = 127.0.0.1:26600", "listen = 127.0.0.1:0",
          "node.ini:5: listen '127.0.0.1:0': port" },
        { "listen = 127.0.0.1:26600", "listen = 127.0.0.1:65536",
          "node.ini:5: listen '127.0.0.1:65536': port" },
        { "listen = 127.0.0.1:26600", "listen = 127.0.0.1:026600", "node.ini:5: listen" },
        { "listen = 127.0.0.1:26600", "listen = 127.0.0.1:+26", "node.ini:5: listen" },
        { "listen = 127.0.0.1:26600", "listen = 127.0.0.256:26600",
          "node.ini:5: listen '127.0.0.256:26600': host must be" },
        { "listen = 127.0.0.1:26600", "listen = example.org:26600",
          "node.ini:5: listen 'example.org:26600': host must be" },
        { "listen = 127.0.0.1:26600", "listen = ::1:26600",
          "node.ini:5: listen '::1:26600': not an IPv6 literal" },
        { "listen = 127.0.0.1:26600", "listen = [::1]26600",
          "node.ini:5: listen '[::1]26600': IPv6 address must be written" },
        { "listen = 127.0.0.1:26600", "listen = [127.0.0.1]:26600",
          "node.ini:5: listen '[127.0.0.1]:26600': not an IPv6" },
        { "listen = 127.0.0.1:26600", "listen = :26600",
          "node.ini:5: listen ':26600': empty host" },
        { "data_dir = data\n", "data_dir = data\nlog_level = verbose\n",
          "node.ini:3: log_level 'verbose'" },
        { "data_dir = data\n", "data_dir = data\nmetrics_listen = 9100\n",
          "node.ini:3: metrics_listen '9100'" },
        { "data_dir = data", "data_dir = ", "node.ini:2: data_dir is empty" },
        { "1 = 127.0.0.1:26601", "64 = 127.0.0.1:26601",
          "node.ini:9: [peers] key '64' is not a validator index" },
        { "1 = 127.0.0.1:26601", "01 = 127.0.0.1:26601", "node.ini:9: [peers] key '01'" },
        { "1 = 127.0.0.1:26601", "x = 127.0.0.1:26601", "node.ini:9: [peers] key 'x'" },
        { "2 = [::1]:26602", "1 = [::1]:26602", "node.ini:10: duplicate key '1' in [peers]" },
        { "3 = localhost:26603", "3 = 127.0.0.1:26601",
          "node.ini:11: peer 3 has the same address as peer 1" },
        { "1 = 127.0.0.1:26601", "1 = 127.0.0.1",
          "node.ini:9: peer 1 '127.0.0.1': missing ':port'" },
        { "progress_timeout_ms = 3000", "progress_timeout_ms = 3",
          "node.ini:13: progress_timeout_ms '3': want a plain decimal number in 100..600000" },
        { "progress_timeout_ms = 3000", "progress_timeout_ms = 3s",
          "node.ini:13: progress_timeout_ms '3s'" },
        { "progress_timeout_ms = 3000", "progress_timeout_ms = -3000",
          "node.ini:13: progress_timeout_ms" },
        { "progress_timeout_ms = 3000", "progress_timeout_ms = 03000",
          "node.ini:13: progress_timeout_ms" },
        { "progress_timeout_ms = 3000", "progress_timeout_ms = 99999999999999999999999",
          "node.ini:13: progress_timeout_ms" },
        { "progress_timeout_ms = 3000", "view_change_max_ms = 1000",
          "node.ini:13: view_change_max_ms (1000) is below view_change_timeout_ms (2000)" },
        { "progress_timeout_ms = 3000\n", "progress_timeout_ms = 3000\n[block]\nmax_txs = 0\n",
          "node.ini:15: max_txs '0'" },
        { "progress_timeout_ms = 3000\n", "progress_timeout_ms = 3000\n[block]\nmax_txs = 5000\n",
          "node.ini:15: max_txs '5000'" },
        { "progress_timeout_ms = 3000\n", "progress_timeout_ms = 3000\n[block]\nmax_bytes = 1024\n",
          "node.ini:15: max_bytes '1024'" },
        { "progress_timeout_ms = 3000\n",
          "progress_timeout_ms = 3000\n[mempool]\nmax_wait_ms = 10\n",
          "node.ini:15: unknown key 'max_wait_ms' in [mempool]" },
        { "data_dir = data\n", "data_dir = data\n  continued\n", "node.ini:3: indented line" },
        { "data_dir = data\n", "data_dir data\n", "node.ini:2: syntax error" },
        { "[node]\n", "stray = 1\n[node]\n", "node.ini:1: unknown section []" },
        { "[node]\n", "[node\n", "node.ini:1: bad section header" },
        { "[node]\n", "[node] x\n", "node.ini:1: text after a section header" },
        { "api_socket = node.sock",
          "api_socket = "
          "a/very/long/path/that/makes/the/socket/path/longer/than/the/one/hundred/and/seven/bytes/"
          "a/unix/socket/allows/node.sock",
          "node.ini:6: api_socket 'a/very" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = edit(VALID, cases[i].from, cases[i].to), err[256] = "";
        struct node_config *c = malloc(sizeof(*c));
        assert_non_null(c);
        memset(c, 0xab, sizeof(*c));
        int rc = parse(t, c, err, sizeof(err));
        if (rc != NODE_E_MALFORMED || strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: rc %d, error \"%s\", wanted \"%s\"", i, rc, err, cases[i].want);
        assert_int_equal(((uint8_t *)c)[0], 0xab); /* *out untouched */
        free(c);
        free(t);
    }
}

static void long_lines_nul_bytes_empty_and_big_files_are_refused(void **state)
{
    (void)state;
    struct node_config c;
    char err[256] = "", name[260];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    char *t = edit(VALID, "data", name);
    assert_int_equal(parse(t, &c, err, sizeof(err)), NODE_E_MALFORMED);
    assert_non_null(strstr(err, "node.ini:2: line longer than 196 bytes"));
    free(t);
    t = edit(VALID, "", "");
    size_t len = strlen(t);
    t[30] = '\0';
    assert_int_equal(node_config_parse(t, len, "n.ini", "/", &c, err, sizeof(err)),
                     NODE_E_MALFORMED);
    assert_non_null(strstr(err, "n.ini:3: NUL byte"));
    free(t);
    assert_int_equal(parse("", &c, err, sizeof(err)), NODE_E_MALFORMED);
    assert_non_null(strstr(err, "node.ini:1: missing [node] section"));
    char *big = malloc(NODE_CONFIG_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, ';', NODE_CONFIG_FILE_MAX + 1);
    big[NODE_CONFIG_FILE_MAX + 1] = '\0';
    assert_int_equal(
        node_config_parse(big, NODE_CONFIG_FILE_MAX + 1, "big.ini", "/", &c, err, sizeof(err)),
        NODE_E_TOO_LARGE);
    assert_non_null(strstr(err, "big.ini:1: larger than"));
    free(big);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Relative paths follow the config file, not the working directory. */
static void load_resolves_relative_paths_against_the_file_directory(void **state)
{
    (void)state;
    char dir[64], sub[96], path[128], err[512] = "";
    tst_tmpdir(dir, sizeof(dir));
    snprintf(sub, sizeof(sub), "%s/node0", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof(path), "%s/node.ini", sub);
    write_file(path, VALID);
    struct node_config *c = malloc(sizeof(*c));
    assert_non_null(c);
    char want[256];
    assert_int_equal(node_config_load(path, c, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s/data", sub);
    assert_string_equal(c->data_dir, want);
    snprintf(want, sizeof(want), "%s/../genesis.ini", sub);
    assert_string_equal(c->genesis, want);
    /* from inside the directory, through a relative config path */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(node_config_load("node0/node.ini", c, err, sizeof(err)), 0);
    assert_int_equal(chdir(cwd), 0);
    snprintf(want, sizeof(want), "%s/node.sock", sub);
    assert_string_equal(c->api_socket, want);
    /* errors name the file as given */
    write_file(path, "[node]\ndata_dir = data\n");
    assert_int_equal(node_config_load(path, c, err, sizeof(err)), NODE_E_MALFORMED);
    snprintf(want, sizeof(want), "%s:1: [node] lacks 'key_file'", path);
    assert_string_equal(err, want);
    unlink(path);
    assert_int_equal(node_config_load(path, c, err, sizeof(err)), NODE_E_NOT_FOUND);
    assert_non_null(strstr(err, path));
    rmdir(sub);
    tst_rmdir(dir);
    free(c);
}

static void addresses_parse_and_format_back(void **state)
{
    (void)state;
    static const char *const good[] = { "127.0.0.1:1", "0.0.0.0:65535", "[::1]:26600",
                                        "[fe80::1:2]:80", "localhost:26600" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct node_addr a;
        char out[NODE_ADDR_STR_MAX];
        const char *why = NULL;
        if (node_addr_parse(good[i], &a, &why) != 0)
            fail_msg("%s: %s", good[i], why);
        node_addr_format(&a, out);
        assert_string_equal(out, good[i]);
    }
    static const char *const bad[] = {
        "",        "127.0.0.1",     "127.0.0.1:",   "1.2.3:80", "[::1]",        "[::1:80",
        "host:80", "127.0.0.1:80 ", "127.0.0.1:8O", "[]:80",    "LOCALHOST:80", "[localhost]:80"
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct node_addr a;
        memset(&a, 0xab, sizeof(a));
        const char *why = NULL;
        if (node_addr_parse(bad[i], &a, &why) != NODE_E_MALFORMED || why == NULL)
            fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(((uint8_t *)&a)[0], 0xab);
    }
    struct node_addr none = { .port = 0 };
    char out[NODE_ADDR_STR_MAX] = "x";
    node_addr_format(&none, out);
    assert_string_equal(out, "");
}

/* configs/ holds samples an operator copies: they must load as shipped
 * (the suite runs from the repository root). */
static void the_sample_config_and_genesis_load(void **state)
{
    (void)state;
    struct node_config *c = malloc(sizeof(*c));
    struct ledger_genesis *g = malloc(sizeof(*g));
    assert_non_null(c);
    assert_non_null(g);
    char err[512] = "";
    if (node_config_load("configs/node.ini.sample", c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_non_null(strstr(c->genesis, "/configs/genesis.ini.sample"));
    if (ledger_genesis_load(c->genesis, g, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(g->n, 4);
    assert_true(g->time_ms == 1795680000000ull); /* time = 2026-11-26T08:00:00Z */
    free(g);
    free(c);
}

/* DESIGN.md §6: random byte edits either parse or are refused with a
 * FILE:LINE message; never a crash (the sanitizer build checks the rest). */
static void mutated_configs_parse_or_are_refused_with_file_and_line(void **state)
{
    (void)state;
    size_t len = strlen(VALID);
    uint64_t rng = 7;
    int refused = 0;
    struct node_config *c = malloc(sizeof(*c));
    assert_non_null(c);
    for (int i = 0; i < 3000; i++) {
        char t[sizeof(VALID)];
        memcpy(t, VALID, sizeof(VALID));
        for (int e = 0; e < 1 + i % 4; e++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(rng >> 33) % len;
            static const char alphabet[] = "[]=:;#\n \t.0aZ\x01\xff";
            t[at] = alphabet[(rng >> 20) % (sizeof(alphabet) - 1)];
        }
        char err[256] = "";
        int rc = node_config_parse(t, len, "m.ini", "/d", c, err, sizeof(err));
        if (rc != 0) {
            if (strncmp(err, "m.ini:", 6) != 0 || err[6] < '1' || err[6] > '9')
                fail_msg("no FILE:LINE in \"%s\"", err);
            refused++;
        }
    }
    assert_true(refused > 0);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_valid_config_resolves_paths_and_takes_defaults),
        cmocka_unit_test(each_bad_config_is_refused_with_file_line_and_reason),
        cmocka_unit_test(long_lines_nul_bytes_empty_and_big_files_are_refused),
        cmocka_unit_test(load_resolves_relative_paths_against_the_file_directory),
        cmocka_unit_test(addresses_parse_and_format_back),
        cmocka_unit_test(the_sample_config_and_genesis_load),
        cmocka_unit_test(mutated_configs_parse_or_are_refused_with_file_and_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
