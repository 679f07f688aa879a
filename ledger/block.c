/* Opening a block once: strict decoding, header hash, body against the header. */
#include "ledger/block.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/merkle.h"

static int copy_hash(const ProtobufCBinaryData *b, uint8_t out[LEDGER_HASH_LEN])
{
    if (b->len != LEDGER_HASH_LEN)
        return LEDGER_E_MALFORMED;
    memcpy(out, b->data, LEDGER_HASH_LEN);
    return 0;
}

int ledger_header_decode(const uint8_t *hdr, size_t len, struct ledger_header *out)
{
    ProtobufCMessage *m;
    int rc = ledger_decode_strict(&sealchain__block_header__descriptor, hdr, len,
                                  LEDGER_MAX_HEADER_LEN, &m);
    if (rc != 0)
        return rc;
    Sealchain__BlockHeader *h = (Sealchain__BlockHeader *)m;
    memset(out, 0, sizeof(*out));
    if (copy_hash(&h->chain, out->chain) != 0 || copy_hash(&h->prev_hash, out->prev_hash) != 0 ||
        copy_hash(&h->tx_root, out->tx_root) != 0 ||
        copy_hash(&h->state_root, out->state_root) != 0)
        rc = LEDGER_E_MALFORMED;
    out->height = h->height;
    out->view = h->view;
    out->time_ms = h->time_ms;
    out->proposer = h->proposer;
    out->tx_count = h->tx_count;
    ledger_sha256(hdr, len, out->hash);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

/* Strict Block decode; *out owned by the caller (free_unpacked). */
static int block_decode(const uint8_t *block, size_t len, Sealchain__Block **out,
                        struct ledger_header *hdr)
{
    ProtobufCMessage *m;
    size_t n_txs;
    if (len > LEDGER_MAX_BLOCK_LEN)
        return LEDGER_E_TOO_LARGE;
    /* Bound the tx count on the wire before protobuf-c allocates per entry:
     * a maximal block of empty entries cost ~400 MB to refuse otherwise. */
    int rc = block != NULL || len == 0 ? ledger_wire_count(block, len, 2 /* Block.txs */, &n_txs)
                                       : LEDGER_E_INVALID;
    if (rc != 0)
        return rc;
    if (n_txs > LEDGER_MAX_BLOCK_TXS)
        return LEDGER_E_TOO_LARGE;
    rc = ledger_decode_strict(&sealchain__block__descriptor, block, len, LEDGER_MAX_BLOCK_LEN, &m);
    if (rc != 0)
        return rc;
    Sealchain__Block *b = (Sealchain__Block *)m;
    if (b->n_txs > LEDGER_MAX_BLOCK_TXS ||
        (rc = ledger_header_decode(b->header.data, b->header.len, hdr)) != 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return rc != 0 ? rc : LEDGER_E_TOO_LARGE;
    }
    *out = b;
    return 0;
}

/* The tx root of b's body, from the txs' bytes alone (no execution).
 * Returns 0 or LEDGER_E_NOMEM. */
/* The tx root of b's body; its leaves go to *out_leaves (owned by the caller). */
static int body_tx_root(const Sealchain__Block *b, uint8_t root[static LEDGER_HASH_LEN],
                        uint8_t (**out_leaves)[LEDGER_HASH_LEN])
{
    uint8_t(*leaves)[LEDGER_HASH_LEN] = malloc((b->n_txs + 1) * LEDGER_HASH_LEN);
    if (leaves == NULL)
        return LEDGER_E_NOMEM;
    for (size_t i = 0; i < b->n_txs; i++)
        ledger_merkle_tx_leaf(b->txs[i].data, b->txs[i].len, leaves[i]);
    int rc = ledger_merkle_root((const uint8_t(*)[LEDGER_HASH_LEN])leaves, b->n_txs, root);
    if (rc != 0) {
        free(leaves);
        return rc;
    }
    *out_leaves = leaves;
    return 0;
}

/* tx_count and tx root of the body against the header: a body that does
 * not match its signed header. */
static int check_body(const Sealchain__Block *b, const struct ledger_header *h,
                      uint8_t (**out_leaves)[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    if (b->n_txs != h->tx_count)
        return ledger_errf(LEDGER_E_BAD_TX_ROOT, errmsg, errmsg_len,
                           "block %" PRIu64 ": %zu txs, header says %" PRIu32, h->height, b->n_txs,
                           h->tx_count);
    uint8_t root[LEDGER_HASH_LEN];
    int rc = body_tx_root(b, root, out_leaves);
    if (rc != 0)
        return ledger_errf(rc, errmsg, errmsg_len, "tx root: %s", ledger_strerror(rc));
    if (memcmp(root, h->tx_root, LEDGER_HASH_LEN) != 0) {
        free(*out_leaves);
        *out_leaves = NULL;
        return ledger_errf(LEDGER_E_BAD_TX_ROOT, errmsg, errmsg_len,
                           "block %" PRIu64 ": tx root mismatch", h->height);
    }
    return 0;
}

int ledger__block_open(const uint8_t *block, size_t len, struct ledger__block *out, char *errmsg,
                       size_t errmsg_len)
{
    memset(out, 0, sizeof(*out));
    int rc = block_decode(block, len, &out->b, &out->hdr);
    if (rc != 0)
        return ledger_errf(rc, errmsg, errmsg_len, "%s", ledger_strerror(rc));
    if ((rc = check_body(out->b, &out->hdr, &out->leaves, errmsg, errmsg_len)) != 0)
        goto err_after_decode;
    rc = ledger_errf(LEDGER_E_NOMEM, errmsg, errmsg_len, "out of memory");
    if ((out->bytes = malloc(len > 0 ? len : 1)) == NULL)
        goto err_after_decode;
    if (len > 0)
        memcpy(out->bytes, block, len);
    out->len = len;
    return 0;
err_after_decode:
    free(out->leaves);
    protobuf_c_message_free_unpacked(&out->b->base, NULL);
    memset(out, 0, sizeof(*out));
    return rc;
}

bool ledger__block_same(const struct ledger__block *o, const uint8_t *block, size_t len)
{
    return o->bytes != NULL && o->len == len && (len == 0 || memcmp(o->bytes, block, len) == 0);
}

void ledger__block_drop_body(struct ledger__block *o)
{
    if (o->b != NULL)
        protobuf_c_message_free_unpacked(&o->b->base, NULL);
    o->b = NULL;
    free(o->leaves);
    o->leaves = NULL;
}

void ledger__block_keep_header(struct ledger__block *o)
{
    ledger__block_drop_body(o);
    free(o->bytes);
    o->bytes = NULL;
    o->len = 0;
}

void ledger__block_close(struct ledger__block *o)
{
    ledger__block_drop_body(o);
    free(o->bytes);
    memset(o, 0, sizeof(*o));
}

int ledger_block_header(const uint8_t *block, size_t len, struct ledger_header *out)
{
    Sealchain__Block *b;
    int rc = block_decode(block, len, &b, out);
    if (rc == 0)
        protobuf_c_message_free_unpacked(&b->base, NULL);
    return rc;
}

int ledger_block_matches(const uint8_t *block, size_t len,
                         const uint8_t digest[static LEDGER_HASH_LEN])
{
    struct ledger__block o;
    int rc = ledger__block_open(block, len, &o, NULL, 0);
    if (rc != 0)
        return rc;
    if (memcmp(o.hdr.hash, digest, LEDGER_HASH_LEN) != 0)
        rc = LEDGER_E_BAD_BLOCK;
    ledger__block_close(&o);
    return rc;
}
