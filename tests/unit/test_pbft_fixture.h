/* A small hand-driven PBFT cluster for the core's unit tests (the big randomized one is tests/sim).
 */
#ifndef TEST_PBFT_FIXTURE_H
#define TEST_PBFT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/pbft.h"

#define FX_MAX_N    32
#define FX_MAX_MSGS 16384
#define FX_MAX_H    64

/* Fake deterministic signer: sig = keyed FNV-style expansion of (signer, kind, payload). */
static inline uint64_t fx_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static inline void fx_sigcalc(unsigned signer, enum pbft_sig_kind kind, const uint8_t *p,
                              size_t len, uint8_t sig[PBFT_SIG_SIZE])
{
    uint64_t h = fx_mix(0x5eed, signer * 131u + (unsigned)kind);
    for (size_t i = 0; i < len; i++) {
        h = fx_mix(h, p[i]);
    }
    for (int i = 0; i < 8; i++) {
        h = fx_mix(h, (uint64_t)i);
        memcpy(sig + 8 * i, &h, 8);
    }
}

struct fx_key {
    unsigned self;
    unsigned signs; /* how many signatures it made */
};

static inline int fx_sign(void *ctx, enum pbft_sig_kind kind, const uint8_t *p, size_t len,
                          uint8_t sig[PBFT_SIG_SIZE])
{
    struct fx_key *k = ctx;
    k->signs++;
    fx_sigcalc(k->self, kind, p, len, sig);
    return 0;
}

static inline bool fx_verify(void *ctx, enum pbft_sig_kind kind, unsigned signer, const uint8_t *p,
                             size_t len, const uint8_t sig[PBFT_SIG_SIZE])
{
    uint8_t want[PBFT_SIG_SIZE];
    (void)ctx;
    fx_sigcalc(signer, kind, p, len, want);
    return memcmp(want, sig, PBFT_SIG_SIZE) == 0;
}

/* Block digest = a hash of the payload (what a caller's validation checks). */
static inline void fx_digest(const uint8_t *p, size_t len, uint8_t out[PBFT_DIGEST_SIZE])
{
    uint8_t sig[PBFT_SIG_SIZE];
    fx_sigcalc(999, PBFT_SIG_COMMIT, p, len, sig);
    memcpy(out, sig, PBFT_DIGEST_SIZE);
}

static inline bool fx_block_ok(void *ctx, const uint8_t digest[PBFT_DIGEST_SIZE],
                               const uint8_t *block, size_t len)
{
    uint8_t d[PBFT_DIGEST_SIZE];
    (void)ctx;
    fx_digest(block, len, d);
    return memcmp(d, digest, PBFT_DIGEST_SIZE) == 0;
}

struct fx_msg {
    unsigned from, to;
    int kind;
    uint64_t height, view;
    uint8_t *bytes;
    size_t len;
};

struct fx_node {
    struct pbft *r;
    struct fx_key key;
    bool up;
    bool auto_validate; /* answer VALIDATED at once */
    bool refuse;        /* ...with ok = false */
    bool auto_propose;
    bool auto_persist;
    unsigned salt; /* varies this node's proposals */
    uint8_t *disk;
    size_t disk_len;
    uint64_t pending_seq; /* a persist not yet acknowledged (auto_persist off) */
    uint8_t *pending;
    size_t pending_len;
    uint64_t deadline;
    uint64_t committed; /* applied tip */
    uint8_t chain[FX_MAX_H + 1][PBFT_DIGEST_SIZE];
    struct pbft_cert last_cert;
    bool has_validate;
    uint64_t validate_height;
    uint8_t validate_digest[PBFT_DIGEST_SIZE];
    bool validate_reproposal;
    unsigned validations;
    bool has_propose;
    uint64_t propose_height;
    bool behind;
    uint64_t behind_height;
    int last_err;
};

struct fx {
    unsigned n;
    uint64_t now;
    struct fx_node nodes[FX_MAX_N];
    struct fx_msg msgs[FX_MAX_MSGS];
    size_t nmsgs;
    bool cut[FX_MAX_N][FX_MAX_N]; /* drop messages from i to j */
    int drop_kind;                /* drop every message of this kind (0: none) */
    unsigned sent[FX_MAX_N][8];   /* messages sent per sender and kind */
    uint64_t auto_until;          /* auto proposers stop after this height */
    struct pbft_config base;
};

static inline void fx_step(struct fx *x, unsigned i, const struct pbft_event *ev);

static inline void fx_build(uint64_t h, uint64_t v, unsigned proposer, unsigned salt, char *out,
                            size_t cap, size_t *len)
{
    int k = snprintf(out, cap, "block h=%llu v=%llu p=%u s=%u", (unsigned long long)h,
                     (unsigned long long)v, proposer, salt);
    *len = (size_t)k;
}

static inline void fx_handle(struct fx *x, unsigned i, const struct pbft_update *up)
{
    struct fx_node *nd = &x->nodes[i];
    uint64_t seq = 0;
    bool do_validate = false, do_propose = false;
    struct pbft_event ev;

    if (up->has_committed) {
        const struct pbft_cert *c = up->committed.cert;
        uint8_t d[PBFT_DIGEST_SIZE];
        fx_digest(up->committed.payload, up->committed.payload_len, d);
        if (c->height == nd->committed + 1 && c->height <= FX_MAX_H &&
            memcmp(d, c->digest, PBFT_DIGEST_SIZE) == 0) {
            memcpy(nd->chain[c->height], c->digest, PBFT_DIGEST_SIZE);
            nd->committed = c->height;
            nd->last_cert = *c;
        } else {
            nd->last_err = -1;
        }
    }
    if (up->has_persist) {
        free(nd->pending);
        nd->pending = malloc(up->persist.len);
        memcpy(nd->pending, up->persist.bytes, up->persist.len);
        nd->pending_len = up->persist.len;
        nd->pending_seq = up->persist.seq;
        seq = up->persist.seq;
    }
    for (unsigned k = 0; k < up->n_msgs; k++) {
        const struct pbft_out_msg *m = &up->msgs[k];
        x->sent[i][m->kind & 7]++;
        for (unsigned to = 0; to < x->n; to++) {
            if (to == i || (m->to != PBFT_BROADCAST && (unsigned)m->to != to)) {
                continue;
            }
            if (x->nmsgs >= FX_MAX_MSGS) {
                break;
            }
            struct fx_msg *q = &x->msgs[x->nmsgs++];
            q->from = i;
            q->to = to;
            q->kind = m->kind;
            q->height = m->height;
            q->view = m->view;
            q->bytes = malloc(m->len);
            memcpy(q->bytes, m->bytes, m->len);
            q->len = m->len;
        }
    }
    if (up->has_validate) {
        nd->has_validate = true;
        nd->validate_height = up->validate.height;
        memcpy(nd->validate_digest, up->validate.digest, PBFT_DIGEST_SIZE);
        nd->validate_reproposal = up->validate.reproposal;
        nd->validations++;
        do_validate = nd->auto_validate;
    }
    if (up->has_propose) {
        nd->has_propose = true;
        nd->propose_height = up->propose.height;
        do_propose = nd->auto_propose && up->propose.height <= x->auto_until;
    }
    if (up->has_behind) {
        nd->behind = true;
        nd->behind_height = up->behind.height;
    }
    nd->deadline = up->deadline;
    /* Effects that answer the update, in the order a caller would. */
    if (seq != 0 && nd->auto_persist) {
        free(nd->disk);
        nd->disk = nd->pending;
        nd->disk_len = nd->pending_len;
        nd->pending = NULL;
        ev = (struct pbft_event){ .type = PBFT_EV_PERSISTED, .now = x->now };
        ev.persisted.seq = seq;
        fx_step(x, i, &ev);
    }
    if (do_validate && nd->has_validate) {
        nd->has_validate = false;
        ev = (struct pbft_event){ .type = PBFT_EV_VALIDATED, .now = x->now };
        ev.validated.height = nd->validate_height;
        memcpy(ev.validated.digest, nd->validate_digest, PBFT_DIGEST_SIZE);
        ev.validated.ok = !nd->refuse;
        fx_step(x, i, &ev);
    }
    if (do_propose && nd->has_propose) {
        char blk[128];
        size_t len;
        nd->has_propose = false;
        fx_build(nd->propose_height, 0, i, nd->salt, blk, sizeof(blk), &len);
        ev = (struct pbft_event){ .type = PBFT_EV_PROPOSAL, .now = x->now };
        ev.proposal.height = nd->propose_height;
        fx_digest((const uint8_t *)blk, len, ev.proposal.digest);
        ev.proposal.payload = (const uint8_t *)blk;
        ev.proposal.payload_len = len;
        fx_step(x, i, &ev);
    }
}

static inline void fx_step(struct fx *x, unsigned i, const struct pbft_event *ev)
{
    struct pbft_update up;
    struct fx_node *nd = &x->nodes[i];
    if (!nd->up) {
        return;
    }
    int rv = pbft_step(nd->r, ev, &up);
    if (rv != 0) {
        nd->last_err = rv;
    }
    fx_handle(x, i, &up);
}

/* Starts (or restarts) node i from its disk and applied chain. */
static inline void fx_boot(struct fx *x, unsigned i)
{
    struct fx_node *nd = &x->nodes[i];
    struct pbft_config cfg = x->base;
    struct pbft_event ev = { .type = PBFT_EV_START, .now = x->now };

    nd->key.self = i;
    cfg.self = i;
    cfg.crypto.ctx = &nd->key;
    pbft_free(nd->r);
    nd->r = NULL;
    if (pbft_new(&cfg, &nd->r) != 0) {
        nd->last_err = -2;
        return;
    }
    nd->up = true;
    nd->has_validate = nd->has_propose = false;
    free(nd->pending);
    nd->pending = NULL;
    ev.start.snapshot = nd->disk;
    ev.start.snapshot_len = nd->disk_len;
    ev.start.committed_height = nd->committed;
    ev.start.last_cert = nd->committed > 0 ? &nd->last_cert : NULL;
    fx_step(x, i, &ev);
}

static inline void fx_crash(struct fx *x, unsigned i)
{
    struct fx_node *nd = &x->nodes[i];
    pbft_free(nd->r);
    nd->r = NULL;
    nd->up = false;
    free(nd->pending);
    nd->pending = NULL;
}

static inline void fx_trace(void *ctx, uint64_t now, unsigned self, const char *line)
{
    (void)ctx;
    fprintf(stderr, "[%6llu] %u > %s\n", (unsigned long long)now, self, line);
}

/* n nodes, all automatic (validate ok, propose, persist at once), not yet started. */
static inline struct fx *fx_new(unsigned n)
{
    struct fx *x = calloc(1, sizeof(*x));
    x->n = n;
    x->now = 1000;
    x->auto_until = 10;
    x->base.n = n;
    x->base.crypto.sign = fx_sign;
    x->base.crypto.verify = fx_verify;
    x->base.crypto.block_ok = fx_block_ok;
    if (getenv("FX_TRACE") != NULL) {
        x->base.trace = fx_trace; /* FX_TRACE=1 build/tests/test_pbft... prints the protocol */
    }
    for (unsigned i = 0; i < n; i++) {
        x->nodes[i].auto_validate = x->nodes[i].auto_propose = x->nodes[i].auto_persist = true;
    }
    return x;
}

static inline void fx_start_all(struct fx *x)
{
    for (unsigned i = 0; i < x->n; i++) {
        fx_boot(x, i);
    }
}

static inline void fx_free(struct fx *x)
{
    for (unsigned i = 0; i < x->n; i++) {
        pbft_free(x->nodes[i].r);
        free(x->nodes[i].disk);
        free(x->nodes[i].pending);
    }
    for (size_t k = 0; k < x->nmsgs; k++) {
        free(x->msgs[k].bytes);
    }
    free(x);
}

/* Delivers queued messages in FIFO order (bounded); returns how many were delivered. */
static inline size_t fx_deliver(struct fx *x, size_t max)
{
    size_t done = 0;
    while (x->nmsgs > 0 && done < max) {
        struct fx_msg m = x->msgs[0];
        memmove(&x->msgs[0], &x->msgs[1], (x->nmsgs - 1) * sizeof(x->msgs[0]));
        x->nmsgs--;
        if (!x->cut[m.from][m.to] && m.kind != x->drop_kind && x->nodes[m.to].up) {
            struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
            ev.receive.from = m.from;
            ev.receive.bytes = m.bytes;
            ev.receive.len = m.len;
            fx_step(x, m.to, &ev);
        }
        free(m.bytes);
        done++;
    }
    return done;
}

/* Fires due timers at time t (every node whose deadline passed). */
static inline void fx_tick(struct fx *x, uint64_t t)
{
    x->now = t;
    for (unsigned i = 0; i < x->n; i++) {
        struct fx_node *nd = &x->nodes[i];
        if (nd->up && nd->deadline != 0 && nd->deadline <= t) {
            struct pbft_event ev = { .type = PBFT_EV_TIMEOUT, .now = t };
            fx_step(x, i, &ev);
        }
    }
}

/* Runs time forward in steps of dt until `until`, delivering everything at each step. */
static inline void fx_run(struct fx *x, uint64_t until, uint64_t dt)
{
    while (x->now < until) {
        fx_deliver(x, 100000);
        fx_tick(x, x->now + dt);
    }
    fx_deliver(x, 100000);
}

static inline void fx_drop_queue(struct fx *x)
{
    for (size_t k = 0; k < x->nmsgs; k++) {
        free(x->msgs[k].bytes);
    }
    x->nmsgs = 0;
}

static inline struct pbft_stats fx_stats(struct fx *x, unsigned i)
{
    struct pbft_stats s;
    pbft_get_stats(x->nodes[i].r, &s);
    return s;
}

#endif
