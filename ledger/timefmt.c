/* RFC 3339 times <-> unix milliseconds (UTC): civil-date arithmetic after H. Hinnant's algorithms.
 */
#include "ledger/timefmt.h"

#include <stdbool.h>
#include <stdio.h>

#include "ledger/err.h"

/* 9999-12-31T23:59:59.999Z: the last instant four year digits can write. */
#define TIME_MAX_MS 253402300799999ull

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12, d valid). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n decimal digits at *p into *out and advances *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char a, char b)
{
    if (**p != a && **p != b)
        return false;
    (*p)++;
    return true;
}

struct fields {
    int year, month, day, hour, min, sec, ms;
    int offset_min; /* local time minus UTC */
};

static const char *parse_date_time(const char **pp, struct fields *f)
{
    const char *p = *pp;
    if (!digits(&p, 4, &f->year) || !expect(&p, '-', '-') || !digits(&p, 2, &f->month) ||
        !expect(&p, '-', '-') || !digits(&p, 2, &f->day))
        return "not an RFC 3339 date (YYYY-MM-DD)";
    if (!expect(&p, 'T', 't'))
        return "date and time must be joined by 'T'";
    if (!digits(&p, 2, &f->hour) || !expect(&p, ':', ':') || !digits(&p, 2, &f->min) ||
        !expect(&p, ':', ':') || !digits(&p, 2, &f->sec))
        return "not an RFC 3339 time (hh:mm:ss)";
    f->ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; p[n] >= '0' && p[n] <= '9'; n++)
            if (n < 3)
                f->ms = f->ms * 10 + (p[n] - '0');
        if (n == 0 || n > 9)
            return "fractional seconds must have 1 to 9 digits";
        for (int i = n; i < 3; i++)
            f->ms *= 10;
        p += n;
    }
    *pp = p;
    return NULL;
}

static const char *parse_offset(const char *p, struct fields *f)
{
    f->offset_min = 0;
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0' ? NULL : "text after the time";
    if (*p != '+' && *p != '-')
        return "missing time zone ('Z' or +hh:mm)";
    int sign = *p == '-' ? -1 : 1, hh, mm;
    p++;
    if (!digits(&p, 2, &hh) || !expect(&p, ':', ':') || !digits(&p, 2, &mm))
        return "bad time zone offset (want +hh:mm)";
    if (hh > 23 || mm > 59)
        return "time zone offset out of range";
    if (*p != '\0')
        return "text after the time";
    f->offset_min = sign * (hh * 60 + mm);
    return NULL;
}

static const char *check_ranges(const struct fields *f)
{
    if (f->year < 1)
        return "year 0000 does not exist";
    if (f->month < 1 || f->month > 12)
        return "month out of range";
    if (f->day < 1 || f->day > days_in_month(f->year, f->month))
        return "no such day in that month";
    if (f->hour > 23 || f->min > 59)
        return "hour or minute out of range";
    if (f->sec == 60)
        return "leap second (:60) has no unix time";
    if (f->sec > 59)
        return "second out of range";
    return NULL;
}

int ledger_time_parse(const char *s, uint64_t *out_ms, const char **why)
{
    struct fields f;
    const char *p = s, *reason = parse_date_time(&p, &f);
    if (reason == NULL)
        reason = parse_offset(p, &f);
    if (reason == NULL)
        reason = check_ranges(&f);
    if (reason == NULL) {
        int64_t days = days_from_civil(f.year, f.month, f.day);
        int64_t secs = days * 86400 + f.hour * 3600 + f.min * 60 + f.sec - f.offset_min * 60;
        if (secs < 0)
            reason = "before 1970-01-01T00:00:00Z";
        else
            *out_ms = (uint64_t)secs * 1000 + (uint64_t)f.ms;
    }
    if (reason != NULL && why != NULL)
        *why = reason;
    return reason == NULL ? 0 : LEDGER_E_BAD_FIELD;
}

void ledger_time_format(uint64_t ms, char out[static LEDGER_TIME_STR_LEN])
{
    if (ms > TIME_MAX_MS)
        ms = TIME_MAX_MS;
    int64_t secs = (int64_t)(ms / 1000), y;
    int m, d, frac = (int)(ms % 1000);
    civil_from_days(secs / 86400, &y, &m, &d);
    int sod = (int)(secs % 86400);
    int n = snprintf(out, LEDGER_TIME_STR_LEN, "%04d-%02d-%02dT%02d:%02d:%02d", (int)y, m, d,
                     sod / 3600, sod / 60 % 60, sod % 60);
    if (frac != 0)
        snprintf(out + n, (size_t)(LEDGER_TIME_STR_LEN - n), ".%03dZ", frac);
    else
        snprintf(out + n, (size_t)(LEDGER_TIME_STR_LEN - n), "Z");
}
