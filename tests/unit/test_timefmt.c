/* Tests of the RFC 3339 parser and formatter (ledger/timefmt.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/timefmt.h"

struct good_case {
    const char *text;
    uint64_t ms;
};

static void valid_times_give_their_unix_milliseconds(void **state)
{
    (void)state;
    static const struct good_case cases[] = {
        { "1970-01-01T00:00:00Z", 0 },
        { "2026-11-26T08:00:00Z", 1795680000000ull },
        { "2026-11-26t08:00:00z", 1795680000000ull },
        { "2026-11-26T16:00:00+08:00", 1795680000000ull },
        { "2026-11-26T03:30:00-04:30", 1795680000000ull },
        { "2026-11-26T08:00:00-00:00", 1795680000000ull },
        { "2026-11-26T08:00:00.5Z", 1795680000500ull },
        { "2026-11-26T08:00:00.25Z", 1795680000250ull },
        { "2026-11-26T08:00:00.123456789Z", 1795680000123ull },
        { "2000-02-29T12:00:00Z", 951825600000ull },        /* divisible by 400: leap */
        { "2024-02-29T00:00:00Z", 1709164800000ull },       /* divisible by 4: leap */
        { "2024-12-31T23:59:59Z", 1735689599000ull },       /* day 366 */
        { "1970-01-01T08:00:00+08:00", 0 },                 /* the epoch, east of UTC */
        { "9999-12-31T23:59:59.999Z", 253402300799999ull }, /* the last writable instant */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t ms = 42;
        const char *why = NULL;
        int rc = ledger_time_parse(cases[i].text, &ms, &why);
        if (rc != 0 || ms != cases[i].ms)
            fail_msg("%s: rc %d (%s), %llu ms, wanted %llu", cases[i].text, rc, why ? why : "-",
                     (unsigned long long)ms, (unsigned long long)cases[i].ms);
    }
}

struct bad_case {
    const char *text, *want;
};

static void impossible_or_malformed_times_are_refused_with_a_reason(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        { "2026-02-30T00:00:00Z", "no such day" }, /* Feb 30 */
        { "2026-02-29T00:00:00Z", "no such day" }, /* not a leap year */
        { "1900-02-29T00:00:00Z", "no such day" }, /* divisible by 100, not 400 */
        { "2026-04-31T00:00:00Z", "no such day" }, /* April has 30 */
        { "2026-13-01T00:00:00Z", "month" },
        { "2026-00-10T00:00:00Z", "month" },
        { "2026-01-00T00:00:00Z", "no such day" },
        { "2026-01-01T24:00:00Z", "hour or minute" },
        { "2026-01-01T23:60:00Z", "hour or minute" },
        { "2026-12-31T23:59:60Z", "leap second" },
        { "2026-01-01T00:00:00", "missing time zone" },
        { "2026-01-01 00:00:00Z", "'T'" },
        { "2026-01-01T00:00:00Z ", "text after" },
        { "2026-01-01T00:00:00+0800", "offset" },
        { "2026-01-01T00:00:00+24:00", "offset out of range" },
        { "2026-01-01T00:00:00+08:60", "offset out of range" },
        { "2026-01-01T00:00:00.Z", "fractional" },
        { "2026-01-01T00:00:00.1234567890Z", "fractional" },
        { "1969-12-31T23:59:59Z", "before 1970" },
        { "1970-01-01T00:00:00+00:01", "before 1970" },
        { "0000-01-01T00:00:00Z", "year 0000" },
        { "26-01-01T00:00:00Z", "YYYY-MM-DD" },
        { "+2026-01-01T00:00:00Z", "YYYY-MM-DD" },
        { "2026-1-01T00:00:00Z", "YYYY-MM-DD" },
        { "2026-01-01T0:00:00Z", "hh:mm:ss" },
        { "1795680000", "YYYY-MM-DD" },
        { "", "YYYY-MM-DD" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t ms = 42;
        const char *why = NULL;
        int rc = ledger_time_parse(cases[i].text, &ms, &why);
        if (rc != LEDGER_E_BAD_FIELD || ms != 42 || why == NULL ||
            strstr(why, cases[i].want) == NULL)
            fail_msg("'%s': rc %d, why \"%s\", wanted \"%s\"", cases[i].text, rc,
                     why ? why : "(null)", cases[i].want);
    }
}

static void formatting_writes_utc_with_milliseconds_only_when_needed(void **state)
{
    (void)state;
    char out[LEDGER_TIME_STR_LEN];
    ledger_time_format(1795680000000ull, out);
    assert_string_equal(out, "2026-11-26T08:00:00Z");
    ledger_time_format(1795680000007ull, out);
    assert_string_equal(out, "2026-11-26T08:00:00.007Z");
    ledger_time_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    ledger_time_format(951782400000ull, out);
    assert_string_equal(out, "2000-02-29T00:00:00Z");
    ledger_time_format(UINT64_MAX, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
}

/* Every day from 1970 to 2100 (and a spread of times of day) formats and
 * parses back to itself: the two directions agree across leap years. */
static void format_then_parse_is_the_identity(void **state)
{
    (void)state;
    char out[LEDGER_TIME_STR_LEN];
    for (uint64_t day = 0; day < 47482; day++) {
        uint64_t ms = day * 86400000ull + (day * 7919ull % 86400000ull);
        ledger_time_format(ms, out);
        uint64_t back = 0;
        const char *why = NULL;
        if (ledger_time_parse(out, &back, &why) != 0 || back != ms)
            fail_msg("%llu -> %s -> %llu (%s)", (unsigned long long)ms, out,
                     (unsigned long long)back, why ? why : "-");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_times_give_their_unix_milliseconds),
        cmocka_unit_test(impossible_or_malformed_times_are_refused_with_a_reason),
        cmocka_unit_test(formatting_writes_utc_with_milliseconds_only_when_needed),
        cmocka_unit_test(format_then_parse_is_the_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
