/* A small hand-driven PBFT cluster for the core's unit tests, each replica behind the production
 * driver (node/driver.c) over an in-memory chain (the big randomized one is tests/sim). */
#ifndef TEST_PBFT_FIXTURE_H
#define TEST_PBFT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/pbft.h"
#include "ledger/err.h"
#include "node/driver.h"

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
    unsigned signs;    /* how many signatures it made */
    unsigned verifies; /* how many signatures it checked */
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
    if (ctx != NULL) {
        ((struct fx_key *)ctx)->verifies++;
    }
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

struct fx;

/*
 * One replica: its driver and the chain behind it (node/chain.h), whose knobs let a test
 * answer validation, proposals and persistence itself.
 */
struct fx_node {
    struct fx *x;
    unsigned self;
    struct node_driver *d;
    struct node_chain ops; /* the chain's table */
    struct fx_key key;
    bool up;
    bool auto_validate; /* answer VALIDATED at once */
    bool refuse;        /* ...with ok = false */
    bool auto_propose;
    bool auto_persist;
    bool fail_commit; /* the chain fails the next commit (fail-stop) */
    unsigned salt;    /* varies this node's proposals */
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
    bool failed;
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
    uint64_t clock_skew_ms;       /* the drivers' Δ (0: none checked) */
    struct pbft_config base;
};

/* A block: "block h=H v=V p=P s=S" (t=T appended when `time` is not 0). */
static inline void fx_build_at(uint64_t h, uint64_t v, unsigned proposer, unsigned salt,
                               uint64_t time, char *out, size_t cap, size_t *len)
{
    int k = snprintf(out, cap, "block h=%llu v=%llu p=%u s=%u", (unsigned long long)h,
                     (unsigned long long)v, proposer, salt);
    if (time != 0)
        k += snprintf(out + k, cap - (size_t)k, " t=%llu", (unsigned long long)time);
    *len = (size_t)k;
}

static inline void fx_build(uint64_t h, uint64_t v, unsigned proposer, unsigned salt, char *out,
                            size_t cap, size_t *len)
{
    fx_build_at(h, v, proposer, salt, 0, out, cap, len);
}

/* ---- the chain behind each driver ---------------------------------------- */

/* Any bytes are a block (tests send "E"); height and time come from the text when there. */
static inline int fx_chain_info(void *ctx, const uint8_t *block, size_t len,
                                struct node_block_info *out)
{
    struct fx_node *nd = ctx;
    char text[160];
    unsigned long long h = 0, t = 0;
    size_t k = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
    memcpy(text, block, k);
    text[k] = 0;
    out->height = sscanf(text, "block h=%llu", &h) == 1 ? h : nd->committed + 1;
    const char *tt = strstr(text, " t=");
    out->time_ms = tt != NULL && sscanf(tt, " t=%llu", &t) == 1 ? t : nd->x->now;
    out->tx_count = 0;
    fx_digest(block, len, out->digest);
    return 0;
}

static inline int fx_chain_validate(void *ctx, const uint8_t *block, size_t len, uint64_t view,
                                    bool reproposal)
{
    struct fx_node *nd = ctx;
    struct node_block_info info;
    (void)view;
    fx_chain_info(ctx, block, len, &info);
    nd->has_validate = true;
    nd->validate_height = info.height;
    memcpy(nd->validate_digest, info.digest, PBFT_DIGEST_SIZE);
    nd->validate_reproposal = reproposal;
    nd->validations++;
    if (!nd->auto_validate)
        return NODE_CHAIN_PENDING; /* the test answers with fx_step(VALIDATED) */
    nd->has_validate = false;
    return nd->refuse ? LEDGER_E_BAD_BLOCK : 0;
}

static inline int fx_chain_build(void *ctx, const struct node_txref *txs, size_t count,
                                 uint64_t time_ms, unsigned proposer, uint64_t view,
                                 uint8_t **out_block, size_t *out_len,
                                 uint8_t out_digest[PBFT_DIGEST_SIZE])
{
    struct fx_node *nd = ctx;
    (void)txs, (void)count, (void)time_ms, (void)view;
    nd->has_propose = true;
    nd->propose_height = nd->committed + 1;
    if (!nd->auto_propose || nd->propose_height > nd->x->auto_until)
        return NODE_CHAIN_PENDING; /* the test proposes with fx_step(PROPOSAL) */
    nd->has_propose = false;
    char *blk = malloc(128);
    if (blk == NULL)
        return LEDGER_E_NOMEM;
    fx_build(nd->propose_height, 0, proposer, nd->salt, blk, 128, out_len);
    fx_digest((const uint8_t *)blk, *out_len, out_digest);
    *out_block = (uint8_t *)blk;
    return 0;
}

static inline int fx_chain_commit(void *ctx, const struct pbft_cert *c, const uint8_t *block,
                                  size_t len)
{
    struct fx_node *nd = ctx;
    uint8_t d[PBFT_DIGEST_SIZE];
    if (nd->fail_commit) {
        nd->failed = true;
        return LEDGER_E_FATAL;
    }
    fx_digest(block, len, d);
    if (c->height == nd->committed + 1 && c->height <= FX_MAX_H &&
        memcmp(d, c->digest, PBFT_DIGEST_SIZE) == 0) {
        memcpy(nd->chain[c->height], c->digest, PBFT_DIGEST_SIZE);
        nd->committed = c->height;
        nd->last_cert = *c;
    } else {
        nd->last_err = -1;
    }
    return 0;
}

static inline int fx_chain_persist(void *ctx, uint64_t seq, const uint8_t *snap, size_t len)
{
    struct fx_node *nd = ctx;
    free(nd->pending);
    nd->pending = malloc(len ? len : 1);
    memcpy(nd->pending, snap, len);
    nd->pending_len = len;
    nd->pending_seq = seq;
    if (!nd->auto_persist)
        return NODE_CHAIN_PENDING; /* the test acknowledges with fx_step(PERSISTED) */
    free(nd->disk);
    nd->disk = nd->pending;
    nd->disk_len = nd->pending_len;
    nd->pending = NULL;
    return 0;
}

static inline int fx_chain_load(void *ctx, uint8_t **out_snap, size_t *out_len)
{
    struct fx_node *nd = ctx;
    *out_snap = NULL;
    *out_len = nd->disk_len;
    if (nd->disk != NULL) {
        *out_snap = malloc(nd->disk_len ? nd->disk_len : 1);
        memcpy(*out_snap, nd->disk, nd->disk_len);
    }
    return 0;
}

static inline void fx_chain_tip(void *ctx, uint64_t *out_height, uint64_t *out_time_ms)
{
    struct fx_node *nd = ctx;
    *out_height = nd->committed;
    *out_time_ms = 0;
}

static inline int fx_chain_tip_cert(void *ctx, struct pbft_cert *out)
{
    struct fx_node *nd = ctx;
    *out = nd->last_cert;
    return 0;
}

static inline int fx_chain_check_tx(void *ctx, const uint8_t *tx, size_t len, uint64_t now_ms,
                                    bool verified, uint8_t out_id[PBFT_DIGEST_SIZE], char *why,
                                    size_t why_len)
{
    (void)ctx, (void)now_ms, (void)verified, (void)why, (void)why_len;
    fx_digest(tx, len, out_id);
    return 0;
}

static inline bool fx_chain_failed(void *ctx)
{
    struct fx_node *nd = ctx;
    return nd->failed;
}

static inline const char *fx_chain_errmsg(void *ctx)
{
    (void)ctx;
    return "fixture chain: commit failed";
}

/* The driver's send callback: into the FIFO, counted per sender and kind. */
static inline void fx_send(void *ctx, int to, const uint8_t *bytes, size_t len)
{
    struct fx_node *nd = ctx;
    struct fx *x = nd->x;
    struct fx_msg m = { .from = nd->self };
    pbft_msg_peek(bytes, len, &m.kind, NULL, &m.height, &m.view);
    x->sent[nd->self][m.kind & 7]++;
    for (unsigned dst = 0; dst < x->n; dst++) {
        if (dst == nd->self || (to != PBFT_BROADCAST && (unsigned)to != dst)) {
            continue;
        }
        if (x->nmsgs >= FX_MAX_MSGS) {
            break;
        }
        struct fx_msg *q = &x->msgs[x->nmsgs++];
        *q = m;
        q->to = dst;
        q->bytes = malloc(len);
        memcpy(q->bytes, bytes, len);
        q->len = len;
    }
}

/* After every driver call: its return, timer and sync notice. */
static inline void fx_after(struct fx_node *nd, int rc)
{
    uint64_t h;
    unsigned peer;
    if (rc != 0) {
        nd->last_err = rc;
    }
    if (nd->d == NULL) {
        return;
    }
    nd->deadline = node_driver_deadline(nd->d);
    if (node_driver_behind(nd->d, &h, &peer)) {
        nd->behind = true;
        nd->behind_height = h;
    }
}

/* Feeds ev to node i through its driver's entry point for that kind of event. */
static inline void fx_step(struct fx *x, unsigned i, const struct pbft_event *ev)
{
    struct fx_node *nd = &x->nodes[i];
    int rc = 0;
    if (!nd->up || nd->d == NULL) {
        return;
    }
    switch (ev->type) {
    case PBFT_EV_RECEIVE:
        rc = node_driver_receive(nd->d, ev->receive.from, ev->receive.bytes, ev->receive.len,
                                 ev->now);
        break;
    case PBFT_EV_TIMEOUT:
        rc = node_driver_tick(nd->d, ev->now);
        break;
    case PBFT_EV_PROPOSAL:
        nd->has_propose = false;
        rc = node_driver_proposal(nd->d, ev->proposal.height, ev->proposal.digest,
                                  ev->proposal.payload, ev->proposal.payload_len, ev->now);
        break;
    case PBFT_EV_VALIDATED:
        nd->has_validate = false;
        rc = node_driver_validated(nd->d, ev->validated.height, ev->validated.digest,
                                   ev->validated.ok, ev->now);
        break;
    case PBFT_EV_PERSISTED:
        rc = node_driver_persisted(nd->d, ev->persisted.seq, ev->now);
        break;
    case PBFT_EV_REQUEST_OVERDUE:
        rc = node_driver_request_overdue(nd->d, ev->now);
        break;
    case PBFT_EV_SYNCED:
        /* The driver reads the certificate of the applied tip (the test applied it). */
        rc = node_driver_synced(nd->d, ev->now);
        break;
    default:
        rc = -1; /* START is fx_boot's */
        break;
    }
    fx_after(nd, rc);
}

/* Starts (or restarts) node i from its disk and applied chain. */
static inline void fx_boot(struct fx *x, unsigned i)
{
    struct fx_node *nd = &x->nodes[i];
    char err[256];
    nd->x = x;
    nd->self = i;
    nd->key.self = i;
    node_driver_free(nd->d);
    nd->d = NULL;
    nd->ops = (struct node_chain){
        .ctx = nd,
        .crypto = x->base.crypto,
        .block_info = fx_chain_info,
        .validate = fx_chain_validate,
        .build = fx_chain_build,
        .commit = fx_chain_commit,
        .persist = fx_chain_persist,
        .load = fx_chain_load,
        .tip = fx_chain_tip,
        .tip_cert = fx_chain_tip_cert,
        .check_tx = fx_chain_check_tx,
        .failed = fx_chain_failed,
        .errmsg = fx_chain_errmsg,
    };
    nd->ops.crypto.ctx = &nd->key;
    struct node_driver_config cfg = {
        .self = i,
        .chain = &nd->ops,
        .n = x->n,
        .send = fx_send,
        .send_ctx = nd,
        .clock_skew_ms = x->clock_skew_ms ? x->clock_skew_ms : UINT64_MAX / 2,
        .progress_timeout_ms = x->base.progress_timeout_ms,
        .view_change_timeout_ms = x->base.view_change_timeout_ms,
        .view_change_max_ms = x->base.view_change_max_ms,
        .request_timeout_ms = x->base.request_timeout_ms,
        .resend_ms = x->base.resend_ms,
        .propose_idle = true,
        .max_payload = x->base.max_payload ? x->base.max_payload : (1u << 20),
        .mempool_max_txs = 16,
        .trace = x->base.trace,
        .trace_ctx = x->base.trace_ctx,
    };
    nd->up = true;
    nd->failed = false;
    nd->has_validate = nd->has_propose = false;
    free(nd->pending);
    nd->pending = NULL;
    int rc = node_driver_new(&cfg, x->now, &nd->d, err, sizeof(err));
    if (rc != 0) {
        nd->last_err = rc;
        return;
    }
    fx_after(nd, 0);
}

static inline void fx_crash(struct fx *x, unsigned i)
{
    struct fx_node *nd = &x->nodes[i];
    node_driver_free(nd->d);
    nd->d = NULL;
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
        node_driver_free(x->nodes[i].d);
        free(x->nodes[i].disk);
        free(x->nodes[i].pending);
    }
    for (size_t k = 0; k < x->nmsgs; k++) {
        free(x->msgs[k].bytes);
    }
    free(x);
}
/* Takes the oldest queued message (its bytes become the caller's); false when none. */
static inline bool fx_pop(struct fx *x, struct fx_msg *out)
{
    if (x->nmsgs == 0) {
        return false;
    }
    *out = x->msgs[0];
    memmove(&x->msgs[0], &x->msgs[1], (x->nmsgs - 1) * sizeof(x->msgs[0]));
    x->nmsgs--;
    return true;
}

/* Hands m (borrowed) to its destination's driver now. */
static inline void fx_receive(struct fx *x, const struct fx_msg *m)
{
    struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = x->now };
    ev.receive.from = m->from;
    ev.receive.bytes = m->bytes;
    ev.receive.len = m->len;
    fx_step(x, m->to, &ev);
}

/* Delivers queued messages in FIFO order (bounded); returns how many were delivered. */
static inline size_t fx_deliver(struct fx *x, size_t max)
{
    size_t done = 0;
    struct fx_msg m;
    while (done < max && fx_pop(x, &m)) {
        if (!x->cut[m.from][m.to] && m.kind != x->drop_kind && x->nodes[m.to].up) {
            fx_receive(x, &m);
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
    struct pbft_stats s = { 0 };
    if (x->nodes[i].d != NULL) {
        node_driver_stats(x->nodes[i].d, &s);
    }
    return s;
}

#endif
