/* Byzantine replicas: equivocation, votes for unsent blocks, forged signatures, floods. */
#include <stdlib.h>
#include <string.h>

#include "tests/sim/cluster.h"

/* Votes in one flood burst: enough to fill any per-height queue the core might keep. */
#define FLOOD_BURST 64

static void broadcast(struct sim_cluster *c, struct sim_replica *r, const uint8_t *b, size_t len)
{
    for (int id = 0; id < c->n; id++) {
        if (id != r->id)
            sim_cluster_send_to(c, r->slot, id, b, len);
    }
}

static int forge_sign(void *ctx, enum pbft_sig_kind kind, const uint8_t *payload, size_t len,
                      uint8_t sig[PBFT_SIG_SIZE])
{
    (void)kind;
    (void)payload;
    (void)len;
    sim_rng_bytes(ctx, sig, PBFT_SIG_SIZE);
    return 0;
}

/* Crafts a vote into c->msgbuf; returns its length (0 on failure). */
static size_t vote(struct sim_cluster *c, const struct pbft_crypto *cr, int kind, unsigned sender,
                   uint64_t h, uint64_t v, const uint8_t *digest)
{
    size_t len = 0;
    if (pbft_msg_vote_encode(cr, kind, sender, h, v, digest, c->msgbuf, c->msgcap, &len) != 0)
        return 0;
    return len;
}

static void send_vote(struct sim_cluster *c, struct sim_replica *r, int to, int kind, uint64_t h,
                      uint64_t v, const uint8_t *digest)
{
    struct pbft_crypto cr = sim_cluster_crypto(r);
    size_t len = vote(c, &cr, kind, (unsigned)r->id, h, v, digest);
    if (len > 0)
        sim_cluster_send_to(c, r->slot, to, c->msgbuf, len);
}

/*
 * The other Byzantine replicas collude: each votes for A towards the A side and for B
 * towards the B side (and its own core's votes at that (height, view) get split the same way).
 */
static void collude(struct sim_cluster *c, const struct sim_replica *lead)
{
    for (int s = 0; s < c->slots; s++) {
        struct sim_replica *b = &c->r[s];
        if (b == lead || !b->byz || !b->up || !(b->byz_kinds & SIM_BYZ_EQUIVOCATE))
            continue;
        b->eq_height = lead->eq_height;
        b->eq_view = lead->eq_view;
        b->eq_side = lead->eq_side;
        b->eq_active = true;
        memcpy(b->eq_a, lead->eq_a, SIM_DIGEST_LEN);
        memcpy(b->eq_digest, lead->eq_digest, SIM_DIGEST_LEN);
        for (int id = 0; id < c->n; id++) {
            const uint8_t *d = (lead->eq_side >> id & 1) ? lead->eq_digest : lead->eq_a;
            if (id == b->id)
                continue;
            send_vote(c, b, id, PBFT_MSG_PREPARE, lead->eq_height, lead->eq_view, d);
            send_vote(c, b, id, PBFT_MSG_COMMIT, lead->eq_height, lead->eq_view, d);
        }
        c->st.byz[SIM_BK_EQUIVOCATE]++;
    }
}

/* Block B: block A with another time, so it is just as valid to an honest caller. */
void sim_byz_proposed(struct sim_cluster *c, struct sim_replica *r, uint64_t height, uint64_t view,
                      const unsigned char *payload_a, size_t len)
{
    struct sim_block b;
    if (sim_block_decode(payload_a, len, &b) != 0 || c->n < 3)
        return;
    sim_block_digest(payload_a, len, r->eq_a);
    b.time += 1 + sim_rng_below(&c->rng, 50);
    /* Or B's time sits at the edge of Δ, so honest clocks (skewed) disagree on it. */
    if (sim_rng_below(&c->rng, 3) == 0)
        b.time += c->tm.delta - 150 + sim_rng_below(&c->rng, 300);
    /* Now and then B is invalid: honest callers must refuse it and their cores not prepare it. */
    if (sim_rng_below(&c->rng, 3) == 0) {
        uint64_t bad = sim_tx_make(1u << 30) ^ 1; /* wrong check byte */
        if (b.ntx < SIM_BLOCK_MAX_TX)
            b.tx[b.ntx++] = bad;
        else
            b.tx[0] = bad;
    }
    r->eq_len = sim_block_encode(&b, r->eq_payload);
    sim_block_digest(r->eq_payload, r->eq_len, r->eq_digest);
    r->eq_height = height;
    r->eq_view = view;
    r->eq_active = true;
    r->eq_side = r->eq_fixed;
    while (r->eq_side == 0 || r->eq_side == (((1ULL << c->n) - 1) & ~(1ULL << r->id))) {
        r->eq_side = sim_rng_next(&c->rng) & ~(1ULL << r->id) & ((1ULL << c->n) - 1);
    }
    char a[9], d[9];
    sim_digest_hex(r->eq_a, a);
    sim_digest_hex(r->eq_digest, d);
    sim_trace(c->trace, c->now, r->slot, "BYZ equivocate h=%llu v=%llu: %s to some, %s to 0x%llx",
              (unsigned long long)height, (unsigned long long)view, a, d,
              (unsigned long long)r->eq_side);
    collude(c, r);
}

static void equivocate_preprepare(struct sim_cluster *c, struct sim_replica *r,
                                  const struct pbft_out_msg *m)
{
    struct pbft_crypto cr = sim_cluster_crypto(r);
    size_t blen = 0;
    if (pbft_msg_preprepare_encode(&cr, (unsigned)r->id, r->eq_height, r->eq_view, r->eq_digest,
                                   r->eq_payload, r->eq_len, c->msgbuf, c->msgcap, &blen) != 0)
        blen = 0;
    unsigned char *b = blen ? malloc(blen) : NULL;
    if (b != NULL)
        memcpy(b, c->msgbuf, blen);
    for (int id = 0; id < c->n; id++) {
        if (id == r->id || (m->to != PBFT_BROADCAST && m->to != id))
            continue;
        if ((r->eq_side >> id & 1) && b != NULL) {
            sim_cluster_send_to(c, r->slot, id, b, blen);
            /* The equivocator votes for B towards the B side straight away. */
            send_vote(c, r, id, PBFT_MSG_PREPARE, r->eq_height, r->eq_view, r->eq_digest);
            send_vote(c, r, id, PBFT_MSG_COMMIT, r->eq_height, r->eq_view, r->eq_digest);
        } else {
            sim_cluster_send_to(c, r->slot, id, m->bytes, m->len);
        }
    }
    free(b);
    c->st.byz[SIM_BK_EQUIVOCATE]++;
}

/* Its own votes for A go to the A side only; the B side got votes for B. */
static void equivocate_vote(struct sim_cluster *c, struct sim_replica *r,
                            const struct pbft_out_msg *m)
{
    for (int id = 0; id < c->n; id++) {
        if (id == r->id || (m->to != PBFT_BROADCAST && m->to != id))
            continue;
        if (r->eq_side >> id & 1)
            send_vote(c, r, id, m->kind, r->eq_height, r->eq_view, r->eq_digest);
        else
            sim_cluster_send_to(c, r->slot, id, m->bytes, m->len);
    }
}

/* Its own message, but only to a random subset of the replicas it was meant for. */
static void selective(struct sim_cluster *c, struct sim_replica *r, const struct pbft_out_msg *m)
{
    for (int id = 0; id < c->n; id++) {
        if (id == r->id || (m->to != PBFT_BROADCAST && m->to != id) || sim_rng_below(&c->rng, 2))
            continue;
        sim_cluster_send_to(c, r->slot, id, m->bytes, m->len);
    }
    c->st.byz[SIM_BK_SELECTIVE]++;
}

static void remember(struct sim_replica *r, const struct pbft_out_msg *m)
{
    unsigned i = r->sent_next++ % 8;
    sim_blob_unref(r->sent_ring[i]);
    r->sent_ring[i] = sim_blob_new(m->bytes, m->len);
}

bool sim_byz_outgoing(struct sim_cluster *c, struct sim_replica *r, const struct pbft_out_msg *m)
{
    /* Keep one in four (a ring of 8 spans many heights and views). */
    if ((r->byz_kinds & SIM_BYZ_REPLAY) && sim_rng_below(&c->rng, 4) == 0)
        remember(r, m);
    if (m->kind == PBFT_MSG_VIEWCHANGE)
        sim_byz_heard(c, r, m->bytes, m->len); /* its own count towards a NEW-VIEW too */
    if ((r->byz_kinds & SIM_BYZ_NEWVIEW) && m->kind == PBFT_MSG_NEWVIEW && sim_byz_newview(c, r, m))
        return true;
    if ((r->byz_kinds & SIM_BYZ_VCHANGE) && m->kind == PBFT_MSG_VIEWCHANGE &&
        sim_byz_viewchange(c, r, m))
        return true;
    bool eq = (r->byz_kinds & SIM_BYZ_EQUIVOCATE) && r->eq_active && m->height == r->eq_height &&
              m->view == r->eq_view;
    if ((r->byz_kinds & SIM_BYZ_SELECTIVE) && !eq) {
        selective(c, r, m);
        return true;
    }
    if (!(r->byz_kinds & SIM_BYZ_EQUIVOCATE) || !r->eq_active || m->height != r->eq_height ||
        m->view != r->eq_view)
        return false;
    if (m->kind == PBFT_MSG_PREPREPARE) {
        equivocate_preprepare(c, r, m);
        return true;
    }
    if (m->kind == PBFT_MSG_PREPARE || m->kind == PBFT_MSG_COMMIT) {
        equivocate_vote(c, r, m);
        return true;
    }
    return false;
}

static void random_digest(struct sim_cluster *c, uint8_t d[SIM_DIGEST_LEN])
{
    sim_rng_bytes(&c->rng, d, SIM_DIGEST_LEN);
}

static int random_vote_kind(struct sim_cluster *c)
{
    return sim_rng_below(&c->rng, 2) ? PBFT_MSG_PREPARE : PBFT_MSG_COMMIT;
}

/* PREPARE and COMMIT, validly signed, for a block nobody was ever sent. */
static void act_unsent(struct sim_cluster *c, struct sim_replica *r, uint64_t h, uint64_t v)
{
    uint8_t d[SIM_DIGEST_LEN];
    random_digest(c, d);
    for (int id = 0; id < c->n; id++) {
        if (id == r->id)
            continue;
        send_vote(c, r, id, PBFT_MSG_PREPARE, h, v, d);
        send_vote(c, r, id, PBFT_MSG_COMMIT, h, v, d);
    }
    c->st.byz[SIM_BK_UNSENT] += 2;
}

/* Votes with forged signatures: its own name, and other replicas' names. */
static void act_badsig(struct sim_cluster *c, struct sim_replica *r, uint64_t h, uint64_t v)
{
    struct pbft_crypto forged = { .ctx = &c->rng, .sign = forge_sign };
    struct pbft_crypto own = sim_cluster_crypto(r);
    uint8_t d[SIM_DIGEST_LEN];
    random_digest(c, d);
    unsigned victim = (unsigned)sim_rng_below(&c->rng, (uint64_t)c->n);
    size_t len = vote(c, &forged, random_vote_kind(c), victim, h, v, d);
    if (len > 0)
        broadcast(c, r, c->msgbuf, len);
    /* Its own valid key, but in another replica's name. */
    len = vote(c, &own, random_vote_kind(c), (victim + 1) % (unsigned)c->n, h, v, d);
    if (len > 0)
        broadcast(c, r, c->msgbuf, len);
    c->st.byz[SIM_BK_BADSIG] += 2;
}

static void act_badsender(struct sim_cluster *c, struct sim_replica *r, uint64_t h, uint64_t v)
{
    static const unsigned senders[] = { 64, 65, 255, 1000, 65535, 0x7fffffffu, 0xffffffffu };
    struct pbft_crypto own = sim_cluster_crypto(r);
    uint8_t d[SIM_DIGEST_LEN];
    random_digest(c, d);
    unsigned s = sim_rng_below(&c->rng, 2) ? (unsigned)c->n + (unsigned)sim_rng_below(&c->rng, 4)
                                           : senders[sim_rng_below(&c->rng, 7)];
    size_t len = vote(c, &own, random_vote_kind(c), s, h, v, d);
    if (len > 0)
        broadcast(c, r, c->msgbuf, len);
    c->st.byz[SIM_BK_BADSENDER]++;
}

static void act_huge(struct sim_cluster *c, struct sim_replica *r, uint64_t h, uint64_t v)
{
    static const uint64_t big[] = { 1000000000ULL, 1000000001ULL, UINT64_MAX, UINT64_MAX - 1,
                                    1ULL << 63 };
    uint8_t d[SIM_DIGEST_LEN];
    random_digest(c, d);
    uint64_t x = big[sim_rng_below(&c->rng, 5)];
    bool height = sim_rng_below(&c->rng, 2);
    /* Now and then a whole VIEW-CHANGE for a view near 10^9, valid in every other field. */
    if (sim_rng_below(&c->rng, 8) == 0 &&
        sim_byz_huge_viewchange(c, r, 1000000000ULL + sim_rng_below(&c->rng, 1000)) > 0)
        return;
    for (int id = 0; id < c->n; id++) {
        if (id != r->id)
            send_vote(c, r, id, random_vote_kind(c), height ? x : h, height ? v : x, d);
    }
    c->st.byz[SIM_BK_HUGE]++;
}

/* A burst of validly signed votes for heights and views just ahead of the present. */
static void act_flood(struct sim_cluster *c, struct sim_replica *r, uint64_t h, uint64_t v)
{
    struct pbft_crypto own = sim_cluster_crypto(r);
    uint8_t d[SIM_DIGEST_LEN];
    for (int i = 0; i < FLOOD_BURST; i++) {
        random_digest(c, d);
        uint64_t hh = h + 1 + sim_rng_below(&c->rng, 200);
        uint64_t vv = v + sim_rng_below(&c->rng, 4);
        size_t len = vote(c, &own, random_vote_kind(c), (unsigned)r->id, hh, vv, d);
        if (len > 0)
            broadcast(c, r, c->msgbuf, len);
    }
    c->st.byz[SIM_BK_FLOOD] += FLOOD_BURST;
}

/* Truncated or bit-flipped copies of a well-formed vote. */
static void act_garbage(struct sim_cluster *c, struct sim_replica *r, uint64_t h, uint64_t v)
{
    struct pbft_crypto own = sim_cluster_crypto(r);
    uint8_t d[SIM_DIGEST_LEN];
    random_digest(c, d);
    size_t len = vote(c, &own, random_vote_kind(c), (unsigned)r->id, h, v, d);
    if (len == 0)
        return;
    if (sim_rng_below(&c->rng, 2))
        len = sim_rng_below(&c->rng, len);
    else
        c->msgbuf[sim_rng_below(&c->rng, len)] ^= (uint8_t)(1u << sim_rng_below(&c->rng, 8));
    broadcast(c, r, c->msgbuf, len);
    c->st.byz[SIM_BK_GARBAGE]++;
}

/* One of its own old messages again, to everyone. */
static void act_replay(struct sim_cluster *c, struct sim_replica *r, uint64_t h, uint64_t v)
{
    const struct sim_blob *b = r->sent_ring[sim_rng_below(&c->rng, 8)];
    (void)h, (void)v;
    if (b == NULL)
        return;
    broadcast(c, r, b->data, b->len);
    c->st.byz[SIM_BK_REPLAY]++;
}

void sim_byz_act(struct sim_cluster *c, struct sim_replica *r, uint64_t arg)
{
    static const struct {
        unsigned bit;
        void (*fn)(struct sim_cluster *c, struct sim_replica *r, uint64_t h, uint64_t v);
    } acts[] = { { SIM_BYZ_VOTE_UNSENT, act_unsent },   { SIM_BYZ_BAD_SIG, act_badsig },
                 { SIM_BYZ_BAD_SENDER, act_badsender }, { SIM_BYZ_HUGE, act_huge },
                 { SIM_BYZ_FLOOD, act_flood },          { SIM_BYZ_GARBAGE, act_garbage },
                 { SIM_BYZ_REPLAY, act_replay } };
    struct pbft_stats st;
    if (!sim_replica_stats(r, &st))
        return;
    size_t k = sizeof(acts) / sizeof(acts[0]);
    size_t start = (size_t)(arg % k);
    for (size_t i = 0; i < k; i++) {
        size_t j = (start + i) % k;
        if (r->byz_kinds & acts[j].bit) {
            acts[j].fn(c, r, st.height, st.view);
            return;
        }
    }
}

static bool accept_all(void *ctx, enum pbft_sig_kind kind, unsigned signer, const uint8_t *payload,
                       size_t len, const uint8_t sig[PBFT_SIG_SIZE])
{
    (void)ctx, (void)kind, (void)signer, (void)payload, (void)len, (void)sig;
    return true;
}

/* A puppet core: identity `id`, signs with id's real key, believes every signature. */
struct puppet {
    struct sim_cluster *c;
    struct sim_replica *r; /* the Byzantine replica, for traces */
    int id;
    struct pbft *core;
    struct pbft_update up;
    uint64_t now;
};

static int puppet_sign(void *ctx, enum pbft_sig_kind kind, const uint8_t *payload, size_t len,
                       uint8_t sig[PBFT_SIG_SIZE])
{
    struct puppet *p = ctx;
    unsigned char msg[192];
    if (len > PBFT_SIG_PAYLOAD_MAX)
        return -1;
    size_t l = sim_signed_bytes((int)kind, payload, len, msg);
    sim_sign(&p->c->keys, p->id, msg, l, sig);
    return 0;
}

static void puppet_trace(void *ctx, uint64_t now, unsigned self, const char *line)
{
    struct puppet *p = ctx;
    sim_trace(p->c->trace, now, p->r->slot, "puppet %u: %s", self, line);
}

static int puppet_step(struct puppet *p, struct pbft_event *ev)
{
    ev->now = p->now;
    int rc = pbft_step(p->core, ev, &p->up);
    /* Its messages wait for their snapshot: make every snapshot durable at once. */
    if (rc == 0 && p->up.has_persist && p->up.n_msgs == 0) {
        struct pbft_event pe = { .type = PBFT_EV_PERSISTED, .now = p->now };
        pe.persisted.seq = p->up.persist.seq;
        rc = pbft_step(p->core, &pe, &p->up);
    }
    return rc;
}

static int puppet_start(struct puppet *p, uint64_t height, const struct pbft_cert *cert)
{
    struct pbft_config cfg = { .n = (unsigned)p->c->n, .self = (unsigned)p->id };
    cfg.crypto = (struct pbft_crypto){ .ctx = p, .sign = puppet_sign, .verify = accept_all };
    cfg.trace = puppet_trace;
    cfg.trace_ctx = p;
    if (pbft_new(&cfg, &p->core) != 0)
        return -1;
    struct pbft_event ev = { .type = PBFT_EV_START };
    ev.start.committed_height = height;
    ev.start.last_cert = height > 0 ? cert : NULL;
    return puppet_step(p, &ev);
}

/* Finds a VIEW-CHANGE for a view >= view in the puppet's last update; copies it to out. */
static size_t puppet_vc(struct puppet *p, uint64_t view, uint8_t *out, size_t cap)
{
    for (unsigned i = 0; i < p->up.n_msgs; i++) {
        const struct pbft_out_msg *m = &p->up.msgs[i];
        if (m->kind == PBFT_MSG_VIEWCHANGE && m->view >= view && m->len <= cap) {
            memcpy(out, m->bytes, m->len);
            return m->len;
        }
    }
    return 0;
}

/*
 * A helper puppet of identity `id` that asks for `view`: started below the tip, synced to
 * it with a forged certificate of view-1, then told a request is overdue until it sends a
 * VIEW-CHANGE. Only the main puppet (which believes anything) ever sees it.
 */
static size_t helper_vc(struct sim_cluster *c, struct sim_replica *r, int id, uint64_t view,
                        uint8_t *out, size_t cap)
{
    struct puppet p = { .c = c, .r = r, .id = id, .now = c->now };
    struct pbft_cert below = { .height = r->node.height - 1, .count = (unsigned)c->q };
    struct pbft_cert cert = { .height = r->node.height, .view = view - 1, .count = (unsigned)c->q };
    size_t len = 0;
    for (unsigned i = 0; i < cert.count; i++)
        cert.signers[i] = below.signers[i] = (uint16_t)i;
    if (puppet_start(&p, below.height, &below) == 0) {
        struct pbft_event ev = { .type = PBFT_EV_SYNCED };
        ev.synced.cert = &cert;
        puppet_step(&p, &ev);
        for (int i = 0; i < 40 && len == 0; i++) {
            p.now += 1000;
            ev = (struct pbft_event){ .type = i % 2 ? PBFT_EV_TIMEOUT : PBFT_EV_REQUEST_OVERDUE };
            if (puppet_step(&p, &ev) == 0)
                len = puppet_vc(&p, view, out, cap);
        }
    }
    pbft_free(p.core);
    return len;
}

/*
 * The main puppet has r's identity and r's real, valid tip certificate. f+1 helper
 * VIEW-CHANGEs for `view` make it join that view (PBFT's f+1 rule), and the VIEW-CHANGE it
 * then signs is valid in every field but the view: exactly what a Byzantine replica could
 * send. Forwarded to every other replica.
 */
int sim_byz_huge_viewchange(struct sim_cluster *c, struct sim_replica *r, uint64_t view)
{
    struct puppet p = { .c = c, .r = r, .id = r->id, .now = c->now };
    size_t cap = c->msgcap, len;
    uint8_t *buf = malloc(cap);
    int helpers = 0, sent = 0;
    if (buf == NULL || r->node.height == 0 || puppet_start(&p, r->node.height, &r->tip_cert) != 0)
        goto out;
    for (int id = 0; id < c->n && helpers <= c->f; id++) {
        if (id == r->id || (len = helper_vc(c, r, id, view, buf, cap)) == 0)
            continue;
        struct pbft_event ev = { .type = PBFT_EV_RECEIVE };
        ev.receive.from = (unsigned)id;
        ev.receive.bytes = buf;
        ev.receive.len = len;
        helpers++;
        if (puppet_step(&p, &ev) == 0 && (len = puppet_vc(&p, view, buf, cap)) > 0) {
            broadcast(c, r, buf, len);
            sent++;
            break;
        }
    }
out:
    pbft_free(p.core);
    free(buf);
    c->st.byz[SIM_BK_HUGE] += (uint64_t)sent;
    return sent;
}

bool sim_byz_deaf(struct sim_cluster *c, struct sim_replica *r, const uint8_t *bytes, size_t len)
{
    static const unsigned char magic[4] = { 'S', 'I', 'M', 'B' };
    int kind = 0;
    if (!(r->byz_kinds & SIM_BYZ_DEAF) || pbft_msg_peek(bytes, len, &kind, NULL, NULL, NULL) != 0 ||
        kind != PBFT_MSG_VIEWCHANGE)
        return false;
    /* A prepared VIEW-CHANGE carries the block, and every simulated block starts "SIMB". */
    if (memmem(bytes, len, magic, sizeof(magic)) == NULL)
        return false;
    c->st.byz[SIM_BK_DEAF]++;
    return true;
}
