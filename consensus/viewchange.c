/* VIEW-CHANGE: leaving a view, checking and keeping others' VIEW-CHANGEs, the f+1 rule. */
#include <stdlib.h>
#include <string.h>

#include "consensus/internal.h"

/*
 * Castro & Liskov, OSDI '99, 4.4: "If the timer of backup i expires in view v,
 * the backup starts a view change to move the system to view v+1. It stops
 * accepting messages (other than checkpoint, view-change, and new-view
 * messages) and multicasts a <VIEW-CHANGE, v+1, n, C, P, i> message to all
 * replicas. Here n is the sequence number of the last stable checkpoint s
 * known to i, C is a set of 2f+1 valid checkpoint messages proving the
 * correctness of s, and P is a set containing a set P_m for each request m
 * that prepared at i with a sequence number higher than n. Each set P_m
 * contains a valid pre-prepare message (without the corresponding client
 * message) and 2f matching, valid prepare messages signed by different
 * backups with the same view, sequence number, and the digest of m."
 *
 * Here C is the commit certificate of our last block (height-1): it plays the
 * stable checkpoint. P is at most one prepared certificate, for `height`
 * (single slot), of the highest view we prepared in, with its block payload
 * so the new primary can re-propose it even if it never saw it. The VIEW-CHANGE
 * is in the snapshot before it leaves, like our votes.
 *
 * 4.5.2 (liveness): "if a replica receives a set of f+1 valid VIEW-CHANGE
 * messages from other replicas for views greater than its current view, it
 * sends a VIEW-CHANGE message for the smallest view in the set, even if its
 * timer has not expired". A replica never moves on fewer: one faulty replica
 * asking for view 10^9 moves nobody.
 */

void pbft__free_vc(struct pbft__vc *vc)
{
    if (vc != NULL) {
        free(vc->owned);
        free(vc);
    }
}

/* Heap copy of vc, with its payload copied when keep_payload (else dropped). */
static struct pbft__vc *clone_vc(const struct pbft__vc *vc, bool keep_payload)
{
    struct pbft__vc *c = malloc(sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    *c = *vc;
    c->owned = NULL;
    c->payload = NULL;
    c->payload_len = 0;
    if (keep_payload && vc->prepared && vc->payload != NULL) {
        c->owned = pbft__dup(vc->payload, vc->payload_len);
        if (c->owned == NULL) {
            free(c);
            return NULL;
        }
        c->payload = c->owned;
        c->payload_len = vc->payload_len;
    }
    return c;
}

void pbft__my_vc(struct pbft *r, struct pbft__vc *out)
{
    memset(out, 0, sizeof(*out));
    out->sender = r->cfg.self;
    out->view = r->view;
    out->height = r->height;
    if (r->height > 1) {
        out->cert = r->last_cert;
    }
    out->cert.height = r->height - 1;
    out->prepared = r->prepared;
    if (r->prepared) {
        out->pcert = r->pcert;
        out->payload = r->p_payload;
        out->payload_len = r->p_len;
    }
}

unsigned pbft__vc_count(const struct pbft *r, uint64_t v)
{
    unsigned count = 0;
    for (unsigned i = 0; i < r->n; i++) {
        if (r->vcs[i] != NULL && r->vcs[i]->view == v) {
            count++;
        }
    }
    return count;
}

int pbft__start_view_change(struct pbft *r, uint64_t v)
{
    struct pbft__vc vc;
    uint8_t sp[PBFT_SIG_PAYLOAD_MAX];

    if (v < r->view || (v == r->view && r->status == PBFT_STATUS_NORMAL)) {
        return 0;
    }
    if (v != r->view || r->status != PBFT_STATUS_VIEW_CHANGE) {
        r->stats.view_changes++;
        r->vc_attempts++; /* since the last commit: the back-off of 4.5.2 (pbft.c) */
    }
    r->view = v;
    r->status = PBFT_STATUS_VIEW_CHANGE;
    r->progress_at = r->vc_at = 0;
    r->overdue = false;
    r->propose_wanted = false;
    r->own_pp.live = r->own_prepare.live = r->own_commit.live = r->own_nv.live = false;
    for (unsigned i = 0; i < r->n; i++) {
        if (r->vcs[i] != NULL && (r->vcs[i]->view < v || i == r->cfg.self)) {
            pbft__free_vc(r->vcs[i]);
            r->vcs[i] = NULL;
        }
    }
    pbft__my_vc(r, &vc);
    pbft__vc_payload(&vc, sp);
    /* After a restart the same VIEW-CHANGE is re-sent, not re-signed. */
    if (!(r->vc_signed && memcmp(sp, r->vc_signed_payload, sizeof(sp)) == 0)) {
        if (r->cfg.crypto.sign(r->cfg.crypto.ctx, PBFT_SIG_VIEWCHANGE, sp, sizeof(sp), r->vc_sig) !=
            0) {
            return pbft__fail(r, PBFT_ERR_CRYPTO, "sign view-change v=%llu", (unsigned long long)v);
        }
        memcpy(r->vc_signed_payload, sp, sizeof(sp));
        r->vc_signed = true;
    }
    pbft__own_create(r, &r->own_vc);
    pbft__trace(r, "send view-change v=%llu h=%llu%s", (unsigned long long)v,
                (unsigned long long)r->height, vc.prepared ? " with prepared block" : "");
    return 0;
}

void pbft__send_vc(struct pbft *r)
{
    struct pbft__vc vc;
    size_t len;

    pbft__my_vc(r, &vc);
    memcpy(vc.sig, r->vc_sig, PBFT_SIG_SIZE);
    /* The state may have moved since signing (a commit): send what was signed. */
    uint8_t sp[PBFT_SIG_PAYLOAD_MAX];
    pbft__vc_payload(&vc, sp);
    if (memcmp(sp, r->vc_signed_payload, sizeof(sp)) != 0) {
        r->own_vc.live = false;
        pbft__start_view_change(r, r->view); /* re-signs the current state */
        return;
    }
    if (r->vcs[r->cfg.self] == NULL) {
        r->vcs[r->cfg.self] = clone_vc(&vc, true);
    }
    uint8_t *bytes = pbft__vc_encode(&vc, false, &len);
    pbft__send(r, PBFT_BROADCAST, PBFT_MSG_VIEWCHANGE, vc.height, vc.view, bytes, len);
}

int pbft__vc_check(struct pbft *r, const struct pbft__vc *vc)
{
    uint8_t sp[PBFT_SIG_PAYLOAD_MAX];

    if (vc->sender >= r->n || vc->view == 0 || vc->height == 0) {
        return PBFT_ERR_MALFORMED;
    }
    if (vc->height == 1 ? vc->cert.count != 0 : vc->cert.height != vc->height - 1) {
        return PBFT_ERR_MALFORMED;
    }
    if (vc->prepared && (vc->pcert.height != vc->height || vc->pcert.view >= vc->view)) {
        return PBFT_ERR_MALFORMED;
    }
    pbft__vc_payload(vc, sp);
    if (!r->cfg.crypto.verify(r->cfg.crypto.ctx, PBFT_SIG_VIEWCHANGE, vc->sender, sp, sizeof(sp),
                              vc->sig)) {
        return PBFT_ERR_BAD_SIG;
    }
    if (vc->height > 1 && pbft__sigset_verify(&r->cfg.crypto, r->n, PBFT_SIG_COMMIT, &vc->cert)) {
        return PBFT_ERR_BAD_CERT;
    }
    if (vc->prepared && pbft__sigset_verify(&r->cfg.crypto, r->n, PBFT_SIG_PREPARE, &vc->pcert)) {
        return PBFT_ERR_BAD_CERT;
    }
    return 0;
}

/* The f+1 rule of 4.5.2 over the highest VIEW-CHANGE kept per sender. */
static int f_plus_one(struct pbft *r)
{
    uint64_t views[PBFT_MAX_N];
    unsigned count = 0;

    for (unsigned i = 0; i < r->n; i++) {
        const struct pbft__vc *vc = r->vcs[i];
        if (i == r->cfg.self || vc == NULL || vc->view <= r->view) {
            continue;
        }
        unsigned j = count++;
        while (j > 0 && views[j - 1] < vc->view) {
            views[j] = views[j - 1];
            j--;
        }
        views[j] = vc->view;
    }
    if (count < r->f + 1) {
        return 0;
    }
    /* f+1 senders ask for views >= views[f]: the smallest view of that set. */
    pbft__trace(r, "f+1 view-changes for views >= %llu", (unsigned long long)views[r->f]);
    return pbft__start_view_change(r, views[r->f]);
}

void pbft__recv_viewchange(struct pbft *r, const struct pbft__msg *m)
{
    const struct pbft__vc *vc = m->vc;
    const struct pbft__vc *old = r->vcs[m->sender];
    int rv;

    if (vc->view < r->view || (vc->view == r->view && r->status == PBFT_STATUS_NORMAL)) {
        /*
         * A replica still changing to a view we are in or left: the primary re-sends its
         * NEW-VIEW, but only once the snapshot of that view is durable (the gate of own_nv).
         * Sent earlier, a crash before the save would let the restarted primary, still
         * changing view, sign a second, different NEW-VIEW for the same view. Until then the
         * asker gets the broadcast that PERSISTED releases.
         */
        if (r->status == PBFT_STATUS_NORMAL && r->nv_bytes != NULL && r->nv_view == r->view &&
            r->own_nv.need_seq <= r->durable_seq && r->now >= r->help_at[m->sender]) {
            r->help_at[m->sender] = r->now + r->cfg.resend_ms;
            pbft__send(r, (int)m->sender, PBFT_MSG_NEWVIEW, r->nv_base, r->nv_view,
                       pbft__dup(r->nv_bytes, r->nv_len), r->nv_len);
        }
        r->stats.dropped_window++;
        return;
    }
    if (old != NULL && old->view >= vc->view) {
        r->stats.dropped_duplicate++;
        return;
    }
    rv = pbft__vc_check(r, vc);
    /* The prepared block travels with it: it must be the block of that digest. */
    if (rv == 0 && vc->prepared &&
        !pbft__block_ok(r, vc->pcert.digest, vc->payload, vc->payload_len)) {
        rv = PBFT_ERR_MALFORMED;
    }
    if (rv != 0) {
        if (rv == PBFT_ERR_MALFORMED) {
            r->stats.dropped_malformed++;
        } else {
            r->stats.dropped_bad_sig++;
        }
        pbft__trace(r, "drop view-change v=%llu from %u: %s", (unsigned long long)vc->view,
                    m->sender, pbft_strerror(rv));
        return;
    }
    /* Only the primary of that view needs the block; others keep the certificates only. */
    struct pbft__vc *kept = clone_vc(vc, pbft__primary(r, vc->view) == r->cfg.self);
    if (kept == NULL) {
        return;
    }
    pbft__free_vc(r->vcs[m->sender]);
    r->vcs[m->sender] = kept;
    pbft__evidence(r, m->sender, vc->height);
    rv = f_plus_one(r);
    if (rv != 0) {
        pbft__trace(r, "view change failed: %s", pbft_strerror(rv));
    }
}
