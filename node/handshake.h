/* The authenticated key exchange that opens every peer link (DESIGN.md §5). */
#ifndef SEALCHAIN_NODE_HANDSHAKE_H
#define SEALCHAIN_NODE_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "node/frame.h"

/*
 * SIGMA-style, three messages, fresh ephemeral X25519 keys (crypto_kx) on
 * both sides; the dialer is the kx client, the listener the kx server:
 *
 *   dialer -> listener  HELLO   genesis hash, dialer node key, dialer ephemeral, time
 *   listener -> dialer  REPLY   listener node key, listener ephemeral, time,
 *                               signature, listener->dialer stream header, MAC
 *   dialer -> listener  FINISH  time, signature, dialer->listener stream header, MAC
 *
 * Each signature is made with the node's Ed25519 key over
 *   "sealchain.hshake" (16 bytes, zero padded) ‖ genesis hash ‖ role (1 byte,
 *   NODE_HS_DIALER or NODE_HS_LISTENER) ‖ dialer node key ‖ listener node key ‖
 *   dialer ephemeral ‖ listener ephemeral
 * (ledger_sign with LEDGER_TAG_HANDSHAKE; node_hs_signed_payload builds the
 * part after the genesis hash). Fresh ephemerals make every signature valid
 * for one session only; the role byte keeps a listener's signature from
 * passing as a dialer's.
 *
 * Key confirmation: the crypto_kx session keys of each direction are split
 * (crypto_kdf) into a stream key and a MAC key. REPLY and FINISH end with
 * HMAC-SHA-512-256 under the sender's MAC key over SHA-256 of every
 * handshake byte before the MAC (so the times and stream headers are bound
 * too). Neither side counts the other as authenticated until that MAC
 * checked: the dialer on a good REPLY, the listener on a good FINISH.
 *
 * Clock offset: each message carries the sender's wall clock (ms). The
 * dialer estimates peer − own as t_reply − (t_hello_sent + t_reply_received)/2,
 * the listener as t_finish − (t_reply_sent + t_finish_received)/2. With
 * asymmetric delays the estimate is off by at most rtt/2.
 *
 * REFUSE (listener -> dialer, instead of REPLY): reason code (u8, a
 * NODE_E_HS_* value) ‖ the listener's genesis hash. A listener that refuses a
 * HELLO for its chain or its key says why, so the operator of a misconfigured
 * dialer reads "peer is on chain X… but we are on Y…" on its own side too. It
 * is unauthenticated and only informs a log line: an attacker on the path
 * could as well cut the connection.
 *
 * Wire: each message travels as a plaintext frame (u32 BE length ‖ message,
 * see frame.h); node_frame_rx_init_plain(rx, NODE_HS_MSG_MAX) assembles them.
 * Messages are fixed-size; decoding is strict (version byte first, unknown
 * version refused, then the type, then the exact length).
 *
 * Pure: no sockets and no clock; every call takes now_ms (wall clock, ms).
 */

/* The transport drops a connection whose handshake has not completed after
 * this long. A handshake is 1.5 round trips plus three Ed25519 operations
 * (well under 1 ms): 5 s covers long-haul RTTs with a few TCP retransmits,
 * while keeping unauthenticated connections short-lived (DESIGN.md §5), so
 * silent or slow-drip connections cannot hold handshake slots. */
#define NODE_HS_TIMEOUT_MS 5000

#define NODE_HS_VERSION 1
enum node_hs_type { NODE_HS_HELLO = 1, NODE_HS_REPLY = 2, NODE_HS_FINISH = 3, NODE_HS_REFUSE = 4 };
enum node_hs_role { NODE_HS_DIALER = 1, NODE_HS_LISTENER = 2 };

#define NODE_HS_MAC_LEN   32 /* crypto_auth_hmacsha512256_BYTES */
#define NODE_HS_HELLO_LEN (2 + LEDGER_HASH_LEN + 2 * LEDGER_KEY_LEN + 8)
#define NODE_HS_REPLY_LEN                                                                          \
    (2 + 2 * LEDGER_KEY_LEN + 8 + LEDGER_SIG_LEN + NODE_FRAME_HEADER_LEN + NODE_HS_MAC_LEN)
#define NODE_HS_FINISH_LEN (2 + 8 + LEDGER_SIG_LEN + NODE_FRAME_HEADER_LEN + NODE_HS_MAC_LEN)
#define NODE_HS_REFUSE_LEN (2 + 1 + LEDGER_HASH_LEN)
#define NODE_HS_MSG_MAX    NODE_HS_REPLY_LEN
/* role ‖ dialer key ‖ listener key ‖ dialer ephemeral ‖ listener ephemeral */
#define NODE_HS_SIGNED_LEN (1 + 4 * LEDGER_KEY_LEN)
#define NODE_HS_ERRMSG_LEN 256

/* Decoded messages: plain values. */
struct node_hs_hello {
    uint8_t genesis[LEDGER_HASH_LEN];
    uint8_t node_key[LEDGER_KEY_LEN];
    uint8_t eph[LEDGER_KEY_LEN];
    uint64_t time_ms;
};
struct node_hs_reply {
    uint8_t node_key[LEDGER_KEY_LEN];
    uint8_t eph[LEDGER_KEY_LEN];
    uint64_t time_ms;
    uint8_t sig[LEDGER_SIG_LEN];
    uint8_t stream_header[NODE_FRAME_HEADER_LEN];
    uint8_t mac[NODE_HS_MAC_LEN];
};
struct node_hs_finish {
    uint64_t time_ms;
    uint8_t sig[LEDGER_SIG_LEN];
    uint8_t stream_header[NODE_FRAME_HEADER_LEN];
    uint8_t mac[NODE_HS_MAC_LEN];
};

struct node_hs_refuse {
    uint8_t code; /* enum node_err */
    uint8_t genesis[LEDGER_HASH_LEN];
};

/* Strict decoders of one message body (in: len bytes, borrowed). Return 0,
 * NODE_E_HS_MALFORMED (wrong length, empty), NODE_E_HS_VERSION or
 * NODE_E_HS_UNEXPECTED (another message type). */
int node_hs_hello_decode(const uint8_t *in, size_t len, struct node_hs_hello *out);
int node_hs_reply_decode(const uint8_t *in, size_t len, struct node_hs_reply *out);
int node_hs_finish_decode(const uint8_t *in, size_t len, struct node_hs_finish *out);
int node_hs_refuse_decode(const uint8_t *in, size_t len, struct node_hs_refuse *out);
/* Encoders into a fixed-size buffer (the matching NODE_HS_*_LEN bytes). */
void node_hs_hello_encode(const struct node_hs_hello *m, uint8_t out[static NODE_HS_HELLO_LEN]);
void node_hs_reply_encode(const struct node_hs_reply *m, uint8_t out[static NODE_HS_REPLY_LEN]);
void node_hs_finish_encode(const struct node_hs_finish *m, uint8_t out[static NODE_HS_FINISH_LEN]);
void node_hs_refuse_encode(const struct node_hs_refuse *m, uint8_t out[static NODE_HS_REFUSE_LEN]);

/* The signed payload (after tag ‖ genesis) for the given signer role. */
void node_hs_signed_payload(enum node_hs_role role, const uint8_t dialer_key[static LEDGER_KEY_LEN],
                            const uint8_t listener_key[static LEDGER_KEY_LEN],
                            const uint8_t dialer_eph[static LEDGER_KEY_LEN],
                            const uint8_t listener_eph[static LEDGER_KEY_LEN],
                            uint8_t out[static NODE_HS_SIGNED_LEN]);

/* One handshake. Caller-allocated (node_hs_init / node_hs_close); fields are
 * private. Secret keys live in sodium_malloc'd memory (sec). */
struct node_hs {
    enum node_hs_role role;
    int state;
    int err; /* sticky: the first error */
    int expected;
    int peer_index;
    uint32_t n;
    uint8_t genesis[LEDGER_HASH_LEN];
    uint8_t keys[LEDGER_MAX_VALIDATORS][LEDGER_KEY_LEN];
    uint8_t own_key[LEDGER_KEY_LEN];
    uint8_t own_eph[LEDGER_KEY_LEN];
    uint8_t peer_key[LEDGER_KEY_LEN];
    uint8_t peer_eph[LEDGER_KEY_LEN];
    struct node_hs__secret *sec;
    uint8_t transcript[NODE_HS_HELLO_LEN + NODE_HS_REPLY_LEN];
    size_t transcript_len;
    uint64_t sent_ms; /* own clock when our last message left */
    int64_t offset_ms;
    uint64_t rtt_ms;
    uint8_t out[NODE_FRAME_PREFIX_LEN + NODE_HS_MSG_MAX];
    struct node_frame_tx tx;
    struct node_frame_rx rx;
    char errmsg[NODE_HS_ERRMSG_LEN];
};

/* What a completed handshake hands the transport. */
struct node_hs_result {
    uint32_t peer_index;              /* the peer's validator index in genesis */
    uint8_t peer_key[LEDGER_KEY_LEN]; /* its node key */
    int64_t clock_offset_ms;          /* estimate of peer clock − own clock */
    uint64_t rtt_ms;                  /* measured round trip (0 if the clock stepped back) */
    struct node_frame_tx tx;          /* owned by the caller: node_frame_tx_close */
    struct node_frame_rx rx;          /* owned by the caller: node_frame_rx_close */
};

/*
 * Starts a handshake. genesis (32 bytes), sk (64-byte libsodium Ed25519
 * secret key: seed ‖ public key) and keys (n validator node keys of
 * LEDGER_KEY_LEN bytes each, n <= LEDGER_MAX_VALIDATORS) are borrowed for
 * the call and copied (the secret key into sodium_malloc'd memory).
 * A dialer names the validator it dialled (expected, 0 <= expected < n, not
 * itself); a listener passes -1. For a dialer, *out / *out_len receive the
 * HELLO in wire form (valid until the next call on hs); for a listener
 * *out_len is 0. Returns 0, NODE_E_INVALID or NODE_E_NOMEM with the reason in
 * errmsg; hs must be closed in every case.
 */
int node_hs_init(struct node_hs *hs, enum node_hs_role role,
                 const uint8_t genesis[static LEDGER_HASH_LEN],
                 const uint8_t sk[static LEDGER_SECRET_LEN], const uint8_t *keys, uint32_t n,
                 int expected, uint64_t now_ms, const uint8_t **out, size_t *out_len);

/*
 * Consumes one complete handshake message (in: len bytes, borrowed: a frame
 * body from the plain reader) received at now_ms. On success *out / *out_len
 * hold the next message in wire form to send (len 0 if none; valid until the
 * next call on hs). Returns 0 or an NODE_E_HS_* code with context in
 * node_hs_errmsg(); a failed handshake stays failed (NODE_E_HS_FAILED after)
 * and its secrets are wiped. The transport drops the connection on failure;
 * when a listener refuses a HELLO (wrong chain, unknown or own key), *out
 * holds a REFUSE it should try to send first. A dialer that receives a
 * REFUSE fails with NODE_E_HS_WRONG_CHAIN (both hashes in errmsg) or
 * NODE_E_HS_REFUSED.
 */
int node_hs_step(struct node_hs *hs, const uint8_t *in, size_t len, uint64_t now_ms,
                 const uint8_t **out, size_t *out_len);

/* True once the peer proved its key and the session keys. */
bool node_hs_done(const struct node_hs *hs);

/* Moves the result out of a done handshake (the frame states become the
 * caller's). Returns 0 or NODE_E_INVALID (not done, or already taken). */
int node_hs_take(struct node_hs *hs, struct node_hs_result *out);

/* Why the last call failed, with context (owned by hs). */
const char *node_hs_errmsg(const struct node_hs *hs);

/* Wipes and frees everything hs holds, including frame states not taken. */
void node_hs_close(struct node_hs *hs);

#endif
