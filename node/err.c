/* String tables for enum node_err. */
#include "node/err.h"

#define MSG(name, msg)  msg,
#define NAME(name, msg) #name,
static const char *const messages[] = { NODE_ERRORS(MSG) };
static const char *const names[] = { NODE_ERRORS(NAME) };
#undef MSG
#undef NAME

const char *node_strerror(int code)
{
    if (code < 0 || code >= NODE_E__COUNT)
        return "unknown error";
    return messages[code];
}

const char *node_errname(int code)
{
    if (code < 0 || code >= NODE_E__COUNT)
        return "UNKNOWN";
    return names[code];
}
