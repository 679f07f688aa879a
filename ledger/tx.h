/* The transaction envelope: strict decoding, identity, and the signer's signature. */
#ifndef SEALCHAIN_LEDGER_TX_H
#define SEALCHAIN_LEDGER_TX_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "proto/tx.pb-c.h"

/*
 * A decoded transaction. Decoding is in two steps so that replay can be
 * checked on the id before anything else is looked at (DESIGN §4: the same
 * body re-wrapped in another envelope is the same transaction):
 *   ledger_tx_open()  decodes the envelope, checks the field sizes, and
 *                     computes id = SHA-256(body bytes exactly as signed);
 *   ledger_tx_parse() then requires the envelope and the body to be the
 *                     canonical encoding (no unknown field, no duplicate or
 *                     out-of-order field, no default value written, no
 *                     trailing byte), decodes the body, and requires the
 *                     body to name the envelope's signer (TxBody.signer).
 * Both are "cheap" checks; ledger_tx_check_sig() is the expensive one.
 */
struct ledger_tx {
    Sealchain__Tx *env;      /* owned; its buffers point into nothing borrowed */
    Sealchain__TxBody *body; /* owned, NULL until ledger_tx_parse() succeeds */
    uint8_t id[LEDGER_HASH_LEN];
    const uint8_t *signer; /* env->signer.data (32 bytes), valid while env lives */
};

/* Decodes the envelope of the encoded Tx buf[0..len) (borrowed for the call).
 * On success *tx owns its memory (release with ledger_tx_close); on failure
 * *tx needs no close. Returns 0, LEDGER_E_TOO_LARGE (len > LEDGER_MAX_TX_LEN),
 * LEDGER_E_MALFORMED, LEDGER_E_BAD_FIELD (signer not 32 bytes, signature not
 * 64, empty body) or LEDGER_E_NOMEM; a reason goes to errmsg (may be NULL). */
/* ledger_tx_open for a tx whose id the caller computed from these very bytes
 * (ledger_tx_id, or an earlier open): known_id is used instead of hashing the
 * body again. NULL: as ledger_tx_open. */
int ledger_tx_open_known(const uint8_t *buf, size_t len, const uint8_t *known_id,
                         struct ledger_tx *tx, char *errmsg, size_t errmsg_len);
int ledger_tx_open(const uint8_t *buf, size_t len, struct ledger_tx *tx, char *errmsg,
                   size_t errmsg_len);

/* Strict part of the decoding (see above); buf/len must be the bytes given
 * to ledger_tx_open. Returns 0, LEDGER_E_MALFORMED, LEDGER_E_BAD_FIELD (the
 * body names no 32-byte signer), LEDGER_E_SIGNER_MISMATCH (the envelope's
 * signer is not the one the body names) or LEDGER_E_NOMEM. */
int ledger_tx_parse(struct ledger_tx *tx, const uint8_t *buf, size_t len, char *errmsg,
                    size_t errmsg_len);

/* Verifies the signer's Ed25519 signature over tag TX ‖ genesis ‖ body.
 * Returns 0, LEDGER_E_BAD_SIGNATURE or LEDGER_E_NOMEM. */
int ledger_tx_check_sig(const struct ledger_tx *tx, const uint8_t genesis[static LEDGER_HASH_LEN]);

/* Frees what ledger_tx_open/parse allocated; safe on a zeroed struct. */
void ledger_tx_close(struct ledger_tx *tx);

/* The id of an encoded Tx: SHA-256 of its body bytes. Only the envelope is
 * decoded. Returns 0, LEDGER_E_MALFORMED or LEDGER_E_TOO_LARGE. */
int ledger_tx_id(const uint8_t *tx, size_t len, uint8_t id[static LEDGER_HASH_LEN]);

/* Short lowercase-hex prefix of an id or key for messages: "7f3a9c01…"
 * (8 hex digits and an ellipsis). out must hold LEDGER_SHORT_HEX bytes. */
#define LEDGER_SHORT_HEX 16
void ledger_short_hex(const uint8_t *in, char out[static LEDGER_SHORT_HEX]);

#endif
