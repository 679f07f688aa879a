/* String tables for enum ledger_err. */
#include "ledger/err.h"

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
