/* libFuzzer harness for the evidence decoders: signature files, proof bundles, certificates.
 *
 * Built and run by `make fuzz` (see the Makefile for the flags).
 * The first input byte picks the decoder; the rest is its input. Every call
 * must return without crashing, leaking or reading out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/cert.h"
#include "ledger/codec.h"
#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "ledger/proof.h"
#include "ledger/sigfile.h"
#include "proto/evidence.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ledger_genesis *genesis(void)
{
    static struct ledger_genesis g;
    static int done;
    if (!done) {
        ledger_crypto_init();
        strcpy(g.chain_id, "fuzz");
        g.time_ms = 1;
        g.n = 4;
        for (uint32_t i = 0; i < g.n; i++) {
            memset(g.validators[i].node_key, (int)(i + 1), LEDGER_KEY_LEN);
            memset(g.validators[i].admin_key, (int)(i + 101), LEDGER_KEY_LEN);
            g.validators[i].org_id[0] = (char)('a' + i);
            g.validators[i].org_name[0] = 'x';
        }
        char err[128];
        if (ledger_genesis_finish(&g, err, sizeof err) != 0)
            abort();
        done = 1;
    }
    return &g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const struct ledger_genesis *g = genesis();
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    switch (data[0] % 4) {
    case 0: {
        struct ledger_sigfile f;
        if (ledger_sigfile_parse(in, len, &f, NULL, 0) == 0) {
            uint8_t *re;
            size_t re_len;
            /* Accepted input is canonical. */
            if (ledger_sigfile_encode(&f, &re, &re_len) != 0 || re_len != len ||
                memcmp(re, in, len) != 0)
                abort();
            free(re);
        }
        break;
    }
    case 1: {
        struct ledger_proof_result *r = malloc(sizeof *r);
        if (r != NULL && ledger_proof_verify(g, in, len, r) == 0 && !r->valid)
            abort();
        free(r);
        break;
    }
    case 2: {
        uint8_t hash[LEDGER_HASH_LEN] = { 0 };
        char err[128];
        (void)ledger_cert_check(g, in, len, 1, hash, NULL, err, sizeof err);
        break;
    }
    default: {
        ProtobufCMessage *m;
        if (ledger_decode_strict(&sealchain__proof_bundle__descriptor, in, len, 1 << 20, &m) == 0) {
            uint8_t *re;
            size_t re_len;
            if (ledger_encode(m, &re, &re_len) != 0 || re_len != len || memcmp(re, in, len) != 0)
                abort();
            free(re);
            protobuf_c_message_free_unpacked(m, NULL);
        }
        break;
    }
    }
    return 0;
}
