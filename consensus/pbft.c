/* PBFT core entry points: lifecycle, pbft_step dispatch, own-message release, timers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/internal.h"

#define PBFT_ERR_STR(name, text) [name] = text,
static const char *const err_text[] = { PBFT_ERRORS(PBFT_ERR_STR) };
#undef PBFT_ERR_STR

const char *pbft_strerror(int err)
{
    if (err < 0 || err >= PBFT_ERR_COUNT) {
        return "unknown error";
    }
    return err_text[err];
}

/* Defaults: see pbft_config; each is a few network round trips on a LAN/WAN consortium. */
static void apply_defaults(struct pbft_config *c)
{
    if (c->max_payload == 0) {
        c->max_payload = 1u << 20;
    }
    if (c->progress_timeout_ms == 0) {
        c->progress_timeout_ms = 2000;
    }
    if (c->view_change_timeout_ms == 0) {
        c->view_change_timeout_ms = 2000;
    }
    if (c->view_change_max_ms == 0) {
        c->view_change_max_ms = 30000;
    }
    if (c->request_timeout_ms == 0) {
        c->request_timeout_ms = 4000;
    }
    if (c->resend_ms == 0) {
        c->resend_ms = 500;
    }
}

int pbft_new(const struct pbft_config *cfg, struct pbft **out)
{
    if (cfg == NULL || out == NULL || cfg->n == 0 || cfg->n > PBFT_MAX_N || cfg->self >= cfg->n ||
        cfg->crypto.sign == NULL || cfg->crypto.verify == NULL ||
        cfg->max_payload > PBFT_MAX_PAYLOAD_LIMIT) {
        return PBFT_ERR_CONFIG;
    }
    struct pbft *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return PBFT_ERR_NOMEM;
    }
    r->cfg = *cfg;
    apply_defaults(&r->cfg);
    r->n = cfg->n;
    r->f = pbft_faults(cfg->n);
    r->q = pbft_quorum(cfg->n);
    r->height = 1;
    r->fresh_from = 1;
    *out = r;
    return 0;
}

/* Frees what the last update pointed to. */
static void release_update(struct pbft *r)
{
    for (unsigned i = 0; i < PBFT_MAX_OUT; i++) {
        free(r->out_bufs[i]);
        r->out_bufs[i] = NULL;
    }
    free(r->persist_buf);
    r->persist_buf = NULL;
    free(r->committed_payload);
    r->committed_payload = NULL;
    free(r->validate_payload);
    r->validate_payload = NULL;
}

void pbft_free(struct pbft *r)
{
    if (r == NULL) {
        return;
    }
    release_update(r);
    free(r->acc_payload);
    free(r->p_payload);
    free(r->nv_bytes);
    pbft__drop_ahead(r);
    pbft__drop_reproposal(r);
    for (unsigned i = 0; i < PBFT_MAX_N; i++) {
        pbft__free_vc(r->vcs[i]);
    }
    free(r);
}

const char *pbft_errmsg(const struct pbft *r)
{
    return r->errmsg;
}

void pbft_get_stats(const struct pbft *r, struct pbft_stats *out)
{
    *out = r->stats;
    out->view = r->view;
    out->height = r->height;
    out->status = r->status;
    out->ahead_preprepares = out->ahead_bytes = out->ahead_commits = 0;
    for (unsigned i = 0; i < PBFT_AHEAD; i++) {
        const struct pbft__ahead *a = &r->ahead[i]; /* what is held, passed heights too */
        out->ahead_preprepares += a->pp_set ? 1 : 0;
        out->ahead_bytes += a->pp_set ? a->len : 0;
        for (unsigned j = 0; j < r->n; j++) {
            out->ahead_commits += a->commits[j].has ? 1 : 0;
        }
    }
}

void pbft__trace(struct pbft *r, const char *fmt, ...)
{
    char line[256];
    va_list ap;

    if (r->cfg.trace == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    r->cfg.trace(r->cfg.trace_ctx, r->now, r->cfg.self, line);
}

int pbft__fail(struct pbft *r, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
    va_end(ap);
    return err;
}

unsigned pbft__primary(const struct pbft *r, uint64_t view)
{
    return (unsigned)(view % r->n);
}

bool pbft__block_ok(const struct pbft *r, const uint8_t digest[PBFT_DIGEST_SIZE],
                    const uint8_t *block, size_t len)
{
    const struct pbft_crypto *c = &r->cfg.crypto;
    return c->block_ok == NULL || c->block_ok(c->ctx, digest, block, len);
}

uint8_t *pbft__dup(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len > 0 ? len : 1);
    if (c != NULL && len > 0) {
        memcpy(c, p, len);
    }
    return c;
}

void pbft__send(struct pbft *r, int to, int kind, uint64_t height, uint64_t view, uint8_t *bytes,
                size_t len)
{
    struct pbft_update *up = r->up;

    if (bytes == NULL) {
        return;
    }
    /* n = 1 has nobody to talk to. A full outbox drops: retransmission recovers. */
    if ((to == PBFT_BROADCAST && r->n == 1) || up->n_msgs >= PBFT_MAX_OUT) {
        free(bytes);
        return;
    }
    r->out_bufs[up->n_msgs] = bytes;
    up->msgs[up->n_msgs] = (struct pbft_out_msg){
        .to = to, .kind = kind, .height = height, .view = view, .bytes = bytes, .len = len
    };
    up->n_msgs++;
}

void pbft__own_create(struct pbft *r, struct pbft__own *o)
{
    o->live = true;
    o->sent = false;
    o->need_seq = r->persist_seq + 1;
    r->dirty = true;
}

/*
 * Timeouts double with each view change since the last commit, capped.
 * Castro & Liskov, OSDI '99, 4.5.2: "If the timer expires before it receives
 * a valid new-view message for v+1 or before it executes a request in the new
 * view that it had not executed previously, it starts the view change for
 * view v+2 but this time it will wait 2T". vc_attempts counts every view
 * change started since the last commit (pbft__start_view_change), so the
 * first view change waits T and a view whose NEW-VIEW came but which committed
 * nothing makes the next one wait 2T, whichever timer (progress, request or
 * view change) ended it. Counting only view-change timer expiries let a
 * cluster whose blocks take longer than T to commit change view every T
 * forever (test_pbft_review).
 */
static uint64_t backoff(const struct pbft *r, uint64_t base)
{
    uint64_t t = base;
    for (unsigned i = 1; i < r->vc_attempts && t < r->cfg.view_change_max_ms; i++) {
        t *= 2;
    }
    return t < r->cfg.view_change_max_ms ? t : r->cfg.view_change_max_ms;
}

void pbft__work_known(struct pbft *r)
{
    if (r->status == PBFT_STATUS_NORMAL && r->progress_at == 0) {
        r->progress_at = r->now + backoff(r, r->cfg.progress_timeout_ms);
    }
}

void pbft__vc_timer(struct pbft *r)
{
    /*
     * "To avoid starting a view change too soon, a replica that multicasts a
     * VIEW-CHANGE message for view v+1 waits for 2f+1 VIEW-CHANGE messages for
     * view v+1 and then starts its timer to expire after some time T. If the
     * timer expires before it receives a valid NEW-VIEW message for v+1 ... it
     * starts the view change for view v+2 but this time it will wait 2T."
     * (Castro & Liskov, OSDI '99, 4.5.2). A partitioned replica thus stays in
     * v+1 instead of racing alone to huge views.
     *
     * A VIEW-CHANGE for a higher view counts too: its sender has left our view
     * as well, and we keep only its latest one. Without that, two replicas in
     * v+1 and one already in v+2 wait for each other forever (found by the
     * simulator, seed 2920 of the chaos mix).
     */
    unsigned support = 0;
    for (unsigned i = 0; i < r->n; i++) {
        if (r->vcs[i] != NULL && r->vcs[i]->view >= r->view) {
            support++;
        }
    }
    if (r->status == PBFT_STATUS_VIEW_CHANGE && r->vc_at == 0 && support >= r->q) {
        r->vc_at = r->now + backoff(r, r->cfg.view_change_timeout_ms);
    }
}

void pbft__reset_height(struct pbft *r, uint64_t h)
{
    /* A validation asked for earlier in this step is for a height now left behind. */
    if (r->up != NULL && r->up->has_validate && r->up->validate.height < h) {
        r->up->has_validate = false;
        r->up->validate.payload = NULL;
    }
    r->height = h;
    r->acc = false;
    free(r->acc_payload);
    r->acc_payload = NULL;
    r->acc_len = 0;
    r->pp_signed = false;
    r->pp_resend = false;
    memset(&r->my_prepare, 0, sizeof(r->my_prepare));
    memset(&r->my_commit, 0, sizeof(r->my_commit));
    r->prepared = false;
    free(r->p_payload);
    r->p_payload = NULL;
    r->p_len = 0;
    r->validated = 0;
    r->ok_known = false;
    r->propose_wanted = false;
    memset(r->prepares, 0, sizeof(r->prepares));
    memset(r->commits, 0, sizeof(r->commits));
    r->own_pp.live = r->own_prepare.live = r->own_commit.live = r->own_nv.live = false;
    r->progress_at = 0;
    r->overdue = false;
}

void pbft__enter_view(struct pbft *r, uint64_t v)
{
    if (v != r->view || r->status != PBFT_STATUS_NORMAL) {
        pbft__trace(r, "enter view v=%llu h=%llu", (unsigned long long)v,
                    (unsigned long long)r->height);
    }
    if (v != r->view) {
        r->own_pp.live = r->own_prepare.live = r->own_commit.live = false;
        r->propose_wanted = false;
    }
    if (v != r->nv_view) {
        r->own_nv.live = false;
    }
    r->view = v;
    r->fresh_from = r->height;
    r->status = PBFT_STATUS_NORMAL;
    r->view_entered_at = r->now;
    r->vc_at = 0;
    r->progress_at = 0;
    r->overdue = false;
    r->vc_signed = false;
    r->own_vc.live = false;
    r->dirty = true;
    for (unsigned i = 0; i < r->n; i++) {
        if (r->vcs[i] != NULL && r->vcs[i]->view <= v) {
            pbft__free_vc(r->vcs[i]);
            r->vcs[i] = NULL;
        }
    }
}

/* Sends own messages whose snapshot is durable; counts my own votes once they could leave. */
static bool release_own(struct pbft *r)
{
    bool any = false;
    struct pbft__own *o;

#define READY(o) ((o)->live && !(o)->sent && (o)->need_seq <= r->durable_seq)
    o = &r->own_pp;
    if (READY(o)) {
        o->sent = any = true;
        pbft__send_preprepare(r);
        r->pp_resend = true;
    }
    o = &r->own_prepare;
    if (READY(o)) {
        o->sent = any = true;
        r->prepares[r->cfg.self] = r->my_prepare;
        pbft__send_vote(r, PBFT_MSG_PREPARE, &r->my_prepare);
    }
    o = &r->own_commit;
    if (READY(o)) {
        o->sent = any = true;
        r->commits[r->cfg.self] = r->my_commit;
        pbft__send_vote(r, PBFT_MSG_COMMIT, &r->my_commit);
    }
    o = &r->own_vc;
    if (READY(o)) {
        o->sent = any = true;
        pbft__send_vc(r);
    }
    o = &r->own_nv;
    if (READY(o)) {
        o->sent = any = true;
        pbft__send(r, PBFT_BROADCAST, PBFT_MSG_NEWVIEW, r->nv_base, r->nv_view,
                   pbft__dup(r->nv_bytes, r->nv_len), r->nv_len);
    }
#undef READY
    return any;
}

static bool in_flight(const struct pbft *r)
{
    return r->own_pp.live || r->own_prepare.live || r->own_commit.live || r->own_vc.live ||
           r->own_nv.live;
}

static void resend(struct pbft *r)
{
    r->own_pp.sent = r->own_prepare.sent = r->own_commit.sent = false;
    r->own_vc.sent = r->own_nv.sent = false;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    if (a == 0) {
        return b;
    }
    if (b == 0) {
        return a;
    }
    return a < b ? a : b;
}

/* Runs the protocol rules to a fixed point, then writes the snapshot and the deadline. */
static int settle(struct pbft *r)
{
    struct pbft_update *up = r->up;
    int rv = 0;

    for (int i = 0; i < 8; i++) {
        bool released = release_own(r);
        rv = pbft__advance(r);
        if (rv != 0) {
            break;
        }
        pbft__check_commit(r);
        pbft__vc_timer(r);
        rv = pbft__maybe_new_view(r);
        if (rv != 0) {
            break;
        }
        pbft__want_proposal(r);
        if (!released) {
            break;
        }
    }
    if (r->dirty) {
        size_t len;
        uint8_t *snap = pbft__snapshot_encode(r, &len);
        if (snap == NULL) {
            return PBFT_ERR_NOMEM;
        }
        r->dirty = false;
        r->persist_seq++;
        r->persist_buf = snap;
        up->has_persist = true;
        up->persist.seq = r->persist_seq;
        up->persist.bytes = snap;
        up->persist.len = len;
    }
    if (!in_flight(r)) {
        r->resend_at = 0;
    } else if (r->resend_at == 0) {
        r->resend_at = r->now + r->cfg.resend_ms;
    }
    up->deadline = earliest(earliest(r->progress_at, r->vc_at), r->resend_at);
    if (r->overdue && r->status == PBFT_STATUS_NORMAL) {
        up->deadline = earliest(up->deadline, r->overdue_at);
    }
    return rv;
}

static int on_start(struct pbft *r, const struct pbft_event *ev)
{
    uint64_t committed = ev->start.committed_height;

    if (ev->start.last_cert != NULL) {
        if (ev->start.last_cert->height != committed ||
            pbft_cert_verify(&r->cfg.crypto, r->n, ev->start.last_cert) != 0) {
            return pbft__fail(r, PBFT_ERR_EVENT, "start: last_cert does not certify height %llu",
                              (unsigned long long)committed);
        }
        r->last_cert = *ev->start.last_cert;
    }
    r->height = committed + 1;
    r->view_entered_at = ev->now;
    if (ev->start.snapshot != NULL && ev->start.snapshot_len > 0) {
        int rv = pbft__snapshot_decode(r, ev->start.snapshot, ev->start.snapshot_len);
        if (rv != 0) {
            return rv;
        }
    }
    if (committed > 0 && r->last_cert.height != committed) {
        return pbft__fail(r, PBFT_ERR_EVENT, "start: no certificate for committed height %llu",
                          (unsigned long long)committed);
    }
    r->started = true;
    pbft__trace(r, "start v=%llu h=%llu %s", (unsigned long long)r->view,
                (unsigned long long)r->height,
                r->status == PBFT_STATUS_NORMAL ? "normal" : "view-change");
    if (r->acc && r->validated == 0) {
        pbft__accept(r, r->acc_view, r->acc_digest, r->acc_payload, r->acc_len, r->acc_proposer,
                     r->acc_reproposal);
    }
    if (r->status == PBFT_STATUS_VIEW_CHANGE) {
        return pbft__start_view_change(r, r->view);
    }
    return 0;
}

static int on_receive(struct pbft *r, const struct pbft_event *ev)
{
    struct pbft__msg m;
    unsigned from = ev->receive.from;

    if (from >= r->n || from == r->cfg.self ||
        pbft__msg_decode(r, ev->receive.bytes, ev->receive.len, &m) != 0) {
        r->stats.dropped_malformed++;
        pbft__trace(r, "drop malformed message from %u (%zu bytes)", from, ev->receive.len);
        return 0;
    }
    if (m.sender != from) {
        r->stats.dropped_malformed++;
        pbft__trace(r, "drop %s: sender %u on the link of %u", pbft_msg_kind_str(m.kind), m.sender,
                    from);
        pbft__msg_release(&m);
        return 0;
    }
    pbft__trace(r, "recv %s v=%llu h=%llu from %u", pbft_msg_kind_str(m.kind),
                (unsigned long long)m.view, (unsigned long long)m.height, from);
    if (m.height < r->height && m.kind != PBFT_MSG_CERT) {
        pbft__help(r, from);
    }
    switch (m.kind) {
    case PBFT_MSG_PREPREPARE:
        pbft__recv_preprepare(r, &m);
        break;
    case PBFT_MSG_PREPARE:
    case PBFT_MSG_COMMIT:
        pbft__recv_vote(r, &m);
        break;
    case PBFT_MSG_CERT:
        pbft__recv_cert(r, &m);
        break;
    case PBFT_MSG_VIEWCHANGE:
        pbft__recv_viewchange(r, &m);
        break;
    case PBFT_MSG_NEWVIEW:
        pbft__recv_newview(r, &m);
        break;
    }
    pbft__msg_release(&m);
    return 0;
}

static int on_timeout(struct pbft *r)
{
    uint64_t now = r->now;
    int rv = 0;

    if (r->resend_at != 0 && now >= r->resend_at) {
        r->resend_at = 0;
        resend(r);
    }
    if (r->status == PBFT_STATUS_NORMAL && r->progress_at != 0 && now >= r->progress_at) {
        pbft__trace(r, "progress timeout h=%llu v=%llu", (unsigned long long)r->height,
                    (unsigned long long)r->view);
        rv = pbft__start_view_change(r, r->view + 1);
    } else if (r->status == PBFT_STATUS_NORMAL && r->overdue && now >= r->overdue_at) {
        pbft__trace(r, "request overdue in v=%llu", (unsigned long long)r->view);
        rv = pbft__start_view_change(r, r->view + 1);
    } else if (r->status == PBFT_STATUS_VIEW_CHANGE && r->vc_at != 0 && now >= r->vc_at) {
        pbft__trace(r, "view-change timeout v=%llu", (unsigned long long)r->view);
        rv = pbft__start_view_change(r, r->view + 1);
    }
    return rv;
}

/*
 * PBFT's request timer: "a backup is waiting for a request if it received a
 * valid request and has not executed it. A backup starts a timer when it
 * receives a request and the timer is not already running. It stops the timer
 * when it is no longer waiting to execute the request, but restarts it if at
 * that point it is waiting to execute some other request ... If the timer of
 * backup i expires in view v, the backup starts a view change" (Castro &
 * Liskov, OSDI '99, 4.4). The caller keeps that timer (it sees the requests;
 * the core orders opaque blocks): node/reqtimer.h. The core grants each view
 * request_timeout_ms first, so a new primary has time to propose.
 */
static int on_overdue(struct pbft *r)
{
    if (r->status != PBFT_STATUS_NORMAL) {
        return 0;
    }
    r->overdue = true;
    r->overdue_at = r->view_entered_at + backoff(r, r->cfg.request_timeout_ms);
    if (r->now >= r->overdue_at) {
        pbft__trace(r, "request overdue in v=%llu", (unsigned long long)r->view);
        return pbft__start_view_change(r, r->view + 1);
    }
    return 0;
}

int pbft_step(struct pbft *r, const struct pbft_event *ev, struct pbft_update *up)
{
    int rv = 0;

    if (up == NULL) {
        return PBFT_ERR_EVENT;
    }
    memset(up, 0, sizeof(*up));
    if (r == NULL || ev == NULL) {
        return PBFT_ERR_EVENT;
    }
    release_update(r);
    r->up = up;
    r->errmsg[0] = '\0';
    if (ev->now > r->now) {
        r->now = ev->now;
    }
    if ((ev->type == PBFT_EV_START) == r->started) {
        return pbft__fail(r, PBFT_ERR_STATE, r->started ? "second start" : "event before start");
    }
    switch (ev->type) {
    case PBFT_EV_START:
        rv = on_start(r, ev);
        break;
    case PBFT_EV_RECEIVE:
        rv = on_receive(r, ev);
        break;
    case PBFT_EV_TIMEOUT:
        rv = on_timeout(r);
        break;
    case PBFT_EV_PROPOSAL:
        rv = pbft__on_proposal(r, ev);
        break;
    case PBFT_EV_VALIDATED:
        rv = pbft__on_validated(r, ev);
        break;
    case PBFT_EV_PERSISTED:
        if (ev->persisted.seq > r->persist_seq) {
            return pbft__fail(r, PBFT_ERR_EVENT, "persisted seq %llu never issued",
                              (unsigned long long)ev->persisted.seq);
        }
        if (ev->persisted.seq > r->durable_seq) {
            r->durable_seq = ev->persisted.seq;
        }
        break;
    case PBFT_EV_REQUEST_OVERDUE:
        rv = on_overdue(r);
        break;
    case PBFT_EV_SYNCED:
        rv = pbft__on_synced(r, ev);
        break;
    default:
        return pbft__fail(r, PBFT_ERR_EVENT, "unknown event type %d", (int)ev->type);
    }
    if (rv == 0 && r->started) {
        rv = settle(r);
    }
    r->up = NULL; /* the caller's update is not ours to touch between steps */
    return rv;
}
