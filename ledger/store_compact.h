/* Internal: the store's compact on-disk forms (usage records without their copy of the use tx). */
#ifndef SEALCHAIN_LEDGER_STORE_COMPACT_H
#define SEALCHAIN_LEDGER_STORE_COMPACT_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"

/*
 * A UsageRecord (proto/state.proto) begins with fields 1-7: the use's tx id,
 * and the seal id, grant, user key, document hash, use nonce and seal
 * signature, every one a copy of the use transaction, which the block store
 * already holds. Their encoding is a fixed 254 bytes (seven length-delimited
 * fields of fixed size, in field order). The store keeps a usage record whose
 * first 254 bytes are exactly that prefix, rebuilt from the tx, as the rest
 * only (store.c); ledger__usage_prefix rebuilds the prefix.
 */
#define LEDGER__USAGE_PREFIX_LEN                                                                   \
    (7 * 2 + 5 * LEDGER_HASH_LEN + LEDGER_NONCE_LEN + LEDGER_SIG_LEN) /* 254 */

/* The n-th (from 0) occurrence of length-delimited field `field` of the
 * protobuf message buf[0..len): *out points into buf. Walks the wire format
 * only (no allocation). Returns 0, LEDGER_E_NOT_FOUND, LEDGER_E_MALFORMED. */
int ledger__pb_bytes(const uint8_t *buf, size_t len, uint32_t field, size_t nth,
                     const uint8_t **out, size_t *out_len);

/* Decodes an encoded TxLocation (height = 1, index = 2, both varints).
 * Returns 0 or LEDGER_E_MALFORMED. */
int ledger__tx_location_decode(const uint8_t *buf, size_t len, uint64_t *out_height,
                               uint32_t *out_index);

/* Builds the usage-record prefix of usage id from tx `index` of the encoded
 * StoredBlock stored[0..len) (borrowed). Returns 0, LEDGER_E_NOT_FOUND (no
 * such tx, or not a use with fields of the fixed sizes) or
 * LEDGER_E_MALFORMED. */
int ledger__usage_prefix(const uint8_t *stored, size_t len, uint32_t index,
                         const uint8_t id[static LEDGER_HASH_LEN],
                         uint8_t out[static LEDGER__USAGE_PREFIX_LEN]);

/*
 * The stored form of a usage record, under its 'ids' key: USAGE_COMPACT ‖
 * the value without its prefix when the prefix rebuilt from the use tx (its
 * location is the 'T' entry of the same id in `ids`, its block in `blocks`)
 * is exactly the one written; else USAGE_FULL ‖ the value. Readers get the
 * logical value back byte for byte.
 */
enum { LEDGER__USAGE_FULL = 0, LEDGER__USAGE_COMPACT = 1 };

/* Writes usage record val of usage id under key k of dbi in its stored
 * form, through write transaction txn (in which the 'T' entry and the
 * block of a new use are already written). Returns an LMDB code. */
int ledger__usage_store(MDB_txn *txn, MDB_dbi dbi, MDB_dbi blocks, const MDB_val *k,
                        const uint8_t id[static LEDGER_HASH_LEN], const uint8_t *val,
                        size_t val_len);

/* A value rebuilt for a reader, in a list the reader frees. */
struct ledger__rbuf {
    struct ledger__rbuf *next;
    uint8_t data[];
};

/* Turns the stored form *v of usage id into its logical value, in place.
 * A compact one is rebuilt into a new *out_buf (malloc'd, owned by the
 * caller; NULL when none was needed) that v then points into. Returns 0,
 * LEDGER_E_NOMEM, or LEDGER_E_STORE (unknown form, tx unreadable). */
int ledger__usage_load(MDB_txn *txn, MDB_dbi ids, MDB_dbi blocks,
                       const uint8_t id[static LEDGER_HASH_LEN], MDB_val *v,
                       struct ledger__rbuf **out_buf);

#endif
