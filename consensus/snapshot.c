/* The durable state of a replica as a bounded, strictly decoded byte string (DESIGN.md §3). */
#include <stdlib.h>
#include <string.h>

#include "consensus/internal.h"

/*
 * What must survive a crash, and why (Castro & Liskov 4.4 keep the same in
 * their log; TOCS '02 6.1 discusses what must be stable):
 *  - view and status, so a replica never goes back to a view it left;
 *  - the accepted pre-prepare (with its block) and our PREPARE/COMMIT of the
 *    latest view at the height in flight, so after a restart we never sign a
 *    different digest for a (view, height, kind) we signed;
 *  - the prepared certificate with its block, so a block that may have
 *    committed somewhere is re-proposed by the next view even if every replica
 *    crashed at once;
 *  - our VIEW-CHANGE signature, re-sent rather than re-signed;
 *  - fresh_from, the NEW-VIEW's constraint on fresh proposals in this view;
 *  - the last commit certificate (the node's ledger has it too).
 * Layout (big-endian): magic "PBS1", version u8, n u16, self u16, view u64,
 * status u8, height u64, fresh_from u64, last cert (height u64, view u64,
 * digest, sigs), then optional sections each behind a u8 flag: accepted
 * pre-prepare, my PREPARE, my COMMIT, prepared certificate, my VIEW-CHANGE.
 */

#define SNAP_MAGIC 0x50425331u /* "PBS1" */

static void put_vote(struct pbft__buf *b, const struct pbft__vote *v)
{
    pbft__put_u8(b, v->has ? 1 : 0);
    if (v->has) {
        pbft__put_u64(b, v->view);
        pbft__put_bytes(b, v->digest, PBFT_DIGEST_SIZE);
        pbft__put_bytes(b, v->sig, PBFT_SIG_SIZE);
    }
}

static void put_cert(struct pbft__buf *b, const struct pbft_cert *c)
{
    pbft__put_u64(b, c->height);
    pbft__put_u64(b, c->view);
    pbft__put_bytes(b, c->digest, PBFT_DIGEST_SIZE);
    pbft__put_sigs(b, c);
}

uint8_t *pbft__snapshot_encode(const struct pbft *r, size_t *out_len)
{
    struct pbft__buf b = { 0 };

    pbft__put_bytes(&b, (const uint8_t *)"PBS1", 4);
    pbft__put_u8(&b, PBFT_FORMAT_VERSION);
    pbft__put_u16(&b, (uint16_t)r->n);
    pbft__put_u16(&b, (uint16_t)r->cfg.self);
    pbft__put_u64(&b, r->view);
    pbft__put_u8(&b, (uint8_t)r->status);
    pbft__put_u64(&b, r->height);
    pbft__put_u64(&b, r->fresh_from);
    put_cert(&b, &r->last_cert);
    pbft__put_u8(&b, r->acc ? 1 : 0);
    if (r->acc) {
        pbft__put_u64(&b, r->acc_view);
        pbft__put_bytes(&b, r->acc_digest, PBFT_DIGEST_SIZE);
        pbft__put_u16(&b, (uint16_t)r->acc_proposer);
        pbft__put_u8(&b, r->acc_reproposal ? 1 : 0);
        pbft__put_u8(&b, r->pp_signed ? 1 : 0);
        pbft__put_bytes(&b, r->pp_sig, PBFT_SIG_SIZE);
        pbft__put_u32(&b, (uint32_t)r->acc_len);
        pbft__put_bytes(&b, r->acc_payload, r->acc_len);
    }
    put_vote(&b, &r->my_prepare);
    put_vote(&b, &r->my_commit);
    pbft__put_u8(&b, r->prepared ? 1 : 0);
    if (r->prepared) {
        put_cert(&b, &r->pcert);
        pbft__put_u32(&b, (uint32_t)r->p_len);
        pbft__put_bytes(&b, r->p_payload, r->p_len);
    }
    pbft__put_u8(&b, r->vc_signed ? 1 : 0);
    if (r->vc_signed) {
        pbft__put_bytes(&b, r->vc_signed_payload, PBFT_SIG_PAYLOAD_MAX);
        pbft__put_bytes(&b, r->vc_sig, PBFT_SIG_SIZE);
    }
    if (b.fail) {
        free(b.p);
        return NULL;
    }
    *out_len = b.len;
    return b.p;
}

static bool get_flag(struct pbft__rd *d)
{
    uint8_t v = pbft__get_u8(d);
    if (v > 1) {
        d->fail = true;
    }
    return v == 1;
}

static void get_fixed(struct pbft__rd *d, uint8_t *out, size_t len)
{
    const uint8_t *p = pbft__get_bytes(d, len);
    if (p != NULL) {
        memcpy(out, p, len);
    }
}

static void get_vote(struct pbft__rd *d, struct pbft__vote *v)
{
    v->has = get_flag(d);
    if (v->has) {
        v->view = pbft__get_u64(d);
        get_fixed(d, v->digest, PBFT_DIGEST_SIZE);
        get_fixed(d, v->sig, PBFT_SIG_SIZE);
    }
}

static void get_cert(struct pbft__rd *d, unsigned n, struct pbft_cert *c)
{
    c->height = pbft__get_u64(d);
    c->view = pbft__get_u64(d);
    get_fixed(d, c->digest, PBFT_DIGEST_SIZE);
    pbft__get_sigs(d, n, c);
}

/* Reads a payload into a fresh heap copy (bounded by max). */
static uint8_t *get_payload(struct pbft__rd *d, size_t max, size_t *out_len)
{
    uint32_t len = pbft__get_u32(d);
    const uint8_t *p;
    if (len > max || (p = pbft__get_bytes(d, len)) == NULL) {
        d->fail = true;
        return NULL;
    }
    *out_len = len;
    return pbft__dup(p, len);
}

/* Decodes into t (a zeroed struct pbft used as scratch). */
static int decode(struct pbft *r, struct pbft *t, struct pbft__rd *d)
{
    const uint8_t *magic = pbft__get_bytes(d, 4);
    if (magic == NULL || memcmp(magic, "PBS1", 4) != 0 || pbft__get_u8(d) != PBFT_FORMAT_VERSION) {
        return pbft__fail(r, PBFT_ERR_SNAPSHOT, "snapshot: bad magic or version");
    }
    if (pbft__get_u16(d) != r->n || pbft__get_u16(d) != r->cfg.self) {
        return pbft__fail(r, PBFT_ERR_SNAPSHOT, "snapshot: made for another n or replica");
    }
    t->view = pbft__get_u64(d);
    t->status = pbft__get_u8(d);
    t->height = pbft__get_u64(d);
    t->fresh_from = pbft__get_u64(d);
    get_cert(d, r->n, &t->last_cert);
    t->acc = get_flag(d);
    if (t->acc && !d->fail) {
        t->acc_view = pbft__get_u64(d);
        get_fixed(d, t->acc_digest, PBFT_DIGEST_SIZE);
        t->acc_proposer = pbft__get_u16(d);
        t->acc_reproposal = get_flag(d);
        t->pp_signed = get_flag(d);
        get_fixed(d, t->pp_sig, PBFT_SIG_SIZE);
        t->acc_payload = get_payload(d, r->cfg.max_payload, &t->acc_len);
    }
    get_vote(d, &t->my_prepare);
    get_vote(d, &t->my_commit);
    t->prepared = get_flag(d);
    if (t->prepared && !d->fail) {
        get_cert(d, r->n, &t->pcert);
        t->p_payload = get_payload(d, r->cfg.max_payload, &t->p_len);
    }
    t->vc_signed = get_flag(d);
    if (t->vc_signed) {
        get_fixed(d, t->vc_signed_payload, PBFT_SIG_PAYLOAD_MAX);
        get_fixed(d, t->vc_sig, PBFT_SIG_SIZE);
    }
    if (d->fail || d->off != d->len) {
        return pbft__fail(r, PBFT_ERR_SNAPSHOT, "snapshot: truncated or trailing bytes");
    }
    if (t->status > PBFT_STATUS_VIEW_CHANGE || t->height == 0 || t->acc_proposer >= r->n ||
        (t->acc && (t->acc_payload == NULL || t->acc_view > t->view)) ||
        (t->prepared && (t->p_payload == NULL || t->pcert.height != t->height))) {
        return pbft__fail(r, PBFT_ERR_SNAPSHOT, "snapshot: inconsistent fields");
    }
    /*
     * "A replica never goes back to a view it left" (above) and it signs and
     * prepares only in the view it is in (Castro & Liskov 4.2, 4.4): its own
     * votes and prepared certificate are of its view or an earlier one, and
     * its last certificate is that of height-1 (pbft__commit, on_synced and
     * START keep the two together). A snapshot that says otherwise was not
     * written by this core; restoring it would put the replica back in views
     * it voted in without those votes.
     */
    if ((t->my_prepare.has && t->my_prepare.view > t->view) ||
        (t->my_commit.has && t->my_commit.view > t->view) ||
        (t->prepared && t->pcert.view > t->view) || t->last_cert.height != t->height - 1) {
        return pbft__fail(r, PBFT_ERR_SNAPSHOT, "snapshot: votes ahead of its view or stray cert");
    }
    return 0;
}

/* Moves the per-height part of t into r (t's payloads are taken). */
static void take_slot(struct pbft *r, struct pbft *t)
{
    r->acc = t->acc;
    r->acc_view = t->acc_view;
    memcpy(r->acc_digest, t->acc_digest, PBFT_DIGEST_SIZE);
    r->acc_proposer = t->acc_proposer;
    r->acc_reproposal = t->acc_reproposal;
    r->pp_signed = t->pp_signed;
    memcpy(r->pp_sig, t->pp_sig, PBFT_SIG_SIZE);
    r->acc_payload = t->acc_payload;
    r->acc_len = t->acc_len;
    t->acc_payload = NULL;
    r->my_prepare = t->my_prepare;
    r->my_commit = t->my_commit;
    r->prepared = t->prepared;
    r->pcert = t->pcert;
    r->p_payload = t->p_payload;
    r->p_len = t->p_len;
    t->p_payload = NULL;
    r->vc_signed = t->vc_signed;
    memcpy(r->vc_signed_payload, t->vc_signed_payload, PBFT_SIG_PAYLOAD_MAX);
    memcpy(r->vc_sig, t->vc_sig, PBFT_SIG_SIZE);
    /* Our votes of the restored view go out again (they were durable already). */
    if (r->acc && r->my_prepare.has && r->my_prepare.view == r->acc_view &&
        memcmp(r->my_prepare.digest, r->acc_digest, PBFT_DIGEST_SIZE) == 0) {
        r->validated = 1;
        r->ok_known = true;
        memcpy(r->ok_digest, r->acc_digest, PBFT_DIGEST_SIZE);
    }
    if (r->status == PBFT_STATUS_NORMAL) {
        r->own_pp.live = r->pp_signed && r->acc_view == r->view;
        r->own_prepare.live = r->my_prepare.has && r->my_prepare.view == r->view;
        r->own_commit.live = r->my_commit.has && r->my_commit.view == r->view;
    }
}

int pbft__snapshot_decode(struct pbft *r, const uint8_t *p, size_t len)
{
    struct pbft__rd d = { .p = p, .len = len };
    struct pbft *t = calloc(1, sizeof(*t));
    int rv;

    if (t == NULL) {
        return PBFT_ERR_NOMEM;
    }
    rv = decode(r, t, &d);
    if (rv != 0) {
        goto out;
    }
    if (t->height > r->height) {
        rv = pbft__fail(r, PBFT_ERR_SNAPSHOT,
                        "snapshot at height %llu is ahead of the applied chain (%llu)",
                        (unsigned long long)t->height, (unsigned long long)r->height - 1);
        goto out;
    }
    r->view = t->view;
    r->status = t->status;
    r->fresh_from = t->fresh_from;
    if (t->last_cert.height > r->last_cert.height && t->last_cert.height + 1 == r->height) {
        r->last_cert = t->last_cert;
    }
    if (t->height == r->height) {
        take_slot(r, t);
    }
out:
    free(t->acc_payload);
    free(t->p_payload);
    free(t);
    return rv;
}
