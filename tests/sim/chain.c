/* The simulated chain behind each replica's production driver (node/chain.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "tests/sim/cluster.h"

/* Transactions travel as their 8-byte id, little-endian. */
#define TX_LEN 8

static uint64_t tx_of(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = TX_LEN - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int block_info(void *ctx, const uint8_t *block, size_t len, struct node_block_info *out)
{
    struct sim_block b;
    (void)ctx;
    if (sim_block_decode(block, len, &b) != 0)
        return LEDGER_E_MALFORMED;
    out->height = b.height;
    out->time_ms = b.time;
    out->tx_count = b.ntx;
    sim_block_digest(block, len, out->digest);
    return 0;
}

static int validate(void *ctx, const uint8_t *block, size_t len, uint64_t view, bool reproposal)
{
    struct sim_replica *r = ctx;
    struct sim_cluster *c = r->c;
    enum sim_verdict v = sim_node_validate(&r->node, block, len);
    unsigned char d[SIM_DIGEST_LEN];
    char hex[9];
    sim_block_digest(block, len, d);
    sim_digest_hex(d, hex);
    sim_trace(c->trace, c->now, r->slot, "chain: block %s v=%llu %s%s", hex,
              (unsigned long long)view, sim_verdict_str(v), reproposal ? " (re-proposal)" : "");
    if (v != SIM_VALID)
        return LEDGER_E_BAD_BLOCK;
    if (!r->byz && !r->twin)
        sim_check_valid(&c->chk, d);
    return 0;
}

static int build(void *ctx, const struct node_txref *txs, size_t count, uint64_t time_ms,
                 unsigned proposer, uint64_t view, uint8_t **out_block, size_t *out_len,
                 uint8_t out_digest[PBFT_DIGEST_SIZE])
{
    struct sim_replica *r = ctx;
    struct sim_cluster *c = r->c;
    uint64_t ids[SIM_BLOCK_MAX_TX];
    size_t n = 0;
    for (size_t i = 0; i < count && n < SIM_BLOCK_MAX_TX; i++) {
        if (txs[i].len == TX_LEN)
            ids[n++] = tx_of(txs[i].data);
    }
    uint8_t *buf = malloc(SIM_BLOCK_MAX_LEN);
    if (buf == NULL)
        return LEDGER_E_NOMEM;
    size_t len = sim_node_build(&r->node, time_ms, proposer, ids, n, buf);
    sim_block_digest(buf, len, out_digest);
    if (!r->byz && !r->twin)
        sim_check_valid(&c->chk, out_digest);
    if (r->byz && (r->byz_kinds & SIM_BYZ_EQUIVOCATE))
        sim_byz_proposed(c, r, r->node.height + 1, view, buf, len);
    *out_block = buf;
    *out_len = len;
    return 0;
}

static void pending_remove(struct sim_cluster *c, uint64_t tx)
{
    for (size_t i = 0; i < c->npending; i++) {
        if (c->pending[i] == tx) {
            c->pending[i] = c->pending[--c->npending];
            return;
        }
    }
}

/* The block's transactions are committed at its height (the first commit anywhere). */
static void note_committed(struct sim_cluster *c, struct sim_replica *r, const struct sim_block *b)
{
    for (uint32_t i = 0; i < b->ntx; i++) {
        sim_cluster_note_committed(c, b->tx[i], b->height);
        if (r->byz || r->twin)
            continue;
        pending_remove(c, b->tx[i]);
        if (b->tx[i] == c->censored_tx && c->censored_tx != 0 && !c->censor_done) {
            c->censor_done = true;
            sim_trace(c->trace, c->now, r->slot, "censored tx %llu committed at h=%llu",
                      (unsigned long long)sim_tx_seq(b->tx[i]), (unsigned long long)b->height);
        }
    }
}

static int commit(void *ctx, const struct pbft_cert *cert, const uint8_t *block, size_t len)
{
    struct sim_replica *r = ctx;
    struct sim_cluster *c = r->c;
    char d[9];
    sim_digest_hex(cert->digest, d);
    sim_trace(c->trace, c->now, r->slot, "COMMIT h=%llu v=%llu %s (%u sigs)",
              (unsigned long long)cert->height, (unsigned long long)cert->view, d, cert->count);
    sim_check_commit(&c->chk, r->slot, r->id, cert, block, len);
    if (cert->height <= r->node.height)
        return 0; /* already applied through a sync */
    struct sim_block b;
    if (r->fail_commits || cert->height != r->node.height + 1 ||
        sim_block_decode(block, len, &b) != 0) {
        r->fail_commits = false;
        r->chain_failed = true;
        return LEDGER_E_FATAL;
    }
    sim_node_apply(&r->node, block, len);
    r->tip_cert = *cert;
    note_committed(c, r, &b);
    return 0;
}

/* The fsync takes a while (the mix's persist_max): the driver hears of it later. */
static int persist(void *ctx, uint64_t seq, const uint8_t *snap, size_t len)
{
    struct sim_replica *r = ctx;
    struct sim_cluster *c = r->c;
    uint64_t lag = c->persist_max ? sim_rng_below(&c->rng, c->persist_max + 1) : 0;
    struct sim_event ev = { .kind = SIM_EV_FAULT, .to = r->slot, .epoch = r->epoch };
    if (r->crash_on_persist) {
        /* Pushed first, so it pops before the fsync completes even when lag is 0. */
        r->crash_on_persist = false;
        ev.at = c->now + lag / 2;
        sim_queue_push(&c->q_ev, &ev);
    }
    ev.kind = SIM_EV_PERSISTED;
    ev.at = c->now + lag;
    ev.arg = seq;
    if ((ev.blob = sim_blob_new(snap, len)) == NULL)
        abort();
    sim_queue_push(&c->q_ev, &ev);
    return NODE_CHAIN_PENDING;
}

static int load(void *ctx, uint8_t **out_snap, size_t *out_len)
{
    struct sim_replica *r = ctx;
    *out_snap = NULL;
    *out_len = 0;
    if (r->durable == NULL)
        return 0;
    if ((*out_snap = malloc(r->durable_len ? r->durable_len : 1)) == NULL)
        return LEDGER_E_NOMEM;
    memcpy(*out_snap, r->durable, r->durable_len);
    *out_len = r->durable_len;
    return 0;
}

static void tip(void *ctx, uint64_t *out_height, uint64_t *out_time_ms)
{
    struct sim_replica *r = ctx;
    *out_height = r->node.height;
    *out_time_ms = r->node.tip_time;
}

static int tip_cert(void *ctx, struct pbft_cert *out)
{
    struct sim_replica *r = ctx;
    *out = r->tip_cert;
    return 0;
}

/* Well-formed, not committed on this replica's chain; a censoring replica never takes the
 * censored one (so it neither proposes it nor finds it overdue). */
static int check_tx(void *ctx, const uint8_t *tx, size_t len, uint64_t now_ms, bool verified,
                    uint8_t out_id[PBFT_DIGEST_SIZE], char *why, size_t why_len)
{
    struct sim_replica *r = ctx;
    struct sim_cluster *c = r->c;
    (void)now_ms, (void)verified;
    if (len != TX_LEN || !sim_tx_wellformed(tx_of(tx))) {
        snprintf(why, why_len, "not a simulated transaction");
        return LEDGER_E_MALFORMED;
    }
    uint64_t id = tx_of(tx);
    uint64_t h = sim_cluster_committed_at(c, id);
    if (h != 0 && h <= r->node.height) {
        snprintf(why, why_len, "committed at h=%llu", (unsigned long long)h);
        return LEDGER_E_DUPLICATE_TX;
    }
    if (r->byz && (r->byz_kinds & SIM_BYZ_CENSOR) && id == c->censored_tx) {
        snprintf(why, why_len, "censored");
        return LEDGER_E_NOT_AUTHORISED;
    }
    memset(out_id, 0, PBFT_DIGEST_SIZE);
    memcpy(out_id, tx, TX_LEN);
    return 0;
}

static bool failed(void *ctx)
{
    const struct sim_replica *r = ctx;
    return r->chain_failed;
}

static const char *errmsg(void *ctx)
{
    (void)ctx;
    return "simulated chain: a certified block did not apply";
}

struct node_chain sim_chain_for(struct sim_replica *r)
{
    return (struct node_chain){
        .ctx = r,
        .crypto = sim_cluster_crypto(r),
        .block_info = block_info,
        .validate = validate,
        .build = build,
        .commit = commit,
        .persist = persist,
        .load = load,
        .tip = tip,
        .tip_cert = tip_cert,
        .check_tx = check_tx,
        .failed = failed,
        .errmsg = errmsg,
    };
}
