/* The signature file (DOC.seal): one or more seal signatures over one document. */
#ifndef SEALCHAIN_LEDGER_SIGFILE_H
#define SEALCHAIN_LEDGER_SIGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"

#define LEDGER_SIGFILE_VERSION 1
/* A contract is sealed by its parties, rarely more than a handful; 16 seals
 * on one document is generous and keeps a parsed file a plain ~4 KB value. */
#define LEDGER_SIGFILE_MAX_SIGS 16
/* One SealSignature encodes to 254 bytes (240 bytes of fixed-size fields and
 * 14 of tags and lengths) plus 3 of framing in the file: 16 of them and the
 * version make 4,114 bytes. 8 KiB is the cap checked before decoding. */
#define LEDGER_SIGFILE_MAX_LEN 8192

/* One seal signature as it travels with the document (evidence.proto
 * SealSignature), every field at its fixed size. Plain value. */
struct ledger_seal_sig {
    uint8_t chain[LEDGER_HASH_LEN]; /* genesis hash of the chain the use is on */
    uint8_t seal_id[LEDGER_HASH_LEN];
    uint8_t doc_hash[LEDGER_HASH_LEN];
    uint8_t user_key[LEDGER_KEY_LEN];
    uint8_t use_nonce[LEDGER_NONCE_LEN];
    uint8_t seal_signature[LEDGER_SIG_LEN];
    uint8_t usage[LEDGER_HASH_LEN]; /* the use's tx id */
};

/* A parsed signature file. Plain value, no heap. */
struct ledger_sigfile {
    size_t count; /* 1..LEDGER_SIGFILE_MAX_SIGS after a successful parse */
    struct ledger_seal_sig sigs[LEDGER_SIGFILE_MAX_SIGS];
};

/*
 * Parses buf (borrowed for the call) strictly into *out:
 *   - at most LEDGER_SIGFILE_MAX_LEN bytes (LEDGER_E_TOO_LARGE, before decoding);
 *   - the canonical encoding, no unknown field, no trailing byte
 *     (ledger_decode_strict; LEDGER_E_MALFORMED);
 *   - version LEDGER_SIGFILE_VERSION, 1..LEDGER_SIGFILE_MAX_SIGS signatures,
 *     every field of every signature at its exact size (LEDGER_E_BAD_FIELD);
 *   - every signature for the same document hash (LEDGER_E_DOC_MISMATCH);
 *   - no seal twice (LEDGER_E_DUPLICATE_SIGNER).
 * Signatures themselves are not checked here (that needs the seal's key:
 * ledger/verify.h). A reason goes to errmsg (may be NULL). On failure *out
 * is left with count 0.
 */
int ledger_sigfile_parse(const uint8_t *buf, size_t len, struct ledger_sigfile *out, char *errmsg,
                         size_t errmsg_len);

/* Encodes f (borrowed; count 1..MAX) canonically. *out malloc'd, owned by
 * the caller. Returns 0, LEDGER_E_INVALID (count out of range) or NOMEM. */
int ledger_sigfile_encode(const struct ledger_sigfile *f, uint8_t **out, size_t *out_len);

/*
 * Appends sig to the signature file in file[0..file_len) (file may be NULL
 * when file_len is 0: a new file) and writes the new file to *out (malloc'd,
 * owned by the caller); the input is not modified, so a caller that writes
 * *out only once the use is accepted leaves the old file as it was.
 * Refused: an existing file that does not parse (its ledger_sigfile_parse
 * error), a signature of a seal already in the file
 * (LEDGER_E_DUPLICATE_SIGNER), a signature over another document
 * (LEDGER_E_DOC_MISMATCH), a full file (LEDGER_E_TOO_LARGE).
 */
int ledger_sigfile_append(const uint8_t *file, size_t file_len, const struct ledger_seal_sig *sig,
                          uint8_t **out, size_t *out_len, char *errmsg, size_t errmsg_len);

#endif
