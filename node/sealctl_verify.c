/* sealctl verify (the cross-agency check, as a 验签报告) and proof export / proof verify. */
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/genesis.h"
#include "ledger/proof.h"
#include "ledger/sigfile.h"
#include "node/sealctl.h"

#define QUERY_MS 15000

static json_t *jbin(const ProtobufCBinaryData *b)
{
    return b->len == 0 ? json_null() : sealctl_jhex(b->data, b->len);
}

static json_t *jstrs(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, sealctl_jstr(v[i]));
    return a;
}

static json_t *sig_json(const Sealchain__VerifySignature *v)
{
    json_t *seal = json_null(), *usage = json_null();
    if (v->seal != NULL)
        seal = json_pack("{s:o, s:s, s:s, s:s, s:s, s:o, s:o}", "seal_id", jbin(&v->seal->seal_id),
                         "org", v->seal->org, "type", v->seal->type, "name", v->seal->name,
                         "status", v->seal->status, "status_then",
                         v->seal->status_then[0] ? json_string(v->seal->status_then) : json_null(),
                         "org_name",
                         v->seal->org_name[0] ? sealctl_jstr(v->seal->org_name) : json_null());
    if (v->usage != NULL) {
        const Sealchain__VerifyUsage *u = v->usage;
        json_t *signers = json_array();
        for (size_t i = 0; signers != NULL && i < u->n_effective_signers; i++)
            json_array_append_new(signers, json_integer(u->effective_signers[i]));
        usage = json_pack("{s:o, s:I, s:o, s:o, s:s, s:o, s:o}", "usage", jbin(&u->usage), "height",
                          (json_int_t)u->height, "time", sealctl_jtime(u->time_ms),
                          "effective_height", sealctl_jint_or_null(u->effective_height),
                          "usage_status", u->usage_status, "effective_time",
                          sealctl_jtime(u->effective_time_ms), "effective_signers", signers);
    }
    return json_pack("{s:b, s:o, s:o, s:o, s:o}", "valid", v->valid, "reasons",
                     jstrs(v->reasons, v->n_reasons), "seal", seal, "usage", usage, "user_key",
                     jbin(&v->user_key));
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* One seal signature of the report. */
static void human_sig(json_t *sig, size_t i, size_t n, FILE *f)
{
    json_t *seal = json_object_get(sig, "seal"), *use = json_object_get(sig, "usage");
    fprintf(f, "\nSeal signature %zu of %zu: %s\n", i + 1, n,
            json_is_true(json_object_get(sig, "valid")) ? "VALID" : "NOT VALID");
    if (json_is_object(seal)) {
        fprintf(f, "  Seal            %s (%s)\n", str_or(seal, "name", "?"),
                str_or(seal, "type", "?"));
        fprintf(f, "  Seal id         %s\n", str_or(seal, "seal_id", "?"));
        fprintf(f, "  Organisation    %s (%s)\n", str_or(seal, "org_name", "?"),
                str_or(seal, "org", "?"));
        fprintf(f, "  Seal status     %s when used, %s now\n", str_or(seal, "status_then", "-"),
                str_or(seal, "status", "?"));
    } else {
        fprintf(f, "  Seal            not on this chain\n");
    }
    fprintf(f, "  User key        %s\n", str_or(sig, "user_key", "-"));
    if (json_is_object(use)) {
        fprintf(f, "  Use             %s\n", str_or(use, "usage", "?"));
        fprintf(f, "  Recorded        block %lld at %s\n",
                (long long)json_integer_value(json_object_get(use, "height")),
                str_or(use, "time", "-"));
        fprintf(f, "  Use status      %s\n", str_or(use, "usage_status", "?"));
        json_t *eh = json_object_get(use, "effective_height");
        if (json_is_integer(eh)) {
            fprintf(f, "  Effective       block %lld at %s\n", (long long)json_integer_value(eh),
                    str_or(use, "effective_time", "-"));
            fprintf(f, "  Vouched for by  validators ");
            size_t k;
            json_t *v;
            json_array_foreach(json_object_get(use, "effective_signers"), k, v)
                fprintf(f, "%s%lld", k ? ", " : "", (long long)json_integer_value(v));
            fprintf(f, " (the commit certificate of block %lld)\n",
                    (long long)json_integer_value(eh));
        }
    } else {
        fprintf(f, "  Use             not on this chain\n");
    }
    size_t k;
    json_t *r;
    json_array_foreach(json_object_get(sig, "reasons"), k, r)
        fprintf(f, "  %-15s %s\n", k == 0 ? "Why not valid" : "", json_string_value(r));
}

/* The 验签报告: the verdict first, then each seal signature. */
static void human_report(json_t *o, FILE *f)
{
    json_t *sigs = json_object_get(o, "signatures");
    size_t n = json_array_size(sigs), i;
    json_t *v;
    fprintf(f, "验签报告 / Seal verification report\n\n");
    fprintf(f, "Verdict           %s\n",
            json_is_true(json_object_get(o, "valid")) ? "VALID: every seal signature verifies"
                                                      : "NOT VALID");
    fprintf(f, "Document SHA-256  %s\n", str_or(o, "doc_hash", "?"));
    fprintf(f, "Checked by        validator %lld (%s) at chain height %lld\n",
            (long long)json_integer_value(json_object_get(o, "checked_by")),
            str_or(o, "checked_by_org", "?"),
            (long long)json_integer_value(json_object_get(o, "as_of_height")));
    fprintf(f, "Seal signatures   %zu\n", n);
    json_array_foreach(json_object_get(o, "reasons"), i, v)
        fprintf(f, "%-17s %s\n", i == 0 ? "Reasons" : "", json_string_value(v));
    json_array_foreach(sigs, i, v) human_sig(v, i, n, f);
}

int sealctl_cmd_verify(struct sealctl *s, int argc, char **argv)
{
    const char *doc = NULL, *sig = NULL;
    const struct sealctl_opt opts[] = { { "doc", true, &doc },
                                        { "sig", true, &sig },
                                        { NULL, false, NULL } };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    if (doc == NULL)
        return sealctl_usage_error(s, "--doc FILE is required");
    char def[4096];
    if (sig == NULL && snprintf(def, sizeof def, "%s.seal", doc) < (int)sizeof def)
        sig = def;
    uint8_t h[32], *file = NULL;
    size_t len = 0;
    if ((rc = sealctl_hash_file(s, doc, h)) != 0 ||
        (rc = sealctl_read_file(s, sig, LEDGER_SIGFILE_MAX_LEN, false, &file, &len)) != 0)
        return rc;
    struct sealctl_conn c;
    if ((rc = sealctl_connect(s, &c)) != 0) {
        free(file);
        return rc;
    }
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__VerifyRequest q = SEALCHAIN__VERIFY_REQUEST__INIT;
    q.doc_hash = (ProtobufCBinaryData){ 32, h };
    q.sigfile = (ProtobufCBinaryData){ len, file };
    req.req_case = SEALCHAIN__API_REQUEST__REQ_VERIFY;
    req.verify = &q;
    Sealchain__ApiReply *r = NULL;
    if (c.syncing)
        rc = sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE,
                          "the node at %s is still syncing: its verdict could miss recent uses",
                          s->node);
    else
        rc = sealctl_call(s, &c, &req, QUERY_MS, &r);
    unsigned node = c.node;
    char org[sizeof c.org_id];
    memcpy(org, c.org_id, sizeof org);
    sealctl_close(&c);
    free(file);
    if (rc != 0)
        return rc;
    if (r->rep_case != SEALCHAIN__API_REPLY__REP_VERIFY) {
        sealchain__api_reply__free_unpacked(r, NULL);
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "the node sent an unexpected reply");
    }
    const Sealchain__VerifyReply *v = r->verify;
    json_t *sigs = json_array();
    for (size_t i = 0; sigs != NULL && i < v->n_signatures; i++)
        json_array_append_new(sigs, sig_json(v->signatures[i]));
    bool valid = v->valid;
    json_t *o = json_pack("{s:b, s:o, s:I, s:o, s:o}", "valid", valid, "doc_hash",
                          sealctl_jhex(h, 32), "as_of_height", (json_int_t)v->as_of_height,
                          "reasons", jstrs(v->reasons, v->n_reasons), "signatures", sigs);
    sealchain__api_reply__free_unpacked(r, NULL);
    if (o != NULL && !s->json) { /* who checked: for the report only */
        json_object_set_new(o, "checked_by", json_integer(node));
        json_object_set_new(o, "checked_by_org", sealctl_jstr(org));
    }
    rc = sealctl_print(s, o, human_report);
    return rc != 0 ? rc : valid ? SEALCTL_EXIT_OK : SEALCTL_EXIT_REFUSED;
}

/* ---- proofs ----------------------------------------------------------------------------- */

int sealctl_cmd_proof_export(struct sealctl *s, int argc, char **argv)
{
    const char *usage = NULL, *out = NULL;
    const struct sealctl_opt opts[] = { { "usage", true, &usage },
                                        { "out", true, &out },
                                        { NULL, false, NULL } };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    if (usage == NULL || out == NULL)
        return sealctl_usage_error(s, "--usage TX and --out FILE are required");
    uint8_t id[32];
    if ((rc = sealctl_hex32_arg(s, "--usage", usage, id)) != 0)
        return rc;
    struct sealctl_conn c;
    if ((rc = sealctl_connect(s, &c)) != 0)
        return rc;
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__ProofRequest q = SEALCHAIN__PROOF_REQUEST__INIT;
    q.usage = (ProtobufCBinaryData){ 32, id };
    req.req_case = SEALCHAIN__API_REQUEST__REQ_PROOF;
    req.proof = &q;
    Sealchain__ApiReply *r = NULL;
    rc = sealctl_call(s, &c, &req, QUERY_MS, &r);
    sealctl_close(&c);
    if (rc != 0)
        return rc;
    if (r->rep_case != SEALCHAIN__API_REPLY__REP_PROOF) {
        sealchain__api_reply__free_unpacked(r, NULL);
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "the node sent an unexpected reply");
    }
    rc = sealctl_write_atomic(s, out, r->proof->bundle.data, r->proof->bundle.len);
    json_t *o = json_pack("{s:o, s:s, s:I}", "usage", sealctl_jhex(id, 32), "bundle", out, "bytes",
                          (json_int_t)r->proof->bundle.len);
    sealchain__api_reply__free_unpacked(r, NULL);
    if (rc != 0) {
        json_decref(o);
        return rc;
    }
    return sealctl_print(s, o, NULL);
}

int sealctl_cmd_proof_verify(struct sealctl *s, int argc, char **argv)
{
    const char *genesis = NULL, *bundle = NULL;
    const struct sealctl_opt opts[] = { { "genesis", true, &genesis }, { NULL, false, NULL } };
    int rc = sealctl_args(s, argc, argv, opts, &bundle, 1, 1, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    if (genesis == NULL)
        return sealctl_usage_error(s, "--genesis FILE is required");
    struct ledger_genesis *g = malloc(sizeof *g);
    struct ledger_proof_result *res = malloc(sizeof *res);
    char err[512];
    uint8_t *b = NULL;
    size_t len = 0;
    if (g == NULL || res == NULL) {
        rc = sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "out of memory");
    } else if ((rc = ledger_genesis_load(genesis, g, err, sizeof err)) != 0) {
        rc = sealctl_fail(s, rc == LEDGER_E_NOMEM ? SEALCTL_EXIT_UNREACHABLE : SEALCTL_EXIT_USAGE,
                          "%s: %s", genesis, err);
    } else if ((rc = sealctl_read_file(s, bundle, LEDGER_PROOF_MAX_LEN, false, &b, &len)) == 0) {
        rc = ledger_proof_verify(g, b, len, res);
        if (rc == LEDGER_E_NOMEM) {
            rc = sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "out of memory");
        } else {
            bool ok = res->valid;
            json_t *reasons = json_array();
            for (size_t i = 0; reasons != NULL && i < res->n_reasons; i++)
                json_array_append_new(reasons, sealctl_jstr(res->reasons[i]));
            json_t *o =
                json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "valid", ok, "reasons",
                          reasons, "seal_id", ok ? sealctl_jhex(res->seal_id, 32) : json_null(),
                          "org", ok ? json_string(res->org) : json_null(), "doc_hash",
                          ok ? sealctl_jhex(res->doc_hash, 32) : json_null(), "height",
                          ok ? json_integer((json_int_t)res->height) : json_null(), "time",
                          ok ? sealctl_jtime(res->time_ms) : json_null(), "effective_height",
                          ok ? json_integer((json_int_t)res->effective_height) : json_null());
            rc = sealctl_print(s, o, NULL);
            rc = rc != 0 ? rc : ok ? SEALCTL_EXIT_OK : SEALCTL_EXIT_REFUSED;
        }
    }
    free(g);
    free(res);
    free(b);
    return rc;
}
