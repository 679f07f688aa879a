/* sealchaind's core: the loop, the peers' frames, the operator socket and the lifecycle. */
#include "node/daemon_internal.h"

uint64_t node__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Monotonic clocks, for durations (metrics). */
uint64_t node__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t node__mono_ms(void)
{
    return node__mono_ns() / 1000000u;
}

void node__fatal(struct daemon *dm, const char *what, const char *why)
{
    node_log(NODE_LOG_ERROR, "node", "fail-stop what=\"%s\" reason=\"%s\"", what, why);
    /* LMDB reports a short write on a full disk as EIO ("Input/output
     * error"), sometimes as ENOSPC: say what the operator should look at. */
    if (strstr(why, "No space left") != NULL || strstr(why, "Input/output error") != NULL)
        node_log(NODE_LOG_ERROR, "node",
                 "hint=\"the disk under %s is full or failing; nothing partial was written: "
                 "free space and restart, the node catches up\"",
                 dm->o->data_dir);
    node__stop(dm, 1);
}

/* After any driver call: a fatal ledger state stops the node. */
void node__checked(struct daemon *dm, int rc, const char *what)
{
    if (rc == LEDGER_E_FATAL && !dm->stopping) {
        const char *why = node_driver_errmsg(dm->d);
        node__fatal(dm, what, why[0] != '\0' ? why : ledger_errmsg(dm->l));
    }
}

/* One info line per view change, whatever caused it (a time-out here, f+1
 * VIEW-CHANGEs, an overdue request, a NEW-VIEW). */
void node__note_view(struct daemon *dm)
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

void node__short_hex(const uint8_t *h, char out[17])
{
    ledger_hex(h, 8, out);
}

/* ---- peers -------------------------------------------------------------------- */

void node__send_tip(struct daemon *dm, int to)
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
    dm->last_tip_sent = node__now_ms();
}

uint64_t node__best_peer_height(const struct daemon *dm)
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
uint64_t node__vouched_height(const struct daemon *dm)
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

bool node__syncing(const struct daemon *dm)
{
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    return node__vouched_height(dm) >= tip.height + 2;
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

/* ---- frames from peers --------------------------------------------------------- */

/* Hands a consensus message to the driver. A message the core finds badly
 * signed drops the peer (returns false): an honest node signs its own
 * messages and relays only signatures it verified, while each bad one costs
 * this loop an Ed25519 verification, so a peer left connected could keep it
 * busy with them. So does one the core finds malformed (wire.h: a frame
 * that does not decode drops its peer): bytes after the message, a
 * certificate naming a signer twice or one past n, a block that is not
 * its digest's, a PRE-PREPARE or NEW-VIEW from a replica that is not the
 * view's primary; an honest node sends none of them. */
static bool consensus_receive(struct daemon *dm, unsigned peer, const uint8_t *body, size_t len,
                              uint64_t now)
{
    struct pbft_stats before, after;
    node_driver_stats(dm->d, &before);
    node__checked(dm, node_driver_receive(dm->d, peer, body, len, now), "consensus message");
    if (dm->stopping)
        return false;
    node_driver_stats(dm->d, &after);
    if (after.dropped_bad_sig > before.dropped_bad_sig) {
        node_p2p_drop(dm->p2p, peer, "consensus message with a bad signature");
        return false;
    }
    if (after.dropped_malformed > before.dropped_malformed) {
        node_p2p_drop(dm->p2p, peer, "malformed consensus message");
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
    uint64_t now = node__now_ms();
    switch (type) {
    case NODE_WIRE_CONSENSUS:
        if (!own_message(body, len, peer)) {
            node_p2p_drop(dm->p2p, peer, "consensus frame is not one of its own messages");
            return;
        }
        if (!consensus_receive(dm, peer, body, len, now))
            return;
        node__note_view(dm);
        break;
    case NODE_WIRE_TX:
        if (node__admit_start(dm, body, len, false, peer, 0, false, 0) == LEDGER_E_MALFORMED) {
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
        node__serve_sync(dm, peer, body, len, now);
        break;
    case NODE_WIRE_SYNC_BLOCK:
        node__take_block(dm, peer, body, len);
        break;
    case NODE_WIRE_SYNC_END:
        node__apply_batch(dm, peer, body, len);
        break;
    default:
        node_p2p_drop(dm->p2p, peer, "unknown frame type");
        return;
    }
    node__maybe_sync(dm, now);
}

static void on_peer(void *ctx, unsigned peer, bool up)
{
    struct daemon *dm = ctx;
    struct peer *pe = &dm->peers[peer];
    pe->up = up;
    pe->tip = 0; /* until it announces one on this link */
    pe->owed = false;
    pe->credit = SYNC_SERVE_BURST;
    pe->credit_at = node__now_ms();
    node_log(NODE_LOG_INFO, "p2p", "peer=%u %s connected=%u", peer, up ? "up" : "down",
             node_p2p_connected_count(dm->p2p));
    if (up)
        node__send_tip(dm, (int)peer);
    else if (dm->sync_active && dm->sync_peer == peer) {
        dm->sync_active = false;
        node__batch_clear(dm);
    }
}

/* ---- the operator socket --------------------------------------------------------- */

void node__reply_error(struct daemon *dm, uint64_t client, uint64_t req,
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
    node__reply(dm, client, &r);
}

static bool refuse_if_syncing(struct daemon *dm, uint64_t client, uint64_t req, const char *advice)
{
    if (!node__syncing(dm))
        return false;
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    node__reply_error(dm, client, req, SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                      "node is syncing (height %" PRIu64 " of %" PRIu64 "); %s", tip.height,
                      node__vouched_height(dm), advice);
    return true;
}

static void api_submit(struct daemon *dm, uint64_t client, uint64_t req,
                       const Sealchain__SubmitRequest *s)
{
    if (refuse_if_syncing(dm, client, req, "try again later"))
        return;
    node__admit_start(dm, s->tx.data, s->tx.len, true, client, req, s->wait, s->wait_ms);
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
    s.syncing = node__syncing(dm);
    s.last_block_hash.data = tip.hash;
    s.last_block_hash.len = LEDGER_HASH_LEN;
    s.last_block_time_ms = tip.time_ms;
    s.best_peer_height = node__best_peer_height(dm);
    s.view_changes = st.view_changes;
    s.n_peers = np;
    s.peers = pp;
    s.genesis_hash.data = (uint8_t *)g->hash;
    s.genesis_hash.len = LEDGER_HASH_LEN;
    r.id = req;
    r.rep_case = SEALCHAIN__API_REPLY__REP_STATUS;
    r.status = &s;
    node__reply(dm, client, &r);
}

/* Where a query's reply goes. */
struct asker {
    struct daemon *dm;
    uint64_t client;
};

static void send_query_reply(void *ctx, Sealchain__ApiReply *r)
{
    struct asker *a = ctx;
    node__reply(a->dm, a->client, r);
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
    x.best_peer_height = node__best_peer_height(dm);
    x.peers_connected = dm->p2p ? node_p2p_connected_count(dm->p2p) : 0;
    x.syncing = node__syncing(dm);
    for (int k = 0; k < LEDGER_STORE_SYNC_KINDS; k++)
        ledger_store_sync_stats(ledger_store_get(dm->l), (enum ledger_store_sync_kind)k,
                                &x.sync[k]);
    for (unsigned i = 0; dm->p2p != NULL && i < dm->o->g->n; i++)
        x.has_offset[i] = i != dm->o->self && node_p2p_clock_offset(dm->p2p, i, &x.offset_ms[i]);
    return node_stats_render(dm->stats, &x, node__now_ms(), out, out_len) == 0 ? 0 : -1;
}

static void api_metrics(struct daemon *dm, uint64_t client, uint64_t req)
{
    char *text;
    size_t len;
    if (metrics_text(dm, &text, &len) != 0) {
        node__reply_error(dm, client, req, SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE, 0,
                          "out of memory");
        return;
    }
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    Sealchain__MetricsReply m = SEALCHAIN__METRICS_REPLY__INIT;
    m.text = text;
    r.id = req;
    r.rep_case = SEALCHAIN__API_REPLY__REP_METRICS;
    r.metrics = &m;
    node__reply(dm, client, &r);
    free(text);
}

static void on_request(void *ctx, uint64_t client, const uint8_t *bytes, size_t len)
{
    struct daemon *dm = ctx;
    if (dm->stopping)
        return;
    Sealchain__ApiRequest *q = sealchain__api_request__unpack(NULL, len, bytes);
    if (q == NULL) {
        node__reply_error(dm, client, 0, SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST, 0,
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
            node__reply_error(dm, client, q->id, SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST, 0,
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
    uint64_t now = node__now_ms();
    node__checked(dm, node_driver_tick(dm->d, now), "tick");
    if (dm->stopping)
        return;
    node__note_view(dm);
    node__maybe_sync(dm, now);
    node__expire_waiters(dm, now);
    if (now - dm->last_tip_sent >= TIP_EVERY_MS)
        node__send_tip(dm, -1);
    rearm(dm, now, node__serve_owed(dm, now));
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
    node__stop(dm, 0);
}

void node__stop(struct daemon *dm, int code)
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
    node_chain_timed_init(&dm->timed, &ledger_chain, node__mono_ns, &dm->chain);
    struct node_driver_config dc = {
        .self = dm->o->self,
        .l = dm->l,
        .node_sk = dm->o->node_sk,
        .chain = &dm->chain,
        .n = dm->o->g->n,
        .send = send_cb,
        .send_ctx = dm,
        .on_commit = node__on_commit,
        .commit_ctx = dm,
        .on_drop = node__on_drop,
        .on_forward = node__on_forward,
        .clock_skew_ms = dm->o->clock_skew_ms,
        .progress_timeout_ms = dm->o->progress_timeout_ms,
        .view_change_timeout_ms = dm->o->view_change_timeout_ms,
        .view_change_max_ms = dm->o->view_change_max_ms,
        .request_timeout_ms = dm->o->request_timeout_ms,
        .block_txs = dm->o->block_txs,
        .batch_wait_ms = dm->o->block_wait_ms,
        .mempool_max_txs = dm->o->mempool_max_txs,
        .mempool_max_bytes = dm->o->mempool_max_bytes,
    };
    if (node_driver_new(&dc, node__now_ms(), &dm->d, errmsg, sizeof errmsg) != 0) {
        node_log(NODE_LOG_ERROR, "consensus", "start reason=\"%s\"", errmsg);
        return -1;
    }
    struct pbft_stats st;
    node_driver_stats(dm->d, &st);
    dm->logged_view = st.view;
    struct ledger_tip tip;
    ledger_tip_get(dm->l, &tip);
    char h[17], gh[17];
    node__short_hex(tip.hash, h);
    node__short_hex(dm->o->g->hash, gh);
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
        .silent_ms = PEER_SILENT_MS,
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
    rearm(dm, node__now_ms(), 0);
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
        node__stop(dm, 1);
        rc = 1;
    }
    /* Let every close callback run, then release what the handles used. */
    uv_run(&dm->loop, UV_RUN_DEFAULT);
    uv_loop_close(&dm->loop);
    node__batch_clear(dm);
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
