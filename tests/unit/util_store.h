/* Test helpers for store, ledger, query and crash tests: chains, certificates, seal workloads. */
#ifndef SEALCHAIN_TESTS_UTIL_STORE_H
#define SEALCHAIN_TESTS_UTIL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"

/* A test chain: genesis and the validators' secret keys. Test keys only, so
 * plain memory (production keys live in sodium_malloc memory). */
struct tst_chain {
    struct ledger_genesis g;
    uint8_t node_sk[LEDGER_MAX_VALIDATORS][LEDGER_SECRET_LEN];
    uint8_t admin_sk[LEDGER_MAX_VALIDATORS][LEDGER_SECRET_LEN];
};

/* Deterministic key pair from (tag, i). */
void tst_keypair(const char *tag, uint32_t i, uint8_t pk[static LEDGER_KEY_LEN],
                 uint8_t sk[static LEDGER_SECRET_LEN]);

/* An n-validator chain named chain_id (keys derived from it); time_ms of
 * genesis is TST_GENESIS_TIME. Fails the test on error. */
#define TST_GENESIS_TIME 1795000000000ull
void tst_chain_init(struct tst_chain *c, uint32_t n, const char *chain_id);

/* A fresh empty directory under /tmp (out: at least 64 bytes), and its
 * removal with the LMDB files in it. */
void tst_tmpdir(char *out, size_t out_len);
void tst_rmdir(const char *dir);

/* An encoded CommitCert signed by the first q validators. *out malloc'd. */
void tst_cert(const struct tst_chain *c, uint64_t height, uint64_t view,
              const uint8_t hash[static LEDGER_HASH_LEN], uint8_t **out, size_t *out_len);

/* Builds a block of the given txs at time_ms through ledger_build_block in
 * view = tip height, proposed by that view's primary (view mod n),
 * certifies it in that view and commits it with ledger_commit_block. Returns the commit's
 * result (or the build's); *out_refused (may be NULL) counts refused txs.
 * When out_block is not NULL it receives the block bytes (malloc'd) and
 * out_cert the certificate (malloc'd), so tests can replay them. */
int tst_commit(struct ledger *l, const struct tst_chain *c, const struct ledger_txref *txs,
               size_t n, uint64_t time_ms, size_t *out_refused, uint8_t **out_block,
               size_t *out_block_len, uint8_t **out_cert, size_t *out_cert_len);

/*
 * A seal workload: one organisation filed by validator 0's authority, its
 * admin, seals, silent and approval grants, uses, approvals, suspensions.
 * tst_work_next() returns the txs of the next block (valid in order at
 * that block's time when the earlier blocks were committed), so the same
 * seed always gives the same stream of bodies (nonces aside).
 */
#define TST_WORK_MAX_SEALS 4
#define TST_WORK_MAX_TXS   64
struct tst_work {
    const struct tst_chain *c;
    uint64_t rng;
    uint64_t height; /* of the next block */
    char org_id[32];
    uint8_t admin_pk[LEDGER_KEY_LEN], admin_sk[LEDGER_SECRET_LEN];
    uint8_t user_pk[LEDGER_KEY_LEN], user_sk[LEDGER_SECRET_LEN];   /* silent grants */
    uint8_t user2_pk[LEDGER_KEY_LEN], user2_sk[LEDGER_SECRET_LEN]; /* the approval grant */
    uint8_t appr_pk[3][LEDGER_KEY_LEN], appr_sk[3][LEDGER_SECRET_LEN];
    size_t n_seals;
    uint8_t seal_id[TST_WORK_MAX_SEALS][LEDGER_HASH_LEN];
    uint8_t seal_pk[TST_WORK_MAX_SEALS][LEDGER_KEY_LEN];
    uint8_t seal_sk[TST_WORK_MAX_SEALS][LEDGER_SECRET_LEN];
    uint8_t last_hist[TST_WORK_MAX_SEALS][LEDGER_HASH_LEN];
    bool suspended[TST_WORK_MAX_SEALS];
    uint8_t silent_grant[TST_WORK_MAX_SEALS][LEDGER_HASH_LEN];
    uint8_t appr_grant[LEDGER_HASH_LEN]; /* 2-of-3 on seal 0 */
    uint8_t pending[16][LEDGER_HASH_LEN];
    size_t n_pending;
    /* the txs of the block last returned */
    uint8_t *tx[TST_WORK_MAX_TXS];
    size_t tx_len[TST_WORK_MAX_TXS];
    struct ledger_txref refs[TST_WORK_MAX_TXS];
    size_t n_tx;
};
#define TST_BLOCK_MS 1000ull
void tst_work_init(struct tst_work *w, const struct tst_chain *c, uint64_t seed);
/* The txs of block w->height at tst_work_time(w); w->refs[0..n_tx). Then
 * w->height advances. uses_per_block bounds the uses. */
void tst_work_next(struct tst_work *w, size_t uses_per_block);
uint64_t tst_work_time(const struct tst_work *w);
void tst_work_free(struct tst_work *w);

/* SHA-256 over every state key and value of the store (all DBIs of the
 * state key space, ascending), with the count of entries. */
void tst_state_digest(struct ledger_store *s, uint8_t out[static LEDGER_HASH_LEN],
                      size_t *out_count);

#endif
