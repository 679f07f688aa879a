/* PREPARE and COMMIT votes: storing them, signing ours, and the prepared predicate. */
#include <stdlib.h>
#include <string.h>

#include "consensus/internal.h"

/*
 * Castro & Liskov, OSDI '99, 4.2: "If backup i accepts the PRE-PREPARE
 * message, it enters a PREPARE message in its log and multicasts it to all
 * other replicas ... A replica (including the primary) accepts prepare
 * messages and adds them to its log provided their signatures are correct,
 * their view number equals the replica's current view, and their sequence
 * number is between h and H. ... prepared(m, v, n, i) is true iff replica i
 * has inserted in its log: the request m, a pre-prepare for m in view v with
 * sequence number n, and 2f prepares from different backups that match the
 * pre-prepare. ... Replica i multicasts a COMMIT ... when prepared(m, v, n, i)
 * becomes true."
 *
 * Differences, each for a reason:
 *  - The primary signs a PREPARE too, so a prepared certificate is simply q
 *    PREPARE signatures over (height, view, digest), checkable by anyone
 *    without the pre-prepare; q replaces 2f+1 for n != 3f+1.
 *  - A replica PREPAREs only a block its caller validated (execute, then
 *    agree), and COMMITs only after its own PREPARE, so it never commits a
 *    block it refused.
 *  - Votes for views up to PBFT_VIEW_WINDOW ahead are kept (one per sender:
 *    its highest view), so a replica that missed a NEW-VIEW still sees a
 *    commit certificate form in the new view and catches up from it.
 */

static bool vote_sig_ok(struct pbft *r, const struct pbft__msg *m)
{
    uint8_t sp[PBFT_VOTE_PAYLOAD_SIZE];
    enum pbft_sig_kind kind = m->kind == PBFT_MSG_PREPARE ? PBFT_SIG_PREPARE : PBFT_SIG_COMMIT;

    pbft_vote_payload(m->height, m->view, m->digest, sp);
    if (!r->cfg.crypto.verify(r->cfg.crypto.ctx, kind, m->sender, sp, sizeof(sp), m->sig)) {
        r->stats.dropped_bad_sig++;
        pbft__trace(r, "drop %s from %u: bad signature", pbft_msg_kind_str(m->kind), m->sender);
        return false;
    }
    return true;
}

void pbft__recv_vote(struct pbft *r, const struct pbft__msg *m)
{
    struct pbft__vote *votes = m->kind == PBFT_MSG_PREPARE ? r->prepares : r->commits;
    struct pbft__vote *slot = &votes[m->sender];

    if (m->height > r->height && pbft__keep_ahead_commit(r, m)) {
        r->stats.dropped_window++; /* not counted for this height */
        return;
    }
    if (m->height > r->height) {
        /*
         * Evidence that a peer is ahead. Only a vote that can raise what is
         * known of its sender is worth a signature check: a replayed one
         * would otherwise buy an Ed25519 verification per copy for free.
         */
        if (m->height > r->seen_height[m->sender] && vote_sig_ok(r, m)) {
            pbft__evidence(r, m->sender, m->height);
        }
        r->stats.dropped_window++;
        return;
    }
    /*
     * COMMITs of a view we just left still count: q of them are a certificate
     * whatever our view, and catching them saves a re-proposal.
     */
    bool old_commit =
        m->kind == PBFT_MSG_COMMIT && m->view < r->view && r->view - m->view <= PBFT_VIEW_WINDOW;
    if (m->height < r->height || (m->view < r->view && !old_commit) ||
        (m->view > r->view && m->view - r->view > PBFT_VIEW_WINDOW)) {
        r->stats.dropped_window++;
        return;
    }
    if (slot->has && slot->view >= m->view) {
        /* A retransmission, or a second vote in one view (equivocation): keep the first. */
        r->stats.dropped_duplicate++;
        return;
    }
    if (!vote_sig_ok(r, m)) {
        return;
    }
    slot->has = true;
    slot->view = m->view;
    memcpy(slot->digest, m->digest, PBFT_DIGEST_SIZE);
    memcpy(slot->sig, m->sig, PBFT_SIG_SIZE);
    /*
     * Votes from f+1 replicas in our view show that a correct one saw a
     * proposal: the primary owes us a commit. One faulty replica's vote alone
     * must not start the timer, or it could force view changes on an idle chain.
     */
    if (m->view == r->view) {
        unsigned voters = 0;
        for (unsigned i = 0; i < r->n; i++) {
            if ((r->prepares[i].has && r->prepares[i].view == r->view) ||
                (r->commits[i].has && r->commits[i].view == r->view)) {
                voters++;
            }
        }
        if (voters >= r->f + 1) {
            pbft__work_known(r);
        }
    }
}

void pbft__send_vote(struct pbft *r, int kind, const struct pbft__vote *v)
{
    struct pbft__msg m = {
        .kind = kind, .sender = r->cfg.self, .height = r->height, .view = v->view
    };
    size_t len;

    memcpy(m.digest, v->digest, PBFT_DIGEST_SIZE);
    memcpy(m.sig, v->sig, PBFT_SIG_SIZE);
    uint8_t *bytes = pbft__simple_encode(&m, &len);
    pbft__send(r, PBFT_BROADCAST, kind, m.height, m.view, bytes, len);
}

/* Signs my vote of kind for (height, view, acc_digest) into *v. */
static int sign_vote(struct pbft *r, enum pbft_sig_kind kind, struct pbft__vote *v)
{
    uint8_t sp[PBFT_VOTE_PAYLOAD_SIZE];

    pbft_vote_payload(r->height, r->view, r->acc_digest, sp);
    if (r->cfg.crypto.sign(r->cfg.crypto.ctx, kind, sp, sizeof(sp), v->sig) != 0) {
        return pbft__fail(r, PBFT_ERR_CRYPTO, "sign vote h=%llu", (unsigned long long)r->height);
    }
    v->has = true;
    v->view = r->view;
    memcpy(v->digest, r->acc_digest, PBFT_DIGEST_SIZE);
    return 0;
}

/* Collects the PREPAREs for (view, acc_digest) into the prepared certificate when q agree. */
static void check_prepared(struct pbft *r)
{
    struct pbft_cert cert;

    if (r->prepared && r->pcert.view == r->view) {
        return;
    }
    if (pbft__vote_count(r, r->prepares, r->view, r->acc_digest) < r->q) {
        return;
    }
    memset(&cert, 0, sizeof(cert));
    cert.height = r->height;
    cert.view = r->view;
    memcpy(cert.digest, r->acc_digest, PBFT_DIGEST_SIZE);
    for (unsigned i = 0; i < r->n; i++) {
        const struct pbft__vote *v = &r->prepares[i];
        if (v->has && v->view == r->view &&
            memcmp(v->digest, r->acc_digest, PBFT_DIGEST_SIZE) == 0) {
            cert.signers[cert.count] = (uint16_t)i;
            memcpy(cert.sigs[cert.count], v->sig, PBFT_SIG_SIZE);
            cert.count++;
        }
    }
    uint8_t *copy = pbft__dup(r->acc_payload, r->acc_len);
    if (copy == NULL) {
        return; /* retried at the next step */
    }
    free(r->p_payload);
    r->p_payload = copy;
    r->p_len = r->acc_len;
    r->pcert = cert;
    r->prepared = true;
    r->dirty = true;
    pbft__trace(r, "prepared v=%llu h=%llu", (unsigned long long)r->view,
                (unsigned long long)r->height);
}

int pbft__advance(struct pbft *r)
{
    int rv;

    if (r->status != PBFT_STATUS_NORMAL || !r->acc || r->acc_view != r->view) {
        return 0;
    }
    /* One PREPARE per (view, height): my_prepare is durable before it leaves. */
    if (r->validated == 1 && !(r->my_prepare.has && r->my_prepare.view == r->view)) {
        rv = sign_vote(r, PBFT_SIG_PREPARE, &r->my_prepare);
        if (rv != 0) {
            return rv;
        }
        pbft__own_create(r, &r->own_prepare);
        pbft__trace(r, "send prepare v=%llu h=%llu", (unsigned long long)r->view,
                    (unsigned long long)r->height);
    }
    if (!(r->my_prepare.has && r->my_prepare.view == r->view)) {
        return 0;
    }
    check_prepared(r);
    /* One COMMIT per (view, height), after the prepared certificate is in the snapshot. */
    if (r->prepared && r->pcert.view == r->view &&
        !(r->my_commit.has && r->my_commit.view == r->view)) {
        rv = sign_vote(r, PBFT_SIG_COMMIT, &r->my_commit);
        if (rv != 0) {
            return rv;
        }
        pbft__own_create(r, &r->own_commit);
        pbft__trace(r, "send commit v=%llu h=%llu", (unsigned long long)r->view,
                    (unsigned long long)r->height);
    }
    return 0;
}
