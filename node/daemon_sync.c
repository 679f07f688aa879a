/* sealchaind: catching up from peers, and serving them blocks (node/wire.h SYNC_*). */
#include "node/daemon_internal.h"

/* ---- sync ------------------------------------------------------------------------ */

void node__batch_clear(struct daemon *dm)
{
    for (size_t i = 0; i < dm->batch_len; i++) {
        free(dm->batch[i].block);
        free(dm->batch[i].cert);
    }
    dm->batch_len = 0;
    dm->batch_bytes = 0;
}

static void sync_request(struct daemon *dm, unsigned peer, uint64_t from, uint64_t target)
{
    uint64_t count = target - from + 1;
    if (count > NODE_SYNC_BATCH)
        count = NODE_SYNC_BATCH;
    uint8_t body[NODE_WIRE_SYNC_REQ_LEN];
    ledger_put_u64be(body, from);
    ledger_put_u32be(body + 8, (uint32_t)count);
    if (node_p2p_send(dm->p2p, peer, NODE_WIRE_SYNC_REQ, body, sizeof body) != 0)
        return;
    dm->sync_active = true;
    dm->sync_peer = peer;
    dm->sync_from = from;
    dm->sync_count = (uint32_t)count;
    dm->sync_started = node__now_ms();
    if (dm->sync_t0 == 0) {
        dm->sync_t0 = dm->sync_started;
        dm->sync_applied = 0;
        node_log(NODE_LOG_INFO, "sync", "start tip=%" PRIu64 " target=%" PRIu64 " peer=%u",
                 from - 1, target, peer);
    }
}

/* Whom to ask for blocks (LEDGER_MAX_VALIDATORS: nobody). First the peer
 * whose certificate told the core we are behind (a certified height is
 * real), unless it has left a request unanswered: a certificate carries no
 * sender signature, so any peer can relay one and then stay silent. Else,
 * when f+1 peers vouch for a height above ours, one of the peers claiming
 * at least that; else one with the best claim (one peer ahead: perhaps we
 * missed a commit). Among those, the one that left the fewest requests
 * unanswered, then the lowest claim: a liar's inflated claim loses to the
 * honest ones, and a liar that never answers is asked last. */
static unsigned pick_sync_peer(const struct daemon *dm, uint64_t tip, bool behind,
                               unsigned behind_p)
{
    const struct peer *ps = dm->peers;
    unsigned n = dm->o->g->n, pick = LEDGER_MAX_VALIDATORS;
    if (behind && behind_p < n && ps[behind_p].up && ps[behind_p].tip > tip &&
        ps[behind_p].sync_fails == 0)
        return behind_p;
    uint64_t floor = node__vouched_height(dm);
    if (floor <= tip)
        floor = node__best_peer_height(dm);
    for (unsigned i = 0; i < n; i++) {
        if (i == dm->o->self || !ps[i].up || ps[i].tip < floor || ps[i].tip <= tip)
            continue;
        if (pick == LEDGER_MAX_VALIDATORS || ps[i].sync_fails < ps[pick].sync_fails ||
            (ps[i].sync_fails == ps[pick].sync_fails && ps[i].tip < ps[pick].tip))
            pick = i;
    }
    if (pick == LEDGER_MAX_VALIDATORS && behind && behind_p < n && ps[behind_p].up)
        pick = behind_p;
    return pick;
}

/* Decides whether to fetch blocks, and from whom: when the core reports a
 * certified height above ours, when a peer is two or more blocks ahead, or
 * one ahead for longer than a commit takes. */
void node__maybe_sync(struct daemon *dm, uint64_t now)
{
    if (dm->stopping || dm->p2p == NULL)
        return;
    if (dm->sync_active) {
        /* now may predate the last progress (a handler's start time) */
        if (now < dm->sync_started || now - dm->sync_started < SYNC_STALL_MS)
            return;
        node_log(NODE_LOG_WARN, "sync", "timeout peer=%u from=%" PRIu64, dm->sync_peer,
                 dm->sync_from);
        /* Its claim is forgotten until it announces again, and it is asked
         * last from now on, so the next request goes to another peer. */
        dm->peers[dm->sync_peer].tip = 0;
        dm->peers[dm->sync_peer].sync_fails++;
        dm->sync_active = false;
        node__batch_clear(dm);
        dm->sync_retry_at = now + 500;
    }
    if (now < dm->sync_retry_at)
        return;
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    uint64_t behind_h = 0;
    unsigned behind_p = 0;
    bool behind = node_driver_behind(dm->d, &behind_h, &behind_p);
    uint64_t best = node__best_peer_height(dm);
    if (best > tip.height) {
        if (dm->lag_since == 0)
            dm->lag_since = now;
    } else {
        dm->lag_since = 0;
    }
    /* A node in step with a busy chain often hears of a block or two before
     * it commits them itself: that is consensus in flight, not lag, and
     * fetching them would only compete with it. Sync when the core says so
     * (it saw certified heights beyond its own) and either they are
     * SYNC_GAP or more ahead or our tip has not moved for SYNC_BEHIND_MS;
     * when peers are well ahead; or when one has been ahead for LAG_MS
     * without our tip moving. */
    if (!behind)
        dm->behind_since = 0;
    else if (dm->behind_since == 0 || dm->behind_tip != tip.height) {
        dm->behind_since = now;
        dm->behind_tip = tip.height;
    }
    bool behind_due = behind && (behind_h >= tip.height + SYNC_GAP || now < dm->behind_since ||
                                 now - dm->behind_since >= SYNC_BEHIND_MS);
    bool want = behind_due || best >= tip.height + SYNC_GAP ||
                (best > tip.height && now - dm->lag_since >= LAG_MS);
    if (!want) {
        if (dm->sync_t0 != 0 && best <= tip.height) {
            node_log(NODE_LOG_INFO, "sync", "caught up height=%" PRIu64, tip.height);
            dm->sync_t0 = 0;
        }
        return;
    }
    uint64_t target = behind_h > best ? behind_h : best;
    unsigned peer = pick_sync_peer(dm, tip.height, behind, behind_p);
    if (peer == LEDGER_MAX_VALIDATORS)
        return;
    sync_request(dm, peer, tip.height + 1, target > tip.height ? target : tip.height + 1);
}

/* Sends blocks [from, from + count) that we have (at most NODE_SYNC_BATCH and
 * SYNC_ANSWER_BYTES, at least one), then SYNC_END; returns the bytes sent. */
static size_t answer_sync(struct daemon *dm, unsigned peer, const uint8_t *body)
{
    uint64_t from = 0;
    uint32_t count = 0;
    for (int i = 0; i < 8; i++)
        from = from << 8 | body[i];
    for (int i = 8; i < 12; i++)
        count = count << 8 | body[i];
    if (count > NODE_SYNC_BATCH)
        count = NODE_SYNC_BATCH;
    struct ledger_rtxn *r;
    uint64_t last = 0;
    size_t bytes = 0;
    if (from > 0 && ledger_rtxn_begin(ledger_store_get(dm->l), &r) == 0) {
        for (uint64_t h = from; h < from + count && bytes < SYNC_ANSWER_BYTES; h++) {
            const uint8_t *b;
            size_t blen;
            if (ledger_rtxn_block(r, h, &b, &blen) != 0)
                break;
            if (node_p2p_send(dm->p2p, peer, NODE_WIRE_SYNC_BLOCK, b, blen) != 0)
                break;
            bytes += blen;
            last = h;
        }
        ledger_rtxn_end(r);
    }
    uint8_t end[NODE_WIRE_SYNC_END_LEN];
    ledger_put_u64be(end, last);
    node_p2p_send(dm->p2p, peer, NODE_WIRE_SYNC_END, end, sizeof end);
    return bytes;
}

static void refill(struct peer *pe, uint64_t now)
{
    if (now > pe->credit_at) {
        uint64_t add = (now - pe->credit_at) * (SYNC_SERVE_RATE / 1000);
        pe->credit = add >= SYNC_SERVE_BURST || pe->credit + (int64_t)add > SYNC_SERVE_BURST
                         ? SYNC_SERVE_BURST
                         : pe->credit + (int64_t)add;
    }
    pe->credit_at = now;
}

static void charge(struct peer *pe, size_t bytes)
{
    pe->credit -= (int64_t)(bytes > SYNC_ANSWER_MIN_COST ? bytes : SYNC_ANSWER_MIN_COST);
}

void node__serve_sync(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len,
                      uint64_t now)
{
    struct peer *pe = &dm->peers[peer];
    if (len != NODE_WIRE_SYNC_REQ_LEN) {
        node_p2p_drop(dm->p2p, peer, "malformed sync request");
        return;
    }
    if (pe->owed) {
        node_p2p_drop(dm->p2p, peer, "sync request while another is unanswered");
        return;
    }
    refill(pe, now);
    if (pe->credit <= 0) {
        pe->owed = true;
        memcpy(pe->owed_req, body, NODE_WIRE_SYNC_REQ_LEN);
        return;
    }
    charge(pe, answer_sync(dm, peer, body));
}

/* Answers the requests owed once their peer's credit is back; returns the
 * time the next one is due (0: none owed). */
uint64_t node__serve_owed(struct daemon *dm, uint64_t now)
{
    uint64_t next = 0;
    for (unsigned i = 0; i < dm->o->g->n && dm->p2p != NULL; i++) {
        struct peer *pe = &dm->peers[i];
        if (!pe->owed)
            continue;
        refill(pe, now);
        if (pe->credit > 0) {
            pe->owed = false;
            charge(pe, answer_sync(dm, i, pe->owed_req));
            continue;
        }
        uint64_t due = now + (uint64_t)(-pe->credit) / (SYNC_SERVE_RATE / 1000) + 1;
        if (next == 0 || due < next)
            next = due;
    }
    return next;
}

/* A certificate holds at most n signers (index and 64-byte signature, with
 * their protobuf framing, under 80 bytes each) besides its height, view and
 * block hash. */
#define SYNC_CERT_MAX(n) (128u + (size_t)(n)*80u)
/* The most an honest answer holds: the server stops once SYNC_ANSWER_BYTES
 * are sent, so past them comes at most one more block with its certificate.
 * A peer that sends more is not answering the request. */
#define SYNC_BATCH_BYTES_MAX(n) (SYNC_ANSWER_BYTES + LEDGER_MAX_BLOCK_LEN + SYNC_CERT_MAX(n))

static bool get_varint(const uint8_t *in, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
        uint8_t b = in[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Splits an encoded StoredBlock (field 1: Block, field 2: CommitCert, each
 * once, in that order, nothing else) into borrowed slices of in, without
 * unpacking: protobuf-c allocates for every repeated entry before anything
 * can bound them (ledger_wire_count), so unpacking 8 MiB of empty tx entries
 * cost ~200 MiB. The ledger decodes the slices with its bounds. */
static bool split_stored(const uint8_t *in, size_t len, const uint8_t *out[2], size_t out_len[2])
{
    size_t pos = 0;
    for (uint64_t field = 1; field <= 2; field++) {
        uint64_t key, n;
        if (!get_varint(in, len, &pos, &key) || key != (field << 3 | 2) ||
            !get_varint(in, len, &pos, &n) || n > len - pos)
            return false;
        out[field - 1] = in + pos;
        out_len[field - 1] = (size_t)n;
        pos += (size_t)n;
    }
    return pos == len;
}

static uint8_t *copy_of(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    if (c != NULL && len > 0)
        memcpy(c, p, len);
    return c;
}

/* A StoredBlock from the peer we asked: split into block and certificate
 * bytes for ledger_commit_blocks (which checks everything), within what an
 * honest answer can hold. */
void node__take_block(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len)
{
    if (!dm->sync_active || peer != dm->sync_peer || dm->batch_len >= dm->sync_count) {
        node_p2p_drop(dm->p2p, peer, "unasked sync block");
        return;
    }
    const uint8_t *part[2]; /* block, certificate */
    size_t part_len[2];
    struct ledger_header h;
    if (!split_stored(body, len, part, part_len) || part_len[1] > SYNC_CERT_MAX(dm->o->g->n)) {
        node_p2p_drop(dm->p2p, peer, "malformed sync block");
        return;
    }
    if (len > SYNC_BATCH_BYTES_MAX(dm->o->g->n) - dm->batch_bytes) {
        node_p2p_drop(dm->p2p, peer, "sync answer larger than any honest one");
        return;
    }
    if (ledger_block_header(part[0], part_len[0], &h) != 0) {
        node_p2p_drop(dm->p2p, peer, "sync block does not decode");
        return;
    }
    if (h.height != dm->sync_from + dm->batch_len) {
        node_p2p_drop(dm->p2p, peer, "sync block out of order");
        return;
    }
    struct sync_item it = { .block = copy_of(part[0], part_len[0]),
                            .cert = copy_of(part[1], part_len[1]),
                            .block_len = part_len[0],
                            .cert_len = part_len[1],
                            .height = h.height };
    if (it.block == NULL || it.cert == NULL) {
        free(it.block);
        free(it.cert);
        return;
    }
    dm->batch_bytes += len;
    dm->batch[dm->batch_len++] = it;
    dm->sync_started = node__now_ms(); /* progress: the stall clock restarts */
}

void node__apply_batch(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len)
{
    if (!dm->sync_active || peer != dm->sync_peer || len != NODE_WIRE_SYNC_END_LEN) {
        node_p2p_drop(dm->p2p, peer, "unasked sync end");
        return;
    }
    uint64_t last = 0;
    for (int i = 0; i < 8; i++)
        last = last << 8 | body[i];
    uint64_t got = dm->batch_len ? dm->batch[dm->batch_len - 1].height : 0;
    if (last != got) {
        node__batch_clear(dm);
        dm->sync_active = false;
        node_p2p_drop(dm->p2p, peer, "sync end does not match the blocks sent");
        return;
    }
    uint64_t now = node__now_ms();
    dm->sync_active = false;
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    /* Consensus may have committed some of these while they were in flight. */
    size_t skip = 0;
    while (skip < dm->batch_len && dm->batch[skip].height <= tip.height)
        skip++;
    size_t count = dm->batch_len - skip;
    if (dm->batch_len == 0 && dm->peers[peer].tip >= dm->sync_from) {
        /* An honest peer holding the blocks it announced sends at least
         * one: this one claimed a chain it does not have. */
        char why[128];
        snprintf(why, sizeof why, "claimed tip %" PRIu64 " but sent no block from %" PRIu64,
                 dm->peers[peer].tip, dm->sync_from);
        dm->peers[peer].tip = 0;
        node_p2p_drop(dm->p2p, peer, why);
        return;
    }
    if (count == 0) {
        if (dm->batch_len == 0)
            dm->sync_retry_at = now + 500; /* the peer has nothing for us yet */
        node__batch_clear(dm);
        return;
    }
    struct ledger_certified c[NODE_SYNC_BATCH];
    for (size_t i = 0; i < count; i++) {
        struct sync_item *it = &dm->batch[skip + i];
        c[i] = (struct ledger_certified){ it->block, it->block_len, it->cert, it->cert_len };
    }
    uint64_t t0 = node__mono_ns();
    int rc = ledger_commit_blocks(dm->l, c, count);
    double each = (double)(node__mono_ns() - t0) / 1e9 / (double)count;
    node__batch_clear(dm);
    if (rc != 0) {
        if (ledger_failed(dm->l)) {
            node__fatal(dm, "sync", ledger_errmsg(dm->l));
            return;
        }
        char why[LEDGER_ERRMSG_LEN + 32];
        snprintf(why, sizeof why, "bad sync blocks: %s", ledger_errmsg(dm->l));
        node_p2p_drop(dm->p2p, peer, why);
        return;
    }
    dm->sync_applied += count;
    for (size_t i = 0; i < count; i++)
        node_stats_block_exec(dm->stats, each);
    node_stats_blocks(dm->stats, dm->l, node__mono_ms(), node__now_ms());
    dm->peers[peer].sync_fails = 0;
    ledger_tip_get(dm->l, &tip);
    uint64_t best = node__best_peer_height(dm);
    double secs = (double)(node__now_ms() - dm->sync_t0) / 1000.0;
    node_log(NODE_LOG_INFO, "sync",
             "applied=%zu height=%" PRIu64 " target=%" PRIu64 " peer=%u rate=%.0f_blocks/s", count,
             tip.height, best > tip.height ? best : tip.height, peer,
             secs > 0 ? (double)dm->sync_applied / secs : 0.0);
    node__checked(dm, node_driver_synced(dm->d, node__now_ms()), "synced");
    node__resolve_committed(dm);
    node__maybe_sync(dm, node__now_ms());
}
