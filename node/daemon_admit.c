/* sealchaind: admission (state rules here, signatures in the thread pool) and waiting submits. */
#include "node/daemon_internal.h"

#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- waiting submits ---------------------------------------------------------- */

void node__reply(struct daemon *dm, uint64_t client, Sealchain__ApiReply *r)
{
    size_t len = sealchain__api_reply__get_packed_size(r);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return;
    sealchain__api_reply__pack(r, buf);
    node_api_reply(dm->api, client, buf, len);
    free(buf);
}

void node__reply_submit(struct daemon *dm, uint64_t client, uint64_t req, const uint8_t *id,
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
    node__reply(dm, client, &r);
}

static void waiter_remove(struct daemon *dm, size_t i)
{
    if (dm->api != NULL)
        node_api_release(dm->api, dm->waiters[i].client);
    dm->waiters[i] = dm->waiters[--dm->n_waiters];
}

/* Answers every waiter whose tx is now on chain. */
void node__resolve_committed(struct daemon *dm)
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
            node__reply_submit(dm, w->client, w->req, w->id, "committed", height,
                               SEALCHAIN__API_OUTCOME__API_OUTCOME_OK, 0, NULL);
            waiter_remove(dm, i);
            continue;
        }
        i++;
    }
    ledger_rtxn_end(r);
}

void node__on_drop(void *ctx, const uint8_t id[LEDGER_HASH_LEN], int code, const char *reason)
{
    struct daemon *dm = ctx;
    node_stats_forget(dm->stats, id);
    for (size_t i = 0; i < dm->n_waiters;) {
        struct waiter *w = &dm->waiters[i];
        if (memcmp(w->id, id, LEDGER_HASH_LEN) == 0) {
            node__reply_submit(dm, w->client, w->req, w->id, "rejected", 0,
                               SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED, code, reason);
            waiter_remove(dm, i);
            continue;
        }
        i++;
    }
}

void node__expire_waiters(struct daemon *dm, uint64_t now)
{
    for (size_t i = 0; i < dm->n_waiters;) {
        struct waiter *w = &dm->waiters[i];
        if (now >= w->deadline) {
            node__reply_submit(dm, w->client, w->req, w->id, "pending", 0,
                               SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                               "not committed in time; it may still commit");
            waiter_remove(dm, i);
            continue;
        }
        i++;
    }
}

void node__on_commit(void *ctx, uint64_t height, size_t txs)
{
    struct daemon *dm = ctx;
    struct pbft_stats st;
    node_driver_stats(dm->d, &st);
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    char h[17];
    node__short_hex(tip.hash, h);
    node_log(NODE_LOG_INFO, "consensus",
             "commit height=%" PRIu64 " txs=%zu view=%" PRIu64 " hash=%s mempool=%zu", height, txs,
             st.view, h, node_driver_mempool_len(dm->d));
    dm->lag_since = 0;
    node_stats_block_exec(dm->stats, (double)node_chain_timed_last_ns(&dm->timed) / 1e9);
    node_stats_blocks(dm->stats, dm->l, node__mono_ms(), node__now_ms());
    if (dm->p2p != NULL)
        node__send_tip(dm, -1);
    node__resolve_committed(dm);
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
    struct ledger_sigjobs_packed *jobs; /* owned; sized to the signed bytes */
    uint64_t checked_height;            /* the tip the state rules ran over */
    int rc;
    char why[LEDGER_ERRMSG_LEN];
};

/* Replies to an API submit once its tx is held: committed already (a lone
 * validator commits inside admission; tip_moved says the tip moved since the
 * tx was held, else it cannot be on chain), pending, or a waiter. */
static void submit_held(struct daemon *dm, struct admit *a, uint64_t now, bool tip_moved)
{
    uint64_t height;
    uint32_t index;
    struct ledger_rtxn *r;
    bool on_chain = false;
    if (tip_moved && ledger_rtxn_begin(ledger_store_get(dm->l), &r) == 0) {
        on_chain = ledger_rtxn_tx_location(r, a->id, &height, &index) == 0;
        ledger_rtxn_end(r);
    }
    if (on_chain) {
        node__reply_submit(dm, a->client, a->req, a->id, "committed", height,
                           SEALCHAIN__API_OUTCOME__API_OUTCOME_OK, 0, NULL);
        return;
    }
    if (!a->wait) {
        node__reply_submit(dm, a->client, a->req, a->id, "pending", 0,
                           SEALCHAIN__API_OUTCOME__API_OUTCOME_OK, 0, NULL);
        return;
    }
    if (dm->n_waiters == NODE_DAEMON_WAITERS_MAX) {
        node__reply_submit(dm, a->client, a->req, a->id, "pending", 0,
                           SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                           "too many waiting requests; the transaction was admitted");
        return;
    }
    if (node_api_hold(dm->api, a->client, NODE_DAEMON_WAITERS_PER_CLIENT) != 0) {
        node__reply_submit(dm, a->client, a->req, a->id, "pending", 0,
                           SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                           "too many waiting requests on this connection; the transaction was "
                           "admitted");
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
    free(a->jobs);
    free(a->tx);
    free(a);
}

/* The thread pool's share of a busy machine: a worker runs this much below
 * the loop thread. Under saturation the workers alone could keep every core
 * busy, while the loop carries consensus (each block's round trip, the
 * commits that clients wait on): on a loaded machine blocks of 1,000 took
 * 1-5 s and views changed, so the loop gets the CPU first. */
#define WORKER_NICE 5

/* Lowers the calling pool thread's priority once (Linux: a per-thread nice
 * value, set by thread id; raising it needs no privilege). */
static void worker_yield_to_loop(void)
{
    static _Thread_local bool done;
    if (done)
        return;
    done = true;
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    if (errno == 0)
        (void)setpriority(PRIO_PROCESS, (id_t)gettid(), nice + WORKER_NICE);
}

/* Worker thread: only the Ed25519 checks, over copies; touches nothing shared. */
static void admit_work(uv_work_t *w)
{
    worker_yield_to_loop();
    struct admit *a = w->data;
    a->rc = ledger_sigjobs_packed_verify(a->jobs, a->dm->o->g->hash, a->why, sizeof a->why);
}

/* Loop thread: the verdict, then the mempool (state rules again: the chain
 * may have moved while the signatures were node__checked). */
static void admit_done(uv_work_t *w, int status)
{
    struct admit *a = w->data;
    struct daemon *dm = a->dm;
    dm->verifying--;
    if (dm->stopping || status != 0) {
        admit_free(a);
        return;
    }
    uint64_t now = node__now_ms();
    int rc = a->rc;
    struct ledger_tip before = { .height = 0 }, after;
    if (rc == 0) {
        /* Timed from admission; a lone validator commits inside admit. */
        if (a->from_api)
            node_stats_submitted(dm->stats, a->id, node__mono_ms());
        ledger_tip_get(dm->l, &before);
        rc = node_driver_admit_checked(dm->d, a->tx, a->len, a->id, a->checked_height, now, a->why,
                                       sizeof a->why);
        if (rc == LEDGER_E_FATAL) {
            node__checked(dm, rc, "admit");
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
        ledger_tip_get(dm->l, &after);
        if (rc == 0)
            submit_held(dm, a, now, after.height != before.height);
        else
            node__reply_submit(dm, a->client, a->req, a->id, "rejected", 0,
                               SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED, rc, a->why);
    } else if (a->rc == LEDGER_E_BAD_SIGNATURE || a->rc == LEDGER_E_BAD_SEAL_SIGNATURE) {
        /* A signature's validity does not depend on state (ledger/exec.h),
         * and an honest node gossips only transactions it verified: the
         * peer is faulty, and each copy would cost a verification. */
        node_p2p_drop(dm->p2p, (unsigned)a->client, "gossiped transaction with a bad signature");
    } else if (rc != 0 && rc != LEDGER_E_DUPLICATE_TX) {
        node_log(NODE_LOG_DEBUG, "mempool", "refuse gossiped reason=\"%s\"", a->why);
    }
    admit_free(a);
    node__maybe_sync(dm, now);
}

/* Starts admission of tx (copied). For an API submit, the reply comes from
 * here on a refusal, else from admit_done. Returns LEDGER_E_MALFORMED when
 * tx does not decode (a peer that sends that is dropped), else 0. */
int node__admit_start(struct daemon *dm, const uint8_t *tx, size_t len, bool from_api,
                      uint64_t client, uint64_t req, bool wait, uint32_t wait_ms)
{
    uint8_t id[LEDGER_HASH_LEN] = { 0 };
    if (ledger_tx_id(tx, len, id) != 0) {
        if (from_api)
            node__reply_error(dm, client, req, SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED,
                              LEDGER_E_MALFORMED, "transaction does not decode");
        return LEDGER_E_MALFORMED;
    }
    if (node_driver_holds(dm->d, id)) {
        if (from_api) {
            struct admit held = {
                .from_api = true, .wait = wait, .client = client, .req = req, .wait_ms = wait_ms
            };
            memcpy(held.id, id, LEDGER_HASH_LEN);
            submit_held(dm, &held, node__now_ms(), true);
        }
        return 0;
    }
    if (dm->verifying >= NODE_DAEMON_VERIFY_MAX) {
        if (from_api)
            node__reply_error(dm, client, req, SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                              "node busy: %u transactions await signature checks", dm->verifying);
        return 0;
    }
    /* A full pool would turn the transaction away after its signatures were
     * checked: turn it away first (those being checked count as held). */
    if (!node_driver_mempool_room(dm->d, (size_t)dm->verifying + 1, len)) {
        if (from_api) {
            char why[128];
            snprintf(why, sizeof why,
                     "mempool full (%zu transactions, %u being checked): try again later",
                     node_driver_mempool_len(dm->d), dm->verifying);
            node__reply_submit(dm, client, req, id, "rejected", 0,
                               SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED, LEDGER_E_TOO_LARGE,
                               why);
        }
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
    /* The checks are listed here in full (two whole-tx buffers on the
     * stack) and wait in the pool packed: 4,096 waiting admissions held
     * 36 MB as struct ledger_sigjobs, a few MB packed. */
    struct ledger_sigjobs jobs;
    int rc = ledger_check_tx_split_known(dm->l, tx, len, id, node__now_ms(), &jobs, a->why,
                                         sizeof a->why);
    if (rc == 0 && (a->jobs = ledger_sigjobs_pack(&jobs)) == NULL) {
        rc = LEDGER_E_NOMEM;
        snprintf(a->why, sizeof a->why, "out of memory");
    }
    if (rc != 0) {
        if (from_api)
            node__reply_submit(dm, client, req, id, "rejected", 0,
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

/* The driver's on_forward: a held transaction blocks keep leaving out goes
 * to every peer again (a primary whose mempool was full when it was
 * gossiped admits it now; peers that hold it drop the copy at once). */
void node__on_forward(void *ctx, const uint8_t *tx, size_t len)
{
    struct daemon *dm = ctx;
    node_p2p_broadcast(dm->p2p, NODE_WIRE_TX, tx, len);
}
