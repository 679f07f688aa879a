/* Test fixture: deterministic keys, a genesis of N validators, an in-memory
 * committed state, and block-by-block execution through ledger_exec. */
#ifndef SEALCHAIN_TESTS_UTIL_FIXTURE_H
#define SEALCHAIN_TESTS_UTIL_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/exec.h"
#include "ledger/genesis.h"
#include "ledger/state.h"
#include "proto/state.pb-c.h"

/* A test key pair (plain memory: test keys are not secrets). */
struct tfx_key {
    uint8_t pk[32];
    uint8_t sk[64];
};
/* The same (a, b) always gives the same key. */
void tfx_key_make(uint32_t a, uint32_t b, struct tfx_key *k);

/* In-memory committed state: a hash map implementing ledger_state_base. */
struct tfx_mem;
struct tfx_mem *tfx_mem_new(void);
void tfx_mem_free(struct tfx_mem *m);
/* Borrowed, valid while m lives. */
const struct ledger_state_base *tfx_mem_base(struct tfx_mem *m);
/* Copies every write of ov into m. Aborts on out-of-memory. */
void tfx_mem_commit(struct tfx_mem *m, struct ledger_overlay *ov);
size_t tfx_mem_count(const struct tfx_mem *m);

#define TFX_MAX_N        16
#define TFX_GENESIS_TIME 1790000000000ull /* 2026-09 */
#define TFX_BLOCK_MS     1000ull

/* A chain: genesis, keys, committed state, and the block being built. */
struct tfx_chain {
    struct ledger_genesis g;
    struct tfx_key node[TFX_MAX_N], admin[TFX_MAX_N];
    struct tfx_mem *mem;
    uint64_t height;        /* last committed height */
    uint64_t time_ms;       /* last committed block time (genesis time at 0) */
    uint8_t root[32];       /* state root at height */
    uint8_t tx_root[32];    /* tx root of the last block */
    struct ledger_exec *ex; /* the open block, or NULL */
    uint64_t ex_time;
    char errmsg[512];
};

/* A chain with n validators ("agency0".."agency<n-1>"), genesis orgs written. */
struct tfx_chain *tfx_chain_new(uint32_t n);
void tfx_chain_free(struct tfx_chain *c);

/* Opens block height+1 at time_ms (0: last time + TFX_BLOCK_MS) unless open. */
void tfx_block_open(struct tfx_chain *c, uint64_t time_ms);
/* ledger_exec_tx on the open block (opened at the default time if none).
 * Takes ownership of tx (freed). id may be NULL. Returns the ledger code. */
int tfx_submit(struct tfx_chain *c, uint8_t *tx, size_t len, uint8_t id[32]);
/* ledger_exec_check on the open block; does not take ownership. */
int tfx_check(struct tfx_chain *c, const uint8_t *tx, size_t len);
/* Finishes the open block and commits its writes (asserting success). */
void tfx_block_commit(struct tfx_chain *c);
/* Drops the open block without committing. */
void tfx_block_abort(struct tfx_chain *c);
/* One tx in a block of its own at the default time; commits even when refused
 * (an empty block). Takes ownership of tx. */
int tfx_run(struct tfx_chain *c, uint8_t *tx, size_t len, uint8_t id[32]);

/* A valid_until for transactions in the next block or two. */
uint64_t tfx_vu(const struct tfx_chain *c);

/* Reads through the open block if any, else committed state. Return
 * protobuf-c records (free with the matching __free_unpacked) or NULL. */
Sealchain__OrgRecord *tfx_org(struct tfx_chain *c, const char *org_id);
Sealchain__SealRecord *tfx_seal(struct tfx_chain *c, const uint8_t *id);
Sealchain__GrantRecord *tfx_grant(struct tfx_chain *c, const uint8_t *id);
Sealchain__UsageRecord *tfx_usage(struct tfx_chain *c, const uint8_t *id);
Sealchain__HistoryEntry *tfx_history(struct tfx_chain *c, const uint8_t seal_id[32], uint32_t seq);
/* Raw lookup: true when key exists; value copied into out (up to out_cap) if non-NULL. */
bool tfx_get(struct tfx_chain *c, const uint8_t *key, size_t key_len, uint8_t *out, size_t out_cap,
             size_t *out_len);
/* Builds prefix ‖ a ‖ b into key; returns its length. */
size_t tfx_key2(uint8_t *key, int prefix, const void *a, size_t a_len, const void *b, size_t b_len);

/* A ready-made world on a chain: org (filed by agency0) with admin key,
 * an official seal with a separate custodian, and a silent, unlimited grant
 * of it to user. Everything committed (3 blocks). */
struct tfx_world {
    struct tfx_chain *c;
    char org[19];
    struct tfx_key admin, custodian, seal_key, user, other;
    uint8_t seal[32], grant[32];
};
void tfx_world_init(struct tfx_world *w, uint32_t n_validators);
void tfx_world_close(struct tfx_world *w);
/* The seal's latest history entry (for lifecycle txs). */
void tfx_last(struct tfx_chain *c, const uint8_t seal[32], uint8_t out[32]);
/* A use by user of seal (signed with seal_key) under grant over a document
 * derived from doc; submitted to the open block. */
int tfx_use(struct tfx_chain *c, const struct tfx_key *user, const struct tfx_key *seal_key,
            const uint8_t seal[32], const uint8_t grant[32], uint32_t doc, uint8_t usage[32]);

/* A valid unified social credit code derived from n (distinct n, distinct codes). */
void tfx_credit_code(uint32_t n, char out[19]);

#endif
