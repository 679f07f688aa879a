/* Test helpers for evidence tests: fixed-seed chains, certificates, hand-built blocks. */
#ifndef SEALCHAIN_TESTS_UTIL_EVIDENCE_H
#define SEALCHAIN_TESTS_UTIL_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"

/* A test chain: genesis plus every validator's node and admin secret key.
 * Test keys only, so plain memory (production keys live in sodium_malloc). */
struct tev_chain {
    struct ledger_genesis g;
    uint8_t node_sk[LEDGER_MAX_VALIDATORS][LEDGER_SECRET_LEN];
    uint8_t admin_sk[LEDGER_MAX_VALIDATORS][LEDGER_SECRET_LEN];
};

/* Deterministic key pair from (tag, i): crypto_sign_seed_keypair over a seed
 * of SHA-256("tev" ‖ tag ‖ i). */
void tev_keypair(const char *tag, uint32_t i, uint8_t pk[static LEDGER_KEY_LEN],
                 uint8_t sk[static LEDGER_SECRET_LEN]);

/* Fills c with an n-validator chain called chain_id (keys derived from
 * chain_id, so two ids give two disjoint key sets) and finishes its genesis.
 * Fails the test on error. */
void tev_chain_init(struct tev_chain *c, uint32_t n, const char *chain_id);

/* Signs a COMMIT vote for (height, view, hash) with validator i's node key. */
void tev_commit_sig(const struct tev_chain *c, uint32_t i, uint64_t height, uint64_t view,
                    const uint8_t hash[static LEDGER_HASH_LEN], uint8_t sig[static LEDGER_SIG_LEN]);

/* An encoded certificate signed by the validators listed (in that order, may
 * repeat: the encoding is written by hand, not by ledger_cert_build, so tests
 * can make bad ones). *out malloc'd, owned by the caller. */
void tev_cert_raw(const struct tev_chain *c, uint64_t height, uint64_t view,
                  const uint8_t hash[static LEDGER_HASH_LEN], const uint32_t *signers, size_t count,
                  uint8_t **out, size_t *out_len);

/* A valid certificate of the first q validators, through ledger_cert_build. */
void tev_cert_quorum(const struct tev_chain *c, uint64_t height, uint64_t view,
                     const uint8_t hash[static LEDGER_HASH_LEN], uint8_t **out, size_t *out_len);

/* A hand-built block over encoded txs: header (encoded BlockHeader, malloc'd)
 * with tx_root over their ids, and its hash. state_root is filled with a
 * dummy value: evidence checks do not use it. */
struct tev_block {
    uint8_t *header;
    size_t header_len;
    uint8_t hash[LEDGER_HASH_LEN];
    uint8_t *cert;
    size_t cert_len;
};
void tev_block_build(const struct tev_chain *c, uint64_t height, uint64_t view,
                     const uint8_t prev[static LEDGER_HASH_LEN], uint64_t time_ms,
                     const uint8_t *const *txs, const size_t *tx_lens, size_t count,
                     struct tev_block *out);
void tev_block_free(struct tev_block *b);

/* Reads a whole file into a malloc'd buffer (fails the test on error). */
uint8_t *tev_read_file(const char *path, size_t *out_len);

#endif
