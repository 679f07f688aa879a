/* Signature files: append, strict parse, bounds, one document, one signature per seal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/sigfile.h"
#include "proto/evidence.pb-c.h"

static void fill(struct ledger_seal_sig *s, uint8_t seal, uint8_t doc)
{
    memset(s, 0, sizeof *s);
    memset(s->chain, 0xc1, sizeof s->chain);
    memset(s->seal_id, seal, sizeof s->seal_id);
    memset(s->doc_hash, doc, sizeof s->doc_hash);
    memset(s->user_key, 0x55, sizeof s->user_key);
    memset(s->use_nonce, seal ^ 0x0f, sizeof s->use_nonce);
    memset(s->seal_signature, seal ^ 0xf0, sizeof s->seal_signature);
    memset(s->usage, seal ^ 0xaa, sizeof s->usage);
}

static int parse(const uint8_t *buf, size_t len, struct ledger_sigfile *f)
{
    char err[256] = "";
    int rc = ledger_sigfile_parse(buf, len, f, err, sizeof err);
    if (rc != 0) {
        assert_true(err[0] != '\0');
        assert_int_equal(f->count, 0);
    }
    return rc;
}

static void append(const uint8_t *in, size_t in_len, uint8_t seal, uint8_t doc, uint8_t **out,
                   size_t *out_len, int want)
{
    struct ledger_seal_sig s;
    char err[256] = "";
    fill(&s, seal, doc);
    *out = NULL;
    int rc = ledger_sigfile_append(in, in_len, &s, out, out_len, err, sizeof err);
    assert_int_equal(rc, want);
    if (rc != 0) {
        assert_true(err[0] != '\0');
        assert_null(*out);
    }
}

static void appending_to_no_file_makes_a_one_signature_file_that_parses_back(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    append(NULL, 0, 1, 0xd0, &buf, &len, 0);
    assert_true(len <= 257 + 2);
    struct ledger_sigfile f;
    assert_int_equal(parse(buf, len, &f), 0);
    assert_int_equal(f.count, 1);
    struct ledger_seal_sig want;
    fill(&want, 1, 0xd0);
    assert_memory_equal(&f.sigs[0], &want, sizeof want);
    free(buf);
}

static void one_document_can_carry_the_seals_of_several_organisations(void **state)
{
    (void)state;
    uint8_t *a, *b, *c;
    size_t al, bl, cl;
    append(NULL, 0, 1, 0xd0, &a, &al, 0);
    append(a, al, 2, 0xd0, &b, &bl, 0);
    append(b, bl, 3, 0xd0, &c, &cl, 0);
    struct ledger_sigfile f;
    assert_int_equal(parse(c, cl, &f), 0);
    assert_int_equal(f.count, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(f.sigs[i].seal_id[0], i + 1);
    free(a);
    free(b);
    free(c);
}

static void appending_a_second_signature_of_the_same_seal_is_refused(void **state)
{
    (void)state;
    uint8_t *a, *b, *c;
    size_t al, bl, cl;
    append(NULL, 0, 1, 0xd0, &a, &al, 0);
    append(a, al, 2, 0xd0, &b, &bl, 0);
    append(b, bl, 1, 0xd0, &c, &cl, LEDGER_E_DUPLICATE_SIGNER);
    free(a);
    free(b);
}

static void appending_a_signature_over_another_document_is_refused(void **state)
{
    (void)state;
    uint8_t *a, *b;
    size_t al, bl;
    append(NULL, 0, 1, 0xd0, &a, &al, 0);
    append(a, al, 2, 0xd1, &b, &bl, LEDGER_E_DOC_MISMATCH);
    free(a);
}

static void appending_to_a_malformed_or_full_file_is_refused(void **state)
{
    (void)state;
    uint8_t junk[] = { 0x08, 0x01, 0x99 };
    uint8_t *b, *cur, *next;
    size_t bl, cl, nl;
    append(junk, sizeof junk, 1, 0xd0, &b, &bl, LEDGER_E_MALFORMED);
    append(NULL, 0, 1, 0xd0, &cur, &cl, 0);
    for (int i = 2; i <= LEDGER_SIGFILE_MAX_SIGS; i++) {
        append(cur, cl, (uint8_t)i, 0xd0, &next, &nl, 0);
        free(cur);
        cur = next;
        cl = nl;
    }
    assert_true(cl <= LEDGER_SIGFILE_MAX_LEN);
    append(cur, cl, 0x77, 0xd0, &next, &nl, LEDGER_E_TOO_LARGE);
    struct ledger_sigfile f;
    assert_int_equal(parse(cur, cl, &f), 0);
    assert_int_equal(f.count, LEDGER_SIGFILE_MAX_SIGS);
    free(cur);
}

/* Encodes a file with n signatures, letting the test break one field. */
struct raw {
    Sealchain__SealSignature s[LEDGER_SIGFILE_MAX_SIGS + 2];
    Sealchain__SealSignature *ps[LEDGER_SIGFILE_MAX_SIGS + 2];
    struct ledger_seal_sig v[LEDGER_SIGFILE_MAX_SIGS + 2];
    Sealchain__SignatureFile m;
};

#define B(x) ((ProtobufCBinaryData){ sizeof(x), (uint8_t *)(x) })

static void raw_init(struct raw *r, size_t n)
{
    sealchain__signature_file__init(&r->m);
    r->m.version = 1;
    r->m.n_signatures = n;
    r->m.signatures = r->ps;
    for (size_t i = 0; i < n; i++) {
        fill(&r->v[i], (uint8_t)(i + 1), 0xd0);
        sealchain__seal_signature__init(&r->s[i]);
        r->s[i].chain = B(r->v[i].chain);
        r->s[i].seal_id = B(r->v[i].seal_id);
        r->s[i].doc_hash = B(r->v[i].doc_hash);
        r->s[i].user_key = B(r->v[i].user_key);
        r->s[i].use_nonce = B(r->v[i].use_nonce);
        r->s[i].seal_signature = B(r->v[i].seal_signature);
        r->s[i].usage = B(r->v[i].usage);
        r->ps[i] = &r->s[i];
    }
}

static int raw_parse(struct raw *r)
{
    uint8_t *buf;
    size_t len;
    struct ledger_sigfile f;
    assert_int_equal(ledger_encode(&r->m.base, &buf, &len), 0);
    int rc = parse(buf, len, &f);
    free(buf);
    return rc;
}

static void a_file_must_have_version_1(void **state)
{
    (void)state;
    struct raw r;
    raw_init(&r, 1);
    assert_int_equal(raw_parse(&r), 0);
    r.m.version = 0;
    assert_int_equal(raw_parse(&r), LEDGER_E_BAD_FIELD);
    r.m.version = 2;
    assert_int_equal(raw_parse(&r), LEDGER_E_BAD_FIELD);
}

static void a_file_without_signatures_is_refused(void **state)
{
    (void)state;
    struct raw r;
    raw_init(&r, 0);
    assert_int_equal(raw_parse(&r), LEDGER_E_BAD_FIELD);
    struct ledger_sigfile f;
    assert_int_equal(parse(NULL, 0, &f), LEDGER_E_BAD_FIELD);
}

static void every_field_must_have_its_exact_size(void **state)
{
    (void)state;
    for (int field = 0; field < 7; field++) {
        for (int delta = -1; delta <= 1; delta += 2) {
            struct raw r;
            raw_init(&r, 2);
            uint8_t big[80] = { 0 };
            ProtobufCBinaryData *fs[] = { &r.s[1].chain,     &r.s[1].seal_id,
                                          &r.s[1].doc_hash,  &r.s[1].user_key,
                                          &r.s[1].use_nonce, &r.s[1].seal_signature,
                                          &r.s[1].usage };
            size_t len = fs[field]->len;
            memcpy(big, fs[field]->data, len);
            *fs[field] = (ProtobufCBinaryData){ len + (size_t)delta, big };
            assert_int_equal(raw_parse(&r), LEDGER_E_BAD_FIELD);
        }
    }
}

static void a_file_with_two_signatures_of_one_seal_is_refused(void **state)
{
    (void)state;
    struct raw r;
    raw_init(&r, 3);
    memcpy(r.v[2].seal_id, r.v[0].seal_id, LEDGER_HASH_LEN);
    assert_int_equal(raw_parse(&r), LEDGER_E_DUPLICATE_SIGNER);
    /* The very same signature twice, too. */
    raw_init(&r, 2);
    r.ps[1] = r.ps[0];
    assert_int_equal(raw_parse(&r), LEDGER_E_DUPLICATE_SIGNER);
}

static void a_file_over_two_documents_is_refused(void **state)
{
    (void)state;
    struct raw r;
    raw_init(&r, 2);
    r.v[1].doc_hash[31] ^= 1;
    assert_int_equal(raw_parse(&r), LEDGER_E_DOC_MISMATCH);
}

static void too_many_signatures_or_too_many_bytes_are_refused(void **state)
{
    (void)state;
    struct raw r;
    raw_init(&r, LEDGER_SIGFILE_MAX_SIGS + 1);
    assert_int_equal(raw_parse(&r), LEDGER_E_TOO_LARGE);
    uint8_t *big = calloc(1, LEDGER_SIGFILE_MAX_LEN + 1);
    struct ledger_sigfile f;
    assert_int_equal(parse(big, LEDGER_SIGFILE_MAX_LEN + 1, &f), LEDGER_E_TOO_LARGE);
    free(big);
}

static void a_trailing_byte_or_an_unknown_field_is_refused(void **state)
{
    (void)state;
    uint8_t *a;
    size_t al;
    append(NULL, 0, 1, 0xd0, &a, &al, 0);
    uint8_t *b = malloc(al + 3);
    memcpy(b, a, al);
    struct ledger_sigfile f;
    b[al] = 0x00;
    assert_int_equal(parse(b, al + 1, &f), LEDGER_E_MALFORMED);
    b[al] = 0x18; /* field 3, varint 1: unknown */
    b[al + 1] = 0x01;
    assert_int_equal(parse(b, al + 2, &f), LEDGER_E_MALFORMED);
    b[al] = 0x08; /* version again */
    b[al + 1] = 0x01;
    assert_int_equal(parse(b, al + 2, &f), LEDGER_E_MALFORMED);
    assert_int_equal(parse(a, al - 1, &f), LEDGER_E_MALFORMED);
    free(a);
    free(b);
}

static void every_byte_flip_is_refused_or_changes_a_parsed_value(void **state)
{
    (void)state;
    uint8_t *a, *b;
    size_t al, bl;
    append(NULL, 0, 1, 0xd0, &a, &al, 0);
    append(a, al, 2, 0xd0, &b, &bl, 0);
    struct ledger_sigfile orig, f;
    memset(&orig, 0, sizeof orig);
    assert_int_equal(parse(b, bl, &orig), 0);
    for (size_t i = 0; i < bl; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            memset(&f, 0, sizeof f);
            if (parse(b, bl, &f) == 0)
                assert_memory_not_equal(&f, &orig, sizeof f);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(a);
    free(b);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Whatever parse accepts is canonical: encoding the parsed file gives back
 * exactly the input bytes. Random mutations (fixed seed) never crash it. */
static void whatever_parses_re_encodes_to_the_same_bytes(void **state)
{
    (void)state;
    uint8_t *a, *b;
    size_t al, bl;
    append(NULL, 0, 1, 0xd0, &a, &al, 0);
    append(a, al, 2, 0xd0, &b, &bl, 0);
    uint64_t rng = 0xfeedbeefull;
    size_t accepted = 0;
    uint8_t *buf = malloc(bl + 64);
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, b, bl);
        size_t len = bl;
        for (uint64_t k = 1 + rng_next(&rng) % 3; k > 0; k--) {
            size_t at = len ? rng_next(&rng) % len : 0;
            switch (rng_next(&rng) % 4) {
            case 0:
                if (len)
                    buf[at] ^= (uint8_t)(1u << (rng_next(&rng) % 8));
                break;
            case 1:
                if (len < bl + 64) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = (uint8_t)rng_next(&rng);
                    len++;
                }
                break;
            case 2:
                if (len) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
                break;
            default:
                len = at;
            }
        }
        struct ledger_sigfile f;
        if (ledger_sigfile_parse(buf, len, &f, NULL, 0) != 0)
            continue;
        accepted++;
        uint8_t *re;
        size_t re_len;
        assert_int_equal(ledger_sigfile_encode(&f, &re, &re_len), 0);
        assert_int_equal(re_len, len);
        assert_memory_equal(re, buf, len);
        free(re);
    }
    /* Flips inside the fixed-size values keep a file parseable. */
    assert_true(accepted > 100);
    free(buf);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appending_to_no_file_makes_a_one_signature_file_that_parses_back),
        cmocka_unit_test(one_document_can_carry_the_seals_of_several_organisations),
        cmocka_unit_test(appending_a_second_signature_of_the_same_seal_is_refused),
        cmocka_unit_test(appending_a_signature_over_another_document_is_refused),
        cmocka_unit_test(appending_to_a_malformed_or_full_file_is_refused),
        cmocka_unit_test(a_file_must_have_version_1),
        cmocka_unit_test(a_file_without_signatures_is_refused),
        cmocka_unit_test(every_field_must_have_its_exact_size),
        cmocka_unit_test(a_file_with_two_signatures_of_one_seal_is_refused),
        cmocka_unit_test(a_file_over_two_documents_is_refused),
        cmocka_unit_test(too_many_signatures_or_too_many_bytes_are_refused),
        cmocka_unit_test(a_trailing_byte_or_an_unknown_field_is_refused),
        cmocka_unit_test(every_byte_flip_is_refused_or_changes_a_parsed_value),
        cmocka_unit_test(whatever_parses_re_encodes_to_the_same_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
