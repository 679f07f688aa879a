/* SHA-256 and domain-separated Ed25519 over libsodium. */
#include "ledger/crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"

/* Fixed 16-byte tags, zero padded: fixed width, so tag ‖ genesis ‖ payload
 * parses one way only. */
#define TAG_LEN 16
static const char tags[LEDGER_TAG__COUNT][TAG_LEN + 1] = {
    [LEDGER_TAG_TX] = "sealchain.tx",
    [LEDGER_TAG_SEAL] = "sealchain.seal",
    [LEDGER_TAG_PREPREPARE] = "sealchain.prepre",
    [LEDGER_TAG_PREPARE] = "sealchain.prepar",
    [LEDGER_TAG_COMMIT] = "sealchain.commit",
    [LEDGER_TAG_VIEWCHANGE] = "sealchain.viewch",
    [LEDGER_TAG_NEWVIEW] = "sealchain.newvie",
    [LEDGER_TAG_HANDSHAKE] = "sealchain.hshake",
};

int ledger_crypto_init(void)
{
    return sodium_init() < 0 ? LEDGER_E_FATAL : 0;
}

void ledger_sha256(const void *data, size_t len, uint8_t out[static LEDGER_HASH_LEN])
{
    crypto_hash_sha256(out, data, len);
}

/* Small messages are framed on the stack; large ones on the heap. */
#define STACK_FRAME 512

static uint8_t *frame(enum ledger_tag tag, const uint8_t *genesis, const uint8_t *msg,
                      size_t msg_len, uint8_t *stack, size_t *out_len)
{
    size_t len = TAG_LEN + LEDGER_HASH_LEN + msg_len;
    uint8_t *buf = len <= STACK_FRAME ? stack : malloc(len);
    if (buf == NULL)
        return NULL;
    memcpy(buf, tags[tag], TAG_LEN);
    memcpy(buf + TAG_LEN, genesis, LEDGER_HASH_LEN);
    if (msg_len > 0)
        memcpy(buf + TAG_LEN + LEDGER_HASH_LEN, msg, msg_len);
    *out_len = len;
    return buf;
}

int ledger_sign(enum ledger_tag tag, const uint8_t genesis[static LEDGER_HASH_LEN],
                const uint8_t *msg, size_t msg_len, const uint8_t sk[static LEDGER_SECRET_LEN],
                uint8_t sig[static LEDGER_SIG_LEN])
{
    uint8_t stack[STACK_FRAME];
    size_t len;
    uint8_t *buf = frame(tag, genesis, msg, msg_len, stack, &len);
    if (buf == NULL)
        return LEDGER_E_NOMEM;
    crypto_sign_detached(sig, NULL, buf, len, sk);
    if (buf != stack)
        free(buf);
    return 0;
}

int ledger_verify(enum ledger_tag tag, const uint8_t genesis[static LEDGER_HASH_LEN],
                  const uint8_t *msg, size_t msg_len, const uint8_t pk[static LEDGER_KEY_LEN],
                  const uint8_t sig[static LEDGER_SIG_LEN])
{
    uint8_t stack[STACK_FRAME];
    size_t len;
    uint8_t *buf = frame(tag, genesis, msg, msg_len, stack, &len);
    if (buf == NULL)
        return LEDGER_E_NOMEM;
    int rc = crypto_sign_verify_detached(sig, buf, len, pk) == 0 ? 0 : LEDGER_E_BAD_SIGNATURE;
    if (buf != stack)
        free(buf);
    return rc;
}

void ledger_put_u64be(uint8_t out[static 8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

uint64_t ledger_get_u64be(const uint8_t in[static 8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

void ledger_put_u32be(uint8_t out[static 4], uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

uint32_t ledger_get_u32be(const uint8_t in[static 4])
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = (v << 8) | in[i];
    return v;
}

void ledger_commit_payload(uint64_t height, uint64_t view,
                           const uint8_t block_hash[static LEDGER_HASH_LEN],
                           uint8_t out[static LEDGER_COMMIT_PAYLOAD_LEN])
{
    ledger_put_u64be(out, height);
    ledger_put_u64be(out + 8, view);
    memcpy(out + 16, block_hash, LEDGER_HASH_LEN);
}

void ledger_seal_payload(const uint8_t doc_hash[static LEDGER_HASH_LEN],
                         const uint8_t seal_id[static LEDGER_HASH_LEN],
                         const uint8_t user_key[static LEDGER_KEY_LEN],
                         const uint8_t nonce[static LEDGER_NONCE_LEN],
                         uint8_t out[static LEDGER_SEAL_PAYLOAD_LEN])
{
    memcpy(out, doc_hash, LEDGER_HASH_LEN);
    memcpy(out + LEDGER_HASH_LEN, seal_id, LEDGER_HASH_LEN);
    memcpy(out + 2 * LEDGER_HASH_LEN, user_key, LEDGER_KEY_LEN);
    memcpy(out + 2 * LEDGER_HASH_LEN + LEDGER_KEY_LEN, nonce, LEDGER_NONCE_LEN);
}

void ledger_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ledger_unhex(const char *hex, uint8_t *out, size_t out_len)
{
    if (strlen(hex) != 2 * out_len)
        return LEDGER_E_BAD_FIELD;
    for (size_t i = 0; i < out_len; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return LEDGER_E_BAD_FIELD;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
