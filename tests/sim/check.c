/* Safety checkers, run on every commit and every emitted vote of every replica. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/check.h"

/* Fixed genesis hash of every simulated chain: signatures cover it (DESIGN.md §3). */
static const unsigned char genesis[32] = "sealchain-sim-genesis-0000000000";

unsigned sim_faults(unsigned n)
{
    return n == 0 ? 0 : (n - 1) / 3;
}

unsigned sim_quorum(unsigned n)
{
    unsigned f = sim_faults(n);
    return (n + f + 1 + 1) / 2;
}

size_t sim_signed_bytes(int kind, const unsigned char *payload, size_t len, unsigned char *out)
{
    static const char tag[] = "sealchain-sim-sig";
    size_t k = sizeof(tag) - 1;
    memcpy(out, tag, k);
    out[k] = (unsigned char)kind;
    memcpy(out + k + 1, genesis, sizeof(genesis));
    memcpy(out + k + 1 + sizeof(genesis), payload, len);
    return k + 1 + sizeof(genesis) + len;
}

void sim_check_init(struct sim_check *c)
{
    memset(c, 0, sizeof(*c));
    sim_map_init(&c->valid);
    sim_map_init(&c->sigs);
}

void sim_check_close(struct sim_check *c)
{
    free(c->h);
    sim_map_close(&c->valid);
    sim_map_close(&c->sigs);
    memset(c, 0, sizeof(*c));
}

void sim_check_reset(struct sim_check *c, int n, const struct sim_keys *keys)
{
    c->n = n;
    c->q = (int)sim_quorum((unsigned)n);
    c->keys = keys;
    for (int i = 0; i < PBFT_MAX_N; i++)
        c->honest[i] = i < n;
    for (size_t i = 0; i < c->cap; i++)
        c->h[i].set = false;
    c->max_height = 0;
    sim_map_clear(&c->valid);
    sim_map_clear(&c->sigs);
    c->violated = false;
    c->what[0] = 0;
    memset(c->count, 0, sizeof(c->count));
    c->certs_checked = 0;
    c->short_certs = 0;
}

const char *sim_violation_str(enum sim_violation v)
{
    static const char *names[] = { "agreement",   "validity", "certificate",
                                   "double-sign", "liveness", "core-error" };
    return (unsigned)v < SIM_V_COUNT ? names[v] : "?";
}

void sim_check_fail(struct sim_check *c, enum sim_violation v, const char *fmt, ...)
{
    c->count[v]++;
    if (c->violated)
        return;
    c->violated = true;
    c->vkind = v;
    int k = snprintf(c->what, sizeof(c->what), "%s: ", sim_violation_str(v));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->what + k, sizeof(c->what) - (size_t)k, fmt, ap);
    va_end(ap);
}

void sim_check_valid(struct sim_check *c, const unsigned char digest[SIM_DIGEST_LEN])
{
    unsigned char one = 1;
    sim_map_put(&c->valid, digest, SIM_DIGEST_LEN, &one, 1);
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static bool sig_ok(const struct sim_check *c, const struct pbft_cert *cert, unsigned i)
{
    unsigned char payload[48], msg[128];
    put_be64(payload, cert->height);
    put_be64(payload + 8, cert->view);
    memcpy(payload + 16, cert->digest, 32);
    size_t len = sim_signed_bytes(PBFT_SIG_COMMIT, payload, sizeof(payload), msg);
    return sim_verify(c->keys, cert->signers[i], msg, len, cert->sigs[i]);
}

int sim_check_cert(struct sim_check *c, const struct pbft_cert *cert, char *why, size_t why_len)
{
    c->certs_checked++;
    if (cert->count < (unsigned)c->q || cert->count > (unsigned)c->n) {
        snprintf(why, why_len, "%u signers, quorum is %d of n=%d", cert->count, c->q, c->n);
        return cert->count < (unsigned)c->q ? SIM_CERT_SHORT : -1;
    }
    for (unsigned i = 0; i < cert->count; i++) {
        if (cert->signers[i] >= c->n || (i > 0 && cert->signers[i] <= cert->signers[i - 1])) {
            snprintf(why, why_len, "signer list not distinct/in range at %u", i);
            return -1;
        }
        if (!sig_ok(c, cert, i)) {
            snprintf(why, why_len, "bad COMMIT signature of signer %u", cert->signers[i]);
            return -1;
        }
    }
    return 0;
}

static struct sim_commit *slot_for(struct sim_check *c, uint64_t height)
{
    if (height >= c->cap) {
        size_t cap = c->cap ? c->cap : 64;
        while (cap <= height)
            cap *= 2;
        struct sim_commit *h = realloc(c->h, cap * sizeof(*h));
        if (h == NULL) {
            fprintf(stderr, "sim: out of memory in checker\n");
            abort();
        }
        for (size_t i = c->cap; i < cap; i++)
            h[i].set = false;
        c->h = h;
        c->cap = cap;
    }
    return &c->h[height];
}

static void record(struct sim_check *c, struct sim_commit *rec, int slot,
                   const struct pbft_cert *cert, const unsigned char *payload, size_t len)
{
    rec->set = true;
    rec->slot = slot;
    rec->len = len;
    memcpy(rec->payload, payload, len);
    rec->cert = *cert;
    if (cert->height > c->max_height)
        c->max_height = cert->height;
}

static void check_block(struct sim_check *c, int slot, const struct pbft_cert *cert,
                        const unsigned char *payload, size_t len)
{
    unsigned char d[SIM_DIGEST_LEN];
    struct sim_block b;
    char why[160];
    if (len > SIM_BLOCK_MAX_LEN || sim_block_decode(payload, len, &b) != 0)
        sim_check_fail(c, SIM_V_VALIDITY, "slot %d committed a block that does not decode", slot);
    else if (b.height != cert->height)
        sim_check_fail(c, SIM_V_VALIDITY, "slot %d committed block of height %llu at %llu", slot,
                       (unsigned long long)b.height, (unsigned long long)cert->height);
    sim_block_digest(payload, len, d);
    if (memcmp(d, cert->digest, SIM_DIGEST_LEN) != 0)
        sim_check_fail(c, SIM_V_CERT, "slot %d h=%llu: certificate digest is not the block's", slot,
                       (unsigned long long)cert->height);
    int rc = sim_check_cert(c, cert, why, sizeof(why));
    if (rc == SIM_CERT_SHORT && c->soft_quorum)
        c->short_certs++; /* counted; the run goes on to show what the short quorum breaks */
    else if (rc != 0)
        sim_check_fail(c, SIM_V_CERT, "slot %d h=%llu v=%llu: %s", slot,
                       (unsigned long long)cert->height, (unsigned long long)cert->view, why);
    if (sim_map_get(&c->valid, d, SIM_DIGEST_LEN) == NULL)
        sim_check_fail(c, SIM_V_VALIDITY,
                       "slot %d h=%llu: committed a block no honest caller built or validated",
                       slot, (unsigned long long)cert->height);
}

void sim_check_commit(struct sim_check *c, int slot, int id, const struct pbft_cert *cert,
                      const unsigned char *payload, size_t len)
{
    if (id < 0 || id >= c->n || !c->honest[id])
        return;
    check_block(c, slot, cert, payload, len);
    if (len > SIM_BLOCK_MAX_LEN)
        return;
    struct sim_commit *rec = slot_for(c, cert->height);
    if (!rec->set) {
        record(c, rec, slot, cert, payload, len);
        return;
    }
    if (memcmp(rec->cert.digest, cert->digest, SIM_DIGEST_LEN) != 0) {
        char a[9], b[9];
        sim_digest_hex(rec->cert.digest, a);
        sim_digest_hex(cert->digest, b);
        sim_check_fail(c, SIM_V_AGREEMENT,
                       "h=%llu: slot %d committed %s (v=%llu), slot %d committed %s (v=%llu)",
                       (unsigned long long)cert->height, rec->slot, a,
                       (unsigned long long)rec->cert.view, slot, b, (unsigned long long)cert->view);
    }
}

/* A NEW-VIEW is keyed by its view alone; its value is a digest of everything it signs. */
static void emitted_newview(struct sim_check *c, int id, const unsigned char *payload)
{
    unsigned char key[24] = { 0 }, val[SIM_DIGEST_LEN];
    put_be64(key, (uint64_t)id << 8 | (uint64_t)PBFT_SIG_NEWVIEW);
    memcpy(key + 16, payload + 8, 8); /* view */
    sim_block_digest(payload, SIM_NEWVIEW_PAYLOAD, val);
    const unsigned char *d = sim_map_put(&c->sigs, key, sizeof(key), val, sizeof(val));
    if (memcmp(d, val, sizeof(val)) != 0)
        sim_check_fail(c, SIM_V_DOUBLE_SIGN,
                       "honest replica %d signed two different NEW-VIEWs for v=%llu (this one: "
                       "base=%llu%s)",
                       id, (unsigned long long)get_be64(payload + 8),
                       (unsigned long long)get_be64(payload),
                       payload[SIM_NEWVIEW_PAYLOAD - 1] ? ", re-proposal" : "");
}

/*
 * A VIEW-CHANGE is keyed by (height, view): what a replica leaving for a view from a height
 * claims (its commit certificate below, its prepared certificate) is one thing, so two
 * different signed payloads for one key are two stories told to different replicas.
 */
static void emitted_viewchange(struct sim_check *c, int id, const unsigned char *payload,
                               size_t len)
{
    unsigned char key[24], val[SIM_DIGEST_LEN];
    put_be64(key, (uint64_t)id << 8 | (uint64_t)PBFT_SIG_VIEWCHANGE);
    memcpy(key + 8, payload, 16); /* height ‖ view */
    sim_block_digest(payload, len, val);
    const unsigned char *d = sim_map_put(&c->sigs, key, sizeof(key), val, sizeof(val));
    if (memcmp(d, val, sizeof(val)) != 0)
        sim_check_fail(c, SIM_V_DOUBLE_SIGN,
                       "honest replica %d signed two different VIEW-CHANGEs for h=%llu v=%llu "
                       "(this one: prepared=%u v=%llu)",
                       id, (unsigned long long)get_be64(payload),
                       (unsigned long long)get_be64(payload + 8), payload[56],
                       (unsigned long long)get_be64(payload + 57));
}

void sim_check_emitted(struct sim_check *c, int id, int kind, const unsigned char *payload,
                       size_t len)
{
    unsigned char key[24];
    if (id < 0 || id >= c->n || !c->honest[id])
        return;
    if (kind == PBFT_SIG_NEWVIEW && len == SIM_NEWVIEW_PAYLOAD) {
        emitted_newview(c, id, payload);
        return;
    }
    if (kind == PBFT_SIG_VIEWCHANGE && len == SIM_VIEWCHANGE_PAYLOAD) {
        emitted_viewchange(c, id, payload, len);
        return;
    }
    if (len != PBFT_VOTE_PAYLOAD_SIZE)
        return;
    if (kind < PBFT_SIG_PREPREPARE || kind > PBFT_SIG_COMMIT)
        return;
    put_be64(key, (uint64_t)id << 8 | (uint64_t)kind);
    memcpy(key + 8, payload, 16); /* height ‖ view */
    const unsigned char *d = sim_map_put(&c->sigs, key, sizeof(key), payload + 16, 32);
    if (memcmp(d, payload + 16, 32) != 0) {
        char a[9], b[9];
        sim_digest_hex(d, a);
        sim_digest_hex(payload + 16, b);
        sim_check_fail(c, SIM_V_DOUBLE_SIGN,
                       "honest replica %d signed %s and %s for kind %d h=%llu v=%llu", id, a, b,
                       kind, (unsigned long long)get_be64(payload),
                       (unsigned long long)get_be64(payload + 8));
    }
}
