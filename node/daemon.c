/* sealchaind's core: the driver, the peer links, sync and the operator socket on one loop. */
#include "node/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "ledger/err.h"
#include "ledger/exec.h"
#include "ledger/ledger.h"
#include "ledger/query.h"
#include "ledger/tx.h"
#include "node/api.h"
#include "node/api_query.h"
#include "node/chain_timed.h"
#include "node/driver.h"
#include "node/http.h"
#include "node/log.h"
#include "node/metrics.h"
#include "node/stats.h"
#include "node/wire.h"
#include "proto/api.pb-c.h"
#include "proto/block.pb-c.h"

/* Housekeeping period: the driver's overdue check and proposals, sync
 * retries, waiter time-outs. Short enough that a request never waits on it
 * noticeably, long enough to cost nothing when idle. */
#define TICK_MS 50
/* A sync request that brings no block for this long is given up and asked
 * elsewhere. An honest server queues its whole answer at once, so blocks
 * flow within a round trip; 3 s covers a maximal block (16 MiB) on a
 * 50 Mbit/s link, and bounds what a peer that never answers costs. */
#define SYNC_STALL_MS 3000
/* A peer one block ahead for this long means we missed a commit: sync. */
#define LAG_MS 1000
/* Bytes of blocks in one sync answer: big enough to amortise the round trip,
 * small enough to sit in a peer's send queue beside consensus traffic. */
#define SYNC_ANSWER_BYTES (8u << 20)
/* A TIP is re-announced this often, so a peer that missed one still learns
 * how far we are (and a new node learns it has to sync). */
#define TIP_EVERY_MS 2000
/* Serving sync, per peer: a token bucket in bytes. Each answer costs its
 * bytes, and at least SYNC_ANSWER_MIN_COST, so a flood of 12-byte requests
 * for small blocks cannot buy hundreds of answers a second either. An
 * honest requester asks again only after applying the last answer, which
 * takes longer than the bucket needs to refill (8 MiB of blocks take far
 * more than the quarter second 8 MiB of credit takes at this rate); a
 * request that finds the bucket empty is owed and answered when it refills,
 * and a second request while one is owed is a flood: the peer is dropped. */
#define SYNC_SERVE_RATE      (32u << 20) /* bytes per second */
#define SYNC_ANSWER_MIN_COST (256u << 10)
#define SYNC_SERVE_BURST     (2 * SYNC_ANSWER_MIN_COST)

struct waiter {
    uint8_t id[LEDGER_HASH_LEN];
    uint64_t client, req;
    uint64_t deadline;
};

struct peer {
    bool up;
    uint64_t tip;        /* claimed in its last TIP: a hint until blocks back it */
    unsigned sync_fails; /* our requests it left unanswered (reset by an answer) */
    /* serving its sync requests (SYNC_SERVE_RATE) */
    int64_t credit;
    uint64_t credit_at;
    bool owed;
    uint8_t owed_req[NODE_WIRE_SYNC_REQ_LEN];
};

struct sync_item {
    uint8_t *block, *cert;
    size_t block_len, cert_len;
    uint64_t height;
};

struct daemon {
    uv_loop_t loop;
    const struct node_daemon_opts *o;
    struct ledger *l;
    struct node_driver *d;
    struct node_chain_ledger cl;   /* the ledger's chain table, */
    struct node_chain_timed timed; /* timed for the metrics, */
    struct node_chain chain;       /* as the driver sees it */
    struct node_p2p *p2p;
    struct node_api *api;
    struct node_stats *stats;
    struct node_http *http; /* NULL unless metrics_listen is set */
    uv_timer_t timer;
    uv_signal_t sigterm, sigint;
    bool handles_open;
    struct peer peers[LEDGER_MAX_VALIDATORS];
    struct waiter *waiters;
    size_t n_waiters;
    /* sync */
    bool sync_active;
    unsigned sync_peer;
    uint64_t sync_from, sync_started, sync_retry_at, lag_since;
    uint32_t sync_count;
    struct sync_item batch[NODE_SYNC_BATCH];
    size_t batch_len, batch_bytes;
    uint64_t sync_t0, sync_applied; /* progress of the current catch-up */
    uint64_t last_tip_sent;
    unsigned verifying; /* admissions in the thread pool */
    uint64_t logged_view;
    int exit_code;
    bool stopping;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Monotonic clocks, for durations (metrics). */
static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
    return mono_ns() / 1000000u;
}

static void stop(struct daemon *dm, int code);

static void fatal(struct daemon *dm, const char *what, const char *why)
{
    node_log(NODE_LOG_ERROR, "node", "fail-stop what=\"%s\" reason=\"%s\"", what, why);
    /* LMDB reports a short write on a full disk as EIO ("Input/output
     * error"), sometimes as ENOSPC: say what the operator should look at. */
    if (strstr(why, "No space left") != NULL || strstr(why, "Input/output error") != NULL)
        node_log(NODE_LOG_ERROR, "node",
                 "hint=\"the disk under %s is full or failing; nothing partial was written: "
                 "free space and restart, the node catches up\"",
                 dm->o->data_dir);
    stop(dm, 1);
}

/* After any driver call: a fatal ledger state stops the node. */
static void checked(struct daemon *dm, int rc, const char *what)
{
    if (rc == LEDGER_E_FATAL && !dm->stopping) {
        const char *why = node_driver_errmsg(dm->d);
        fatal(dm, what, why[0] != '\0' ? why : ledger_errmsg(dm->l));
    }
}

/* One info line per view change, whatever caused it (a time-out here, f+1
 * VIEW-CHANGEs, an overdue request, a NEW-VIEW). */
static void note_view(struct daemon *dm)
{
    if (dm->d == NULL)
        return;
    struct pbft_stats st;
    node_driver_stats(dm->d, &st);
    if (st.view == dm->logged_view)
        return;
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    node_log(NODE_LOG_INFO, "consensus",
             "view change view=%" PRIu64 " primary=%u height=%" PRIu64 " view_changes=%" PRIu64,
             st.view, (unsigned)(st.view % dm->o->g->n), tip.height, st.view_changes);
    dm->logged_view = st.view;
}

static void short_hex(const uint8_t *h, char out[17])
{
    ledger_hex(h, 8, out);
}

/* ---- peers -------------------------------------------------------------------- */

static void send_tip(struct daemon *dm, int to)
{
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    uint8_t body[NODE_WIRE_TIP_LEN];
    ledger_put_u64be(body, tip.height);
    memcpy(body + 8, tip.hash, LEDGER_HASH_LEN);
    if (to < 0)
        node_p2p_broadcast(dm->p2p, NODE_WIRE_TIP, body, sizeof body);
    else
        node_p2p_send(dm->p2p, (unsigned)to, NODE_WIRE_TIP, body, sizeof body);
    dm->last_tip_sent = now_ms();
}

static uint64_t best_peer_height(const struct daemon *dm)
{
    uint64_t best = 0;
    for (unsigned i = 0; i < dm->o->g->n; i++)
        if (i != dm->o->self && dm->peers[i].up && dm->peers[i].tip > best)
            best = dm->peers[i].tip;
    return best;
}

/* The height that f+1 connected peers claim at least: one of them is
 * honest, so the chain is that long. One peer's word (a Byzantine one may
 * announce 2^64-1) only makes the node ask that peer for blocks; it never
 * makes the node call itself behind and turn operators away. */
static uint64_t vouched_height(const struct daemon *dm)
{
    uint64_t tips[LEDGER_MAX_VALIDATORS];
    size_t k = 0;
    for (unsigned i = 0; i < dm->o->g->n; i++)
        if (i != dm->o->self && dm->peers[i].up)
            tips[k++] = dm->peers[i].tip;
    size_t f = (dm->o->g->n - 1) / 3;
    if (k <= f)
        return 0;
    /* the (f+1)-th highest: a partial selection sort, f is small */
    for (size_t i = 0; i <= f; i++)
        for (size_t j = i + 1; j < k; j++)
            if (tips[j] > tips[i]) {
                uint64_t t = tips[i];
                tips[i] = tips[j];
                tips[j] = t;
            }
    return tips[f];
}

static bool syncing(const struct daemon *dm)
{
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    return vouched_height(dm) >= tip.height + 2;
}

static void send_cb(void *ctx, int to, const uint8_t *bytes, size_t len)
{
    struct daemon *dm = ctx;
    if (dm->p2p == NULL)
        return; /* messages of the start step: the core re-sends on its timers */
    if (to == PBFT_BROADCAST)
        node_p2p_broadcast(dm->p2p, NODE_WIRE_CONSENSUS, bytes, len);
    else if (to >= 0 && (unsigned)to != dm->o->self)
        node_p2p_send(dm->p2p, (unsigned)to, NODE_WIRE_CONSENSUS, bytes, len);
}

/* ---- waiting submits ---------------------------------------------------------- */

static void reply(struct daemon *dm, uint64_t client, Sealchain__ApiReply *r)
{
    size_t len = sealchain__api_reply__get_packed_size(r);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return;
    sealchain__api_reply__pack(r, buf);
    node_api_reply(dm->api, client, buf, len);
    free(buf);
}

static void reply_submit(struct daemon *dm, uint64_t client, uint64_t req, const uint8_t *id,
                         const char *status, uint64_t height, Sealchain__ApiOutcome outcome,
                         int code, const char *error)
{
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    Sealchain__SubmitReply s = SEALCHAIN__SUBMIT_REPLY__INIT;
    r.id = req;
    r.outcome = outcome;
    r.code = (uint32_t)code;
    r.error = (char *)(error ? error : "");
    s.tx_id.data = (uint8_t *)id;
    s.tx_id.len = LEDGER_HASH_LEN;
    s.status = (char *)status;
    s.height = height;
    r.rep_case = SEALCHAIN__API_REPLY__REP_SUBMIT;
    r.submit = &s;
    reply(dm, client, &r);
}

static void waiter_remove(struct daemon *dm, size_t i)
{
    dm->waiters[i] = dm->waiters[--dm->n_waiters];
}

/* Answers every waiter whose tx is now on chain. */
static void resolve_committed(struct daemon *dm)
{
    if (dm->n_waiters == 0)
        return;
    struct ledger_rtxn *r;
    if (ledger_rtxn_begin(ledger_store_get(dm->l), &r) != 0)
        return;
    for (size_t i = 0; i < dm->n_waiters;) {
        uint64_t height;
        uint32_t index;
        struct waiter *w = &dm->waiters[i];
        if (ledger_rtxn_tx_location(r, w->id, &height, &index) == 0) {
            reply_submit(dm, w->client, w->req, w->id, "committed", height,
                         SEALCHAIN__API_OUTCOME__API_OUTCOME_OK, 0, NULL);
            waiter_remove(dm, i);
            continue;
        }
        i++;
    }
    ledger_rtxn_end(r);
}

static void on_drop(void *ctx, const uint8_t id[LEDGER_HASH_LEN], int code, const char *reason)
{
    struct daemon *dm = ctx;
    node_stats_forget(dm->stats, id);
    for (size_t i = 0; i < dm->n_waiters;) {
        struct waiter *w = &dm->waiters[i];
        if (memcmp(w->id, id, LEDGER_HASH_LEN) == 0) {
            reply_submit(dm, w->client, w->req, w->id, "rejected", 0,
                         SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED, code, reason);
            waiter_remove(dm, i);
            continue;
        }
        i++;
    }
}

static void expire_waiters(struct daemon *dm, uint64_t now)
{
    for (size_t i = 0; i < dm->n_waiters;) {
        struct waiter *w = &dm->waiters[i];
        if (now >= w->deadline) {
            reply_submit(dm, w->client, w->req, w->id, "pending", 0,
                         SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                         "not committed in time; it may still commit");
            waiter_remove(dm, i);
            continue;
        }
        i++;
    }
}

static void on_commit(void *ctx, uint64_t height, size_t txs)
{
    struct daemon *dm = ctx;
    struct pbft_stats st;
    node_driver_stats(dm->d, &st);
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    char h[17];
    short_hex(tip.hash, h);
    node_log(NODE_LOG_INFO, "consensus",
             "commit height=%" PRIu64 " txs=%zu view=%" PRIu64 " hash=%s mempool=%zu", height, txs,
             st.view, h, node_driver_mempool_len(dm->d));
    dm->lag_since = 0;
    node_stats_block_exec(dm->stats, (double)node_chain_timed_last_ns(&dm->timed) / 1e9);
    node_stats_blocks(dm->stats, dm->l, mono_ms(), now_ms());
    if (dm->p2p != NULL)
        send_tip(dm, -1);
    resolve_committed(dm);
}

/* ---- sync ------------------------------------------------------------------------ */

static void batch_clear(struct daemon *dm)
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
    dm->sync_started = now_ms();
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
    uint64_t floor = vouched_height(dm);
    if (floor <= tip)
        floor = best_peer_height(dm);
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
static void maybe_sync(struct daemon *dm, uint64_t now)
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
        batch_clear(dm);
        dm->sync_retry_at = now + 500;
    }
    if (now < dm->sync_retry_at)
        return;
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    uint64_t behind_h = 0;
    unsigned behind_p = 0;
    bool behind = node_driver_behind(dm->d, &behind_h, &behind_p);
    uint64_t best = best_peer_height(dm);
    if (best > tip.height) {
        if (dm->lag_since == 0)
            dm->lag_since = now;
    } else {
        dm->lag_since = 0;
    }
    bool want =
        behind || best >= tip.height + 2 || (best > tip.height && now - dm->lag_since >= LAG_MS);
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

static void serve_sync(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len,
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
static uint64_t serve_owed(struct daemon *dm, uint64_t now)
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
static void take_block(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len)
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
    dm->sync_started = now_ms(); /* progress: the stall clock restarts */
}

static void apply_batch(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len)
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
        batch_clear(dm);
        dm->sync_active = false;
        node_p2p_drop(dm->p2p, peer, "sync end does not match the blocks sent");
        return;
    }
    uint64_t now = now_ms();
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
        batch_clear(dm);
        return;
    }
    struct ledger_certified c[NODE_SYNC_BATCH];
    for (size_t i = 0; i < count; i++) {
        struct sync_item *it = &dm->batch[skip + i];
        c[i] = (struct ledger_certified){ it->block, it->block_len, it->cert, it->cert_len };
    }
    uint64_t t0 = mono_ns();
    int rc = ledger_commit_blocks(dm->l, c, count);
    double each = (double)(mono_ns() - t0) / 1e9 / (double)count;
    batch_clear(dm);
    if (rc != 0) {
        if (ledger_failed(dm->l)) {
            fatal(dm, "sync", ledger_errmsg(dm->l));
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
    node_stats_blocks(dm->stats, dm->l, mono_ms(), now_ms());
    dm->peers[peer].sync_fails = 0;
    ledger_tip_get(dm->l, &tip);
    uint64_t best = best_peer_height(dm);
    double secs = (double)(now_ms() - dm->sync_t0) / 1000.0;
    node_log(NODE_LOG_INFO, "sync",
             "applied=%zu height=%" PRIu64 " target=%" PRIu64 " peer=%u rate=%.0f_blocks/s", count,
             tip.height, best > tip.height ? best : tip.height, peer,
             secs > 0 ? (double)dm->sync_applied / secs : 0.0);
    checked(dm, node_driver_synced(dm->d, now_ms()), "synced");
    resolve_committed(dm);
    maybe_sync(dm, now_ms());
}

static int admit_start(struct daemon *dm, const uint8_t *tx, size_t len, bool from_api,
                       uint64_t client, uint64_t req, bool wait, uint32_t wait_ms);

/* ---- frames from peers --------------------------------------------------------- */

/* Hands a consensus message to the driver. A message the core finds badly
 * signed drops the peer (returns false): an honest node signs its own
 * messages and relays only signatures it verified, while each bad one costs
 * this loop an Ed25519 verification, so a peer left connected could keep it
 * busy with them. */
static bool consensus_receive(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len,
                              uint64_t now)
{
    struct pbft_stats before, after;
    node_driver_stats(dm->d, &before);
    checked(dm, node_driver_receive(dm->d, peer, body, len, now), "consensus message");
    if (dm->stopping)
        return false;
    node_driver_stats(dm->d, &after);
    if (after.dropped_bad_sig > before.dropped_bad_sig) {
        node_p2p_drop(dm->p2p, peer, "consensus message with a bad signature");
        return false;
    }
    return true;
}

/* True when body starts like a PBFT message of a known kind sent by peer.
 * An honest node only sends its own messages (votes, its PRE-PREPARE and
 * NEW-VIEW as primary, certificates as their sender), so anything else is
 * a broken or hostile peer; the core checks the rest (body, signatures). */
static bool own_message(const uint8_t *body, size_t len, unsigned peer)
{
    int kind;
    unsigned sender;
    return pbft_msg_peek(body, len, &kind, &sender, NULL, NULL) == 0 &&
           kind >= PBFT_MSG_PREPREPARE && kind <= PBFT_MSG_CERT && sender == peer;
}

static void on_frame(void *ctx, unsigned peer, uint8_t type, const uint8_t *body, size_t len)
{
    struct daemon *dm = ctx;
    if (dm->stopping)
        return;
    uint64_t now = now_ms();
    switch (type) {
    case NODE_WIRE_CONSENSUS:
        if (!own_message(body, len, peer)) {
            node_p2p_drop(dm->p2p, peer, "consensus frame is not one of its own messages");
            return;
        }
        if (!consensus_receive(dm, peer, body, len, now))
            return;
        note_view(dm);
        break;
    case NODE_WIRE_TX:
        if (admit_start(dm, body, len, false, 0, 0, false, 0) == LEDGER_E_MALFORMED) {
            node_p2p_drop(dm->p2p, peer, "transaction does not decode");
            return;
        }
        break;
    case NODE_WIRE_TIP:
        if (len != NODE_WIRE_TIP_LEN) {
            node_p2p_drop(dm->p2p, peer, "malformed tip");
            return;
        }
        uint64_t h = 0;
        for (int i = 0; i < 8; i++)
            h = h << 8 | body[i];
        dm->peers[peer].tip = h;
        break;
    case NODE_WIRE_SYNC_REQ:
        serve_sync(dm, peer, body, len, now);
        break;
    case NODE_WIRE_SYNC_BLOCK:
        take_block(dm, peer, body, len);
        break;
    case NODE_WIRE_SYNC_END:
        apply_batch(dm, peer, body, len);
        break;
    default:
        node_p2p_drop(dm->p2p, peer, "unknown frame type");
        return;
    }
    maybe_sync(dm, now);
}

static void on_peer(void *ctx, unsigned peer, bool up)
{
    struct daemon *dm = ctx;
    struct peer *pe = &dm->peers[peer];
    pe->up = up;
    pe->tip = 0; /* until it announces one on this link */
    pe->owed = false;
    pe->credit = SYNC_SERVE_BURST;
    pe->credit_at = now_ms();
    node_log(NODE_LOG_INFO, "p2p", "peer=%u %s connected=%u", peer, up ? "up" : "down",
             node_p2p_connected_count(dm->p2p));
    if (up)
        send_tip(dm, (int)peer);
    else if (dm->sync_active && dm->sync_peer == peer) {
        dm->sync_active = false;
        batch_clear(dm);
    }
}

/* ---- the operator socket --------------------------------------------------------- */

static void reply_error(struct daemon *dm, uint64_t client, uint64_t req,
                        Sealchain__ApiOutcome outcome, int code, const char *fmt, ...)
{
    char msg[LEDGER_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    r.id = req;
    r.outcome = outcome;
    r.code = (uint32_t)code;
    r.error = msg;
    reply(dm, client, &r);
}

/* ---- admission: state rules here, signatures in the thread pool ------------------------ */

/* One transaction on its way into the mempool. */
struct admit {
    uv_work_t work;
    struct daemon *dm;
    uint8_t *tx;
    size_t len;
    uint8_t id[LEDGER_HASH_LEN];
    bool from_api, wait;
    uint64_t client, req;
    uint32_t wait_ms;
    struct ledger_sigjobs jobs;
    uint64_t checked_height; /* the tip the state rules ran over */
    int rc;
    char why[LEDGER_ERRMSG_LEN];
};

/* Replies to an API submit once its tx is held: committed already (a lone
 * validator commits inside admission), pending, or a waiter. */
static void submit_held(struct daemon *dm, struct admit *a, uint64_t now)
{
    uint64_t height;
    uint32_t index;
    struct ledger_rtxn *r;
    bool on_chain = false;
    if (ledger_rtxn_begin(ledger_store_get(dm->l), &r) == 0) {
        on_chain = ledger_rtxn_tx_location(r, a->id, &height, &index) == 0;
        ledger_rtxn_end(r);
    }
    if (on_chain) {
        reply_submit(dm, a->client, a->req, a->id, "committed", height,
                     SEALCHAIN__API_OUTCOME__API_OUTCOME_OK, 0, NULL);
        return;
    }
    if (!a->wait) {
        reply_submit(dm, a->client, a->req, a->id, "pending", 0,
                     SEALCHAIN__API_OUTCOME__API_OUTCOME_OK, 0, NULL);
        return;
    }
    if (dm->n_waiters == NODE_DAEMON_WAITERS_MAX) {
        reply_submit(dm, a->client, a->req, a->id, "pending", 0,
                     SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                     "too many waiting requests; the transaction was admitted");
        return;
    }
    uint32_t wait = a->wait_ms == 0 ? NODE_DAEMON_WAIT_MS : a->wait_ms;
    if (wait > 120000)
        wait = 120000;
    struct waiter *w = &dm->waiters[dm->n_waiters++];
    memcpy(w->id, a->id, LEDGER_HASH_LEN);
    w->client = a->client;
    w->req = a->req;
    w->deadline = now + wait;
}

static void admit_free(struct admit *a)
{
    free(a->tx);
    free(a);
}

/* Worker thread: only the Ed25519 checks, over copies; touches nothing shared. */
static void admit_work(uv_work_t *w)
{
    struct admit *a = w->data;
    a->rc = ledger_sigjobs_verify(&a->jobs, a->dm->o->g->hash, a->why, sizeof a->why);
}

/* Loop thread: the verdict, then the mempool (state rules again: the chain
 * may have moved while the signatures were checked). */
static void admit_done(uv_work_t *w, int status)
{
    struct admit *a = w->data;
    struct daemon *dm = a->dm;
    dm->verifying--;
    if (dm->stopping || status != 0) {
        admit_free(a);
        return;
    }
    uint64_t now = now_ms();
    int rc = a->rc;
    if (rc == 0) {
        /* Timed from admission; a lone validator commits inside admit. */
        if (a->from_api)
            node_stats_submitted(dm->stats, a->id, mono_ms());
        rc = node_driver_admit_checked(dm->d, a->tx, a->len, a->id, a->checked_height, now, a->why,
                                       sizeof a->why);
        if (rc == LEDGER_E_FATAL) {
            checked(dm, rc, "admit");
            admit_free(a);
            return;
        }
        if (rc == 0 && a->from_api)
            node_p2p_broadcast(dm->p2p, NODE_WIRE_TX, a->tx, a->len);
        if (rc == LEDGER_E_DUPLICATE_TX && node_driver_holds(dm->d, a->id))
            rc = 0; /* a peer's copy got in first: wait like the first */
    }
    if (a->from_api) {
        if (rc != 0 && !node_driver_holds(dm->d, a->id))
            node_stats_forget(dm->stats, a->id);
        if (rc == 0)
            submit_held(dm, a, now);
        else
            reply_submit(dm, a->client, a->req, a->id, "rejected", 0,
                         SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED, rc, a->why);
    } else if (rc != 0 && rc != LEDGER_E_DUPLICATE_TX) {
        node_log(NODE_LOG_DEBUG, "mempool", "refuse gossiped reason=\"%s\"", a->why);
    }
    admit_free(a);
    maybe_sync(dm, now);
}

/* Starts admission of tx (copied). For an API submit, the reply comes from
 * here on a refusal, else from admit_done. Returns LEDGER_E_MALFORMED when
 * tx does not decode (a peer that sends that is dropped), else 0. */
static int admit_start(struct daemon *dm, const uint8_t *tx, size_t len, bool from_api,
                       uint64_t client, uint64_t req, bool wait, uint32_t wait_ms)
{
    uint8_t id[LEDGER_HASH_LEN] = { 0 };
    if (ledger_tx_id(tx, len, id) != 0) {
        if (from_api)
            reply_error(dm, client, req, SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED,
                        LEDGER_E_MALFORMED, "transaction does not decode");
        return LEDGER_E_MALFORMED;
    }
    if (node_driver_holds(dm->d, id)) {
        if (from_api) {
            struct admit held = {
                .from_api = true, .wait = wait, .client = client, .req = req, .wait_ms = wait_ms
            };
            memcpy(held.id, id, LEDGER_HASH_LEN);
            submit_held(dm, &held, now_ms());
        }
        return 0;
    }
    if (dm->verifying >= NODE_DAEMON_VERIFY_MAX) {
        if (from_api)
            reply_error(dm, client, req, SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                        "node busy: %u transactions await signature checks", dm->verifying);
        return 0;
    }
    struct admit *a = calloc(1, sizeof *a);
    uint8_t *copy = malloc(len ? len : 1);
    if (a == NULL || copy == NULL) {
        free(a);
        free(copy);
        return 0;
    }
    memcpy(copy, tx, len);
    *a = (struct admit){ .dm = dm,
                         .tx = copy,
                         .len = len,
                         .from_api = from_api,
                         .wait = wait,
                         .client = client,
                         .req = req,
                         .wait_ms = wait_ms };
    memcpy(a->id, id, LEDGER_HASH_LEN);
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    a->checked_height = tip.height;
    int rc = ledger_check_tx_split(dm->l, tx, len, now_ms(), &a->jobs, NULL, a->why, sizeof a->why);
    if (rc != 0) {
        if (from_api)
            reply_submit(dm, client, req, id, "rejected", 0,
                         SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED, rc, a->why);
        admit_free(a);
        return 0;
    }
    a->work.data = a;
    if (uv_queue_work(&dm->loop, &a->work, admit_work, admit_done) != 0) {
        admit_free(a);
        return 0;
    }
    dm->verifying++;
    return 0;
}

/* Replies "node is syncing" (exit 3 for sealctl) when it is; returns true then. */
static bool refuse_if_syncing(struct daemon *dm, uint64_t client, uint64_t req, const char *advice)
{
    if (!syncing(dm))
        return false;
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    reply_error(dm, client, req, SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                "node is syncing (height %" PRIu64 " of %" PRIu64 "); %s", tip.height,
                vouched_height(dm), advice);
    return true;
}

static void api_submit(struct daemon *dm, uint64_t client, uint64_t req,
                       const Sealchain__SubmitRequest *s)
{
    if (refuse_if_syncing(dm, client, req, "try again later"))
        return;
    admit_start(dm, s->tx.data, s->tx.len, true, client, req, s->wait, s->wait_ms);
}

static void api_status(struct daemon *dm, uint64_t client, uint64_t req)
{
    const struct ledger_genesis *g = dm->o->g;
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    struct pbft_stats st;
    node_driver_stats(dm->d, &st);
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    Sealchain__StatusReply s = SEALCHAIN__STATUS_REPLY__INIT;
    Sealchain__PeerInfo pi[LEDGER_MAX_VALIDATORS], *pp[LEDGER_MAX_VALIDATORS];
    size_t np = 0;
    for (unsigned i = 0; i < g->n; i++) {
        if (i == dm->o->self)
            continue;
        sealchain__peer_info__init(&pi[np]);
        pi[np].index = i;
        pi[np].connected = node_p2p_connected(dm->p2p, i);
        pi[np].height = dm->peers[i].tip;
        int64_t off = 0;
        if (node_p2p_clock_offset(dm->p2p, i, &off))
            pi[np].clock_offset_ms = off;
        pp[np] = &pi[np];
        np++;
    }
    s.chain_id = (char *)g->chain_id;
    s.node = dm->o->self;
    s.org_id = (char *)g->validators[dm->o->self].org_id;
    s.height = tip.height;
    s.view = st.view;
    s.primary = (uint32_t)(st.view % g->n);
    s.validators = g->n;
    s.peers_connected = node_p2p_connected_count(dm->p2p);
    s.mempool_txs = node_driver_mempool_len(dm->d);
    s.syncing = syncing(dm);
    s.last_block_hash.data = tip.hash;
    s.last_block_hash.len = LEDGER_HASH_LEN;
    s.last_block_time_ms = tip.time_ms;
    s.best_peer_height = best_peer_height(dm);
    s.view_changes = st.view_changes;
    s.n_peers = np;
    s.peers = pp;
    s.genesis_hash.data = (uint8_t *)g->hash;
    s.genesis_hash.len = LEDGER_HASH_LEN;
    r.id = req;
    r.rep_case = SEALCHAIN__API_REPLY__REP_STATUS;
    r.status = &s;
    reply(dm, client, &r);
}

/* Where a query's reply goes. */
struct asker {
    struct daemon *dm;
    uint64_t client;
};

static void send_query_reply(void *ctx, Sealchain__ApiReply *r)
{
    struct asker *a = ctx;
    reply(a->dm, a->client, r);
}

/* The metrics text (node/stats.h) with the gauges as they are now. */
static int metrics_text(void *ctx, char **out, size_t *out_len)
{
    struct daemon *dm = ctx;
    struct node_stats_sample x = { 0 };
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    struct pbft_stats st;
    node_driver_stats(dm->d, &st);
    x.height = tip.height;
    x.view = st.view;
    x.view_changes = st.view_changes;
    x.mempool_txs = node_driver_mempool_len(dm->d);
    x.best_peer_height = best_peer_height(dm);
    x.peers_connected = dm->p2p ? node_p2p_connected_count(dm->p2p) : 0;
    x.syncing = syncing(dm);
    for (unsigned i = 0; dm->p2p != NULL && i < dm->o->g->n; i++)
        x.has_offset[i] = i != dm->o->self && node_p2p_clock_offset(dm->p2p, i, &x.offset_ms[i]);
    return node_stats_render(dm->stats, &x, now_ms(), out, out_len) == 0 ? 0 : -1;
}

static void api_metrics(struct daemon *dm, uint64_t client, uint64_t req)
{
    char *text;
    size_t len;
    if (metrics_text(dm, &text, &len) != 0) {
        reply_error(dm, client, req, SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                    "out of memory");
        return;
    }
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    Sealchain__MetricsReply m = SEALCHAIN__METRICS_REPLY__INIT;
    m.text = text;
    r.id = req;
    r.rep_case = SEALCHAIN__API_REPLY__REP_METRICS;
    r.metrics = &m;
    reply(dm, client, &r);
    free(text);
}

static void on_request(void *ctx, uint64_t client, const uint8_t *bytes, size_t len)
{
    struct daemon *dm = ctx;
    if (dm->stopping)
        return;
    Sealchain__ApiRequest *q = sealchain__api_request__unpack(NULL, len, bytes);
    if (q == NULL) {
        reply_error(dm, client, 0, SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST, 0,
                    "request does not decode");
        return;
    }
    switch (q->req_case) {
    case SEALCHAIN__API_REQUEST__REQ_SUBMIT:
        api_submit(dm, client, q->id, q->submit);
        break;
    case SEALCHAIN__API_REQUEST__REQ_STATUS:
        api_status(dm, client, q->id);
        break;
    case SEALCHAIN__API_REQUEST__REQ_METRICS:
        api_metrics(dm, client, q->id);
        break;
    case SEALCHAIN__API_REQUEST__REQ_VERIFY:
        /* a verdict on a partial chain could be a false negative */
        if (refuse_if_syncing(dm, client, q->id, "verify once it has caught up"))
            break;
        /* fall through */
    default: {
        struct asker a = { dm, client };
        if (!node_apiq_answer(dm->l, q, send_query_reply, &a))
            reply_error(dm, client, q->id, SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST, 0,
                        "unknown request");
        break;
    }
    }
    sealchain__api_request__free_unpacked(q, NULL);
}

/* ---- timers, signals, lifecycle --------------------------------------------------- */

/* Re-arms the housekeeping timer: TICK_MS, or sooner for the core's next
 * deadline or an owed sync answer due at `owed` (0: none). */
static void rearm(struct daemon *dm, uint64_t now, uint64_t owed);

static void timer_cb(uv_timer_t *t)
{
    struct daemon *dm = t->data;
    if (dm->stopping)
        return;
    uint64_t now = now_ms();
    checked(dm, node_driver_tick(dm->d, now), "tick");
    if (dm->stopping)
        return;
    note_view(dm);
    maybe_sync(dm, now);
    expire_waiters(dm, now);
    if (now - dm->last_tip_sent >= TIP_EVERY_MS)
        send_tip(dm, -1);
    rearm(dm, now, serve_owed(dm, now));
}

static void rearm(struct daemon *dm, uint64_t now, uint64_t owed)
{
    uint64_t wait = TICK_MS;
    uint64_t deadline = node_driver_deadline(dm->d);
    if (deadline != 0 && deadline > now && deadline - now < wait)
        wait = deadline - now;
    if (owed != 0 && owed > now && owed - now < wait)
        wait = owed - now;
    uv_timer_start(&dm->timer, timer_cb, wait, 0);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct daemon *dm = s->data;
    node_log(NODE_LOG_INFO, "node", "stop signal=%s", signum == SIGTERM ? "TERM" : "INT");
    stop(dm, 0);
}

static void stop(struct daemon *dm, int code)
{
    if (dm->stopping)
        return;
    dm->stopping = true;
    dm->exit_code = code;
    node_api_close(dm->api);
    dm->api = NULL;
    node_http_close(dm->http);
    dm->http = NULL;
    node_p2p_close(dm->p2p);
    dm->p2p = NULL;
    if (dm->handles_open) {
        uv_close((uv_handle_t *)&dm->timer, NULL);
        uv_close((uv_handle_t *)&dm->sigterm, NULL);
        uv_close((uv_handle_t *)&dm->sigint, NULL);
        dm->handles_open = false;
    }
}

static int open_ledger(struct daemon *dm)
{
    char errmsg[LEDGER_ERRMSG_LEN];
    if (mkdir(dm->o->data_dir, 0700) != 0 && errno != EEXIST) {
        node_log(NODE_LOG_ERROR, "node", "mkdir path=%s reason=\"%s\"", dm->o->data_dir,
                 strerror(errno));
        return -1;
    }
    if (ledger_open(dm->o->data_dir, dm->o->g, NULL, &dm->l, errmsg, sizeof errmsg) != 0) {
        node_log(NODE_LOG_ERROR, "ledger", "open path=%s reason=\"%s\"", dm->o->data_dir, errmsg);
        return -1;
    }
    struct node_chain ledger_chain;
    dm->cl = (struct node_chain_ledger){ dm->l, dm->o->node_sk };
    node_chain_ledger_init(&dm->cl, &ledger_chain);
    node_chain_timed_init(&dm->timed, &ledger_chain, mono_ns, &dm->chain);
    struct node_driver_config dc = {
        .self = dm->o->self,
        .l = dm->l,
        .node_sk = dm->o->node_sk,
        .chain = &dm->chain,
        .n = dm->o->g->n,
        .send = send_cb,
        .send_ctx = dm,
        .on_commit = on_commit,
        .commit_ctx = dm,
        .on_drop = on_drop,
        .clock_skew_ms = dm->o->clock_skew_ms,
        .progress_timeout_ms = dm->o->progress_timeout_ms,
        .view_change_timeout_ms = dm->o->view_change_timeout_ms,
        .view_change_max_ms = dm->o->view_change_max_ms,
        .request_timeout_ms = dm->o->request_timeout_ms,
        .block_txs = dm->o->block_txs,
    };
    if (node_driver_new(&dc, now_ms(), &dm->d, errmsg, sizeof errmsg) != 0) {
        node_log(NODE_LOG_ERROR, "consensus", "start reason=\"%s\"", errmsg);
        return -1;
    }
    struct pbft_stats st;
    node_driver_stats(dm->d, &st);
    dm->logged_view = st.view;
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    char h[17], gh[17];
    short_hex(tip.hash, h);
    short_hex(dm->o->g->hash, gh);
    node_log(NODE_LOG_INFO, "node",
             "open chain=%s genesis=%s node=%u validators=%u height=%" PRIu64 " tip=%s",
             dm->o->g->chain_id, gh, dm->o->self, dm->o->g->n, tip.height, h);
    return 0;
}

/* The metric set, and its HTTP endpoint when the config asks for one. */
static int open_metrics(struct daemon *dm)
{
    char errmsg[LEDGER_ERRMSG_LEN];
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    int rc = node_stats_new(dm->o->g->n, dm->o->self, tip.height, tip.time_ms, &dm->stats);
    if (rc != 0) {
        node_log(NODE_LOG_ERROR, "metrics", "start reason=\"%s\"", node_metrics_strerror(rc));
        return -1;
    }
    const struct node_p2p_addr *a = &dm->o->metrics_listen;
    if (a->host[0] == '\0')
        return 0;
    if (node_http_start(&dm->loop, a->host, a->port, "/metrics", NODE_METRICS_CONTENT_TYPE,
                        metrics_text, dm, &dm->http, errmsg, sizeof errmsg) != 0) {
        node_log(NODE_LOG_ERROR, "metrics", "start reason=\"%s\"", errmsg);
        return -1;
    }
    node_log(NODE_LOG_INFO, "metrics", "listen addr=%s:%u path=/metrics", a->host,
             node_http_port(dm->http));
    return 0;
}

static int open_io(struct daemon *dm)
{
    char errmsg[LEDGER_ERRMSG_LEN];
    struct node_p2p_config pc = {
        .loop = &dm->loop,
        .g = dm->o->g,
        .self = dm->o->self,
        .node_sk = dm->o->node_sk,
        .listen = dm->o->listen,
        .frame_max = pbft_msg_max_size(dm->o->g->n, LEDGER_MAX_BLOCK_LEN) + 1,
        .queue_max_bytes = dm->o->queue_max_bytes ? dm->o->queue_max_bytes : NODE_DAEMON_QUEUE_MAX,
        .on_frame = on_frame,
        .on_peer = on_peer,
        .clock_warn_ms =
            (dm->o->clock_skew_ms ? dm->o->clock_skew_ms : NODE_DEFAULT_CLOCK_SKEW_MS) / 2,
        .ctx = dm,
    };
    memcpy(pc.peers, dm->o->peers, sizeof pc.peers);
    if (node_p2p_start(&pc, &dm->p2p, errmsg, sizeof errmsg) != 0) {
        node_log(NODE_LOG_ERROR, "p2p", "start reason=\"%s\"", errmsg);
        return -1;
    }
    if (node_api_start(&dm->loop, dm->o->api_path, on_request, dm, &dm->api, errmsg,
                       sizeof errmsg) != 0) {
        node_log(NODE_LOG_ERROR, "api", "start reason=\"%s\"", errmsg);
        return -1;
    }
    uv_timer_init(&dm->loop, &dm->timer);
    uv_signal_init(&dm->loop, &dm->sigterm);
    uv_signal_init(&dm->loop, &dm->sigint);
    dm->timer.data = dm->sigterm.data = dm->sigint.data = dm;
    dm->handles_open = true;
    uv_signal_start(&dm->sigterm, on_signal, SIGTERM);
    uv_signal_start(&dm->sigint, on_signal, SIGINT);
    node_log(NODE_LOG_INFO, "api", "listen path=%s", dm->o->api_path);
    if (open_metrics(dm) != 0)
        return -1;
    rearm(dm, now_ms(), 0);
    return 0;
}

int node_daemon_run(const struct node_daemon_opts *o)
{
    struct daemon *dm = calloc(1, sizeof *dm);
    if (dm == NULL)
        return 1;
    dm->o = o;
    dm->waiters = calloc(NODE_DAEMON_WAITERS_MAX, sizeof *dm->waiters);
    signal(SIGPIPE, SIG_IGN);
    int rc = 1;
    if (dm->waiters == NULL || uv_loop_init(&dm->loop) != 0)
        goto out;
    if (open_ledger(dm) == 0 && open_io(dm) == 0) {
        uv_run(&dm->loop, UV_RUN_DEFAULT);
        rc = dm->exit_code;
    } else {
        stop(dm, 1);
        rc = 1;
    }
    /* Let every close callback run, then release what the handles used. */
    uv_run(&dm->loop, UV_RUN_DEFAULT);
    uv_loop_close(&dm->loop);
    batch_clear(dm);
    node_driver_free(dm->d);
    node_stats_free(dm->stats);
    if (dm->l != NULL)
        ledger_close(dm->l);
    node_log(NODE_LOG_INFO, "node", "stopped exit=%d", rc);
out:
    free(dm->waiters);
    free(dm);
    return rc;
}
