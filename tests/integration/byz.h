/* The Byzantine-validator tests' common part: the cluster, the checks after each attack, messages.
 */
#ifndef SEALCHAIN_TESTS_BYZ_H
#define SEALCHAIN_TESTS_BYZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/pbft.h"
#include "tests/integration/cluster.h"
#include "tests/integration/hostile.h"

/* Short timers, so that a view change takes about a second. */
#define BYZ_CONFIG                                                                                 \
    "[consensus]\nprogress_timeout_ms = 1000\nview_change_timeout_ms = 1000\n"                     \
    "request_timeout_ms = 2000\n"
/* consensus/codec.c: a message's header is version, kind, sender u16,
 * height u64, view u64; the digest of a vote or PRE-PREPARE follows. */
#define BYZ_HDR     20
#define BYZ_MSG_CAP (64u << 10)

/* A four-validator cluster (BYZ_CONFIG) and the validator `me` the test
 * plays with its real key (s, cr: what it can sign). */
struct byz {
    struct cluster c;
    unsigned me;
    struct hostile_signer s;
    struct pbft_crypto cr;
};

/* Makes the cluster and starts the nodes in the mask `run` (bit i: node
 * i), waiting until each answers. NULL on failure. */
struct byz *byz_start(unsigned me, uint32_t run);
/* A cmocka teardown: every node still running stops cleanly on SIGTERM
 * (exit 0; under ASan also no leak); KEEP=1 keeps the directory. */
int byz_teardown(void **state);

/* The honest nodes (every running node but me) go on: a fresh tx
 * submitted at each commits, they reach one height, every block hash is
 * the same on all of them (no fork), none fail-stopped, and each stays
 * within its memory bound (RssAnon, 64 MiB; more under ASan). Returns the
 * height. cmocka asserts. */
uint64_t byz_honest_go_on(struct byz *b);
/* Submits a fresh tx at node i (cluster_submit: st gets its status). */
void byz_submit(struct cluster *c, unsigned i, bool wait, char st[16]);
/* Node i's view and syncing flag (status). */
uint64_t byz_view(struct cluster *c, unsigned i);
bool byz_syncing(struct cluster *c, unsigned i);

uint64_t byz_be64(const uint8_t *p);
uint64_t byz_wall_ms(void);
/* True when the node closes the link within timeout_ms. */
bool byz_closes(struct hostile *h, int timeout_ms);
/* Reads until a CONSENSUS frame of kind arrives (copied to buf, at least
 * BYZ_MSG_CAP bytes); false on time-out or a closed link. */
bool byz_await_msg(struct hostile *h, int kind, uint8_t *buf, size_t *len, int timeout_ms);
/* Sends a CONSENSUS frame (the link may be gone: not checked). */
void byz_send(struct hostile *h, const uint8_t *m, size_t len);
/* Sends a PREPARE or COMMIT (kind) signed by b->me in the name of sender. */
void byz_vote(struct byz *b, struct hostile *h, int kind, unsigned sender, uint64_t height,
              uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE]);
/* Sends a TIP claiming height. */
void byz_send_tip(struct hostile *h, uint64_t height);

#endif
