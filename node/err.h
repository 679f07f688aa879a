/* Error codes of node/: one enum, one string table (STYLE.md 4). */
#ifndef SEALCHAIN_NODE_ERR_H
#define SEALCHAIN_NODE_ERR_H

/* X(NAME, "message an operator understands"). Each refusal a peer can cause
 * has its own code, so the transport can log it and tests can tell them
 * apart; the errmsg buffer of the object that failed adds the context. */
#define NODE_ERRORS(X)                                                                             \
    X(OK, "ok")                                                                                    \
    X(NOMEM, "out of memory")                                                                      \
    X(INVALID, "invalid argument")                                                                 \
    X(CONFIG, "invalid node configuration")                                                        \
    X(STATE, "the node's stored state cannot be read or resumed")                                  \
    X(NOT_FOUND, "no such file")                                                                   \
    X(EXISTS, "file already exists")                                                               \
    X(PERM, "file permissions too open")                                                           \
    X(MALFORMED, "malformed file")                                                                 \
    X(TOO_LARGE, "file exceeds its size limit")                                                    \
    X(IO, "I/O error")                                                                             \
    X(CRYPTO, "cryptographic library failure")                                                     \
    X(HS_MALFORMED, "malformed handshake message")                                                 \
    X(HS_VERSION, "unsupported handshake version")                                                 \
    X(HS_UNEXPECTED, "handshake message not expected in this state")                               \
    X(HS_WRONG_CHAIN, "peer is on another chain (genesis hash differs)")                           \
    X(HS_UNKNOWN_PEER, "peer key is not a validator node key in genesis")                          \
    X(HS_WRONG_PEER, "peer is not the validator that was dialled")                                 \
    X(HS_SELF, "peer presented our own node key")                                                  \
    X(HS_BAD_SIGNATURE, "handshake signature invalid")                                             \
    X(HS_BAD_MAC, "handshake key confirmation failed")                                             \
    X(HS_REFUSED, "peer refused the handshake")                                                    \
    X(HS_FAILED, "handshake already failed")                                                       \
    X(FRAME_TOO_LARGE, "frame length exceeds the limit")                                           \
    X(FRAME_MALFORMED, "frame too short to be valid")                                              \
    X(FRAME_BAD, "frame failed authentication (tampered, reordered or replayed)")                  \
    X(FRAME_TAG, "frame carries a stream tag other than MESSAGE")                                  \
    X(FRAME_FAILED, "stream already failed")

#define NODE__ERR_ENUM(name, msg) NODE_E_##name,
enum node_err { NODE_ERRORS(NODE__ERR_ENUM) NODE_E__COUNT };
#undef NODE__ERR_ENUM

/* Returns a static string for a code; "unknown error" when out of range. */
const char *node_strerror(int code);

/* Returns "HS_WRONG_CHAIN"-style names (stable, for logs and tests). */
const char *node_errname(int code);

#endif
