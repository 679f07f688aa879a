/* Strict decoding: size cap, unknown fields, and only the canonical encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "proto/block.pb-c.h"
#include "proto/evidence.pb-c.h"
#include "proto/tx.pb-c.h"

#define DECODE(desc, bytes, max) decode(&(desc), (bytes), sizeof(bytes), (max))

static int decode(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, size_t max)
{
    ProtobufCMessage *m = (ProtobufCMessage *)0x1;
    int rc = ledger_decode_strict(d, buf, len, max, &m);
    if (rc == 0) {
        assert_non_null(m);
        protobuf_c_message_free_unpacked(m, NULL);
    } else {
        assert_null(m);
    }
    return rc;
}

/* SignatureFile{version=1, signatures=[SealSignature{seal_id=AA BB}]} */
static const uint8_t good_file[] = { 0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0xaa, 0xbb };

static void the_canonical_encoding_decodes(void **state)
{
    (void)state;
    ProtobufCMessage *m;
    assert_int_equal(ledger_decode_strict(&sealchain__signature_file__descriptor, good_file,
                                          sizeof good_file, 64, &m),
                     0);
    Sealchain__SignatureFile *f = (Sealchain__SignatureFile *)m;
    assert_int_equal(f->version, 1);
    assert_int_equal(f->n_signatures, 1);
    assert_int_equal(f->signatures[0]->seal_id.len, 2);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void the_empty_encoding_of_an_all_default_message_decodes(void **state)
{
    (void)state;
    ProtobufCMessage *m;
    assert_int_equal(ledger_decode_strict(&sealchain__signature_file__descriptor, NULL, 0, 64, &m),
                     0);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void input_longer_than_the_cap_is_refused_before_decoding(void **state)
{
    (void)state;
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, good_file, sizeof good_file - 1),
                     LEDGER_E_TOO_LARGE);
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, good_file, sizeof good_file), 0);
}

static void bytes_protobuf_c_cannot_unpack_are_malformed(void **state)
{
    (void)state;
    static const uint8_t truncated_varint[] = { 0x08 };
    static const uint8_t length_past_end[] = { 0x08, 0x01, 0x12, 0x05, 0x12, 0x02, 0xaa };
    static const uint8_t field_zero[] = { 0x08, 0x01, 0x00 };
    static const uint8_t wrong_wire_type[] = { 0x0a, 0x01, 0x01 }; /* version as bytes */
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, truncated_varint, 64),
                     LEDGER_E_MALFORMED);
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, length_past_end, 64),
                     LEDGER_E_MALFORMED);
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, field_zero, 64),
                     LEDGER_E_MALFORMED);
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, wrong_wire_type, 64),
                     LEDGER_E_MALFORMED);
}

static void an_unknown_top_level_field_is_refused(void **state)
{
    (void)state;
    static const uint8_t unknown[] = { 0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0xaa, 0xbb, 0x18, 0x05 };
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, unknown, 64),
                     LEDGER_E_MALFORMED);
}

static void an_unknown_field_in_a_sub_message_is_refused(void **state)
{
    (void)state;
    /* SealSignature{seal_id=AA BB, field 8 = 1} inside the file. */
    static const uint8_t nested[] = { 0x08, 0x01, 0x12, 0x06, 0x12, 0x02, 0xaa, 0xbb, 0x40, 0x01 };
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, nested, 64), LEDGER_E_MALFORMED);
    /* The recursive check itself sees it (protobuf-c would re-pack the unknown
     * field verbatim, so the byte comparison alone would not). */
    ProtobufCMessage *m = protobuf_c_message_unpack(&sealchain__signature_file__descriptor, NULL,
                                                    sizeof nested, nested);
    assert_non_null(m);
    assert_int_equal(m->n_unknown_fields, 0);
    assert_false(ledger_codec_no_unknown(m));
    protobuf_c_message_free_unpacked(m, NULL);
    /* ProofBundle{use=ProvenTx{index=1, field 9 = 1}}. */
    static const uint8_t bundle[] = { 0x08, 0x01, 0x22, 0x04, 0x10, 0x01, 0x48, 0x01 };
    assert_int_equal(DECODE(sealchain__proof_bundle__descriptor, bundle, 64), LEDGER_E_MALFORMED);
}

static void an_unknown_field_inside_the_selected_oneof_member_is_refused(void **state)
{
    (void)state;
    /* TxBody{seal_use(17)={seal_id=AA, field 9 = 1}}: tag 17 LEN = 8a 01. */
    static const uint8_t body[] = { 0x8a, 0x01, 0x05, 0x0a, 0x01, 0xaa, 0x48, 0x01 };
    static const uint8_t body_ok[] = { 0x8a, 0x01, 0x03, 0x0a, 0x01, 0xaa };
    assert_int_equal(DECODE(sealchain__tx_body__descriptor, body, 64), LEDGER_E_MALFORMED);
    assert_int_equal(DECODE(sealchain__tx_body__descriptor, body_ok, 64), 0);
}

static void an_over_long_varint_is_refused(void **state)
{
    (void)state;
    static const uint8_t overlong[] = { 0x08, 0x81, 0x00, 0x12, 0x04, 0x12, 0x02, 0xaa, 0xbb };
    static const uint8_t overlong_len[] = { 0x08, 0x01, 0x12, 0x84, 0x00, 0x12, 0x02, 0xaa, 0xbb };
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, overlong, 64),
                     LEDGER_E_MALFORMED);
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, overlong_len, 64),
                     LEDGER_E_MALFORMED);
}

static void a_duplicated_scalar_field_is_refused(void **state)
{
    (void)state;
    static const uint8_t twice[] = { 0x08, 0x01, 0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0xaa, 0xbb };
    static const uint8_t twice_bytes[] = { 0x08, 0x01, 0x12, 0x08, 0x12, 0x02,
                                           0xaa, 0xbb, 0x12, 0x02, 0xaa, 0xbb };
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, twice, 64), LEDGER_E_MALFORMED);
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, twice_bytes, 64),
                     LEDGER_E_MALFORMED);
}

static void reordered_fields_are_refused(void **state)
{
    (void)state;
    static const uint8_t reordered[] = { 0x12, 0x04, 0x12, 0x02, 0xaa, 0xbb, 0x08, 0x01 };
    /* SealSignature{doc_hash=CC, seal_id=AA}: field 3 before field 2. */
    static const uint8_t inner[] = { 0x1a, 0x01, 0xcc, 0x12, 0x01, 0xaa };
    static const uint8_t inner_ok[] = { 0x12, 0x01, 0xaa, 0x1a, 0x01, 0xcc };
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, reordered, 64),
                     LEDGER_E_MALFORMED);
    assert_int_equal(DECODE(sealchain__seal_signature__descriptor, inner, 64), LEDGER_E_MALFORMED);
    assert_int_equal(DECODE(sealchain__seal_signature__descriptor, inner_ok, 64), 0);
}

static void trailing_bytes_are_refused(void **state)
{
    (void)state;
    /* Trailing bytes either fail to unpack or parse as a repeated field. */
    static const uint8_t zero[] = { 0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0xaa, 0xbb, 0x00 };
    static const uint8_t again[] = { 0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0xaa, 0xbb, 0x08, 0x01 };
    static const uint8_t empty_sig[] = {
        0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0xaa, 0xbb, 0x12, 0x00
    };
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, zero, 64), LEDGER_E_MALFORMED);
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, again, 64), LEDGER_E_MALFORMED);
    /* An empty sub-message appended is a canonical second element: it decodes,
     * and the sigfile parser refuses it for its empty fields (test_sigfile). */
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, empty_sig, 64), 0);
}

static void an_explicitly_encoded_default_is_refused(void **state)
{
    (void)state;
    static const uint8_t zero_version[] = { 0x08, 0x00, 0x12, 0x04, 0x12, 0x02, 0xaa, 0xbb };
    static const uint8_t empty_bytes[] = { 0x0a, 0x00 }; /* SealSignature{chain=""} */
    assert_int_equal(DECODE(sealchain__signature_file__descriptor, zero_version, 64),
                     LEDGER_E_MALFORMED);
    assert_int_equal(DECODE(sealchain__seal_signature__descriptor, empty_bytes, 64),
                     LEDGER_E_MALFORMED);
}

static void repeated_scalars_must_be_packed(void **state)
{
    (void)state;
    /* CommitCert{height=1, signers=[1,2]}: packed 22 02 01 02; unpacked 20 01 20 02. */
    static const uint8_t packed[] = { 0x08, 0x01, 0x22, 0x02, 0x01, 0x02 };
    static const uint8_t unpacked[] = { 0x08, 0x01, 0x20, 0x01, 0x20, 0x02 };
    assert_int_equal(DECODE(sealchain__commit_cert__descriptor, packed, 64), 0);
    assert_int_equal(DECODE(sealchain__commit_cert__descriptor, unpacked, 64), LEDGER_E_MALFORMED);
}

static void encode_then_strict_decode_round_trips(void **state)
{
    (void)state;
    Sealchain__CommitCert c = SEALCHAIN__COMMIT_CERT__INIT;
    uint32_t signers[] = { 0, 3, 5 };
    c.height = 300;
    c.view = 2;
    c.n_signers = 3;
    c.signers = signers;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ledger_encode(&c.base, &buf, &len), 0);
    ProtobufCMessage *m;
    assert_int_equal(ledger_decode_strict(&sealchain__commit_cert__descriptor, buf, len, len, &m),
                     0);
    assert_int_equal(((Sealchain__CommitCert *)m)->height, 300);
    protobuf_c_message_free_unpacked(m, NULL);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_canonical_encoding_decodes),
        cmocka_unit_test(the_empty_encoding_of_an_all_default_message_decodes),
        cmocka_unit_test(input_longer_than_the_cap_is_refused_before_decoding),
        cmocka_unit_test(bytes_protobuf_c_cannot_unpack_are_malformed),
        cmocka_unit_test(an_unknown_top_level_field_is_refused),
        cmocka_unit_test(an_unknown_field_in_a_sub_message_is_refused),
        cmocka_unit_test(an_unknown_field_inside_the_selected_oneof_member_is_refused),
        cmocka_unit_test(an_over_long_varint_is_refused),
        cmocka_unit_test(a_duplicated_scalar_field_is_refused),
        cmocka_unit_test(reordered_fields_are_refused),
        cmocka_unit_test(trailing_bytes_are_refused),
        cmocka_unit_test(an_explicitly_encoded_default_is_refused),
        cmocka_unit_test(repeated_scalars_must_be_packed),
        cmocka_unit_test(encode_then_strict_decode_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
