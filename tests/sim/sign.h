/* Replica keys for the simulator: a fast fake keyed-hash signer, or real Ed25519 (libsodium). */
#ifndef SIM_SIGN_H
#define SIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_SIG_LEN 64
#define SIM_PK_LEN  32

struct sim_keys {
    bool real;                        /* Ed25519 instead of the fake signer */
    int n;                            /* identities 0..n-1 */
    unsigned char *secret;            /* sodium_malloc'd: n * 64 bytes (fake key or Ed25519 sk) */
    unsigned char pk[32][SIM_PK_LEN]; /* Ed25519 public keys (real mode only) */
};

/*
 * Derives n identities deterministically from seed. Fake mode: a 32-byte secret per
 * identity; a signature is BLAKE2b-512 keyed with it, and verifying recomputes it.
 * Real mode: crypto_sign_seed_keypair from BLAKE2b(seed, id). Returns 0, or -1 when
 * libsodium fails to initialise or allocate.
 */
int sim_keys_init(struct sim_keys *k, int n, uint64_t seed, bool real);
/* Wipes and frees the secrets. */
void sim_keys_close(struct sim_keys *k);
/* Signs msg as identity id (0 <= id < n). */
void sim_sign(const struct sim_keys *k, int id, const unsigned char *msg, size_t len,
              unsigned char sig[SIM_SIG_LEN]);
/* True when sig is identity id's signature over msg; false for ids out of range. */
bool sim_verify(const struct sim_keys *k, int id, const unsigned char *msg, size_t len,
                const unsigned char sig[SIM_SIG_LEN]);

#endif
