/* Strict protobuf decoding for evidence and peer input (DESIGN.md §6). */
#ifndef SEALCHAIN_LEDGER_CODEC_H
#define SEALCHAIN_LEDGER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/*
 * Decodes buf as message d, accepting only the one canonical encoding that
 * protobuf-c itself produces. Refused, in this order:
 *   - len > max_len (checked before any decoding or allocation): LEDGER_E_TOO_LARGE;
 *   - anything protobuf-c cannot unpack: LEDGER_E_MALFORMED;
 *   - an unknown field in the message or in any sub-message: LEDGER_E_MALFORMED;
 *   - input whose re-encoding is not byte-identical: LEDGER_E_MALFORMED. This
 *     catches what protobuf-c silently accepts: non-canonical (over-long)
 *     varints, a scalar field given twice (last wins), fields out of order,
 *     explicitly encoded proto3 defaults, unpacked repeated scalars, and
 *     trailing bytes that parse as fields.
 * On success *out is a freshly unpacked message owned by the caller (free it
 * with protobuf_c_message_free_unpacked(*out, NULL)); on failure *out is NULL.
 * Because the input is canonical, any byte changed in it either fails here
 * or changes a decoded value — never an invisible change.
 */
int ledger_decode_strict(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                         size_t max_len, ProtobufCMessage **out);

/* The checks of ledger_decode_strict on a message m already unpacked from
 * buf[0..len): no unknown field at any depth, and re-encoding gives back
 * exactly buf. Returns 0, LEDGER_E_MALFORMED or LEDGER_E_NOMEM. */
int ledger_codec_canonical(const ProtobufCMessage *m, const uint8_t *buf, size_t len);

/* Counts the top-level occurrences of field number `field` in the protobuf
 * wire bytes buf[0..len), without allocating. protobuf-c allocates an entry
 * and parse bookkeeping (~50 bytes) for every occurrence of a repeated field
 * before any count can be checked, so a 16 MB block of empty tx entries cost
 * ~400 MB to refuse: callers bound a repeated field with this first.
 * Returns 0 and *out_count, or LEDGER_E_MALFORMED when the bytes are not
 * well-formed wire data (protobuf-c would refuse them too). */
int ledger_wire_count(const uint8_t *buf, size_t len, uint32_t field, size_t *out_count);

/* True when m and all its sub-messages have no unknown fields. */
int ledger_codec_no_unknown(const ProtobufCMessage *m);

/* Packs m into a malloc'd buffer (*out owned by the caller; *out is never NULL
 * on success, even for an empty encoding). Returns 0 or LEDGER_E_NOMEM. */
int ledger_encode(const ProtobufCMessage *m, uint8_t **out, size_t *out_len);

#endif
