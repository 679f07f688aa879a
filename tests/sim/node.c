/* Simulated caller of one replica: the node side a real sealchaind would provide. */
#include <string.h>

#include "tests/sim/node.h"

void sim_node_init(struct sim_node *nd, int64_t skew, uint64_t request_ms)
{
    memset(nd, 0, sizeof(*nd));
    nd->skew = skew;
    node_reqtimer_init(&nd->req, request_ms);
}

uint64_t sim_node_clock(const struct sim_node *nd, uint64_t now)
{
    int64_t t = (int64_t)now + nd->skew;
    return t < 0 ? 0 : (uint64_t)t;
}

void sim_node_add_tx(struct sim_node *nd, uint64_t tx, uint64_t now)
{
    for (size_t i = 0; i < nd->npool; i++) {
        if (nd->pool[i].tx == tx)
            return;
    }
    if (nd->npool == SIM_POOL_MAX)
        return;
    nd->pool[nd->npool++] = (struct sim_pool_tx){ .tx = tx };
    node_reqtimer_admitted(&nd->req, sim_node_clock(nd, now));
}

void sim_node_drop_pool(struct sim_node *nd)
{
    nd->npool = 0;
    node_reqtimer_init(&nd->req, nd->req.timeout_ms);
}

size_t sim_node_build(const struct sim_node *nd, uint64_t now, uint32_t proposer,
                      unsigned char *out)
{
    struct sim_block b = { .height = nd->height + 1, .proposer = proposer };
    memcpy(b.parent, nd->tip, SIM_DIGEST_LEN);
    uint64_t t = sim_node_clock(nd, now);
    /* Block time must be after the parent's: a node never proposes a time at or before it. */
    b.time = t > nd->tip_time ? t : nd->tip_time + 1;
    for (size_t i = 0; i < nd->npool && b.ntx < SIM_BLOCK_MAX_TX; i++) {
        if (nd->pool[i].tx != nd->censor_tx)
            b.tx[b.ntx++] = nd->pool[i].tx;
    }
    return sim_block_encode(&b, out);
}

static bool abs_diff_le(uint64_t a, uint64_t b, uint64_t d)
{
    return a > b ? a - b <= d : b - a <= d;
}

enum sim_verdict sim_node_validate(const struct sim_node *nd, uint64_t now, const unsigned char *p,
                                   size_t len, const unsigned char *digest, bool reproposal,
                                   uint64_t delta)
{
    struct sim_block b;
    unsigned char d[SIM_DIGEST_LEN];
    if (sim_block_decode(p, len, &b) != 0)
        return SIM_BAD_ENCODING;
    sim_block_digest(p, len, d);
    if (digest != NULL && memcmp(d, digest, SIM_DIGEST_LEN) != 0)
        return SIM_BAD_DIGEST;
    if (b.height != nd->height + 1)
        return SIM_BAD_HEIGHT;
    if (memcmp(b.parent, nd->tip, SIM_DIGEST_LEN) != 0)
        return SIM_BAD_PARENT;
    if (b.time <= nd->tip_time)
        return SIM_BAD_TIME_PARENT;
    if (!reproposal && !abs_diff_le(b.time, sim_node_clock(nd, now), delta))
        return SIM_BAD_TIME_CLOCK;
    for (uint32_t i = 0; i < b.ntx; i++) {
        if (!sim_tx_wellformed(b.tx[i]))
            return SIM_BAD_TX;
    }
    return SIM_VALID;
}

/* Keeps arrival order, as the driver's mempool does (older transactions are proposed first). */
static void pool_remove(struct sim_node *nd, uint64_t tx)
{
    for (size_t i = 0; i < nd->npool; i++) {
        if (nd->pool[i].tx == tx) {
            memmove(&nd->pool[i], &nd->pool[i + 1], (nd->npool - i - 1) * sizeof(nd->pool[0]));
            nd->npool--;
            return;
        }
    }
}

void sim_node_apply(struct sim_node *nd, const unsigned char *p, size_t len, uint64_t now,
                    bool committed)
{
    struct sim_block b;
    uint64_t t = sim_node_clock(nd, now);
    if (sim_block_decode(p, len, &b) != 0)
        return;
    nd->height = b.height;
    sim_block_digest(p, len, nd->tip);
    nd->tip_time = b.time;
    for (uint32_t i = 0; i < b.ntx; i++)
        pool_remove(nd, b.tx[i]);
    if (committed && node_reqtimer_had_room(b.ntx, SIM_BLOCK_MAX_TX)) {
        for (size_t i = 0; i < nd->npool; i++)
            node_reqwait_left_out(&nd->pool[i].wait, t);
    }
    node_reqtimer_executed(&nd->req, nd->npool, t);
}

bool sim_node_overdue(const struct sim_node *nd, uint64_t now, uint64_t *out_tx)
{
    uint64_t t = sim_node_clock(nd, now);
    if (nd->npool > 0 && node_reqtimer_stalled(&nd->req, t)) {
        *out_tx = nd->pool[0].tx;
        return true;
    }
    for (size_t i = 0; i < nd->npool; i++) {
        if (node_reqwait_overdue(&nd->req, &nd->pool[i].wait, t)) {
            *out_tx = nd->pool[i].tx;
            return true;
        }
    }
    return false;
}

const char *sim_verdict_str(enum sim_verdict v)
{
    static const char *names[] = { "valid",          "bad-encoding", "bad-digest",
                                   "bad-height",     "bad-parent",   "time-not-after-parent",
                                   "time-off-clock", "bad-tx" };
    return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}
