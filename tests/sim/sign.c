/* Signing for the simulator: the fake signer keeps thousands of seeds per second possible. */
#include <string.h>
#include <sodium.h>

#include "tests/sim/sign.h"

/* Ed25519 secret keys are 64 bytes; the fake signer uses the first 32 of the same slot. */
#define SLOT 64

static void derive_seed(uint64_t seed, int id, unsigned char out[32])
{
    unsigned char in[12];
    for (int i = 0; i < 8; i++)
        in[i] = (unsigned char)(seed >> (8 * i));
    for (int i = 0; i < 4; i++)
        in[8 + i] = (unsigned char)((unsigned)id >> (8 * i));
    crypto_generichash(out, 32, in, sizeof(in), (const unsigned char *)"sealchain-sim-key", 17);
}

int sim_keys_init(struct sim_keys *k, int n, uint64_t seed, bool real)
{
    memset(k, 0, sizeof(*k));
    if (sodium_init() < 0 || n < 1 || n > 32)
        return -1;
    k->secret = sodium_malloc((size_t)n * SLOT);
    if (k->secret == NULL)
        return -1;
    k->real = real;
    k->n = n;
    for (int i = 0; i < n; i++) {
        unsigned char s[32];
        derive_seed(seed, i, s);
        if (real)
            crypto_sign_seed_keypair(k->pk[i], k->secret + (size_t)i * SLOT, s);
        else
            memcpy(k->secret + (size_t)i * SLOT, s, 32);
        sodium_memzero(s, sizeof(s));
    }
    return 0;
}

void sim_keys_close(struct sim_keys *k)
{
    sodium_free(k->secret); /* wipes before freeing; NULL is a no-op */
    k->secret = NULL;
}

static void fake_sig(const struct sim_keys *k, int id, const unsigned char *msg, size_t len,
                     unsigned char sig[SIM_SIG_LEN])
{
    crypto_generichash(sig, SIM_SIG_LEN, msg, len, k->secret + (size_t)id * SLOT, 32);
}

void sim_sign(const struct sim_keys *k, int id, const unsigned char *msg, size_t len,
              unsigned char sig[SIM_SIG_LEN])
{
    if (k->real)
        crypto_sign_detached(sig, NULL, msg, len, k->secret + (size_t)id * SLOT);
    else
        fake_sig(k, id, msg, len, sig);
}

bool sim_verify(const struct sim_keys *k, int id, const unsigned char *msg, size_t len,
                const unsigned char sig[SIM_SIG_LEN])
{
    unsigned char want[SIM_SIG_LEN];
    if (id < 0 || id >= k->n)
        return false;
    if (k->real)
        return crypto_sign_verify_detached(sig, msg, len, k->pk[id]) == 0;
    fake_sig(k, id, msg, len, want);
    return memcmp(want, sig, SIM_SIG_LEN) == 0;
}
