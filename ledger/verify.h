/* Cross-agency verification (跨机构互认) of a document's seal signatures against committed state.
 */
#ifndef SEALCHAIN_LEDGER_VERIFY_H
#define SEALCHAIN_LEDGER_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "ledger/sigfile.h"
#include "ledger/state.h"
#include "ledger/store.h"

#define LEDGER_VERIFY_MAX_REASONS 6
#define LEDGER_VERIFY_REASON_LEN  200

/* The verdict on one seal signature of the file. Strings are NUL-terminated;
 * the *_name pointers are static strings ("active", "contract", ...). */
struct ledger_verify_sig {
    bool valid;
    size_t n_reasons; /* 0 when valid; further reasons are dropped */
    char reasons[LEDGER_VERIFY_MAX_REASONS][LEDGER_VERIFY_REASON_LEN];
    bool seal_found; /* seal fields below are set */
    struct {
        uint8_t seal_id[LEDGER_HASH_LEN];
        char org[LEDGER_ORG_ID_MAX + 1];
        int type; /* Sealchain__SealType */
        const char *type_name;
        char name[LEDGER_NAME_MAX + 1];
        int status; /* Sealchain__SealStatus: today's, as of the tip */
        const char *status_name;
    } seal;
    bool usage_found; /* usage fields below are set */
    struct {
        uint8_t usage[LEDGER_HASH_LEN];
        uint64_t height;
        uint64_t time_ms;
        uint64_t effective_height; /* 0 unless effective */
        int usage_status;          /* Sealchain__UsageStatus */
        const char *usage_status_name;
    } usage;
};

/* The verdict on a document. A large plain value (~30 KB): allocate it on
 * the heap. */
struct ledger_verify_report {
    bool valid; /* at least one signature, and every one valid */
    uint8_t doc_hash[LEDGER_HASH_LEN];
    uint64_t as_of_height;
    size_t n_reasons; /* file-level reasons (e.g. it does not parse) and a summary */
    char reasons[LEDGER_VERIFY_MAX_REASONS][LEDGER_VERIFY_REASON_LEN];
    size_t count; /* signatures in the file (0 when it does not parse) */
    struct ledger_verify_sig sigs[LEDGER_SIGFILE_MAX_SIGS];
};

/*
 * Verifies the signature file sigfile[0..len) (borrowed; may be NULL when
 * len is 0) for the document whose SHA-256 is doc_hash, against committed
 * state read through st (borrowed for the call; e.g. ledger_rtxn_base) at
 * height tip_height, for chain g. A seal signature is valid only if:
 *   - the file parses (ledger_sigfile_parse: strict, bounded, one document,
 *     no seal twice); otherwise no signature is valid;
 *   - it is for this chain (chain = g's genesis hash) and this document;
 *   - its seal exists ('S' key);
 *   - the seal signature verifies under that seal's key over
 *     ledger_seal_payload(doc_hash, seal_id, user_key, nonce), SEAL tag,
 *     this chain;
 *   - the use it names exists ('U' key) and is for that seal, that document,
 *     the same user, nonce and seal signature;
 *   - that use is effective.
 * A later suspension or destruction does not undo a past effective use: the
 * seal's status today is reported beside it. The report is always filled;
 * out->valid is the verdict. Returns 0 when the check ran (valid or not),
 * LEDGER_E_NOMEM, or a storage error from st (the report then says so).
 * usage_status is the stored one: a pending use whose approval window has
 * passed is still "pending" here until its grant is touched (lapse is lazy);
 * ledger_verify_document_store knows the tip's time and reports it "lapsed".
 */
int ledger_verify_document(const struct ledger_genesis *g, const struct ledger_state_base *st,
                           uint64_t tip_height, const uint8_t doc_hash[static LEDGER_HASH_LEN],
                           const uint8_t *sigfile, size_t len, struct ledger_verify_report *out);

/* The same over a store: one read snapshot, as of its tip, with the store's
 * genesis; a pending use past its approval window is reported "lapsed" as of
 * the tip's time, as the usage query does. Returns 0, LEDGER_E_STORE or
 * LEDGER_E_NOMEM. */
int ledger_verify_document_store(struct ledger_store *s,
                                 const uint8_t doc_hash[static LEDGER_HASH_LEN],
                                 const uint8_t *sigfile, size_t len,
                                 struct ledger_verify_report *out);

/* Static names for the contract's JSON: "official" "finance" "invoice"
 * "contract" "legal-rep" "personal" "other"; "active" "suspended"
 * "destroyed"; "effective" "pending" "rejected" "lapsed". "unknown" for
 * anything else. */
const char *ledger_seal_type_name(int type);
const char *ledger_seal_status_name(int status);
const char *ledger_usage_status_name(int status);

#endif
