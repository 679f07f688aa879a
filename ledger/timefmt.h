/* RFC 3339 times <-> unix milliseconds (UTC), pure: no clock, no locale, no time zone database. */
#ifndef SEALCHAIN_LEDGER_TIMEFMT_H
#define SEALCHAIN_LEDGER_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" and its NUL. */
#define LEDGER_TIME_STR_LEN 25

/*
 * Parses an RFC 3339 date-time (section 5.6) into milliseconds since the
 * unix epoch: "2026-11-26T08:00:00Z", "2026-11-26T16:00:00+08:00",
 * "2026-11-26T08:00:00.250Z". 'T' and 'Z' may be lower case (RFC 3339 5.6
 * NOTE). Fractional seconds of 1..9 digits are truncated to milliseconds.
 * The offset is ±hh:mm with hh <= 23, mm <= 59 ("-00:00" is UTC).
 *
 * Refused: anything else around or inside the string (a space for 'T', a
 * missing offset, signs, blanks), impossible dates (Feb 30; Feb 29 outside
 * leap years), hours over 23, minutes or seconds over 59 (a leap second
 * "23:59:60" has no unix time), years outside 0001..9999, instants before
 * 1970-01-01T00:00:00Z and after 9999-12-31T23:59:59.999Z (a negative offset
 * can push the last day of 9999 past what ledger_time_format can write). s is a NUL-terminated
 * string (borrowed). Returns 0 and *out_ms, or LEDGER_E_BAD_FIELD with *out_ms untouched and, when
 * why is not NULL, a static reason in *why.
 */
int ledger_time_parse(const char *s, uint64_t *out_ms, const char **why);

/*
 * Formats ms as RFC 3339 UTC: "2026-11-26T08:00:00Z", or with ".mmm" when ms
 * is not a whole second. Times past 9999-12-31T23:59:59.999Z are clamped to
 * it (they cannot be written in four year digits). out: LEDGER_TIME_STR_LEN.
 */
void ledger_time_format(uint64_t ms, char out[static LEDGER_TIME_STR_LEN]);

#endif
