/* NEW-VIEW: the new primary's choice of block from q VIEW-CHANGEs, and its check by backups. */
#include <stdlib.h>
#include <string.h>

#include "consensus/internal.h"

/*
 * Castro & Liskov, OSDI '99, 4.4: "When the primary p of view v+1 receives 2f
 * valid view-change messages for view v+1 from other replicas, it multicasts a
 * <NEW-VIEW, v+1, V, O> message to all other replicas, where V is a set
 * containing the valid view-change messages received by the primary plus the
 * view-change message for v+1 the primary sent (or would have sent), and O is
 * a set of pre-prepare messages ... computed as follows. First, the primary
 * determines the sequence number min-s of the latest stable checkpoint in V
 * and the highest sequence number max-s in a prepare message in V. The primary
 * creates a new pre-prepare message for view v+1 for each sequence number n
 * between min-s and max-s. There are two cases: (1) there is at least one set
 * in the P component of some view-change message in V with sequence number n,
 * or (2) there is no such set. In the first case, the primary creates a new
 * message <PRE-PREPARE, v+1, n, d>, where d is the request digest in the
 * pre-prepare message for sequence number n with the highest view number in V.
 * In the second case, it creates a new pre-prepare message with a null
 * request." ... "A backup accepts a new-view message for view v+1 if it is
 * signed properly, if the view-change messages it contains are valid for view
 * v+1, and if the set O is correct; it verifies the correctness of O by
 * performing a computation similar to the one used by the primary to create O."
 *
 * Single slot: min-s is the highest commit certificate in V (its height plus
 * one is the view's first height, `base`), and only base can hold a prepared
 * certificate that matters. If some VIEW-CHANGE carries one for base, the
 * NEW-VIEW re-proposes the block of the highest view (payload included: it is
 * the view's pre-prepare for base). Otherwise nothing is re-proposed and the
 * primary proposes base afresh with an ordinary PRE-PREPARE ("null request"
 * would only waste a height). Why this keeps committed blocks: a block
 * committed at height k in view w had q PREPAREs in w; any q VIEW-CHANGEs
 * share f+1 senders with them, so at least one correct sender either already
 * committed k (base > k, and the certificate travels in V) or carries a
 * prepared certificate for k of view >= w, and by induction every prepared
 * certificate for k above w is for the same block.
 */

/* Computes base and the chosen VIEW-CHANGE (NULL: nothing to re-propose) from a set. */
static const struct pbft__vc *choose(const struct pbft__vc *const *set, unsigned count,
                                     uint64_t *out_base, const struct pbft__vc **out_top)
{
    const struct pbft__vc *best = NULL;
    const struct pbft__vc *top = set[0];
    uint64_t base = 0;

    for (unsigned i = 0; i < count; i++) {
        if (set[i]->height > base) {
            base = set[i]->height;
            top = set[i];
        }
    }
    for (unsigned i = 0; i < count; i++) {
        const struct pbft__vc *vc = set[i];
        if (vc->prepared && vc->height == base &&
            (best == NULL || vc->pcert.view > best->pcert.view)) {
            best = vc;
        }
    }
    *out_base = base;
    *out_top = top;
    return best;
}

void pbft__drop_reproposal(struct pbft *r)
{
    free(r->pending_nv.payload);
    memset(&r->pending_nv, 0, sizeof(r->pending_nv));
}

/* Keeps the block re-proposed for base, a height this replica must first sync up to. */
static void keep_reproposal(struct pbft *r, uint64_t v, uint64_t base,
                            const uint8_t digest[PBFT_DIGEST_SIZE], const uint8_t *payload,
                            size_t len)
{
    uint8_t *copy = pbft__dup(payload, len);
    if (copy == NULL) {
        return; /* sits the view out, as before: it catches up at the next */
    }
    pbft__drop_reproposal(r);
    r->pending_nv.set = true;
    r->pending_nv.height = base;
    r->pending_nv.view = v;
    memcpy(r->pending_nv.digest, digest, PBFT_DIGEST_SIZE);
    r->pending_nv.payload = copy;
    r->pending_nv.len = len;
    pbft__trace(r, "keep re-proposal v=%llu h=%llu until synced", (unsigned long long)v,
                (unsigned long long)base);
}

void pbft__take_reproposal(struct pbft *r)
{
    if (!r->pending_nv.set) {
        return;
    }
    if (r->pending_nv.view != r->view || r->height > r->pending_nv.height) {
        pbft__drop_reproposal(r); /* another view, or that height committed without us */
        return;
    }
    if (r->height < r->pending_nv.height || r->status != PBFT_STATUS_NORMAL ||
        (r->acc && r->acc_view == r->view)) {
        return;
    }
    pbft__trace(r, "take up the re-proposal v=%llu h=%llu", (unsigned long long)r->view,
                (unsigned long long)r->height);
    pbft__accept(r, r->view, r->pending_nv.digest, r->pending_nv.payload, r->pending_nv.len,
                 pbft__primary(r, r->view), true);
    pbft__drop_reproposal(r);
}

/*
 * Enters view v as the NEW-VIEW says: re-proposed block accepted, or behind (then the
 * re-proposal is kept until the replica has synced up to base).
 */
static void install(struct pbft *r, uint64_t v, uint64_t base, const struct pbft__vc *best,
                    const uint8_t *payload, size_t len, const struct pbft__vc *top)
{
    pbft__enter_view(r, v);
    pbft__drop_reproposal(r);
    r->nv_view = v;
    r->nv_base = base;
    /* A re-proposed base can only be the NEW-VIEW's block: no fresh PRE-PREPARE for it. */
    r->fresh_from = best != NULL ? base + 1 : base;
    if (base > r->height) {
        if (best != NULL) {
            keep_reproposal(r, v, base, best->pcert.digest, payload, len);
        }
        pbft__behind(r, base - 1, top->sender, &top->cert);
    } else if (base == r->height && best != NULL) {
        pbft__accept(r, v, best->pcert.digest, payload, len, pbft__primary(r, v), true);
    }
}

static uint8_t *encode_nv(struct pbft *r, const struct pbft__vc *const *set, unsigned count,
                          uint64_t base, const struct pbft__vc *best, const uint8_t sig[64],
                          size_t *out_len)
{
    struct pbft__buf b = { 0 };
    static const uint8_t zero[PBFT_DIGEST_SIZE];

    pbft__put_u8(&b, PBFT_FORMAT_VERSION);
    pbft__put_u8(&b, PBFT_MSG_NEWVIEW);
    pbft__put_u16(&b, (uint16_t)r->cfg.self);
    pbft__put_u64(&b, base);
    pbft__put_u64(&b, r->view);
    pbft__put_u8(&b, best != NULL ? 1 : 0);
    pbft__put_bytes(&b, best != NULL ? best->pcert.digest : zero, PBFT_DIGEST_SIZE);
    pbft__put_bytes(&b, sig, PBFT_SIG_SIZE);
    pbft__put_u16(&b, (uint16_t)count);
    for (unsigned i = 0; i < count; i++) {
        size_t len;
        uint8_t *vc = pbft__vc_encode(set[i], true, &len);
        if (vc == NULL) {
            b.fail = true;
            break;
        }
        pbft__put_u32(&b, (uint32_t)len);
        pbft__put_bytes(&b, vc, len);
        free(vc);
    }
    pbft__put_u32(&b, best != NULL ? (uint32_t)best->payload_len : 0);
    if (best != NULL) {
        pbft__put_bytes(&b, best->payload, best->payload_len);
    }
    if (b.fail) {
        free(b.p);
        return NULL;
    }
    *out_len = b.len;
    return b.p;
}

int pbft__maybe_new_view(struct pbft *r)
{
    const struct pbft__vc *set[PBFT_MAX_N];
    const struct pbft__vc *top;
    unsigned count = 0;
    uint64_t base;
    uint8_t sp[49], sig[PBFT_SIG_SIZE];
    size_t len;

    if (r->status != PBFT_STATUS_VIEW_CHANGE || pbft__primary(r, r->view) != r->cfg.self ||
        r->vcs[r->cfg.self] == NULL || r->vcs[r->cfg.self]->view != r->view ||
        pbft__vc_count(r, r->view) < r->q) {
        return 0;
    }
    /* Ours first, then the others by index: q of them. */
    set[count++] = r->vcs[r->cfg.self];
    for (unsigned i = 0; i < r->n && count < r->q; i++) {
        if (i != r->cfg.self && r->vcs[i] != NULL && r->vcs[i]->view == r->view) {
            set[count++] = r->vcs[i];
        }
    }
    const struct pbft__vc *best = choose(set, count, &base, &top);
    if (best != NULL && best->payload == NULL) {
        return 0; /* cannot happen: the primary keeps payloads; wait for a retransmission */
    }
    pbft__nv_payload(base, r->view, best != NULL ? best->pcert.digest : sp, best != NULL, sp);
    if (r->cfg.crypto.sign(r->cfg.crypto.ctx, PBFT_SIG_NEWVIEW, sp, sizeof(sp), sig) != 0) {
        return pbft__fail(r, PBFT_ERR_CRYPTO, "sign new-view v=%llu", (unsigned long long)r->view);
    }
    uint8_t *bytes = encode_nv(r, set, count, base, best, sig, &len);
    if (bytes == NULL) {
        return pbft__fail(r, PBFT_ERR_NOMEM, "encode new-view");
    }
    /* install() frees the VIEW-CHANGEs of this view: copy what it needs first. */
    struct pbft__vc top_copy = *top;
    uint8_t *payload = best != NULL ? pbft__dup(best->payload, best->payload_len) : NULL;
    size_t plen = best != NULL ? best->payload_len : 0;
    struct pbft__vc best_copy;
    if (best != NULL) {
        if (payload == NULL) {
            free(bytes);
            return pbft__fail(r, PBFT_ERR_NOMEM, "copy re-proposal");
        }
        best_copy = *best;
    }
    /* Kept for re-sends, which wait like own_nv until the new view is durable (viewchange.c). */
    free(r->nv_bytes);
    r->nv_bytes = bytes;
    r->nv_len = len;
    pbft__trace(r, "send new-view v=%llu base=%llu%s", (unsigned long long)r->view,
                (unsigned long long)base, best != NULL ? " re-proposing" : "");
    install(r, r->view, base, best != NULL ? &best_copy : NULL, payload, plen, &top_copy);
    free(payload);
    pbft__own_create(r, &r->own_nv);
    return 0;
}

/* True when both certificates carry the same signers and signatures for the same vote. */
static bool same_cert(const struct pbft_cert *a, const struct pbft_cert *b)
{
    if (a->height != b->height || a->view != b->view || a->count != b->count ||
        memcmp(a->digest, b->digest, PBFT_DIGEST_SIZE) != 0) {
        return false;
    }
    for (unsigned i = 0; i < a->count; i++) {
        if (a->signers[i] != b->signers[i] || memcmp(a->sigs[i], b->sigs[i], PBFT_SIG_SIZE) != 0) {
            return false;
        }
    }
    return true;
}

/*
 * True when vc is the VIEW-CHANGE already checked and kept for its sender: a NEW-VIEW mostly
 * carries VIEW-CHANGEs this replica received itself, and none is verified twice.
 */
static bool held(const struct pbft *r, const struct pbft__vc *vc)
{
    const struct pbft__vc *k = r->vcs[vc->sender];
    return k != NULL && k->view == vc->view && k->height == vc->height &&
           k->prepared == vc->prepared && memcmp(k->sig, vc->sig, PBFT_SIG_SIZE) == 0 &&
           same_cert(&k->cert, &vc->cert) && (!vc->prepared || same_cert(&k->pcert, &vc->pcert));
}

/*
 * Checks a NEW-VIEW's set and choice; on success returns the choice like choose(). Cheapest
 * first: the NEW-VIEW's own signature, then each VIEW-CHANGE not already held, stopping at the
 * first bad one.
 */
static int check_nv(struct pbft *r, const struct pbft__msg *m, const struct pbft__vc **out_best,
                    const struct pbft__vc **out_top)
{
    const struct pbft__vc *set[PBFT_MAX_N];
    uint64_t seen = 0, base;
    uint8_t sp[49];

    if (m->nv_count < r->q) {
        return PBFT_ERR_MALFORMED;
    }
    pbft__nv_payload(m->height, m->view, m->digest, m->reproposal, sp);
    if (!r->cfg.crypto.verify(r->cfg.crypto.ctx, PBFT_SIG_NEWVIEW, m->sender, sp, sizeof(sp),
                              m->sig)) {
        return PBFT_ERR_BAD_SIG;
    }
    for (unsigned i = 0; i < m->nv_count; i++) {
        const struct pbft__vc *vc = &m->nv_vcs[i];
        if (vc->view != m->view || vc->sender >= r->n || (seen >> vc->sender) & 1) {
            return PBFT_ERR_MALFORMED;
        }
        seen |= (uint64_t)1 << vc->sender;
        int rv = held(r, vc) ? 0 : pbft__vc_check(r, vc);
        if (rv != 0) {
            return rv;
        }
        set[i] = vc;
    }
    const struct pbft__vc *best = choose(set, m->nv_count, &base, out_top);
    if (base != m->height || (best != NULL) != m->reproposal ||
        (best != NULL && memcmp(best->pcert.digest, m->digest, PBFT_DIGEST_SIZE) != 0)) {
        return PBFT_ERR_MALFORMED;
    }
    if (best != NULL && !pbft__block_ok(r, m->digest, m->payload, m->payload_len)) {
        return PBFT_ERR_MALFORMED;
    }
    *out_best = best;
    return 0;
}

/*
 * Whether to check a NEW-VIEW at all. Checking one costs its signature and up to q
 * VIEW-CHANGEs with their certificates, and any faulty replica is the primary of every n-th
 * view: it could sign NEW-VIEWs for ever higher views, each costing that. So a replica checks a
 * NEW-VIEW only for the view it is changing to (it signed its own VIEW-CHANGE for it: its
 * timer, or f+1 VIEW-CHANGEs for views above its own, moved it there; holding f+1 for a higher
 * view would already have moved it, viewchange.c), or, in its own view, once to pick up a
 * re-proposal it lacks (a restart lost it). A replica that missed a whole view change learns
 * of the view from a commit certificate of it (sync adopts the view), or by changing view
 * itself, which makes the primary send its NEW-VIEW again.
 */
static bool wanted(const struct pbft *r, const struct pbft__msg *m)
{
    if (m->view != r->view) {
        return false;
    }
    if (r->status == PBFT_STATUS_VIEW_CHANGE) {
        return true;
    }
    return m->reproposal && m->height == r->height && !(r->acc && r->acc_view == r->view) &&
           !r->pending_nv.set;
}

void pbft__recv_newview(struct pbft *r, const struct pbft__msg *m)
{
    const struct pbft__vc *best = NULL, *top = NULL;

    if (!wanted(r, m)) {
        if (m->view > r->view) {
            r->stats.dropped_window++;
        } else {
            r->stats.dropped_duplicate++;
        }
        return;
    }
    if (m->sender != pbft__primary(r, m->view)) {
        r->stats.dropped_malformed++;
        return;
    }
    /* This primary already sent a NEW-VIEW for this view that failed its
     * checks, which an honest one never does: what more it sends for the
     * view is not checked, and counts as malformed (the node drops the peer). */
    if (m->view <= r->nv_refused[m->sender]) {
        r->stats.dropped_malformed++;
        return;
    }
    int rv = check_nv(r, m, &best, &top);
    if (rv != 0) {
        if (rv == PBFT_ERR_MALFORMED) {
            r->stats.dropped_malformed++;
        } else {
            r->stats.dropped_bad_sig++;
        }
        r->nv_refused[m->sender] = m->view;
        pbft__trace(r, "drop new-view v=%llu from %u: %s", (unsigned long long)m->view, m->sender,
                    pbft_strerror(rv));
        return;
    }
    pbft__trace(r, "accept new-view v=%llu base=%llu%s", (unsigned long long)m->view,
                (unsigned long long)m->height, best != NULL ? " re-proposal" : "");
    if (r->status == PBFT_STATUS_NORMAL) {
        pbft__accept(r, m->view, best->pcert.digest, m->payload, m->payload_len, m->sender, true);
        return;
    }
    free(r->nv_bytes);
    r->nv_bytes = NULL;
    install(r, m->view, m->height, best, m->payload, m->payload_len, top);
}
