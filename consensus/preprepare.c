/* PRE-PREPARE: the primary's proposal, its acceptance by backups, and block validation. */
#include <stdlib.h>
#include <string.h>

#include "consensus/internal.h"

/*
 * Castro & Liskov, OSDI '99, 4.2: "the primary assigns a sequence number n to
 * the request, multicasts a PRE-PREPARE message with m piggybacked to all the
 * backups ... A backup accepts a pre-prepare message provided: the signatures
 * in the request and the pre-prepare message are correct and d is the digest
 * for m; it is in view v; it has not accepted a pre-prepare message for view v
 * and sequence number n containing a different digest; the sequence number in
 * the pre-prepare message is between a low water mark, h, and a high water
 * mark, H."
 *
 * Here the sequence number is the block height and the window is one height
 * (single slot, see pbft.h). "d is the digest for m" and the validity of the
 * block are the caller's verdict (execute, then agree: DESIGN.md §3): a
 * replica PREPAREs only after PBFT_EV_VALIDATED said ok.
 */

void pbft__want_proposal(struct pbft *r)
{
    struct pbft_update *up = r->up;

    if (r->status != PBFT_STATUS_NORMAL || pbft__primary(r, r->view) != r->cfg.self ||
        r->propose_wanted || (r->acc && r->acc_view == r->view)) {
        return;
    }
    /* Below the view's fresh heights (we are behind, or base is re-proposed): no proposal. */
    if (r->height < r->fresh_from) {
        return;
    }
    r->propose_wanted = true;
    up->has_propose = true;
    up->propose.height = r->height;
    up->propose.view = r->view;
    pbft__trace(r, "want proposal v=%llu h=%llu", (unsigned long long)r->view,
                (unsigned long long)r->height);
}

void pbft__accept(struct pbft *r, uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE],
                  const uint8_t *payload, size_t len, unsigned proposer, bool reproposal)
{
    struct pbft_update *up = r->up;

    if (payload != r->acc_payload) {
        uint8_t *copy = pbft__dup(payload, len);
        if (copy == NULL) {
            return; /* not accepted: the primary's retransmission will try again */
        }
        free(r->acc_payload);
        r->acc_payload = copy;
        r->acc_len = len;
    }
    r->acc = true;
    r->acc_view = view;
    memmove(r->acc_digest, digest, PBFT_DIGEST_SIZE);
    r->acc_proposer = proposer;
    r->acc_reproposal = reproposal;
    r->validated = 0;
    if (r->ok_known && memcmp(r->ok_digest, digest, PBFT_DIGEST_SIZE) == 0) {
        r->validated = 1; /* already executed this very block at this height */
    } else {
        uint8_t *copy = pbft__dup(r->acc_payload, r->acc_len);
        if (copy == NULL) {
            return; /* accepted, not yet validated: re-asked after a restart or view change */
        }
        free(r->validate_payload);
        r->validate_payload = copy;
        up->has_validate = true;
        up->validate.height = r->height;
        up->validate.view = view;
        up->validate.proposer = proposer;
        memcpy(up->validate.digest, digest, PBFT_DIGEST_SIZE);
        up->validate.payload = copy;
        up->validate.payload_len = r->acc_len;
        up->validate.reproposal = reproposal;
    }
    pbft__work_known(r);
}

int pbft__on_proposal(struct pbft *r, const struct pbft_event *ev)
{
    uint8_t sp[PBFT_VOTE_PAYLOAD_SIZE];

    if (ev->proposal.payload == NULL && ev->proposal.payload_len > 0) {
        return pbft__fail(r, PBFT_ERR_EVENT, "proposal without payload");
    }
    if (ev->proposal.payload_len > r->cfg.max_payload) {
        return pbft__fail(r, PBFT_ERR_TOO_BIG, "proposal of %zu bytes over max_payload",
                          ev->proposal.payload_len);
    }
    if (r->status != PBFT_STATUS_NORMAL || pbft__primary(r, r->view) != r->cfg.self ||
        !r->propose_wanted || ev->proposal.height != r->height ||
        (r->acc && r->acc_view == r->view)) {
        pbft__trace(r, "ignore stale proposal h=%llu", (unsigned long long)ev->proposal.height);
        return 0;
    }
    pbft_vote_payload(r->height, r->view, ev->proposal.digest, sp);
    if (r->cfg.crypto.sign(r->cfg.crypto.ctx, PBFT_SIG_PREPREPARE, sp, sizeof(sp), r->pp_sig) !=
        0) {
        return pbft__fail(r, PBFT_ERR_CRYPTO, "sign pre-prepare h=%llu",
                          (unsigned long long)r->height);
    }
    /* Our own block needs no validation: the caller built it on its applied tip. */
    r->ok_known = true;
    memcpy(r->ok_digest, ev->proposal.digest, PBFT_DIGEST_SIZE);
    pbft__accept(r, r->view, ev->proposal.digest, ev->proposal.payload, ev->proposal.payload_len,
                 r->cfg.self, false);
    if (!r->acc) {
        return pbft__fail(r, PBFT_ERR_NOMEM, "copy proposal");
    }
    r->pp_signed = true;
    r->pp_resend = false;
    r->propose_wanted = false;
    pbft__own_create(r, &r->own_pp);
    pbft__trace(r, "propose v=%llu h=%llu", (unsigned long long)r->view,
                (unsigned long long)r->height);
    return 0;
}

/* True when replica i's PREPARE for our accepted block in its view is in hand. */
static bool has_prepared_it(const struct pbft *r, unsigned i)
{
    const struct pbft__vote *v = &r->prepares[i];
    return v->has && v->view == r->acc_view &&
           memcmp(v->digest, r->acc_digest, PBFT_DIGEST_SIZE) == 0;
}

void pbft__send_preprepare(struct pbft *r)
{
    struct pbft__msg m = { .kind = PBFT_MSG_PREPREPARE,
                           .sender = r->cfg.self,
                           .height = r->height,
                           .view = r->acc_view,
                           .payload = r->acc_payload,
                           .payload_len = r->acc_len };
    size_t len;

    memcpy(m.digest, r->acc_digest, PBFT_DIGEST_SIZE);
    memcpy(m.sig, r->pp_sig, PBFT_SIG_SIZE);
    uint8_t *bytes = pbft__simple_encode(&m, &len);
    if (bytes == NULL) {
        return;
    }
    /*
     * The block is the big message: a retransmission goes only to the
     * replicas whose PREPARE for it we have not seen (a few at most; beyond
     * that a broadcast is cheaper for the outbox).
     */
    unsigned missing = 0;
    for (unsigned i = 0; i < r->n; i++) {
        if (i != r->cfg.self && !has_prepared_it(r, i)) {
            missing++;
        }
    }
    if (!r->pp_resend || missing > 4) {
        pbft__send(r, PBFT_BROADCAST, m.kind, m.height, m.view, bytes, len);
        return;
    }
    for (unsigned i = 0; i < r->n; i++) {
        if (i != r->cfg.self && !has_prepared_it(r, i)) {
            pbft__send(r, (int)i, m.kind, m.height, m.view, pbft__dup(bytes, len), len);
        }
    }
    free(bytes);
}

static bool sig_ok(struct pbft *r, const struct pbft__msg *m, enum pbft_sig_kind kind)
{
    uint8_t sp[PBFT_VOTE_PAYLOAD_SIZE];
    pbft_vote_payload(m->height, m->view, m->digest, sp);
    if (!r->cfg.crypto.verify(r->cfg.crypto.ctx, kind, m->sender, sp, sizeof(sp), m->sig)) {
        r->stats.dropped_bad_sig++;
        pbft__trace(r, "drop %s from %u: bad signature", pbft_msg_kind_str(m->kind), m->sender);
        return false;
    }
    return true;
}

/* Drops the PRE-PREPARE a slot keeps, if any, from the byte budget too. */
static void ahead_drop_pp(struct pbft *r, struct pbft__ahead *a)
{
    if (a->pp_set) {
        r->ahead_bytes -= a->len;
    }
    free(a->payload);
    a->payload = NULL;
    a->pp_set = false;
    a->len = 0;
}

/* Empties a slot of the window above the height in flight. */
static void ahead_clear(struct pbft *r, struct pbft__ahead *a)
{
    ahead_drop_pp(r, a);
    memset(a, 0, sizeof(*a));
}

/* A COMMIT's view counts within PBFT_VIEW_WINDOW of ours either way (pbft__recv_vote's
 * bounds for COMMITs). */
static bool commit_view_ok(const struct pbft *r, uint64_t view)
{
    return view >= r->view ? view - r->view <= PBFT_VIEW_WINDOW
                           : r->view - view <= PBFT_VIEW_WINDOW;
}

void pbft__drop_ahead(struct pbft *r)
{
    for (unsigned i = 0; i < PBFT_AHEAD; i++) {
        ahead_clear(r, &r->ahead[i]);
    }
}

/* The slot for height h in the window (r->height, r->height + PBFT_AHEAD], emptied first
 * when it still holds a height now passed; NULL outside the window. */
static struct pbft__ahead *ahead_slot(struct pbft *r, uint64_t h)
{
    if (h <= r->height || h - r->height > PBFT_AHEAD) {
        return NULL;
    }
    struct pbft__ahead *a = &r->ahead[h % PBFT_AHEAD];
    if (a->height != h) {
        ahead_clear(r, a); /* a height at or below the one in flight: passed */
        a->height = h;
    }
    return a;
}

/*
 * Which of two PRE-PREPAREs for one height the window keeps: the one of our view (the only one
 * pbft__recv_preprepare takes up when we get there), else the higher view. Every replica is
 * the primary of some view above ours: a faulty one must not push out our primary's block
 * with one of a view nobody is in, or fill the budget with such blocks.
 */
static bool ahead_view_beats(const struct pbft *r, uint64_t view, uint64_t kept)
{
    return kept < r->view || (kept != r->view && (view == r->view || view > kept));
}

/* Payload bytes kept for views other than ours: what a PRE-PREPARE of our view may evict. */
static size_t ahead_evictable(const struct pbft *r, uint64_t height)
{
    size_t bytes = 0;
    for (unsigned i = 0; i < PBFT_AHEAD; i++) {
        const struct pbft__ahead *a = &r->ahead[i];
        if (a->pp_set && a->height != height && (a->height <= r->height || a->view != r->view)) {
            bytes += a->len;
        }
    }
    return bytes;
}

/*
 * True when a PRE-PREPARE for a later height would be kept if its signature and block check
 * out: in the window, from the primary of a view from ours to PBFT_VIEW_WINDOW above, beating
 * the one kept for its height, and within the budget. Checked before the signature, so a
 * replayed copy costs no verification.
 */
static bool ahead_pp_wanted(const struct pbft *r, const struct pbft__msg *m)
{
    if (m->height <= r->height || m->height - r->height > PBFT_AHEAD || m->view < r->view ||
        m->view - r->view > PBFT_VIEW_WINDOW || m->sender != pbft__primary(r, m->view)) {
        return false;
    }
    const struct pbft__ahead *a = &r->ahead[m->height % PBFT_AHEAD];
    bool same = a->height == m->height && a->pp_set;
    if (same && !ahead_view_beats(r, m->view, a->view)) {
        return false; /* a retransmission, or the primary equivocates: keep the first */
    }
    /* At most two blocks' worth parked for later: a faulty primary's blocks for every
     * height of the window must not cost PBFT_AHEAD x max_payload. */
    size_t free_bytes = same ? a->len : 0;
    if (m->view == r->view) {
        free_bytes += ahead_evictable(r, m->height);
    }
    return r->ahead_bytes - free_bytes + m->payload_len <= 2 * r->cfg.max_payload;
}

/* Keeps a PRE-PREPARE that ahead_pp_wanted, signature checked, evicting blocks of other views
 * kept for other heights as far as the budget needs. */
static void keep_ahead_pp(struct pbft *r, const struct pbft__msg *m)
{
    if (!pbft__block_ok(r, m->digest, m->payload, m->payload_len)) {
        return;
    }
    uint8_t *copy = pbft__dup(m->payload, m->payload_len);
    if (copy == NULL) {
        return; /* the primary's retransmission or sync brings it again */
    }
    struct pbft__ahead *a = ahead_slot(r, m->height);
    ahead_drop_pp(r, a);
    for (unsigned i = 0; i < PBFT_AHEAD && r->ahead_bytes + m->payload_len > 2 * r->cfg.max_payload;
         i++) {
        struct pbft__ahead *o = &r->ahead[i];
        if (o->pp_set && o != a && (o->height <= r->height || o->view != r->view)) {
            ahead_drop_pp(r, o);
        }
    }
    if (r->ahead_bytes + m->payload_len > 2 * r->cfg.max_payload) {
        free(copy); /* ahead_pp_wanted said it fits: not reached */
        return;
    }
    a->pp_set = true;
    a->sender = m->sender;
    a->view = m->view;
    memcpy(a->digest, m->digest, PBFT_DIGEST_SIZE);
    memcpy(a->sig, m->sig, PBFT_SIG_SIZE);
    a->payload = copy;
    a->len = m->payload_len;
    r->ahead_bytes += m->payload_len;
    pbft__trace(r, "keep pre-prepare v=%llu h=%llu for after this height",
                (unsigned long long)m->view, (unsigned long long)m->height);
}

bool pbft__keep_ahead_commit(struct pbft *r, const struct pbft__msg *m)
{
    /* The view bounds of pbft__recv_vote for COMMITs, against our view now. */
    if (m->kind != PBFT_MSG_COMMIT || m->height <= r->height ||
        m->height - r->height > PBFT_AHEAD || !commit_view_ok(r, m->view)) {
        return false;
    }
    struct pbft__ahead *a = &r->ahead[m->height % PBFT_AHEAD];
    if (a->height == m->height && a->commits[m->sender].has &&
        a->commits[m->sender].view >= m->view) {
        r->stats.dropped_duplicate++; /* a replayed copy costs no signature check */
        return true;
    }
    if (!sig_ok(r, m, PBFT_SIG_COMMIT)) {
        return true;
    }
    pbft__evidence(r, m->sender, m->height);
    a = ahead_slot(r, m->height); /* evidence never moves the height: still in the window */
    struct pbft__vote *v = &a->commits[m->sender];
    v->has = true;
    v->view = m->view;
    memcpy(v->digest, m->digest, PBFT_DIGEST_SIZE);
    memcpy(v->sig, m->sig, PBFT_SIG_SIZE);
    return true;
}

void pbft__take_ahead(struct pbft *r)
{
    struct pbft__ahead *a = NULL;
    for (unsigned i = 0; i < PBFT_AHEAD; i++) {
        if (r->ahead[i].height == r->height) {
            a = &r->ahead[i];
        } else if (r->ahead[i].height != 0 && r->ahead[i].height < r->height) {
            ahead_clear(r, &r->ahead[i]);
        }
    }
    if (a == NULL) {
        return;
    }
    /* The COMMITs first (votes of this height, kept under the same view bounds), so that the
     * PRE-PREPARE's block, once held, commits on their certificate at the next check. */
    for (unsigned i = 0; i < r->n; i++) {
        const struct pbft__vote *v = &a->commits[i];
        if (v->has && commit_view_ok(r, v->view) &&
            (!r->commits[i].has || r->commits[i].view < v->view)) {
            r->commits[i] = *v;
        }
    }
    struct pbft__msg m = { .kind = PBFT_MSG_PREPREPARE,
                           .sender = a->sender,
                           .height = a->height,
                           .view = a->view,
                           .payload = a->payload,
                           .payload_len = a->len };
    bool pp = a->pp_set;
    memcpy(m.digest, a->digest, PBFT_DIGEST_SIZE);
    memcpy(m.sig, a->sig, PBFT_SIG_SIZE);
    uint8_t *payload = a->payload;
    if (pp) {
        r->ahead_bytes -= a->len;
    }
    memset(a, 0, sizeof(*a));
    if (pp) {
        pbft__trace(r, "take up the kept pre-prepare v=%llu h=%llu", (unsigned long long)m.view,
                    (unsigned long long)m.height);
        pbft__recv_preprepare(r, &m);
    }
    free(payload);
}

void pbft__recv_preprepare(struct pbft *r, const struct pbft__msg *m)
{
    if (m->height > r->height) {
        /* Worth a signature check only when it would be kept or raises what is known of its
         * sender (as for votes): a replayed copy would otherwise cost a verification each. */
        bool wanted = ahead_pp_wanted(r, m);
        if ((wanted || m->height > r->seen_height[m->sender]) &&
            sig_ok(r, m, PBFT_SIG_PREPREPARE)) {
            pbft__evidence(r, m->sender, m->height);
            if (wanted) {
                keep_ahead_pp(r, m);
            }
        }
        r->stats.dropped_window++;
        return;
    }
    if (m->height < r->height || m->view != r->view || r->status != PBFT_STATUS_NORMAL) {
        r->stats.dropped_window++;
        return;
    }
    if (m->height < r->fresh_from) {
        /* The NEW-VIEW fixed this height's block: a fresh one would override it. */
        r->stats.dropped_malformed++;
        pbft__trace(r, "drop pre-prepare h=%llu: re-proposed by the new view",
                    (unsigned long long)m->height);
        return;
    }
    if (m->sender != pbft__primary(r, m->view)) {
        r->stats.dropped_malformed++;
        pbft__trace(r, "drop pre-prepare from %u: not the primary of v=%llu", m->sender,
                    (unsigned long long)m->view);
        return;
    }
    if (r->acc && r->acc_view == r->view) {
        /* Same digest: a retransmission. Another digest: the primary equivocates; keep the first.
         */
        r->stats.dropped_duplicate++;
        if (memcmp(r->acc_digest, m->digest, PBFT_DIGEST_SIZE) != 0) {
            pbft__trace(r, "drop conflicting pre-prepare v=%llu h=%llu from %u",
                        (unsigned long long)m->view, (unsigned long long)m->height, m->sender);
        }
        return;
    }
    if (!sig_ok(r, m, PBFT_SIG_PREPREPARE)) {
        return;
    }
    if (!pbft__block_ok(r, m->digest, m->payload, m->payload_len)) {
        r->stats.dropped_malformed++;
        pbft__trace(r, "drop pre-prepare from %u: block does not match its digest", m->sender);
        return;
    }
    pbft__accept(r, m->view, m->digest, m->payload, m->payload_len, m->sender, false);
}

int pbft__on_validated(struct pbft *r, const struct pbft_event *ev)
{
    if (ev->validated.height != r->height || !r->acc || r->validated != 0 ||
        memcmp(ev->validated.digest, r->acc_digest, PBFT_DIGEST_SIZE) != 0) {
        pbft__trace(r, "ignore stale verdict h=%llu", (unsigned long long)ev->validated.height);
        return 0;
    }
    r->validated = ev->validated.ok ? 1 : -1;
    pbft__trace(r, "validated v=%llu h=%llu %s", (unsigned long long)r->acc_view,
                (unsigned long long)r->height, ev->validated.ok ? "ok" : "refused");
    if (ev->validated.ok) {
        r->ok_known = true;
        memcpy(r->ok_digest, r->acc_digest, PBFT_DIGEST_SIZE);
    }
    return 0;
}
