/* libFuzzer harness for the node's config file, key file and RFC 3339 time decoders.
 *
 * Built and run by `make fuzz`. The first byte picks the decoder; the rest
 * is its input. Every call must return without crashing, leaking or reading
 * out of bounds; an accepted config must have its invariants, an accepted
 * key must sign, an accepted time must format and parse back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ledger/timefmt.h"
#include "node/config.h"
#include "node/keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void config(const char *text, size_t len)
{
    struct node_config *c = malloc(sizeof(*c));
    char err[512];
    if (c != NULL && node_config_parse(text, len, "f.ini", "/base", c, err, sizeof(err)) == 0) {
        if (c->api_socket[0] != '/' || c->listen.port == 0 ||
            c->view_change_max_ms < c->view_change_timeout_ms ||
            strnlen(c->api_socket, NODE_SOCKET_PATH_MAX) >= NODE_SOCKET_PATH_MAX)
            abort();
    }
    free(c);
}

static void key(const char *text, size_t len)
{
    struct node_key k = { .sk = NULL };
    char err[256];
    if (node_keyfile_decode(text, len, &k, err, sizeof(err)) == 0) {
        uint8_t pk[32];
        if (crypto_sign_ed25519_sk_to_pk(pk, k.sk) != 0 || memcmp(pk, k.pk, 32) != 0)
            abort();
        node_key_close(&k);
    }
}

static void timefmt(const char *text)
{
    uint64_t ms, back;
    char out[LEDGER_TIME_STR_LEN];
    if (ledger_time_parse(text, &ms, NULL) == 0) {
        ledger_time_format(ms, out);
        if (ledger_time_parse(out, &back, NULL) != 0 || back != ms)
            abort();
    }
}

/* configs/node.ini.sample without its comments, behind target byte 0. */
static const char seed_config[] =
    "\x00[node]\ndata_dir = data\nkey_file = node.key\ngenesis = genesis.ini\n"
    "listen = 127.0.0.1:26600\napi_socket = node.sock\nlog_level = info\nmetrics_listen =\n"
    "[peers]\n1 = 127.0.0.1:26601\n2 = [::1]:26602\n3 = localhost:26603\n"
    "[consensus]\nprogress_timeout_ms = 2000\nrequest_timeout_ms = 4000\n"
    "view_change_timeout_ms = 2000\nview_change_max_ms = 30000\nclock_skew_ms = 10000\n"
    "[block]\nmax_txs = 1000\nmax_bytes = 1048576\nmax_wait_ms = 200\n"
    "[mempool]\nmax_txs = 20000\nmax_bytes = 33554432\n";
static const char seed_time[] = "\x02"
                                "2026-12-01T01:50:00.123Z";

/* A whole config and a time into the corpus directory (the first argument
 * that is no flag): the mutations start from every section and key. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (int i = 1; i < *argc; i++) {
        if ((*argv)[i][0] == '-')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-config", (*argv)[i]);
        FILE *f = fopen(path, "wb");
        if (f != NULL) {
            fwrite(seed_config, 1, sizeof seed_config - 1, f);
            fclose(f);
        }
        snprintf(path, sizeof path, "%s/seed-time", (*argv)[i]);
        if ((f = fopen(path, "wb")) != NULL) {
            fwrite(seed_time, 1, sizeof seed_time - 1, f);
            fclose(f);
        }
        break;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || sodium_init() < 0)
        return 0;
    size_t len = size - 1;
    char *text = malloc(len + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, len);
    text[len] = '\0';
    switch (data[0] % 3) {
    case 0:
        config(text, len);
        break;
    case 1:
        key(text, len);
        break;
    default:
        timefmt(text);
        break;
    }
    free(text);
    return 0;
}
