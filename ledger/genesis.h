/* The genesis of a chain: validators, their filing authorities, the genesis hash. */
#ifndef SEALCHAIN_LEDGER_GENESIS_H
#define SEALCHAIN_LEDGER_GENESIS_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"

#define LEDGER_MAX_VALIDATORS 64
#define LEDGER_CHAIN_ID_MAX   64
#define LEDGER_ORG_ID_MAX     64
#define LEDGER_NAME_MAX       256

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
/* The primary of view v: v mod n (DESIGN.md §3), as in the consensus core.
 * g must be finished (g->n >= 1). */
uint32_t ledger_genesis_primary(const struct ledger_genesis *g, uint64_t view);

/* Checks g (1 <= n <= LEDGER_MAX_VALIDATORS, distinct node keys, distinct org ids,
 * non-empty strings) and computes g->hash from the canonical Genesis encoding.
 * Returns 0, LEDGER_E_INVALID (with a reason in errmsg, errmsg_len bytes) or NOMEM. */
int ledger_genesis_finish(struct ledger_genesis *g, char *errmsg, size_t errmsg_len);

/* Returns the index of the validator whose filing-authority admin_key is key, or -1. */
int ledger_genesis_authority_of(const struct ledger_genesis *g,
                                const uint8_t key[static LEDGER_KEY_LEN]);

/* The genesis file (INI, parsed strictly with libinih):
 *
 *   [chain]
 *   id = sealchain-local
 *   time_ms = 1795000000000       ; or: time = 2026-11-18T11:06:40Z (RFC 3339)
 *   [validator.0]
 *   node_key = <64 hex>
 *   org_id = agency0
 *   org_name = Agency 0
 *   admin_key = <64 hex>
 *
 * Exactly one of time_ms and time is given. Unknown or duplicate sections
 * and keys, bad hex, gaps in the validator
 * indexes, missing keys, indented (continuation) lines, lines over 196 bytes
 * and files over 1 MiB are refused with "line N: reason" in errmsg. On
 * success *out is filled and finished (hash computed); on failure *out is
 * untouched. Returns 0, LEDGER_E_NOT_FOUND (no such file), LEDGER_E_TOO_LARGE,
 * LEDGER_E_INVALID or LEDGER_E_NOMEM. */
int ledger_genesis_load(const char *path, struct ledger_genesis *out, char *errmsg,
                        size_t errmsg_len);

/* Same as ledger_genesis_load over text (borrowed): len bytes followed by a
 * '\0' at text[len]. A NUL byte inside the text is refused. */
int ledger_genesis_parse(const char *text, size_t len, struct ledger_genesis *out, char *errmsg,
                         size_t errmsg_len);

/* Writes g (checked with ledger_genesis_finish first) as a genesis file that
 * ledger_genesis_load reads back to the same hash; written to PATH.tmp, fsynced
 * and renamed. Returns 0, LEDGER_E_INVALID (bad g, or an I/O error: reason in
 * errmsg) or LEDGER_E_NOMEM. */
int ledger_genesis_write(const char *path, const struct ledger_genesis *g, char *errmsg,
                         size_t errmsg_len);

#endif
