/* Driving one replica: simulated events turned into calls of the production driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "tests/sim/replica.h"

/* A sync that found nothing to apply is tried again this much later at the earliest. */
#define SYNC_RETRY_MS 500

static void push(struct sim_cluster *c, struct sim_replica *r, enum sim_ev_kind kind,
                 uint64_t delay, uint64_t arg)
{
    struct sim_event ev = {
        .at = c->now + delay, .kind = kind, .to = r->slot, .epoch = r->epoch, .arg = arg
    };
    sim_queue_push(&c->q_ev, &ev);
}

uint64_t sim_replica_clock(const struct sim_replica *r)
{
    return sim_node_clock(&r->node, r->c->now);
}

bool sim_replica_stats(const struct sim_replica *r, struct pbft_stats *out)
{
    if (r->drv == NULL)
        return false;
    node_driver_stats(r->drv, out);
    return true;
}

/* Records the signatures of r's own messages that this message carries (they now left). */
static void note_emitted(struct sim_cluster *c, struct sim_replica *r, const uint8_t *bytes,
                         size_t len)
{
    for (unsigned i = 0; i < SIM_SIGNED_RING; i++) {
        if (r->signed_ring[i].kind == 0 || r->signed_ring[i].left)
            continue;
        if (memmem(bytes, len, r->signed_ring[i].sig, PBFT_SIG_SIZE) == NULL)
            continue;
        sim_check_emitted(&c->chk, r->id, r->signed_ring[i].kind, r->signed_ring[i].payload,
                          r->signed_ring[i].len);
        r->signed_ring[i].left = true; /* recorded: a re-send of it changes nothing */
    }
}

/* The driver's send callback: the network, through a Byzantine slot's hooks. */
void sim_replica_send(void *ctx, int to, const uint8_t *bytes, size_t len)
{
    struct sim_replica *r = ctx;
    struct sim_cluster *c = r->c;
    struct pbft_out_msg m = { .to = to, .bytes = bytes, .len = len };
    pbft_msg_peek(bytes, len, &m.kind, NULL, &m.height, &m.view);
    note_emitted(c, r, bytes, len);
    if (r->byz && sim_byz_outgoing(c, r, &m))
        return;
    if (to != PBFT_BROADCAST) {
        sim_cluster_send_to(c, r->slot, to, bytes, len);
        return;
    }
    for (int id = 0; id < c->n; id++) {
        if (id != r->id)
            sim_cluster_send_to(c, r->slot, id, bytes, len);
    }
}

/* After every driver call: its return, its timer, and a sync it wants. */
static void after(struct sim_cluster *c, struct sim_replica *r, int rc, const char *what)
{
    if (rc == LEDGER_E_FATAL && r->chain_failed) {
        /* Fail-stop: the node stops, as sealchaind exits; its durable state stays. */
        sim_trace(c->trace, c->now, r->slot, "FAIL-STOP: %s", node_driver_errmsg(r->drv));
        c->st.fail_stops++;
        sim_cluster_crash(c, r->slot);
        return;
    }
    if (rc != 0 && r->drv != NULL) {
        sim_check_fail(&c->chk, SIM_V_CORE_ERROR, "slot %d: driver %s = %s: %s", r->slot, what,
                       ledger_strerror(rc), node_driver_errmsg(r->drv));
        return;
    }
    uint64_t deadline = node_driver_deadline(r->drv);
    if (deadline != r->deadline) {
        r->deadline = deadline;
        /* A deadline in the past still fires strictly later, so virtual time advances. */
        uint64_t clock = sim_replica_clock(r);
        if (deadline != 0)
            push(c, r, SIM_EV_TIMER, deadline > clock ? deadline - clock : 1, deadline);
    }
    uint64_t height;
    unsigned peer;
    if (!r->sync_queued && c->now >= r->sync_retry_at &&
        node_driver_behind(r->drv, &height, &peer)) {
        sim_trace(c->trace, c->now, r->slot, "behind: h=%llu certified, peer %u",
                  (unsigned long long)height, peer);
        r->sync_queued = true;
        push(c, r, SIM_EV_SYNC, 5 + sim_rng_below(&c->rng, 20), height);
    }
}

void sim_replica_boot(struct sim_cluster *c, struct sim_replica *r)
{
    char err[256] = "";
    struct node_driver_config cfg = {
        .self = (unsigned)r->id,
        .chain = &r->chain,
        .n = (unsigned)c->n,
        .send = sim_replica_send,
        .send_ctx = r,
        .clock_skew_ms = c->tm.delta,
        .progress_timeout_ms = c->tm.progress,
        .view_change_timeout_ms = c->tm.view_change,
        .view_change_max_ms = c->tm.view_change_max,
        .request_timeout_ms = c->tm.request,
        .resend_ms = c->tm.resend,
        .block_txs = SIM_BLOCK_MAX_TX,
        .mempool_max_txs = SIM_POOL_MAX,
        .max_payload = SIM_BLOCK_MAX_LEN,
        .trace = c->trace_core ? sim_replica_trace : NULL,
        .trace_ctx = r,
    };
    r->chain = sim_chain_for(r);
    r->up = true;
    r->deadline = 0;
    r->sync_queued = false;
    r->sync_retry_at = 0;
    r->chain_failed = false;
    /* A new core numbers its snapshots from 1 again; the durable bytes stay until replaced. */
    r->durable_seq = 0;
    int rc = node_driver_new(&cfg, sim_replica_clock(r), &r->drv, err, sizeof(err));
    if (rc != 0) {
        sim_check_fail(&c->chk, SIM_V_CORE_ERROR, "node_driver_new slot %d: %s", r->slot, err);
        r->up = false;
        return;
    }
    after(c, r, 0, "start");
}

void sim_replica_trace(void *ctx, uint64_t now, unsigned self, const char *line)
{
    struct sim_replica *r = ctx;
    (void)now, (void)self;
    sim_trace(r->c->trace, r->c->now, r->slot, "%s", line);
}

static void ev_persisted(struct sim_cluster *c, struct sim_replica *r, const struct sim_event *ev)
{
    sim_trace(c->trace, c->now, r->slot, "chain: snapshot seq %llu durable",
              (unsigned long long)ev->arg);
    if (ev->arg > r->durable_seq) {
        unsigned char *p = realloc(r->durable, ev->blob->len ? ev->blob->len : 1);
        if (p == NULL)
            abort();
        memcpy(p, ev->blob->data, ev->blob->len);
        r->durable = p;
        r->durable_len = ev->blob->len;
        r->durable_seq = ev->arg;
    }
    after(c, r, node_driver_persisted(r->drv, ev->arg, sim_replica_clock(r)), "persisted");
}

/* Fetches certified blocks up to `height` from the record of honest commits (what a peer
 * serves), each checked as a syncing node would, then hands over to the driver. */
static void ev_sync(struct sim_cluster *c, struct sim_replica *r, uint64_t height)
{
    uint64_t target = height < c->chk.max_height ? height : c->chk.max_height;
    bool applied = false;
    char why[160];
    r->sync_queued = false;
    while (r->node.height < target) {
        const struct sim_commit *rec = &c->chk.h[r->node.height + 1];
        unsigned char d[SIM_DIGEST_LEN];
        if (!rec->set || sim_check_cert(&c->chk, &rec->cert, why, sizeof(why)) != 0)
            break;
        sim_block_digest(rec->payload, rec->len, d);
        if (memcmp(d, rec->cert.digest, SIM_DIGEST_LEN) != 0 ||
            sim_node_validate(&r->node, rec->payload, rec->len) != SIM_VALID)
            break;
        sim_node_apply(&r->node, rec->payload, rec->len);
        r->tip_cert = rec->cert;
        applied = true;
    }
    if (!applied) {
        r->sync_retry_at = c->now + SYNC_RETRY_MS;
        return;
    }
    c->st.syncs++;
    sim_trace(c->trace, c->now, r->slot, "chain: synced to h=%llu",
              (unsigned long long)r->node.height);
    after(c, r, node_driver_synced(r->drv, sim_replica_clock(r)), "synced");
}

static void ev_tick(struct sim_cluster *c, struct sim_replica *r)
{
    push(c, r, SIM_EV_TICK, 200, 0);
    if (!r->up)
        return;
    after(c, r, node_driver_tick(r->drv, sim_replica_clock(r)), "tick");
}

static void ev_client_tx(struct sim_cluster *c, struct sim_replica *r, uint64_t tx)
{
    uint8_t bytes[8];
    char why[160];
    if (!r->up || sim_cluster_tx_committed(c, tx))
        return;
    for (int i = 0; i < 8; i++)
        bytes[i] = (uint8_t)(tx >> (8 * i));
    int rc = node_driver_submit(r->drv, bytes, sizeof(bytes), sim_replica_clock(r), NULL, why,
                                sizeof(why));
    /* Refusals (held already, committed, censored, mempool full) are the mempool's business. */
    after(c, r, rc == LEDGER_E_FATAL ? rc : 0, "submit");
}

/* Client load ticks this often when a mix sets a rate. */
#define LOAD_TICK_MS 10

static void ev_client(struct sim_cluster *c)
{
    uint64_t gap = 1 + sim_rng_below(&c->rng, 2 * c->tm.tx_every);
    if (c->mix->tx_per_s != 0) {
        /* A batch every tick, its size drawn around the rate: load near a chain's capacity. */
        uint64_t mean = (uint64_t)c->mix->tx_per_s * LOAD_TICK_MS / 1000;
        uint64_t k = mean / 2 + sim_rng_below(&c->rng, mean + 1);
        for (uint64_t i = 0; i < k && !c->stop_clients; i++)
            sim_cluster_submit(c);
        gap = LOAD_TICK_MS;
    } else if (!c->stop_clients) {
        sim_cluster_submit(c);
    }
    struct sim_event ev = { .at = c->now + gap, .kind = SIM_EV_CLIENT, .to = -1 };
    sim_queue_push(&c->q_ev, &ev);
}

static void ev_msg(struct sim_cluster *c, struct sim_replica *r, const struct sim_event *ev)
{
    if (r->byz)
        sim_byz_heard(c, r, ev->blob->data, ev->blob->len);
    if (r->byz && sim_byz_deaf(c, r, ev->blob->data, ev->blob->len))
        return;
    int rc = node_driver_receive(r->drv, (unsigned)c->r[ev->from].id, ev->blob->data, ev->blob->len,
                                 sim_replica_clock(r));
    after(c, r, rc, "receive");
}

static void ev_timer(struct sim_cluster *c, struct sim_replica *r, uint64_t deadline)
{
    if (deadline != r->deadline)
        return; /* superseded by a newer deadline */
    after(c, r, node_driver_tick(r->drv, sim_replica_clock(r)), "tick");
}

void sim_replica_dispatch(struct sim_cluster *c, const struct sim_event *ev)
{
    if (ev->kind == SIM_EV_CLIENT) {
        ev_client(c);
        return;
    }
    struct sim_replica *r = &c->r[ev->to];
    if (ev->kind == SIM_EV_TICK) {
        ev_tick(c, r);
        return;
    }
    bool local = ev->kind != SIM_EV_MSG && ev->kind != SIM_EV_CLIENT_TX && ev->kind != SIM_EV_BYZ;
    if (local && (ev->epoch != r->epoch || !r->up)) {
        /* Belongs to an incarnation that crashed: an fsync it waited for never completed. */
        c->st.lost_persists += ev->kind == SIM_EV_PERSISTED;
        return;
    }
    if (!r->up || r->drv == NULL)
        return;
    switch (ev->kind) {
    case SIM_EV_MSG:
        ev_msg(c, r, ev);
        break;
    case SIM_EV_TIMER:
        ev_timer(c, r, ev->arg);
        break;
    case SIM_EV_PERSISTED:
        ev_persisted(c, r, ev);
        break;
    case SIM_EV_CLIENT_TX:
        ev_client_tx(c, r, ev->arg);
        break;
    case SIM_EV_BYZ:
        sim_byz_act(c, r, ev->arg);
        break;
    case SIM_EV_SYNC:
        ev_sync(c, r, ev->arg);
        break;
    case SIM_EV_FAULT:
        if (c->healed)
            break;
        sim_trace(c->trace, c->now, r->slot, "crash before the requested snapshot is durable");
        sim_cluster_crash(c, r->slot);
        break;
    default:
        break;
    }
}
