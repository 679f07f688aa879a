/* sealctl seal use: seal a document, and write the signature file once the node accepted the use.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/err.h"
#include "ledger/sigfile.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "node/keyfile.h"
#include "node/sealctl.h"
#include "node/sealctl_tx.h"

/* The grant of seal reply r to user: the live one, else the latest revoked
 * one (the ledger then says it is revoked). Returns false when the user never
 * had one. */
static bool find_grant(const Sealchain__SealReply *r, const uint8_t user[static 32],
                       uint8_t out[static 32])
{
    const Sealchain__GrantRecord *live = NULL, *old = NULL;
    for (size_t i = 0; i < r->n_grants; i++) {
        const Sealchain__GrantRecord *g = r->grants[i];
        if (g->user_key.len != 32 || memcmp(g->user_key.data, user, 32) != 0 || g->grant.len != 32)
            continue;
        if (!g->revoked)
            live = g;
        old = g;
    }
    const Sealchain__GrantRecord *g = live != NULL ? live : old;
    if (g != NULL)
        memcpy(out, g->grant.data, 32);
    return g != NULL;
}

/* The exit code for a signature file sealctl cannot add to. */
static int append_exit(int rc)
{
    if (rc == LEDGER_E_DUPLICATE_SIGNER || rc == LEDGER_E_TOO_LARGE)
        return SEALCTL_EXIT_REFUSED;
    return rc == LEDGER_E_NOMEM ? SEALCTL_EXIT_UNREACHABLE : SEALCTL_EXIT_USAGE;
}

struct use {
    const char *seal, *seal_key, *doc, *out, *wait;
    uint8_t seal_id[32], doc_hash[32], grant[32];
    char default_out[4096];
    struct node_key seal_k;
    uint8_t *old; /* the signature file as it was (NULL: none) */
    size_t old_len;
    bool done;
};

/* Arguments, the seal key, the document's hash and the old signature file. */
static int prepare(struct sealctl *s, int argc, char **argv, struct use *u)
{
    const struct sealctl_opt opts[] = {
        { "seal", true, &u->seal }, { "seal-key", true, &u->seal_key }, { "doc", true, &u->doc },
        { "out", true, &u->out },   { "wait", false, &u->wait },        { NULL, false, NULL },
    };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO) {
        u->done = true; /* --help, or a usage error */
        return rc;
    }
    if (u->seal == NULL || u->seal_key == NULL || u->doc == NULL)
        return sealctl_usage_error(s, "--seal, --seal-key and --doc are required");
    if (u->out == NULL) {
        if (snprintf(u->default_out, sizeof u->default_out, "%s.seal", u->doc) >=
            (int)sizeof u->default_out)
            return sealctl_usage_error(s, "--doc: path too long");
        u->out = u->default_out;
    }
    if ((rc = sealctl_hex32_arg(s, "--seal", u->seal, u->seal_id)) != 0 ||
        (rc = sealctl_hash_file(s, u->doc, u->doc_hash)) != 0 ||
        (rc = sealctl_load_key(s, "--seal-key", u->seal_key, &u->seal_k)) != 0)
        return rc;
    /* The file is written after the use is on chain: find out now whether
     * it can be, not then. */
    char *dir = strdup(u->out);
    bool writable = dir != NULL && access(dirname(dir), W_OK) == 0;
    free(dir);
    if (!writable)
        return sealctl_fail(s, SEALCTL_EXIT_USAGE, "%s: its directory is not writable", u->out);
    return sealctl_read_file(s, u->out, LEDGER_SIGFILE_MAX_LEN, true, &u->old, &u->old_len);
}

/* Builds the use and the new signature file (refused before anything is
 * submitted if the old file cannot take it). */
static int build(struct sealctl *s, struct sealctl_txctx *t, struct use *u, uint8_t **tx,
                 size_t *len, uint8_t **file, size_t *file_len)
{
    struct ledger_seal_sig sig = { 0 };
    memcpy(sig.chain, t->c.g->hash, 32);
    memcpy(sig.seal_id, u->seal_id, 32);
    memcpy(sig.doc_hash, u->doc_hash, 32);
    memcpy(sig.user_key, t->key.pk, 32);
    int rc = ledger_txb_use(t->c.g, t->key.sk, sealctl_valid_until(), u->seal_k.sk, u->seal_id,
                            u->grant, u->doc_hash, sig.use_nonce, sig.seal_signature, tx, len);
    if (rc != 0)
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "cannot build the use: %s",
                            ledger_strerror(rc));
    ledger_tx_id(*tx, *len, sig.usage);
    char err[256];
    rc = ledger_sigfile_append(u->old, u->old_len, &sig, file, file_len, err, sizeof err);
    if (rc != 0) {
        free(*tx);
        *tx = NULL;
        return sealctl_fail(s, append_exit(rc), "%s: cannot add this seal: %s (nothing submitted)",
                            u->out, err);
    }
    return 0;
}

static int look_up_grant(struct sealctl *s, struct sealctl_txctx *t, struct use *u)
{
    Sealchain__ApiReply *r;
    int rc = sealctl_fetch_seal(s, &t->c, u->seal_id, &r);
    if (rc != 0)
        return rc;
    bool found = find_grant(r->seal, t->key.pk, u->grant);
    sealchain__api_reply__free_unpacked(r, NULL);
    if (!found)
        return sealctl_fail(s, SEALCTL_EXIT_REFUSED, "%s (seal %s)",
                            ledger_strerror(LEDGER_E_GRANT_MISSING), u->seal);
    return 0;
}

/* A committed use's status; an accepted one awaits its block; a refused
 * one has none. */
static json_t *usage_status(struct sealctl *s, struct sealctl_txctx *t,
                            const struct sealctl_txres *r)
{
    if (strcmp(r->status, "committed") == 0)
        return json_string(sealctl_usage_status(s, &t->c, r->id));
    return strcmp(r->status, "pending") == 0 ? json_string("pending") : json_null();
}

int sealctl_cmd_seal_use(struct sealctl *s, int argc, char **argv)
{
    struct use u = { 0 };
    struct sealctl_txctx t;
    int rc = prepare(s, argc, argv, &u);
    if (rc == 0 && !u.done && (rc = sealctl_tx_begin(s, &t)) == 0) {
        uint8_t *tx = NULL, *file = NULL;
        size_t len = 0, file_len = 0;
        if ((rc = look_up_grant(s, &t, &u)) == 0 &&
            (rc = build(s, &t, &u, &tx, &len, &file, &file_len)) == 0) {
            struct sealctl_txres r;
            sealctl_submit(s, &t.c, tx, len, u.wait != NULL, &r);
            bool accepted = r.exit == 0;
            int wrc = accepted ? sealctl_write_atomic(s, u.out, file, file_len) : 0;
            json_t *obj = sealctl_txres_json(&r);
            if (obj != NULL) {
                json_object_set_new(obj, "usage", sealctl_jhex(r.id, 32));
                json_object_set_new(obj, "grant", sealctl_jhex(u.grant, 32));
                json_object_set_new(obj, "doc_hash", sealctl_jhex(u.doc_hash, 32));
                json_object_set_new(obj, "signature_file",
                                    accepted && wrc == 0 ? json_string(u.out) : json_null());
                json_object_set_new(obj, "usage_status", usage_status(s, &t, &r));
            }
            rc = sealctl_txres_print(s, &r, obj);
            if (rc == 0 && wrc != 0)
                rc = wrc;
        }
        free(tx);
        free(file);
        sealctl_tx_end(&t);
    }
    node_key_close(&u.seal_k);
    free(u.old);
    return rc;
}
