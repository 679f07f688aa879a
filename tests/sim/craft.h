/* The core's VIEW-CHANGE and NEW-VIEW wire format, re-encoded for Byzantine replicas (tests only).
 */
#ifndef SIM_CRAFT_H
#define SIM_CRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/pbft.h"

/*
 * The layout of consensus/codec.c (a format the core keeps private): a Byzantine replica reads
 * the VIEW-CHANGEs it hears and writes VIEW-CHANGEs and NEW-VIEWs of its choosing, every field
 * under its control and every signature its own (or replayed). A change of the core's format
 * shows up as honest replicas dropping everything crafted here (counted as malformed).
 */

/* A VIEW-CHANGE: commit certificate of height-1, optional prepared certificate and block. */
struct sim_vc {
    unsigned sender;
    uint64_t height, view;
    struct pbft_cert cert; /* height-1: view, digest, signatures */
    bool prepared;
    struct pbft_cert pcert; /* height: view, digest, PREPARE signatures */
    const uint8_t *payload; /* the prepared block (borrowed), NULL/0 if none or stripped */
    size_t payload_len;
    uint8_t sig[PBFT_SIG_SIZE];
};

/* Decodes a whole VIEW-CHANGE message (bytes borrowed by out->payload). 0 or -1. */
int sim_vc_decode(const uint8_t *bytes, size_t len, unsigned n, struct sim_vc *out);
/* Signs vc (the 97-byte VIEW-CHANGE payload of pbft.h) with crypto's sign. 0 or -1. */
int sim_vc_sign(const struct pbft_crypto *crypto, struct sim_vc *vc);
/* Encodes vc (without its block when strip) into out (cap bytes); returns the length, 0 if it
 * does not fit. */
size_t sim_vc_encode(const struct sim_vc *vc, bool strip, uint8_t *out, size_t cap);
/*
 * Encodes and signs a NEW-VIEW from `sender` for (base, view) carrying count VIEW-CHANGEs
 * (stripped of their blocks) and, when reproposal, the block `payload` named by `digest`.
 * Returns the length written to out, 0 on failure.
 */
size_t sim_nv_encode(const struct pbft_crypto *crypto, unsigned sender, uint64_t base,
                     uint64_t view, bool reproposal, const uint8_t digest[PBFT_DIGEST_SIZE],
                     const struct sim_vc *vcs, unsigned count, const uint8_t *payload, size_t len,
                     uint8_t *out, size_t cap);

#endif
