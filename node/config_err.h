/* Error codes of the node's configuration and key-file layer (one enum, one string table). */
#ifndef SEALCHAIN_NODE_CONFIG_ERR_H
#define SEALCHAIN_NODE_CONFIG_ERR_H

/* X(NAME, "message"). To be folded into the node's error enum once it exists. */
#define NODE_CONFIG_ERRORS(X)                                                                      \
    X(OK, "ok")                                                                                    \
    X(NOMEM, "out of memory")                                                                      \
    X(NOT_FOUND, "no such file")                                                                   \
    X(EXISTS, "file already exists")                                                               \
    X(PERM, "file permissions too open")                                                           \
    X(INVALID, "malformed file")                                                                   \
    X(TOO_LARGE, "file exceeds its size limit")                                                    \
    X(IO, "I/O error")

#define NODE_CONFIG__ERR_ENUM(name, msg) NODE_CONFIG_E_##name,
enum node_config_err { NODE_CONFIG_ERRORS(NODE_CONFIG__ERR_ENUM) NODE_CONFIG_E__COUNT };
#undef NODE_CONFIG__ERR_ENUM

/* A static string for a code; "unknown error" when out of range. */
const char *node_config_strerror(int code);

#endif
