/* --ed25519: a small cluster signing with real Ed25519; every commit certificate re-checked. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "tests/sim/run.h"
#include "tests/sim/sim.h"

struct ed_check {
    uint64_t certs, sigs, tamper_rejected, failures;
    char why[200];
};

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

/* Verifies cert with libsodium directly, not through the simulator's signer. */
static bool libsodium_cert_ok(const struct sim_cluster *c, const struct pbft_cert *cert,
                              uint64_t *sigs)
{
    unsigned char payload[48], msg[128];
    put_be64(payload, cert->height);
    put_be64(payload + 8, cert->view);
    memcpy(payload + 16, cert->digest, 32);
    size_t len = sim_signed_bytes(PBFT_SIG_COMMIT, payload, sizeof(payload), msg);
    if (cert->count < sim_quorum((unsigned)c->n))
        return false;
    for (unsigned i = 0; i < cert->count; i++) {
        if (cert->signers[i] >= c->n || (i > 0 && cert->signers[i] <= cert->signers[i - 1]))
            return false;
        if (crypto_sign_verify_detached(cert->sigs[i], msg, len, c->keys.pk[cert->signers[i]]) != 0)
            return false;
        (*sigs)++;
    }
    return true;
}

static void check_one(struct sim_cluster *c, struct ed_check *e, uint64_t h)
{
    const struct pbft_cert *cert = &c->chk.h[h].cert;
    struct pbft_crypto cr = sim_cluster_crypto(&c->r[0]);
    struct pbft_cert bad = *cert;
    uint64_t dummy = 0;
    e->certs++;
    if (!libsodium_cert_ok(c, cert, &e->sigs) || pbft_cert_verify(&cr, (unsigned)c->n, cert)) {
        e->failures++;
        snprintf(e->why, sizeof(e->why), "certificate of h=%llu does not verify",
                 (unsigned long long)h);
        return;
    }
    /* A certificate with one flipped signature bit must be refused, by us and by the core. */
    bad.sigs[0][7] ^= 0x10;
    if (libsodium_cert_ok(c, &bad, &dummy) || pbft_cert_verify(&cr, (unsigned)c->n, &bad) == 0) {
        e->failures++;
        snprintf(e->why, sizeof(e->why), "tampered certificate of h=%llu accepted",
                 (unsigned long long)h);
        return;
    }
    e->tamper_rejected++;
}

static void after_run(struct sim_cluster *c, void *ctx)
{
    struct ed_check *e = ctx;
    for (uint64_t h = 1; h <= c->chk.max_height; h++) {
        if (c->chk.h[h].set)
            check_one(c, e, h);
    }
}

int sim_ed25519(const struct sim_opts *o)
{
    static const char *mixes[] = { "clean", "lossy", "crash", "equivocate", "twins" };
    static struct sim_trace t;
    uint64_t seeds = o->seeds ? o->seeds : 5;
    int failed = 0;
    sim_trace_reset(&t, o->verbose);
    t.off = !o->verbose;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        const struct sim_mix *m = sim_mix_find(mixes[(seed - 1) % 5]);
        struct ed_check e = { .certs = 0 };
        struct sim_run_hooks hooks = { .real_keys = true, .after = after_run, .ctx = &e };
        struct sim_result res;
        if (sim_run(seed, 4, m, &t, &hooks, &res) != 0)
            return 2;
        bool ok = !res.violated && e.failures == 0 && e.certs > 0;
        printf("ed25519 seed %llu n=4 mix=%-10s %s: %llu blocks, %llu certificates (%llu Ed25519 "
               "signatures) verified with libsodium, %llu tampered certificates refused%s%s\n",
               (unsigned long long)seed, m->name, ok ? "ok  " : "FAIL",
               (unsigned long long)res.st.blocks, (unsigned long long)e.certs,
               (unsigned long long)e.sigs, (unsigned long long)e.tamper_rejected,
               res.violated ? "; " : (e.failures ? "; " : ""), res.violated ? res.what : e.why);
        failed += !ok;
    }
    printf("ed25519: %llu passed, %d failed\n", (unsigned long long)seeds - (uint64_t)failed,
           failed);
    return failed ? 1 : 0;
}
