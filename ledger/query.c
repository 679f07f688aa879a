/* Read-only queries of the operator contract over a read snapshot of the store. */
#include "ledger/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/store_compact.h"
#include "ledger/rules.h"
#include "ledger/tx.h"
#include "proto/block.pb-c.h"

/* ---- blocks ------------------------------------------------------------------- */

static int fill_block(const struct ledger_stored_block *sb, struct ledger_q_block *out)
{
    const Sealchain__BlockHeader *h = sb->header;
    const Sealchain__Block *b = sb->stored->block;
    if (h->prev_hash.len != LEDGER_HASH_LEN || h->tx_root.len != LEDGER_HASH_LEN ||
        h->state_root.len != LEDGER_HASH_LEN)
        return LEDGER_E_MALFORMED;
    out->height = h->height;
    memcpy(out->hash, sb->hash, LEDGER_HASH_LEN);
    memcpy(out->prev_hash, h->prev_hash.data, LEDGER_HASH_LEN);
    out->time_ms = h->time_ms;
    out->proposer = h->proposer;
    memcpy(out->tx_root, h->tx_root.data, LEDGER_HASH_LEN);
    memcpy(out->state_root, h->state_root.data, LEDGER_HASH_LEN);
    out->tx_ids = malloc((b->n_txs + 1) * LEDGER_HASH_LEN);
    if (out->tx_ids == NULL)
        return LEDGER_E_NOMEM;
    out->n_txs = b->n_txs;
    for (size_t i = 0; i < b->n_txs; i++)
        if (ledger_tx_id(b->txs[i].data, b->txs[i].len, out->tx_ids[i]) != 0)
            return LEDGER_E_MALFORMED;
    if (sb->cert != NULL) {
        out->view = sb->cert->view;
        out->signers = malloc((sb->cert->n_signers + 1) * sizeof(uint32_t));
        if (out->signers == NULL)
            return LEDGER_E_NOMEM;
        out->n_signers = sb->cert->n_signers;
        memcpy(out->signers, sb->cert->signers, out->n_signers * sizeof(uint32_t));
    }
    return 0;
}

int ledger_q_block_by_height(struct ledger_rtxn *r, uint64_t height, struct ledger_q_block *out)
{
    memset(out, 0, sizeof(*out));
    struct ledger_stored_block sb;
    int rc = ledger_rtxn_block_load(r, height, &sb);
    if (rc != 0)
        return rc;
    rc = fill_block(&sb, out);
    ledger_stored_block_close(&sb);
    if (rc != 0)
        ledger_q_block_close(out);
    return rc;
}

int ledger_q_block_by_hash(struct ledger_rtxn *r, const uint8_t hash[static LEDGER_HASH_LEN],
                           struct ledger_q_block *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t height;
    int rc = ledger_rtxn_block_height(r, hash, &height);
    return rc != 0 ? rc : ledger_q_block_by_height(r, height, out);
}

void ledger_q_block_close(struct ledger_q_block *b)
{
    free(b->tx_ids);
    free(b->signers);
    b->tx_ids = NULL;
    b->signers = NULL;
    b->n_txs = b->n_signers = 0;
}

/* ---- txs ------------------------------------------------------------------------ */

const char *ledger_q_tx_type_name(int type)
{
    switch (type) {
    case SEALCHAIN__TX_BODY__OP_ORG_REGISTER:
        return "org_register";
    case SEALCHAIN__TX_BODY__OP_SEAL_REGISTER:
        return "seal_register";
    case SEALCHAIN__TX_BODY__OP_SEAL_GRANT:
        return "seal_grant";
    case SEALCHAIN__TX_BODY__OP_SEAL_REVOKE_GRANT:
        return "seal_revoke_grant";
    case SEALCHAIN__TX_BODY__OP_SEAL_SUSPEND:
        return "seal_suspend";
    case SEALCHAIN__TX_BODY__OP_SEAL_RESUME:
        return "seal_resume";
    case SEALCHAIN__TX_BODY__OP_SEAL_DESTROY:
        return "seal_destroy";
    case SEALCHAIN__TX_BODY__OP_SEAL_USE:
        return "seal_use";
    case SEALCHAIN__TX_BODY__OP_USAGE_APPROVE:
        return "usage_approve";
    case SEALCHAIN__TX_BODY__OP_USAGE_REJECT:
        return "usage_reject";
    default:
        return "unknown";
    }
}

/* The tx at its location is found by walking the stored block's wire format
 * (store_compact.h), not by unpacking the block: a block of 1,000 txs
 * unpacked once per tx made counting a block's txs quadratic (node stats
 * after every commit and sync batch spent most of a syncing node's CPU so). */
int ledger_q_tx(struct ledger_rtxn *r, const uint8_t id[static LEDGER_HASH_LEN],
                struct ledger_q_tx *out)
{
    memset(out, 0, sizeof(*out));
    int rc = ledger_rtxn_tx_location(r, id, &out->height, &out->index);
    if (rc != 0)
        return rc;
    const uint8_t *stored, *blk, *raw, *hdr;
    size_t stored_len, blk_len, raw_len, hdr_len;
    if ((rc = ledger_rtxn_block(r, out->height, &stored, &stored_len)) != 0)
        return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_MALFORMED : rc;
    if (ledger__pb_bytes(stored, stored_len, 1, 0, &blk, &blk_len) != 0 ||
        ledger__pb_bytes(blk, blk_len, 1, 0, &hdr, &hdr_len) != 0 ||
        ledger__pb_bytes(blk, blk_len, 2, out->index, &raw, &raw_len) != 0)
        return LEDGER_E_MALFORMED;
    Sealchain__BlockHeader *h = sealchain__block_header__unpack(NULL, hdr_len, hdr);
    if (h == NULL)
        return LEDGER_E_MALFORMED;
    out->time_ms = h->time_ms;
    sealchain__block_header__free_unpacked(h, NULL);
    struct ledger_tx tx = { 0 };
    if (ledger_tx_open(raw, raw_len, &tx, NULL, 0) != 0 ||
        ledger_tx_parse(&tx, raw, raw_len, NULL, 0) != 0 ||
        memcmp(tx.id, id, LEDGER_HASH_LEN) != 0) {
        rc = LEDGER_E_MALFORMED;
    } else {
        memcpy(out->hash, id, LEDGER_HASH_LEN);
        memcpy(out->signer, tx.signer, LEDGER_KEY_LEN);
        out->type = (int)tx.body->op_case;
    }
    ledger_tx_close(&tx);
    return rc;
}

/* ---- records ---------------------------------------------------------------------- */

#define KEY_ID(name, prefix, id)                                                                   \
    uint8_t name[1 + LEDGER_HASH_LEN] = { (prefix) };                                              \
    memcpy(name + 1, (id), LEDGER_HASH_LEN)

/* Loads and unpacks the record under key with descriptor d. */
static int load(struct ledger_rtxn *r, const uint8_t *key, size_t key_len,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    const uint8_t *val;
    size_t len;
    int rc = ledger_rtxn_state_get(r, key, key_len, &val, &len);
    if (rc != 0)
        return rc;
    *out = protobuf_c_message_unpack(d, NULL, len, val);
    return *out == NULL ? LEDGER_E_MALFORMED : 0;
}

int ledger_q_org(struct ledger_rtxn *r, const char *org_id, Sealchain__OrgRecord **out)
{
    size_t n = strnlen(org_id, LEDGER_ORG_ID_MAX + 1);
    if (n == 0 || n > LEDGER_ORG_ID_MAX)
        return LEDGER_E_NOT_FOUND;
    uint8_t key[1 + LEDGER_ORG_ID_MAX] = { LEDGER_K_ORG };
    memcpy(key + 1, org_id, n);
    return load(r, key, 1 + n, &sealchain__org_record__descriptor, (ProtobufCMessage **)out);
}

/* Collects records reached through an index: for every key under prefix,
 * fn's value names (or is) the record to load. */
struct collect {
    struct ledger_rtxn *r;
    const ProtobufCMessageDescriptor *d;
    uint8_t key_prefix; /* prefix of the record key built from the index value, 0 = the value */
    ProtobufCMessage **items;
    size_t count, limit;
    bool more;
    int rc;
};

static int collect_one(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                       size_t val_len)
{
    (void)key, (void)key_len;
    struct collect *c = arg;
    if (c->count == c->limit) {
        c->more = true;
        return 1;
    }
    ProtobufCMessage *m;
    if (c->key_prefix != 0) {
        if (val_len != LEDGER_HASH_LEN) {
            c->rc = LEDGER_E_MALFORMED;
            return 1;
        }
        KEY_ID(rk, c->key_prefix, val);
        c->rc = load(c->r, rk, sizeof(rk), c->d, &m);
    } else {
        m = protobuf_c_message_unpack(c->d, NULL, val_len, val);
        c->rc = m == NULL ? LEDGER_E_MALFORMED : 0;
    }
    if (c->rc != 0)
        return 1;
    c->items[c->count++] = m;
    return 0;
}

static int collect(struct ledger_rtxn *r, const uint8_t *prefix, size_t prefix_len,
                   uint8_t key_prefix, const ProtobufCMessageDescriptor *d, size_t limit,
                   ProtobufCMessage ***out, size_t *out_count, bool *out_more)
{
    struct collect c = { .r = r, .d = d, .key_prefix = key_prefix, .limit = limit };
    c.items = calloc(limit + 1, sizeof(*c.items));
    if (c.items == NULL)
        return LEDGER_E_NOMEM;
    int rc = ledger_rtxn_state_scan(r, prefix, prefix_len, collect_one, &c);
    if (c.rc != 0)
        rc = c.rc;
    else if (rc == 1)
        rc = 0; /* stopped at the limit */
    *out = c.items;
    *out_count = c.count;
    if (out_more != NULL)
        *out_more = c.more;
    return rc;
}

static void free_all(ProtobufCMessage **items, size_t n)
{
    for (size_t i = 0; items != NULL && i < n; i++)
        protobuf_c_message_free_unpacked(items[i], NULL);
    free(items);
}

int ledger_q_seal(struct ledger_rtxn *r, const uint8_t seal_id[static LEDGER_HASH_LEN],
                  struct ledger_q_seal *out)
{
    memset(out, 0, sizeof(*out));
    KEY_ID(key, LEDGER_K_SEAL, seal_id);
    int rc = load(r, key, sizeof(key), &sealchain__seal_record__descriptor,
                  (ProtobufCMessage **)&out->seal);
    if (rc != 0)
        return rc;
    key[0] = LEDGER_K_HISTORY;
    /* the history of a seal is short (lifecycle changes), the list bounded anyway */
    rc = collect(r, key, sizeof(key), 0, &sealchain__history_entry__descriptor,
                 out->seal->history_count + 1, (ProtobufCMessage ***)&out->history, &out->n_history,
                 NULL);
    if (rc == 0) {
        key[0] = LEDGER_K_SEAL_GRANTS;
        rc = collect(r, key, sizeof(key), LEDGER_K_GRANT, &sealchain__grant_record__descriptor,
                     LEDGER_Q_LIST_MAX, (ProtobufCMessage ***)&out->grants, &out->n_grants,
                     &out->more_grants);
    }
    if (rc != 0)
        ledger_q_seal_close(out);
    return rc;
}

void ledger_q_seal_close(struct ledger_q_seal *s)
{
    if (s->seal != NULL)
        sealchain__seal_record__free_unpacked(s->seal, NULL);
    free_all((ProtobufCMessage **)s->history, s->n_history);
    free_all((ProtobufCMessage **)s->grants, s->n_grants);
    memset(s, 0, sizeof(*s));
}

/* ---- usages ------------------------------------------------------------------------ */

/* Fills org_id and the status as of time t, from the seal and grant records. */
static int usage_context(struct ledger_rtxn *r, struct ledger_q_usage *u, uint64_t t)
{
    const Sealchain__UsageRecord *rec = u->rec;
    if (rec->seal_id.len != LEDGER_HASH_LEN || rec->grant.len != LEDGER_HASH_LEN)
        return LEDGER_E_MALFORMED;
    Sealchain__SealRecord *s;
    KEY_ID(key, LEDGER_K_SEAL, rec->seal_id.data);
    int rc =
        load(r, key, sizeof(key), &sealchain__seal_record__descriptor, (ProtobufCMessage **)&s);
    if (rc != 0)
        return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_MALFORMED : rc;
    snprintf(u->org_id, sizeof(u->org_id), "%s", s->org_id);
    sealchain__seal_record__free_unpacked(s, NULL);
    u->status = rec->status;
    if (rec->status != SEALCHAIN__USAGE_STATUS__USAGE_STATUS_PENDING)
        return 0;
    Sealchain__GrantRecord *g;
    KEY_ID(gkey, LEDGER_K_GRANT, rec->grant.data);
    rc = load(r, gkey, sizeof(gkey), &sealchain__grant_record__descriptor, (ProtobufCMessage **)&g);
    if (rc != 0)
        return rc == LEDGER_E_NOT_FOUND ? LEDGER_E_MALFORMED : rc;
    /* the same predicate the rules use to lapse a pending use */
    if (ledger__usage_lapsed(rec->time_ms, g->approval_window_ms, t))
        u->status = SEALCHAIN__USAGE_STATUS__USAGE_STATUS_LAPSED;
    sealchain__grant_record__free_unpacked(g, NULL);
    return 0;
}

static int tip_time(struct ledger_rtxn *r, uint64_t *out)
{
    struct ledger_tip tip;
    int rc = ledger_rtxn_tip(r, &tip);
    *out = tip.time_ms;
    return rc;
}

static int usage_load(struct ledger_rtxn *r, const uint8_t id[LEDGER_HASH_LEN], uint64_t t,
                      struct ledger_q_usage *out)
{
    memset(out, 0, sizeof(*out));
    KEY_ID(key, LEDGER_K_USAGE, id);
    int rc = load(r, key, sizeof(key), &sealchain__usage_record__descriptor,
                  (ProtobufCMessage **)&out->rec);
    if (rc == 0)
        rc = usage_context(r, out, t);
    if (rc != 0)
        ledger_q_usage_close(out);
    return rc;
}

int ledger_q_usage(struct ledger_rtxn *r, const uint8_t usage_id[static LEDGER_HASH_LEN],
                   struct ledger_q_usage *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t t;
    int rc = tip_time(r, &t);
    return rc != 0 ? rc : usage_load(r, usage_id, t, out);
}

void ledger_q_usage_close(struct ledger_q_usage *u)
{
    if (u->rec != NULL)
        sealchain__usage_record__free_unpacked(u->rec, NULL);
    memset(u, 0, sizeof(*u));
}

/* Index scan: keys under prefix name usage ids, in the key (for 'D') or the
 * value (for 'E'). */
struct ulist {
    struct ledger_rtxn *r;
    struct ledger_q_usages *out;
    size_t limit;
    uint64_t t;
    bool id_in_key;
    int rc;
};

static int ulist_one(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                     size_t val_len)
{
    struct ulist *l = arg;
    if (l->out->count == l->limit) {
        l->out->more = true;
        return 1;
    }
    const uint8_t *id = l->id_in_key ? key + key_len - LEDGER_HASH_LEN : val;
    if ((l->id_in_key ? key_len : val_len) < LEDGER_HASH_LEN) {
        l->rc = LEDGER_E_MALFORMED;
        return 1;
    }
    struct ledger_q_usage *u = &l->out->items[l->out->count];
    l->rc = usage_load(l->r, id, l->t, u);
    if (l->rc == LEDGER_E_NOT_FOUND)
        l->rc = LEDGER_E_MALFORMED; /* an index entry without its record */
    if (l->rc != 0)
        return 1;
    l->out->count++;
    return 0;
}

static int usages_scan(struct ledger_rtxn *r, const uint8_t *prefix, size_t prefix_len,
                       bool id_in_key, size_t limit, struct ledger_q_usages *out)
{
    memset(out, 0, sizeof(*out));
    if (limit == 0 || limit > LEDGER_Q_LIST_MAX)
        limit = LEDGER_Q_LIST_MAX;
    out->items = calloc(limit, sizeof(*out->items));
    if (out->items == NULL)
        return LEDGER_E_NOMEM;
    struct ulist l = { .r = r, .out = out, .limit = limit, .id_in_key = id_in_key };
    int rc = tip_time(r, &l.t);
    if (rc == 0)
        rc = ledger_rtxn_state_scan(r, prefix, prefix_len, ulist_one, &l);
    if (l.rc != 0)
        rc = l.rc;
    else if (rc == 1)
        rc = 0;
    if (rc != 0)
        ledger_q_usages_close(out);
    return rc;
}

int ledger_q_usages_by_doc(struct ledger_rtxn *r, const uint8_t doc_hash[static LEDGER_HASH_LEN],
                           size_t limit, struct ledger_q_usages *out)
{
    KEY_ID(prefix, LEDGER_K_DOC, doc_hash);
    return usages_scan(r, prefix, sizeof(prefix), true, limit, out);
}

/* 'E' ‖ seal_id ‖ height ‖ index -> usage id: a range scan from
 * 'E' ‖ seal_id ‖ from_height, so paging costs nothing for skipped uses. */
int ledger_q_usages_by_seal(struct ledger_rtxn *r, const uint8_t seal_id[static LEDGER_HASH_LEN],
                            uint64_t from_height, size_t limit, struct ledger_q_usages *out)
{
    memset(out, 0, sizeof(*out));
    if (limit == 0 || limit > LEDGER_Q_LIST_MAX)
        limit = LEDGER_Q_LIST_MAX;
    out->items = calloc(limit, sizeof(*out->items));
    if (out->items == NULL)
        return LEDGER_E_NOMEM;
    struct ulist l = { .r = r, .out = out, .limit = limit, .id_in_key = false };
    uint8_t start[1 + LEDGER_HASH_LEN + 8] = { LEDGER_K_SEAL_USAGES };
    memcpy(start + 1, seal_id, LEDGER_HASH_LEN);
    ledger_put_u64be(start + 1 + LEDGER_HASH_LEN, from_height);
    int rc = tip_time(r, &l.t);
    if (rc == 0)
        rc = ledger_rtxn_state_range(r, start, 1 + LEDGER_HASH_LEN, start, sizeof(start), ulist_one,
                                     &l);
    if (l.rc != 0)
        rc = l.rc;
    else if (rc == 1)
        rc = 0;
    if (rc != 0)
        ledger_q_usages_close(out);
    return rc;
}

void ledger_q_usages_close(struct ledger_q_usages *u)
{
    for (size_t i = 0; u->items != NULL && i < u->count; i++)
        ledger_q_usage_close(&u->items[i]);
    free(u->items);
    memset(u, 0, sizeof(*u));
}
