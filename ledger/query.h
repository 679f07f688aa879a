/* Read-only queries of the operator contract: blocks, txs, orgs, seals, usages. */
#ifndef SEALCHAIN_LEDGER_QUERY_H
#define SEALCHAIN_LEDGER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "ledger/store.h"
#include "proto/state.pb-c.h"

/*
 * Every query reads through a read snapshot (struct ledger_rtxn), so several
 * queries answered together see one state. Results are copied out of LMDB:
 * they are owned by the caller, outlive the snapshot, and are released with
 * the matching _close (or protobuf-c's free_unpacked for a bare record).
 * Protobuf records are the stored proto/state.proto records as decoded.
 * Lookups return 0, LEDGER_E_NOT_FOUND, LEDGER_E_MALFORMED (a stored record
 * that does not decode: a corrupt store), LEDGER_E_STORE or LEDGER_E_NOMEM.
 */

/* Lists are capped: a seal may have a million usages. */
#define LEDGER_Q_LIST_MAX 1000

/* `block HEIGHT` */
struct ledger_q_block {
    uint64_t height;
    uint8_t hash[LEDGER_HASH_LEN];
    uint8_t prev_hash[LEDGER_HASH_LEN];
    uint64_t time_ms;
    uint32_t proposer;
    uint64_t view; /* the certificate's view (the block's view) */
    uint8_t tx_root[LEDGER_HASH_LEN];
    uint8_t state_root[LEDGER_HASH_LEN];
    size_t n_txs;
    uint8_t (*tx_ids)[LEDGER_HASH_LEN]; /* owned */
    size_t n_signers;
    uint32_t *signers; /* owned: the certificate's validator indexes */
};
int ledger_q_block_by_height(struct ledger_rtxn *r, uint64_t height, struct ledger_q_block *out);
int ledger_q_block_by_hash(struct ledger_rtxn *r, const uint8_t hash[static LEDGER_HASH_LEN],
                           struct ledger_q_block *out);
/* Frees the arrays; safe on a zeroed or closed struct. */
void ledger_q_block_close(struct ledger_q_block *b);

/* `tx HASH` */
struct ledger_q_tx {
    uint8_t hash[LEDGER_HASH_LEN];
    int type; /* Sealchain__TxBody__OpCase */
    uint8_t signer[LEDGER_KEY_LEN];
    uint64_t height;
    uint32_t index;
    uint64_t time_ms; /* its block's time */
};
int ledger_q_tx(struct ledger_rtxn *r, const uint8_t id[static LEDGER_HASH_LEN],
                struct ledger_q_tx *out);
/* "org_register", "seal_register", "seal_grant", "seal_revoke_grant",
 * "seal_suspend", "seal_resume", "seal_destroy", "seal_use", "usage_approve",
 * "usage_reject"; "unknown" otherwise. Static strings. */
const char *ledger_q_tx_type_name(int type);

/* `org show ORGID`: *out owned (sealchain__org_record__free_unpacked). */
int ledger_q_org(struct ledger_rtxn *r, const char *org_id, Sealchain__OrgRecord **out);

/* `seal show ID`: the record, its whole history (oldest first, the
 * registration first) and its grants in the order they were made (at most
 * LEDGER_Q_LIST_MAX; more_grants when there are others). Revoked and
 * replaced grants are included with revoked = true. */
struct ledger_q_seal {
    Sealchain__SealRecord *seal;
    size_t n_history;
    Sealchain__HistoryEntry **history;
    size_t n_grants;
    Sealchain__GrantRecord **grants;
    bool more_grants;
};
int ledger_q_seal(struct ledger_rtxn *r, const uint8_t seal_id[static LEDGER_HASH_LEN],
                  struct ledger_q_seal *out);
void ledger_q_seal_close(struct ledger_q_seal *s);

/* One use as `usage` reports it. status is rec->status as of the snapshot's
 * tip time: a use still pending after its grant's approval window is
 * reported LAPSED (Sealchain__UsageStatus), as the rules would treat it. */
struct ledger_q_usage {
    Sealchain__UsageRecord *rec;
    char org_id[LEDGER_ORG_ID_MAX + 1]; /* the seal's organisation */
    int status;
};
int ledger_q_usage(struct ledger_rtxn *r, const uint8_t usage_id[static LEDGER_HASH_LEN],
                   struct ledger_q_usage *out);
void ledger_q_usage_close(struct ledger_q_usage *u);

struct ledger_q_usages {
    size_t count;
    struct ledger_q_usage *items; /* owned */
    bool more;                    /* the list was cut at limit */
};
/* `usage --doc-hash HEX`: every use of a document (in usage id order). */
int ledger_q_usages_by_doc(struct ledger_rtxn *r, const uint8_t doc_hash[static LEDGER_HASH_LEN],
                           size_t limit, struct ledger_q_usages *out);
/* The uses of a seal in chain order, from block from_height on; limit is
 * capped at LEDGER_Q_LIST_MAX. Page on with from_height = last height
 * (repeating those of that height that were already seen is the caller's
 * to skip) or simply ask from the last height + 1. */
int ledger_q_usages_by_seal(struct ledger_rtxn *r, const uint8_t seal_id[static LEDGER_HASH_LEN],
                            uint64_t from_height, size_t limit, struct ledger_q_usages *out);
void ledger_q_usages_close(struct ledger_q_usages *u);

#endif
