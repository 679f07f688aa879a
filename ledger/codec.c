/* Strict decoding: bounded, no unknown fields, canonical bytes only. */
#include "ledger/codec.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"

/* Our schemas nest at most three deep (ProofBundle > ProvenTx, Genesis >
 * GenesisValidator); the bound only guards against a recursive schema. */
#define MAX_NESTING 16

static int clean(const ProtobufCMessage *m, int depth);

/* Checks the sub-message(s) held by field f of m. */
static int clean_field(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, int depth)
{
    const char *base = (const char *)m;
    if (f->type != PROTOBUF_C_TYPE_MESSAGE)
        return 1;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(const size_t *)(base + f->quantifier_offset);
        ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
        for (size_t i = 0; i < n; i++)
            if (!clean(arr[i], depth + 1))
                return 0;
        return 1;
    }
    /* A oneof member's pointer is only meaningful when its case is selected. */
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)(base + f->quantifier_offset) != f->id)
        return 1;
    const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + f->offset);
    return sub == NULL || clean(sub, depth + 1);
}

static int clean(const ProtobufCMessage *m, int depth)
{
    if (depth > MAX_NESTING || m->n_unknown_fields != 0)
        return 0;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (!clean_field(m, &d->fields[i], depth))
            return 0;
    return 1;
}

int ledger_codec_no_unknown(const ProtobufCMessage *m)
{
    return clean(m, 0);
}

/* Reads a varint at buf[*pos..len); false when it is truncated or too long. */
static bool wire_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

int ledger_wire_count(const uint8_t *buf, size_t len, uint32_t field, size_t *out_count)
{
    size_t pos = 0, count = 0;
    while (pos < len) {
        uint64_t key, n;
        if (!wire_varint(buf, len, &pos, &key))
            return LEDGER_E_MALFORMED;
        count += (key >> 3) == field;
        switch (key & 7) {
        case 0: /* varint */
            if (!wire_varint(buf, len, &pos, &n))
                return LEDGER_E_MALFORMED;
            break;
        case 1: /* 64-bit */
            n = 8;
            goto skip;
        case 2: /* length-delimited */
            if (!wire_varint(buf, len, &pos, &n))
                return LEDGER_E_MALFORMED;
            goto skip;
        case 5: /* 32-bit */
            n = 4;
        skip:
            if (n > len - pos)
                return LEDGER_E_MALFORMED;
            pos += (size_t)n;
            break;
        default: /* groups and invalid wire types: none in our schemas */
            return LEDGER_E_MALFORMED;
        }
    }
    *out_count = count;
    return 0;
}

int ledger_encode(const ProtobufCMessage *m, uint8_t **out, size_t *out_len)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return LEDGER_E_NOMEM;
    size_t packed = protobuf_c_message_pack(m, buf);
    if (packed != len) {
        free(buf);
        return LEDGER_E_INVALID;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

/* Re-encodes m and compares with the input. Small messages are packed on the
 * stack; larger ones on the heap. */
static int canonical(const ProtobufCMessage *m, const uint8_t *buf, size_t len, int *out_same)
{
    if (protobuf_c_message_get_packed_size(m) != len) {
        *out_same = 0;
        return 0;
    }
    uint8_t stack[1024];
    uint8_t *re = len <= sizeof stack ? stack : malloc(len);
    if (re == NULL)
        return LEDGER_E_NOMEM;
    size_t packed = protobuf_c_message_pack(m, re);
    *out_same = packed == len && (len == 0 || memcmp(re, buf, len) == 0);
    if (re != stack)
        free(re);
    return 0;
}

int ledger_codec_canonical(const ProtobufCMessage *m, const uint8_t *buf, size_t len)
{
    int same = 0;
    if (!clean(m, 0))
        return LEDGER_E_MALFORMED;
    int rc = canonical(m, buf, len, &same);
    if (rc != 0)
        return rc;
    return same ? 0 : LEDGER_E_MALFORMED;
}

int ledger_decode_strict(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                         size_t max_len, ProtobufCMessage **out)
{
    *out = NULL;
    if (len > max_len)
        return LEDGER_E_TOO_LARGE;
    if (buf == NULL && len > 0)
        return LEDGER_E_INVALID;
    static const uint8_t empty[1];
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, len > 0 ? buf : empty);
    if (m == NULL)
        return LEDGER_E_MALFORMED;
    int rc = ledger_codec_canonical(m, buf, len);
    if (rc != 0)
        goto err_after_unpack;
    *out = m;
    return 0;

err_after_unpack:
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}
