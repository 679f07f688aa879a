/* Builders of signed transactions, for sealctl, tests and benchmarks. */
#ifndef SEALCHAIN_LEDGER_TXBUILD_H
#define SEALCHAIN_LEDGER_TXBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "proto/tx.pb-c.h"

/*
 * Every builder takes:
 *   g               the chain (borrowed; only g->hash is used, so it must be finished),
 *   sk              the signer's 64-byte libsodium secret key (borrowed; its public
 *                   half, sk + 32, becomes the envelope's signer),
 *   valid_until_ms  the body's valid_until (block time must not be after it),
 * and returns an encoded Tx in *out (malloc'd, owned by the caller, free()) and
 * its length in *out_len. A fresh random 16-byte nonce goes into each body,
 * and the body names sk's public key as its signer (TxBody.signer).
 * The builders check nothing about ledger rules (tests need invalid
 * transactions too); they return 0, LEDGER_E_INVALID (a NULL where a value is
 * required, or more than LEDGER_MAX_APPROVERS approvers) or LEDGER_E_NOMEM.
 * The tx id (= seal id, grant id, usage id) is ledger_tx_id(*out, *out_len).
 */

int ledger_txb_org_register(const struct ledger_genesis *g, const uint8_t sk[static 64],
                            uint64_t valid_until_ms, const char *org_id, const char *name,
                            const uint8_t admin[static LEDGER_KEY_LEN],
                            const uint8_t *legal_rep_hash /* 32 bytes or NULL */, uint8_t **out,
                            size_t *out_len);

/* Seal registration parameters; NULL/0 fields are left out of the body. */
struct ledger_txb_seal {
    const char *org_id;
    int type; /* Sealchain__SealType: SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL etc. */
    const char *name;
    const uint8_t *seal_key;   /* 32 bytes */
    const uint8_t *custodian;  /* 32 bytes or NULL (= org admin) */
    const uint8_t *image_hash; /* 32 bytes or NULL */
    uint64_t valid_from_ms, valid_to_ms;
};
int ledger_txb_seal_register(const struct ledger_genesis *g, const uint8_t sk[static 64],
                             uint64_t valid_until_ms, const struct ledger_txb_seal *p,
                             uint8_t **out, size_t *out_len);

/* Grant parameters. n_approvers == 0 means silent sealing (threshold 0). */
#define LEDGER_MAX_APPROVERS 16
struct ledger_txb_grant {
    const uint8_t *seal_id;  /* 32 */
    const uint8_t *user_key; /* 32 */
    uint64_t expires_ms;     /* 0 = none */
    uint32_t max_uses;       /* 0 = unlimited */
    const uint8_t (*approvers)[LEDGER_KEY_LEN];
    size_t n_approvers;
    uint32_t threshold;
    uint64_t approval_window_ms; /* 0 = default */
};
int ledger_txb_grant(const struct ledger_genesis *g, const uint8_t sk[static 64],
                     uint64_t valid_until_ms, const struct ledger_txb_grant *p, uint8_t **out,
                     size_t *out_len);

int ledger_txb_revoke_grant(const struct ledger_genesis *g, const uint8_t sk[static 64],
                            uint64_t valid_until_ms, const uint8_t seal_id[static LEDGER_HASH_LEN],
                            const uint8_t user_key[static LEDGER_KEY_LEN], uint8_t **out,
                            size_t *out_len);

/* Lifecycle: prev is the seal's latest history entry (SealRecord.last_history_tx).
 * reason may be NULL. */
int ledger_txb_suspend(const struct ledger_genesis *g, const uint8_t sk[static 64],
                       uint64_t valid_until_ms, const uint8_t seal_id[static LEDGER_HASH_LEN],
                       const uint8_t prev[static LEDGER_HASH_LEN], const char *reason,
                       uint8_t **out, size_t *out_len);
int ledger_txb_resume(const struct ledger_genesis *g, const uint8_t sk[static 64],
                      uint64_t valid_until_ms, const uint8_t seal_id[static LEDGER_HASH_LEN],
                      const uint8_t prev[static LEDGER_HASH_LEN], uint8_t **out, size_t *out_len);
int ledger_txb_destroy(const struct ledger_genesis *g, const uint8_t sk[static 64],
                       uint64_t valid_until_ms, const uint8_t seal_id[static LEDGER_HASH_LEN],
                       const uint8_t prev[static LEDGER_HASH_LEN], const char *reason,
                       uint8_t **out, size_t *out_len);

/* A use: sk is the user's key (signs the tx), seal_sk the seal's key (signs
 * ledger_seal_payload(doc_hash, seal_id, user_key, nonce) under LEDGER_TAG_SEAL).
 * out_use_nonce (16 bytes) and out_seal_sig (64 bytes) may be NULL; they
 * receive what a signature file needs. */
int ledger_txb_use(const struct ledger_genesis *g, const uint8_t sk[static 64],
                   uint64_t valid_until_ms, const uint8_t seal_sk[static 64],
                   const uint8_t seal_id[static LEDGER_HASH_LEN],
                   const uint8_t grant_id[static LEDGER_HASH_LEN],
                   const uint8_t doc_hash[static LEDGER_HASH_LEN], uint8_t *out_use_nonce,
                   uint8_t *out_seal_sig, uint8_t **out, size_t *out_len);

int ledger_txb_approve(const struct ledger_genesis *g, const uint8_t sk[static 64],
                       uint64_t valid_until_ms, const uint8_t usage[static LEDGER_HASH_LEN],
                       uint8_t **out, size_t *out_len);
/* reason may be NULL. */
int ledger_txb_reject(const struct ledger_genesis *g, const uint8_t sk[static 64],
                      uint64_t valid_until_ms, const uint8_t usage[static LEDGER_HASH_LEN],
                      const char *reason, uint8_t **out, size_t *out_len);

/* Low level, for tests that need odd bodies: packs body (borrowed, not
 * changed; its nonce, valid_until and signer are used as given, except that
 * an empty signer becomes sk's public key), signs it with sk and wraps it. */
int ledger_txb_sign_body(const struct ledger_genesis *g, const uint8_t sk[static 64],
                         const Sealchain__TxBody *body, uint8_t **out, size_t *out_len);

/* Wraps already-encoded body bytes with a signer key and a signature (both
 * borrowed, taken as given: tests use it to re-wrap or forge). */
int ledger_txb_wrap(const uint8_t *body, size_t body_len,
                    const uint8_t signer[static LEDGER_KEY_LEN],
                    const uint8_t sig[static LEDGER_SIG_LEN], uint8_t **out, size_t *out_len);

#endif
