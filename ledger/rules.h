/* Internal: the transaction rules (one check and one apply per type) and the
 * plain-C forms of the state records they read and write. */
#ifndef SEALCHAIN_LEDGER_RULES_H
#define SEALCHAIN_LEDGER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/exec.h"
#include "ledger/genesis.h"
#include "ledger/state.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "proto/state.pb-c.h"

/*
 * Decisions where DESIGN.md §1 is silent (the model test in
 * tests/unit/test_model.c encodes the same ones):
 *  - Replay is checked on the id before the body is strictly decoded, so the
 *    same body in any other envelope is DUPLICATE_TX; otherwise envelope and
 *    body must be the canonical protobuf encoding (MALFORMED).
 *  - valid_until_ms == block time is still valid; more than
 *    LEDGER_MAX_TX_VALIDITY_MS ahead is TX_TOO_FAR.
 *  - Seal windows and grant expiry are inclusive: usable at valid_from,
 *    valid_to and expires_ms exactly. A grant whose expiry is already past
 *    is refused (GRANT_EXPIRED).
 *  - Names are 1..LEDGER_TEXT_MAX bytes, reasons 0..LEDGER_TEXT_MAX, neither
 *    with control characters.
 *  - Grants are managed by the custodian or the org admin only (not the
 *    filing authority); granting a suspended seal is refused; revoking is
 *    allowed whatever the seal's state.
 *  - Suspend/resume: custodian or org admin (the filing authority may
 *    register and destroy, not suspend). Resuming an active seal is
 *    SEAL_NOT_SUSPENDED. A suspended seal may be destroyed.
 *  - Roles: the highest the signer holds among those the tx allows.
 *  - A use naming a replaced grant is GRANT_REVOKED; naming a grant of
 *    another seal, GRANT_MISSING; another user's grant, NOT_AUTHORISED.
 *  - At most LEDGER_MAX_PENDING uses await approval per grant
 *    (TOO_MANY_PENDING).
 *  - Votes: NOT_APPROVER, then ALREADY_VOTED, then USAGE_NOT_PENDING. Only
 *    the approval that reaches m is checked against the seal and grant;
 *    earlier approvals and all rejections are recorded whatever their state.
 *  - A lapsed use's decided_ms is the end of its window (usage time +
 *    window), not the block that noticed it.
 */

/* Bounds on free text in transactions (names, reasons), in bytes of UTF-8. */
#define LEDGER_TEXT_MAX LEDGER_NAME_MAX
/* A grant holds at most this many uses awaiting approval: the pending list is
 * rewritten with the grant on every use, so it must stay small. Lapse (7 days
 * by default) and decisions drain it. */
#define LEDGER_MAX_PENDING 256

/* Short names for the state.proto enums used throughout the rules. */
#define ROLE_NONE       SEALCHAIN__ROLE__ROLE_NONE
#define ROLE_USER       SEALCHAIN__ROLE__ROLE_USER
#define ROLE_CUSTODIAN  SEALCHAIN__ROLE__ROLE_CUSTODIAN
#define ROLE_ORG_ADMIN  SEALCHAIN__ROLE__ROLE_ORG_ADMIN
#define ROLE_AUTHORITY  SEALCHAIN__ROLE__ROLE_AUTHORITY
#define SEAL_ACTIVE     SEALCHAIN__SEAL_STATUS__SEAL_STATUS_ACTIVE
#define SEAL_SUSPENDED  SEALCHAIN__SEAL_STATUS__SEAL_STATUS_SUSPENDED
#define SEAL_DESTROYED  SEALCHAIN__SEAL_STATUS__SEAL_STATUS_DESTROYED
#define USAGE_EFFECTIVE SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE
#define USAGE_PENDING   SEALCHAIN__USAGE_STATUS__USAGE_STATUS_PENDING
#define USAGE_REJECTED  SEALCHAIN__USAGE_STATUS__USAGE_STATUS_REJECTED
#define USAGE_LAPSED    SEALCHAIN__USAGE_STATUS__USAGE_STATUS_LAPSED
#define HIST_REGISTER   SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_REGISTER
#define HIST_SUSPEND    SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_SUSPEND
#define HIST_RESUME     SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_RESUME
#define HIST_DESTROY    SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_DESTROY

/* Records (proto/state.proto) as plain structs; the rules decode, change and
 * re-encode them (ledger__*_get / ledger__*_put below). */
struct ledger__org {
    char org_id[LEDGER_ORG_ID_MAX + 1];
    char name[LEDGER_NAME_MAX + 1];
    uint8_t admin[LEDGER_KEY_LEN];
    bool has_legal_rep, has_tx, has_official;
    uint8_t legal_rep[LEDGER_HASH_LEN];
    uint32_t authority;
    uint64_t registered_height;
    uint8_t tx[LEDGER_HASH_LEN];
    uint8_t official[LEDGER_HASH_LEN];
};

struct ledger__seal {
    uint8_t id[LEDGER_HASH_LEN];
    char org_id[LEDGER_ORG_ID_MAX + 1];
    int type;
    char name[LEDGER_NAME_MAX + 1];
    uint8_t seal_key[LEDGER_KEY_LEN];
    uint8_t custodian[LEDGER_KEY_LEN];
    bool has_image;
    uint8_t image[LEDGER_HASH_LEN];
    uint64_t valid_from, valid_to;
    int status;
    int suspended_by;
    uint8_t last[LEDGER_HASH_LEN];
    uint32_t history_count;
    uint64_t registered_height;
};

struct ledger__grant {
    uint8_t id[LEDGER_HASH_LEN], seal_id[LEDGER_HASH_LEN], user[LEDGER_KEY_LEN];
    uint64_t expires;
    uint32_t max_uses, uses;
    uint8_t approvers[LEDGER_MAX_APPROVERS][LEDGER_KEY_LEN];
    size_t n_approvers;
    uint32_t threshold;
    uint64_t window;
    bool revoked;
    uint64_t height, time_ms;
    uint8_t pending[LEDGER_MAX_PENDING][LEDGER_HASH_LEN];
    size_t n_pending;
};

struct ledger__usage {
    uint8_t id[LEDGER_HASH_LEN], seal_id[LEDGER_HASH_LEN], grant[LEDGER_HASH_LEN];
    uint8_t user[LEDGER_KEY_LEN], doc[LEDGER_HASH_LEN], nonce[LEDGER_NONCE_LEN];
    uint8_t sig[LEDGER_SIG_LEN];
    uint64_t height, time_ms;
    int status;
    uint64_t effective_height;
    uint8_t approvals[LEDGER_MAX_APPROVERS][LEDGER_KEY_LEN];
    uint8_t rejections[LEDGER_MAX_APPROVERS][LEDGER_KEY_LEN];
    uint8_t approval_txs[LEDGER_MAX_APPROVERS][LEDGER_HASH_LEN];
    size_t n_approvals, n_rejections, n_approval_txs;
    uint64_t decided_ms;
};

/* One transaction's execution context. */
struct ledger__ctx {
    const struct ledger_genesis *g;
    struct ledger_overlay *ov;
    uint64_t height, time_ms;
    uint32_t index; /* position of the tx in its block */
    const struct ledger_tx *tx;
    char *errmsg;
    size_t errmsg_len;
    struct ledger_sigjobs *collect; /* non-NULL: list signature checks, do not make them */
    bool sigs_known;                /* verified on this node before: skip the Ed25519 work */
};

/* Every signature check of a rule goes through here: it verifies, or when
 * c->collect is set, lists the check for ledger_sigjobs_verify and passes.
 * code is the refusal a failure gives. Returns 0 or code. */
int ledger__verify(struct ledger__ctx *c, int tag, int code, const uint8_t *payload, size_t len,
                   const uint8_t key[static LEDGER_KEY_LEN],
                   const uint8_t sig[static LEDGER_SIG_LEN]);

/* What a check loaded, for its apply to reuse (heap: grants are large). */
struct ledger__work {
    struct ledger__org org;
    struct ledger__seal seal;
    struct ledger__grant grant; /* the grant acted on */
    struct ledger__grant old;   /* a grant's predecessor, if live (replaced) */
    bool has_old;
    struct ledger__usage usage;
    size_t lapsable; /* pending uses at the front of grant.pending that have lapsed */
    int role;        /* the signer's role for this tx (Role) */
};

/* Sets errmsg ("seal 7f3a…: suspended") and returns code. */
int ledger__fail(struct ledger__ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record I/O through c->ov. get: 0, LEDGER_E_NOT_FOUND, LEDGER_E_STORE (a
 * record that does not decode: the store is corrupt) or NOMEM. put: 0 or NOMEM. */
int ledger__org_get(struct ledger__ctx *c, const char *org_id, struct ledger__org *out);
int ledger__org_put(struct ledger__ctx *c, const struct ledger__org *o);
int ledger__seal_get(struct ledger__ctx *c, const uint8_t id[LEDGER_HASH_LEN],
                     struct ledger__seal *out);
int ledger__seal_put(struct ledger__ctx *c, const struct ledger__seal *s);
int ledger__grant_get(struct ledger__ctx *c, const uint8_t id[LEDGER_HASH_LEN],
                      struct ledger__grant *out);
int ledger__grant_put(struct ledger__ctx *c, const struct ledger__grant *gr);
int ledger__usage_get(struct ledger__ctx *c, const uint8_t id[LEDGER_HASH_LEN],
                      struct ledger__usage *out);
int ledger__usage_put(struct ledger__ctx *c, const struct ledger__usage *u);
/* Appends history entry seq = s->history_count for the current tx; reason may be NULL. */
int ledger__history_put(struct ledger__ctx *c, const struct ledger__seal *s, int action, int role,
                        const char *reason);
/* Raw 32-byte values under a key built from prefix ‖ a ‖ b (b may be NULL). */
int ledger__raw_get(struct ledger__ctx *c, int prefix, const uint8_t *a, size_t a_len,
                    const uint8_t *b, size_t b_len, uint8_t out[LEDGER_HASH_LEN]);
int ledger__raw_put(struct ledger__ctx *c, int prefix, const uint8_t *a, size_t a_len,
                    const uint8_t *b, size_t b_len, const uint8_t *val, size_t val_len);
/* prefix ‖ a(32) ‖ height(u64be) ‖ index(u32be) -> val(32): the ordered per-seal indexes. */
int ledger__index_put(struct ledger__ctx *c, int prefix, const uint8_t a[LEDGER_HASH_LEN],
                      const uint8_t val[LEDGER_HASH_LEN]);
/* 'T' tx_id -> TxLocation(height, index). */
int ledger__txloc_put(struct ledger__ctx *c);

/* Field checks that set errmsg: text (bounded, no control characters) and
 * bytes of an exact length (or empty when may_be_empty). 0 or BAD_FIELD. */
int ledger__check_text(struct ledger__ctx *c, const char *what, const char *s, bool may_be_empty);
int ledger__check_len(struct ledger__ctx *c, const char *what, ProtobufCBinaryData b, size_t len,
                      bool may_be_empty);

/* Shared predicates. */
bool ledger__seal_in_window(const struct ledger__seal *s, uint64_t t);
bool ledger__grant_expired(const struct ledger__grant *gr, uint64_t t);
/* The one "seal usable" rule (grant, use, approval): 0, or
 * LEDGER_E_SEAL_DESTROYED, LEDGER_E_SEAL_SUSPENDED or (when window)
 * LEDGER_E_SEAL_OUTSIDE_WINDOW at block time, with *why a static phrase
 * ("destroyed", "suspended", "outside its validity window"). */
int ledger__seal_unusable(const struct ledger__ctx *c, const struct ledger__seal *s, bool window,
                          const char **why);
/* The one "grant live" rule (use, approval): 0, or LEDGER_E_GRANT_REVOKED
 * (revoked, or no longer the live grant of its seal and user) or
 * LEDGER_E_GRANT_EXPIRED at block time, with *why a static phrase; or a
 * store error from reading the live-grant index. */
int ledger__grant_unusable(struct ledger__ctx *c, const struct ledger__grant *gr, const char **why);
bool ledger__usage_lapsed(uint64_t usage_time, uint64_t window, uint64_t t);
/* The signer's role toward seal s of org o among those allowed (a mask of
 * 1u << Role), or ROLE_NONE. */
int ledger__role(const struct ledger__ctx *c, const struct ledger__org *o,
                 const struct ledger__seal *s, unsigned allowed);
#define LEDGER__ALLOW(role) (1u << (role))

/* One rule per transaction type: check reads only (and fills w), verify does
 * the expensive signature checks beyond the tx signature (may be NULL), apply
 * writes (can only fail with NOMEM). */
struct ledger__rule {
    const char *name;
    int (*check)(struct ledger__ctx *c, struct ledger__work *w);
    int (*verify)(struct ledger__ctx *c, struct ledger__work *w);
    int (*apply)(struct ledger__ctx *c, struct ledger__work *w);
};
/* The rule for a body's op, or NULL when there is none. */
const struct ledger__rule *ledger__rule_for(int op_case);

extern const struct ledger__rule ledger__rule_org_register, ledger__rule_seal_register,
    ledger__rule_grant, ledger__rule_revoke_grant, ledger__rule_suspend, ledger__rule_resume,
    ledger__rule_destroy, ledger__rule_use, ledger__rule_approve, ledger__rule_reject;

/* Hex prefix helper for messages: returns buf. */
const char *ledger__short(const uint8_t *id, char buf[LEDGER_SHORT_HEX]);

#endif
