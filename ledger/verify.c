/* Cross-agency verification: each seal signature of a file against committed state. */
#include "ledger/verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/exec.h"
#include "ledger/tx.h"
#include "proto/state.pb-c.h"

const char *ledger_seal_type_name(int type)
{
    static const char *const names[] = { "unknown",  "official",  "finance",  "invoice",
                                         "contract", "legal-rep", "personal", "other" };
    return type >= 1 && type <= 7 ? names[type] : "unknown";
}

const char *ledger_seal_status_name(int status)
{
    static const char *const names[] = { "unknown", "active", "suspended", "destroyed" };
    return status >= 1 && status <= 3 ? names[status] : "unknown";
}

const char *ledger_usage_status_name(int status)
{
    static const char *const names[] = { "unknown", "effective", "pending", "rejected", "lapsed" };
    return status >= 1 && status <= 4 ? names[status] : "unknown";
}

static void add(char (*reasons)[LEDGER_VERIFY_REASON_LEN], size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add(char (*reasons)[LEDGER_VERIFY_REASON_LEN], size_t *n, const char *fmt, ...)
{
    if (*n == LEDGER_VERIFY_MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reasons[(*n)++], LEDGER_VERIFY_REASON_LEN, fmt, ap);
    va_end(ap);
}

#define SIG_FAIL(v, ...) ((v)->valid = false, add((v)->reasons, &(v)->n_reasons, __VA_ARGS__))

/* Reads the record under prefix ‖ id and unpacks it (a copy, caller frees).
 * Returns 0, LEDGER_E_NOT_FOUND, LEDGER_E_MALFORMED or the base's error. */
static int get_record(const struct ledger_state_base *st, uint8_t prefix,
                      const uint8_t id[LEDGER_HASH_LEN], const ProtobufCMessageDescriptor *d,
                      ProtobufCMessage **out)
{
    uint8_t key[1 + LEDGER_HASH_LEN];
    key[0] = prefix;
    memcpy(key + 1, id, LEDGER_HASH_LEN);
    const uint8_t *val;
    size_t val_len;
    int rc = st->get(st->ctx, key, sizeof key, &val, &val_len);
    if (rc != 0)
        return rc;
    *out = protobuf_c_message_unpack(d, NULL, val_len, val);
    return *out == NULL ? LEDGER_E_MALFORMED : 0;
}

static bool same(const ProtobufCBinaryData *b, const uint8_t *v, size_t len)
{
    return b->len == len && memcmp(b->data, v, len) == 0;
}

/* Looks the seal up and checks the seal signature under its key. */
static int check_seal(const struct ledger_genesis *g, const struct ledger_state_base *st,
                      const struct ledger_seal_sig *s, struct ledger_verify_sig *v)
{
    ProtobufCMessage *m;
    char hex[LEDGER_SHORT_HEX];
    ledger_short_hex(s->seal_id, hex);
    int rc = get_record(st, LEDGER_K_SEAL, s->seal_id, &sealchain__seal_record__descriptor, &m);
    if (rc == LEDGER_E_NOT_FOUND) {
        SIG_FAIL(v, "unknown seal %s", hex);
        return 0;
    }
    if (rc != 0) {
        SIG_FAIL(v, "seal %s: cannot read: %s", hex, ledger_strerror(rc));
        return rc;
    }
    const Sealchain__SealRecord *r = (const Sealchain__SealRecord *)m;
    v->seal_found = true;
    memcpy(v->seal.seal_id, s->seal_id, LEDGER_HASH_LEN);
    snprintf(v->seal.org, sizeof v->seal.org, "%s", r->org_id ? r->org_id : "");
    snprintf(v->seal.name, sizeof v->seal.name, "%s", r->name ? r->name : "");
    v->seal.type = r->type;
    v->seal.type_name = ledger_seal_type_name(r->type);
    v->seal.status = r->status;
    v->seal.status_name = ledger_seal_status_name(r->status);
    uint8_t payload[LEDGER_SEAL_PAYLOAD_LEN];
    ledger_seal_payload(s->doc_hash, s->seal_id, s->user_key, s->use_nonce, payload);
    if (r->seal_key.len != LEDGER_KEY_LEN)
        SIG_FAIL(v, "seal %s: stored seal key has a wrong size", hex);
    else if (ledger_verify(LEDGER_TAG_SEAL, g->hash, payload, sizeof payload, r->seal_key.data,
                           s->seal_signature) != 0)
        SIG_FAIL(v, "seal signature does not verify under the key of seal %s", hex);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

/* The use on chain must be the one this signature describes. */
static void check_usage_matches(const Sealchain__UsageRecord *u, const struct ledger_seal_sig *s,
                                struct ledger_verify_sig *v)
{
    if (!same(&u->seal_id, s->seal_id, LEDGER_HASH_LEN))
        SIG_FAIL(v, "the use on chain is of another seal");
    if (!same(&u->doc_hash, s->doc_hash, LEDGER_HASH_LEN))
        SIG_FAIL(v, "the use on chain is over another document");
    if (!same(&u->user_key, s->user_key, LEDGER_KEY_LEN))
        SIG_FAIL(v, "the use on chain is by another user");
    if (!same(&u->use_nonce, s->use_nonce, LEDGER_NONCE_LEN))
        SIG_FAIL(v, "the use on chain has another nonce");
    if (!same(&u->seal_signature, s->seal_signature, LEDGER_SIG_LEN))
        SIG_FAIL(v, "the use on chain carries another seal signature");
}

/* The status of use u as of now_ms (0: the stored one). Pending uses lapse
 * lazily (rules_use.c): the record stays PENDING until its grant is touched
 * again, so, like the usage query, compute the lapse from the grant's window
 * rather than report "pending" for a use whose window has passed. */
static int usage_status(const struct ledger_state_base *st, const Sealchain__UsageRecord *u,
                        uint64_t now_ms, int *out)
{
    *out = u->status;
    if (u->status != SEALCHAIN__USAGE_STATUS__USAGE_STATUS_PENDING || now_ms == 0 ||
        u->grant.len != LEDGER_HASH_LEN)
        return 0;
    ProtobufCMessage *m;
    int rc =
        get_record(st, LEDGER_K_GRANT, u->grant.data, &sealchain__grant_record__descriptor, &m);
    if (rc == LEDGER_E_NOT_FOUND)
        return 0;
    if (rc != 0)
        return rc;
    const Sealchain__GrantRecord *g = (const Sealchain__GrantRecord *)m;
    *out = ledger_usage_status_at(u->status, u->time_ms, g->approval_window_ms, now_ms);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int check_usage(const struct ledger_state_base *st, const struct ledger_seal_sig *s,
                       uint64_t now_ms, struct ledger_verify_sig *v)
{
    ProtobufCMessage *m;
    char hex[LEDGER_SHORT_HEX];
    ledger_short_hex(s->usage, hex);
    int rc = get_record(st, LEDGER_K_USAGE, s->usage, &sealchain__usage_record__descriptor, &m);
    if (rc == LEDGER_E_NOT_FOUND) {
        SIG_FAIL(v, "the use %s it names is not on chain", hex);
        return 0;
    }
    if (rc != 0) {
        SIG_FAIL(v, "use %s: cannot read: %s", hex, ledger_strerror(rc));
        return rc;
    }
    const Sealchain__UsageRecord *u = (const Sealchain__UsageRecord *)m;
    int status;
    if ((rc = usage_status(st, u, now_ms, &status)) != 0) {
        SIG_FAIL(v, "use %s: cannot read its grant: %s", hex, ledger_strerror(rc));
        protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    v->usage_found = true;
    memcpy(v->usage.usage, s->usage, LEDGER_HASH_LEN);
    v->usage.height = u->height;
    v->usage.time_ms = u->time_ms;
    v->usage.usage_status = status;
    v->usage.usage_status_name = ledger_usage_status_name(status);
    bool effective = status == SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE;
    v->usage.effective_height = effective ? u->effective_height : 0;
    check_usage_matches(u, s, v);
    if (!effective)
        SIG_FAIL(v, "the use %s is %s, not effective", hex, v->usage.usage_status_name);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

static int check_one(const struct ledger_genesis *g, const struct ledger_state_base *st,
                     uint64_t now_ms, const uint8_t doc_hash[LEDGER_HASH_LEN],
                     const struct ledger_seal_sig *s, struct ledger_verify_sig *v)
{
    v->valid = true;
    v->seal.type_name = v->seal.status_name = "unknown";
    v->usage.usage_status_name = "unknown";
    if (memcmp(s->chain, g->hash, LEDGER_HASH_LEN) != 0)
        SIG_FAIL(v, "signature is for another chain (genesis hash differs)");
    if (memcmp(s->doc_hash, doc_hash, LEDGER_HASH_LEN) != 0)
        SIG_FAIL(v, "signature is over another document");
    int rc = check_seal(g, st, s, v);
    if (rc == 0)
        rc = check_usage(st, s, now_ms, v);
    return rc;
}

/* ledger_verify_document, with the tip's time when known (0: not known, the
 * stored usage status is reported). */
static int verify_at(const struct ledger_genesis *g, const struct ledger_state_base *st,
                     uint64_t tip_height, uint64_t now_ms,
                     const uint8_t doc_hash[static LEDGER_HASH_LEN], const uint8_t *sigfile,
                     size_t len, struct ledger_verify_report *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->doc_hash, doc_hash, LEDGER_HASH_LEN);
    out->as_of_height = tip_height;
    struct ledger_sigfile *f = malloc(sizeof *f);
    if (f == NULL)
        return LEDGER_E_NOMEM;
    char err[LEDGER_VERIFY_REASON_LEN];
    int rc = ledger_sigfile_parse(sigfile, len, f, err, sizeof err);
    if (rc != 0) {
        add(out->reasons, &out->n_reasons, "signature file invalid: %s", err);
        free(f);
        return 0;
    }
    out->count = f->count;
    size_t bad = 0;
    rc = 0;
    for (size_t i = 0; rc == 0 && i < f->count; i++) {
        rc = check_one(g, st, now_ms, doc_hash, &f->sigs[i], &out->sigs[i]);
        bad += !out->sigs[i].valid;
    }
    free(f);
    for (size_t i = 0; rc != 0 && i < out->count; i++)
        if (out->sigs[i].n_reasons == 0)
            SIG_FAIL(&out->sigs[i], "not checked: state could not be read");
    if (rc != 0)
        add(out->reasons, &out->n_reasons, "state could not be read: %s", ledger_strerror(rc));
    else if (bad > 0)
        add(out->reasons, &out->n_reasons, "%zu of %zu seal signatures invalid", bad, out->count);
    out->valid = rc == 0 && bad == 0 && out->count > 0;
    return rc;
}

int ledger_verify_document(const struct ledger_genesis *g, const struct ledger_state_base *st,
                           uint64_t tip_height, const uint8_t doc_hash[static LEDGER_HASH_LEN],
                           const uint8_t *sigfile, size_t len, struct ledger_verify_report *out)
{
    return verify_at(g, st, tip_height, 0, doc_hash, sigfile, len, out);
}

int ledger_verify_document_store(struct ledger_store *s,
                                 const uint8_t doc_hash[static LEDGER_HASH_LEN],
                                 const uint8_t *sigfile, size_t len,
                                 struct ledger_verify_report *out)
{
    memset(out, 0, sizeof *out);
    struct ledger_rtxn *r;
    int rc = ledger_rtxn_begin(s, &r);
    if (rc != 0) {
        add(out->reasons, &out->n_reasons, "read snapshot: %s", ledger_store_errmsg(s));
        return rc;
    }
    struct ledger_tip tip;
    struct ledger_state_base base;
    rc = ledger_rtxn_tip(r, &tip);
    if (rc == 0) {
        ledger_rtxn_base(r, &base);
        rc = verify_at(ledger_store_genesis(s), &base, tip.height, tip.time_ms, doc_hash, sigfile,
                       len, out);
    }
    ledger_rtxn_end(r);
    return rc;
}
