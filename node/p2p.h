/* Peer links: authenticated, encrypted TCP between the validators, over libuv. */
#ifndef SEALCHAIN_NODE_P2P_H
#define SEALCHAIN_NODE_P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ledger/genesis.h"

/*
 * One link per pair of validators. Every node listens, and dials each peer
 * it has no link to, with capped exponential back-off; when both dial at
 * once, the link dialled by the lower index is kept. A link carries frames
 * of one type byte and a body (node/wire.h). Each peer has a send queue
 * bounded in bytes: a peer that cannot keep up is dropped and re-dialled,
 * never buffered without end.
 */

/* Where to reach validator i ("" when unknown: it dials us). */
struct node_p2p_addr {
    char host[64];
    uint16_t port;
};

struct node_p2p_config {
    uv_loop_t *loop;
    const struct ledger_genesis *g; /* borrowed */
    unsigned self;
    const uint8_t *node_sk; /* 64 bytes, borrowed */
    struct node_p2p_addr listen;
    struct node_p2p_addr peers[LEDGER_MAX_VALIDATORS]; /* by validator index */
    size_t frame_max;                                  /* largest frame body accepted or sent */
    size_t queue_max_bytes;                            /* per-peer send queue bound */
    uint64_t clock_warn_ms; /* warn when a peer's clock is this far off (0 = never) */
    /* Close (and re-dial) an authenticated link that brought no byte for this
     * long (0 = never); the caller must send on every link more often. */
    uint64_t silent_ms;
    /* A frame body from an authenticated peer (borrowed for the call). */
    void (*on_frame)(void *ctx, unsigned peer, uint8_t type, const uint8_t *body, size_t len);
    /* A link to peer came up (true) or went down (false). */
    void (*on_peer)(void *ctx, unsigned peer, bool up);
    void *ctx;
};

struct node_p2p;

/* Starts listening and dialling. *out owned by the caller (node_p2p_close).
 * Returns 0 or -1 with the reason in errmsg. */
int node_p2p_start(const struct node_p2p_config *cfg, struct node_p2p **out, char *errmsg,
                   size_t errmsg_len);

/* Queues a frame to peer (copied). Returns 0, or -1 when the peer has no
 * link (the frame is dropped: consensus and sync retry on their own). */
int node_p2p_send(struct node_p2p *p, unsigned peer, uint8_t type, const uint8_t *body, size_t len);

/* Queues a frame to every connected peer. */
void node_p2p_broadcast(struct node_p2p *p, uint8_t type, const uint8_t *body, size_t len);

bool node_p2p_connected(const struct node_p2p *p, unsigned peer);
unsigned node_p2p_connected_count(const struct node_p2p *p);

/* The peer's clock minus ours, measured at the last handshake. */
bool node_p2p_clock_offset(const struct node_p2p *p, unsigned peer, int64_t *out_ms);

/* Drops the link to peer (misbehaviour); it is re-dialled after back-off. */
void node_p2p_drop(struct node_p2p *p, unsigned peer, const char *why);

/* Closes every link and the listener; memory is released from libuv's close
 * callbacks: run the loop until it has no handles. */
void node_p2p_close(struct node_p2p *p);

#endif
