/* The production chain behind the driver: the LMDB ledger (node/chain.h). */
#include "node/chain.h"

#include <stdlib.h>
#include <string.h>

#include "ledger/cert.h"
#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/mempool.h"
#include "ledger/store.h"
#include "ledger/tx.h"
#include "proto/block.pb-c.h"

/* Name of the core's snapshot in the store's consensus table. */
#define SNAPSHOT_NAME "pbft"

static const enum ledger_tag tag_of[] = {
    [PBFT_SIG_PREPREPARE] = LEDGER_TAG_PREPREPARE, [PBFT_SIG_PREPARE] = LEDGER_TAG_PREPARE,
    [PBFT_SIG_COMMIT] = LEDGER_TAG_COMMIT,         [PBFT_SIG_VIEWCHANGE] = LEDGER_TAG_VIEWCHANGE,
    [PBFT_SIG_NEWVIEW] = LEDGER_TAG_NEWVIEW,
};

static bool kind_ok(enum pbft_sig_kind kind)
{
    return kind >= PBFT_SIG_PREPREPARE && kind <= PBFT_SIG_NEWVIEW;
}

static int sign_cb(void *ctx, enum pbft_sig_kind kind, const uint8_t *payload, size_t len,
                   uint8_t sig[PBFT_SIG_SIZE])
{
    struct node_chain_ledger *cl = ctx;
    if (!kind_ok(kind))
        return -1;
    return ledger_sign(tag_of[kind], ledger_genesis_get(cl->l)->hash, payload, len, cl->node_sk,
                       sig);
}

static bool verify_cb(void *ctx, enum pbft_sig_kind kind, unsigned signer, const uint8_t *payload,
                      size_t len, const uint8_t sig[PBFT_SIG_SIZE])
{
    struct node_chain_ledger *cl = ctx;
    const struct ledger_genesis *g = ledger_genesis_get(cl->l);
    if (!kind_ok(kind) || signer >= g->n)
        return false;
    return ledger_verify(tag_of[kind], g->hash, payload, len, g->validators[signer].node_key,
                         sig) == 0;
}

/* The block's bytes are the ones its digest names: the header hashes to the
 * digest and the body matches the header's tx root and count. Lets the core
 * drop a faulty replica's prepared certificate carrying a wrong payload. */
static bool block_ok_cb(void *ctx, const uint8_t digest[PBFT_DIGEST_SIZE], const uint8_t *block,
                        size_t len)
{
    struct node_chain_ledger *cl = ctx;
    /* Opens the block once: validation takes this opening (ledger.h). */
    return ledger_block_check(cl->l, block, len, digest, NULL) == 0;
}

static int block_info(void *ctx, const uint8_t *block, size_t len, struct node_block_info *out)
{
    (void)ctx;
    struct ledger_header h;
    int rc = ledger_block_header(block, len, &h);
    if (rc != 0)
        return rc;
    out->height = h.height;
    out->time_ms = h.time_ms;
    memcpy(out->digest, h.hash, PBFT_DIGEST_SIZE);
    out->tx_count = h.tx_count;
    return 0;
}

/* The header names the PRE-PREPARE's view and its primary (DESIGN.md §3),
 * then the block executes over committed state. */
static int validate(void *ctx, const uint8_t *block, size_t len, uint64_t view, bool reproposal)
{
    struct node_chain_ledger *cl = ctx;
    struct ledger_header h;
    int rc = ledger_block_header(block, len, &h);
    if (rc != 0)
        return rc;
    rc = ledger_header_check_proposal(ledger_genesis_get(cl->l), &h, view, reproposal, NULL, 0);
    if (rc != 0)
        return rc;
    return ledger_validate_block(cl->l, block, len, NULL);
}

static int build(void *ctx, const struct node_txref *txs, size_t count, uint64_t time_ms,
                 unsigned proposer, uint64_t view, uint8_t **out_block, size_t *out_len,
                 uint8_t out_digest[PBFT_DIGEST_SIZE])
{
    struct node_chain_ledger *cl = ctx;
    struct ledger_txref *refs = calloc(count ? count : 1, sizeof *refs);
    if (refs == NULL)
        return LEDGER_E_NOMEM;
    for (size_t i = 0; i < count; i++)
        refs[i] = (struct ledger_txref){ txs[i].data, txs[i].len, txs[i].id, txs[i].leaf };
    size_t refused, used;
    int rc = ledger_build_block(cl->l, refs, count, time_ms, proposer, view, out_block, out_len,
                                out_digest, NULL, &refused, &used);
    free(refs);
    return rc;
}

static int commit(void *ctx, const struct pbft_cert *c, const uint8_t *block, size_t len)
{
    struct node_chain_ledger *cl = ctx;
    uint32_t signers[PBFT_MAX_N];
    for (unsigned i = 0; i < c->count; i++)
        signers[i] = c->signers[i];
    uint8_t *cert;
    size_t cert_len;
    int rc =
        ledger_cert_build(c->height, c->view, c->digest, signers,
                          (const uint8_t(*)[LEDGER_SIG_LEN])c->sigs, c->count, &cert, &cert_len);
    if (rc != 0)
        return rc;
    rc = ledger_commit_block(cl->l, block, len, cert, cert_len);
    free(cert);
    return rc;
}

/* LMDB's put is durable on return: the driver steps PERSISTED at once. */
static int persist(void *ctx, uint64_t seq, const uint8_t *snap, size_t len)
{
    struct node_chain_ledger *cl = ctx;
    (void)seq;
    return ledger_store_consensus_put(ledger_store_get(cl->l), SNAPSHOT_NAME, snap, len);
}

static int load(void *ctx, uint8_t **out_snap, size_t *out_len)
{
    struct node_chain_ledger *cl = ctx;
    *out_snap = NULL;
    *out_len = 0;
    int rc = ledger_store_consensus_get(ledger_store_get(cl->l), SNAPSHOT_NAME, out_snap, out_len);
    return rc == LEDGER_E_NOT_FOUND ? 0 : rc;
}

static void tip(void *ctx, uint64_t *out_height, uint64_t *out_time_ms)
{
    struct node_chain_ledger *cl = ctx;
    struct ledger_tip t;
    ledger_tip_get(cl->l, &t);
    *out_height = t.height;
    *out_time_ms = t.time_ms;
}

/* Copies a stored CommitCert into the core's plain certificate. */
static int cert_copy(const Sealchain__CommitCert *c, struct pbft_cert *out)
{
    if (c == NULL || c->n_signers != c->n_signatures || c->n_signers > PBFT_MAX_N ||
        c->block_hash.len != PBFT_DIGEST_SIZE)
        return LEDGER_E_MALFORMED;
    memset(out, 0, sizeof *out);
    out->height = c->height;
    out->view = c->view;
    memcpy(out->digest, c->block_hash.data, PBFT_DIGEST_SIZE);
    out->count = (unsigned)c->n_signers;
    for (size_t i = 0; i < c->n_signers; i++) {
        if (c->signatures[i].len != PBFT_SIG_SIZE)
            return LEDGER_E_MALFORMED;
        out->signers[i] = (uint16_t)c->signers[i];
        memcpy(out->sigs[i], c->signatures[i].data, PBFT_SIG_SIZE);
    }
    return 0;
}

static int tip_cert(void *ctx, struct pbft_cert *out)
{
    struct node_chain_ledger *cl = ctx;
    struct ledger_tip t;
    ledger_tip_get(cl->l, &t);
    struct ledger_rtxn *rt;
    struct ledger_stored_block b;
    int rc = ledger_rtxn_begin(ledger_store_get(cl->l), &rt);
    if (rc != 0)
        return rc;
    rc = ledger_rtxn_block_load(rt, t.height, &b);
    ledger_rtxn_end(rt);
    if (rc != 0)
        return rc;
    rc = cert_copy(b.cert, out);
    ledger_stored_block_close(&b);
    return rc;
}

static int tx_ids(void *ctx, const uint8_t *block, size_t len, uint8_t (**out)[PBFT_DIGEST_SIZE],
                  size_t *out_n)
{
    (void)ctx;
    *out = NULL;
    *out_n = 0;
    Sealchain__Block *b = sealchain__block__unpack(NULL, len, block);
    if (b == NULL)
        return LEDGER_E_MALFORMED;
    int rc = 0;
    uint8_t(*ids)[PBFT_DIGEST_SIZE] = calloc(b->n_txs ? b->n_txs : 1, sizeof *ids);
    if (ids == NULL)
        rc = LEDGER_E_NOMEM;
    for (size_t i = 0; rc == 0 && i < b->n_txs; i++)
        rc = ledger_tx_id(b->txs[i].data, b->txs[i].len, ids[i]);
    if (rc == 0) {
        *out = ids;
        *out_n = b->n_txs;
    } else {
        free(ids);
    }
    sealchain__block__free_unpacked(b, NULL);
    return rc;
}

static int check_tx(void *ctx, const uint8_t *tx, size_t len, uint64_t now_ms, bool verified,
                    uint8_t out_id[PBFT_DIGEST_SIZE], char *why, size_t why_len)
{
    struct node_chain_ledger *cl = ctx;
    if (verified)
        return ledger_recheck_tx(cl->l, tx, len, now_ms, out_id, why, why_len);
    return ledger_check_tx(cl->l, tx, len, now_ms, out_id, why, why_len);
}

static int pool_admit(void *ctx, const uint8_t *tx, size_t len, const uint8_t id[PBFT_DIGEST_SIZE],
                      uint64_t now_ms, char *why, size_t why_len)
{
    struct node_chain_ledger *cl = ctx;
    return ledger_mempool_admit(ledger_mempool_get(cl->l), tx, len, id, now_ms, why, why_len);
}

static void pool_forget(void *ctx, const uint8_t (*ids)[PBFT_DIGEST_SIZE], size_t n)
{
    struct node_chain_ledger *cl = ctx;
    (void)ledger_mempool_forget(ledger_mempool_get(cl->l), ids, n); /* NOMEM clears it */
}

static void pool_clear(void *ctx)
{
    struct node_chain_ledger *cl = ctx;
    ledger_mempool_clear(ledger_mempool_get(cl->l));
}

static bool failed(void *ctx)
{
    struct node_chain_ledger *cl = ctx;
    return ledger_failed(cl->l);
}

static const char *errmsg(void *ctx)
{
    struct node_chain_ledger *cl = ctx;
    return ledger_errmsg(cl->l);
}

void node_chain_ledger_init(struct node_chain_ledger *cl, struct node_chain *out)
{
    *out = (struct node_chain){
        .ctx = cl,
        .crypto = { cl, sign_cb, verify_cb, block_ok_cb },
        .block_info = block_info,
        .validate = validate,
        .build = build,
        .commit = commit,
        .persist = persist,
        .load = load,
        .tip = tip,
        .tip_cert = tip_cert,
        .check_tx = check_tx,
        .tx_ids = tx_ids,
        .pool_admit = pool_admit,
        .pool_clear = pool_clear,
        .pool_forget = pool_forget,
        .failed = failed,
        .errmsg = errmsg,
    };
}
