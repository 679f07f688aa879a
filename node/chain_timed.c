/* A chain (node/chain.h) that times each block's execution, for the node's metrics. */
#include "node/chain_timed.h"

/* Every call of the table is forwarded: a member added to struct node_chain
 * must be added here too (a NULL one would be a call through NULL). */
_Static_assert(sizeof(struct node_chain) ==
                   sizeof(void *) + sizeof(struct pbft_crypto) + 15 * sizeof(void (*)(void)),
               "struct node_chain changed: forward the new member in node/chain_timed.c");

static int block_info(void *ctx, const uint8_t *block, size_t len, struct node_block_info *out)
{
    struct node_chain_timed *t = ctx;
    return t->inner.block_info(t->inner.ctx, block, len, out);
}

static int validate(void *ctx, const uint8_t *block, size_t len, uint64_t view, bool reproposal)
{
    struct node_chain_timed *t = ctx;
    uint64_t t0 = t->clock_ns();
    int rc = t->inner.validate(t->inner.ctx, block, len, view, reproposal);
    struct node_block_info info;
    if (rc != NODE_CHAIN_PENDING && t->inner.block_info(t->inner.ctx, block, len, &info) == 0) {
        t->exec_height = info.height;
        t->exec_ns = t->clock_ns() - t0;
    }
    return rc;
}

static int build(void *ctx, const struct node_txref *txs, size_t count, uint64_t time_ms,
                 unsigned proposer, uint64_t view, uint8_t **out_block, size_t *out_len,
                 uint8_t out_digest[PBFT_DIGEST_SIZE])
{
    struct node_chain_timed *t = ctx;
    uint64_t t0 = t->clock_ns(), height, tip_time;
    int rc = t->inner.build(t->inner.ctx, txs, count, time_ms, proposer, view, out_block, out_len,
                            out_digest);
    if (rc == 0) {
        t->inner.tip(t->inner.ctx, &height, &tip_time);
        t->exec_height = height + 1;
        t->exec_ns = t->clock_ns() - t0;
    }
    return rc;
}

static int commit(void *ctx, const struct pbft_cert *cert, const uint8_t *block, size_t len)
{
    struct node_chain_timed *t = ctx;
    uint64_t t0 = t->clock_ns();
    int rc = t->inner.commit(t->inner.ctx, cert, block, len);
    if (rc == 0)
        t->last_ns = t->clock_ns() - t0 + (t->exec_height == cert->height ? t->exec_ns : 0);
    return rc;
}

static int persist(void *ctx, uint64_t seq, const uint8_t *snap, size_t len)
{
    struct node_chain_timed *t = ctx;
    return t->inner.persist(t->inner.ctx, seq, snap, len);
}

static int load(void *ctx, uint8_t **out_snap, size_t *out_len)
{
    struct node_chain_timed *t = ctx;
    return t->inner.load(t->inner.ctx, out_snap, out_len);
}

static void tip(void *ctx, uint64_t *out_height, uint64_t *out_time_ms)
{
    struct node_chain_timed *t = ctx;
    t->inner.tip(t->inner.ctx, out_height, out_time_ms);
}

static int tip_cert(void *ctx, struct pbft_cert *out)
{
    struct node_chain_timed *t = ctx;
    return t->inner.tip_cert(t->inner.ctx, out);
}

static int check_tx(void *ctx, const uint8_t *tx, size_t len, uint64_t now_ms, bool verified,
                    uint8_t out_id[PBFT_DIGEST_SIZE], char *why, size_t why_len)
{
    struct node_chain_timed *t = ctx;
    return t->inner.check_tx(t->inner.ctx, tx, len, now_ms, verified, out_id, why, why_len);
}

static int tx_ids(void *ctx, const uint8_t *block, size_t len, uint8_t (**out)[PBFT_DIGEST_SIZE],
                  size_t *out_n)
{
    struct node_chain_timed *t = ctx;
    return t->inner.tx_ids(t->inner.ctx, block, len, out, out_n);
}

static int pool_admit(void *ctx, const uint8_t *tx, size_t len, const uint8_t id[PBFT_DIGEST_SIZE],
                      uint64_t now_ms, char *why, size_t why_len)
{
    struct node_chain_timed *t = ctx;
    return t->inner.pool_admit(t->inner.ctx, tx, len, id, now_ms, why, why_len);
}

static void pool_forget(void *ctx, const uint8_t (*ids)[PBFT_DIGEST_SIZE], size_t n)
{
    struct node_chain_timed *t = ctx;
    t->inner.pool_forget(t->inner.ctx, ids, n);
}

static void pool_clear(void *ctx)
{
    struct node_chain_timed *t = ctx;
    t->inner.pool_clear(t->inner.ctx);
}

static bool failed(void *ctx)
{
    struct node_chain_timed *t = ctx;
    return t->inner.failed(t->inner.ctx);
}

static const char *errmsg(void *ctx)
{
    struct node_chain_timed *t = ctx;
    return t->inner.errmsg(t->inner.ctx);
}

void node_chain_timed_init(struct node_chain_timed *t, const struct node_chain *inner,
                           uint64_t (*clock_ns)(void), struct node_chain *out)
{
    *t = (struct node_chain_timed){ .inner = *inner, .clock_ns = clock_ns };
    *out = (struct node_chain){
        .ctx = t,
        .crypto = inner->crypto, /* its own ctx: signing is not timed */
        .block_info = block_info,
        .validate = validate,
        .build = build,
        .commit = commit,
        .persist = persist,
        .load = load,
        .tip = tip,
        .tip_cert = tip_cert,
        .check_tx = check_tx,
        .tx_ids = inner->tx_ids != NULL ? tx_ids : NULL, /* optional */
        .pool_admit = inner->pool_admit != NULL ? pool_admit : NULL,
        .pool_clear = inner->pool_clear != NULL ? pool_clear : NULL,
        .pool_forget = inner->pool_forget != NULL ? pool_forget : NULL,
        .failed = failed,
        .errmsg = errmsg,
    };
}

uint64_t node_chain_timed_last_ns(const struct node_chain_timed *t)
{
    return t->last_ns;
}
