/* The genesis of a chain: validators, their filing authorities, the genesis hash. */
#ifndef SEALCHAIN_LEDGER_GENESIS_H
#define SEALCHAIN_LEDGER_GENESIS_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"

#define LEDGER_MAX_VALIDATORS 64
#define LEDGER_CHAIN_ID_MAX 64
#define LEDGER_ORG_ID_MAX 64
#define LEDGER_NAME_MAX 256

struct ledger_validator {
    uint8_t node_key[LEDGER_KEY_LEN];
    char org_id[LEDGER_ORG_ID_MAX + 1];
    char org_name[LEDGER_NAME_MAX + 1];
    uint8_t admin_key[LEDGER_KEY_LEN];
};

/* Plain value, no heap: copy freely. */
struct ledger_genesis {
    char chain_id[LEDGER_CHAIN_ID_MAX + 1];
    uint64_t time_ms;
    uint32_t n; /* validators */
    struct ledger_validator validators[LEDGER_MAX_VALIDATORS];
    uint8_t hash[LEDGER_HASH_LEN]; /* filled by ledger_genesis_finish() */
};

/* f = ⌊(n−1)/3⌋ and q = ⌈(n+f+1)/2⌉: the same numbers as the consensus core. */
uint32_t ledger_genesis_f(uint32_t n);
uint32_t ledger_genesis_quorum(uint32_t n);

/* Checks g (1 <= n <= LEDGER_MAX_VALIDATORS, distinct node keys, distinct org ids,
 * non-empty strings) and computes g->hash from the canonical Genesis encoding.
 * Returns 0, LEDGER_E_INVALID (with a reason in errmsg, errmsg_len bytes) or NOMEM. */
int ledger_genesis_finish(struct ledger_genesis *g, char *errmsg, size_t errmsg_len);

/* Returns the index of the validator whose filing-authority admin_key is key, or -1. */
int ledger_genesis_authority_of(const struct ledger_genesis *g,
                                const uint8_t key[static LEDGER_KEY_LEN]);

#endif
