/* Unified social credit codes (统一社会信用代码, GB 32100-2015): the check character. */
#ifndef SEALCHAIN_LEDGER_CREDITCODE_H
#define SEALCHAIN_LEDGER_CREDITCODE_H

#include <stdbool.h>
#include <stddef.h>

#define LEDGER_CREDIT_CODE_LEN 18

/* True when s (NUL-terminated, borrowed) is exactly 18 characters of the
 * code's alphabet (digits and upper-case letters other than I, O, S, V, Z)
 * and its 18th character is the GB 32100-2015 check character of the first
 * 17. Lower case is refused: the code is printed in upper case, and one
 * spelling per organisation keeps the 'O' key unique. */
bool ledger_credit_code_valid(const char *s);

/* The check character for the first 17 characters of s, or '\0' when one of
 * them is outside the alphabet (tests and sealctl use it to make codes). */
char ledger_credit_code_check_char(const char *s17);

#endif
