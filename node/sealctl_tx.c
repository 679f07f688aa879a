/* sealctl transactions: org register, seal register/grant/revoke-grant/suspend/resume/destroy,
 * approve/reject. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/creditcode.h"
#include "ledger/err.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "ledger/verify.h"
#include "node/client.h"
#include "node/keyfile.h"
#include "node/sealctl.h"
#include "node/sealctl_tx.h"

/* A transaction is valid for an hour: long enough to wait in a busy
 * mempool, short enough not to linger. */
#define TX_VALIDITY_MS (3600u * 1000u)

uint64_t sealctl_valid_until(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + TX_VALIDITY_MS;
}

int sealctl_tx_begin(struct sealctl *s, struct sealctl_txctx *t)
{
    memset(t, 0, sizeof *t);
    int rc = sealctl_load_key(s, "--key", s->key, &t->key);
    if (rc != 0)
        return rc;
    if ((rc = sealctl_connect(s, &t->c)) != 0)
        node_key_close(&t->key);
    return rc;
}

void sealctl_tx_end(struct sealctl_txctx *t)
{
    sealctl_close(&t->c);
    node_key_close(&t->key);
}

int sealctl_tx_finish(struct sealctl *s, struct sealctl_txctx *t, int build_rc, uint8_t *tx,
                      size_t len, bool wait, const char *id_field, json_t *extra)
{
    if (build_rc != 0) {
        free(tx);
        json_decref(extra);
        sealctl_tx_end(t);
        return sealctl_fail(
            s, build_rc == LEDGER_E_NOMEM ? SEALCTL_EXIT_UNREACHABLE : SEALCTL_EXIT_USAGE,
            "cannot build the transaction: %s", ledger_strerror(build_rc));
    }
    struct sealctl_txres r;
    sealctl_submit(s, &t->c, tx, len, wait, &r);
    free(tx);
    json_t *obj = sealctl_txres_json(&r);
    if (obj != NULL && id_field != NULL)
        json_object_set_new(obj, id_field, sealctl_jhex(r.id, LEDGER_HASH_LEN));
    if (obj != NULL && extra != NULL)
        json_object_update(obj, extra);
    json_decref(extra);
    sealctl_tx_end(t);
    return sealctl_txres_print(s, &r, obj);
}

int sealctl_fetch_seal(struct sealctl *s, struct sealctl_conn *c, const uint8_t id[static 32],
                       Sealchain__ApiReply **out)
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SealRequest sq = SEALCHAIN__SEAL_REQUEST__INIT;
    sq.seal_id = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)id };
    req.req_case = SEALCHAIN__API_REQUEST__REQ_SEAL;
    req.seal = &sq;
    int rc = sealctl_call(s, c, &req, 15000, out);
    if (rc == 0 &&
        ((*out)->rep_case != SEALCHAIN__API_REPLY__REP_SEAL || (*out)->seal->seal == NULL)) {
        sealchain__api_reply__free_unpacked(*out, NULL);
        *out = NULL;
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "the node answered a seal query oddly");
    }
    return rc;
}

const char *sealctl_usage_status(struct sealctl *s, struct sealctl_conn *c,
                                 const uint8_t usage[static 32])
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__UsageRequest uq = SEALCHAIN__USAGE_REQUEST__INIT;
    uq.usage = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)usage };
    req.req_case = SEALCHAIN__API_REQUEST__REQ_USAGE;
    req.usage = &uq;
    Sealchain__ApiReply *r;
    char err[256];
    /* Not on chain yet (or not reachable): it awaits its block. */
    if (node_client_call(c->c, &req, 15000, &r, err, sizeof err) != 0)
        return "pending";
    (void)s;
    const char *name = "pending";
    if (r->outcome == SEALCHAIN__API_OUTCOME__API_OUTCOME_OK &&
        r->rep_case == SEALCHAIN__API_REPLY__REP_USAGE && r->usage->n_usages == 1)
        name = ledger_usage_status_name(r->usage->usages[0]->status);
    sealchain__api_reply__free_unpacked(r, NULL);
    return name;
}

/* ---- org register ---------------------------------------------------------------- */

int sealctl_cmd_org_register(struct sealctl *s, int argc, char **argv)
{
    const char *id = NULL, *name = NULL, *admin = NULL, *lrh = NULL, *wait = NULL;
    const struct sealctl_opt opts[] = { { "id", true, &id },       { "name", true, &name },
                                        { "admin", true, &admin }, { "legal-rep-hash", true, &lrh },
                                        { "wait", false, &wait },  { NULL, false, NULL } };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    uint8_t admin_pk[32], lrh_b[32];
    if (id == NULL || name == NULL || admin == NULL)
        return sealctl_usage_error(s, "--id, --name and --admin are required");
    if ((rc = sealctl_hex32_arg(s, "--admin", admin, admin_pk)) != 0 ||
        (lrh != NULL && (rc = sealctl_hex32_arg(s, "--legal-rep-hash", lrh, lrh_b)) != 0))
        return rc;
    if (!ledger_credit_code_valid(id)) {
        char want = strlen(id) == 18 ? ledger_credit_code_check_char(id) : '\0';
        if (want != '\0')
            return sealctl_fail(s, SEALCTL_EXIT_REFUSED,
                                "%s: '%s' (its check character should be '%c')",
                                ledger_strerror(LEDGER_E_BAD_CREDIT_CODE), id, want);
        return sealctl_fail(s, SEALCTL_EXIT_REFUSED,
                            "%s: '%s' (want 18 characters of 0-9 and A-Z without I, O, S, V, Z)",
                            ledger_strerror(LEDGER_E_BAD_CREDIT_CODE), id);
    }
    struct sealctl_txctx t;
    if ((rc = sealctl_tx_begin(s, &t)) != 0)
        return rc;
    uint8_t *tx = NULL;
    size_t len = 0;
    rc = ledger_txb_org_register(t.c.g, t.key.sk, sealctl_valid_until(), id, name, admin_pk,
                                 lrh != NULL ? lrh_b : NULL, &tx, &len);
    return sealctl_tx_finish(s, &t, rc, tx, len, wait != NULL, NULL,
                             json_pack("{s:s}", "org_id", id));
}

/* ---- seal register ----------------------------------------------------------------- */

static int seal_type(const char *name)
{
    for (int t = SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL;
         t <= SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OTHER; t++)
        if (strcmp(ledger_seal_type_name(t), name) == 0)
            return t;
    return -1;
}

int sealctl_cmd_seal_register(struct sealctl *s, int argc, char **argv)
{
    const char *org = NULL, *type = NULL, *name = NULL, *pub = NULL, *cust = NULL, *image = NULL,
               *from = NULL, *to = NULL, *wait = NULL;
    const struct sealctl_opt opts[] = {
        { "org", true, &org },         { "type", true, &type },      { "name", true, &name },
        { "seal-pub", true, &pub },    { "custodian", true, &cust }, { "image", true, &image },
        { "valid-from", true, &from }, { "valid-to", true, &to },    { "wait", false, &wait },
        { NULL, false, NULL },
    };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    if (org == NULL || type == NULL || name == NULL || pub == NULL)
        return sealctl_usage_error(s, "--org, --type, --name and --seal-pub are required");
    struct ledger_txb_seal p = { .org_id = org, .name = name, .type = seal_type(type) };
    uint8_t seal_pk[32], cust_pk[32], image_hash[32];
    if (p.type < 0)
        return sealctl_usage_error(s,
                                   "--type '%s': want one of official finance invoice "
                                   "contract legal-rep personal other",
                                   type);
    if ((rc = sealctl_hex32_arg(s, "--seal-pub", pub, seal_pk)) != 0 ||
        (cust != NULL && (rc = sealctl_hex32_arg(s, "--custodian", cust, cust_pk)) != 0) ||
        (from != NULL && (rc = sealctl_time_arg(s, "--valid-from", from, &p.valid_from_ms)) != 0) ||
        (to != NULL && (rc = sealctl_time_arg(s, "--valid-to", to, &p.valid_to_ms)) != 0) ||
        (image != NULL && (rc = sealctl_hash_file(s, image, image_hash)) != 0))
        return rc;
    p.seal_key = seal_pk;
    p.custodian = cust != NULL ? cust_pk : NULL;
    p.image_hash = image != NULL ? image_hash : NULL;
    struct sealctl_txctx t;
    if ((rc = sealctl_tx_begin(s, &t)) != 0)
        return rc;
    uint8_t *tx = NULL;
    size_t len = 0;
    rc = ledger_txb_seal_register(t.c.g, t.key.sk, sealctl_valid_until(), &p, &tx, &len);
    return sealctl_tx_finish(s, &t, rc, tx, len, wait != NULL, "seal_id", NULL);
}

/* ---- grants --------------------------------------------------------------------------- */

/* "PUB,PUB,...": at most LEDGER_MAX_APPROVERS keys. */
static int approvers_arg(struct sealctl *s, const char *val, uint8_t (*out)[32], size_t *n)
{
    *n = 0;
    const char *p = val;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char one[65];
        if (len != 64 || *n == LEDGER_MAX_APPROVERS)
            return sealctl_usage_error(s,
                                       "--approvers: want 1..%d keys of 64 hex digits, "
                                       "comma-separated",
                                       LEDGER_MAX_APPROVERS);
        memcpy(one, p, 64);
        one[64] = '\0';
        int rc = sealctl_hex32_arg(s, "--approvers", one, out[(*n)++]);
        if (rc != 0)
            return rc;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

int sealctl_cmd_seal_grant(struct sealctl *s, int argc, char **argv)
{
    const char *seal = NULL, *to = NULL, *expires = NULL, *max_uses = NULL, *approvers = NULL,
               *threshold = NULL, *wait = NULL;
    const struct sealctl_opt opts[] = {
        { "seal", true, &seal },           { "to", true, &to },
        { "expires", true, &expires },     { "max-uses", true, &max_uses },
        { "approvers", true, &approvers }, { "threshold", true, &threshold },
        { "wait", false, &wait },          { NULL, false, NULL },
    };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    if (seal == NULL || to == NULL)
        return sealctl_usage_error(s, "--seal and --to are required");
    if ((approvers == NULL) != (threshold == NULL))
        return sealctl_usage_error(s, "--approvers and --threshold go together");
    uint8_t seal_id[32], user[32], appr[LEDGER_MAX_APPROVERS][32];
    unsigned long m = 0, uses = 0;
    struct ledger_txb_grant p = { .seal_id = seal_id, .user_key = user };
    if ((rc = sealctl_hex32_arg(s, "--seal", seal, seal_id)) != 0 ||
        (rc = sealctl_hex32_arg(s, "--to", to, user)) != 0 ||
        (expires != NULL && (rc = sealctl_time_arg(s, "--expires", expires, &p.expires_ms)) != 0) ||
        (max_uses != NULL &&
         (rc = sealctl_uint_arg(s, "max-uses", max_uses, 1, 1000000000, &uses)) != 0) ||
        (approvers != NULL && (rc = approvers_arg(s, approvers, appr, &p.n_approvers)) != 0) ||
        (threshold != NULL &&
         (rc = sealctl_uint_arg(s, "threshold", threshold, 1, LEDGER_MAX_APPROVERS, &m)) != 0))
        return rc;
    p.max_uses = (uint32_t)uses;
    p.threshold = (uint32_t)m;
    p.approvers = (const uint8_t(*)[LEDGER_KEY_LEN])appr;
    struct sealctl_txctx t;
    if ((rc = sealctl_tx_begin(s, &t)) != 0)
        return rc;
    uint8_t *tx = NULL;
    size_t len = 0;
    rc = ledger_txb_grant(t.c.g, t.key.sk, sealctl_valid_until(), &p, &tx, &len);
    return sealctl_tx_finish(s, &t, rc, tx, len, wait != NULL, "grant", NULL);
}

int sealctl_cmd_seal_revoke_grant(struct sealctl *s, int argc, char **argv)
{
    const char *seal = NULL, *to = NULL, *wait = NULL;
    const struct sealctl_opt opts[] = { { "seal", true, &seal },
                                        { "to", true, &to },
                                        { "wait", false, &wait },
                                        { NULL, false, NULL } };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    if (seal == NULL || to == NULL)
        return sealctl_usage_error(s, "--seal and --to are required");
    uint8_t seal_id[32], user[32];
    if ((rc = sealctl_hex32_arg(s, "--seal", seal, seal_id)) != 0 ||
        (rc = sealctl_hex32_arg(s, "--to", to, user)) != 0)
        return rc;
    struct sealctl_txctx t;
    if ((rc = sealctl_tx_begin(s, &t)) != 0)
        return rc;
    uint8_t *tx = NULL;
    size_t len = 0;
    rc = ledger_txb_revoke_grant(t.c.g, t.key.sk, sealctl_valid_until(), seal_id, user, &tx, &len);
    return sealctl_tx_finish(s, &t, rc, tx, len, wait != NULL, NULL, NULL);
}

/* ---- lifecycle: the tx names the seal's latest history entry ---------------------------- */

enum lifecycle { SUSPEND, RESUME, DESTROY };

static int lifecycle(struct sealctl *s, int argc, char **argv, enum lifecycle what)
{
    const char *seal = NULL, *reason = NULL, *wait = NULL;
    struct sealctl_opt opts[] = { { "seal", true, &seal },
                                  { "wait", false, &wait },
                                  { "reason", true, &reason },
                                  { NULL, false, NULL } };
    if (what == RESUME)
        opts[2].name = NULL;
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    uint8_t seal_id[32];
    if (seal == NULL)
        return sealctl_usage_error(s, "--seal is required");
    if ((rc = sealctl_hex32_arg(s, "--seal", seal, seal_id)) != 0)
        return rc;
    struct sealctl_txctx t;
    if ((rc = sealctl_tx_begin(s, &t)) != 0)
        return rc;
    Sealchain__ApiReply *r;
    if ((rc = sealctl_fetch_seal(s, &t.c, seal_id, &r)) != 0) {
        sealctl_tx_end(&t);
        return rc;
    }
    uint8_t prev[32] = { 0 };
    const ProtobufCBinaryData *last = &r->seal->seal->last_history_tx;
    if (last->len == 32)
        memcpy(prev, last->data, 32);
    sealchain__api_reply__free_unpacked(r, NULL);
    uint8_t *tx = NULL;
    size_t len = 0;
    uint64_t until = sealctl_valid_until();
    if (what == SUSPEND)
        rc = ledger_txb_suspend(t.c.g, t.key.sk, until, seal_id, prev, reason, &tx, &len);
    else if (what == RESUME)
        rc = ledger_txb_resume(t.c.g, t.key.sk, until, seal_id, prev, &tx, &len);
    else
        rc = ledger_txb_destroy(t.c.g, t.key.sk, until, seal_id, prev, reason, &tx, &len);
    return sealctl_tx_finish(s, &t, rc, tx, len, wait != NULL, NULL, NULL);
}

int sealctl_cmd_seal_suspend(struct sealctl *s, int argc, char **argv)
{
    return lifecycle(s, argc, argv, SUSPEND);
}

int sealctl_cmd_seal_resume(struct sealctl *s, int argc, char **argv)
{
    return lifecycle(s, argc, argv, RESUME);
}

int sealctl_cmd_seal_destroy(struct sealctl *s, int argc, char **argv)
{
    return lifecycle(s, argc, argv, DESTROY);
}

/* ---- approvals ---------------------------------------------------------------------- */

static int vote(struct sealctl *s, int argc, char **argv, bool approve)
{
    const char *usage = NULL, *reason = NULL, *wait = NULL;
    struct sealctl_opt opts[] = { { "usage", true, &usage },
                                  { "wait", false, &wait },
                                  { "reason", true, &reason },
                                  { NULL, false, NULL } };
    if (approve)
        opts[2].name = NULL;
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    uint8_t id[32];
    if (usage == NULL)
        return sealctl_usage_error(s, "--usage TX is required");
    if ((rc = sealctl_hex32_arg(s, "--usage", usage, id)) != 0)
        return rc;
    struct sealctl_txctx t;
    if ((rc = sealctl_tx_begin(s, &t)) != 0)
        return rc;
    uint8_t *tx = NULL;
    size_t len = 0;
    if (approve)
        rc = ledger_txb_approve(t.c.g, t.key.sk, sealctl_valid_until(), id, &tx, &len);
    else
        rc = ledger_txb_reject(t.c.g, t.key.sk, sealctl_valid_until(), id, reason, &tx, &len);
    if (rc != 0)
        return sealctl_tx_finish(s, &t, rc, tx, len, false, NULL, NULL);
    struct sealctl_txres r;
    sealctl_submit(s, &t.c, tx, len, wait != NULL, &r);
    free(tx);
    json_t *obj = sealctl_txres_json(&r);
    if (obj != NULL)
        json_object_set_new(obj, "usage_status", json_string(sealctl_usage_status(s, &t.c, id)));
    sealctl_tx_end(&t);
    return sealctl_txres_print(s, &r, obj);
}

int sealctl_cmd_seal_approve(struct sealctl *s, int argc, char **argv)
{
    return vote(s, argc, argv, true);
}

int sealctl_cmd_seal_reject(struct sealctl *s, int argc, char **argv)
{
    return vote(s, argc, argv, false);
}
