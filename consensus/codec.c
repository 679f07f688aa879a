/* The core's wire format: bounded, strict big-endian encoding of every PBFT message. */
#include <stdlib.h>
#include <string.h>

#include "consensus/internal.h"

/*
 * Layout (all integers big-endian). Header: version u8, kind u8, sender u16,
 * height u64, view u64. Then by kind:
 *   PRE-PREPARE  digest, sig, payload_len u32, payload
 *   PREPARE      digest, sig
 *   COMMIT       digest, sig
 *   CERT         digest, sigs           (a commit certificate for height/view)
 *   VIEW-CHANGE  cert_view u64, cert_digest, sigs (commit cert of height-1),
 *                prepared u8, [pview u64, pdigest, sigs (PREPAREs)],
 *                payload_len u32, payload, sig
 *   NEW-VIEW     reproposal u8, digest, sig, count u16, count x (len u32, VIEW-CHANGE
 *                without payload), payload_len u32, payload
 * sigs = count u16, count x (signer u16, sig). Decoding consumes every byte.
 */

static void grow(struct pbft__buf *b, size_t extra)
{
    if (b->fail) {
        return;
    }
    if (b->len + extra > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + extra) {
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            b->fail = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

void pbft__put_bytes(struct pbft__buf *b, const uint8_t *p, size_t len)
{
    grow(b, len);
    if (!b->fail && len > 0) {
        memcpy(b->p + b->len, p, len);
        b->len += len;
    }
}

static void put_be(struct pbft__buf *b, uint64_t v, int size)
{
    uint8_t tmp[8];
    for (int i = size - 1; i >= 0; i--) {
        tmp[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    pbft__put_bytes(b, tmp, (size_t)size);
}

void pbft__put_u8(struct pbft__buf *b, uint8_t v)
{
    put_be(b, v, 1);
}
void pbft__put_u16(struct pbft__buf *b, uint16_t v)
{
    put_be(b, v, 2);
}
void pbft__put_u32(struct pbft__buf *b, uint32_t v)
{
    put_be(b, v, 4);
}
void pbft__put_u64(struct pbft__buf *b, uint64_t v)
{
    put_be(b, v, 8);
}

const uint8_t *pbft__get_bytes(struct pbft__rd *d, size_t len)
{
    if (d->fail || len > d->len - d->off) {
        d->fail = true;
        return NULL;
    }
    const uint8_t *p = d->p + d->off;
    d->off += len;
    return p;
}

static uint64_t get_be(struct pbft__rd *d, int size)
{
    const uint8_t *p = pbft__get_bytes(d, (size_t)size);
    uint64_t v = 0;
    if (p == NULL) {
        return 0;
    }
    for (int i = 0; i < size; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

uint8_t pbft__get_u8(struct pbft__rd *d)
{
    return (uint8_t)get_be(d, 1);
}
uint16_t pbft__get_u16(struct pbft__rd *d)
{
    return (uint16_t)get_be(d, 2);
}
uint32_t pbft__get_u32(struct pbft__rd *d)
{
    return (uint32_t)get_be(d, 4);
}
uint64_t pbft__get_u64(struct pbft__rd *d)
{
    return get_be(d, 8);
}

static void get_into(struct pbft__rd *d, uint8_t *out, size_t len)
{
    const uint8_t *p = pbft__get_bytes(d, len);
    if (p != NULL) {
        memcpy(out, p, len);
    } else {
        memset(out, 0, len);
    }
}

void pbft__put_sigs(struct pbft__buf *b, const struct pbft_cert *c)
{
    pbft__put_u16(b, (uint16_t)c->count);
    for (unsigned i = 0; i < c->count; i++) {
        pbft__put_u16(b, c->signers[i]);
        pbft__put_bytes(b, c->sigs[i], PBFT_SIG_SIZE);
    }
}

bool pbft__get_sigs(struct pbft__rd *d, unsigned n, struct pbft_cert *c)
{
    unsigned count = pbft__get_u16(d);
    if (d->fail || count > n) {
        d->fail = true;
        return false;
    }
    c->count = count;
    for (unsigned i = 0; i < count; i++) {
        c->signers[i] = pbft__get_u16(d);
        get_into(d, c->sigs[i], PBFT_SIG_SIZE);
        if (c->signers[i] >= n || (i > 0 && c->signers[i] <= c->signers[i - 1])) {
            d->fail = true;
        }
    }
    return !d->fail;
}

static void put_header(struct pbft__buf *b, int kind, unsigned sender, uint64_t height,
                       uint64_t view)
{
    pbft__put_u8(b, PBFT_FORMAT_VERSION);
    pbft__put_u8(b, (uint8_t)kind);
    pbft__put_u16(b, (uint16_t)sender);
    pbft__put_u64(b, height);
    pbft__put_u64(b, view);
}

void pbft__vc_payload(const struct pbft__vc *vc, uint8_t out[PBFT_SIG_PAYLOAD_MAX])
{
    struct pbft__buf b = { 0 };
    static const uint8_t zero[PBFT_DIGEST_SIZE];
    pbft__put_u64(&b, vc->height);
    pbft__put_u64(&b, vc->view);
    pbft__put_u64(&b, vc->height > 1 ? vc->cert.view : 0);
    pbft__put_bytes(&b, vc->height > 1 ? vc->cert.digest : zero, PBFT_DIGEST_SIZE);
    pbft__put_u8(&b, vc->prepared ? 1 : 0);
    pbft__put_u64(&b, vc->prepared ? vc->pcert.view : 0);
    pbft__put_bytes(&b, vc->prepared ? vc->pcert.digest : zero, PBFT_DIGEST_SIZE);
    memset(out, 0, PBFT_SIG_PAYLOAD_MAX);
    if (!b.fail && b.len == PBFT_SIG_PAYLOAD_MAX) {
        memcpy(out, b.p, b.len);
    }
    free(b.p);
}

void pbft__nv_payload(uint64_t base, uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE],
                      bool reproposal, uint8_t out[49])
{
    static const uint8_t zero[PBFT_DIGEST_SIZE];
    pbft_vote_payload(base, view, reproposal ? digest : zero, out);
    out[48] = reproposal ? 1 : 0;
}

static void put_vc_body(struct pbft__buf *b, const struct pbft__vc *vc, bool strip)
{
    put_header(b, PBFT_MSG_VIEWCHANGE, vc->sender, vc->height, vc->view);
    pbft__put_u64(b, vc->cert.view);
    pbft__put_bytes(b, vc->cert.digest, PBFT_DIGEST_SIZE);
    pbft__put_sigs(b, &vc->cert);
    pbft__put_u8(b, vc->prepared ? 1 : 0);
    if (vc->prepared) {
        pbft__put_u64(b, vc->pcert.view);
        pbft__put_bytes(b, vc->pcert.digest, PBFT_DIGEST_SIZE);
        pbft__put_sigs(b, &vc->pcert);
    }
    size_t plen = (strip || !vc->prepared) ? 0 : vc->payload_len;
    pbft__put_u32(b, (uint32_t)plen);
    pbft__put_bytes(b, vc->payload, plen);
    pbft__put_bytes(b, vc->sig, PBFT_SIG_SIZE);
}

uint8_t *pbft__vc_encode(const struct pbft__vc *vc, bool strip, size_t *out_len)
{
    struct pbft__buf b = { 0 };
    put_vc_body(&b, vc, strip);
    if (b.fail) {
        free(b.p);
        return NULL;
    }
    *out_len = b.len;
    return b.p;
}

uint8_t *pbft__simple_encode(const struct pbft__msg *m, size_t *out_len)
{
    struct pbft__buf b = { 0 };
    put_header(&b, m->kind, m->sender, m->height, m->view);
    pbft__put_bytes(&b, m->digest, PBFT_DIGEST_SIZE);
    if (m->kind == PBFT_MSG_CERT) {
        pbft__put_sigs(&b, m->cert);
    } else {
        pbft__put_bytes(&b, m->sig, PBFT_SIG_SIZE);
    }
    if (m->kind == PBFT_MSG_PREPREPARE) {
        pbft__put_u32(&b, (uint32_t)m->payload_len);
        pbft__put_bytes(&b, m->payload, m->payload_len);
    }
    if (b.fail) {
        free(b.p);
        return NULL;
    }
    *out_len = b.len;
    return b.p;
}

/* Reads a payload length and bytes, bounded by max. */
static void get_payload(struct pbft__rd *d, size_t max, const uint8_t **out, size_t *out_len)
{
    uint32_t len = pbft__get_u32(d);
    if (len > max) {
        d->fail = true;
        return;
    }
    *out = pbft__get_bytes(d, len);
    *out_len = len;
}

/* Decodes a VIEW-CHANGE body after its header (already read into vc). */
static void get_vc_body(struct pbft__rd *d, const struct pbft *r, struct pbft__vc *vc)
{
    vc->cert.height = vc->height > 0 ? vc->height - 1 : 0;
    vc->cert.view = pbft__get_u64(d);
    get_into(d, vc->cert.digest, PBFT_DIGEST_SIZE);
    pbft__get_sigs(d, r->n, &vc->cert);
    uint8_t prepared = pbft__get_u8(d);
    if (prepared > 1) {
        d->fail = true;
    }
    vc->prepared = prepared == 1;
    memset(&vc->pcert, 0, sizeof(vc->pcert));
    if (vc->prepared) {
        vc->pcert.height = vc->height;
        vc->pcert.view = pbft__get_u64(d);
        get_into(d, vc->pcert.digest, PBFT_DIGEST_SIZE);
        pbft__get_sigs(d, r->n, &vc->pcert);
    }
    vc->payload = NULL;
    vc->payload_len = 0;
    vc->owned = NULL;
    get_payload(d, r->cfg.max_payload, &vc->payload, &vc->payload_len);
    if (!vc->prepared && vc->payload_len != 0) {
        d->fail = true;
    }
    get_into(d, vc->sig, PBFT_SIG_SIZE);
}

static void get_header(struct pbft__rd *d, struct pbft__msg *m)
{
    if (pbft__get_u8(d) != PBFT_FORMAT_VERSION) {
        d->fail = true;
    }
    m->kind = pbft__get_u8(d);
    m->sender = pbft__get_u16(d);
    m->height = pbft__get_u64(d);
    m->view = pbft__get_u64(d);
}

static void decode_newview(struct pbft *r, struct pbft__rd *d, struct pbft__msg *m)
{
    uint8_t rp = pbft__get_u8(d);
    if (rp > 1) {
        d->fail = true;
    }
    m->reproposal = rp == 1;
    get_into(d, m->digest, PBFT_DIGEST_SIZE);
    get_into(d, m->sig, PBFT_SIG_SIZE);
    unsigned count = pbft__get_u16(d);
    if (d->fail || count == 0 || count > r->n) {
        d->fail = true;
        return;
    }
    m->nv_vcs = calloc(count, sizeof(*m->nv_vcs));
    if (m->nv_vcs == NULL) {
        d->fail = true;
        return;
    }
    m->nv_count = count;
    for (unsigned i = 0; i < count && !d->fail; i++) {
        uint32_t len = pbft__get_u32(d);
        const uint8_t *p = pbft__get_bytes(d, len);
        if (p == NULL) {
            break;
        }
        struct pbft__rd sub = { .p = p, .len = len };
        struct pbft__msg h = { 0 };
        struct pbft__vc *vc = &m->nv_vcs[i];
        get_header(&sub, &h);
        vc->sender = h.sender;
        vc->height = h.height;
        vc->view = h.view;
        get_vc_body(&sub, r, vc);
        if (sub.fail || sub.off != sub.len || h.kind != PBFT_MSG_VIEWCHANGE ||
            vc->payload_len != 0) {
            d->fail = true;
        }
    }
    get_payload(d, r->cfg.max_payload, &m->payload, &m->payload_len);
    if (!m->reproposal && m->payload_len != 0) {
        d->fail = true;
    }
}

int pbft__msg_decode(struct pbft *r, const uint8_t *bytes, size_t len, struct pbft__msg *m)
{
    struct pbft__rd d = { .p = bytes, .len = len };

    memset(m, 0, sizeof(*m));
    if (bytes == NULL) {
        return PBFT_ERR_MALFORMED;
    }
    get_header(&d, m);
    if (d.fail || m->sender >= r->n) {
        return PBFT_ERR_MALFORMED;
    }
    switch (m->kind) {
    case PBFT_MSG_PREPREPARE:
        get_into(&d, m->digest, PBFT_DIGEST_SIZE);
        get_into(&d, m->sig, PBFT_SIG_SIZE);
        get_payload(&d, r->cfg.max_payload, &m->payload, &m->payload_len);
        break;
    case PBFT_MSG_PREPARE:
    case PBFT_MSG_COMMIT:
        get_into(&d, m->digest, PBFT_DIGEST_SIZE);
        get_into(&d, m->sig, PBFT_SIG_SIZE);
        break;
    case PBFT_MSG_CERT:
        m->cert = &r->scratch_cert;
        memset(m->cert, 0, sizeof(*m->cert));
        m->cert->height = m->height;
        m->cert->view = m->view;
        get_into(&d, m->cert->digest, PBFT_DIGEST_SIZE);
        memcpy(m->digest, m->cert->digest, PBFT_DIGEST_SIZE);
        pbft__get_sigs(&d, r->n, m->cert);
        break;
    case PBFT_MSG_VIEWCHANGE:
        m->vc = &r->scratch_vc;
        memset(m->vc, 0, sizeof(*m->vc));
        m->vc->sender = m->sender;
        m->vc->height = m->height;
        m->vc->view = m->view;
        get_vc_body(&d, r, m->vc);
        break;
    case PBFT_MSG_NEWVIEW:
        decode_newview(r, &d, m);
        break;
    default:
        d.fail = true;
    }
    if (d.fail || d.off != d.len || m->height == 0) {
        pbft__msg_release(m);
        return PBFT_ERR_MALFORMED;
    }
    return 0;
}

void pbft__msg_release(struct pbft__msg *m)
{
    free(m->nv_vcs);
    m->nv_vcs = NULL;
    m->nv_count = 0;
}

const char *pbft_msg_kind_str(int kind)
{
    switch (kind) {
    case PBFT_MSG_PREPREPARE:
        return "pre-prepare";
    case PBFT_MSG_PREPARE:
        return "prepare";
    case PBFT_MSG_COMMIT:
        return "commit";
    case PBFT_MSG_VIEWCHANGE:
        return "view-change";
    case PBFT_MSG_NEWVIEW:
        return "new-view";
    case PBFT_MSG_CERT:
        return "cert";
    default:
        return "?";
    }
}

int pbft_msg_peek(const uint8_t *bytes, size_t len, int *out_kind, unsigned *out_sender,
                  uint64_t *out_height, uint64_t *out_view)
{
    struct pbft__rd d = { .p = bytes, .len = len };
    struct pbft__msg m = { 0 };

    if (bytes == NULL) {
        return PBFT_ERR_MALFORMED;
    }
    get_header(&d, &m);
    if (d.fail) {
        return PBFT_ERR_MALFORMED;
    }
    if (out_kind != NULL) {
        *out_kind = m.kind;
    }
    if (out_sender != NULL) {
        *out_sender = m.sender;
    }
    if (out_height != NULL) {
        *out_height = m.height;
    }
    if (out_view != NULL) {
        *out_view = m.view;
    }
    return 0;
}

/* Signs and encodes a PRE-PREPARE/PREPARE/COMMIT into a caller buffer. */
static int craft(const struct pbft_crypto *c, int kind, unsigned sender, uint64_t height,
                 uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE], const uint8_t *payload,
                 size_t payload_len, uint8_t *out, size_t cap, size_t *out_len)
{
    static const enum pbft_sig_kind sk[] = { [PBFT_MSG_PREPREPARE] = PBFT_SIG_PREPREPARE,
                                             [PBFT_MSG_PREPARE] = PBFT_SIG_PREPARE,
                                             [PBFT_MSG_COMMIT] = PBFT_SIG_COMMIT };
    struct pbft__msg m = { .kind = kind, .sender = sender, .height = height, .view = view };
    uint8_t sp[PBFT_VOTE_PAYLOAD_SIZE];
    size_t len;

    if (c == NULL || digest == NULL || out == NULL || out_len == NULL || sender > UINT16_MAX ||
        payload_len > PBFT_MAX_PAYLOAD_LIMIT) {
        return PBFT_ERR_EVENT;
    }
    memcpy(m.digest, digest, PBFT_DIGEST_SIZE);
    m.payload = payload;
    m.payload_len = payload_len;
    pbft_vote_payload(height, view, digest, sp);
    if (c->sign(c->ctx, sk[kind], sp, sizeof(sp), m.sig) != 0) {
        return PBFT_ERR_CRYPTO;
    }
    uint8_t *bytes = pbft__simple_encode(&m, &len);
    if (bytes == NULL) {
        return PBFT_ERR_NOMEM;
    }
    int rv = 0;
    if (len > cap) {
        rv = PBFT_ERR_TOO_BIG;
    } else {
        memcpy(out, bytes, len);
        *out_len = len;
    }
    free(bytes);
    return rv;
}

int pbft_msg_vote_encode(const struct pbft_crypto *crypto, int kind, unsigned sender,
                         uint64_t height, uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE],
                         uint8_t *out, size_t cap, size_t *out_len)
{
    if (kind != PBFT_MSG_PREPARE && kind != PBFT_MSG_COMMIT) {
        return PBFT_ERR_EVENT;
    }
    return craft(crypto, kind, sender, height, view, digest, NULL, 0, out, cap, out_len);
}

int pbft_msg_preprepare_encode(const struct pbft_crypto *crypto, unsigned sender, uint64_t height,
                               uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE],
                               const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap,
                               size_t *out_len)
{
    if (payload == NULL && payload_len > 0) {
        return PBFT_ERR_EVENT;
    }
    return craft(crypto, PBFT_MSG_PREPREPARE, sender, height, view, digest, payload, payload_len,
                 out, cap, out_len);
}

size_t pbft_msg_max_size(unsigned n, size_t max_payload)
{
    size_t sigs = 2 + (size_t)n * (2 + PBFT_SIG_SIZE);
    size_t vc = PBFT_HDR_SIZE + 8 + PBFT_DIGEST_SIZE + sigs + 1 + 8 + PBFT_DIGEST_SIZE + sigs + 4 +
                PBFT_SIG_SIZE;
    size_t nv = PBFT_HDR_SIZE + 1 + PBFT_DIGEST_SIZE + PBFT_SIG_SIZE + 2 + (size_t)n * (4 + vc) +
                4 + max_payload;
    return nv + max_payload; /* a VIEW-CHANGE with payload is smaller than this too */
}
