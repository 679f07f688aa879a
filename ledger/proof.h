/* 举证: proof bundles of effective uses, exported from a store, verified offline. */
#ifndef SEALCHAIN_LEDGER_PROOF_H
#define SEALCHAIN_LEDGER_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "ledger/store.h"

#define LEDGER_PROOF_VERSION 1
/* An approval grant has at most LEDGER_MAX_APPROVERS (16) approvers and a use
 * becomes effective with exactly `threshold` of them, so a bundle never
 * carries more approvals than that. */
#define LEDGER_PROOF_MAX_APPROVALS 16
/* One proven tx: a tx (<= LEDGER_MAX_TX_LEN = 4 KiB), a path of at most 32
 * siblings (~1.1 KiB), a header (< 512 B) and a certificate (<= 8 KiB for 64
 * validators): under 14 KiB. 3 + 16 of them stay under 270 KiB; 512 KiB is
 * the cap checked before decoding. */
#define LEDGER_PROOF_MAX_LEN (512u * 1024u)
/* Reasons kept in a result; further ones are counted in n_reasons_dropped. */
#define LEDGER_PROOF_MAX_REASONS 8
#define LEDGER_PROOF_REASON_LEN  200

/* The verdict on a bundle. Plain value, no heap. Fields other than valid and
 * reasons are filled as far as the bundle could be read (zero otherwise) and
 * are only trustworthy when valid is true. */
struct ledger_proof_result {
    bool valid;
    size_t n_reasons; /* 0 when valid */
    size_t n_reasons_dropped;
    char reasons[LEDGER_PROOF_MAX_REASONS][LEDGER_PROOF_REASON_LEN];
    uint8_t seal_id[LEDGER_HASH_LEN];
    char org[LEDGER_ORG_ID_MAX + 1];
    uint8_t doc_hash[LEDGER_HASH_LEN];
    uint8_t usage[LEDGER_HASH_LEN]; /* the use's tx id */
    uint8_t user_key[LEDGER_KEY_LEN];
    uint64_t height;           /* block of the use */
    uint64_t time_ms;          /* that block's time */
    uint64_t effective_height; /* the use's block (silent grant) or the m-th approval's */
};

/*
 * Verifies an encoded ProofBundle OFFLINE against genesis g (borrowed): no
 * store, no socket, no clock. Checks, in order (each failure adds a reason):
 *  1. strict decoding (ledger/codec.h), at most LEDGER_PROOF_MAX_LEN bytes,
 *     version 1, all of seal_register, grant, use present, at most
 *     LEDGER_PROOF_MAX_APPROVALS approvals;
 *  2. for each proven tx: the tx decodes strictly (ledger_tx_open/parse:
 *     its body names the envelope's signer); its header decodes strictly,
 *     its chain is g's genesis hash, its tx_count >= 1 and index <
 *     tx_count, its proposer is the primary of its view; the certificate is
 *     valid for (header.height, SHA-256(header bytes)) under g
 *     (ledger_cert_check: q distinct genesis validators, COMMIT tag, this
 *     chain) and its view is not lower than the header's; the Merkle path
 *     (<= LEDGER_MERKLE_MAX_DEPTH siblings of 32 bytes) leads from the tx id
 *     at index of tx_count leaves to header.tx_root; the signer's tx
 *     signature verifies (TX tag, this chain);
 *  3. the kinds: seal_register is a SealRegister, grant a SealGrant, use a
 *     SealUse, each approval a UsageApprove;
 *  4. the seal: the use names seal_register's tx id as its seal, the grant is
 *     for that seal, and the registration comes before the grant and the
 *     grant before the use (lower height, or same height and lower index);
 *  5. the grant: the use names the grant's tx id, and the use's signer is the
 *     grant's user (so the user's tx signature checked in 2 is under the
 *     grant's user key);
 *  6. the seal signature (64 bytes) verifies under the registered seal key
 *     (SEAL tag, this chain) over doc_hash ‖ seal_id ‖ user key ‖ nonce;
 *  7. approvals: a silent grant (no approvers) has none, and the use is
 *     effective in its own block; otherwise 1 <= threshold <= approvers,
 *     exactly `threshold` approvals (the one that reaches m makes the use
 *     effective; the chain refuses any later one), each approving this use,
 *     signed by an approver of the grant, no approver twice, in strict chain
 *     order after the use; the effective height is the last one's block;
 *  8. one chain: proven txs at the same height come from the same block
 *     (two certified blocks at one height would be a fork, not evidence).
 * What is not re-checked: the rules that made each tx valid at its block
 * time (seal active and in its window, grant live, counts, approval window):
 * q validators executed every certified block before committing it.
 * Returns 0 when valid; otherwise out->valid is false, the reasons say why
 * and the code is LEDGER_E_BAD_PROOF (LEDGER_E_NOMEM if memory ran out).
 */
int ledger_proof_verify(const struct ledger_genesis *g, const uint8_t *bundle, size_t len,
                        struct ledger_proof_result *out);

/*
 * Builds the bundle for the use whose tx id is usage, from the store's
 * committed chain (one read snapshot): the use, the grant it names, the
 * approvals that made it effective (UsageRecord.approval_txs, in chain
 * order) and the seal's registration, each with its index, Merkle path,
 * header bytes and the block's commit certificate. The result is checked
 * with ledger_proof_verify before it is returned, so a bundle that would not
 * verify is never handed out.
 * *out is malloc'd, owned by the caller. Returns 0, LEDGER_E_UNKNOWN_USAGE,
 * LEDGER_E_NOT_EFFECTIVE (pending, rejected or lapsed: no proof of a use
 * that did not take effect), LEDGER_E_NOT_FOUND / LEDGER_E_STORE /
 * LEDGER_E_MALFORMED (a store that lacks or garbles what its indexes name),
 * LEDGER_E_BAD_PROOF (self-check failed) or NOMEM; a reason goes to errmsg.
 */
int ledger_proof_export(struct ledger_store *s, const uint8_t usage[static LEDGER_HASH_LEN],
                        uint8_t **out, size_t *out_len, char *errmsg, size_t errmsg_len);

#endif
