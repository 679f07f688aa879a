/* The consensus driver: PBFT updates turned into chain work and messages. */
#include "node/driver.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "node/err.h"
#include "node/log.h"
#include "node/reqtimer.h"

/* The request timer's time-out (node/reqtimer.h): a chain stalled this long
 * while a tx waits, or a block with room that left it out this long ago, makes
 * it overdue; the core then replaces the primary (DESIGN §3, censorship). It
 * is above the core's default per-view grant (4 s) plus a few block times. */
#define REQUEST_TIMEOUT_MS 5000
/* Events the driver owes the core after one update: a snapshot durable at
 * once, a verdict, a proposal. Each kind is queued at most once (a newer
 * PERSISTED covers an older one, a newer verdict makes an older one stale),
 * so three slots and a spare suffice. */
#define QUEUE_MAX 4

struct pooled {
    uint8_t *tx;
    size_t len;
    uint8_t id[LEDGER_HASH_LEN];
    uint8_t leaf[LEDGER_HASH_LEN]; /* SHA-256 of the whole tx: its signatures were verified */
    bool forwarded;                /* sent to the peers again (on_forward) */
    uint64_t admitted_ms;          /* when it entered the pool (the batch wait) */
    struct node_reqwait wait;
};

struct node_driver {
    struct node_driver_config cfg;
    struct node_chain_ledger own; /* the ledger chain when cfg.chain is NULL */
    struct node_chain chain;
    unsigned n;
    struct pbft *r;
    struct pooled *pool;
    size_t pool_len;
    /* Open-addressing index of the pool by tx id: slot + 1, 0 = empty.
     * idx_mask + 1 is a power of two at least twice the pool's bound, so a
     * probe ends quickly; it is rebuilt when pool_recheck compacts. */
    uint32_t *idx;
    size_t idx_mask;
    uint64_t rechecked_at;    /* when pool_recheck last ran over the whole pool */
    bool pool_stale;          /* a block committed since: a full re-check is due */
    bool chain_full;          /* the last block committed was full (block_txs) */
    uint64_t overdue_logged;  /* view + 1 of the last "request overdue" line */
    struct node_reqtimer req; /* PBFT's request timer over the pool */
    size_t pool_bytes;
    bool want_propose;
    uint64_t propose_height, propose_view;
    uint64_t deadline;
    uint64_t behind_height; /* a certified height above ours, 0 = none known */
    unsigned behind_peer;
    bool failed;
    char errmsg[LEDGER_ERRMSG_LEN];
};

/* The driver's event queue: FIFO, owned payloads freed once stepped. */
struct queue {
    struct pbft_event ev[QUEUE_MAX];
    uint8_t *owned[QUEUE_MAX];
    unsigned head, len;
};

static bool chain_failed(const struct node_driver *d)
{
    return d->chain.failed(d->chain.ctx);
}

/* A failed ledger's message already names what failed and why ("commit
 * block 812: mdb_txn_commit: No space left on device"): it is kept as it is. */
static int fail(struct node_driver *d, int rc, const char *what)
{
    bool dead = rc == LEDGER_E_FATAL || chain_failed(d);
    /* A failed chain keeps its first cause with its own context ("commit
     * block 812: mdb_txn_commit: ..."); what this call was doing goes in
     * front unless the cause already says it. */
    const char *cause = chain_failed(d) ? d->chain.errmsg(d->chain.ctx) : ledger_strerror(rc);
    if (strncmp(cause, what, strlen(what)) == 0)
        snprintf(d->errmsg, sizeof d->errmsg, "%s", cause);
    else
        snprintf(d->errmsg, sizeof d->errmsg, "%s: %s", what, cause);
    if (dead)
        d->failed = true;
    return dead ? LEDGER_E_FATAL : rc;
}

static void trace(const struct node_driver *d, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void trace(const struct node_driver *d, uint64_t now, const char *fmt, ...)
{
    if (d->cfg.trace == NULL)
        return;
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    d->cfg.trace(d->cfg.trace_ctx, now, d->cfg.self, line);
}

static int run(struct node_driver *d, const struct pbft_event *first, uint64_t now);
/* ---- mempool -------------------------------------------------------------- */

/* The whole pool is re-checked against the new state at most this often
 * under load (each re-check decodes and runs the rules of every held tx);
 * between, a block's own transactions leave by id. Half a second bounds how
 * long a tx a block made invalid lingers, well inside the request time-out. */
#define RECHECK_MS 500
/* While every block is full the re-check waits longer: a full block leaves
 * nothing out that it had room for, so the request timer takes no
 * censorship evidence from the pool, and a primary skips (and drops) what a
 * block made invalid when it builds. Under saturation the pool is at its
 * bound, and re-checking all of it twice a second cost every node a fifth of
 * its CPU (make bench, perf); every 5 s it still ran the rules of 4,000
 * transactions a second, more than the chain commits. Between re-checks the
 * mempool's view forgets each block's transactions (pool_forget); before it
 * did, the view kept the writes (~600 bytes) of every transaction admitted
 * since the last re-check, and at 15 s a node grew from 60 to 95 MB. The
 * first block with room re-checks first. */
#define RECHECK_FULL_MS 15000

/* Ids are SHA-256 outputs: their first bytes are as good as any hash. */
static size_t idx_home(const struct node_driver *d, const uint8_t id[LEDGER_HASH_LEN])
{
    uint64_t h;
    memcpy(&h, id, sizeof h);
    return (size_t)h & d->idx_mask;
}

static const struct pooled *pool_find(const struct node_driver *d,
                                      const uint8_t id[LEDGER_HASH_LEN])
{
    for (size_t i = idx_home(d, id);; i = (i + 1) & d->idx_mask) {
        uint32_t v = d->idx[i];
        if (v == 0)
            return NULL;
        if (memcmp(d->pool[v - 1].id, id, LEDGER_HASH_LEN) == 0)
            return &d->pool[v - 1];
    }
}

static void idx_put(struct node_driver *d, size_t slot)
{
    size_t i = idx_home(d, d->pool[slot].id);
    while (d->idx[i] != 0)
        i = (i + 1) & d->idx_mask;
    d->idx[i] = (uint32_t)(slot + 1);
}

static void idx_rebuild(struct node_driver *d)
{
    memset(d->idx, 0, (d->idx_mask + 1) * sizeof *d->idx);
    for (size_t i = 0; i < d->pool_len; i++)
        idx_put(d, i);
}

static bool pool_has(const struct node_driver *d, const uint8_t id[LEDGER_HASH_LEN])
{
    return pool_find(d, id) != NULL;
}

/* The ledger's oracle (ledger_set_verified): every transaction in the pool
 * had its signatures verified on admission; a block holding the very same
 * bytes need not verify them again. */
static bool pool_verified(void *ctx, const uint8_t id[LEDGER_HASH_LEN],
                          const uint8_t leaf[LEDGER_HASH_LEN])
{
    const struct pooled *p = pool_find(ctx, id);
    return p != NULL && memcmp(p->leaf, leaf, LEDGER_HASH_LEN) == 0;
}

/* After a block: drop what it included (now a duplicate) and what it made
 * invalid; the rules are the same ones admission used. Order is kept so
 * that older transactions are proposed first. */
static void pool_recheck(struct node_driver *d, uint64_t now)
{
    size_t keep = 0;
    d->rechecked_at = now;
    d->pool_stale = false;
    bool view = d->chain.pool_admit != NULL; /* the mempool's view is rebuilt in order */
    if (view)
        d->chain.pool_clear(d->chain.ctx);
    for (size_t i = 0; i < d->pool_len; i++) {
        struct pooled *p = &d->pool[i];
        char why[LEDGER_REASON_LEN];
        uint8_t same[LEDGER_HASH_LEN];
        int rc =
            view ? d->chain.pool_admit(d->chain.ctx, p->tx, p->len, p->id, now, why, sizeof why)
                 : d->chain.check_tx(d->chain.ctx, p->tx, p->len, now, true, same, why, sizeof why);
        if (rc != 0) {
            /* Included by the block (now a duplicate) is the normal case;
             * anything else the block made invalid is worth a line. */
            if (rc != LEDGER_E_DUPLICATE_TX) {
                char id[2 * LEDGER_HASH_LEN + 1];
                ledger_hex(p->id, LEDGER_HASH_LEN, id);
                node_log(NODE_LOG_WARN, "mempool", "node=%u drop tx=%s reason=\"%s\"", d->cfg.self,
                         id, why);
                if (d->cfg.on_drop != NULL)
                    d->cfg.on_drop(d->cfg.commit_ctx, p->id, rc, why);
            }
            d->pool_bytes -= p->len;
            free(p->tx);
            continue;
        }
        d->pool[keep++] = *p;
    }
    d->pool_len = keep;
    idx_rebuild(d);
}

/* How long the full re-check may wait (see RECHECK_FULL_MS). */
static uint64_t recheck_every(const struct node_driver *d)
{
    return d->chain_full ? RECHECK_FULL_MS : RECHECK_MS;
}

/* After a block whose tx ids are known: drops what it included (an index
 * lookup each) and leaves the full re-check, which decodes and re-runs the
 * rules of everything held, to every RECHECK_MS. A transaction the block
 * made invalid therefore waits at most that long to be dropped (a primary
 * skips it anyway, with its reason): far inside the request time-out, so it
 * never looks censored. */
static void pool_drop_included(struct node_driver *d, const uint8_t (*ids)[LEDGER_HASH_LEN],
                               size_t n)
{
    bool any = false;
    for (size_t k = 0; k < n; k++) {
        struct pooled *p = (struct pooled *)pool_find(d, ids[k]);
        if (p == NULL)
            continue;
        d->pool_bytes -= p->len;
        free(p->tx);
        p->tx = NULL;
        any = true;
    }
    if (!any)
        return;
    size_t keep = 0;
    for (size_t i = 0; i < d->pool_len; i++)
        if (d->pool[i].tx != NULL)
            d->pool[keep++] = d->pool[i];
    d->pool_len = keep;
    idx_rebuild(d);
}

/* PBFT's request timer after a committed block of block_txs transactions: the
 * ones it left out while it had room start their censorship clock (they are
 * held and valid: pool_recheck ran), and the timer restarts if any are held. */
static void requests_after_commit(struct node_driver *d, size_t block_txs, uint64_t now)
{
    if (node_reqtimer_had_room(block_txs, d->cfg.block_txs))
        for (size_t i = 0; i < d->pool_len; i++)
            node_reqwait_left_out(&d->pool[i].wait, now);
    node_reqtimer_executed(&d->req, d->pool_len, now);
}

/* A held transaction is overdue (node/reqtimer.h): stall or censorship. */
static bool requests_overdue(const struct node_driver *d, uint64_t now, const char **why)
{
    if (d->pool_len > 0 && node_reqtimer_stalled(&d->req, now)) {
        *why = "no commit while transactions waited";
        return true;
    }
    for (size_t i = 0; i < d->pool_len; i++)
        if (node_reqwait_overdue(&d->req, &d->pool[i].wait, now)) {
            *why = "blocks with room left a transaction out";
            return true;
        }
    return false;
}

/* How long blocks with room may leave a held transaction out before it goes
 * to the peers once more (at most half the request time-out). A primary
 * whose pool was full refused the gossip: after a burst, thousands of
 * transactions wait at the backups, and each wait is latency for its client
 * (make bench: ~3,000 per backup, forwarded 2 s after the burst, then a
 * second backlog). A block commits every few ms under load, so half a second
 * of blocks with room leaving it out means the primary does not hold it. */
#define FORWARD_MS 500

/* C&L 4.4: "a backup ... forwards the request to the primary" before its
 * timer expires. FORWARD_MS (or half a time-out, if shorter) after blocks
 * with room first left a held transaction out, it goes to the peers once
 * more. */
static void forward_left_out(struct node_driver *d, uint64_t now)
{
    if (d->cfg.on_forward == NULL)
        return;
    uint64_t half = d->req.timeout_ms / 2;
    if (half > FORWARD_MS)
        half = FORWARD_MS;
    for (size_t i = 0; i < d->pool_len; i++) {
        struct pooled *p = &d->pool[i];
        if (p->forwarded || !p->wait.left_out || now < p->wait.since + half)
            continue;
        p->forwarded = true;
        d->cfg.on_forward(d->cfg.commit_ctx, p->tx, p->len);
    }
}

/* ---- the queue -------------------------------------------------------------- */

/* Queues ev (owned: a payload freed after the step, or NULL), replacing a
 * queued event of the same type (see QUEUE_MAX). */
static void queue_put(struct queue *q, const struct pbft_event *ev, uint8_t *owned)
{
    for (unsigned i = 0; i < q->len; i++) {
        unsigned k = (q->head + i) % QUEUE_MAX;
        if (q->ev[k].type == ev->type) {
            free(q->owned[k]);
            q->ev[k] = *ev;
            q->owned[k] = owned;
            return;
        }
    }
    unsigned k = (q->head + q->len++) % QUEUE_MAX;
    q->ev[k] = *ev;
    q->owned[k] = owned;
}

static bool queue_take(struct queue *q, struct pbft_event *out, uint8_t **out_owned)
{
    if (q->len == 0)
        return false;
    *out = q->ev[q->head];
    *out_owned = q->owned[q->head];
    q->head = (q->head + 1) % QUEUE_MAX;
    q->len--;
    return true;
}

static void queue_close(struct queue *q)
{
    struct pbft_event ev;
    uint8_t *owned;
    while (queue_take(q, &ev, &owned))
        free(owned);
}

/* ---- update handling ------------------------------------------------------- */

/* A certified block must apply: anything else is fail-stop. */
static int commit(struct node_driver *d, const struct pbft_update *up, uint64_t now)
{
    const struct pbft_cert *c = up->committed.cert;
    int rc = d->chain.commit(d->chain.ctx, c, up->committed.payload, up->committed.payload_len);
    if (rc != 0) {
        char what[64];
        snprintf(what, sizeof what, "commit block %llu", (unsigned long long)c->height);
        fail(d, LEDGER_E_FATAL, what);
        return LEDGER_E_FATAL;
    }
    /* A block that cannot be read back counts as full: no censorship evidence. */
    struct node_block_info info;
    bool read = d->chain.block_info(d->chain.ctx, up->committed.payload, up->committed.payload_len,
                                    &info) == 0;
    size_t block_txs = read ? info.tx_count : SIZE_MAX;
    d->chain_full = !node_reqtimer_had_room(block_txs, d->cfg.block_txs);
    uint8_t(*ids)[LEDGER_HASH_LEN] = NULL;
    size_t n_ids = 0;
    if (d->chain.tx_ids != NULL && now - d->rechecked_at < recheck_every(d) &&
        d->chain.tx_ids(d->chain.ctx, up->committed.payload, up->committed.payload_len, &ids,
                        &n_ids) == 0) {
        pool_drop_included(d, (const uint8_t(*)[LEDGER_HASH_LEN])ids, n_ids);
        if (d->chain.pool_forget != NULL)
            d->chain.pool_forget(d->chain.ctx, (const uint8_t(*)[LEDGER_HASH_LEN])ids, n_ids);
        d->pool_stale = true;
    } else {
        pool_recheck(d, now);
    }
    free(ids);
    requests_after_commit(d, block_txs, now);
    if (d->cfg.on_commit != NULL)
        d->cfg.on_commit(d->cfg.commit_ctx, c->height, read ? info.tx_count : 0);
    return 0;
}

/* Execute, then agree: the verdict the core waits for before it PREPAREs.
 * The digest, the height and the clock are the driver's rules; the rest is
 * the chain's, which may answer later (NODE_CHAIN_PENDING, then
 * node_driver_validated). Returns 1 valid, 0 refused, NODE_CHAIN_PENDING. */
static int block_valid(struct node_driver *d, const struct pbft_update *up, uint64_t now)
{
    struct node_block_info info;
    const char *why = NULL;
    int rc = 0;
    if (d->chain.block_info(d->chain.ctx, up->validate.payload, up->validate.payload_len, &info) !=
        0)
        why = "not a block";
    else if (memcmp(info.digest, up->validate.digest, PBFT_DIGEST_SIZE) != 0)
        why = "digest differs";
    else if (info.height != up->validate.height)
        why = "height differs";
    /* Trusted time: 2f+1 backups vouch that the primary's time is near theirs.
     * A prepared block re-proposed after a view change is exempt. */
    else if (!up->validate.reproposal &&
             (info.time_ms > now ? info.time_ms - now : now - info.time_ms) > d->cfg.clock_skew_ms)
        why = "time more than the clock skew from this clock";
    else if ((rc = d->chain.validate(d->chain.ctx, up->validate.payload, up->validate.payload_len,
                                     up->validate.view, up->validate.reproposal)) != 0 &&
             rc != NODE_CHAIN_PENDING)
        why = "refused by the chain";
    trace(d, now, "driver: block h=%llu v=%llu %s%s", (unsigned long long)up->validate.height,
          (unsigned long long)up->validate.view,
          why ? why : (rc == NODE_CHAIN_PENDING ? "being validated" : "valid"),
          up->validate.reproposal ? " (re-proposal)" : "");
    if (why != NULL)
        return 0;
    return rc == NODE_CHAIN_PENDING ? NODE_CHAIN_PENDING : 1;
}

/* When the primary's batch wait ends: its oldest held transaction's
 * admission + batch_wait_ms; 0 when it need not wait (no wait configured,
 * nothing held, or a full block's worth held). The pool keeps admission
 * order, so the oldest is pool[0]. */
static uint64_t batch_due(const struct node_driver *d)
{
    if (d->cfg.batch_wait_ms == 0 || d->pool_len == 0 || d->pool_len >= d->cfg.block_txs ||
        d->pool_bytes >= d->cfg.max_payload)
        return 0;
    return d->pool[0].admitted_ms + d->cfg.batch_wait_ms;
}

/* Builds the block the core asked for, when it can, as the queue's next event. */
static int propose(struct node_driver *d, uint64_t now, struct queue *q)
{
    if (!d->want_propose || (d->pool_len == 0 && !d->cfg.propose_idle))
        return 0;
    /* A clock stepped back past the oldest admission ends the wait: waiting
     * for it to come round again could stall the chain for as long. */
    uint64_t due = batch_due(d);
    if (due != 0 && now >= d->pool[0].admitted_ms && now < due)
        return 0; /* node_driver_deadline wakes the loop at `due` */
    uint64_t tip, tip_time;
    d->chain.tip(d->chain.ctx, &tip, &tip_time);
    if (tip + 1 != d->propose_height)
        return 0; /* not applied yet; asked again later */
    size_t count = d->pool_len < d->cfg.block_txs ? d->pool_len : d->cfg.block_txs;
    struct node_txref *refs = calloc(count ? count : 1, sizeof *refs);
    if (refs == NULL)
        return fail(d, LEDGER_E_NOMEM, "propose");
    for (size_t i = 0; i < count; i++)
        refs[i] =
            (struct node_txref){ d->pool[i].tx, d->pool[i].len, d->pool[i].id, d->pool[i].leaf };
    uint64_t time = now > tip_time ? now : tip_time + 1;
    struct pbft_event ev = { .type = PBFT_EV_PROPOSAL, .now = now };
    uint8_t *block;
    size_t len;
    int rc = d->chain.build(d->chain.ctx, refs, count, time, d->cfg.self, d->propose_view, &block,
                            &len, ev.proposal.digest);
    free(refs);
    if (rc != 0 && rc != NODE_CHAIN_PENDING)
        return fail(d, rc, "build block");
    d->want_propose = false;
    if (rc == NODE_CHAIN_PENDING)
        return 0; /* node_driver_proposal follows */
    ev.proposal.height = d->propose_height;
    ev.proposal.payload = block;
    ev.proposal.payload_len = len;
    queue_put(q, &ev, block);
    return 0;
}

/* Carries out one update in the order pbft.h prescribes; what must go back to
 * the core (PERSISTED, VALIDATED) is queued, never stepped from here. */
static int handle(struct node_driver *d, const struct pbft_update *up, uint64_t now,
                  struct queue *q)
{
    int rc;
    if (up->has_committed && (rc = commit(d, up, now)) != 0)
        return rc;
    if (up->has_persist) {
        rc = d->chain.persist(d->chain.ctx, up->persist.seq, up->persist.bytes, up->persist.len);
        if (rc != 0 && rc != NODE_CHAIN_PENDING)
            return fail(d, rc, "persist consensus snapshot");
        if (rc == 0) {
            struct pbft_event ev = { .type = PBFT_EV_PERSISTED, .now = now };
            ev.persisted.seq = up->persist.seq;
            queue_put(q, &ev, NULL);
        }
    }
    for (unsigned i = 0; i < up->n_msgs; i++)
        d->cfg.send(d->cfg.send_ctx, up->msgs[i].to, up->msgs[i].bytes, up->msgs[i].len);
    d->deadline = up->deadline;
    /* The core re-announces a height after a time-out, maybe naming another
     * peer, so that a failed sync is retried elsewhere: take the newest. */
    if (up->has_behind && up->behind.height >= d->behind_height) {
        d->behind_height = up->behind.height;
        d->behind_peer = up->behind.peer;
    }
    if (up->has_propose) {
        d->want_propose = true;
        d->propose_height = up->propose.height;
        d->propose_view = up->propose.view;
    }
    if (up->has_validate) {
        struct pbft_event ev = { .type = PBFT_EV_VALIDATED, .now = now };
        ev.validated.height = up->validate.height;
        memcpy(ev.validated.digest, up->validate.digest, PBFT_DIGEST_SIZE);
        int valid = block_valid(d, up, now);
        if (chain_failed(d))
            return fail(d, LEDGER_E_FATAL, "validate block");
        ev.validated.ok = valid == 1;
        if (valid != NODE_CHAIN_PENDING)
            queue_put(q, &ev, NULL);
    }
    return 0;
}

/* Steps `first` (borrowed; NULL: none) and then every event its updates
 * queue, one after the other, ending with a proposal when the core wants one
 * and the mempool has transactions. Each update is carried out before the
 * next step, which is what invalidates it. Returns the first error; a
 * fail-stop ends the loop at once. */
static int run(struct node_driver *d, const struct pbft_event *first, uint64_t now)
{
    struct queue q = { .len = 0 };
    int err = 0;
    if (d->failed)
        return LEDGER_E_FATAL;
    if (first != NULL)
        queue_put(&q, first, NULL);
    for (;;) {
        struct pbft_event ev;
        uint8_t *owned;
        if (q.len == 0 && (err == 0 || !d->failed)) {
            int prc = propose(d, now, &q);
            err = err != 0 ? err : prc;
        }
        if (d->failed || !queue_take(&q, &ev, &owned))
            break;
        struct pbft_update up;
        int rc = pbft_step(d->r, &ev, &up);
        /* On error the update is still valid (pbft.h): a block committed in
         * the same step must be applied, or the core and the chain would
         * disagree. */
        int hrc = handle(d, &up, now, &q);
        free(owned);
        if (rc != 0 && err == 0) {
            snprintf(d->errmsg, sizeof d->errmsg, "consensus: %s: %s", pbft_strerror(rc),
                     pbft_errmsg(d->r));
            err = LEDGER_E_INVALID;
        }
        if (hrc != 0 && (err == 0 || d->failed))
            err = hrc;
    }
    queue_close(&q);
    return d->failed ? LEDGER_E_FATAL : err;
}

/* ---- start ------------------------------------------------------------------ */

static int start(struct node_driver *d, uint64_t now)
{
    uint64_t tip, tip_time;
    d->chain.tip(d->chain.ctx, &tip, &tip_time);
    struct pbft_cert *cert = NULL;
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    int rc = d->chain.load(d->chain.ctx, &snap, &snap_len);
    if (rc != 0)
        return fail(d, rc, "read consensus snapshot");
    if (tip > 0) {
        cert = malloc(sizeof *cert);
        if (cert == NULL) {
            rc = fail(d, LEDGER_E_NOMEM, "start");
            goto out;
        }
        if ((rc = d->chain.tip_cert(d->chain.ctx, cert)) != 0) {
            rc = fail(d, rc, "read the tip's certificate");
            goto out;
        }
    }
    struct pbft_event ev = { .type = PBFT_EV_START, .now = now };
    ev.start.snapshot = snap;
    ev.start.snapshot_len = snap_len;
    ev.start.committed_height = tip;
    ev.start.last_cert = cert;
    rc = run(d, &ev, now);
out:
    free(cert);
    free(snap);
    return rc;
}

/* The largest block this node proposes or accepts: block_txs transactions of
 * the largest size, within the core's hard cap. */
static size_t max_payload(size_t block_txs)
{
    size_t len = block_txs * (LEDGER_MAX_TX_LEN + 8) + LEDGER_MAX_HEADER_LEN;
    return len < PBFT_MAX_PAYLOAD_LIMIT ? len : PBFT_MAX_PAYLOAD_LIMIT;
}

/* Defaults for the zero fields of the configuration, and the chain. */
static void configure(struct node_driver *d, const struct node_driver_config *cfg)
{
    d->cfg = *cfg;
    if (d->cfg.clock_skew_ms == 0)
        d->cfg.clock_skew_ms = NODE_DEFAULT_CLOCK_SKEW_MS;
    if (d->cfg.block_txs == 0)
        d->cfg.block_txs = NODE_DEFAULT_BLOCK_TXS;
    if (d->cfg.mempool_max_txs == 0)
        d->cfg.mempool_max_txs = NODE_MEMPOOL_MAX;
    if (d->cfg.mempool_max_bytes == 0)
        d->cfg.mempool_max_bytes = NODE_MEMPOOL_MAX_BYTES;
    if (d->cfg.max_payload == 0)
        d->cfg.max_payload = max_payload(d->cfg.block_txs);
    if (cfg->chain != NULL) {
        d->chain = *cfg->chain;
        d->n = cfg->n;
    } else {
        d->own = (struct node_chain_ledger){ cfg->l, cfg->node_sk };
        node_chain_ledger_init(&d->own, &d->chain);
        d->n = ledger_genesis_get(cfg->l)->n;
    }
    uint64_t request_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : REQUEST_TIMEOUT_MS;
    node_reqtimer_init(&d->req, request_ms);
    if (d->cfg.batch_wait_ms > request_ms / 4)
        d->cfg.batch_wait_ms = request_ms / 4;
}

int node_driver_new(const struct node_driver_config *cfg, uint64_t now, struct node_driver **out,
                    char *errmsg, size_t errmsg_len)
{
    *out = NULL;
    int rc = NODE_E_NOMEM;
    struct node_driver *d = calloc(1, sizeof *d);
    if (d == NULL)
        goto err;
    configure(d, cfg);
    d->pool = calloc(d->cfg.mempool_max_txs, sizeof *d->pool);
    size_t cap = 16;
    while (cap < 2 * d->cfg.mempool_max_txs)
        cap *= 2;
    d->idx = calloc(cap, sizeof *d->idx);
    d->idx_mask = cap - 1;
    if (d->pool == NULL || d->idx == NULL)
        goto err_after_pool;
    struct pbft_config pc = {
        .n = d->n,
        .self = cfg->self,
        .crypto = d->chain.crypto,
        .max_payload = d->cfg.max_payload,
        .progress_timeout_ms = cfg->progress_timeout_ms,
        .view_change_timeout_ms = cfg->view_change_timeout_ms,
        .view_change_max_ms = cfg->view_change_max_ms,
        .request_timeout_ms = cfg->request_timeout_ms,
        .resend_ms = cfg->resend_ms,
        .trace = cfg->trace,
        .trace_ctx = cfg->trace_ctx,
    };
    int prc = pbft_new(&pc, &d->r);
    if (prc != 0) {
        rc = prc == PBFT_ERR_NOMEM ? NODE_E_NOMEM : NODE_E_CONFIG;
        ledger_errf(0, errmsg, errmsg_len, "consensus: %s", pbft_strerror(prc));
        goto err_after_pool;
    }
    if (start(d, now) != 0) {
        ledger_errf(0, errmsg, errmsg_len, "%s", d->errmsg);
        node_driver_free(d);
        return NODE_E_STATE;
    }
    /* Blocks skip the signature checks of what the pool verified already
     * (the ledger's own chain, or a chain over it that names it in `l`). */
    if (cfg->l != NULL)
        ledger_set_verified(cfg->l, pool_verified, d);
    *out = d;
    return 0;

err_after_pool:
    free(d->idx);
    free(d->pool);
    free(d);
err:
    if (rc == NODE_E_NOMEM)
        ledger_errf(0, errmsg, errmsg_len, "driver: out of memory");
    return rc;
}

void node_driver_free(struct node_driver *d)
{
    if (d == NULL)
        return;
    pbft_free(d->r);
    if (d->cfg.l != NULL)
        ledger_set_verified(d->cfg.l, NULL, NULL);
    for (size_t i = 0; i < d->pool_len; i++)
        free(d->pool[i].tx);
    free(d->pool);
    free(d->idx);
    free(d);
}

/* ---- inputs ------------------------------------------------------------------ */

/* Puts a checked transaction into the mempool, within its bounds. */
static int pool_add(struct node_driver *d, const uint8_t *tx, size_t len,
                    const uint8_t id[LEDGER_HASH_LEN], uint64_t now, char *errmsg,
                    size_t errmsg_len)
{
    if (pool_has(d, id)) {
        snprintf(errmsg, errmsg_len, "transaction already in the mempool");
        return LEDGER_E_DUPLICATE_TX;
    }
    if (d->pool_len == d->cfg.mempool_max_txs || d->pool_bytes + len > d->cfg.mempool_max_bytes) {
        snprintf(errmsg, errmsg_len, "mempool full (%zu transactions, %zu bytes): try again later",
                 d->pool_len, d->pool_bytes);
        return LEDGER_E_TOO_LARGE;
    }
    /* Against the transactions already held too: a conflicting one is refused here. */
    int rc = d->chain.pool_admit != NULL
                 ? d->chain.pool_admit(d->chain.ctx, tx, len, id, now, errmsg, errmsg_len)
                 : 0;
    if (rc != 0)
        return rc;
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return LEDGER_E_NOMEM;
    memcpy(copy, tx, len);
    struct pooled *p = &d->pool[d->pool_len];
    *p = (struct pooled){ .tx = copy, .len = len, .admitted_ms = now };
    memcpy(p->id, id, LEDGER_HASH_LEN);
    ledger_merkle_tx_leaf(tx, len, p->leaf);
    idx_put(d, d->pool_len++);
    d->pool_bytes += len;
    node_reqtimer_admitted(&d->req, now);
    return run(d, NULL, now);
}

/* Admission with (submit) or without (admit) the signature checks. */
static int pool_offer(struct node_driver *d, const uint8_t *tx, size_t len, uint64_t now,
                      bool verified, uint8_t out_id[LEDGER_HASH_LEN], char *errmsg,
                      size_t errmsg_len)
{
    if (d->failed)
        return LEDGER_E_FATAL;
    uint8_t id[LEDGER_HASH_LEN];
    int rc = d->chain.check_tx(d->chain.ctx, tx, len, now, verified, id, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    if (out_id != NULL)
        memcpy(out_id, id, LEDGER_HASH_LEN);
    return pool_add(d, tx, len, id, now, errmsg, errmsg_len);
}

int node_driver_submit(struct node_driver *d, const uint8_t *tx, size_t len, uint64_t now,
                       uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    return pool_offer(d, tx, len, now, false, out_id, errmsg, errmsg_len);
}

int node_driver_admit(struct node_driver *d, const uint8_t *tx, size_t len, uint64_t now,
                      uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    return pool_offer(d, tx, len, now, true, out_id, errmsg, errmsg_len);
}

int node_driver_admit_checked(struct node_driver *d, const uint8_t *tx, size_t len,
                              const uint8_t id[LEDGER_HASH_LEN], uint64_t checked_height,
                              uint64_t now, char *errmsg, size_t errmsg_len)
{
    if (d->failed)
        return LEDGER_E_FATAL;
    uint64_t height, time_ms;
    d->chain.tip(d->chain.ctx, &height, &time_ms);
    /* The tip moved while the signatures were checked. With the mempool's
     * view, pool_add runs the rules again anyway, over the new tip and the
     * transactions held; without it, they run here. Under load nearly every
     * admission sees a new tip (a block commits while thousands wait for
     * their checks): running them twice cost each node 3% of its CPU. */
    if (height != checked_height && d->chain.pool_admit == NULL)
        return pool_offer(d, tx, len, now, true, NULL, errmsg, errmsg_len);
    return pool_add(d, tx, len, id, now, errmsg, errmsg_len);
}

int node_driver_receive(struct node_driver *d, unsigned from, const uint8_t *bytes, size_t len,
                        uint64_t now)
{
    struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = now };
    ev.receive.from = from;
    ev.receive.bytes = bytes;
    ev.receive.len = len;
    return run(d, &ev, now);
}

int node_driver_tick(struct node_driver *d, uint64_t now)
{
    int rc;
    if (d->deadline != 0 && now >= d->deadline) {
        struct pbft_event ev = { .type = PBFT_EV_TIMEOUT, .now = now };
        if ((rc = run(d, &ev, now)) != 0)
            return rc;
    }
    /* The full re-check a busy chain put off is due once the chain pauses. */
    if (d->pool_stale && now - d->rechecked_at >= recheck_every(d) && !d->failed)
        pool_recheck(d, now);
    forward_left_out(d, now);
    const char *why = NULL;
    if (requests_overdue(d, now, &why)) {
        /* Why this replica wants the primary replaced: once per view. */
        struct pbft_stats st;
        pbft_get_stats(d->r, &st);
        if (st.view + 1 != d->overdue_logged) {
            node_log(NODE_LOG_INFO, "consensus", "request overdue view=%" PRIu64 " reason=\"%s\"",
                     st.view, why);
            d->overdue_logged = st.view + 1;
        }
        struct pbft_event ev = { .type = PBFT_EV_REQUEST_OVERDUE, .now = now };
        return run(d, &ev, now);
    }
    return run(d, NULL, now);
}

int node_driver_persisted(struct node_driver *d, uint64_t seq, uint64_t now)
{
    struct pbft_event ev = { .type = PBFT_EV_PERSISTED, .now = now };
    ev.persisted.seq = seq;
    return run(d, &ev, now);
}

int node_driver_validated(struct node_driver *d, uint64_t height,
                          const uint8_t digest[PBFT_DIGEST_SIZE], bool ok, uint64_t now)
{
    struct pbft_event ev = { .type = PBFT_EV_VALIDATED, .now = now };
    ev.validated.height = height;
    memcpy(ev.validated.digest, digest, PBFT_DIGEST_SIZE);
    ev.validated.ok = ok;
    return run(d, &ev, now);
}

int node_driver_proposal(struct node_driver *d, uint64_t height,
                         const uint8_t digest[PBFT_DIGEST_SIZE], const uint8_t *block, size_t len,
                         uint64_t now)
{
    struct pbft_event ev = { .type = PBFT_EV_PROPOSAL, .now = now };
    ev.proposal.height = height;
    memcpy(ev.proposal.digest, digest, PBFT_DIGEST_SIZE);
    ev.proposal.payload = block;
    ev.proposal.payload_len = len;
    return run(d, &ev, now);
}

int node_driver_request_overdue(struct node_driver *d, uint64_t now)
{
    struct pbft_event ev = { .type = PBFT_EV_REQUEST_OVERDUE, .now = now };
    return run(d, &ev, now);
}

int node_driver_synced(struct node_driver *d, uint64_t now)
{
    if (d->failed)
        return LEDGER_E_FATAL;
    struct pbft_cert *cert = malloc(sizeof *cert);
    if (cert == NULL)
        return fail(d, LEDGER_E_NOMEM, "synced");
    int rc = d->chain.tip_cert(d->chain.ctx, cert);
    if (rc != 0) {
        free(cert);
        return fail(d, rc, "read the tip's certificate");
    }
    pool_recheck(d, now);
    node_reqtimer_executed(&d->req, d->pool_len, now); /* synced blocks executed */
    struct pbft_event ev = { .type = PBFT_EV_SYNCED, .now = now };
    ev.synced.cert = cert;
    rc = run(d, &ev, now);
    free(cert);
    return rc;
}

bool node_driver_behind(const struct node_driver *d, uint64_t *out_height, unsigned *out_peer)
{
    uint64_t tip, tip_time;
    d->chain.tip(d->chain.ctx, &tip, &tip_time);
    if (d->behind_height <= tip)
        return false;
    *out_height = d->behind_height;
    *out_peer = d->behind_peer;
    return true;
}

uint64_t node_driver_deadline(const struct node_driver *d)
{
    uint64_t due = d->want_propose ? batch_due(d) : 0;
    return due != 0 && (d->deadline == 0 || due < d->deadline) ? due : d->deadline;
}

bool node_driver_holds(const struct node_driver *d, const uint8_t id[LEDGER_HASH_LEN])
{
    return pool_has(d, id);
}

size_t node_driver_mempool_len(const struct node_driver *d)
{
    return d->pool_len;
}

bool node_driver_mempool_room(const struct node_driver *d, size_t txs, size_t bytes)
{
    return d->pool_len + txs <= d->cfg.mempool_max_txs &&
           d->pool_bytes + bytes <= d->cfg.mempool_max_bytes;
}

const char *node_driver_errmsg(const struct node_driver *d)
{
    return d->errmsg;
}

void node_driver_stats(const struct node_driver *d, struct pbft_stats *out)
{
    pbft_get_stats(d->r, out);
}
