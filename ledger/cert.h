/* Commit certificates: q COMMIT signatures of distinct genesis validators. */
#ifndef SEALCHAIN_LEDGER_CERT_H
#define SEALCHAIN_LEDGER_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/genesis.h"

/* Checks an encoded CommitCert (strict decode) for (height, block_hash):
 * signers strictly increasing (so distinct), each < n, at least q of them,
 * each signature valid under LEDGER_TAG_COMMIT over
 * ledger_commit_payload(height, view, block_hash) with the validator's node key.
 * On success *out_view (may be NULL) is the certificate's view.
 * Returns 0, LEDGER_E_MALFORMED or LEDGER_E_BAD_CERT; a reason goes to errmsg. */
int ledger_cert_check(const struct ledger_genesis *g, const uint8_t *cert, size_t cert_len,
                      uint64_t height, const uint8_t block_hash[static LEDGER_HASH_LEN],
                      uint64_t *out_view, char *errmsg, size_t errmsg_len);

/* Builds an encoded CommitCert from parallel arrays (signers need not be sorted;
 * the encoding sorts them). *out is malloc'd, owned by the caller.
 * Returns 0, LEDGER_E_INVALID (duplicate signer) or LEDGER_E_NOMEM. */
int ledger_cert_build(uint64_t height, uint64_t view,
                      const uint8_t block_hash[static LEDGER_HASH_LEN], const uint32_t *signers,
                      const uint8_t (*sigs)[LEDGER_SIG_LEN], size_t count, uint8_t **out,
                      size_t *out_len);

#endif
