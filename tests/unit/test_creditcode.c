/* Unified social credit codes: the GB 32100-2015 check character. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/creditcode.h"

static const char *const known_valid[] = {
    "91350100M000100Y43", /* example from GB 32100-2015 literature */
    "91110000600037341L", /* a Beijing enterprise */
};

static void known_codes_are_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(known_valid) / sizeof(known_valid[0]); i++)
        assert_true(ledger_credit_code_valid(known_valid[i]));
}

static void check_char_matches_known_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(known_valid) / sizeof(known_valid[0]); i++)
        assert_int_equal(ledger_credit_code_check_char(known_valid[i]), known_valid[i][17]);
}

/* Changing any one character to any other character of the alphabet breaks
 * the check (the weights are all non-zero mod 31, a prime). */
static void any_single_change_is_refused(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for (size_t i = 0; i < sizeof(known_valid) / sizeof(known_valid[0]); i++) {
        for (int pos = 0; pos < 18; pos++) {
            for (const char *a = alphabet; *a; a++) {
                char code[19];
                memcpy(code, known_valid[i], 19);
                if (code[pos] == *a)
                    continue;
                code[pos] = *a;
                assert_false(ledger_credit_code_valid(code));
            }
        }
    }
}

static void swapped_adjacent_characters_are_refused(void **state)
{
    (void)state;
    char code[19];
    memcpy(code, "91350100M000100Y43", 19);
    char t = code[8];
    code[8] = code[9];
    code[9] = t; /* M0 -> 0M */
    assert_false(ledger_credit_code_valid(code));
}

static void wrong_length_is_refused(void **state)
{
    (void)state;
    assert_false(ledger_credit_code_valid(""));
    assert_false(ledger_credit_code_valid("91350100M000100Y4"));
    assert_false(ledger_credit_code_valid("91350100M000100Y430"));
    assert_false(ledger_credit_code_valid(NULL));
}

static void letters_outside_the_alphabet_are_refused(void **state)
{
    (void)state;
    /* I, O, S, V, Z are not used (confusable with 1, 0, 5, U, 2); lower case is refused. */
    const char *bad[] = { "9135010OM000100Y43", "91350100m000100Y43", "91350100M000100y43",
                          "9135010IM000100Y43", "91350100M00010 Y43" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(ledger_credit_code_valid(bad[i]));
    assert_int_equal(ledger_credit_code_check_char("9135010OM000100Y4"), '\0');
}

static void check_char_zero_case_is_written_as_0(void **state)
{
    (void)state;
    /* Find a 17-character prefix whose weighted sum is 0 mod 31: check char '0'. */
    char code[19] = "00000000000000000";
    assert_int_equal(ledger_credit_code_check_char(code), '0');
    code[17] = '0';
    code[18] = '\0';
    assert_true(ledger_credit_code_valid(code));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_codes_are_valid),
        cmocka_unit_test(check_char_matches_known_codes),
        cmocka_unit_test(any_single_change_is_refused),
        cmocka_unit_test(swapped_adjacent_characters_are_refused),
        cmocka_unit_test(wrong_length_is_refused),
        cmocka_unit_test(letters_outside_the_alphabet_are_refused),
        cmocka_unit_test(check_char_zero_case_is_written_as_0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
