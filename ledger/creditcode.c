/* Unified social credit codes (统一社会信用代码, GB 32100-2015): the check character. */
#include "ledger/creditcode.h"

#include <string.h>

/* GB 32100-2015 §4.3: 31 characters, value = position in this string. */
static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* Weight of position i (0-based) is 3^i mod 31. */
static const int weights[17] = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28 };

static int value_of(char c)
{
    if (c == '\0')
        return -1;
    const char *p = strchr(alphabet, c);
    return p == NULL ? -1 : (int)(p - alphabet);
}

char ledger_credit_code_check_char(const char *s17)
{
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        int v = value_of(s17[i]);
        if (v < 0)
            return '\0';
        sum += v * weights[i];
    }
    /* C18 = 31 − (Σ Ci·Wi mod 31), with 31 written as 0. */
    int check = (31 - sum % 31) % 31;
    return alphabet[check];
}

bool ledger_credit_code_valid(const char *s)
{
    if (s == NULL || strlen(s) != LEDGER_CREDIT_CODE_LEN)
        return false;
    char want = ledger_credit_code_check_char(s);
    return want != '\0' && value_of(s[17]) >= 0 && s[17] == want;
}
