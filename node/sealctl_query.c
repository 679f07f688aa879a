/* sealctl queries: status, block, tx, org show, seal show, usage. */
#include <stdlib.h>
#include <string.h>

#include "ledger/crypto.h"
#include "ledger/verify.h"
#include "node/sealctl.h"
#include "node/sealctl_tx.h"

#define QUERY_MS 15000

/* Connects, sends req and checks the reply's kind. Returns 0 with *out set,
 * or an exit code (printed). */
static int ask(struct sealctl *s, Sealchain__ApiRequest *req, Sealchain__ApiReply__RepCase want,
               Sealchain__ApiReply **out)
{
    struct sealctl_conn c;
    int rc = sealctl_connect(s, &c);
    if (rc != 0)
        return rc;
    rc = sealctl_call(s, &c, req, QUERY_MS, out);
    sealctl_close(&c);
    if (rc == 0 && (*out)->rep_case != want) {
        sealchain__api_reply__free_unpacked(*out, NULL);
        *out = NULL;
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "the node sent an unexpected reply");
    }
    return rc;
}

static json_t *jbin(const ProtobufCBinaryData *b)
{
    return b->len == 0 ? json_null() : sealctl_jhex(b->data, b->len);
}

static json_t *jbins(ProtobufCBinaryData *b, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, jbin(&b[i]));
    return a;
}

/* ---- status, block, tx ------------------------------------------------------------- */

int sealctl_cmd_status(struct sealctl *s, int argc, char **argv)
{
    const struct sealctl_opt opts[] = { { NULL, false, NULL } };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__StatusRequest q = SEALCHAIN__STATUS_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_STATUS;
    req.status = &q;
    Sealchain__ApiReply *r;
    if ((rc = ask(s, &req, SEALCHAIN__API_REPLY__REP_STATUS, &r)) != 0)
        return rc;
    const Sealchain__StatusReply *st = r->status;
    json_t *o = json_pack("{s:s, s:i, s:s, s:I, s:I, s:i, s:i, s:i, s:I, s:b, s:o, s:o}",
                          "chain_id", st->chain_id, "node", (int)st->node, "org_id", st->org_id,
                          "height", (json_int_t)st->height, "view", (json_int_t)st->view, "primary",
                          (int)st->primary, "validators", (int)st->validators, "peers_connected",
                          (int)st->peers_connected, "mempool_txs", (json_int_t)st->mempool_txs,
                          "syncing", st->syncing, "last_block_hash", jbin(&st->last_block_hash),
                          "last_block_time", sealctl_jtime(st->last_block_time_ms));
    sealchain__api_reply__free_unpacked(r, NULL);
    return sealctl_print(s, o, NULL);
}

int sealctl_cmd_block(struct sealctl *s, int argc, char **argv)
{
    const struct sealctl_opt opts[] = { { NULL, false, NULL } };
    const char *pos = NULL;
    int rc = sealctl_args(s, argc, argv, opts, &pos, 1, 1, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    unsigned long h;
    if ((rc = sealctl_uint_arg(s, "HEIGHT", pos, 1, 999999999, &h)) != 0)
        return rc;
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__BlockRequest q = SEALCHAIN__BLOCK_REQUEST__INIT;
    q.height = h;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_BLOCK;
    req.block = &q;
    Sealchain__ApiReply *r;
    if ((rc = ask(s, &req, SEALCHAIN__API_REPLY__REP_BLOCK, &r)) != 0)
        return rc;
    const Sealchain__BlockReply *b = r->block;
    json_t *signers = json_array();
    for (size_t i = 0; signers != NULL && i < b->n_signers; i++)
        json_array_append_new(signers, json_integer(b->signers[i]));
    json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:i, s:I, s:o, s:o, s:o, s:{s:o}}", "height",
                          (json_int_t)b->height, "hash", jbin(&b->hash), "prev_hash",
                          jbin(&b->prev_hash), "time", sealctl_jtime(b->time_ms), "proposer",
                          (int)b->proposer, "view", (json_int_t)b->view, "tx_root",
                          jbin(&b->tx_root), "state_root", jbin(&b->state_root), "txs",
                          jbins(b->txs, b->n_txs), "commit", "signers", signers);
    sealchain__api_reply__free_unpacked(r, NULL);
    return sealctl_print(s, o, sealctl_human_short);
}

int sealctl_cmd_tx(struct sealctl *s, int argc, char **argv)
{
    const struct sealctl_opt opts[] = { { NULL, false, NULL } };
    const char *pos = NULL;
    int rc = sealctl_args(s, argc, argv, opts, &pos, 1, 1, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    uint8_t id[32];
    if ((rc = sealctl_hex32_arg(s, "HASH", pos, id)) != 0)
        return rc;
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__TxRequest q = SEALCHAIN__TX_REQUEST__INIT;
    q.hash = (ProtobufCBinaryData){ 32, id };
    req.req_case = SEALCHAIN__API_REQUEST__REQ_TX;
    req.tx = &q;
    Sealchain__ApiReply *r;
    if ((rc = ask(s, &req, SEALCHAIN__API_REPLY__REP_TX, &r)) != 0)
        return rc;
    const Sealchain__TxReply *t = r->tx;
    json_t *o = json_pack("{s:o, s:s, s:o, s:I, s:i, s:o}", "hash", jbin(&t->hash), "type", t->type,
                          "signer", jbin(&t->signer), "height", (json_int_t)t->height, "index",
                          (int)t->index, "time", sealctl_jtime(t->time_ms));
    sealchain__api_reply__free_unpacked(r, NULL);
    return sealctl_print(s, o, NULL);
}

/* ---- org show, seal show --------------------------------------------------------------- */

int sealctl_cmd_org_show(struct sealctl *s, int argc, char **argv)
{
    const struct sealctl_opt opts[] = { { NULL, false, NULL } };
    const char *pos = NULL;
    int rc = sealctl_args(s, argc, argv, opts, &pos, 1, 1, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__OrgRequest q = SEALCHAIN__ORG_REQUEST__INIT;
    q.org_id = (char *)pos;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_ORG;
    req.org = &q;
    Sealchain__ApiReply *r;
    if ((rc = ask(s, &req, SEALCHAIN__API_REPLY__REP_ORG, &r)) != 0)
        return rc;
    const Sealchain__OrgRecord *g = r->org->org;
    json_t *o = g == NULL ? NULL
                          : json_pack("{s:s, s:s, s:o, s:i, s:I, s:o, s:o, s:o}", "org_id",
                                      g->org_id, "name", g->name, "admin", jbin(&g->admin_key),
                                      "authority", (int)g->authority, "registered_height",
                                      (json_int_t)g->registered_height, "legal_rep_hash",
                                      jbin(&g->legal_rep_hash), "tx", jbin(&g->tx), "official_seal",
                                      jbin(&g->official_seal));
    sealchain__api_reply__free_unpacked(r, NULL);
    return sealctl_print(s, o, NULL);
}

static const char *action_name(int a)
{
    static const char *const names[] = { "unknown", "register", "suspend", "resume", "destroy" };
    return a >= 0 && a < 5 ? names[a] : "unknown";
}

static json_t *history_json(const Sealchain__SealReply *sr)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < sr->n_history; i++) {
        const Sealchain__HistoryEntry *h = sr->history[i];
        json_array_append_new(a, json_pack("{s:s, s:I, s:o, s:o, s:o}", "action",
                                           action_name(h->action), "height", (json_int_t)h->height,
                                           "time", sealctl_jtime(h->time_ms), "tx", jbin(&h->tx),
                                           "reason",
                                           h->reason[0] ? json_string(h->reason) : json_null()));
    }
    return a;
}

static json_t *grants_json(const Sealchain__SealReply *sr)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < sr->n_grants; i++) {
        const Sealchain__GrantRecord *g = sr->grants[i];
        json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:o, s:i, s:o, s:i, s:b}", "grant",
                                           jbin(&g->grant), "to", jbin(&g->user_key), "expires",
                                           sealctl_jtime(g->expires_ms), "max_uses",
                                           sealctl_jint_or_null(g->max_uses), "uses", (int)g->uses,
                                           "approvers", jbins(g->approvers, g->n_approvers),
                                           "threshold", (int)g->threshold, "revoked", g->revoked));
    }
    return a;
}

int sealctl_cmd_seal_show(struct sealctl *s, int argc, char **argv)
{
    const struct sealctl_opt opts[] = { { NULL, false, NULL } };
    const char *pos = NULL;
    int rc = sealctl_args(s, argc, argv, opts, &pos, 1, 1, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    uint8_t id[32];
    if ((rc = sealctl_hex32_arg(s, "ID", pos, id)) != 0)
        return rc;
    struct sealctl_conn c;
    if ((rc = sealctl_connect(s, &c)) != 0)
        return rc;
    Sealchain__ApiReply *r;
    rc = sealctl_fetch_seal(s, &c, id, &r);
    sealctl_close(&c);
    if (rc != 0)
        return rc;
    const Sealchain__SealRecord *k = r->seal->seal;
    json_t *o = json_pack(
        "{s:o, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:i, s:o, s:b}", "seal_id",
        jbin(&k->seal_id), "org", k->org_id, "type", ledger_seal_type_name(k->type), "name",
        k->name, "seal_public_key", jbin(&k->seal_key), "custodian", jbin(&k->custodian_key),
        "status", ledger_seal_status_name(k->status), "valid_from", sealctl_jtime(k->valid_from_ms),
        "valid_to", sealctl_jtime(k->valid_to_ms), "history", history_json(r->seal),
        "history_omitted", (int)r->seal->history_omitted, "grants", grants_json(r->seal),
        "more_grants", r->seal->more_grants);
    sealchain__api_reply__free_unpacked(r, NULL);
    return sealctl_print(s, o, sealctl_human_short);
}

/* ---- usage --------------------------------------------------------------------------------- */

static json_t *usage_json(const Sealchain__UsageInfo *u)
{
    const Sealchain__UsageRecord *r = u->rec;
    bool eff = u->status == SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE;
    return json_pack(
        "{s:o, s:o, s:s, s:o, s:o, s:I, s:o, s:s, s:o, s:o, s:o, s:o}", "usage", jbin(&r->usage),
        "seal_id", jbin(&r->seal_id), "org", u->org, "user", jbin(&r->user_key), "grant",
        jbin(&r->grant), "height", (json_int_t)r->height, "time", sealctl_jtime(r->time_ms),
        "usage_status", ledger_usage_status_name(u->status), "effective_height",
        sealctl_jint_or_null(eff ? r->effective_height : 0), "effective_time",
        sealctl_jtime(eff ? u->effective_time_ms : 0), "approvals",
        jbins(r->approvals, r->n_approvals), "rejections", jbins(r->rejections, r->n_rejections));
}

int sealctl_cmd_usage(struct sealctl *s, int argc, char **argv)
{
    const char *doc = NULL, *hash = NULL;
    const struct sealctl_opt opts[] = { { "doc", true, &doc },
                                        { "doc-hash", true, &hash },
                                        { NULL, false, NULL } };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    if ((doc == NULL) == (hash == NULL))
        return sealctl_usage_error(s, "give one of --doc FILE and --doc-hash HEX");
    uint8_t h[32];
    if ((rc = doc != NULL ? sealctl_hash_file(s, doc, h)
                          : sealctl_hex32_arg(s, "--doc-hash", hash, h)) != 0)
        return rc;
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__UsageRequest q = SEALCHAIN__USAGE_REQUEST__INIT;
    q.doc_hash = (ProtobufCBinaryData){ 32, h };
    req.req_case = SEALCHAIN__API_REQUEST__REQ_USAGE;
    req.usage = &q;
    Sealchain__ApiReply *r;
    if ((rc = ask(s, &req, SEALCHAIN__API_REPLY__REP_USAGE, &r)) != 0)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < r->usage->n_usages; i++)
        json_array_append_new(list, usage_json(r->usage->usages[i]));
    json_t *o = json_pack("{s:o, s:o, s:b}", "doc_hash", sealctl_jhex(h, 32), "usages", list,
                          "more", r->usage->more);
    sealchain__api_reply__free_unpacked(r, NULL);
    return sealctl_print(s, o, sealctl_human_short);
}
