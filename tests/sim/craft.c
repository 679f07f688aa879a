/* VIEW-CHANGE and NEW-VIEW in the core's wire format, for crafting Byzantine messages. */
#include <string.h>

#include "tests/sim/craft.h"

/* consensus/codec.c: version 1, then kind u8, sender u16, height u64, view u64. */
#define FORMAT_VERSION 1

struct wr {
    uint8_t *p;
    size_t cap, len;
    bool fail;
};

static void put(struct wr *w, const void *b, size_t len)
{
    if (len == 0)
        return;
    if (w->fail || len > w->cap - w->len) {
        w->fail = true;
        return;
    }
    memcpy(w->p + w->len, b, len);
    w->len += len;
}

static void put_be(struct wr *w, uint64_t v, int size)
{
    uint8_t b[8];
    for (int i = size - 1; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    put(w, b, (size_t)size);
}

struct rd {
    const uint8_t *p;
    size_t len, off;
    bool fail;
};

static const uint8_t *get(struct rd *d, size_t len)
{
    if (d->fail || len > d->len - d->off) {
        d->fail = true;
        return NULL;
    }
    const uint8_t *p = d->p + d->off;
    d->off += len;
    return p;
}

static uint64_t get_be(struct rd *d, int size)
{
    const uint8_t *p = get(d, (size_t)size);
    uint64_t v = 0;
    for (int i = 0; p != NULL && i < size; i++)
        v = v << 8 | p[i];
    return v;
}

static void get_into(struct rd *d, uint8_t *out, size_t len)
{
    const uint8_t *p = get(d, len);
    if (p != NULL)
        memcpy(out, p, len);
}

static void put_sigs(struct wr *w, const struct pbft_cert *c)
{
    put_be(w, c->count, 2);
    for (unsigned i = 0; i < c->count; i++) {
        put_be(w, c->signers[i], 2);
        put(w, c->sigs[i], PBFT_SIG_SIZE);
    }
}

static void get_sigs(struct rd *d, unsigned n, struct pbft_cert *c)
{
    unsigned count = (unsigned)get_be(d, 2);
    if (count > n || count > PBFT_MAX_N) {
        d->fail = true;
        return;
    }
    c->count = count;
    for (unsigned i = 0; i < count && !d->fail; i++) {
        c->signers[i] = (uint16_t)get_be(d, 2);
        get_into(d, c->sigs[i], PBFT_SIG_SIZE);
    }
}

int sim_vc_decode(const uint8_t *bytes, size_t len, unsigned n, struct sim_vc *out)
{
    struct rd d = { .p = bytes, .len = len };
    memset(out, 0, sizeof(*out));
    if (get_be(&d, 1) != FORMAT_VERSION || get_be(&d, 1) != PBFT_MSG_VIEWCHANGE)
        return -1;
    out->sender = (unsigned)get_be(&d, 2);
    out->height = get_be(&d, 8);
    out->view = get_be(&d, 8);
    out->cert.height = out->height > 0 ? out->height - 1 : 0;
    out->cert.view = get_be(&d, 8);
    get_into(&d, out->cert.digest, PBFT_DIGEST_SIZE);
    get_sigs(&d, n, &out->cert);
    out->prepared = get_be(&d, 1) == 1;
    if (out->prepared) {
        out->pcert.height = out->height;
        out->pcert.view = get_be(&d, 8);
        get_into(&d, out->pcert.digest, PBFT_DIGEST_SIZE);
        get_sigs(&d, n, &out->pcert);
    }
    out->payload_len = (size_t)get_be(&d, 4);
    out->payload = get(&d, out->payload_len);
    get_into(&d, out->sig, PBFT_SIG_SIZE);
    return d.fail || d.off != d.len ? -1 : 0;
}

int sim_vc_sign(const struct pbft_crypto *crypto, struct sim_vc *vc)
{
    static const uint8_t zero[PBFT_DIGEST_SIZE];
    uint8_t buf[PBFT_SIG_PAYLOAD_MAX];
    struct wr w = { .p = buf, .cap = sizeof(buf) };
    put_be(&w, vc->height, 8);
    put_be(&w, vc->view, 8);
    put_be(&w, vc->height > 1 ? vc->cert.view : 0, 8);
    put(&w, vc->height > 1 ? vc->cert.digest : zero, PBFT_DIGEST_SIZE);
    put_be(&w, vc->prepared ? 1 : 0, 1);
    put_be(&w, vc->prepared ? vc->pcert.view : 0, 8);
    put(&w, vc->prepared ? vc->pcert.digest : zero, PBFT_DIGEST_SIZE);
    if (w.fail || w.len != sizeof(buf))
        return -1;
    return crypto->sign(crypto->ctx, PBFT_SIG_VIEWCHANGE, buf, sizeof(buf), vc->sig) == 0 ? 0 : -1;
}

static void put_vc(struct wr *w, const struct sim_vc *vc, bool strip)
{
    put_be(w, FORMAT_VERSION, 1);
    put_be(w, PBFT_MSG_VIEWCHANGE, 1);
    put_be(w, vc->sender, 2);
    put_be(w, vc->height, 8);
    put_be(w, vc->view, 8);
    put_be(w, vc->cert.view, 8);
    put(w, vc->cert.digest, PBFT_DIGEST_SIZE);
    put_sigs(w, &vc->cert);
    put_be(w, vc->prepared ? 1 : 0, 1);
    if (vc->prepared) {
        put_be(w, vc->pcert.view, 8);
        put(w, vc->pcert.digest, PBFT_DIGEST_SIZE);
        put_sigs(w, &vc->pcert);
    }
    size_t plen = strip || !vc->prepared ? 0 : vc->payload_len;
    put_be(w, plen, 4);
    put(w, vc->payload, plen);
    put(w, vc->sig, PBFT_SIG_SIZE);
}

size_t sim_vc_encode(const struct sim_vc *vc, bool strip, uint8_t *out, size_t cap)
{
    struct wr w = { .p = out, .cap = cap };
    put_vc(&w, vc, strip);
    return w.fail ? 0 : w.len;
}

size_t sim_nv_encode(const struct pbft_crypto *crypto, unsigned sender, uint64_t base,
                     uint64_t view, bool reproposal, const uint8_t digest[PBFT_DIGEST_SIZE],
                     const struct sim_vc *vcs, unsigned count, const uint8_t *payload, size_t len,
                     uint8_t *out, size_t cap)
{
    static const uint8_t zero[PBFT_DIGEST_SIZE];
    uint8_t sp[PBFT_VOTE_PAYLOAD_SIZE + 1], sig[PBFT_SIG_SIZE];
    const uint8_t *d = reproposal ? digest : zero;
    pbft_vote_payload(base, view, d, sp);
    sp[PBFT_VOTE_PAYLOAD_SIZE] = reproposal ? 1 : 0;
    if (crypto->sign(crypto->ctx, PBFT_SIG_NEWVIEW, sp, sizeof(sp), sig) != 0)
        return 0;
    struct wr w = { .p = out, .cap = cap };
    put_be(&w, FORMAT_VERSION, 1);
    put_be(&w, PBFT_MSG_NEWVIEW, 1);
    put_be(&w, sender, 2);
    put_be(&w, base, 8);
    put_be(&w, view, 8);
    put_be(&w, reproposal ? 1 : 0, 1);
    put(&w, d, PBFT_DIGEST_SIZE);
    put(&w, sig, PBFT_SIG_SIZE);
    put_be(&w, count, 2);
    for (unsigned i = 0; i < count && !w.fail; i++) {
        size_t at = w.len;
        put_be(&w, 0, 4); /* length, patched below */
        put_vc(&w, &vcs[i], true);
        if (!w.fail) {
            size_t l = w.len - at - 4;
            for (int k = 0; k < 4; k++)
                w.p[at + (size_t)k] = (uint8_t)(l >> (8 * (3 - k)));
        }
    }
    put_be(&w, reproposal ? len : 0, 4);
    if (reproposal)
        put(&w, payload, len);
    return w.fail ? 0 : w.len;
}
