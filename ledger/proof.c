/* Proof bundles: offline verification against genesis, and export from a store. */
#include "ledger/proof.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/cert.h"
#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/exec.h"
#include "ledger/merkle.h"
#include "ledger/state.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "proto/block.pb-c.h"
#include "proto/evidence.pb-c.h"
#include "proto/state.pb-c.h"

/* A use needs at most `threshold` <= LEDGER_MAX_APPROVERS approvals. */
_Static_assert(LEDGER_PROOF_MAX_APPROVALS >= LEDGER_MAX_APPROVERS,
               "a bundle must be able to carry every approval a grant can require");

/* A header is nine small fields: ~160 bytes. Same cap as the ledger's. */
#define MAX_HEADER_LEN 512

static void add_reason(struct ledger_proof_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_reason(struct ledger_proof_result *out, const char *fmt, ...)
{
    out->valid = false;
    if (out->n_reasons == LEDGER_PROOF_MAX_REASONS) {
        out->n_reasons_dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reasons[out->n_reasons++], LEDGER_PROOF_REASON_LEN, fmt, ap);
    va_end(ap);
}

/* ---- one proven transaction ------------------------------------------------ */

/* A proven tx once its structural checks passed: the decoded tx and where it is. */
struct proven {
    char what[32]; /* "use", "grant", "seal registration", "approval 2" */
    struct ledger_tx tx;
    bool opened; /* tx needs ledger_tx_close */
    bool ok;
    uint64_t height;
    uint32_t index;
    uint64_t time_ms;
    uint8_t block_hash[LEDGER_HASH_LEN];
};

static bool is_hash(const ProtobufCBinaryData *b)
{
    return b->len == LEDGER_HASH_LEN;
}

/* Decodes the header strictly and checks it belongs to this chain and can
 * hold the tx at index. *out_h is owned by the caller on success. */
static bool check_header(const struct ledger_genesis *g, const Sealchain__ProvenTx *pt,
                         struct proven *p, Sealchain__BlockHeader **out_h,
                         struct ledger_proof_result *out)
{
    ProtobufCMessage *m;
    int rc = ledger_decode_strict(&sealchain__block_header__descriptor, pt->header.data,
                                  pt->header.len, MAX_HEADER_LEN, &m);
    if (rc != 0) {
        add_reason(out, "%s: block header does not decode strictly: %s", p->what,
                   ledger_strerror(rc));
        return false;
    }
    Sealchain__BlockHeader *h = (Sealchain__BlockHeader *)m;
    const char *bad = NULL;
    if (!is_hash(&h->chain) || memcmp(h->chain.data, g->hash, LEDGER_HASH_LEN) != 0)
        bad = "block is of another chain (header chain is not this genesis hash)";
    else if (!is_hash(&h->tx_root))
        bad = "header tx_root is not 32 bytes";
    else if (h->tx_count == 0 || pt->index >= h->tx_count)
        bad = "tx index is outside the block";
    else if (h->proposer != ledger_genesis_primary(g, h->view))
        bad = "header names a proposer that is not the primary of its view";
    if (bad != NULL) {
        add_reason(out, "%s: %s", p->what, bad);
        protobuf_c_message_free_unpacked(m, NULL);
        return false;
    }
    *out_h = h;
    return true;
}

static bool check_path(const Sealchain__ProvenTx *pt, const Sealchain__BlockHeader *h,
                       struct proven *p, struct ledger_proof_result *out)
{
    uint8_t path[LEDGER_MERKLE_MAX_DEPTH][LEDGER_HASH_LEN];
    if (pt->n_path > LEDGER_MERKLE_MAX_DEPTH) {
        add_reason(out, "%s: Merkle path longer than %d", p->what, LEDGER_MERKLE_MAX_DEPTH);
        return false;
    }
    for (size_t i = 0; i < pt->n_path; i++) {
        if (!is_hash(&pt->path[i])) {
            add_reason(out, "%s: Merkle path element %zu is not 32 bytes", p->what, i);
            return false;
        }
        memcpy(path[i], pt->path[i].data, LEDGER_HASH_LEN);
    }
    uint8_t leaf[LEDGER_HASH_LEN];
    ledger_merkle_tx_leaf(pt->tx.data, pt->tx.len, leaf);
    if (ledger_merkle_verify(leaf, pt->index, h->tx_count, (const uint8_t(*)[LEDGER_HASH_LEN])path,
                             pt->n_path, h->tx_root.data) != 0) {
        add_reason(out, "%s: Merkle path does not lead to the block's tx root", p->what);
        return false;
    }
    return true;
}

/* Decodes the tx; checks header, certificate, path and tx signature. */
static int check_proven(const struct ledger_genesis *g, const Sealchain__ProvenTx *pt,
                        struct proven *p, struct ledger_proof_result *out)
{
    char err[LEDGER_PROOF_REASON_LEN] = "";
    if (pt == NULL) {
        add_reason(out, "%s: missing from the bundle", p->what);
        return 0;
    }
    int rc = ledger_tx_open(pt->tx.data, pt->tx.len, &p->tx, err, sizeof err);
    p->opened = rc == 0;
    if (rc == 0)
        rc = ledger_tx_parse(&p->tx, pt->tx.data, pt->tx.len, err, sizeof err);
    if (rc != 0) {
        add_reason(out, "%s: transaction does not decode: %s", p->what, err);
        return rc == LEDGER_E_NOMEM ? rc : 0;
    }
    Sealchain__BlockHeader *h = NULL;
    if (!check_header(g, pt, p, &h, out))
        return 0;
    uint8_t hash[LEDGER_HASH_LEN];
    ledger_sha256(pt->header.data, pt->header.len, hash);
    uint64_t cert_view = 0;
    rc = ledger_cert_check(g, pt->cert.data, pt->cert.len, h->height, hash, &cert_view, err,
                           sizeof err);
    if (rc == LEDGER_E_NOMEM)
        goto out;
    if (rc != 0)
        add_reason(out, "%s: block %llu: %s", p->what, (unsigned long long)h->height, err);
    else if (cert_view < h->view) /* committed in its view or, re-proposed, a later one */
        add_reason(out, "%s: block %llu: certificate of view %llu is lower than the header's %llu",
                   p->what, (unsigned long long)h->height, (unsigned long long)cert_view,
                   (unsigned long long)h->view);
    else if (check_path(pt, h, p, out)) {
        rc = ledger_tx_check_sig(&p->tx, g->hash);
        if (rc == LEDGER_E_BAD_SIGNATURE)
            add_reason(out, "%s: the signer's transaction signature does not verify", p->what);
        else if (rc == 0) {
            p->ok = true;
            p->height = h->height;
            p->index = pt->index;
            p->time_ms = h->time_ms;
            memcpy(p->block_hash, hash, LEDGER_HASH_LEN);
        }
    }
    rc = rc == LEDGER_E_NOMEM ? rc : 0;
out:
    protobuf_c_message_free_unpacked(&h->base, NULL);
    return rc;
}

/* ---- the relations between them ------------------------------------------ */

static bool before(const struct proven *a, const struct proven *b)
{
    return a->height < b->height || (a->height == b->height && a->index < b->index);
}

static bool same(const ProtobufCBinaryData *b, const uint8_t *v, size_t len)
{
    return b->len == len && memcmp(b->data, v, len) == 0;
}

static bool check_kinds(struct proven *reg, struct proven *grant, struct proven *use,
                        struct proven *apv, size_t n_apv, struct ledger_proof_result *out)
{
    bool ok = true;
    struct {
        struct proven *p;
        Sealchain__TxBody__OpCase want;
        const char *kind;
    } k[3] = { { reg, SEALCHAIN__TX_BODY__OP_SEAL_REGISTER, "a seal registration" },
               { grant, SEALCHAIN__TX_BODY__OP_SEAL_GRANT, "a grant" },
               { use, SEALCHAIN__TX_BODY__OP_SEAL_USE, "a use" } };
    for (int i = 0; i < 3; i++) {
        if (k[i].p->tx.body->op_case != k[i].want) {
            add_reason(out, "%s: the transaction is not %s", k[i].p->what, k[i].kind);
            ok = false;
        }
    }
    for (size_t i = 0; i < n_apv; i++) {
        if (apv[i].tx.body->op_case != SEALCHAIN__TX_BODY__OP_USAGE_APPROVE) {
            add_reason(out, "%s: the transaction is not an approval", apv[i].what);
            ok = false;
        }
    }
    return ok;
}

/* Seal and grant relations, and the seal signature (checks 4 to 6). */
static void check_use(const struct ledger_genesis *g, struct proven *reg, struct proven *grant,
                      struct proven *use, struct ledger_proof_result *out)
{
    const Sealchain__SealRegister *sr = reg->tx.body->seal_register;
    const Sealchain__SealGrant *sg = grant->tx.body->seal_grant;
    const Sealchain__SealUse *su = use->tx.body->seal_use;
    if (!same(&su->seal_id, reg->tx.id, LEDGER_HASH_LEN))
        add_reason(out, "use: it names another seal than the registration in the bundle");
    if (!same(&sg->seal_id, reg->tx.id, LEDGER_HASH_LEN))
        add_reason(out, "grant: it is for another seal than the registration in the bundle");
    if (!before(reg, grant))
        add_reason(out, "grant: it is not after the seal's registration");
    /* Implied by the two order checks around it; kept for its message. */
    if (!before(reg, use))
        add_reason(out, "use: the seal was not registered before the use");
    if (!same(&su->grant, grant->tx.id, LEDGER_HASH_LEN))
        add_reason(out, "use: it names another grant than the one in the bundle");
    if (!before(grant, use))
        add_reason(out, "use: it is not after the grant");
    if (!same(&sg->user_key, use->tx.signer, LEDGER_KEY_LEN))
        add_reason(out, "use: its signer is not the grant's user");
    if (su->doc_hash.len != LEDGER_HASH_LEN || su->use_nonce.len != LEDGER_NONCE_LEN ||
        su->seal_signature.len != LEDGER_SIG_LEN || sr->seal_key.len != LEDGER_KEY_LEN) {
        add_reason(out, "use: a field has the wrong size");
        return;
    }
    uint8_t payload[LEDGER_SEAL_PAYLOAD_LEN];
    ledger_seal_payload(su->doc_hash.data, reg->tx.id, use->tx.signer, su->use_nonce.data, payload);
    if (ledger_verify(LEDGER_TAG_SEAL, g->hash, payload, sizeof payload, sr->seal_key.data,
                      su->seal_signature.data) != 0)
        add_reason(out, "use: the seal signature does not verify under the registered seal key");
}

static bool is_approver(const Sealchain__SealGrant *sg, const uint8_t key[LEDGER_KEY_LEN])
{
    for (size_t i = 0; i < sg->n_approvers; i++)
        if (same(&sg->approvers[i], key, LEDGER_KEY_LEN))
            return true;
    return false;
}

/* Check 7; sets out->effective_height. */
static void check_approvals(struct proven *grant, struct proven *use, struct proven *apv,
                            size_t n_apv, struct ledger_proof_result *out)
{
    const Sealchain__SealGrant *sg = grant->tx.body->seal_grant;
    if (sg->n_approvers == 0) {
        if (n_apv != 0)
            add_reason(out, "approvals: the grant is silent, yet the bundle holds %zu", n_apv);
        out->effective_height = use->height;
        return;
    }
    if (sg->threshold == 0 || sg->threshold > sg->n_approvers) {
        add_reason(out, "grant: threshold %u of %zu approvers is not a valid rule", sg->threshold,
                   sg->n_approvers);
        return;
    }
    if (n_apv != sg->threshold) {
        add_reason(out, "approvals: %zu given, the grant's threshold is %u", n_apv, sg->threshold);
        return;
    }
    for (size_t i = 0; i < n_apv; i++) {
        struct proven *a = &apv[i];
        if (!same(&a->tx.body->usage_approve->usage, use->tx.id, LEDGER_HASH_LEN))
            add_reason(out, "%s: it approves another use", a->what);
        if (!is_approver(sg, a->tx.signer))
            add_reason(out, "%s: its signer is not an approver of the grant", a->what);
        for (size_t j = 0; j < i; j++)
            if (memcmp(apv[j].tx.signer, a->tx.signer, LEDGER_KEY_LEN) == 0)
                add_reason(out, "%s: same approver as %s", a->what, apv[j].what);
        if (!before(i == 0 ? use : &apv[i - 1], a))
            add_reason(out, "%s: not after the %s in chain order", a->what,
                       i == 0 ? "use" : "previous approval");
    }
    out->effective_height = apv[n_apv - 1].height;
}

static void fill_result(struct proven *reg, struct proven *use, struct ledger_proof_result *out)
{
    const Sealchain__SealUse *su = use->tx.body->seal_use;
    const Sealchain__SealRegister *sr = reg->tx.body->seal_register;
    memcpy(out->seal_id, reg->tx.id, LEDGER_HASH_LEN);
    snprintf(out->org, sizeof out->org, "%s", sr->org_id != NULL ? sr->org_id : "");
    if (su->doc_hash.len == LEDGER_HASH_LEN)
        memcpy(out->doc_hash, su->doc_hash.data, LEDGER_HASH_LEN);
    memcpy(out->usage, use->tx.id, LEDGER_HASH_LEN);
    memcpy(out->user_key, use->tx.signer, LEDGER_KEY_LEN);
    out->height = use->height;
    out->time_ms = use->time_ms;
}

/* ---- verify ------------------------------------------------------------------ */

struct checked {
    struct proven reg, grant, use;
    struct proven apv[LEDGER_PROOF_MAX_APPROVALS];
    size_t n_apv;
};

static void proven_close(struct proven *p)
{
    if (p->opened)
        ledger_tx_close(&p->tx);
    p->opened = false;
}

static void checked_close(struct checked *c)
{
    proven_close(&c->reg);
    proven_close(&c->grant);
    proven_close(&c->use);
    for (size_t i = 0; i < c->n_apv; i++)
        proven_close(&c->apv[i]);
}

/* Checks 2: every proven tx on its own. Returns NOMEM or 0; *all_ok says. */
static int check_all(const struct ledger_genesis *g, const Sealchain__ProofBundle *b,
                     struct checked *c, struct ledger_proof_result *out, bool *all_ok)
{
    snprintf(c->reg.what, sizeof c->reg.what, "seal registration");
    snprintf(c->grant.what, sizeof c->grant.what, "grant");
    snprintf(c->use.what, sizeof c->use.what, "use");
    int rc = check_proven(g, b->seal_register, &c->reg, out);
    if (rc == 0)
        rc = check_proven(g, b->grant, &c->grant, out);
    if (rc == 0)
        rc = check_proven(g, b->use, &c->use, out);
    *all_ok = c->reg.ok && c->grant.ok && c->use.ok;
    for (size_t i = 0; rc == 0 && i < b->n_approvals; i++) {
        c->n_apv = i + 1;
        snprintf(c->apv[i].what, sizeof c->apv[i].what, "approval %u", (unsigned)(i + 1));
        rc = check_proven(g, b->approvals[i], &c->apv[i], out);
        *all_ok = *all_ok && c->apv[i].ok;
    }
    return rc;
}

/* Two certified blocks at one height would mean q validators signed a fork;
 * a bundle that shows one is not evidence of anything. */
static void check_one_chain(struct checked *c, struct ledger_proof_result *out)
{
    struct proven *all[3 + LEDGER_PROOF_MAX_APPROVALS] = { &c->reg, &c->grant, &c->use };
    size_t n = 3;
    for (size_t i = 0; i < c->n_apv; i++)
        all[n++] = &c->apv[i];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (all[i]->height == all[j]->height &&
                memcmp(all[i]->block_hash, all[j]->block_hash, LEDGER_HASH_LEN) != 0) {
                add_reason(out, "%s and %s: two different blocks at height %llu", all[j]->what,
                           all[i]->what, (unsigned long long)all[i]->height);
                return;
            }
}

static int verify_decoded(const struct ledger_genesis *g, const Sealchain__ProofBundle *b,
                          struct ledger_proof_result *out)
{
    if (b->version != LEDGER_PROOF_VERSION) {
        add_reason(out, "bundle version %u, expected %d", b->version, LEDGER_PROOF_VERSION);
        return 0;
    }
    if (b->n_approvals > LEDGER_PROOF_MAX_APPROVALS) {
        add_reason(out, "bundle holds %zu approvals, at most %d allowed", b->n_approvals,
                   LEDGER_PROOF_MAX_APPROVALS);
        return 0;
    }
    struct checked *c = calloc(1, sizeof *c);
    if (c == NULL)
        return LEDGER_E_NOMEM;
    bool all_ok = false;
    int rc = check_all(g, b, c, out, &all_ok);
    if (rc == 0 && all_ok && check_kinds(&c->reg, &c->grant, &c->use, c->apv, c->n_apv, out)) {
        fill_result(&c->reg, &c->use, out);
        check_one_chain(c, out);
        check_use(g, &c->reg, &c->grant, &c->use, out);
        check_approvals(&c->grant, &c->use, c->apv, c->n_apv, out);
    }
    checked_close(c);
    free(c);
    return rc;
}

int ledger_proof_verify(const struct ledger_genesis *g, const uint8_t *bundle, size_t len,
                        struct ledger_proof_result *out)
{
    memset(out, 0, sizeof *out);
    out->valid = true;
    /* Count approvals on the wire first: protobuf-c allocates a ProvenTx for
     * every entry before n_approvals can be checked (~40 MB for a 512 KiB
     * bundle of empty entries). */
    size_t n_apv = 0;
    if (len <= LEDGER_PROOF_MAX_LEN && (bundle != NULL || len == 0) &&
        ledger_wire_count(bundle, len, 5 /* ProofBundle.approvals */, &n_apv) == 0 &&
        n_apv > LEDGER_PROOF_MAX_APPROVALS) {
        add_reason(out, "bundle holds %zu approvals, at most %d allowed", n_apv,
                   LEDGER_PROOF_MAX_APPROVALS);
        return LEDGER_E_BAD_PROOF;
    }
    ProtobufCMessage *m;
    int rc = ledger_decode_strict(&sealchain__proof_bundle__descriptor, bundle, len,
                                  LEDGER_PROOF_MAX_LEN, &m);
    if (rc == LEDGER_E_NOMEM)
        return rc;
    if (rc != 0) {
        add_reason(out, "bundle does not decode strictly (%s)", ledger_strerror(rc));
        return LEDGER_E_BAD_PROOF;
    }
    rc = verify_decoded(g, (const Sealchain__ProofBundle *)m, out);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc != 0) {
        out->valid = false;
        return rc;
    }
    return out->valid ? 0 : LEDGER_E_BAD_PROOF;
}

/* ---- export -------------------------------------------------------------------- */

/* One ProvenTx being built; owns copies of everything it points to. */
struct built {
    Sealchain__ProvenTx pt;
    uint8_t *tx, *header, *cert;
    uint8_t path[LEDGER_MERKLE_MAX_DEPTH][LEDGER_HASH_LEN];
    ProtobufCBinaryData pathv[LEDGER_MERKLE_MAX_DEPTH];
};

static void built_free(struct built *b)
{
    free(b->tx);
    free(b->header);
    free(b->cert);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
    uint8_t *d = malloc(len > 0 ? len : 1);
    if (d != NULL && len > 0)
        memcpy(d, p, len);
    return d;
}

/* Index, path and copies of tx and header for the tx at index of block b. */
static int prove_in_block(const struct ledger_stored_block *blk, uint32_t index, struct built *b)
{
    const Sealchain__Block *block = blk->stored->block;
    if (block == NULL || blk->stored->cert == NULL || index >= block->n_txs)
        return LEDGER_E_MALFORMED;
    size_t n = block->n_txs;
    if (n > LEDGER_MAX_BLOCK_TXS)
        return LEDGER_E_MALFORMED;
    uint8_t(*ids)[LEDGER_HASH_LEN] = malloc(n * LEDGER_HASH_LEN);
    if (ids == NULL)
        return LEDGER_E_NOMEM;
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        ledger_merkle_tx_leaf(block->txs[i].data, block->txs[i].len, ids[i]);
    size_t path_len = 0;
    if (rc == 0)
        rc = ledger_merkle_path((const uint8_t(*)[LEDGER_HASH_LEN])ids, n, index, b->path,
                                &path_len);
    free(ids);
    if (rc != 0)
        return rc == LEDGER_E_NOMEM ? rc : LEDGER_E_MALFORMED;
    for (size_t i = 0; i < path_len; i++)
        b->pathv[i] = (ProtobufCBinaryData){ LEDGER_HASH_LEN, b->path[i] };
    b->pt.index = index;
    b->pt.n_path = path_len;
    b->pt.path = b->pathv;
    b->tx = dup_bytes(block->txs[index].data, block->txs[index].len);
    b->header = dup_bytes(block->header.data, block->header.len);
    if (b->tx == NULL || b->header == NULL)
        return LEDGER_E_NOMEM;
    b->pt.tx = (ProtobufCBinaryData){ block->txs[index].len, b->tx };
    b->pt.header = (ProtobufCBinaryData){ block->header.len, b->header };
    size_t cert_len;
    rc = ledger_encode(&blk->stored->cert->base, &b->cert, &cert_len);
    if (rc == 0)
        b->pt.cert = (ProtobufCBinaryData){ cert_len, b->cert };
    return rc;
}

/* Builds the ProvenTx of the committed tx id. */
static int prove_tx(struct ledger_rtxn *r, const uint8_t id[LEDGER_HASH_LEN], const char *what,
                    struct built *b, char *errmsg, size_t errmsg_len)
{
    sealchain__proven_tx__init(&b->pt);
    uint64_t height;
    uint32_t index;
    char hex[LEDGER_SHORT_HEX];
    ledger_short_hex(id, hex);
    int rc = ledger_rtxn_tx_location(r, id, &height, &index);
    if (rc != 0)
        return ledger_errf(rc, errmsg, errmsg_len, "%s %s: not found on chain: %s", what, hex,
                           ledger_strerror(rc));
    struct ledger_stored_block blk;
    rc = ledger_rtxn_block_load(r, height, &blk);
    if (rc != 0)
        return ledger_errf(rc, errmsg, errmsg_len, "%s %s: block %llu: %s", what, hex,
                           (unsigned long long)height, ledger_strerror(rc));
    rc = prove_in_block(&blk, index, b);
    ledger_stored_block_close(&blk);
    if (rc != 0)
        return ledger_errf(rc, errmsg, errmsg_len, "%s %s: block %llu: %s", what, hex,
                           (unsigned long long)height, ledger_strerror(rc));
    return 0;
}

static const char *usage_status_name(int st)
{
    switch (st) {
    case SEALCHAIN__USAGE_STATUS__USAGE_STATUS_PENDING:
        return "pending";
    case SEALCHAIN__USAGE_STATUS__USAGE_STATUS_REJECTED:
        return "rejected";
    case SEALCHAIN__USAGE_STATUS__USAGE_STATUS_LAPSED:
        return "lapsed";
    default:
        return "not effective";
    }
}

/* Reads the UsageRecord of usage (a copy, owned by the caller). */
static int load_usage(struct ledger_rtxn *r, const uint8_t usage[LEDGER_HASH_LEN],
                      Sealchain__UsageRecord **out, char *errmsg, size_t errmsg_len)
{
    uint8_t key[1 + LEDGER_HASH_LEN] = { LEDGER_K_USAGE };
    memcpy(key + 1, usage, LEDGER_HASH_LEN);
    const uint8_t *val;
    size_t val_len;
    char hex[LEDGER_SHORT_HEX];
    ledger_short_hex(usage, hex);
    int rc = ledger_rtxn_state_get(r, key, sizeof key, &val, &val_len);
    if (rc == LEDGER_E_NOT_FOUND)
        return ledger_errf(LEDGER_E_UNKNOWN_USAGE, errmsg, errmsg_len, "use %s: unknown use", hex);
    if (rc != 0)
        return ledger_errf(rc, errmsg, errmsg_len, "use %s: %s", hex, ledger_strerror(rc));
    *out = sealchain__usage_record__unpack(NULL, val_len, val);
    if (*out == NULL)
        return ledger_errf(LEDGER_E_MALFORMED, errmsg, errmsg_len,
                           "use %s: stored record does not decode", hex);
    Sealchain__UsageRecord *u = *out;
    bool ok = is_hash(&u->seal_id) && is_hash(&u->grant) &&
              u->n_approval_txs <= LEDGER_PROOF_MAX_APPROVALS;
    for (size_t i = 0; ok && i < u->n_approval_txs; i++)
        ok = is_hash(&u->approval_txs[i]);
    if (!ok) {
        sealchain__usage_record__free_unpacked(u, NULL);
        *out = NULL;
        return ledger_errf(LEDGER_E_MALFORMED, errmsg, errmsg_len,
                           "use %s: stored record has bad fields", hex);
    }
    if (u->status != SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE) {
        rc = ledger_errf(LEDGER_E_NOT_EFFECTIVE, errmsg, errmsg_len,
                         "use %s is %s: only an effective use can be proven", hex,
                         usage_status_name(u->status));
        sealchain__usage_record__free_unpacked(u, NULL);
        *out = NULL;
    }
    return rc;
}

struct exporting {
    struct built reg, grant, use;
    struct built apv[LEDGER_PROOF_MAX_APPROVALS];
    Sealchain__ProvenTx *apv_ptrs[LEDGER_PROOF_MAX_APPROVALS];
    size_t n_apv;
};

static void exporting_free(struct exporting *e)
{
    built_free(&e->reg);
    built_free(&e->grant);
    built_free(&e->use);
    for (size_t i = 0; i < LEDGER_PROOF_MAX_APPROVALS; i++)
        built_free(&e->apv[i]);
    free(e);
}

static int gather(struct ledger_rtxn *r, const uint8_t usage[LEDGER_HASH_LEN],
                  const Sealchain__UsageRecord *u, struct exporting *e, char *errmsg,
                  size_t errmsg_len)
{
    int rc = prove_tx(r, u->seal_id.data, "seal registration", &e->reg, errmsg, errmsg_len);
    if (rc == 0)
        rc = prove_tx(r, u->grant.data, "grant", &e->grant, errmsg, errmsg_len);
    if (rc == 0)
        rc = prove_tx(r, usage, "use", &e->use, errmsg, errmsg_len);
    for (size_t i = 0; rc == 0 && i < u->n_approval_txs; i++) {
        rc = prove_tx(r, u->approval_txs[i].data, "approval", &e->apv[i], errmsg, errmsg_len);
        e->apv_ptrs[i] = &e->apv[i].pt;
        e->n_apv = i + 1;
    }
    return rc;
}

static int pack_bundle(struct exporting *e, uint8_t **out, size_t *out_len)
{
    Sealchain__ProofBundle b = SEALCHAIN__PROOF_BUNDLE__INIT;
    b.version = LEDGER_PROOF_VERSION;
    b.seal_register = &e->reg.pt;
    b.grant = &e->grant.pt;
    b.use = &e->use.pt;
    b.n_approvals = e->n_apv;
    b.approvals = e->apv_ptrs;
    return ledger_encode(&b.base, out, out_len);
}

/* Verifies what export built, so no invalid bundle leaves this node. */
static int self_check(struct ledger_store *s, const uint8_t *buf, size_t len, char *errmsg,
                      size_t errmsg_len)
{
    struct ledger_proof_result *res = malloc(sizeof *res);
    if (res == NULL)
        return LEDGER_E_NOMEM;
    int rc = ledger_proof_verify(ledger_store_genesis(s), buf, len, res);
    if (rc != 0 && rc != LEDGER_E_NOMEM)
        ledger_errf(rc, errmsg, errmsg_len, "built bundle fails its own check: %s",
                    res->n_reasons > 0 ? res->reasons[0] : "?");
    free(res);
    return rc;
}

int ledger_proof_export(struct ledger_store *s, const uint8_t usage[static LEDGER_HASH_LEN],
                        uint8_t **out, size_t *out_len, char *errmsg, size_t errmsg_len)
{
    *out = NULL;
    struct ledger_rtxn *r;
    int rc = ledger_rtxn_begin(s, &r);
    if (rc != 0)
        return ledger_errf(rc, errmsg, errmsg_len, "read snapshot: %s", ledger_store_errmsg(s));
    Sealchain__UsageRecord *u = NULL;
    struct exporting *e = NULL;
    rc = load_usage(r, usage, &u, errmsg, errmsg_len);
    if (rc != 0)
        goto err_after_rtxn;
    e = calloc(1, sizeof *e);
    if (e == NULL) {
        rc = LEDGER_E_NOMEM;
        goto err_after_usage;
    }
    rc = gather(r, usage, u, e, errmsg, errmsg_len);
    if (rc == 0)
        rc = pack_bundle(e, out, out_len);
    exporting_free(e);
err_after_usage:
    sealchain__usage_record__free_unpacked(u, NULL);
err_after_rtxn:
    /* The snapshot ends before the (signature-heavy) self-check. */
    ledger_rtxn_end(r);
    if (rc == 0) {
        rc = self_check(s, *out, *out_len, errmsg, errmsg_len);
        if (rc != 0) {
            free(*out);
            *out = NULL;
        }
    }
    return rc;
}
