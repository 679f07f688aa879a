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

/* Enters view v as the NEW-VIEW says: re-proposed block accepted, or behind. */
static void install(struct pbft *r, uint64_t v, uint64_t base, const struct pbft__vc *best,
                    const uint8_t *payload, size_t len, const struct pbft__vc *top)
{
    pbft__enter_view(r, v);
    r->nv_view = v;
    r->nv_base = base;
    /* A re-proposed base can only be the NEW-VIEW's block: no fresh PRE-PREPARE for it. */
    r->fresh_from = best != NULL ? base + 1 : base;
    if (base > r->height) {
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

/* Checks a NEW-VIEW's set and choice; on success returns the choice like choose(). */
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
        int rv = pbft__vc_check(r, vc);
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

void pbft__recv_newview(struct pbft *r, const struct pbft__msg *m)
{
    const struct pbft__vc *best = NULL, *top = NULL;

    /*
     * Our own view again: only useful to pick up the re-proposal of base after
     * we synced up to it (we were behind when the NEW-VIEW first came).
     */
    bool again = m->view == r->view && r->status == PBFT_STATUS_NORMAL;
    if (m->view < r->view || (again && !(m->reproposal && m->height == r->height &&
                                         !(r->acc && r->acc_view == r->view)))) {
        r->stats.dropped_duplicate++;
        return;
    }
    if (m->sender != pbft__primary(r, m->view)) {
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
        pbft__trace(r, "drop new-view v=%llu from %u: %s", (unsigned long long)m->view, m->sender,
                    pbft_strerror(rv));
        return;
    }
    pbft__trace(r, "accept new-view v=%llu base=%llu%s", (unsigned long long)m->view,
                (unsigned long long)m->height, best != NULL ? " re-proposal" : "");
    if (again) {
        pbft__accept(r, m->view, best->pcert.digest, m->payload, m->payload_len, m->sender, true);
        return;
    }
    free(r->nv_bytes);
    r->nv_bytes = NULL;
    install(r, m->view, m->height, best, m->payload, m->payload_len, top);
}
