/* A hostile peer for integration tests: a validator's key, a blocking socket, any frame. */
#ifndef SEALCHAIN_TESTS_HOSTILE_H
#define SEALCHAIN_TESTS_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/pbft.h"
#include "ledger/crypto.h"
#include "node/frame.h"
#include "tests/integration/cluster.h"

/*
 * One authenticated link to a running node, opened with the node key of a
 * validator of the cluster (DIR/node<as>/node.key) as the dialer. Once up,
 * the test sends whatever frames it likes (node/wire.h types or not) and
 * reads what the node sends back. Plain blocking I/O: nothing runs unless
 * the test calls it, so a test that stops reading is a peer that stops
 * reading.
 */
struct hostile {
    int fd;
    unsigned as, to;
    struct node_frame_tx tx;
    struct node_frame_rx rx;
    uint8_t buf[65536]; /* bytes read and not yet fed to rx */
    size_t have, off;
};

/* Dials node `to` of c and completes the handshake as validator `as`.
 * Returns 0, or -1 (refused, closed, or timed out after timeout_ms). */
int hostile_connect(struct cluster *c, unsigned as, unsigned to, int timeout_ms,
                    struct hostile *out);
/* As hostile_connect, with finish_ms (0: the real clock) as the time our
 * FINISH carries: the node measures its clock offset from it. */
int hostile_connect_at(struct cluster *c, unsigned as, unsigned to, int timeout_ms,
                       uint64_t finish_ms, struct hostile *out);
/* Sends one frame of type and body (len bytes, may be 0). 0 or -1. */
int hostile_send(struct hostile *h, uint8_t type, const void *body, size_t len);
/* Sends `copies` identical frames in one write, so they arrive together
 * whatever the scheduler does. 0 or -1. */
int hostile_send_copies(struct hostile *h, uint8_t type, const void *body, size_t len,
                        unsigned copies);
/* Reads the next frame within timeout_ms. Returns 1 with *type, *body
 * (owned by h, valid until the next call) and *len; 0 on time-out; -1 when
 * the node closed the link (or it broke). */
int hostile_recv(struct hostile *h, int timeout_ms, uint8_t *type, const uint8_t **body,
                 size_t *len);
/* Reads until the link closes or timeout_ms passes; counts the frames of
 * type `count_type` seen. *out_closed: the node closed the link. */
unsigned hostile_drain(struct hostile *h, int timeout_ms, uint8_t count_type, bool *out_closed);
void hostile_close(struct hostile *h);

/* A plain TCP connection to node `to`'s peer port (no handshake), or -1. */
int hostile_tcp(struct cluster *c, unsigned to);

/*
 * What a Byzantine validator can sign: validator `as`'s node key as the
 * core's crypto table (every kind, under the ledger's domain tags), for
 * pbft_msg_vote_encode, pbft_msg_preprepare_encode and tests/sim/craft.h.
 * *out borrows s, which must outlive it.
 */
struct hostile_signer {
    const struct ledger_genesis *g;
    unsigned as;
    uint8_t sk[LEDGER_SECRET_LEN];
};
int hostile_signer_init(struct cluster *c, unsigned as, struct hostile_signer *s,
                        struct pbft_crypto *out);
/* An encoded CommitCert for (height, view, hash) naming count signers as
 * given (any order, repeats allowed: a forgery), each with s's own COMMIT
 * signature. *out malloc'd. 0 or -1. */
int hostile_cert(const struct hostile_signer *s, uint64_t height, uint64_t view,
                 const uint8_t hash[LEDGER_HASH_LEN], const uint32_t *signers, size_t count,
                 uint8_t **out, size_t *out_len);
/* The encoded Block `block` with its header's tx root and/or state root
 * (NULL: kept) replaced, hence another hash (out_hash). *out malloc'd. */
int hostile_reroot(const uint8_t *block, size_t len, const uint8_t *tx_root,
                   const uint8_t *state_root, uint8_t **out, size_t *out_len,
                   uint8_t out_hash[LEDGER_HASH_LEN]);

#endif
