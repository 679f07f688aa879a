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
#include "ledger/txbuild.h"
#include "node/api.h"
#include "node/api_query.h"
#include "proto/api.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct ledger *fuzz_ledger;
static struct ledger_genesis fuzz_genesis;
/* The organisation's admin: fixed, so that seeds signed by it stay valid. */
static uint8_t admin_pk[LEDGER_KEY_LEN], admin_sk[LEDGER_SECRET_LEN];

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
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, 0x11, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    memcpy(g->validators[0].node_key, pk, LEDGER_KEY_LEN);
    memset(seed, 0x22, sizeof seed);
    crypto_sign_seed_keypair(admin_pk, admin_sk, seed);
    memcpy(g->validators[0].admin_key, admin_pk, LEDGER_KEY_LEN);
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

static void write_seed(const char *dir, const char *name, Sealchain__ApiRequest *q)
{
    char path[4096];
    size_t len = sealchain__api_request__get_packed_size(q);
    uint8_t *buf = malloc(len ? len : 1);
    snprintf(path, sizeof path, "%s/seed-%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (buf == NULL || f == NULL)
        abort();
    sealchain__api_request__pack(q, buf);
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
}

/* One well-formed request of each kind into the corpus directory (the
 * first argument that is no flag), a submit among them carrying a seal
 * registration the ledger admits: the mutations start from real requests. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = NULL;
    for (int i = 1; i < *argc && dir == NULL; i++)
        if ((*argv)[i][0] != '-')
            dir = (*argv)[i];
    if (dir == NULL)
        return 0;
    ledger_once();
    uint8_t zero[32] = { 0 }, seal_key[32], *tx;
    size_t tx_len;
    memset(seal_key, 0x33, sizeof seal_key);
    struct ledger_txb_seal p = { .org_id = "agency0",
                                 .type = SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL,
                                 .name = "Official seal",
                                 .seal_key = seal_key };
    if (ledger_txb_seal_register(&fuzz_genesis, admin_sk, 1795000000000ull + 3600000, &p, &tx,
                                 &tx_len) != 0)
        abort();
    ProtobufCBinaryData z = { 32, zero };
    Sealchain__ApiRequest q = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SubmitRequest sub = SEALCHAIN__SUBMIT_REQUEST__INIT;
    Sealchain__StatusRequest st = SEALCHAIN__STATUS_REQUEST__INIT;
    Sealchain__MetricsRequest me = SEALCHAIN__METRICS_REQUEST__INIT;
    Sealchain__BlockRequest bl = SEALCHAIN__BLOCK_REQUEST__INIT;
    Sealchain__TxRequest tq = SEALCHAIN__TX_REQUEST__INIT;
    Sealchain__OrgRequest og = SEALCHAIN__ORG_REQUEST__INIT;
    Sealchain__SealRequest se = SEALCHAIN__SEAL_REQUEST__INIT;
    Sealchain__UsageRequest us = SEALCHAIN__USAGE_REQUEST__INIT;
    Sealchain__VerifyRequest ve = SEALCHAIN__VERIFY_REQUEST__INIT;
    Sealchain__ProofRequest pr = SEALCHAIN__PROOF_REQUEST__INIT;
    q.id = 1;
    sub.tx.data = tx;
    sub.tx.len = tx_len;
    sub.wait = true;
    q.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
    q.submit = &sub;
    write_seed(dir, "submit", &q);
    q.req_case = SEALCHAIN__API_REQUEST__REQ_STATUS;
    q.status = &st;
    write_seed(dir, "status", &q);
    q.req_case = SEALCHAIN__API_REQUEST__REQ_METRICS;
    q.metrics = &me;
    write_seed(dir, "metrics", &q);
    bl.height = 1;
    q.req_case = SEALCHAIN__API_REQUEST__REQ_BLOCK;
    q.block = &bl;
    write_seed(dir, "block", &q);
    tq.hash = z;
    q.req_case = SEALCHAIN__API_REQUEST__REQ_TX;
    q.tx = &tq;
    write_seed(dir, "tx", &q);
    og.org_id = "agency0";
    q.req_case = SEALCHAIN__API_REQUEST__REQ_ORG;
    q.org = &og;
    write_seed(dir, "org", &q);
    se.seal_id = z;
    q.req_case = SEALCHAIN__API_REQUEST__REQ_SEAL;
    q.seal = &se;
    write_seed(dir, "seal", &q);
    us.doc_hash = z;
    q.req_case = SEALCHAIN__API_REQUEST__REQ_USAGE;
    q.usage = &us;
    write_seed(dir, "usage", &q);
    ve.doc_hash = z;
    ve.sigfile = z;
    q.req_case = SEALCHAIN__API_REQUEST__REQ_VERIFY;
    q.verify = &ve;
    write_seed(dir, "verify", &q);
    pr.usage = z;
    q.req_case = SEALCHAIN__API_REQUEST__REQ_PROOF;
    q.proof = &pr;
    write_seed(dir, "proof", &q);
    free(tx);
    return 0;
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
