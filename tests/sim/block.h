/* Simulated blocks and transactions: the opaque payload the core orders, and its digest. */
#ifndef SIM_BLOCK_H
#define SIM_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_DIGEST_LEN 32
/* Most transactions in one simulated block: small blocks keep runs fast. */
#define SIM_BLOCK_MAX_TX  16
#define SIM_BLOCK_HDR_LEN (4 + 8 + SIM_DIGEST_LEN + 8 + 4 + 4)
#define SIM_BLOCK_MAX_LEN (SIM_BLOCK_HDR_LEN + 8 * SIM_BLOCK_MAX_TX)

/* A decoded block: height, parent digest, proposer time, proposer slot and tx ids. */
struct sim_block {
    uint64_t height;
    unsigned char parent[SIM_DIGEST_LEN];
    uint64_t time;
    uint32_t proposer;
    uint32_t ntx;
    uint64_t tx[SIM_BLOCK_MAX_TX];
};

/* A well-formed transaction id for client request number `seq` (a check byte in the low bits). */
uint64_t sim_tx_make(uint64_t seq);
/* True when the check byte of tx matches. */
bool sim_tx_wellformed(uint64_t tx);
/* The request number of a well-formed tx id. */
uint64_t sim_tx_seq(uint64_t tx);

/* Encodes b into out (SIM_BLOCK_MAX_LEN bytes); returns the length written. */
size_t sim_block_encode(const struct sim_block *b, unsigned char *out);
/* Decodes; returns 0, or -1 when the bytes are not a block. */
int sim_block_decode(const unsigned char *p, size_t len, struct sim_block *out);
/* BLAKE2b-256 of the encoded block: the digest the core sees. */
void sim_block_digest(const unsigned char *p, size_t len, unsigned char out[SIM_DIGEST_LEN]);
/* Short hex prefix of a digest for traces (static buffer per call site is the caller's). */
void sim_digest_hex(const unsigned char d[SIM_DIGEST_LEN], char out[9]);

#endif
