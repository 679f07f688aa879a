/* The consensus driver: PBFT updates turned into ledger work and messages. */
#include "node/driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/cert.h"
#include "ledger/err.h"
#include "node/reqtimer.h"
#include "node/log.h"
#include "proto/block.pb-c.h"

/* Name of the core's snapshot in the store's consensus table. */
#define SNAPSHOT_NAME "pbft"
/* The request timer's time-out (node/reqtimer.h): a chain stalled this long
 * while a tx waits, or a block with room that left it out this long ago, makes
 * it overdue; the core then replaces the primary (DESIGN §3, censorship). It
 * is above the core's default per-view grant (4 s) plus a few block times. */
#define REQUEST_TIMEOUT_MS 5000

struct pooled {
    uint8_t *tx;
    size_t len;
    uint8_t id[LEDGER_HASH_LEN];
    struct node_reqwait wait;
};

struct node_driver {
    struct node_driver_config cfg;
    struct pbft *r;
    const struct ledger_genesis *g;
    struct pooled *pool;
    size_t pool_len;
    struct node_reqtimer req; /* PBFT's request timer over the pool */
    size_t pool_bytes;
    bool want_propose;
    uint64_t propose_height, propose_view;
    uint64_t deadline;
    uint64_t behind_height; /* a certified height above ours, 0 = none known */
    unsigned behind_peer;
    /* Block timing (cfg.clock_ns): execution of the block at exec_height
     * (validated or built here), then the last commit's total. */
    uint64_t exec_height, exec_ns, last_exec_ns;
    bool failed;
    char errmsg[LEDGER_ERRMSG_LEN];
};

static const enum ledger_tag tag_of[] = {
    [PBFT_SIG_PREPREPARE] = LEDGER_TAG_PREPREPARE, [PBFT_SIG_PREPARE] = LEDGER_TAG_PREPARE,
    [PBFT_SIG_COMMIT] = LEDGER_TAG_COMMIT,         [PBFT_SIG_VIEWCHANGE] = LEDGER_TAG_VIEWCHANGE,
    [PBFT_SIG_NEWVIEW] = LEDGER_TAG_NEWVIEW,
};

static bool kind_ok(enum pbft_sig_kind kind)
{
    return kind >= PBFT_SIG_PREPREPARE && kind <= PBFT_SIG_NEWVIEW;
}

static int sign_cb(void *ctx, enum pbft_sig_kind kind, const uint8_t *payload, size_t len,
                   uint8_t sig[PBFT_SIG_SIZE])
{
    struct node_driver *d = ctx;
    if (!kind_ok(kind))
        return -1;
    return ledger_sign(tag_of[kind], d->g->hash, payload, len, d->cfg.node_sk, sig);
}

static bool verify_cb(void *ctx, enum pbft_sig_kind kind, unsigned signer, const uint8_t *payload,
                      size_t len, const uint8_t sig[PBFT_SIG_SIZE])
{
    struct node_driver *d = ctx;
    if (!kind_ok(kind) || signer >= d->g->n)
        return false;
    return ledger_verify(tag_of[kind], d->g->hash, payload, len, d->g->validators[signer].node_key,
                         sig) == 0;
}

/* The block's bytes are the ones its digest names: the header hashes to the
 * digest and the body matches the header's tx root and count. Lets the core
 * drop a faulty replica's prepared certificate carrying a wrong payload. */
static bool block_ok_cb(void *ctx, const uint8_t digest[PBFT_DIGEST_SIZE], const uint8_t *block,
                        size_t len)
{
    (void)ctx;
    return ledger_block_matches(block, len, digest) == 0;
}

static int fail(struct node_driver *d, int rc, const char *what)
{
    snprintf(d->errmsg, sizeof d->errmsg, "%s: %s", what,
             ledger_failed(d->cfg.l) ? ledger_errmsg(d->cfg.l) : ledger_strerror(rc));
    if (rc == LEDGER_E_FATAL || ledger_failed(d->cfg.l))
        d->failed = true;
    return rc;
}

static int step(struct node_driver *d, const struct pbft_event *ev);

/* ---- mempool -------------------------------------------------------------- */

/* After a block: drop what it included (now a duplicate) and what it made
 * invalid; the rules are the same ones admission used. Order is kept so
 * that older transactions are proposed first. */
static void pool_recheck(struct node_driver *d, uint64_t now)
{
    size_t keep = 0;
    for (size_t i = 0; i < d->pool_len; i++) {
        struct pooled *p = &d->pool[i];
        char why[LEDGER_REASON_LEN];
        int rc = ledger_recheck_tx(d->cfg.l, p->tx, p->len, now, NULL, why, sizeof why);
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
static bool requests_overdue(const struct node_driver *d, uint64_t now)
{
    if (d->pool_len > 0 && node_reqtimer_stalled(&d->req, now))
        return true;
    for (size_t i = 0; i < d->pool_len; i++)
        if (node_reqwait_overdue(&d->req, &d->pool[i].wait, now))
            return true;
    return false;
}

static bool pool_has(const struct node_driver *d, const uint8_t id[LEDGER_HASH_LEN])
{
    for (size_t i = 0; i < d->pool_len; i++)
        if (memcmp(d->pool[i].id, id, LEDGER_HASH_LEN) == 0)
            return true;
    return false;
}

/* ---- update handling ------------------------------------------------------- */

static uint64_t clock_ns(const struct node_driver *d)
{
    return d->cfg.clock_ns != NULL ? d->cfg.clock_ns() : 0;
}

/* The execution time of the block at height, measured from t0. */
static void note_exec(struct node_driver *d, uint64_t height, uint64_t t0)
{
    d->exec_height = height;
    d->exec_ns = clock_ns(d) - t0;
}

static int commit(struct node_driver *d, const struct pbft_update *up, uint64_t now)
{
    const struct pbft_cert *c = up->committed.cert;
    uint64_t t0 = clock_ns(d);
    uint32_t signers[PBFT_MAX_N];
    for (unsigned i = 0; i < c->count; i++)
        signers[i] = c->signers[i];
    uint8_t *cert;
    size_t cert_len;
    int rc =
        ledger_cert_build(c->height, c->view, c->digest, signers,
                          (const uint8_t(*)[LEDGER_SIG_LEN])c->sigs, c->count, &cert, &cert_len);
    if (rc != 0)
        return fail(d, rc, "build certificate");
    rc = ledger_commit_block(d->cfg.l, up->committed.payload, up->committed.payload_len, cert,
                             cert_len);
    free(cert);
    if (rc != 0) {
        char what[64];
        snprintf(what, sizeof what, "commit block %llu", (unsigned long long)c->height);
        /* A certified block must apply: anything else is fail-stop. */
        if (!ledger_failed(d->cfg.l))
            snprintf(d->errmsg, sizeof d->errmsg, "%s: %s", what, ledger_errmsg(d->cfg.l));
        d->failed = true;
        return LEDGER_E_FATAL;
    }
    d->last_exec_ns = clock_ns(d) - t0 + (d->exec_height == c->height ? d->exec_ns : 0);
    size_t before = d->pool_len;
    pool_recheck(d, now);
    /* A block that cannot be read back counts as full: no censorship evidence. */
    struct ledger_header h;
    bool read = ledger_block_header(up->committed.payload, up->committed.payload_len, &h) == 0;
    requests_after_commit(d, read ? h.tx_count : SIZE_MAX, now);
    if (d->cfg.on_commit != NULL)
        d->cfg.on_commit(d->cfg.commit_ctx, c->height, before - d->pool_len);
    return 0;
}

/* Execute, then agree: the verdict the core waits for before it PREPAREs. */
static bool block_valid(struct node_driver *d, const struct pbft_update *up, uint64_t now)
{
    struct ledger_header h;
    if (ledger_block_header(up->validate.payload, up->validate.payload_len, &h) != 0)
        return false;
    if (memcmp(h.hash, up->validate.digest, LEDGER_HASH_LEN) != 0 ||
        h.height != up->validate.height)
        return false;
    /* The header names the PRE-PREPARE's view and its primary (DESIGN.md §3). */
    if (ledger_header_check_proposal(ledger_genesis_get(d->cfg.l), &h, up->validate.view,
                                     up->validate.reproposal, NULL, 0) != 0)
        return false;
    /* Trusted time: 2f+1 backups vouch that the primary's time is near theirs.
     * A prepared block re-proposed after a view change is exempt. */
    if (!up->validate.reproposal) {
        uint64_t skew = h.time_ms > now ? h.time_ms - now : now - h.time_ms;
        if (skew > d->cfg.clock_skew_ms)
            return false;
    }
    uint64_t t0 = clock_ns(d);
    bool ok =
        ledger_validate_block(d->cfg.l, up->validate.payload, up->validate.payload_len, NULL) == 0;
    note_exec(d, h.height, t0);
    return ok;
}

static int propose(struct node_driver *d, uint64_t now)
{
    if (!d->want_propose || d->pool_len == 0)
        return 0;
    struct ledger_tip tip;
    ledger_tip_get(d->cfg.l, &tip);
    if (tip.height + 1 != d->propose_height)
        return 0; /* not applied yet; asked again later */
    size_t count = d->pool_len < d->cfg.block_txs ? d->pool_len : d->cfg.block_txs;
    struct ledger_txref *refs = calloc(count, sizeof *refs);
    if (refs == NULL)
        return fail(d, LEDGER_E_NOMEM, "propose");
    for (size_t i = 0; i < count; i++)
        refs[i] = (struct ledger_txref){ d->pool[i].tx, d->pool[i].len };
    uint64_t time = now > tip.time_ms ? now : tip.time_ms + 1;
    uint8_t *block, hash[LEDGER_HASH_LEN];
    size_t len, refused, used;
    uint64_t t0 = clock_ns(d);
    int rc = ledger_build_block(d->cfg.l, refs, count, time, d->cfg.self, d->propose_view, &block,
                                &len, hash, NULL, &refused, &used);
    free(refs);
    if (rc != 0)
        return fail(d, rc, "build block");
    note_exec(d, d->propose_height, t0);
    d->want_propose = false;
    struct pbft_event ev = { .type = PBFT_EV_PROPOSAL, .now = now };
    ev.proposal.height = d->propose_height;
    memcpy(ev.proposal.digest, hash, PBFT_DIGEST_SIZE);
    ev.proposal.payload = block;
    ev.proposal.payload_len = len;
    rc = step(d, &ev);
    free(block);
    return rc;
}

/* Processes one update in the order pbft.h prescribes. Everything needed
 * after a nested step is copied first: the update dies with that step. */
static int handle(struct node_driver *d, struct pbft_update *up, uint64_t now)
{
    int rc;
    if (up->has_committed && (rc = commit(d, up, now)) != 0)
        return rc;
    uint64_t persisted = 0;
    if (up->has_persist) {
        rc = ledger_store_consensus_put(ledger_store_get(d->cfg.l), SNAPSHOT_NAME,
                                        up->persist.bytes, up->persist.len);
        if (rc != 0)
            return fail(d, rc, "persist consensus snapshot");
        persisted = up->persist.seq;
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
    struct pbft_event verdict = { .type = PBFT_EV_VALIDATED, .now = now };
    bool has_verdict = up->has_validate;
    if (has_verdict) {
        verdict.validated.height = up->validate.height;
        memcpy(verdict.validated.digest, up->validate.digest, PBFT_DIGEST_SIZE);
        verdict.validated.ok = block_valid(d, up, now);
        if (ledger_failed(d->cfg.l))
            return fail(d, LEDGER_E_FATAL, "validate block");
    }
    if (persisted != 0) {
        struct pbft_event ev = { .type = PBFT_EV_PERSISTED, .now = now };
        ev.persisted.seq = persisted;
        if ((rc = step(d, &ev)) != 0)
            return rc;
    }
    if (has_verdict && (rc = step(d, &verdict)) != 0)
        return rc;
    return propose(d, now);
}

static int step(struct node_driver *d, const struct pbft_event *ev)
{
    if (d->failed)
        return LEDGER_E_FATAL;
    struct pbft_update up;
    int rc = pbft_step(d->r, ev, &up);
    /* On error the update is still valid (pbft.h): a block committed in the
     * same step must be applied, or the core and the ledger would disagree. */
    int hrc = handle(d, &up, ev->now);
    if (rc != 0) {
        snprintf(d->errmsg, sizeof d->errmsg, "consensus: %s: %s", pbft_strerror(rc),
                 pbft_errmsg(d->r));
        return hrc != 0 ? hrc : LEDGER_E_INVALID;
    }
    return hrc;
}

/* ---- start ------------------------------------------------------------------ */

/* The certificate of the tip block, for the core's START. */
static int tip_cert(struct node_driver *d, uint64_t height, struct pbft_cert *out)
{
    struct ledger_rtxn *rt;
    struct ledger_stored_block b;
    int rc = ledger_rtxn_begin(ledger_store_get(d->cfg.l), &rt);
    if (rc != 0)
        return rc;
    rc = ledger_rtxn_block_load(rt, height, &b);
    ledger_rtxn_end(rt);
    if (rc != 0)
        return rc;
    const Sealchain__CommitCert *c = b.cert;
    if (c == NULL || c->n_signers != c->n_signatures || c->n_signers > PBFT_MAX_N ||
        c->block_hash.len != PBFT_DIGEST_SIZE) {
        ledger_stored_block_close(&b);
        return LEDGER_E_MALFORMED;
    }
    memset(out, 0, sizeof *out);
    out->height = c->height;
    out->view = c->view;
    memcpy(out->digest, c->block_hash.data, PBFT_DIGEST_SIZE);
    out->count = (unsigned)c->n_signers;
    for (size_t i = 0; i < c->n_signers; i++) {
        if (c->signatures[i].len != PBFT_SIG_SIZE) {
            ledger_stored_block_close(&b);
            return LEDGER_E_MALFORMED;
        }
        out->signers[i] = (uint16_t)c->signers[i];
        memcpy(out->sigs[i], c->signatures[i].data, PBFT_SIG_SIZE);
    }
    ledger_stored_block_close(&b);
    return 0;
}

static int start(struct node_driver *d, uint64_t now)
{
    struct ledger_tip tip;
    ledger_tip_get(d->cfg.l, &tip);
    struct pbft_cert *cert = NULL;
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    int rc =
        ledger_store_consensus_get(ledger_store_get(d->cfg.l), SNAPSHOT_NAME, &snap, &snap_len);
    if (rc != 0 && rc != LEDGER_E_NOT_FOUND)
        return fail(d, rc, "read consensus snapshot");
    if (tip.height > 0) {
        cert = malloc(sizeof *cert);
        if (cert == NULL) {
            rc = fail(d, LEDGER_E_NOMEM, "start");
            goto out;
        }
        if ((rc = tip_cert(d, tip.height, cert)) != 0) {
            rc = fail(d, rc, "read the tip's certificate");
            goto out;
        }
    }
    struct pbft_event ev = { .type = PBFT_EV_START, .now = now };
    ev.start.snapshot = snap;
    ev.start.snapshot_len = snap_len;
    ev.start.committed_height = tip.height;
    ev.start.last_cert = cert;
    rc = step(d, &ev);
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

int node_driver_new(const struct node_driver_config *cfg, uint64_t now, struct node_driver **out,
                    char *errmsg, size_t errmsg_len)
{
    *out = NULL;
    struct node_driver *d = calloc(1, sizeof *d);
    if (d == NULL)
        return LEDGER_E_NOMEM;
    d->cfg = *cfg;
    if (d->cfg.clock_skew_ms == 0)
        d->cfg.clock_skew_ms = NODE_DEFAULT_CLOCK_SKEW_MS;
    if (d->cfg.block_txs == 0)
        d->cfg.block_txs = NODE_DEFAULT_BLOCK_TXS;
    d->g = ledger_genesis_get(cfg->l);
    node_reqtimer_init(&d->req,
                       cfg->request_timeout_ms ? cfg->request_timeout_ms : REQUEST_TIMEOUT_MS);
    if (d->cfg.mempool_max_txs == 0)
        d->cfg.mempool_max_txs = NODE_MEMPOOL_MAX;
    if (d->cfg.mempool_max_bytes == 0)
        d->cfg.mempool_max_bytes = NODE_MEMPOOL_MAX_BYTES;
    d->pool = calloc(d->cfg.mempool_max_txs, sizeof *d->pool);
    if (d->pool == NULL)
        goto err_after_alloc;
    struct pbft_config pc = {
        .n = d->g->n,
        .self = cfg->self,
        .crypto = { d, sign_cb, verify_cb, block_ok_cb },
        .max_payload = max_payload(d->cfg.block_txs),
        .progress_timeout_ms = cfg->progress_timeout_ms,
        .view_change_timeout_ms = cfg->view_change_timeout_ms,
        .view_change_max_ms = cfg->view_change_max_ms,
        .request_timeout_ms = cfg->request_timeout_ms,
        .trace = cfg->trace,
        .trace_ctx = cfg->trace_ctx,
    };
    int rc = pbft_new(&pc, &d->r);
    if (rc != 0) {
        snprintf(errmsg, errmsg_len, "consensus: %s", pbft_strerror(rc));
        goto err_after_pool;
    }
    if ((rc = start(d, now)) != 0) {
        snprintf(errmsg, errmsg_len, "%s", d->errmsg);
        node_driver_free(d);
        return rc;
    }
    *out = d;
    return 0;

err_after_pool:
    free(d->pool);
err_after_alloc:
    free(d);
    return LEDGER_E_NOMEM;
}

void node_driver_free(struct node_driver *d)
{
    if (d == NULL)
        return;
    pbft_free(d->r);
    for (size_t i = 0; i < d->pool_len; i++)
        free(d->pool[i].tx);
    free(d->pool);
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
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return LEDGER_E_NOMEM;
    memcpy(copy, tx, len);
    d->pool[d->pool_len] = (struct pooled){ .tx = copy, .len = len };
    memcpy(d->pool[d->pool_len++].id, id, LEDGER_HASH_LEN);
    d->pool_bytes += len;
    node_reqtimer_admitted(&d->req, now);
    return propose(d, now);
}

int node_driver_submit(struct node_driver *d, const uint8_t *tx, size_t len, uint64_t now,
                       uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    if (d->failed)
        return LEDGER_E_FATAL;
    uint8_t id[LEDGER_HASH_LEN];
    int rc = ledger_check_tx(d->cfg.l, tx, len, now, id, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    if (out_id != NULL)
        memcpy(out_id, id, LEDGER_HASH_LEN);
    return pool_add(d, tx, len, id, now, errmsg, errmsg_len);
}

int node_driver_admit(struct node_driver *d, const uint8_t *tx, size_t len, uint64_t now,
                      uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    if (d->failed)
        return LEDGER_E_FATAL;
    uint8_t id[LEDGER_HASH_LEN];
    int rc = ledger_recheck_tx(d->cfg.l, tx, len, now, id, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    if (out_id != NULL)
        memcpy(out_id, id, LEDGER_HASH_LEN);
    return pool_add(d, tx, len, id, now, errmsg, errmsg_len);
}

int node_driver_receive(struct node_driver *d, unsigned from, const uint8_t *bytes, size_t len,
                        uint64_t now)
{
    struct pbft_event ev = { .type = PBFT_EV_RECEIVE, .now = now };
    ev.receive.from = from;
    ev.receive.bytes = bytes;
    ev.receive.len = len;
    return step(d, &ev);
}

int node_driver_tick(struct node_driver *d, uint64_t now)
{
    int rc;
    if (d->deadline != 0 && now >= d->deadline) {
        struct pbft_event ev = { .type = PBFT_EV_TIMEOUT, .now = now };
        if ((rc = step(d, &ev)) != 0)
            return rc;
    }
    if (requests_overdue(d, now)) {
        struct pbft_event ev = { .type = PBFT_EV_REQUEST_OVERDUE, .now = now };
        return step(d, &ev);
    }
    return propose(d, now);
}

int node_driver_synced(struct node_driver *d, uint64_t now)
{
    struct ledger_tip tip;
    ledger_tip_get(d->cfg.l, &tip);
    struct pbft_cert *cert = malloc(sizeof *cert);
    if (cert == NULL)
        return fail(d, LEDGER_E_NOMEM, "synced");
    int rc = tip_cert(d, tip.height, cert);
    if (rc != 0) {
        free(cert);
        return fail(d, rc, "read the tip's certificate");
    }
    pool_recheck(d, now);
    node_reqtimer_executed(&d->req, d->pool_len, now); /* synced blocks executed */
    struct pbft_event ev = { .type = PBFT_EV_SYNCED, .now = now };
    ev.synced.cert = cert;
    rc = step(d, &ev);
    free(cert);
    return rc;
}

bool node_driver_behind(const struct node_driver *d, uint64_t *out_height, unsigned *out_peer)
{
    struct ledger_tip tip;
    ledger_tip_get(d->cfg.l, &tip);
    if (d->behind_height <= tip.height)
        return false;
    *out_height = d->behind_height;
    *out_peer = d->behind_peer;
    return true;
}

uint64_t node_driver_deadline(const struct node_driver *d)
{
    return d->deadline;
}

bool node_driver_holds(const struct node_driver *d, const uint8_t id[LEDGER_HASH_LEN])
{
    return pool_has(d, id);
}

size_t node_driver_mempool_len(const struct node_driver *d)
{
    return d->pool_len;
}

const char *node_driver_errmsg(const struct node_driver *d)
{
    return d->errmsg;
}

uint64_t node_driver_exec_ns(const struct node_driver *d)
{
    return d->last_exec_ns;
}

void node_driver_stats(const struct node_driver *d, struct pbft_stats *out)
{
    pbft_get_stats(d->r, out);
}
