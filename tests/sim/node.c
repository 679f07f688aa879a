/* The simulated chain state of one replica: the block rules a real ledger would apply. */
#include <string.h>

#include "tests/sim/node.h"

void sim_node_init(struct sim_node *nd, int64_t skew)
{
    memset(nd, 0, sizeof(*nd));
    nd->skew = skew;
}

uint64_t sim_node_clock(const struct sim_node *nd, uint64_t now)
{
    int64_t t = (int64_t)now + nd->skew;
    return t < 0 ? 0 : (uint64_t)t;
}

size_t sim_node_build(const struct sim_node *nd, uint64_t time, uint32_t proposer,
                      const uint64_t *txs, size_t ntx, unsigned char *out)
{
    struct sim_block b = { .height = nd->height + 1, .proposer = proposer, .time = time };
    memcpy(b.parent, nd->tip, SIM_DIGEST_LEN);
    for (size_t i = 0; i < ntx && b.ntx < SIM_BLOCK_MAX_TX; i++)
        b.tx[b.ntx++] = txs[i];
    return sim_block_encode(&b, out);
}

enum sim_verdict sim_node_validate(const struct sim_node *nd, const unsigned char *p, size_t len)
{
    struct sim_block b;
    if (sim_block_decode(p, len, &b) != 0)
        return SIM_BAD_ENCODING;
    if (b.height != nd->height + 1)
        return SIM_BAD_HEIGHT;
    if (memcmp(b.parent, nd->tip, SIM_DIGEST_LEN) != 0)
        return SIM_BAD_PARENT;
    if (b.time <= nd->tip_time)
        return SIM_BAD_TIME_PARENT;
    for (uint32_t i = 0; i < b.ntx; i++) {
        if (!sim_tx_wellformed(b.tx[i]))
            return SIM_BAD_TX;
    }
    return SIM_VALID;
}

void sim_node_apply(struct sim_node *nd, const unsigned char *p, size_t len)
{
    struct sim_block b;
    if (sim_block_decode(p, len, &b) != 0)
        return;
    nd->height = b.height;
    sim_block_digest(p, len, nd->tip);
    nd->tip_time = b.time;
}

const char *sim_verdict_str(enum sim_verdict v)
{
    static const char *names[] = { "valid",      "bad-encoding",          "bad-height",
                                   "bad-parent", "time-not-after-parent", "bad-tx" };
    return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}
