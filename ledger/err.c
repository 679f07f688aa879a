/* String tables for enum ledger_err. */
#include "ledger/err.h"

#include <stdarg.h>
#include <stdio.h>

#define MSG(name, msg)  msg,
#define NAME(name, msg) #name,
static const char *const messages[] = { LEDGER_ERRORS(MSG) };
static const char *const names[] = { LEDGER_ERRORS(NAME) };
#undef MSG
#undef NAME

const char *ledger_strerror(int code)
{
    if (code < 0 || code >= LEDGER_E__COUNT)
        return "unknown error";
    return messages[code];
}

const char *ledger_errname(int code)
{
    if (code < 0 || code >= LEDGER_E__COUNT)
        return "UNKNOWN";
    return names[code];
}

int ledger_verrf(int code, char *errmsg, size_t errmsg_len, const char *fmt, va_list ap)
{
    if (errmsg != NULL && errmsg_len > 0)
        vsnprintf(errmsg, errmsg_len, fmt, ap);
    return code;
}

int ledger_errf(int code, char *errmsg, size_t errmsg_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ledger_verrf(code, errmsg, errmsg_len, fmt, ap);
    va_end(ap);
    return code;
}
