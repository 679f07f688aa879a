/* The ledger facade: mempool admission, block building, validation and commit. */
#include "ledger/ledger.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/block.h"
#include "ledger/cert.h"
#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/mempool.h"
#include "ledger/merkle.h"
#include "ledger/sigbatch.h"
#include "ledger/tx.h"
#include "proto/block.pb-c.h"

/* Executions kept for commit: the primary's built block and the blocks a
 * backup validated at tip + 1 (a few, as view changes can offer several
 * candidates for one height). Older ones are evicted first. */
#define PREPARED_SLOTS 4

/* One executed block, kept until it is committed or evicted. */
struct prepared {
    uint64_t seq;                  /* for eviction: lower is older */
    struct ledger__block blk;      /* opened once; its body dropped once executed */
    struct ledger_state_base base; /* what ex reads; dead once executed */
    struct ledger_exec *ex;
};

struct ledger {
    struct ledger_genesis genesis;
    struct ledger_store *store;
    struct prepared *prepared[PREPARED_SLOTS];
    uint64_t seq;
    /* The block opened last and not yet executed: consensus's digest check
     * (ledger_block_check) opens a proposed block, and validation takes
     * that opening instead of decoding the block again. */
    struct ledger__block opened;
    ledger_verified_fn verified; /* signatures this node checked already */
    void *verified_ctx;
    struct ledger_mempool *mempool; /* the mempool's view (ledger/mempool.h) */
    char errmsg[LEDGER_ERRMSG_LEN];
};

void ledger_set_verified(struct ledger *l, ledger_verified_fn fn, void *ctx)
{
    l->verified = fn;
    l->verified_ctx = ctx;
}

static int lerr(struct ledger *l, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int lerr(struct ledger *l, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ledger_verrf(code, l->errmsg, sizeof(l->errmsg), fmt, ap);
    va_end(ap);
    return code;
}

/* Fail-stop: the store refuses every later write, and so do we. The one
 * failed state is the store's, and it keeps the first cause. */
static int fatal(struct ledger *l)
{
    ledger_store_fail(l->store, l->errmsg);
    return LEDGER_E_FATAL;
}

static int no_state(void *ctx, const uint8_t *key, size_t key_len, const uint8_t **out_val,
                    size_t *out_val_len)
{
    (void)ctx, (void)key, (void)key_len, (void)out_val, (void)out_val_len;
    return LEDGER_E_NOT_FOUND;
}

/* The base of an executed block once its read snapshot has ended: nothing
 * reads it (commit only iterates the overlay's own writes). */
static int dead_state(void *ctx, const uint8_t *key, size_t key_len, const uint8_t **out_val,
                      size_t *out_val_len)
{
    (void)ctx, (void)key, (void)key_len, (void)out_val, (void)out_val_len;
    return LEDGER_E_STORE;
}

static void prepared_free(struct prepared *p)
{
    if (p == NULL)
        return;
    ledger_exec_free(p->ex);
    ledger__block_close(&p->blk);
    free(p);
}

static void prepared_clear(struct ledger *l)
{
    for (size_t i = 0; i < PREPARED_SLOTS; i++) {
        prepared_free(l->prepared[i]);
        l->prepared[i] = NULL;
    }
}

static void prepared_keep(struct ledger *l, struct prepared *p)
{
    size_t slot = 0;
    for (size_t i = 0; i < PREPARED_SLOTS; i++) {
        if (l->prepared[i] == NULL) {
            slot = i;
            break;
        }
        if (l->prepared[i]->seq < l->prepared[slot]->seq)
            slot = i;
    }
    prepared_free(l->prepared[slot]);
    p->seq = ++l->seq;
    l->prepared[slot] = p;
}

/* The kept execution of exactly these bytes, or NULL. */
static struct prepared *prepared_find(struct ledger *l, const uint8_t *block, size_t len)
{
    for (size_t i = 0; i < PREPARED_SLOTS; i++) {
        struct prepared *p = l->prepared[i];
        if (p != NULL && ledger__block_same(&p->blk, block, len))
            return p;
    }
    return NULL;
}

/* Opens block into l->opened, or finds it there: *out borrowed, valid until
 * the next call that opens a block. */
static int open_block(struct ledger *l, const uint8_t *block, size_t len,
                      struct ledger__block **out)
{
    if (!ledger__block_same(&l->opened, block, len) || l->opened.b == NULL) {
        ledger__block_close(&l->opened);
        int rc = ledger__block_open(block, len, &l->opened, l->errmsg, sizeof(l->errmsg));
        if (rc != 0)
            return rc;
    }
    *out = &l->opened;
    return 0;
}

/* ---- open / close ---------------------------------------------------------------- */

static int write_genesis_state(struct ledger *l)
{
    struct ledger_state_base empty = { .ctx = NULL, .get = no_state };
    struct ledger_overlay *ov = ledger_overlay_new(&empty);
    if (ov == NULL)
        return LEDGER_E_NOMEM;
    int rc = ledger_state_genesis(&l->genesis, ov);
    if (rc == 0 && (rc = ledger_store_init(l->store, ov)) != 0)
        lerr(l, rc, "%s", ledger_store_errmsg(l->store));
    else if (rc != 0)
        lerr(l, rc, "genesis state: %s", ledger_strerror(rc));
    ledger_overlay_free(ov);
    return rc;
}

int ledger_open(const char *dir, const struct ledger_genesis *g,
                const struct ledger_store_options *opt, struct ledger **out, char *errmsg,
                size_t errmsg_len)
{
    *out = NULL;
    struct ledger *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return LEDGER_E_NOMEM;
    l->genesis = *g;
    int rc = ledger_store_open(dir, g, opt, &l->store, l->errmsg, sizeof(l->errmsg));
    if (rc != 0)
        goto err_after_alloc;
    if (ledger_store_is_new(l->store) && (rc = write_genesis_state(l)) != 0)
        goto err_after_store;
    /* l->genesis, not g: the view keeps the genesis it is given */
    if ((l->mempool = ledger_mempool_new(&l->genesis, l->store)) == NULL) {
        rc = LEDGER_E_NOMEM;
        goto err_after_store;
    }
    *out = l;
    return 0;
err_after_store:
    ledger_store_close(l->store);
err_after_alloc:
    if (errmsg != NULL && errmsg_len > 0)
        snprintf(errmsg, errmsg_len, "%s", l->errmsg);
    free(l);
    return rc;
}

void ledger_close(struct ledger *l)
{
    if (l == NULL)
        return;
    prepared_clear(l);
    ledger__block_close(&l->opened);
    ledger_mempool_free(l->mempool);
    ledger_store_close(l->store);
    free(l);
}

const char *ledger_errmsg(const struct ledger *l)
{
    return ledger_failed(l) ? ledger_store_errmsg(l->store) : l->errmsg;
}

struct ledger_mempool *ledger_mempool_get(struct ledger *l)
{
    return l->mempool;
}

const struct ledger_genesis *ledger_genesis_get(const struct ledger *l)
{
    return &l->genesis;
}

struct ledger_store *ledger_store_get(struct ledger *l)
{
    return l->store;
}

bool ledger_failed(const struct ledger *l)
{
    return ledger_store_failed(l->store);
}

void ledger_tip_get(const struct ledger *l, struct ledger_tip *out)
{
    ledger_store_tip(l->store, out);
}

/* ---- admission ------------------------------------------------------------------- */

/* jobs NULL: a full check (recheck: without signatures); else the split. */
static int check_tx(struct ledger *l, const uint8_t *tx, size_t tx_len, uint64_t now_ms,
                    bool recheck, struct ledger_sigjobs *jobs, const uint8_t *known_id,
                    uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    struct ledger_tip tip;
    ledger_store_tip(l->store, &tip);
    struct ledger_rtxn *r;
    int rc = ledger_rtxn_begin(l->store, &r);
    if (rc != 0) {
        if (errmsg != NULL && errmsg_len > 0)
            snprintf(errmsg, errmsg_len, "%s", ledger_store_errmsg(l->store));
        return rc;
    }
    struct ledger_state_base base;
    ledger_rtxn_base(r, &base);
    struct ledger_exec *ex = ledger_exec_new(&l->genesis, &base, tip.height + 1, now_ms);
    if (ex == NULL) {
        rc = LEDGER_E_NOMEM;
    } else {
        ledger_exec_known(ex, known_id, NULL);
        if (jobs != NULL)
            rc = ledger_exec_collect(ex, tx, tx_len, jobs, out_id, errmsg, errmsg_len);
        else if (recheck)
            rc = ledger_exec_recheck(ex, tx, tx_len, out_id, errmsg, errmsg_len);
        else
            rc = ledger_exec_check(ex, tx, tx_len, out_id, errmsg, errmsg_len);
        ledger_exec_free(ex);
    }
    ledger_rtxn_end(r);
    return rc;
}

int ledger_check_tx(struct ledger *l, const uint8_t *tx, size_t tx_len, uint64_t now_ms,
                    uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    return check_tx(l, tx, tx_len, now_ms, false, NULL, NULL, out_id, errmsg, errmsg_len);
}

int ledger_check_tx_split(struct ledger *l, const uint8_t *tx, size_t tx_len, uint64_t now_ms,
                          struct ledger_sigjobs *out_jobs, uint8_t out_id[LEDGER_HASH_LEN],
                          char *errmsg, size_t errmsg_len)
{
    return check_tx(l, tx, tx_len, now_ms, false, out_jobs, NULL, out_id, errmsg, errmsg_len);
}

int ledger_check_tx_split_known(struct ledger *l, const uint8_t *tx, size_t tx_len,
                                const uint8_t id[LEDGER_HASH_LEN], uint64_t now_ms,
                                struct ledger_sigjobs *out_jobs, char *errmsg, size_t errmsg_len)
{
    return check_tx(l, tx, tx_len, now_ms, false, out_jobs, id, NULL, errmsg, errmsg_len);
}

int ledger_recheck_tx(struct ledger *l, const uint8_t *tx, size_t tx_len, uint64_t now_ms,
                      uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    return check_tx(l, tx, tx_len, now_ms, true, NULL, NULL, out_id, errmsg, errmsg_len);
}

/* ---- execution ------------------------------------------------------------------- */

/* Header checks against the parent (tip or the previous block of a batch). */
/* DESIGN.md §3: a header names the view it was proposed in and its proposer,
 * the primary of that view. Otherwise a faulty primary could name another
 * validator, and the chain would report a proposer that never proposed it. */
static int proposer_error(const struct ledger_genesis *g, const struct ledger_header *h,
                          char *errmsg, size_t errmsg_len)
{
    uint32_t primary = ledger_genesis_primary(g, h->view);
    if (h->proposer == primary)
        return 0;
    if (errmsg != NULL && errmsg_len > 0)
        snprintf(errmsg, errmsg_len,
                 "block %" PRIu64 ": header names proposer %" PRIu32
                 ", but the primary of its view %" PRIu64 " is %" PRIu32,
                 h->height, h->proposer, h->view, primary);
    return LEDGER_E_BAD_PROPOSER;
}

static int check_proposer(struct ledger *l, const struct ledger_header *h)
{
    return proposer_error(&l->genesis, h, l->errmsg, sizeof(l->errmsg));
}

int ledger_header_check_proposal(const struct ledger_genesis *g, const struct ledger_header *h,
                                 uint64_t pp_view, bool reproposal, char *errmsg, size_t errmsg_len)
{
    int rc = proposer_error(g, h, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    /* A prepared block re-proposed after a view change keeps its original,
     * lower view; any other block is proposed in the PRE-PREPARE's view. */
    if (reproposal ? h->view <= pp_view : h->view == pp_view)
        return 0;
    if (errmsg != NULL && errmsg_len > 0)
        snprintf(errmsg, errmsg_len,
                 "block %" PRIu64 ": header names view %" PRIu64 ", but it came in a %sPRE-PREPARE "
                 "of view %" PRIu64,
                 h->height, h->view, reproposal ? "re-proposing " : "", pp_view);
    return LEDGER_E_BAD_VIEW;
}

/* The header rules every path shares (validate, commit, sync): the chain,
 * the height the caller expects, and the proposer (the primary of the
 * header's view). Written once so that the paths cannot disagree. */
static int check_header(struct ledger *l, const struct ledger_header *h, uint64_t height)
{
    if (memcmp(h->chain, l->genesis.hash, LEDGER_HASH_LEN) != 0)
        return lerr(l, LEDGER_E_WRONG_CHAIN, "block %" PRIu64 ": of another chain", h->height);
    if (h->height != height)
        return lerr(l, LEDGER_E_BAD_PARENT, "block %" PRIu64 ": expected height %" PRIu64,
                    h->height, height);
    return check_proposer(l, h);
}

/* The header against its parent (the tip or the previous block of a batch),
 * after check_header: the hash link and a later time. */
static int check_link(struct ledger *l, const struct ledger_header *h,
                      const uint8_t parent_hash[LEDGER_HASH_LEN], uint64_t parent_time)
{
    if (memcmp(h->prev_hash, parent_hash, LEDGER_HASH_LEN) != 0)
        return lerr(l, LEDGER_E_BAD_PARENT, "block %" PRIu64 ": prev_hash is not block %" PRIu64,
                    h->height, h->height - 1);
    if (h->time_ms <= parent_time)
        return lerr(l, LEDGER_E_BAD_TIME,
                    "block %" PRIu64 ": time %" PRIu64 " not after its parent's %" PRIu64,
                    h->height, h->time_ms, parent_time);
    return 0;
}

int ledger_block_check(struct ledger *l, const uint8_t *block, size_t len,
                       const uint8_t digest[LEDGER_HASH_LEN], struct ledger_header *out_hdr)
{
    struct ledger__block *o;
    int rc = open_block(l, block, len, &o);
    if (rc != 0)
        return rc;
    if (digest != NULL && memcmp(o->hdr.hash, digest, LEDGER_HASH_LEN) != 0)
        return lerr(l, LEDGER_E_BAD_BLOCK, "block %" PRIu64 ": not the block of this digest",
                    o->hdr.height);
    if (out_hdr != NULL)
        *out_hdr = o->hdr;
    return 0;
}

/* Executes every tx of p->blk over p->base (set by the caller), then checks
 * the state root. A refused tx refuses the block. The tx root was checked
 * when the block was opened, and execution applied exactly its txs. */
/* The txs of block b through ex, each signature checked as it comes; or,
 * with sb (a certified sync batch), every check listed and then made on all
 * cores at once (sigbatch.h): nothing of the execution is used before. */
static int execute_txs(struct ledger *l, struct prepared *p, struct ledger__sigbatch *sb)
{
    const Sealchain__Block *b = p->blk.b;
    const struct ledger_header *h = &p->blk.hdr;
    char why[LEDGER_REASON_LEN];
    uint8_t id[LEDGER_HASH_LEN];
    struct ledger_sigjobs *jobs = sb != NULL ? malloc(sizeof(*jobs)) : NULL;
    if (sb != NULL && jobs == NULL)
        return lerr(l, LEDGER_E_NOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < b->n_txs && rc == 0; i++) {
        ledger_exec_known(p->ex, NULL, p->blk.leaves != NULL ? p->blk.leaves[i] : NULL);
        rc = sb == NULL ? ledger_exec_tx(p->ex, b->txs[i].data, b->txs[i].len, id, why, sizeof(why))
                        : ledger_exec_tx_deferred(p->ex, b->txs[i].data, b->txs[i].len, jobs, id,
                                                  why, sizeof(why));
        if (rc == 0 && sb != NULL && (rc = ledger__sigbatch_add(sb, jobs, (uint32_t)i)) != 0)
            snprintf(why, sizeof(why), "out of memory");
        if (rc == LEDGER_E_NOMEM || rc == LEDGER_E_STORE)
            rc = lerr(l, rc, "block %" PRIu64 ": tx %zu: %s", h->height, i, why);
        else if (rc != 0)
            rc = lerr(l, LEDGER_E_BAD_BLOCK, "block %" PRIu64 ": tx %zu refused: %s (%s)",
                      h->height, i, why, ledger_errname(rc));
    }
    free(jobs);
    uint32_t bad;
    if (rc == 0 && sb != NULL && (rc = ledger__sigbatch_verify(sb, l->genesis.hash, &bad)) != 0)
        rc = lerr(l, LEDGER_E_BAD_BLOCK, "block %" PRIu64 ": tx %u refused: %s (%s)", h->height,
                  (unsigned)bad,
                  rc == LEDGER_E_BAD_SEAL_SIGNATURE
                      ? "the seal signature does not verify under the seal's key"
                      : "the signer's signature does not verify",
                  ledger_errname(rc));
    return rc;
}

static int execute(struct ledger *l, struct prepared *p, const uint8_t prev_root[LEDGER_HASH_LEN],
                   struct ledger__sigbatch *sb)
{
    const struct ledger_header *h = &p->blk.hdr;
    p->ex = ledger_exec_new(&l->genesis, &p->base, h->height, h->time_ms);
    if (p->ex == NULL)
        return lerr(l, LEDGER_E_NOMEM, "out of memory");
    ledger_exec_set_verified(p->ex, l->verified, l->verified_ctx);
    int rc = execute_txs(l, p, sb);
    if (rc != 0)
        return rc;
    uint8_t state_root[LEDGER_HASH_LEN];
    rc = ledger_exec_finish(p->ex, prev_root, NULL, state_root);
    if (rc != 0)
        return lerr(l, rc, "block %" PRIu64 ": finish: %s", h->height, ledger_strerror(rc));
    if (memcmp(state_root, h->state_root, LEDGER_HASH_LEN) != 0) {
        char mine[2 * LEDGER_HASH_LEN + 1], theirs[2 * LEDGER_HASH_LEN + 1];
        ledger_hex(state_root, LEDGER_HASH_LEN, mine);
        ledger_hex(h->state_root, LEDGER_HASH_LEN, theirs);
        return lerr(l, LEDGER_E_BAD_STATE_ROOT,
                    "block %" PRIu64 ": state root %.16s... computed here, %.16s... in header",
                    h->height, mine, theirs);
    }
    return 0;
}

/* Executes the opened block *o at the tip through a fresh snapshot; the
 * opening moves into *out (o is left empty), which keeps the exec. */
static int execute_at_tip(struct ledger *l, struct ledger__block *o, struct prepared **out)
{
    struct ledger_tip tip;
    ledger_store_tip(l->store, &tip);
    struct prepared *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return lerr(l, LEDGER_E_NOMEM, "out of memory");
    p->blk = *o;
    memset(o, 0, sizeof(*o));
    struct ledger_rtxn *r;
    int rc = ledger_rtxn_begin(l->store, &r);
    if (rc != 0) {
        lerr(l, rc, "%s", ledger_store_errmsg(l->store));
        goto err_after_alloc;
    }
    ledger_rtxn_base(r, &p->base);
    /* The checks the mempool did not make (transactions this node never
     * held) run on every core at once, not one by one on the caller's
     * thread, which under load is the one consensus waits on. */
    struct ledger__sigbatch sigs = { 0 };
    rc = execute(l, p, tip.state_root, &sigs);
    ledger__sigbatch_free(&sigs);
    ledger_rtxn_end(r);
    p->base.ctx = NULL;
    p->base.get = dead_state;
    ledger__block_drop_body(&p->blk);
    if (rc != 0)
        goto err_after_alloc;
    *out = p;
    return 0;
err_after_alloc:
    prepared_free(p);
    return rc;
}

/* ---- build and validate --------------------------------------------------------- */

int ledger_validate_block(struct ledger *l, const uint8_t *block, size_t len,
                          struct ledger_header *out_hdr)
{
    if (ledger_failed(l))
        return LEDGER_E_FATAL;
    struct ledger__block *o;
    int rc = open_block(l, block, len, &o);
    if (rc != 0)
        return lerr(l, rc, "proposed block: %s", ledger_strerror(rc));
    struct ledger_header h = o->hdr;
    struct ledger_tip tip;
    ledger_store_tip(l->store, &tip);
    struct prepared *p = NULL;
    if ((rc = check_header(l, &h, tip.height + 1)) == 0 &&
        (rc = check_link(l, &h, tip.hash, tip.time_ms)) == 0 &&
        (rc = execute_at_tip(l, o, &p)) == 0)
        prepared_keep(l, p);
    if (rc == 0 && out_hdr != NULL)
        *out_hdr = h;
    return rc;
}

static int encode_block(struct ledger *l, const struct ledger_header *h,
                        const ProtobufCBinaryData *txs, size_t n, uint8_t **out, size_t *out_len,
                        uint8_t hash[LEDGER_HASH_LEN])
{
    Sealchain__BlockHeader hdr = SEALCHAIN__BLOCK_HEADER__INIT;
    hdr.chain = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)h->chain };
    hdr.height = h->height;
    hdr.view = h->view;
    hdr.prev_hash = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)h->prev_hash };
    hdr.time_ms = h->time_ms;
    hdr.proposer = h->proposer;
    hdr.tx_root = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)h->tx_root };
    hdr.state_root = (ProtobufCBinaryData){ LEDGER_HASH_LEN, (uint8_t *)h->state_root };
    hdr.tx_count = h->tx_count;
    uint8_t *hbytes;
    size_t hlen;
    int rc = ledger_encode(&hdr.base, &hbytes, &hlen);
    if (rc != 0)
        return lerr(l, rc, "encode header: out of memory");
    ledger_sha256(hbytes, hlen, hash);
    Sealchain__Block blk = SEALCHAIN__BLOCK__INIT;
    blk.header = (ProtobufCBinaryData){ hlen, hbytes };
    blk.n_txs = n;
    blk.txs = (ProtobufCBinaryData *)txs;
    rc = ledger_encode(&blk.base, out, out_len);
    free(hbytes);
    return rc != 0 ? lerr(l, rc, "encode block: out of memory") : 0;
}

/* Runs the candidates through p->ex, collecting the included ones in inc. */
static int build_txs(struct ledger *l, struct prepared *p, const struct ledger_txref *txs,
                     size_t count, ProtobufCBinaryData *inc, size_t *n_inc,
                     struct ledger_refusal *refusals, size_t *n_ref, size_t *used)
{
    size_t bytes = LEDGER_MAX_HEADER_LEN, i;
    char why[LEDGER_REASON_LEN];
    for (i = 0; i < count && *n_inc < LEDGER_MAX_BLOCK_TXS; i++) {
        if (bytes + txs[i].len + 4 > LEDGER_MAX_BLOCK_LEN)
            break;
        ledger_exec_known(p->ex, txs[i].id, txs[i].leaf);
        int rc = ledger_exec_tx(p->ex, txs[i].data, txs[i].len, NULL, why, sizeof(why));
        if (rc == LEDGER_E_NOMEM || rc == LEDGER_E_STORE)
            return lerr(l, rc, "build block: tx %zu: %s", i, why);
        if (rc != 0) {
            if (refusals != NULL) {
                struct ledger_refusal *f = &refusals[(*n_ref)++];
                f->index = i;
                f->code = rc;
                snprintf(f->reason, sizeof(f->reason), "%s", why);
            }
            continue;
        }
        inc[(*n_inc)++] = (ProtobufCBinaryData){ txs[i].len, (uint8_t *)txs[i].data };
        bytes += txs[i].len + 4;
    }
    *used = i;
    return 0;
}

int ledger_build_block(struct ledger *l, const struct ledger_txref *txs, size_t count,
                       uint64_t time_ms, uint32_t proposer, uint64_t view, uint8_t **out_block,
                       size_t *out_len, uint8_t out_hash[static LEDGER_HASH_LEN],
                       struct ledger_refusal *refusals, size_t *out_refused_count, size_t *out_used)
{
    if (ledger_failed(l))
        return LEDGER_E_FATAL;
    struct ledger_tip tip;
    ledger_store_tip(l->store, &tip);
    if (time_ms <= tip.time_ms)
        return lerr(l, LEDGER_E_BAD_TIME, "build block: time %" PRIu64 " not after %" PRIu64,
                    time_ms, tip.time_ms);
    if (proposer != ledger_genesis_primary(&l->genesis, view))
        return lerr(l, LEDGER_E_INVALID,
                    "build block: proposer %" PRIu32 " is not the primary of view %" PRIu64,
                    proposer, view);
    size_t n_ref = 0, n_inc = 0, used = 0;
    ProtobufCBinaryData *inc = malloc((count > 0 ? count : 1) * sizeof(*inc));
    struct prepared *p = calloc(1, sizeof(*p));
    struct ledger_rtxn *r = NULL;
    int rc = LEDGER_E_NOMEM;
    if (inc == NULL || p == NULL || (rc = ledger_rtxn_begin(l->store, &r)) != 0) {
        lerr(l, rc, "build block: %s", ledger_strerror(rc));
        goto out;
    }
    ledger_rtxn_base(r, &p->base);
    struct ledger_header *h = &p->blk.hdr;
    *h = (struct ledger_header){
        .height = tip.height + 1, .view = view, .time_ms = time_ms, .proposer = proposer
    };
    memcpy(h->chain, l->genesis.hash, LEDGER_HASH_LEN);
    memcpy(h->prev_hash, tip.hash, LEDGER_HASH_LEN);
    if ((p->ex = ledger_exec_new(&l->genesis, &p->base, h->height, time_ms)) == NULL) {
        rc = lerr(l, LEDGER_E_NOMEM, "build block: out of memory");
        goto out;
    }
    ledger_exec_set_verified(p->ex, l->verified, l->verified_ctx);
    if ((rc = build_txs(l, p, txs, count, inc, &n_inc, refusals, &n_ref, &used)) != 0)
        goto out;
    h->tx_count = (uint32_t)n_inc;
    if ((rc = ledger_exec_finish(p->ex, tip.state_root, h->tx_root, h->state_root)) != 0 ||
        (rc = encode_block(l, h, inc, n_inc, out_block, out_len, h->hash)) != 0)
        goto out;
    memcpy(out_hash, h->hash, LEDGER_HASH_LEN);
    ledger_rtxn_end(r);
    r = NULL;
    p->base = (struct ledger_state_base){ .ctx = NULL, .get = dead_state };
    p->blk.bytes = malloc(*out_len > 0 ? *out_len : 1);
    if (p->blk.bytes == NULL) { /* kept unexecuted: commit executes it again */
        prepared_free(p);
        p = NULL;
        goto out;
    }
    memcpy(p->blk.bytes, *out_block, *out_len);
    p->blk.len = *out_len;
    prepared_keep(l, p);
    p = NULL;
out:
    ledger_rtxn_end(r);
    prepared_free(p);
    free(inc);
    if (out_refused_count != NULL)
        *out_refused_count = n_ref;
    if (out_used != NULL)
        *out_used = used;
    return rc;
}

/* ---- commit ---------------------------------------------------------------------- */

static int write_blocks(struct ledger *l, struct ledger_store_block *sb, size_t n)
{
    int rc = ledger_store_commit(l->store, sb, n);
    prepared_clear(l); /* every kept execution was built on the old tip */
    if (rc != 0 && ledger_failed(l))
        return LEDGER_E_FATAL; /* the store keeps LMDB's reason */
    if (rc != 0)
        return lerr(l, rc, "%s", ledger_store_errmsg(l->store));
    return 0;
}

static void store_block_of(struct ledger_store_block *sb, const struct prepared *p,
                           const uint8_t *block, size_t len, const uint8_t *cert, size_t cert_len)
{
    *sb = (struct ledger_store_block){ .height = p->blk.hdr.height,
                                       .block = block,
                                       .block_len = len,
                                       .cert = cert,
                                       .cert_len = cert_len,
                                       .time_ms = p->blk.hdr.time_ms,
                                       .ov = ledger_exec_overlay(p->ex) };
    memcpy(sb->hash, p->blk.hdr.hash, LEDGER_HASH_LEN);
    memcpy(sb->state_root, p->blk.hdr.state_root, LEDGER_HASH_LEN);
}

/* The checks of a certified block that refuse it without harm, on its
 * opened header: check_header (chain, height, proposer), then the
 * certificate (its view not lower than the header's: a block is committed
 * in the view it was proposed in or, re-proposed, in a later one). */
static int check_certified(struct ledger *l, const struct ledger_header *h, const uint8_t *cert,
                           size_t cert_len, uint64_t height)
{
    int rc = check_header(l, h, height);
    if (rc != 0)
        return rc;
    char why[LEDGER_REASON_LEN] = "";
    uint64_t cert_view = 0;
    if (ledger_cert_check(&l->genesis, cert, cert_len, h->height, h->hash, &cert_view, why,
                          sizeof(why)) != 0)
        return lerr(l, LEDGER_E_BAD_CERT, "block %" PRIu64 ": certificate: %s", h->height, why);
    if (cert_view < h->view)
        return lerr(l, LEDGER_E_BAD_CERT,
                    "block %" PRIu64 ": certificate of view %" PRIu64
                    " is lower than the header's view %" PRIu64,
                    h->height, cert_view, h->view);
    return 0;
}

/* A certified block that does not execute here as it did on q validators:
 * this node's state has diverged. Fail-stop. Out of memory and a read error
 * say nothing about the block and are returned as they are. */
static int diverged(struct ledger *l, int rc)
{
    if (rc == LEDGER_E_NOMEM || rc == LEDGER_E_STORE)
        return rc;
    char msg[LEDGER_ERRMSG_LEN];
    memcpy(msg, l->errmsg, sizeof(msg));
    msg[sizeof(msg) - 12] = '\0'; /* room for the prefix */
    lerr(l, LEDGER_E_FATAL, "certified %s", msg);
    return fatal(l);
}

/* Commit of a block no kept execution has: open it (or take consensus's
 * opening), then check and execute it. *out the new execution. */
static int commit_fresh(struct ledger *l, const uint8_t *block, size_t len, const uint8_t *cert,
                        size_t cert_len, const struct ledger_tip *tip, struct prepared **out)
{
    struct ledger__block *o;
    int rc = open_block(l, block, len, &o);
    if (rc != 0)
        return lerr(l, rc, "block %" PRIu64 ": %s", tip->height + 1, ledger_strerror(rc));
    if (tip->height > 0 && o->hdr.height == tip->height &&
        memcmp(o->hdr.hash, tip->hash, LEDGER_HASH_LEN) == 0)
        return 0; /* already committed (a repeated delivery) */
    if ((rc = check_certified(l, &o->hdr, cert, cert_len, tip->height + 1)) != 0)
        return rc;
    rc = check_link(l, &o->hdr, tip->hash, tip->time_ms);
    if (rc == 0)
        rc = execute_at_tip(l, o, out);
    return rc != 0 ? diverged(l, rc) : 0;
}

int ledger_commit_block(struct ledger *l, const uint8_t *block, size_t len, const uint8_t *cert,
                        size_t cert_len)
{
    if (ledger_failed(l))
        return LEDGER_E_FATAL;
    struct ledger_tip tip;
    ledger_store_tip(l->store, &tip);
    struct prepared *p = prepared_find(l, block, len), *own = NULL;
    int rc = p != NULL ? check_certified(l, &p->blk.hdr, cert, cert_len, tip.height + 1)
                       : commit_fresh(l, block, len, cert, cert_len, &tip, &own);
    if (rc != 0 || (p == NULL && own == NULL))
        return rc;
    if (p == NULL)
        p = own;
    struct ledger_store_block sb;
    store_block_of(&sb, p, block, len, cert, cert_len);
    rc = write_blocks(l, &sb, 1); /* frees the kept executions, p among them */
    prepared_free(own);
    return rc;
}

/* Executes block k of a batch over the overlay of block k-1. */
static int overlay_base_get(void *ctx, const uint8_t *key, size_t key_len, const uint8_t **out_val,
                            size_t *out_val_len)
{
    return ledger_overlay_get(ctx, key, key_len, out_val, out_val_len);
}

static int batch_one(struct ledger *l, const struct ledger_certified *c, struct ledger_rtxn *r,
                     struct prepared *prev, const struct ledger_tip *tip, struct prepared *p,
                     struct ledger__sigbatch *sb)
{
    uint64_t height = prev != NULL ? prev->blk.hdr.height + 1 : tip->height + 1;
    int rc = ledger__block_open(c->block, c->block_len, &p->blk, l->errmsg, sizeof(l->errmsg));
    if (rc != 0)
        return lerr(l, rc, "block %" PRIu64 ": %s", height, ledger_strerror(rc));
    if ((rc = check_certified(l, &p->blk.hdr, c->cert, c->cert_len, height)) != 0)
        return rc;
    if (prev != NULL)
        p->base = (struct ledger_state_base){ .ctx = ledger_exec_overlay(prev->ex),
                                              .get = overlay_base_get };
    else
        ledger_rtxn_base(r, &p->base);
    rc = check_link(l, &p->blk.hdr, prev ? prev->blk.hdr.hash : tip->hash,
                    prev ? prev->blk.hdr.time_ms : tip->time_ms);
    if (rc == 0)
        rc = execute(l, p, prev ? prev->blk.hdr.state_root : tip->state_root, sb);
    ledger__sigbatch_reset(sb);
    if (rc != 0)
        rc = diverged(l, rc);
    ledger__block_keep_header(&p->blk);
    return rc;
}

int ledger_commit_blocks(struct ledger *l, const struct ledger_certified *blocks, size_t count)
{
    if (ledger_failed(l))
        return LEDGER_E_FATAL;
    if (count == 0 || count > LEDGER_MAX_SYNC_BATCH)
        return lerr(l, LEDGER_E_INVALID, "commit blocks: batch of %zu (1..%d)", count,
                    LEDGER_MAX_SYNC_BATCH);
    struct ledger_tip tip;
    ledger_store_tip(l->store, &tip);
    struct prepared *ps = calloc(count, sizeof(*ps));
    struct ledger_store_block *sb = calloc(count, sizeof(*sb));
    struct ledger_rtxn *r = NULL;
    int rc = LEDGER_E_NOMEM;
    if (ps == NULL || sb == NULL || (rc = ledger_rtxn_begin(l->store, &r)) != 0) {
        lerr(l, rc, "commit blocks: %s", ledger_strerror(rc));
        goto out;
    }
    struct ledger__sigbatch sigs = { 0 };
    for (size_t k = 0; k < count && rc == 0; k++)
        rc = batch_one(l, &blocks[k], r, k > 0 ? &ps[k - 1] : NULL, &tip, &ps[k], &sigs);
    ledger__sigbatch_free(&sigs);
    ledger_rtxn_end(r); /* no snapshot may stay open while the map could grow */
    if (rc != 0)
        goto out;
    for (size_t k = 0; k < count; k++)
        store_block_of(&sb[k], &ps[k], blocks[k].block, blocks[k].block_len, blocks[k].cert,
                       blocks[k].cert_len);
    rc = write_blocks(l, sb, count);
out:
    for (size_t k = 0; ps != NULL && k < count; k++) {
        ledger_exec_free(ps[k].ex);
        ledger__block_close(&ps[k].blk);
    }
    free(ps);
    free(sb);
    return rc;
}
