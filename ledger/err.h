/* Error codes of the ledger: one enum, one string table (STYLE.md 4). */
#ifndef SEALCHAIN_LEDGER_ERR_H
#define SEALCHAIN_LEDGER_ERR_H

/* X(NAME, "message an operator understands"). Refusals named by CONTRACT.md
 * each have their own code, so tests and sealctl can tell them apart. */
#define LEDGER_ERRORS(X)                                                                           \
    X(OK, "ok")                                                                                    \
    X(NOMEM, "out of memory")                                                                      \
    X(INVALID, "invalid argument")                                                                 \
    X(MALFORMED, "malformed encoding")                                                             \
    X(TOO_LARGE, "input exceeds its size limit")                                                   \
    X(NOT_FOUND, "not found")                                                                      \
    X(BAD_SIGNATURE, "bad signature")                                                              \
    X(DUPLICATE_TX, "transaction already on chain")                                                \
    X(EXPIRED_TX, "transaction expired (valid_until has passed)")                                  \
    X(TX_TOO_FAR, "transaction valid_until is too far in the future")                              \
    X(BAD_FIELD, "a field has a wrong size or value")                                              \
    X(BAD_CREDIT_CODE, "bad unified social credit code")                                           \
    X(ORG_EXISTS, "organisation already filed")                                                    \
    X(UNKNOWN_ORG, "unknown organisation")                                                         \
    X(UNKNOWN_SEAL, "unknown seal")                                                                \
    X(NOT_AUTHORISED, "signer lacks the right for this transaction")                               \
    X(SEAL_SUSPENDED, "seal is suspended")                                                         \
    X(SEAL_DESTROYED, "seal is destroyed")                                                         \
    X(SEAL_NOT_ACTIVE, "seal is not active")                                                       \
    X(SEAL_NOT_SUSPENDED, "seal is not suspended (nothing to resume)")                             \
    X(SEAL_OUTSIDE_WINDOW, "seal is outside its validity window")                                  \
    X(SEAL_KEY_EXISTS, "seal key already registered")                                              \
    X(OFFICIAL_SEAL_EXISTS, "organisation already has an official seal")                           \
    X(STALE, "stale lifecycle transaction: the seal has changed since")                            \
    X(RESUME_ROLE, "resume needs at least the role that suspended the seal")                       \
    X(BAD_GRANT_RULE, "bad approval rule (need 1 <= m <= n distinct approvers, not the user)")     \
    X(GRANT_MISSING, "no such grant for this seal and user")                                       \
    X(GRANT_REVOKED, "grant revoked or replaced")                                                  \
    X(GRANT_EXPIRED, "grant expired")                                                              \
    X(GRANT_USED_UP, "grant has no uses left")                                                     \
    X(TOO_MANY_PENDING, "grant has too many uses awaiting approval")                               \
    X(BAD_SEAL_SIGNATURE, "bad seal signature")                                                    \
    X(UNKNOWN_USAGE, "unknown use")                                                                \
    X(NOT_APPROVER, "signer is not an approver of this grant")                                     \
    X(ALREADY_VOTED, "approver already approved or rejected this use")                             \
    X(USAGE_NOT_PENDING, "use is no longer pending")                                               \
    X(APPROVAL_INVALID, "approval refused: seal or grant no longer valid")                         \
    X(BAD_BLOCK, "block refused")                                                                  \
    X(BAD_PARENT, "block does not extend the chain tip")                                           \
    X(BAD_TIME, "block time not after its parent's")                                               \
    X(BAD_TX_ROOT, "transaction root mismatch")                                                    \
    X(BAD_STATE_ROOT, "state root mismatch")                                                       \
    X(BAD_CERT, "commit certificate invalid")                                                      \
    X(WRONG_CHAIN, "belongs to another chain (genesis hash differs)")                              \
    X(BAD_PROOF, "proof invalid")                                                                  \
    X(STORE, "storage error")                                                                      \
    X(FATAL, "ledger stopped after a fatal storage error")                                         \
    X(DUPLICATE_SIGNER, "signature file already holds a signature of this seal")                   \
    X(DOC_MISMATCH, "signature is for another document")                                           \
    X(NOT_EFFECTIVE, "use is not effective")                                                       \
    X(SIGNER_MISMATCH, "transaction signed by a key other than the signer its body names")         \
    X(BAD_PROPOSER, "block header names a proposer that is not the primary of its view")           \
    X(BAD_VIEW, "block header names a view other than the one it was proposed in")

#define LEDGER__ERR_ENUM(name, msg) LEDGER_E_##name,
enum ledger_err { LEDGER_ERRORS(LEDGER__ERR_ENUM) LEDGER_E__COUNT };
#undef LEDGER__ERR_ENUM

/* Returns a static string for a code; "unknown error" when out of range. */
const char *ledger_strerror(int code);

/* Returns "DUPLICATE_TX"-style names (stable, for JSON and tests). */
const char *ledger_errname(int code);

#include <stdarg.h>
#include <stddef.h>

/* The one error-message helper of the ledger and the node (consensus/, libc
 * only, keeps pbft__fail). Formats into errmsg[0..errmsg_len) (nothing when
 * errmsg is NULL or errmsg_len is 0) and returns code, so that a refusal is
 * one statement:
 *     return ledger_errf(LEDGER_E_BAD_FIELD, errmsg, errmsg_len, "...", ...); */
int ledger_errf(int code, char *errmsg, size_t errmsg_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with a va_list, for wrappers that add an object's own buffer. */
int ledger_verrf(int code, char *errmsg, size_t errmsg_len, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif
