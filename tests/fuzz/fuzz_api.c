/* libFuzzer harness for the operator socket's requests (proto/api.proto, node/api_query.c).
 *
 * Built and run by `make fuzz`. Any bytes a local client sends are decoded
 * with the node's bound and, when they decode, answered by the query
 * handlers over a real (small) LMDB ledger: every request must get exactly
 * one reply that packs back to a message the client can decode, and
 * nothing may crash, leak or read out of bounds. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "node/api.h"
#include "node/api_query.h"
#include "proto/api.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ledger *fuzz_ledger;

/* One ledger for the whole run: a one-validator chain in a fresh directory. */
static struct ledger *ledger_once(void)
{
    if (fuzz_ledger != NULL)
        return fuzz_ledger;
    char dir[] = "/tmp/sealchain-fuzz-api-XXXXXX", err[512];
    if (ledger_crypto_init() != 0 || mkdtemp(dir) == NULL)
        abort();
    static struct ledger_genesis g;
    uint8_t pk[LEDGER_KEY_LEN], sk[LEDGER_SECRET_LEN];
    snprintf(g.chain_id, sizeof g.chain_id, "fuzz");
    g.time_ms = 1795000000000ull;
    g.n = 1;
    crypto_sign_keypair(pk, sk);
    memcpy(g.validators[0].node_key, pk, LEDGER_KEY_LEN);
    crypto_sign_keypair(pk, sk);
    memcpy(g.validators[0].admin_key, pk, LEDGER_KEY_LEN);
    snprintf(g.validators[0].org_id, sizeof g.validators[0].org_id, "agency0");
    snprintf(g.validators[0].org_name, sizeof g.validators[0].org_name, "Agency 0");
    if (ledger_genesis_finish(&g, err, sizeof err) != 0 ||
        ledger_open(dir, &g, NULL, &fuzz_ledger, err, sizeof err) != 0)
        abort();
    return fuzz_ledger;
}

static void check_reply(void *ctx, Sealchain__ApiReply *r)
{
    unsigned *replies = ctx;
    (*replies)++;
    size_t len = sealchain__api_reply__get_packed_size(r);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        abort();
    sealchain__api_reply__pack(r, buf);
    Sealchain__ApiReply *back = sealchain__api_reply__unpack(NULL, len, buf);
    if (back == NULL)
        abort();
    sealchain__api_reply__free_unpacked(back, NULL);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > NODE_API_REQUEST_MAX)
        return 0; /* the socket drops a longer request before reading it */
    Sealchain__ApiRequest *q = sealchain__api_request__unpack(NULL, size, data);
    if (q == NULL)
        return 0; /* answered "request does not decode" by the daemon */
    unsigned replies = 0;
    bool query = node_apiq_answer(ledger_once(), q, check_reply, &replies);
    if (replies != (query ? 1u : 0u))
        abort();
    sealchain__api_request__free_unpacked(q, NULL);
    return 0;
}
