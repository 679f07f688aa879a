/* The store's compact on-disk forms: a wire-format walker and the usage-record prefix. */
#include "ledger/store_compact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/state.h"

static int varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return LEDGER_E_MALFORMED;
}

/* Skips one field's value of wire type wt at *pos. */
static int skip(const uint8_t *buf, size_t len, size_t *pos, unsigned wt)
{
    uint64_t v;
    switch (wt) {
    case 0:
        return varint(buf, len, pos, &v);
    case 1:
        v = 8;
        break;
    case 5:
        v = 4;
        break;
    case 2:
        if (varint(buf, len, pos, &v) != 0)
            return LEDGER_E_MALFORMED;
        break;
    default:
        return LEDGER_E_MALFORMED;
    }
    if (v > len - *pos)
        return LEDGER_E_MALFORMED;
    *pos += (size_t)v;
    return 0;
}

int ledger__pb_bytes(const uint8_t *buf, size_t len, uint32_t field, size_t nth,
                     const uint8_t **out, size_t *out_len)
{
    size_t pos = 0;
    while (pos < len) {
        uint64_t tag, n;
        if (varint(buf, len, &pos, &tag) != 0)
            return LEDGER_E_MALFORMED;
        unsigned wt = (unsigned)(tag & 7);
        if (tag >> 3 != field || wt != 2) {
            if (skip(buf, len, &pos, wt) != 0)
                return LEDGER_E_MALFORMED;
            continue;
        }
        if (varint(buf, len, &pos, &n) != 0 || n > len - pos)
            return LEDGER_E_MALFORMED;
        if (nth-- == 0) {
            *out = buf + pos;
            *out_len = (size_t)n;
            return 0;
        }
        pos += (size_t)n;
    }
    return LEDGER_E_NOT_FOUND;
}

int ledger__tx_location_decode(const uint8_t *buf, size_t len, uint64_t *out_height,
                               uint32_t *out_index)
{
    uint64_t h = 0, i = 0;
    size_t pos = 0;
    while (pos < len) {
        uint64_t tag, v;
        if (varint(buf, len, &pos, &tag) != 0 || (tag & 7) != 0 || varint(buf, len, &pos, &v) != 0)
            return LEDGER_E_MALFORMED;
        if (tag >> 3 == 1)
            h = v;
        else if (tag >> 3 == 2 && v <= UINT32_MAX)
            i = v;
        else
            return LEDGER_E_MALFORMED;
    }
    *out_height = h;
    *out_index = (uint32_t)i;
    return 0;
}

/* One fixed-size field of the prefix: tag (field, length-delimited), length, bytes. */
static uint8_t *put_field(uint8_t *p, uint32_t field, const uint8_t *val, size_t len)
{
    *p++ = (uint8_t)(field << 3 | 2);
    *p++ = (uint8_t)len;
    memcpy(p, val, len);
    return p + len;
}

/* Field numbers: StoredBlock.block 1, Block.txs 2, Tx.body 1, Tx.signer 2,
 * TxBody.seal_use 17, SealUse seal_id 1, grant 2, doc_hash 3, use_nonce 4,
 * seal_signature 5 (proto/block.proto, proto/tx.proto). */
int ledger__usage_prefix(const uint8_t *stored, size_t len, uint32_t index,
                         const uint8_t id[static LEDGER_HASH_LEN],
                         uint8_t out[static LEDGER__USAGE_PREFIX_LEN])
{
    const uint8_t *blk, *tx, *body, *signer, *use;
    size_t blk_len, tx_len, body_len, signer_len, use_len;
    int rc;
    if ((rc = ledger__pb_bytes(stored, len, 1, 0, &blk, &blk_len)) != 0 ||
        (rc = ledger__pb_bytes(blk, blk_len, 2, index, &tx, &tx_len)) != 0 ||
        (rc = ledger__pb_bytes(tx, tx_len, 1, 0, &body, &body_len)) != 0 ||
        (rc = ledger__pb_bytes(tx, tx_len, 2, 0, &signer, &signer_len)) != 0 ||
        (rc = ledger__pb_bytes(body, body_len, 17, 0, &use, &use_len)) != 0)
        return rc;
    static const struct {
        uint32_t field;
        size_t len;
    } want[] = { { 1, LEDGER_HASH_LEN },
                 { 2, LEDGER_HASH_LEN },
                 { 3, LEDGER_HASH_LEN },
                 { 4, LEDGER_NONCE_LEN },
                 { 5, LEDGER_SIG_LEN } };
    const uint8_t *f[5];
    for (size_t i = 0; i < 5; i++) {
        size_t n;
        if ((rc = ledger__pb_bytes(use, use_len, want[i].field, 0, &f[i], &n)) != 0)
            return rc;
        if (n != want[i].len)
            return LEDGER_E_NOT_FOUND;
    }
    if (signer_len != LEDGER_KEY_LEN)
        return LEDGER_E_NOT_FOUND;
    /* UsageRecord: usage 1, seal_id 2, grant 3, user_key 4, doc_hash 5,
     * use_nonce 6, seal_signature 7. */
    uint8_t *p = put_field(out, 1, id, LEDGER_HASH_LEN);
    p = put_field(p, 2, f[0], LEDGER_HASH_LEN);
    p = put_field(p, 3, f[1], LEDGER_HASH_LEN);
    p = put_field(p, 4, signer, LEDGER_KEY_LEN);
    p = put_field(p, 5, f[2], LEDGER_HASH_LEN);
    p = put_field(p, 6, f[3], LEDGER_NONCE_LEN);
    put_field(p, 7, f[4], LEDGER_SIG_LEN);
    return 0;
}

/*
 * Usage records ('U'), the bulk of the state a use writes, begin with 254
 * bytes that copy the use transaction. The block store holds that
 * transaction already, and the 'T' entry of the usage id (the use's tx id,
 * next to it in 'ids') says where: a usage record whose prefix is exactly
 * the one rebuilt from its tx is stored as USAGE_COMPACT ‖ the rest (~27
 * bytes instead of ~280), any other as USAGE_FULL ‖ the value. The rebuilt
 * prefix was compared with the written one when it was stored.
 */
static int usage_prefix_at(MDB_txn *txn, MDB_dbi ids, MDB_dbi blocks,
                           const uint8_t id[static LEDGER_HASH_LEN],
                           uint8_t out[static LEDGER__USAGE_PREFIX_LEN])
{
    uint8_t tk[1 + LEDGER_HASH_LEN], hk[8];
    memcpy(tk, id, LEDGER_HASH_LEN);
    tk[LEDGER_HASH_LEN] = LEDGER_K_TX;
    MDB_val k = { .mv_size = sizeof(tk), .mv_data = tk }, v;
    uint64_t height;
    uint32_t index;
    int rc = mdb_get(txn, ids, &k, &v);
    if (rc != 0)
        return rc == MDB_NOTFOUND ? LEDGER_E_NOT_FOUND : LEDGER_E_STORE;
    if (ledger__tx_location_decode(v.mv_data, v.mv_size, &height, &index) != 0)
        return LEDGER_E_MALFORMED;
    ledger_put_u64be(hk, height);
    k = (MDB_val){ .mv_size = sizeof(hk), .mv_data = hk };
    if ((rc = mdb_get(txn, blocks, &k, &v)) != 0)
        return rc == MDB_NOTFOUND ? LEDGER_E_NOT_FOUND : LEDGER_E_STORE;
    return ledger__usage_prefix(v.mv_data, v.mv_size, index, id, out);
}

int ledger__usage_store(MDB_txn *txn, MDB_dbi dbi, MDB_dbi blocks, const MDB_val *k,
                        const uint8_t id[static LEDGER_HASH_LEN], const uint8_t *val,
                        size_t val_len)
{
    uint8_t pre[LEDGER__USAGE_PREFIX_LEN];
    bool compact = val_len >= sizeof(pre) && usage_prefix_at(txn, dbi, blocks, id, pre) == 0 &&
                   memcmp(val, pre, sizeof(pre)) == 0;
    size_t skip = compact ? sizeof(pre) : 0;
    MDB_val key = *k, v = { .mv_size = 1 + val_len - skip };
    int rc = mdb_put(txn, dbi, &key, &v, MDB_RESERVE);
    if (rc != 0)
        return rc;
    uint8_t *d = v.mv_data;
    d[0] = compact ? LEDGER__USAGE_COMPACT : LEDGER__USAGE_FULL;
    memcpy(d + 1, val + skip, val_len - skip);
    return 0;
}

int ledger__usage_load(MDB_txn *txn, MDB_dbi ids, MDB_dbi blocks,
                       const uint8_t id[static LEDGER_HASH_LEN], MDB_val *v,
                       struct ledger__rbuf **out_buf)
{
    *out_buf = NULL;
    const uint8_t *d = v->mv_data;
    if (v->mv_size < 1 || (d[0] != LEDGER__USAGE_FULL && d[0] != LEDGER__USAGE_COMPACT))
        return LEDGER_E_STORE;
    if (d[0] == LEDGER__USAGE_FULL) {
        v->mv_data = (uint8_t *)d + 1;
        v->mv_size -= 1;
        return 0;
    }
    size_t rest = v->mv_size - 1;
    struct ledger__rbuf *b = malloc(sizeof(*b) + LEDGER__USAGE_PREFIX_LEN + rest);
    if (b == NULL)
        return LEDGER_E_NOMEM;
    if (usage_prefix_at(txn, ids, blocks, id, b->data) != 0) {
        free(b);
        return LEDGER_E_STORE;
    }
    memcpy(b->data + LEDGER__USAGE_PREFIX_LEN, d + 1, rest);
    b->next = NULL;
    v->mv_data = b->data;
    v->mv_size = LEDGER__USAGE_PREFIX_LEN + rest;
    *out_buf = b;
    return 0;
}
