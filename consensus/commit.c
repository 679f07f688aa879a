/* COMMIT quorum, commit certificates, helping replicas that lag and learning we lag. */
#include <stdlib.h>
#include <string.h>

#include "consensus/internal.h"

/*
 * Castro & Liskov, OSDI '99, 4.2: "committed-local(m, v, n, i) is true if and
 * only if prepared(m, v, n, i) is true and i has accepted 2f+1 commits
 * (possibly including its own) from different replicas that match the
 * pre-prepare for m ... Each replica i executes the operation requested by m
 * after committed-local(m, v, n, i) is true".
 *
 * Our COMMITs are signatures, so q matching COMMITs are a certificate that
 * convinces anyone: a replica that holds the block commits on the
 * certificate alone (it needs no prepared state of its own: q COMMITs mean
 * at least q-f correct replicas prepared it). A replica without the block
 * reports that it is behind so its caller fetches the block, as state
 * transfer does in the paper (6.2).
 */

/* The payload of digest if this replica holds it, else NULL. */
static const uint8_t *held_block(const struct pbft *r, const uint8_t digest[PBFT_DIGEST_SIZE],
                                 size_t *out_len)
{
    if (r->acc && memcmp(r->acc_digest, digest, PBFT_DIGEST_SIZE) == 0) {
        *out_len = r->acc_len;
        return r->acc_payload;
    }
    if (r->prepared && memcmp(r->pcert.digest, digest, PBFT_DIGEST_SIZE) == 0) {
        *out_len = r->p_len;
        return r->p_payload;
    }
    return NULL;
}

/* After height-1 is known committed at view cv: a view with commits is a working view. */
static void adopt_view(struct pbft *r, uint64_t cv)
{
    if (cv > r->view || (cv == r->view && r->status == PBFT_STATUS_VIEW_CHANGE)) {
        pbft__enter_view(r, cv);
    }
}

void pbft__commit(struct pbft *r, const struct pbft_cert *cert, const uint8_t *payload, size_t len)
{
    struct pbft_update *up = r->up;
    uint8_t *copy;

    /* One commit per update (the caller applies blocks one by one, in order). */
    if (up->has_committed) {
        return;
    }
    copy = pbft__dup(payload, len);
    if (copy == NULL) {
        return; /* retried at the next step: the votes stay */
    }
    r->committed_cert = *cert;
    r->committed_payload = copy;
    up->has_committed = true;
    up->committed.cert = &r->committed_cert;
    up->committed.payload = copy;
    up->committed.payload_len = len;
    r->last_cert = *cert;
    r->stats.committed++;
    r->vc_attempts = 0;
    pbft__trace(r, "commit v=%llu h=%llu (%u signatures)", (unsigned long long)cert->view,
                (unsigned long long)cert->height, cert->count);
    pbft__reset_height(r, cert->height + 1);
    adopt_view(r, cert->view);
    pbft__take_reproposal(r);
    pbft__take_ahead(r);
}

void pbft__check_commit(struct pbft *r)
{
    struct pbft_cert cert;
    const uint8_t *payload;
    size_t len = 0;

    memset(&cert, 0, sizeof(cert));
    if (!pbft__vote_quorum(r, r->commits, 0, &cert)) {
        return;
    }
    cert.height = r->height;
    payload = held_block(r, cert.digest, &len);
    if (payload == NULL) {
        pbft__behind(r, cert.height,
                     cert.signers[0] == r->cfg.self && cert.count > 1 ? cert.signers[1]
                                                                      : cert.signers[0],
                     &cert);
        return;
    }
    pbft__commit(r, &cert, payload, len);
}

void pbft__recv_cert(struct pbft *r, const struct pbft__msg *m)
{
    const struct pbft_cert *cert = m->cert;
    const uint8_t *payload;
    size_t len = 0;

    if (cert->height < r->height) {
        r->stats.dropped_duplicate++;
        return;
    }
    if (pbft_cert_verify(&r->cfg.crypto, r->n, cert) != 0) {
        r->stats.dropped_bad_sig++;
        pbft__trace(r, "drop cert h=%llu from %u: invalid", (unsigned long long)cert->height,
                    m->sender);
        return;
    }
    pbft__evidence(r, m->sender, cert->height + 1);
    payload = cert->height == r->height ? held_block(r, cert->digest, &len) : NULL;
    if (payload != NULL) {
        pbft__commit(r, cert, payload, len);
    } else {
        pbft__behind(r, cert->height, m->sender, cert);
    }
}

void pbft__help(struct pbft *r, unsigned to)
{
    struct pbft__msg m = { .kind = PBFT_MSG_CERT, .sender = r->cfg.self };
    size_t len;

    /* Rate-limited per peer: a lagging or hostile peer gets one certificate per resend period. */
    if (r->last_cert.count == 0 || r->now < r->help_at[to]) {
        return;
    }
    r->help_at[to] = r->now + r->cfg.resend_ms;
    m.height = r->last_cert.height;
    m.view = r->last_cert.view;
    memcpy(m.digest, r->last_cert.digest, PBFT_DIGEST_SIZE);
    m.cert = &r->last_cert;
    uint8_t *bytes = pbft__simple_encode(&m, &len);
    pbft__send(r, (int)to, PBFT_MSG_CERT, m.height, m.view, bytes, len);
}

void pbft__behind(struct pbft *r, uint64_t height, unsigned peer, const struct pbft_cert *cert)
{
    struct pbft_update *up = r->up;

    /*
     * Announce each height once, and again after a progress timeout in case
     * the caller's sync failed (the peer it chose may have been faulty).
     */
    if (height < r->height || height < r->behind_reported ||
        (height == r->behind_reported && r->now < r->behind_at + r->cfg.progress_timeout_ms)) {
        return;
    }
    r->behind_reported = height;
    r->behind_at = r->now;
    up->has_behind = true;
    up->behind.height = height;
    up->behind.peer = peer;
    up->behind.cert = NULL;
    if (cert != NULL) {
        r->behind_cert = *cert;
        up->behind.cert = &r->behind_cert;
    }
    pbft__trace(r, "behind: h=%llu is committed (we are at h=%llu), peer %u",
                (unsigned long long)height, (unsigned long long)r->height, peer);
}

/*
 * f+1 replicas signing messages for heights above ours include a correct one,
 * so that height minus one is committed: report it even without a certificate.
 */
void pbft__evidence(struct pbft *r, unsigned sender, uint64_t height)
{
    uint64_t top[PBFT_MAX_N];
    unsigned count = 0;

    if (sender == r->cfg.self || height <= r->seen_height[sender]) {
        return;
    }
    r->seen_height[sender] = height;
    for (unsigned i = 0; i < r->n; i++) {
        if (i != r->cfg.self && r->seen_height[i] > r->height) {
            /* insertion sort, descending */
            unsigned j = count++;
            while (j > 0 && top[j - 1] < r->seen_height[i]) {
                top[j] = top[j - 1];
                j--;
            }
            top[j] = r->seen_height[i];
        }
    }
    if (count >= r->f + 1) {
        pbft__behind(r, top[r->f] - 1, sender, NULL);
    }
}

int pbft__on_synced(struct pbft *r, const struct pbft_event *ev)
{
    const struct pbft_cert *cert = ev->synced.cert;

    if (cert == NULL || pbft_cert_verify(&r->cfg.crypto, r->n, cert) != 0) {
        return pbft__fail(r, PBFT_ERR_EVENT, "synced: invalid certificate");
    }
    if (cert->height < r->height) {
        return 0;
    }
    pbft__trace(r, "synced to h=%llu v=%llu", (unsigned long long)cert->height,
                (unsigned long long)cert->view);
    r->last_cert = *cert;
    pbft__reset_height(r, cert->height + 1);
    adopt_view(r, cert->view);
    /* We were behind when the NEW-VIEW (ours or the primary's) came: take up its re-proposal. */
    pbft__take_reproposal(r);
    pbft__take_ahead(r);
    return 0;
}
