/* Length-prefixed frames on a byte stream: plaintext (handshake) or secretstream-encrypted. */
#ifndef SEALCHAIN_NODE_FRAME_H
#define SEALCHAIN_NODE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/pbft.h"

/*
 * Wire form of every frame: length (u32 big-endian) ‖ body, where length is
 * the number of body bytes. During the handshake the body is a handshake
 * message in clear; afterwards it is one crypto_secretstream_xchacha20poly1305
 * message (tag byte, ciphertext, 16-byte MAC), one stream per direction, with
 * the 4 length bytes as additional data so they are authenticated too.
 *
 * Pure code: no sockets, no clock, no libuv. The transport writes what the
 * encoder gives and feeds the decoder whatever recv() returned, in any
 * chunking. Any error leaves a decoder failed for good: the transport drops
 * the peer (DESIGN.md §6).
 *
 * Frame counts. secretstream carries a 32-bit per-message counter in its
 * nonce and rekeys itself when it wraps, and libsodium documents no practical
 * limit on the number of messages per stream, so neither side counts down
 * to a forced reconnect. Reordered, replayed or dropped frames fail the MAC
 * because each message's nonce is implied by its position in the stream.
 * Only MESSAGE tags are sent; a frame with any other tag (FINAL, PUSH,
 * REKEY) is refused: the end of a link is the end of its TCP connection.
 */

#define NODE_FRAME_PREFIX_LEN 4
#define NODE_FRAME_KEY_LEN    32 /* crypto_secretstream_xchacha20poly1305_KEYBYTES */
#define NODE_FRAME_HEADER_LEN 24 /* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define NODE_FRAME_ABYTES     17 /* crypto_secretstream_xchacha20poly1305_ABYTES */

/*
 * Largest plaintext of one frame. The largest peer message is a consensus
 * message carrying a whole block: a PRE-PREPARE carries one block payload, a
 * NEW-VIEW one block plus up to PBFT_MAX_N view changes, and
 * pbft_msg_max_size(PBFT_MAX_N, PBFT_MAX_PAYLOAD_LIMIT) bounds them all at
 * about 2 × 16 MiB + 550 KiB (the core's own hard caps, whatever the
 * configuration). 1 MiB on top leaves room for the transport's envelope.
 * A frame larger than this can only come from a broken or hostile peer.
 * A transport that knows its configured block size lowers the limit per
 * link with node_frame_rx_set_max(). Memory follows the bytes that actually
 * arrive, never the announced length (see node_frame_rx_feed).
 */
#define NODE_FRAME_PLAIN_MAX (2u * PBFT_MAX_PAYLOAD_LIMIT + (1u << 20))
/* Largest body (length prefix value) of an encrypted frame. */
#define NODE_FRAME_MAX (NODE_FRAME_PLAIN_MAX + NODE_FRAME_ABYTES)

/* Sending half of a link. st is sodium_malloc'd secret state; the struct may
 * be moved by value (a copy takes ownership; do not close both). */
struct node_frame_tx {
    void *st;
    uint64_t frames; /* frames sealed so far */
};

/* Receiving half of a link (or a plaintext reader when st is NULL). Fields
 * are private; the struct may be moved by value like node_frame_tx. */
struct node_frame_rx {
    void *st;   /* sodium_malloc'd secretstream state, NULL in plain mode */
    size_t max; /* largest body accepted */
    int err;    /* sticky: 0 until the first error */
    uint8_t prefix[NODE_FRAME_PREFIX_LEN];
    size_t prefix_have;
    size_t want;  /* body length of the frame being read */
    uint8_t *buf; /* body bytes, malloc'd, grown as they arrive */
    size_t cap, have;
    uint64_t frames; /* frames delivered so far */
};

/* Starts the sending stream under key (32 bytes, borrowed) and writes the
 * stream header the peer needs into out_header. Returns 0, NODE_E_NOMEM. */
int node_frame_tx_init(struct node_frame_tx *tx, const uint8_t key[static NODE_FRAME_KEY_LEN],
                       uint8_t out_header[static NODE_FRAME_HEADER_LEN]);
/* Wipes and frees the state. Safe on a zeroed struct and twice. */
void node_frame_tx_close(struct node_frame_tx *tx);

/* Wire size of a frame of plain_len plaintext bytes: prefix + body. */
size_t node_frame_wire_len(size_t plain_len);

/* Seals plain (len <= NODE_FRAME_PLAIN_MAX bytes, borrowed, may be NULL when
 * len is 0) as prefix ‖ ciphertext into out (cap bytes, must not overlap
 * plain). *out_len = node_frame_wire_len(len). Returns 0, NODE_E_INVALID (no
 * state, or cap too small: nothing written, the stream unchanged) or
 * NODE_E_FRAME_TOO_LARGE. */
int node_frame_seal(struct node_frame_tx *tx, const uint8_t *plain, size_t len, uint8_t *out,
                    size_t cap, size_t *out_len);
/* As node_frame_seal into a malloc'd buffer: *out is owned by the caller
 * (free()). Returns 0, NODE_E_NOMEM (stream unchanged) or as above. */
int node_frame_seal_alloc(struct node_frame_tx *tx, const uint8_t *plain, size_t len, uint8_t **out,
                          size_t *out_len);

/* A plaintext reader for handshake messages: bodies of at most max bytes
 * are delivered as they are. No allocation here. Returns 0. */
int node_frame_rx_init_plain(struct node_frame_rx *rx, size_t max);
/* A decrypting reader for the stream the peer started with key and header
 * (both borrowed). Limit NODE_FRAME_PLAIN_MAX. Returns 0, NODE_E_NOMEM or
 * NODE_E_FRAME_BAD (a header libsodium refuses). */
int node_frame_rx_init(struct node_frame_rx *rx, const uint8_t key[static NODE_FRAME_KEY_LEN],
                       const uint8_t header[static NODE_FRAME_HEADER_LEN]);
/* Lowers the largest plaintext accepted to max_plain (never raises it past
 * the hard cap). Takes effect from the next length prefix. */
void node_frame_rx_set_max(struct node_frame_rx *rx, size_t max_plain);

/*
 * Consumes bytes from in (len bytes, borrowed) up to the end of the first
 * frame that completes, and sets *out_used to the number consumed. When a
 * frame completed, *out_frame points at its plaintext (*out_frame_len bytes,
 * owned by rx, valid until the next call on rx) and the caller calls again
 * with the rest of its input; otherwise *out_frame is NULL and all input was
 * consumed. A length prefix over the limit is refused as soon as its 4 bytes
 * are in, before anything is allocated; the body buffer then grows only with
 * the bytes received.
 *
 * Returns 0, or NODE_E_FRAME_TOO_LARGE, NODE_E_FRAME_MALFORMED (an encrypted
 * body shorter than its MAC), NODE_E_FRAME_BAD, NODE_E_FRAME_TAG or
 * NODE_E_NOMEM; after any of these rx is failed for good, buffers are freed,
 * and every later call returns NODE_E_FRAME_FAILED consuming nothing.
 */
int node_frame_rx_feed(struct node_frame_rx *rx, const uint8_t *in, size_t len, size_t *out_used,
                       const uint8_t **out_frame, size_t *out_frame_len);

/* The first error rx met, or 0. */
int node_frame_rx_error(const struct node_frame_rx *rx);
/* Bytes of body buffer rx currently holds allocated. */
size_t node_frame_rx_allocated(const struct node_frame_rx *rx);
/* Wipes and frees. Safe on a zeroed struct and twice. */
void node_frame_rx_close(struct node_frame_rx *rx);

#endif
