/* Block encoding for the simulated caller: little-endian fields, BLAKE2b-256 digest. */
#include <string.h>
#include <sodium.h>

#include "tests/sim/block.h"

static const unsigned char magic[4] = { 'S', 'I', 'M', 'B' };

static uint8_t tx_check(uint64_t seq)
{
    return (uint8_t)((seq * 31 + 7) ^ (seq >> 8));
}

uint64_t sim_tx_make(uint64_t seq)
{
    return (seq << 8) | tx_check(seq);
}

bool sim_tx_wellformed(uint64_t tx)
{
    return (tx & 0xff) == tx_check(tx >> 8) && (tx >> 8) != 0;
}

uint64_t sim_tx_seq(uint64_t tx)
{
    return tx >> 8;
}

static unsigned char *put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + 8;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + 4;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t sim_block_encode(const struct sim_block *b, unsigned char *out)
{
    unsigned char *p = out;
    uint32_t ntx = b->ntx > SIM_BLOCK_MAX_TX ? SIM_BLOCK_MAX_TX : b->ntx;
    memcpy(p, magic, 4);
    p = put64(p + 4, b->height);
    memcpy(p, b->parent, SIM_DIGEST_LEN);
    p = put64(p + SIM_DIGEST_LEN, b->time);
    p = put32(p, b->proposer);
    p = put32(p, ntx);
    for (uint32_t i = 0; i < ntx; i++)
        p = put64(p, b->tx[i]);
    return (size_t)(p - out);
}

int sim_block_decode(const unsigned char *p, size_t len, struct sim_block *out)
{
    if (len < SIM_BLOCK_HDR_LEN || memcmp(p, magic, 4) != 0)
        return -1;
    out->height = get64(p + 4);
    memcpy(out->parent, p + 12, SIM_DIGEST_LEN);
    out->time = get64(p + 12 + SIM_DIGEST_LEN);
    out->proposer = get32(p + 20 + SIM_DIGEST_LEN);
    out->ntx = get32(p + 24 + SIM_DIGEST_LEN);
    if (out->ntx > SIM_BLOCK_MAX_TX || len != SIM_BLOCK_HDR_LEN + 8 * (size_t)out->ntx)
        return -1;
    for (uint32_t i = 0; i < out->ntx; i++)
        out->tx[i] = get64(p + SIM_BLOCK_HDR_LEN + 8 * i);
    return 0;
}

void sim_block_digest(const unsigned char *p, size_t len, unsigned char out[SIM_DIGEST_LEN])
{
    crypto_generichash(out, SIM_DIGEST_LEN, p, len, NULL, 0);
}

void sim_digest_hex(const unsigned char d[SIM_DIGEST_LEN], char out[9])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 4; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[8] = 0;
}
