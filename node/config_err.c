/* String table for enum node_config_err. */
#include "node/config_err.h"

#define MSG(name, msg) msg,
static const char *const messages[] = { NODE_CONFIG_ERRORS(MSG) };
#undef MSG

const char *node_config_strerror(int code)
{
    if (code < 0 || code >= NODE_CONFIG_E__COUNT)
        return "unknown error";
    return messages[code];
}
