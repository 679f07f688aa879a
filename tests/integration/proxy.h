/* A test-only TCP proxy between sealchaind processes: cuts, delays, resets and one-way stalls. */
#ifndef SEALCHAIN_TESTS_PROXY_H
#define SEALCHAIN_TESTS_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/integration/cluster.h"

/*
 * One listener on 127.0.0.1 per directed dial link i→j: node i's node.ini
 * names it as peer j's address, and every connection accepted there is
 * forwarded to node j's real listen port. One thread (poll, no libuv) moves
 * the bytes; every control below is called from the test thread at any time,
 * takes effect before it returns, and acts on the link's current and future
 * connections until healed.
 *
 * The proxy terminates TCP on both sides, so it can only do to a stream what
 * a network can do to TCP, never lose or reorder bytes inside a connection
 * (TCP retransmits them or the connection dies):
 *
 * - delay: every chunk read is held for delay ± jitter ms, but never released
 *   before the chunk read before it (TCP delivers in order: jitter shows up as
 *   head-of-line waits, not reordering).
 * - hold (a one-way outage): bytes in that direction are read and kept, up to
 *   PROXY_BUF_MAX per connection and direction, then not read at all, so the
 *   sender's kernel buffers and then its own send queue fill (as behind a real
 *   TCP window that stops opening); on heal they are delivered in order, as TCP
 *   would once its retransmissions get through. The other direction flows. A
 *   new connection is accepted, but since half of the peer handshake cannot
 *   pass, the nodes' handshake deadline closes it. (A real one-way loss also
 *   kills a connection after TCP's retransmission time-out, ~15 minutes;
 *   the tests are far shorter.)
 * - cut: current connections are closed (FIN, or RST when unread bytes
 *   remain, as Linux does) or, for a stall, kept open with both directions
 *   held (what a real partition does: nobody is told, TCP just stops getting
 *   through); new ones are refused (accepted and reset at once: the dialler's
 *   connect succeeds and its first read or write fails, as behind a firewall
 *   answering with RST) or black-holed (accepted, nothing read or forwarded,
 *   the dialler waits on its own deadline).
 * - reset: both sides of every current connection are closed with RST
 *   (SO_LINGER 0); new connections are not affected.
 */

/* Bytes held per connection and direction before the proxy stops reading:
 * far above what consensus and sync need in flight, far below a node's
 * 48 MiB send queue, so a long hold shows as back-pressure and not as memory. */
#define PROXY_BUF_MAX (1u << 20)

enum proxy_dir {
    PROXY_FWD = 1,  /* bytes from the dialler i to the listener j */
    PROXY_BACK = 2, /* bytes from j back to i */
    PROXY_BOTH = 3,
};

enum proxy_cut {
    PROXY_CUT_REFUSE,    /* current connections closed, new ones reset at once */
    PROXY_CUT_BLACKHOLE, /* current connections closed, new ones accepted and left silent */
    PROXY_CUT_STALL,     /* current connections stay open and pass nothing either way
                          * (held as by hold); new ones black-holed: a real partition */
};

/* What one link i→j did since the proxy started. */
struct proxy_stats {
    uint64_t bytes[2]; /* delivered, [0] i→j, [1] j→i */
    uint64_t held[2];  /* read but not yet delivered, now */
    unsigned accepted; /* connections forwarded (or held while black-holed) */
    unsigned refused;  /* connections reset at accept during a cut */
    unsigned resets;   /* connections reset by proxy_reset */
    unsigned live;     /* connections open now */
};

struct proxy;

/* Starts a proxy for n nodes whose real listen ports are target[0..n-1].
 * *out owned by the caller (proxy_free). Returns 0 or -1. */
int proxy_new(unsigned n, const uint16_t target[], struct proxy **out);
/* Stops the thread and closes every socket; proxy_free(NULL) does nothing. */
void proxy_free(struct proxy *p);
/* The port node i dials for peer j. */
uint16_t proxy_port(const struct proxy *p, unsigned i, unsigned j);

/* Starts a proxy for cluster c (made by cluster_new, not yet started) and
 * rewrites every node's [peers] lines to dial through it. *out owned by the
 * caller; free it after cluster_free's kill (or before: the nodes re-dial).
 * Returns 0 or -1. */
int proxy_attach(struct cluster *c, struct proxy **out);

/* ---- one link i→j (the connections node i dials to node j) ---- */
void proxy_cut(struct proxy *p, unsigned i, unsigned j, enum proxy_cut how);
/* delay_ms ± jitter_ms on the directions in dir (0, 0 = none). */
void proxy_delay(struct proxy *p, unsigned i, unsigned j, enum proxy_dir dir, unsigned delay_ms,
                 unsigned jitter_ms);
void proxy_hold(struct proxy *p, unsigned i, unsigned j, enum proxy_dir dir, bool on);
void proxy_reset(struct proxy *p, unsigned i, unsigned j);
/* The current connections of link i→j go dead for good, as when a firewall
 * between two agencies drops its connection state: what either node sends
 * is dropped (the proxy cannot withhold TCP's ACKs, so the sender's writes
 * still succeed), neither node is told anything, not even when the other
 * closes, and heal does not revive them. New connections are not affected. */
void proxy_strand(struct proxy *p, unsigned i, unsigned j);
/* Clears cut, delay and hold on link i→j; held bytes are delivered. */
void proxy_heal(struct proxy *p, unsigned i, unsigned j);
void proxy_stats(struct proxy *p, unsigned i, unsigned j, struct proxy_stats *out);

/* ---- the nodes ---- */
/* Holds (or releases) the bytes node `from` sends to node `to`, on both
 * links of the pair (whichever one p2p kept). */
void proxy_hold_flow(struct proxy *p, unsigned from, unsigned to, bool on);
/* Cuts every link between a node in group (a bit mask) and one outside it. */
void proxy_partition(struct proxy *p, uint32_t group, enum proxy_cut how);
/* Delay and jitter on every link, both directions. */
void proxy_delay_all(struct proxy *p, unsigned delay_ms, unsigned jitter_ms);
/* proxy_reset on every link. */
void proxy_reset_all(struct proxy *p);
/* proxy_heal on every link. */
void proxy_heal_all(struct proxy *p);

#endif
