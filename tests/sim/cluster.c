/* Cluster wiring: replica lifecycle (start, crash, restart), crypto callbacks, event dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/cluster.h"
#include "tests/sim/replica.h"

static int cb_sign(void *ctx, enum pbft_sig_kind kind, const uint8_t *payload, size_t len,
                   uint8_t sig[PBFT_SIG_SIZE])
{
    struct sim_replica *r = ctx;
    unsigned char msg[192];
    if (len > PBFT_SIG_PAYLOAD_MAX)
        return -1;
    size_t l = sim_signed_bytes((int)kind, payload, len, msg);
    sim_sign(&r->c->keys, r->id, msg, l, sig);
    unsigned i = r->ring_next++ % SIM_SIGNED_RING;
    r->signed_ring[i].kind = (int)kind;
    r->signed_ring[i].left = false;
    r->signed_ring[i].len = len;
    memcpy(r->signed_ring[i].payload, payload, len);
    memcpy(r->signed_ring[i].sig, sig, PBFT_SIG_SIZE);
    return 0;
}

static bool cb_verify(void *ctx, enum pbft_sig_kind kind, unsigned signer, const uint8_t *payload,
                      size_t len, const uint8_t sig[PBFT_SIG_SIZE])
{
    struct sim_replica *r = ctx;
    unsigned char msg[192];
    if (len > PBFT_SIG_PAYLOAD_MAX || signer >= (unsigned)r->c->n)
        return false;
    size_t l = sim_signed_bytes((int)kind, payload, len, msg);
    return sim_verify(&r->c->keys, (int)signer, msg, l, sig);
}

/* The caller's digest rule, handed to the core so it can drop mismatched blocks early. */
static bool cb_block_ok(void *ctx, const uint8_t digest[PBFT_DIGEST_SIZE], const uint8_t *block,
                        size_t len)
{
    unsigned char d[SIM_DIGEST_LEN];
    (void)ctx;
    sim_block_digest(block, len, d);
    return memcmp(d, digest, SIM_DIGEST_LEN) == 0;
}

struct pbft_crypto sim_cluster_crypto(struct sim_replica *r)
{
    return (struct pbft_crypto){
        .ctx = r, .sign = cb_sign, .verify = cb_verify, .block_ok = cb_block_ok
    };
}

int sim_cluster_init(struct sim_cluster *c, int n, uint64_t seed, const struct sim_mix *mix,
                     struct sim_trace *trace, bool real_keys)
{
    struct sim_check chk = c->chk; /* the checker's buffers are reused across runs */
    memset(c, 0, sizeof(*c));
    c->chk = chk;
    c->n = n;
    c->f = (int)sim_faults((unsigned)n);
    c->q = (int)sim_quorum((unsigned)n);
    c->slots = n + (mix->twins ? c->f : 0);
    c->seed = seed;
    c->mix = mix;
    c->persist_max = mix->persist_max;
    c->trace = trace;
    c->trace_core = trace->verbose || !trace->off;
    c->tm = (struct sim_timing){ .progress = 1000,
                                 .view_change = 1000,
                                 .view_change_max = 8000,
                                 .request = 2000,
                                 .resend = 300,
                                 .delta = 1000,
                                 .tx_every = 300 };
    sim_rng_seed(&c->rng, seed);
    sim_queue_init(&c->q_ev);
    sim_net_init(&c->net, c->slots, mix->delay_min, mix->delay_max);
    if (sim_keys_init(&c->keys, n, seed, real_keys) != 0)
        return -1;
    sim_check_reset(&c->chk, n, &c->keys);
    c->msgcap = pbft_msg_max_size((unsigned)n, SIM_BLOCK_MAX_LEN);
    c->msgbuf = malloc(c->msgcap);
    if (c->msgbuf == NULL)
        return -1;
    for (int s = 0; s < c->slots; s++) {
        struct sim_replica *r = &c->r[s];
        r->c = c;
        r->slot = s;
        r->id = s < n ? s : s - n; /* twins: slot n+i runs identity i again */
        r->twin = s >= n;
        /* The caller's request time-out is below the core's, which then grants each view its own.
         */
        sim_node_init(&r->node, (int64_t)sim_rng_below(&c->rng, c->tm.delta / 4));
    }
    for (int s = n; s < c->slots; s++) {
        c->r[s - n].twin = true;
        c->chk.honest[s - n] = false;
    }
    return 0;
}

void sim_cluster_close(struct sim_cluster *c)
{
    for (int s = 0; s < c->slots; s++) {
        node_driver_free(c->r[s].drv);
        free(c->r[s].durable);
        for (int i = 0; i < 8; i++)
            sim_blob_unref(c->r[s].sent_ring[i]);
        for (int i = 0; i < SIM_VC_STASH; i++)
            sim_blob_unref(c->r[s].vc_stash[i]);
    }
    sim_queue_close(&c->q_ev);
    free(c->committed_at);
    sim_keys_close(&c->keys);
    free(c->pending);
    free(c->msgbuf);
}

void sim_cluster_start(struct sim_cluster *c)
{
    for (int s = 0; s < c->slots; s++) {
        sim_replica_boot(c, &c->r[s]);
        struct sim_event tick = { .at = c->now + 1 + sim_rng_below(&c->rng, 200),
                                  .kind = SIM_EV_TICK,
                                  .to = s };
        sim_queue_push(&c->q_ev, &tick);
    }
    struct sim_event cl = { .at = c->now + 1, .kind = SIM_EV_CLIENT, .to = -1 };
    sim_queue_push(&c->q_ev, &cl);
}

static void count_core(struct sim_cluster *c, struct sim_replica *r)
{
    struct pbft_stats st;
    if (!sim_replica_stats(r, &st))
        return;
    if (st.view_changes > c->st.view_changes)
        c->st.view_changes = st.view_changes;
    c->st.core_dropped +=
        st.dropped_malformed + st.dropped_bad_sig + st.dropped_window + st.dropped_duplicate;
}

void sim_cluster_crash(struct sim_cluster *c, int s)
{
    struct sim_replica *r = &c->r[s];
    if (!r->up)
        return;
    count_core(c, r);
    sim_trace(c->trace, c->now, s, "CRASH (durable snapshot seq %llu)",
              (unsigned long long)r->durable_seq);
    node_driver_free(r->drv);
    r->drv = NULL;
    r->up = false;
    r->epoch++;
    r->deadline = 0;
    r->sync_queued = false;
    r->ring_next = 0;
    memset(r->signed_ring, 0, sizeof(r->signed_ring));
    c->st.crashes++;
}

void sim_cluster_restart(struct sim_cluster *c, int s)
{
    struct sim_replica *r = &c->r[s];
    if (r->up)
        return;
    sim_trace(c->trace, c->now, s, "RESTART from snapshot seq %llu, applied h=%llu",
              (unsigned long long)r->durable_seq, (unsigned long long)r->node.height);
    c->st.restarts++;
    sim_replica_boot(c, r);
    /* Clients and gossip hand a restarted node the requests still pending. */
    for (size_t i = 0; i < c->npending; i++) {
        struct sim_event ev = {
            .at = c->now, .kind = SIM_EV_CLIENT_TX, .to = s, .arg = c->pending[i]
        };
        sim_queue_push(&c->q_ev, &ev);
    }
}

void sim_cluster_collect(struct sim_cluster *c)
{
    for (int s = 0; s < c->slots; s++)
        count_core(c, &c->r[s]);
    c->st.drops += c->net.st.drops;
    c->st.dups += c->net.st.dups;
    c->st.reorders += c->net.st.reorders;
    c->st.cut += c->net.st.cut;
    c->st.max_height = c->chk.max_height;
    c->st.blocks = c->chk.max_height;
}

uint64_t sim_cluster_min_honest_height(const struct sim_cluster *c)
{
    uint64_t m = UINT64_MAX;
    for (int s = 0; s < c->n; s++) {
        const struct sim_replica *r = &c->r[s];
        if (r->up && !r->byz && !r->twin && r->node.height < m)
            m = r->node.height;
    }
    return m;
}

void sim_cluster_set_byz(struct sim_cluster *c, int s, unsigned kinds)
{
    c->r[s].byz = true;
    c->r[s].byz_kinds = kinds;
    c->chk.honest[c->r[s].id] = false;
}

void sim_cluster_schedule_byz(struct sim_cluster *c, int s, uint64_t at, uint64_t arg)
{
    struct sim_event ev = { .at = at, .kind = SIM_EV_BYZ, .to = s, .arg = arg };
    sim_queue_push(&c->q_ev, &ev);
}

/* The commitloss fault: COMMITs vanish more often than other messages until healing. */
static bool lose_commit(struct sim_cluster *c, const uint8_t *bytes, size_t len)
{
    int kind = 0;
    if (c->mix->commit_drop_ppm == 0 || c->healed ||
        pbft_msg_peek(bytes, len, &kind, NULL, NULL, NULL) != 0 || kind != PBFT_MSG_COMMIT ||
        !sim_rng_ppm(&c->rng, c->mix->commit_drop_ppm))
        return false;
    c->st.commit_drops++;
    return true;
}

void sim_cluster_send_to(struct sim_cluster *c, int from, int to, const uint8_t *bytes, size_t len)
{
    struct sim_blob *b = NULL; /* our own reference; each send takes another */
    for (int s = 0; s < c->slots; s++) {
        if (c->r[s].id != to || s == from)
            continue;
        if (c->filter != NULL && c->filter(c, from, s, bytes, len)) {
            c->filtered++;
            continue;
        }
        if (lose_commit(c, bytes, len))
            continue;
        if (b == NULL && (b = sim_blob_new(bytes, len)) == NULL)
            abort();
        sim_net_send(&c->net, &c->rng, &c->q_ev, c->now, from, s, sim_blob_ref(b));
    }
    sim_blob_unref(b);
}

bool sim_cluster_step_one(struct sim_cluster *c)
{
    struct sim_event ev;
    if (sim_queue_pop(&c->q_ev, &ev) != 0)
        return false;
    if (ev.at > c->now)
        c->now = ev.at;
    c->st.events++;
    sim_replica_dispatch(c, &ev);
    sim_blob_unref(ev.blob);
    return true;
}

void sim_cluster_run_until(struct sim_cluster *c, uint64_t until)
{
    while (!c->chk.violated && sim_queue_peek_time(&c->q_ev) <= until)
        sim_cluster_step_one(c);
    if (c->now < until)
        c->now = until;
}

uint64_t sim_cluster_committed_at(const struct sim_cluster *c, uint64_t tx)
{
    uint64_t seq = sim_tx_seq(tx);
    return seq < c->cap_committed ? c->committed_at[seq] : 0;
}

void sim_cluster_note_committed(struct sim_cluster *c, uint64_t tx, uint64_t height)
{
    uint64_t seq = sim_tx_seq(tx);
    if (seq >= c->cap_committed) {
        size_t cap = c->cap_committed ? c->cap_committed : 1024;
        while (cap <= seq)
            cap *= 2;
        uint64_t *p = realloc(c->committed_at, cap * sizeof(*p));
        if (p == NULL)
            abort();
        memset(p + c->cap_committed, 0, (cap - c->cap_committed) * sizeof(*p));
        c->committed_at = p;
        c->cap_committed = cap;
    }
    if (c->committed_at[seq] == 0)
        c->committed_at[seq] = height;
}

bool sim_cluster_tx_committed(const struct sim_cluster *c, uint64_t tx)
{
    for (size_t i = 0; i < c->npending; i++) {
        if (c->pending[i] == tx)
            return false;
    }
    return sim_tx_seq(tx) <= c->next_tx;
}

uint64_t sim_cluster_submit(struct sim_cluster *c)
{
    if (c->npending == c->cap_pending) {
        size_t cap = c->cap_pending ? 2 * c->cap_pending : 64;
        uint64_t *p = realloc(c->pending, cap * sizeof(*p));
        if (p == NULL)
            abort();
        c->pending = p;
        c->cap_pending = cap;
    }
    uint64_t tx = sim_tx_make(++c->next_tx);
    c->pending[c->npending++] = tx;
    c->st.txs++;
    for (int s = 0; s < c->slots; s++) {
        struct sim_event ev = { .at = c->now + 1 + sim_rng_below(&c->rng, 30),
                                .kind = SIM_EV_CLIENT_TX,
                                .to = s,
                                .arg = tx };
        sim_queue_push(&c->q_ev, &ev);
    }
    return tx;
}

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

bool sim_replica_signed(const struct sim_replica *r, int kind, uint64_t h,
                        unsigned char out_digest[SIM_DIGEST_LEN], uint64_t *out_view)
{
    for (unsigned k = 0; k < SIM_SIGNED_RING; k++) {
        unsigned i = (r->ring_next + SIM_SIGNED_RING - 1 - k) % SIM_SIGNED_RING;
        if (r->signed_ring[i].kind == kind && be64(r->signed_ring[i].payload) == h) {
            memcpy(out_digest, r->signed_ring[i].payload + 16, SIM_DIGEST_LEN);
            if (out_view != NULL)
                *out_view = be64(r->signed_ring[i].payload + 8);
            return true;
        }
    }
    return false;
}
