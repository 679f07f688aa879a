/* libFuzzer harness for the operator socket's requests (proto/api.proto, node/api_query.c).
 *
 * Built and run by `make fuzz`. Any bytes a local client sends are decoded
 * with the node's bound and, when they decode, answered by the query
 * handlers over a real (small) LMDB ledger: every request must get exactly
 * one reply that packs back to a message the client can decode, and
 * nothing may crash, leak or read out of bounds. A submit's transaction goes
 * through the node's admission (node/daemon_admit.c: its id, the ledger's
 * checks split from the signature checks, then those); status and metrics
 * carry no field (the daemon answers them from its own state). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ledger/crypto.h"
#include "ledger/exec.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/tx.h"
#include "node/api.h"
#include "node/api_query.h"
#include "proto/api.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ledger *fuzz_ledger;
static struct ledger_genesis fuzz_genesis;

/* One ledger for the whole run: a one-validator chain in a fresh directory. */
static struct ledger *ledger_once(void)
{
    if (fuzz_ledger != NULL)
        return fuzz_ledger;
    char dir[] = "/tmp/sealchain-fuzz-api-XXXXXX", err[512];
    if (ledger_crypto_init() != 0 || mkdtemp(dir) == NULL)
        abort();
    struct ledger_genesis *g = &fuzz_genesis;
    uint8_t pk[LEDGER_KEY_LEN], sk[LEDGER_SECRET_LEN];
    snprintf(g->chain_id, sizeof g->chain_id, "fuzz");
    g->time_ms = 1795000000000ull;
    g->n = 1;
    crypto_sign_keypair(pk, sk);
    memcpy(g->validators[0].node_key, pk, LEDGER_KEY_LEN);
    crypto_sign_keypair(pk, sk);
    memcpy(g->validators[0].admin_key, pk, LEDGER_KEY_LEN);
    snprintf(g->validators[0].org_id, sizeof g->validators[0].org_id, "agency0");
    snprintf(g->validators[0].org_name, sizeof g->validators[0].org_name, "Agency 0");
    if (ledger_genesis_finish(g, err, sizeof err) != 0 ||
        ledger_open(dir, g, NULL, &fuzz_ledger, err, sizeof err) != 0)
        abort();
    return fuzz_ledger;
}

/* What the node does with a submitted transaction before the mempool. */
static void submit(const Sealchain__SubmitRequest *s)
{
    struct ledger *l = ledger_once();
    uint8_t id[LEDGER_HASH_LEN], id2[LEDGER_HASH_LEN];
    char why[256];
    if (s == NULL || ledger_tx_id(s->tx.data, s->tx.len, id) != 0)
        return;
    struct ledger_sigjobs jobs = { 0 };
    if (ledger_check_tx_split(l, s->tx.data, s->tx.len, 1795000001000ull, &jobs, id2, why,
                              sizeof why) != 0)
        return;
    if (memcmp(id, id2, LEDGER_HASH_LEN) != 0 || jobs.n > LEDGER_MAX_SIGJOBS)
        abort();
    ledger_sigjobs_verify(&jobs, fuzz_genesis.hash, why, sizeof why);
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
    if (q->req_case == SEALCHAIN__API_REQUEST__REQ_SUBMIT)
        submit(q->submit);
    unsigned replies = 0;
    bool query = node_apiq_answer(ledger_once(), q, check_reply, &replies);
    if (replies != (query ? 1u : 0u))
        abort();
    sealchain__api_request__free_unpacked(q, NULL);
    return 0;
}
