/* The operator socket's read-only requests: blocks, txs, orgs, seals, usages, verify, proofs. */
#include "node/api_query.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/proof.h"
#include "ledger/query.h"
#include "ledger/sigfile.h"
#include "ledger/verify.h"

/* One request being answered: where the reply goes. */
struct q {
    struct ledger *l;
    uint64_t id;
    node_apiq_send_fn send;
    void *ctx;
};

static void fail(struct q *q, Sealchain__ApiOutcome outcome, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct q *q, Sealchain__ApiOutcome outcome, int code, const char *fmt, ...)
{
    char msg[LEDGER_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    r.id = q->id;
    r.outcome = outcome;
    r.code = (uint32_t)code;
    r.error = msg;
    q->send(q->ctx, &r);
}

#define BAD_REQUEST SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST
#define REFUSED     SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED
#define UNAVAILABLE SEALCHAIN__API_OUTCOME__API_OUTCOME_UNAVAILABLE

/* A lookup's error as a reply: not found (and the like) REFUSED, a store
 * problem UNAVAILABLE. what names the thing looked up. */
static void fail_lookup(struct q *q, int rc, const char *what)
{
    if (rc == LEDGER_E_STORE || rc == LEDGER_E_NOMEM || rc == LEDGER_E_MALFORMED)
        fail(q, UNAVAILABLE, rc, "%s: %s", what, ledger_strerror(rc));
    else
        fail(q, REFUSED, rc, "%s: %s", what, ledger_strerror(rc));
}

static bool sized(struct q *q, const ProtobufCBinaryData *b, size_t len, const char *what)
{
    if (b->len == len)
        return true;
    fail(q, BAD_REQUEST, 0, "%s must be %zu bytes, not %zu", what, len, b->len);
    return false;
}

static bool begin(struct q *q, struct ledger_rtxn **rt)
{
    if (ledger_rtxn_begin(ledger_store_get(q->l), rt) == 0)
        return true;
    fail(q, UNAVAILABLE, LEDGER_E_STORE, "store: %s", ledger_errmsg(q->l));
    return false;
}

static void send_rep(struct q *q, Sealchain__ApiReply *r)
{
    r->id = q->id;
    q->send(q->ctx, r);
}

static ProtobufCBinaryData bin(const uint8_t *p, size_t len)
{
    return (ProtobufCBinaryData){ len, (uint8_t *)p };
}

/* ---- block, tx, org -------------------------------------------------------------- */

static void block(struct q *q, uint64_t height)
{
    struct ledger_rtxn *rt;
    if (!begin(q, &rt))
        return;
    if (height == 0) {
        struct ledger_tip tip;
        ledger_rtxn_tip(rt, &tip);
        height = tip.height;
    }
    struct ledger_q_block b = { 0 };
    int rc = ledger_q_block_by_height(rt, height, &b);
    ledger_rtxn_end(rt);
    if (rc != 0) {
        char what[64];
        snprintf(what, sizeof what, "block %" PRIu64, height);
        if (rc == LEDGER_E_NOT_FOUND)
            fail(q, REFUSED, rc, "no block at height %" PRIu64, height);
        else
            fail_lookup(q, rc, what);
        return;
    }
    ProtobufCBinaryData *txs = calloc(b.n_txs ? b.n_txs : 1, sizeof *txs);
    if (txs == NULL) {
        ledger_q_block_close(&b);
        fail(q, UNAVAILABLE, LEDGER_E_NOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < b.n_txs; i++)
        txs[i] = bin(b.tx_ids[i], LEDGER_HASH_LEN);
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    Sealchain__BlockReply s = SEALCHAIN__BLOCK_REPLY__INIT;
    s.height = b.height;
    s.hash = bin(b.hash, LEDGER_HASH_LEN);
    s.prev_hash = bin(b.prev_hash, LEDGER_HASH_LEN);
    s.time_ms = b.time_ms;
    s.proposer = b.proposer;
    s.view = b.view;
    s.tx_root = bin(b.tx_root, LEDGER_HASH_LEN);
    s.state_root = bin(b.state_root, LEDGER_HASH_LEN);
    s.n_txs = b.n_txs;
    s.txs = txs;
    s.n_signers = b.n_signers;
    s.signers = b.signers;
    r.rep_case = SEALCHAIN__API_REPLY__REP_BLOCK;
    r.block = &s;
    send_rep(q, &r);
    free(txs);
    ledger_q_block_close(&b);
}

static void tx(struct q *q, const ProtobufCBinaryData *h)
{
    struct ledger_rtxn *rt;
    if (!sized(q, h, LEDGER_HASH_LEN, "a tx hash") || !begin(q, &rt))
        return;
    struct ledger_q_tx t;
    int rc = ledger_q_tx(rt, h->data, &t);
    ledger_rtxn_end(rt);
    if (rc != 0) {
        char hex[2 * LEDGER_HASH_LEN + 1], what[100];
        ledger_hex(h->data, LEDGER_HASH_LEN, hex);
        snprintf(what, sizeof what, "transaction %s", hex);
        if (rc == LEDGER_E_NOT_FOUND)
            fail(q, REFUSED, rc, "no committed transaction %s", hex);
        else
            fail_lookup(q, rc, what);
        return;
    }
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    Sealchain__TxReply s = SEALCHAIN__TX_REPLY__INIT;
    s.hash = bin(t.hash, LEDGER_HASH_LEN);
    s.type = (char *)ledger_q_tx_type_name(t.type);
    s.signer = bin(t.signer, LEDGER_KEY_LEN);
    s.height = t.height;
    s.index = t.index;
    s.time_ms = t.time_ms;
    r.rep_case = SEALCHAIN__API_REPLY__REP_TX;
    r.tx = &s;
    send_rep(q, &r);
}

static void org(struct q *q, const char *org_id)
{
    struct ledger_rtxn *rt;
    if (org_id == NULL || org_id[0] == '\0' || strlen(org_id) > LEDGER_ORG_ID_MAX) {
        fail(q, BAD_REQUEST, 0, "an organisation id is 1..%d characters", LEDGER_ORG_ID_MAX);
        return;
    }
    if (!begin(q, &rt))
        return;
    Sealchain__OrgRecord *o = NULL;
    int rc = ledger_q_org(rt, org_id, &o);
    ledger_rtxn_end(rt);
    if (rc != 0) {
        char what[LEDGER_ORG_ID_MAX + 20];
        snprintf(what, sizeof what, "organisation %s", org_id);
        fail_lookup(q, rc == LEDGER_E_NOT_FOUND ? LEDGER_E_UNKNOWN_ORG : rc, what);
        return;
    }
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    Sealchain__OrgReply s = SEALCHAIN__ORG_REPLY__INIT;
    s.org = o;
    r.rep_case = SEALCHAIN__API_REPLY__REP_ORG;
    r.org = &s;
    send_rep(q, &r);
    sealchain__org_record__free_unpacked(o, NULL);
}

/* ---- seal, usage ------------------------------------------------------------------- */

static void seal(struct q *q, const ProtobufCBinaryData *id)
{
    struct ledger_rtxn *rt;
    if (!sized(q, id, LEDGER_HASH_LEN, "a seal id") || !begin(q, &rt))
        return;
    struct ledger_q_seal sq = { 0 };
    int rc = ledger_q_seal(rt, id->data, &sq);
    ledger_rtxn_end(rt);
    if (rc != 0) {
        char hex[2 * LEDGER_HASH_LEN + 1], what[100];
        ledger_hex(id->data, LEDGER_HASH_LEN, hex);
        snprintf(what, sizeof what, "seal %s", hex);
        fail_lookup(q, rc == LEDGER_E_NOT_FOUND ? LEDGER_E_UNKNOWN_SEAL : rc, what);
        return;
    }
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    Sealchain__SealReply s = SEALCHAIN__SEAL_REPLY__INIT;
    s.seal = sq.seal;
    s.n_history = sq.n_history;
    s.history = sq.history;
    Sealchain__HistoryEntry **kept = NULL;
    if (sq.n_history > LEDGER_Q_LIST_MAX) { /* bounded: the registration and the latest */
        kept = calloc(LEDGER_Q_LIST_MAX, sizeof *kept);
        if (kept == NULL) {
            ledger_q_seal_close(&sq);
            fail(q, UNAVAILABLE, LEDGER_E_NOMEM, "out of memory");
            return;
        }
        kept[0] = sq.history[0];
        memcpy(kept + 1, sq.history + sq.n_history - (LEDGER_Q_LIST_MAX - 1),
               (LEDGER_Q_LIST_MAX - 1) * sizeof *kept);
        s.n_history = LEDGER_Q_LIST_MAX;
        s.history = kept;
        s.history_omitted = (uint32_t)(sq.n_history - LEDGER_Q_LIST_MAX);
    }
    s.n_grants = sq.n_grants;
    s.grants = sq.grants;
    s.more_grants = sq.more_grants;
    r.rep_case = SEALCHAIN__API_REPLY__REP_SEAL;
    r.seal = &s;
    send_rep(q, &r);
    free(kept);
    ledger_q_seal_close(&sq);
}

/* Time of the block at height (0 when unknown). */
static uint64_t block_time(struct ledger_rtxn *rt, uint64_t height)
{
    struct ledger_q_block b = { 0 };
    uint64_t t = ledger_q_block_by_height(rt, height, &b) == 0 ? b.time_ms : 0;
    ledger_q_block_close(&b);
    return t;
}

static void usage(struct q *q, const Sealchain__UsageRequest *u)
{
    bool by_doc = u->doc_hash.len != 0;
    if (by_doc == (u->usage.len != 0)) {
        fail(q, BAD_REQUEST, 0, "a usage request names a document hash or a use, not both");
        return;
    }
    struct ledger_rtxn *rt;
    const ProtobufCBinaryData *key = by_doc ? &u->doc_hash : &u->usage;
    if (!sized(q, key, LEDGER_HASH_LEN, by_doc ? "a document hash" : "a use id") || !begin(q, &rt))
        return;
    struct ledger_q_usages us = { 0 };
    struct ledger_q_usage one = { 0 };
    int rc;
    if (by_doc) {
        rc = ledger_q_usages_by_doc(rt, key->data, LEDGER_Q_LIST_MAX, &us);
    } else {
        rc = ledger_q_usage(rt, key->data, &one);
        us.count = rc == 0;
        us.items = &one;
    }
    Sealchain__UsageInfo *info = calloc(us.count ? us.count : 1, sizeof *info);
    Sealchain__UsageInfo **pinfo = calloc(us.count ? us.count : 1, sizeof *pinfo);
    if (rc == 0 && (info == NULL || pinfo == NULL))
        rc = LEDGER_E_NOMEM;
    for (size_t i = 0; rc == 0 && i < us.count; i++) {
        sealchain__usage_info__init(&info[i]);
        info[i].rec = us.items[i].rec;
        info[i].org = us.items[i].org_id;
        info[i].status = (Sealchain__UsageStatus)us.items[i].status;
        if (us.items[i].status == SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE)
            info[i].effective_time_ms = block_time(rt, us.items[i].rec->effective_height);
        pinfo[i] = &info[i];
    }
    ledger_rtxn_end(rt);
    if (rc != 0) {
        char hex[2 * LEDGER_HASH_LEN + 1], what[100];
        ledger_hex(key->data, LEDGER_HASH_LEN, hex);
        snprintf(what, sizeof what, "%s %s", by_doc ? "document" : "use", hex);
        fail_lookup(q, rc == LEDGER_E_NOT_FOUND ? LEDGER_E_UNKNOWN_USAGE : rc, what);
    } else {
        Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
        Sealchain__UsageReply s = SEALCHAIN__USAGE_REPLY__INIT;
        s.doc_hash = by_doc ? *key : (us.count ? us.items[0].rec->doc_hash : bin(NULL, 0));
        s.n_usages = us.count;
        s.usages = pinfo;
        s.more = us.more;
        r.rep_case = SEALCHAIN__API_REPLY__REP_USAGE;
        r.usage = &s;
        send_rep(q, &r);
    }
    free(info);
    free(pinfo);
    if (by_doc)
        ledger_q_usages_close(&us);
    else
        ledger_q_usage_close(&one);
}

/* ---- verify ------------------------------------------------------------------------ */

/* Per signature: the reply's parts and what they point into. */
struct vsig {
    Sealchain__VerifySignature sig;
    Sealchain__VerifySeal seal;
    Sealchain__VerifyUsage usage;
    char *reasons[LEDGER_VERIFY_MAX_REASONS];
    char then[32];
    char org_name[LEDGER_NAME_MAX + 1];
    uint32_t signers[LEDGER_MAX_VALIDATORS];
};

/* The seal's status as of block height, from its history (the last entry at
 * or below it). */
static const char *status_then(const struct ledger_q_seal *sq, uint64_t height)
{
    int status = SEALCHAIN__SEAL_STATUS__SEAL_STATUS_UNSPECIFIED;
    for (size_t i = 0; i < sq->n_history && sq->history[i]->height <= height; i++) {
        switch (sq->history[i]->action) {
        case SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_REGISTER:
        case SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_RESUME:
            status = SEALCHAIN__SEAL_STATUS__SEAL_STATUS_ACTIVE;
            break;
        case SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_SUSPEND:
            status = SEALCHAIN__SEAL_STATUS__SEAL_STATUS_SUSPENDED;
            break;
        case SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_DESTROY:
            status = SEALCHAIN__SEAL_STATUS__SEAL_STATUS_DESTROYED;
            break;
        default:
            break;
        }
    }
    return ledger_seal_status_name(status);
}

/* Fills v from the ledger's verdict s on signature ss, with what the report
 * does not hold (status then, the effective block's time and signers) read
 * through rt. */
static void fill_sig(struct ledger_rtxn *rt, struct ledger_verify_sig *s,
                     const struct ledger_seal_sig *ss, struct vsig *v)
{
    sealchain__verify_signature__init(&v->sig);
    v->sig.valid = s->valid;
    for (size_t i = 0; i < s->n_reasons; i++)
        v->reasons[i] = s->reasons[i];
    v->sig.n_reasons = s->n_reasons;
    v->sig.reasons = v->reasons;
    v->sig.user_key = bin(ss->user_key, LEDGER_KEY_LEN);
    if (s->seal_found) {
        sealchain__verify_seal__init(&v->seal);
        v->seal.seal_id = bin(s->seal.seal_id, LEDGER_HASH_LEN);
        v->seal.org = s->seal.org;
        v->seal.type = (char *)s->seal.type_name;
        v->seal.name = s->seal.name;
        v->seal.status = (char *)s->seal.status_name;
        v->seal.status_then = "";
        v->seal.org_name = "";
        v->sig.seal = &v->seal;
        Sealchain__OrgRecord *o = NULL;
        if (ledger_q_org(rt, s->seal.org, &o) == 0) {
            snprintf(v->org_name, sizeof v->org_name, "%s", o->name);
            v->seal.org_name = v->org_name;
        }
        if (o != NULL)
            sealchain__org_record__free_unpacked(o, NULL);
    }
    if (!s->usage_found)
        return;
    sealchain__verify_usage__init(&v->usage);
    v->usage.usage = bin(s->usage.usage, LEDGER_HASH_LEN);
    v->usage.height = s->usage.height;
    v->usage.time_ms = s->usage.time_ms;
    v->usage.effective_height = s->usage.effective_height;
    v->usage.usage_status = (char *)s->usage.usage_status_name;
    v->sig.usage = &v->usage;
    struct ledger_q_seal sq = { 0 };
    if (s->seal_found && ledger_q_seal(rt, s->seal.seal_id, &sq) == 0) {
        snprintf(v->then, sizeof v->then, "%s", status_then(&sq, s->usage.height));
        v->seal.status_then = v->then;
    }
    ledger_q_seal_close(&sq);
    struct ledger_q_block b = { 0 };
    if (s->usage.effective_height != 0 &&
        ledger_q_block_by_height(rt, s->usage.effective_height, &b) == 0) {
        v->usage.effective_time_ms = b.time_ms;
        v->usage.n_effective_signers =
            b.n_signers < LEDGER_MAX_VALIDATORS ? b.n_signers : LEDGER_MAX_VALIDATORS;
        memcpy(v->signers, b.signers, v->usage.n_effective_signers * sizeof *v->signers);
        v->usage.effective_signers = v->signers;
    }
    ledger_q_block_close(&b);
}

static void verify_reply(struct q *q, const struct ledger_verify_report *rep,
                         const struct ledger_sigfile *f)
{
    struct vsig *v = calloc(LEDGER_SIGFILE_MAX_SIGS, sizeof *v);
    struct ledger_rtxn *rt;
    if (v == NULL) {
        fail(q, UNAVAILABLE, LEDGER_E_NOMEM, "out of memory");
        return;
    }
    if (!begin(q, &rt)) {
        free(v);
        return;
    }
    Sealchain__VerifySignature *sigs[LEDGER_SIGFILE_MAX_SIGS];
    char *reasons[LEDGER_VERIFY_MAX_REASONS];
    for (size_t i = 0; i < rep->count; i++) {
        fill_sig(rt, (struct ledger_verify_sig *)&rep->sigs[i], &f->sigs[i], &v[i]);
        sigs[i] = &v[i].sig;
    }
    ledger_rtxn_end(rt);
    for (size_t i = 0; i < rep->n_reasons; i++)
        reasons[i] = (char *)rep->reasons[i];
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    Sealchain__VerifyReply s = SEALCHAIN__VERIFY_REPLY__INIT;
    s.valid = rep->valid;
    s.doc_hash = bin(rep->doc_hash, LEDGER_HASH_LEN);
    s.as_of_height = rep->as_of_height;
    s.n_reasons = rep->n_reasons;
    s.reasons = reasons;
    s.n_signatures = rep->count;
    s.signatures = sigs;
    r.rep_case = SEALCHAIN__API_REPLY__REP_VERIFY;
    r.verify = &s;
    send_rep(q, &r);
    free(v);
}

static void verify(struct q *q, const Sealchain__VerifyRequest *vq)
{
    if (!sized(q, &vq->doc_hash, LEDGER_HASH_LEN, "a document hash"))
        return;
    struct ledger_verify_report *rep = malloc(sizeof *rep);
    struct ledger_sigfile *f = calloc(1, sizeof *f);
    if (rep == NULL || f == NULL) {
        free(rep);
        free(f);
        fail(q, UNAVAILABLE, LEDGER_E_NOMEM, "out of memory");
        return;
    }
    int rc = ledger_verify_document_store(ledger_store_get(q->l), vq->doc_hash.data,
                                          vq->sigfile.data, vq->sigfile.len, rep);
    /* The report's signatures are the file's, in order: parse it again for
     * the user keys (it parsed when rep->count > 0). */
    if (rc == 0 && rep->count > 0 &&
        (ledger_sigfile_parse(vq->sigfile.data, vq->sigfile.len, f, NULL, 0) != 0 ||
         f->count != rep->count))
        rc = LEDGER_E_INVALID;
    if (rc != 0)
        fail(q, UNAVAILABLE, rc, "verify: %s",
             rep->n_reasons ? rep->reasons[0] : ledger_strerror(rc));
    else
        verify_reply(q, rep, f);
    free(rep);
    free(f);
}

/* ---- proof ------------------------------------------------------------------------- */

static void proof(struct q *q, const ProtobufCBinaryData *usage_id)
{
    if (!sized(q, usage_id, LEDGER_HASH_LEN, "a use id"))
        return;
    uint8_t *bundle = NULL;
    size_t len = 0;
    char err[LEDGER_ERRMSG_LEN];
    int rc =
        ledger_proof_export(ledger_store_get(q->l), usage_id->data, &bundle, &len, err, sizeof err);
    if (rc == LEDGER_E_UNKNOWN_USAGE || rc == LEDGER_E_NOT_EFFECTIVE)
        fail(q, REFUSED, rc, "%s: %s", ledger_strerror(rc), err);
    else if (rc != 0)
        fail(q, UNAVAILABLE, rc, "proof export: %s", err);
    if (rc != 0)
        return;
    Sealchain__ApiReply r = SEALCHAIN__API_REPLY__INIT;
    Sealchain__ProofReply s = SEALCHAIN__PROOF_REPLY__INIT;
    s.bundle = bin(bundle, len);
    r.rep_case = SEALCHAIN__API_REPLY__REP_PROOF;
    r.proof = &s;
    send_rep(q, &r);
    free(bundle);
}

bool node_apiq_answer(struct ledger *l, const Sealchain__ApiRequest *req, node_apiq_send_fn send,
                      void *ctx)
{
    struct q q = { .l = l, .id = req->id, .send = send, .ctx = ctx };
    switch (req->req_case) {
    case SEALCHAIN__API_REQUEST__REQ_BLOCK:
        block(&q, req->block->height);
        return true;
    case SEALCHAIN__API_REQUEST__REQ_TX:
        tx(&q, &req->tx->hash);
        return true;
    case SEALCHAIN__API_REQUEST__REQ_ORG:
        org(&q, req->org->org_id);
        return true;
    case SEALCHAIN__API_REQUEST__REQ_SEAL:
        seal(&q, &req->seal->seal_id);
        return true;
    case SEALCHAIN__API_REQUEST__REQ_USAGE:
        usage(&q, req->usage);
        return true;
    case SEALCHAIN__API_REQUEST__REQ_VERIFY:
        verify(&q, req->verify);
        return true;
    case SEALCHAIN__API_REQUEST__REQ_PROOF:
        proof(&q, &req->proof->usage);
        return true;
    default:
        return false;
    }
}
