/* Hashing and domain-separated Ed25519 signing (DESIGN.md §4). */
#ifndef SEALCHAIN_LEDGER_CRYPTO_H
#define SEALCHAIN_LEDGER_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_HASH_LEN   32
#define LEDGER_KEY_LEN    32 /* Ed25519 public key */
#define LEDGER_SECRET_LEN 64 /* libsodium Ed25519 secret key (seed ‖ public key) */
#define LEDGER_SIG_LEN    64
#define LEDGER_NONCE_LEN  16

/* One tag per purpose: a signature made for one purpose (or one chain, via the
 * genesis hash that follows the tag) never verifies for another. */
enum ledger_tag {
    LEDGER_TAG_TX,
    LEDGER_TAG_SEAL,
    LEDGER_TAG_PREPREPARE,
    LEDGER_TAG_PREPARE,
    LEDGER_TAG_COMMIT,
    LEDGER_TAG_VIEWCHANGE,
    LEDGER_TAG_NEWVIEW,
    LEDGER_TAG_HANDSHAKE,
    LEDGER_TAG__COUNT
};

/* Must be called once before any other ledger function (wraps sodium_init). */
int ledger_crypto_init(void);

/* SHA-256 of len bytes at data (data may be NULL when len is 0). */
void ledger_sha256(const void *data, size_t len, uint8_t out[static LEDGER_HASH_LEN]);

/* Signs tag ‖ genesis ‖ msg with sk. Returns 0, or LEDGER_E_NOMEM. */
int ledger_sign(enum ledger_tag tag, const uint8_t genesis[static LEDGER_HASH_LEN],
                const uint8_t *msg, size_t msg_len, const uint8_t sk[static LEDGER_SECRET_LEN],
                uint8_t sig[static LEDGER_SIG_LEN]);

/* Verifies sig over tag ‖ genesis ‖ msg under pk. Returns 0, LEDGER_E_BAD_SIGNATURE,
 * or LEDGER_E_NOMEM. */
int ledger_verify(enum ledger_tag tag, const uint8_t genesis[static LEDGER_HASH_LEN],
                  const uint8_t *msg, size_t msg_len, const uint8_t pk[static LEDGER_KEY_LEN],
                  const uint8_t sig[static LEDGER_SIG_LEN]);

/* The payload of a COMMIT vote: height (u64 BE) ‖ view (u64 BE) ‖ block hash. */
#define LEDGER_COMMIT_PAYLOAD_LEN (8 + 8 + LEDGER_HASH_LEN)
void ledger_commit_payload(uint64_t height, uint64_t view,
                           const uint8_t block_hash[static LEDGER_HASH_LEN],
                           uint8_t out[static LEDGER_COMMIT_PAYLOAD_LEN]);

/* The payload of a seal signature: doc_hash ‖ seal_id ‖ user_key ‖ use_nonce. */
#define LEDGER_SEAL_PAYLOAD_LEN (LEDGER_HASH_LEN * 2 + LEDGER_KEY_LEN + LEDGER_NONCE_LEN)
void ledger_seal_payload(const uint8_t doc_hash[static LEDGER_HASH_LEN],
                         const uint8_t seal_id[static LEDGER_HASH_LEN],
                         const uint8_t user_key[static LEDGER_KEY_LEN],
                         const uint8_t nonce[static LEDGER_NONCE_LEN],
                         uint8_t out[static LEDGER_SEAL_PAYLOAD_LEN]);

/* Big-endian helpers used by keys and payloads. */
void ledger_put_u64be(uint8_t out[static 8], uint64_t v);
uint64_t ledger_get_u64be(const uint8_t in[static 8]);
void ledger_put_u32be(uint8_t out[static 4], uint32_t v);
uint32_t ledger_get_u32be(const uint8_t in[static 4]);

/* Lowercase hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void ledger_hex(const uint8_t *in, size_t len, char *out);
/* Parses exactly out_len bytes of hex (either case). Returns 0 or LEDGER_E_BAD_FIELD. */
int ledger_unhex(const char *hex, uint8_t *out, size_t out_len);

#endif
