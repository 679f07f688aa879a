/* The caller of each replica: carries out updates (commit, persist, send, validate, propose, sync).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/replica.h"

/* Header of a SIM_EV_VERDICT blob in front of the block payload. */
#define VHDR (8 + 8 + SIM_DIGEST_LEN + 1)

static void push(struct sim_cluster *c, struct sim_replica *r, enum sim_ev_kind kind,
                 uint64_t delay, uint64_t arg, struct sim_blob *blob)
{
    struct sim_event ev = { .at = c->now + delay,
                            .kind = kind,
                            .to = r->slot,
                            .epoch = r->epoch,
                            .arg = arg,
                            .blob = blob };
    sim_queue_push(&c->q_ev, &ev);
}

static struct sim_blob *blob_or_die(const void *p, size_t len)
{
    struct sim_blob *b = sim_blob_new(p, len);
    if (b == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        abort();
    }
    return b;
}

static void pending_remove(struct sim_cluster *c, uint64_t tx)
{
    for (size_t i = 0; i < c->npending; i++) {
        if (c->pending[i] == tx) {
            c->pending[i] = c->pending[--c->npending];
            return;
        }
    }
}

static void on_commit(struct sim_cluster *c, struct sim_replica *r, const struct pbft_update *up)
{
    const struct pbft_cert *cert = up->committed.cert;
    char d[9];
    sim_digest_hex(cert->digest, d);
    sim_trace(c->trace, c->now, r->slot, "COMMIT h=%llu v=%llu %s (%u sigs)",
              (unsigned long long)cert->height, (unsigned long long)cert->view, d, cert->count);
    sim_check_commit(&c->chk, r->slot, r->id, cert, up->committed.payload,
                     up->committed.payload_len);
    if (cert->height <= r->node.height)
        return; /* already applied through a sync */
    if (cert->height != r->node.height + 1) {
        sim_check_fail(&c->chk, SIM_V_CORE_ERROR, "slot %d committed h=%llu on applied tip %llu",
                       r->slot, (unsigned long long)cert->height,
                       (unsigned long long)r->node.height);
        return;
    }
    sim_node_apply(&r->node, up->committed.payload, up->committed.payload_len, c->now, true);
    r->tip_cert = *cert;
    if (r->byz || r->twin)
        return;
    struct sim_block b;
    if (sim_block_decode(up->committed.payload, up->committed.payload_len, &b) != 0)
        return;
    for (uint32_t i = 0; i < b.ntx; i++) {
        pending_remove(c, b.tx[i]);
        if (b.tx[i] == c->censored_tx && c->censored_tx != 0 && !c->censor_done) {
            c->censor_done = true;
            sim_trace(c->trace, c->now, r->slot, "censored tx %llu committed at h=%llu",
                      (unsigned long long)sim_tx_seq(b.tx[i]), (unsigned long long)b.height);
        }
    }
}

static void on_persist(struct sim_cluster *c, struct sim_replica *r, const struct pbft_update *up)
{
    uint64_t lag = c->mix->persist_max ? sim_rng_below(&c->rng, c->mix->persist_max + 1) : 0;
    if (r->crash_on_persist) {
        /* Pushed first, so it pops before the fsync completes even when lag is 0. */
        r->crash_on_persist = false;
        push(c, r, SIM_EV_FAULT, lag / 2, 0, NULL);
    }
    push(c, r, SIM_EV_PERSISTED, lag, up->persist.seq,
         blob_or_die(up->persist.bytes, up->persist.len));
}

/* Records the signatures of r's own votes that this message carries (they now left). */
static void note_emitted(struct sim_cluster *c, struct sim_replica *r, const uint8_t *bytes,
                         size_t len)
{
    for (unsigned i = 0; i < 16; i++) {
        if (r->signed_ring[i].kind == 0)
            continue;
        if (memmem(bytes, len, r->signed_ring[i].sig, PBFT_SIG_SIZE) != NULL)
            sim_check_emitted(&c->chk, r->id, r->signed_ring[i].kind, r->signed_ring[i].payload);
    }
}

static void on_msg(struct sim_cluster *c, struct sim_replica *r, const struct pbft_out_msg *m)
{
    note_emitted(c, r, m->bytes, m->len);
    if (r->byz && sim_byz_outgoing(c, r, m))
        return;
    if (m->to != PBFT_BROADCAST) {
        sim_cluster_send_to(c, r->slot, m->to, m->bytes, m->len);
        return;
    }
    for (int id = 0; id < c->n; id++) {
        if (id != r->id)
            sim_cluster_send_to(c, r->slot, id, m->bytes, m->len);
    }
}

static void on_validate(struct sim_cluster *c, struct sim_replica *r, const struct pbft_update *up)
{
    size_t len = up->validate.payload_len;
    unsigned char *buf = malloc(VHDR + len);
    if (buf == NULL)
        abort();
    memcpy(buf, &up->validate.height, 8);
    memcpy(buf + 8, &up->validate.view, 8);
    memcpy(buf + 16, up->validate.digest, SIM_DIGEST_LEN);
    buf[16 + SIM_DIGEST_LEN] = up->validate.reproposal;
    memcpy(buf + VHDR, up->validate.payload, len);
    struct sim_blob *b = blob_or_die(buf, VHDR + len);
    free(buf);
    push(c, r, SIM_EV_VERDICT, 1 + sim_rng_below(&c->rng, 3), 0, b);
}

static void maybe_propose(struct sim_cluster *c, struct sim_replica *r)
{
    if (!r->up || !r->want_propose || r->proposing || r->node.npool == 0 ||
        r->node.height + 1 != r->prop_height)
        return;
    r->proposing = true;
    push(c, r, SIM_EV_PROPOSE, 1 + sim_rng_below(&c->rng, 3), 0, NULL);
}

static void on_deadline(struct sim_cluster *c, struct sim_replica *r, uint64_t deadline)
{
    if (deadline == r->deadline)
        return;
    r->deadline = deadline;
    if (deadline == 0)
        return;
    /* A deadline in the past still fires strictly later, so virtual time always advances. */
    uint64_t at = deadline > c->now ? deadline : c->now + 1;
    push(c, r, SIM_EV_TIMER, at - c->now, deadline, NULL);
}

static void handle_update(struct sim_cluster *c, struct sim_replica *r,
                          const struct pbft_update *up)
{
    if (up->has_committed)
        on_commit(c, r, up);
    if (up->has_persist)
        on_persist(c, r, up);
    for (unsigned i = 0; i < up->n_msgs && i < PBFT_MAX_OUT; i++)
        on_msg(c, r, &up->msgs[i]);
    if (up->has_validate)
        on_validate(c, r, up);
    if (up->has_propose) {
        r->want_propose = true;
        r->prop_height = up->propose.height;
        r->prop_view = up->propose.view;
        maybe_propose(c, r);
    }
    if (up->has_behind) {
        sim_trace(c->trace, c->now, r->slot, "behind: h=%llu certified, peer %u",
                  (unsigned long long)up->behind.height, up->behind.peer);
        push(c, r, SIM_EV_SYNC, 5 + sim_rng_below(&c->rng, 20), up->behind.height, NULL);
    }
    on_deadline(c, r, up->deadline);
}

void sim_replica_step(struct sim_cluster *c, struct sim_replica *r, struct pbft_event *ev)
{
    struct pbft_update up;
    if (!r->up || r->core == NULL)
        return;
    ev->now = c->now;
    int rc = pbft_step(r->core, ev, &up);
    if (rc != 0)
        sim_check_fail(&c->chk, SIM_V_CORE_ERROR, "slot %d: pbft_step(event %d) = %s: %s", r->slot,
                       (int)ev->type, pbft_strerror(rc), pbft_errmsg(r->core));
    handle_update(c, r, &up);
}

static void ev_persisted(struct sim_cluster *c, struct sim_replica *r, const struct sim_event *ev)
{
    sim_trace(c->trace, c->now, r->slot, "caller: snapshot seq %llu durable",
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
    struct pbft_event pe = { .type = PBFT_EV_PERSISTED };
    pe.persisted.seq = ev->arg;
    sim_replica_step(c, r, &pe);
}

static void ev_verdict(struct sim_cluster *c, struct sim_replica *r, const struct sim_event *ev)
{
    const unsigned char *p = ev->blob->data;
    struct pbft_event pe = { .type = PBFT_EV_VALIDATED };
    memcpy(&pe.validated.height, p, 8);
    memcpy(pe.validated.digest, p + 16, SIM_DIGEST_LEN);
    enum sim_verdict v = sim_node_validate(&r->node, c->now, p + VHDR, ev->blob->len - VHDR, p + 16,
                                           p[16 + SIM_DIGEST_LEN], c->tm.delta);
    pe.validated.ok = v == SIM_VALID;
    if (pe.validated.ok && !r->byz && !r->twin)
        sim_check_valid(&c->chk, p + 16);
    char d[9];
    sim_digest_hex(p + 16, d);
    sim_trace(c->trace, c->now, r->slot, "caller: block h=%llu %s %s%s",
              (unsigned long long)pe.validated.height, d, sim_verdict_str(v),
              p[16 + SIM_DIGEST_LEN] ? " (re-proposal)" : "");
    sim_replica_step(c, r, &pe);
}

static void ev_propose(struct sim_cluster *c, struct sim_replica *r)
{
    unsigned char buf[SIM_BLOCK_MAX_LEN];
    r->proposing = false;
    if (!r->want_propose || r->node.height + 1 != r->prop_height)
        return;
    r->want_propose = false;
    if (r->byz && (r->byz_kinds & SIM_BYZ_CENSOR))
        r->node.censor_tx = c->censored_tx;
    size_t len = sim_node_build(&r->node, c->now, (uint32_t)r->id, buf);
    struct pbft_event pe = { .type = PBFT_EV_PROPOSAL };
    pe.proposal.height = r->prop_height;
    sim_block_digest(buf, len, pe.proposal.digest);
    pe.proposal.payload = buf;
    pe.proposal.payload_len = len;
    if (!r->byz && !r->twin)
        sim_check_valid(&c->chk, pe.proposal.digest);
    if (r->byz && (r->byz_kinds & SIM_BYZ_EQUIVOCATE))
        sim_byz_proposed(c, r, r->prop_height, r->prop_view, buf, len);
    sim_replica_step(c, r, &pe);
}

static void ev_sync(struct sim_cluster *c, struct sim_replica *r, uint64_t height)
{
    uint64_t target = height < c->chk.max_height ? height : c->chk.max_height;
    const struct pbft_cert *last = NULL;
    char why[160];
    while (r->node.height < target) {
        const struct sim_commit *rec = &c->chk.h[r->node.height + 1];
        if (!rec->set || sim_check_cert(&c->chk, &rec->cert, why, sizeof(why)) != 0)
            break;
        if (sim_node_validate(&r->node, c->now, rec->payload, rec->len, rec->cert.digest, true,
                              0) != SIM_VALID)
            break;
        sim_node_apply(&r->node, rec->payload, rec->len, c->now, false);
        r->tip_cert = rec->cert;
        last = &rec->cert;
    }
    if (last == NULL)
        return;
    c->st.syncs++;
    sim_trace(c->trace, c->now, r->slot, "caller: synced to h=%llu", (unsigned long long)target);
    struct pbft_event pe = { .type = PBFT_EV_SYNCED };
    pe.synced.cert = last;
    sim_replica_step(c, r, &pe);
}

static void ev_tick(struct sim_cluster *c, struct sim_replica *r)
{
    uint64_t tx;
    push(c, r, SIM_EV_TICK, 200, 0, NULL);
    if (!r->up)
        return;
    maybe_propose(c, r);
    bool censor = r->byz && (r->byz_kinds & SIM_BYZ_CENSOR);
    if (!censor && sim_node_overdue(&r->node, c->now, &tx)) {
        struct pbft_event pe = { .type = PBFT_EV_REQUEST_OVERDUE };
        r->overdue_reports++;
        sim_replica_step(c, r, &pe);
    }
}

static void ev_client_tx(struct sim_cluster *c, struct sim_replica *r, uint64_t tx)
{
    if (!r->up || sim_cluster_tx_committed(c, tx))
        return;
    sim_node_add_tx(&r->node, tx, c->now);
    maybe_propose(c, r);
}

static void ev_client(struct sim_cluster *c)
{
    if (!c->stop_clients)
        sim_cluster_submit(c);
    struct sim_event ev = { .at = c->now + 1 + sim_rng_below(&c->rng, 2 * c->tm.tx_every),
                            .kind = SIM_EV_CLIENT,
                            .to = -1 };
    sim_queue_push(&c->q_ev, &ev);
}

static void ev_msg(struct sim_cluster *c, struct sim_replica *r, const struct sim_event *ev)
{
    if (r->byz && sim_byz_deaf(c, r, ev->blob->data, ev->blob->len))
        return;
    struct pbft_event pe = { .type = PBFT_EV_RECEIVE };
    pe.receive.from = (unsigned)c->r[ev->from].id;
    pe.receive.bytes = ev->blob->data;
    pe.receive.len = ev->blob->len;
    sim_replica_step(c, r, &pe);
}

static void ev_timer(struct sim_cluster *c, struct sim_replica *r, uint64_t deadline)
{
    if (deadline != r->deadline)
        return; /* superseded by a newer deadline */
    r->deadline = 0;
    struct pbft_event pe = { .type = PBFT_EV_TIMEOUT };
    sim_replica_step(c, r, &pe);
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
    if (!r->up)
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
    case SIM_EV_VERDICT:
        ev_verdict(c, r, ev);
        break;
    case SIM_EV_PROPOSE:
        ev_propose(c, r);
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
