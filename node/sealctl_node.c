/* sealctl: talking to the node (connect, requests, submitting transactions) and loading keys. */
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/tx.h"
#include "node/client.h"
#include "node/keyfile.h"
#include "node/sealctl.h"

/* Replies to queries come at once; a waiting submit within the node's 30 s. */
#define CALL_MS   15000
#define SUBMIT_MS 40000
#define WAIT_MS   30000

int sealctl_connect(const struct sealctl *s, struct sealctl_conn *out)
{
    char err[512];
    memset(out, 0, sizeof *out);
    if (node_client_open(s->node, &out->c, err, sizeof err) != 0)
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s", err);
    out->g = calloc(1, sizeof *out->g);
    if (out->g == NULL) {
        sealctl_close(out);
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "out of memory");
    }
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__StatusRequest st = SEALCHAIN__STATUS_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_STATUS;
    req.status = &st;
    Sealchain__ApiReply *r = NULL;
    int rc = sealctl_call(s, out, &req, CALL_MS, &r);
    if (rc != 0) {
        sealctl_close(out);
        return rc;
    }
    if (r->rep_case != SEALCHAIN__API_REPLY__REP_STATUS ||
        r->status->genesis_hash.len != LEDGER_HASH_LEN) {
        sealchain__api_reply__free_unpacked(r, NULL);
        sealctl_close(out);
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "the node at %s answered status oddly",
                            s->node);
    }
    memcpy(out->g->hash, r->status->genesis_hash.data, LEDGER_HASH_LEN);
    snprintf(out->g->chain_id, sizeof out->g->chain_id, "%s", r->status->chain_id);
    out->syncing = r->status->syncing;
    out->node = r->status->node;
    snprintf(out->org_id, sizeof out->org_id, "%s", r->status->org_id);
    sealchain__api_reply__free_unpacked(r, NULL);
    return 0;
}

void sealctl_close(struct sealctl_conn *c)
{
    node_client_close(c->c);
    free(c->g);
    c->c = NULL;
    c->g = NULL;
}

int sealctl_call(const struct sealctl *s, struct sealctl_conn *c, Sealchain__ApiRequest *req,
                 int timeout_ms, Sealchain__ApiReply **out)
{
    char err[512];
    *out = NULL;
    Sealchain__ApiReply *r;
    if (node_client_call(c->c, req, timeout_ms, &r, err, sizeof err) != 0)
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s", err);
    int code;
    switch (r->outcome) {
    case SEALCHAIN__API_OUTCOME__API_OUTCOME_OK:
        *out = r;
        return 0;
    case SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED:
        code = SEALCTL_EXIT_REFUSED;
        break;
    case SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST:
        code = SEALCTL_EXIT_USAGE;
        break;
    default:
        code = SEALCTL_EXIT_UNREACHABLE;
        break;
    }
    sealctl_fail(s, code, "%s", r->error[0] ? r->error : "the node refused the request");
    sealchain__api_reply__free_unpacked(r, NULL);
    return code;
}

int sealctl_load_key(const struct sealctl *s, const char *opt, const char *path,
                     struct node_key *out)
{
    char err[512];
    if (path == NULL || path[0] == '\0')
        return sealctl_usage_error(s, "%s KEYFILE is required", opt);
    int rc = node_keyfile_read(path, out, err, sizeof err);
    if (rc != 0)
        return sealctl_fail(s, sealctl_exit_for_config_err(rc), "%s", err);
    return 0;
}

void sealctl_submit(const struct sealctl *s, struct sealctl_conn *c, const uint8_t *tx, size_t len,
                    bool wait, struct sealctl_txres *out)
{
    (void)s;
    memset(out, 0, sizeof *out);
    ledger_tx_id(tx, len, out->id);
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SubmitRequest sub = SEALCHAIN__SUBMIT_REQUEST__INIT;
    sub.tx = (ProtobufCBinaryData){ len, (uint8_t *)tx };
    sub.wait = wait;
    sub.wait_ms = WAIT_MS;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
    req.submit = &sub;
    Sealchain__ApiReply *r;
    out->status = "pending";
    if (node_client_call(c->c, &req, SUBMIT_MS, &r, out->error, sizeof out->error) != 0) {
        out->exit = SEALCTL_EXIT_UNREACHABLE;
        return;
    }
    if (r->rep_case == SEALCHAIN__API_REPLY__REP_SUBMIT) {
        const char *st = r->submit->status;
        out->status = strcmp(st, "committed") == 0  ? "committed"
                      : strcmp(st, "rejected") == 0 ? "rejected"
                                                    : "pending";
        out->height = r->submit->height;
    } else if (r->outcome == SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED) {
        out->status = "rejected";
    }
    /* The ledger's words for the code, then its detail ("seal is suspended:
     * seal 1a2b3c4d…: suspended"). */
    const char *what = r->code != 0 ? ledger_strerror((int)r->code) : "";
    if (what[0] != '\0' && strstr(r->error, what) == NULL)
        snprintf(out->error, sizeof out->error, "%s: %s", what, r->error);
    else
        snprintf(out->error, sizeof out->error, "%s", r->error);
    switch (r->outcome) {
    case SEALCHAIN__API_OUTCOME__API_OUTCOME_OK:
        out->exit = SEALCTL_EXIT_OK;
        break;
    case SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED:
        out->exit = SEALCTL_EXIT_REFUSED;
        break;
    case SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST:
        out->exit = SEALCTL_EXIT_USAGE;
        break;
    default:
        out->exit = SEALCTL_EXIT_UNREACHABLE;
        if (wait && strcmp(out->status, "pending") == 0 && out->error[0] == '\0')
            snprintf(out->error, sizeof out->error, "not committed within %d s", WAIT_MS / 1000);
        break;
    }
    sealchain__api_reply__free_unpacked(r, NULL);
}

json_t *sealctl_txres_json(const struct sealctl_txres *r)
{
    return json_pack("{s:o, s:s, s:o, s:o}", "tx", sealctl_jhex(r->id, LEDGER_HASH_LEN), "status",
                     r->status, "height", sealctl_jint_or_null(r->height), "error",
                     r->error[0] ? sealctl_jstr(r->error) : json_null());
}

int sealctl_txres_print(const struct sealctl *s, const struct sealctl_txres *r, json_t *obj)
{
    int rc = sealctl_print(s, obj, NULL);
    if (r->exit != 0)
        sealctl_fail(s, r->exit, "transaction %s: %s", r->status,
                     r->error[0] ? r->error : "no answer");
    return r->exit != 0 ? r->exit : rc;
}
