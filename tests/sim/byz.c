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

/* Block B: block A with another time, so it is just as valid to an honest caller. */
void sim_byz_proposed(struct sim_cluster *c, struct sim_replica *r, uint64_t height, uint64_t view,
                      const unsigned char *payload_a, size_t len)
{
    struct sim_block b;
    if (sim_block_decode(payload_a, len, &b) != 0 || c->n < 3)
        return;
    sim_block_digest(payload_a, len, r->eq_a);
    b.time += 1 + sim_rng_below(&c->rng, 50);
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

bool sim_byz_outgoing(struct sim_cluster *c, struct sim_replica *r, const struct pbft_out_msg *m)
{
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

void sim_byz_act(struct sim_cluster *c, struct sim_replica *r, uint64_t arg)
{
    typedef void (*act_fn)(struct sim_cluster *, struct sim_replica *, uint64_t, uint64_t);
    static const struct {
        unsigned bit;
        act_fn fn;
    } acts[] = { { SIM_BYZ_VOTE_UNSENT, act_unsent },   { SIM_BYZ_BAD_SIG, act_badsig },
                 { SIM_BYZ_BAD_SENDER, act_badsender }, { SIM_BYZ_HUGE, act_huge },
                 { SIM_BYZ_FLOOD, act_flood },          { SIM_BYZ_GARBAGE, act_garbage } };
    struct pbft_stats st;
    if (r->core == NULL)
        return;
    pbft_get_stats(r->core, &st);
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

/* Forwards the puppet's VIEW-CHANGEs for views >= view to every other replica. */
static int forward_viewchanges(struct sim_cluster *c, struct sim_replica *r,
                               const struct pbft_update *up, uint64_t view)
{
    int sent = 0;
    for (unsigned i = 0; i < up->n_msgs; i++) {
        const struct pbft_out_msg *m = &up->msgs[i];
        if (m->kind != PBFT_MSG_VIEWCHANGE || m->view < view)
            continue;
        broadcast(c, r, m->bytes, m->len);
        sent++;
    }
    return sent;
}

/*
 * The puppet: a second core with r's identity and key whose verifier accepts anything,
 * started on a forged certificate of view-1, then told a request is overdue until it
 * asks for the next view. Its VIEW-CHANGE is signed with r's real key, so it is exactly
 * what a Byzantine replica could send.
 */
int sim_byz_huge_viewchange(struct sim_cluster *c, struct sim_replica *r, uint64_t view)
{
    struct pbft_config cfg = { .n = (unsigned)c->n, .self = (unsigned)r->id };
    struct pbft *p = NULL;
    struct pbft_update up;
    int sent = 0;
    cfg.crypto = sim_cluster_crypto(r);
    cfg.crypto.verify = accept_all;
    if (r->node.height == 0 || pbft_new(&cfg, &p) != 0)
        return 0;
    struct pbft_cert cert = { .height = r->node.height, .view = view - 1, .count = (unsigned)c->q };
    memcpy(cert.digest, r->node.tip, SIM_DIGEST_LEN);
    for (unsigned i = 0; i < cert.count; i++)
        cert.signers[i] = (uint16_t)i;
    struct pbft_event ev = { .type = PBFT_EV_START, .now = c->now };
    ev.start.committed_height = r->node.height;
    ev.start.last_cert = &cert;
    pbft_step(p, &ev, &up);
    ev = (struct pbft_event){ .type = PBFT_EV_SYNCED, .now = c->now };
    ev.synced.cert = &cert;
    pbft_step(p, &ev, &up);
    uint64_t t = c->now;
    for (int i = 0; i < 40 && sent == 0; i++) {
        t += 1000;
        ev = (struct pbft_event){ .type = i % 2 ? PBFT_EV_TIMEOUT : PBFT_EV_REQUEST_OVERDUE,
                                  .now = t };
        if (pbft_step(p, &ev, &up) == 0)
            sent += forward_viewchanges(c, r, &up, view);
    }
    pbft_free(p);
    c->st.byz[SIM_BK_HUGE] += (uint64_t)sent;
    return sent;
}
