/* Byzantine VIEW-CHANGEs and NEW-VIEWs: chosen and stale sets, wrong choices, replayed
 * certificates. */
#include <stdlib.h>
#include <string.h>

#include "tests/sim/craft.h"
#include "tests/sim/cluster.h"

/* Decodes the stash: up to SIM_VC_STASH VIEW-CHANGEs (their blocks borrow the blobs). */
static unsigned stash(const struct sim_cluster *c, const struct sim_replica *r, struct sim_vc *out)
{
    unsigned k = 0;
    for (unsigned i = 0; i < SIM_VC_STASH; i++) {
        const struct sim_blob *b = r->vc_stash[i];
        if (b != NULL && sim_vc_decode(b->data, b->len, (unsigned)c->n, &out[k]) == 0)
            k++;
    }
    return k;
}

void sim_byz_heard(struct sim_cluster *c, struct sim_replica *r, const uint8_t *bytes, size_t len)
{
    struct sim_vc vc;
    int kind = 0;
    if (!(r->byz_kinds & (SIM_BYZ_NEWVIEW | SIM_BYZ_VCHANGE)) ||
        pbft_msg_peek(bytes, len, &kind, NULL, NULL, NULL) != 0 || kind != PBFT_MSG_VIEWCHANGE ||
        len > c->msgcap || sim_vc_decode(bytes, len, (unsigned)c->n, &vc) != 0)
        return;
    /* What is crafted here is only worth anything while this encoder matches the core's. */
    size_t l = sim_vc_encode(&vc, false, c->msgbuf, c->msgcap);
    if (l != len || memcmp(c->msgbuf, bytes, len) != 0) {
        sim_check_fail(&c->chk, SIM_V_CORE_ERROR,
                       "tests/sim/craft.c no longer re-encodes the core's VIEW-CHANGE");
        return;
    }
    unsigned i = r->vc_next++ % SIM_VC_STASH;
    sim_blob_unref(r->vc_stash[i]);
    if ((r->vc_stash[i] = sim_blob_new(bytes, len)) == NULL)
        abort();
}

/* Sends crafted (len bytes in c->msgbuf) to a random part of the replicas `to` names and the
 * real message to the others: honest replicas meet two stories. */
static void split_send(struct sim_cluster *c, struct sim_replica *r, const struct pbft_out_msg *m,
                       size_t len)
{
    uint8_t *crafted = malloc(len);
    if (crafted == NULL)
        abort();
    memcpy(crafted, c->msgbuf, len);
    bool all = sim_rng_below(&c->rng, 3) == 0;
    for (int id = 0; id < c->n; id++) {
        if (id == r->id || (m->to != PBFT_BROADCAST && m->to != id))
            continue;
        if (all || sim_rng_below(&c->rng, 2))
            sim_cluster_send_to(c, r->slot, id, crafted, len);
        else
            sim_cluster_send_to(c, r->slot, id, m->bytes, m->len);
    }
    free(crafted);
}

/* Picks up to q VIEW-CHANGEs of distinct senders from vcs that `want` accepts, prepared ones
 * last when `hide_prepared`. Returns how many were put in set. */
static unsigned pick(const struct sim_cluster *c, const struct sim_vc *vcs, unsigned k,
                     bool (*want)(const struct sim_vc *vc, uint64_t view), uint64_t view,
                     bool hide_prepared, struct sim_vc *set)
{
    uint64_t senders = 0;
    unsigned count = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < k && count < (unsigned)c->q; i++) {
            const struct sim_vc *vc = &vcs[i];
            bool late = hide_prepared && vc->prepared;
            if ((pass == 0) == late || !want(vc, view) || (senders >> vc->sender & 1))
                continue;
            senders |= 1ULL << vc->sender;
            set[count++] = *vc;
        }
    }
    return count;
}

static bool for_view(const struct sim_vc *vc, uint64_t view)
{
    return vc->view == view;
}

static bool older_view(const struct sim_vc *vc, uint64_t view)
{
    return vc->view < view;
}

static uint64_t base_of(const struct sim_vc *set, unsigned count)
{
    uint64_t base = 0;
    for (unsigned i = 0; i < count; i++)
        base = set[i].height > base ? set[i].height : base;
    return base;
}

/* The prepared VIEW-CHANGE at base with the lowest (lowest) or highest view, NULL if none. */
static const struct sim_vc *prepared_at(const struct sim_vc *set, unsigned count, uint64_t base,
                                        bool lowest)
{
    const struct sim_vc *p = NULL;
    for (unsigned i = 0; i < count; i++) {
        const struct sim_vc *vc = &set[i];
        if (vc->prepared && vc->height == base && vc->payload_len > 0 &&
            (p == NULL ||
             (lowest ? vc->pcert.view < p->pcert.view : vc->pcert.view > p->pcert.view)))
            p = vc;
    }
    return p;
}

bool sim_byz_newview(struct sim_cluster *c, struct sim_replica *r, const struct pbft_out_msg *m)
{
    struct sim_vc vcs[SIM_VC_STASH], set[PBFT_MAX_N];
    struct pbft_crypto cr = sim_cluster_crypto(r);
    unsigned k = stash(c, r, vcs), count;
    uint64_t variant = sim_rng_below(&c->rng, 4), base;
    const struct sim_vc *p = NULL;
    if (variant == 1) /* stale: VIEW-CHANGEs for earlier views, under this view's NEW-VIEW */
        count = pick(c, vcs, k, older_view, m->view, false, set);
    else /* chosen: prepared ones left out when possible */
        count = pick(c, vcs, k, for_view, m->view, variant != 2, set);
    if (count == 0)
        return false;
    base = base_of(set, count);
    if (variant == 2) /* wrong choice: the lowest prepared view instead of the highest */
        p = prepared_at(set, count, base, true);
    if (variant == 3) /* a base the set does not give */
        base += sim_rng_below(&c->rng, 2) ? 1 : (uint64_t)-1;
    size_t len = sim_nv_encode(
        &cr, (unsigned)r->id, base, m->view, p != NULL, p != NULL ? p->pcert.digest : NULL, set,
        count, p != NULL ? p->payload : NULL, p != NULL ? p->payload_len : 0, c->msgbuf, c->msgcap);
    if (len == 0)
        return false;
    sim_trace(c->trace, c->now, r->slot, "BYZ new-view v=%llu: %s set of %u, base %llu%s",
              (unsigned long long)m->view,
              variant == 1 ? "stale" : (variant == 2 ? "lowest-prepared" : "chosen"), count,
              (unsigned long long)base, variant == 3 ? " (lying)" : "");
    split_send(c, r, m, len);
    c->st.byz[SIM_BK_NEWVIEW]++;
    return true;
}

bool sim_byz_viewchange(struct sim_cluster *c, struct sim_replica *r, const struct pbft_out_msg *m)
{
    struct sim_vc vcs[SIM_VC_STASH], own;
    struct pbft_crypto cr = sim_cluster_crypto(r);
    unsigned k = stash(c, r, vcs);
    if (sim_vc_decode(m->bytes, m->len, (unsigned)c->n, &own) != 0 || k == 0)
        return false;
    const struct sim_vc *old = &vcs[sim_rng_below(&c->rng, k)];
    uint64_t variant = sim_rng_below(&c->rng, 3);
    if (variant == 0 && old->prepared) {
        /* An old prepared certificate (another height, or an earlier view) as its own. */
        own.prepared = true;
        own.pcert = old->pcert;
        own.payload = old->payload;
        own.payload_len = old->payload_len;
    } else if (variant == 1 && old->height != own.height && old->height > 1) {
        own.cert = old->cert; /* a commit certificate of another height */
    } else {
        own.prepared = false; /* hides what it prepared */
        own.payload = NULL;
        own.payload_len = 0;
        variant = 2;
    }
    size_t len;
    if (sim_vc_sign(&cr, &own) != 0 ||
        (len = sim_vc_encode(&own, false, c->msgbuf, c->msgcap)) == 0)
        return false;
    sim_trace(c->trace, c->now, r->slot, "BYZ view-change v=%llu h=%llu: %s",
              (unsigned long long)own.view, (unsigned long long)own.height,
              variant == 0 ? "replayed prepared certificate"
                           : (variant == 1 ? "replayed commit certificate" : "hides its prepared"));
    split_send(c, r, m, len);
    c->st.byz[SIM_BK_VCHANGE]++;
    return true;
}
