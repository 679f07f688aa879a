/* The mempool's view of state: waiting transactions applied over committed state. */
#include "ledger/mempool.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/exec.h"

struct ledger_mempool {
    const struct ledger_genesis *g;
    struct ledger_store *s;
    struct ledger_state_base base; /* reads through rt, open only during an admission */
    struct ledger_rtxn *rt;
    struct ledger_exec *ex; /* NULL: nothing waiting */
    /* The admitted transactions in order (a write's writer is its index) and
     * whether each has left (ledger_mempool_forget); reset with ex. */
    struct admitted {
        uint8_t id[LEDGER_HASH_LEN];
        bool gone;
    } * txs;
    size_t n_txs, cap_txs, live;
    /* Ids forgotten but not yet dropped from the view: dropping rebuilds the
     * overlay's table, so it waits until they are as many as those still
     * waiting (the view then holds at most twice what waits). */
    uint8_t (*pend)[LEDGER_HASH_LEN];
    size_t n_pend, cap_pend;
};

static int base_get(void *ctx, const uint8_t *key, size_t key_len, const uint8_t **out_val,
                    size_t *out_val_len)
{
    struct ledger_mempool *m = ctx;
    struct ledger_state_base b;
    ledger_rtxn_base(m->rt, &b);
    return b.get(b.ctx, key, key_len, out_val, out_val_len);
}

struct ledger_mempool *ledger_mempool_new(const struct ledger_genesis *g, struct ledger_store *s)
{
    struct ledger_mempool *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->g = g;
    m->s = s;
    m->base = (struct ledger_state_base){ m, base_get };
    return m;
}

void ledger_mempool_free(struct ledger_mempool *m)
{
    if (m == NULL)
        return;
    ledger_exec_free(m->ex);
    free(m->txs);
    free(m->pend);
    free(m);
}

void ledger_mempool_clear(struct ledger_mempool *m)
{
    ledger_exec_free(m->ex);
    m->ex = NULL;
    m->n_txs = m->live = m->n_pend = 0;
}

size_t ledger_mempool_count(const struct ledger_mempool *m)
{
    return m->ex != NULL ? m->live : 0;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, LEDGER_HASH_LEN);
}

static bool writer_gone(void *ctx, uint32_t writer)
{
    const struct ledger_mempool *m = ctx;
    return writer < m->n_txs && m->txs[writer].gone;
}

int ledger_mempool_forget(struct ledger_mempool *m, const uint8_t (*ids)[LEDGER_HASH_LEN], size_t n)
{
    if (m->ex == NULL || n == 0)
        return 0;
    if (m->n_pend + n > m->cap_pend) {
        size_t cap = m->cap_pend ? m->cap_pend : 1024;
        while (cap < m->n_pend + n)
            cap *= 2;
        void *pend = realloc(m->pend, cap * LEDGER_HASH_LEN);
        if (pend == NULL) {
            ledger_mempool_clear(m);
            return LEDGER_E_NOMEM;
        }
        m->pend = pend;
        m->cap_pend = cap;
    }
    memcpy(m->pend[m->n_pend], ids, n * LEDGER_HASH_LEN);
    m->n_pend += n;
    /* live counts the pending ones too (most of them are in the view) */
    if (2 * m->n_pend < m->live)
        return 0;
    qsort(m->pend, m->n_pend, LEDGER_HASH_LEN, cmp_id);
    bool any = false;
    for (size_t i = 0; i < m->n_txs; i++) {
        struct admitted *t = &m->txs[i];
        if (!t->gone && bsearch(t->id, m->pend, m->n_pend, LEDGER_HASH_LEN, cmp_id) != NULL) {
            t->gone = true;
            m->live--;
            any = true;
        }
    }
    m->n_pend = 0;
    if (!any)
        return 0;
    if (m->live == 0) {
        ledger_mempool_clear(m); /* nothing waits: start afresh */
        return 0;
    }
    int rc = ledger_overlay_forget(ledger_exec_overlay(m->ex), writer_gone, m);
    if (rc != 0)
        ledger_mempool_clear(m); /* the view cannot be trusted half-forgotten */
    return rc;
}

int ledger_mempool_admit(struct ledger_mempool *m, const uint8_t *tx, size_t tx_len,
                         const uint8_t *known_id, uint64_t now_ms, char *errmsg, size_t errmsg_len)
{
    struct ledger_tip tip;
    ledger_store_tip(m->s, &tip);
    if (m->ex == NULL && (m->ex = ledger_exec_new(m->g, &m->base, tip.height + 1, now_ms)) == NULL)
        return LEDGER_E_NOMEM;
    ledger_exec_mempool(m->ex, tip.height + 1, now_ms);
    if (m->n_txs == m->cap_txs) {
        size_t cap = m->cap_txs ? m->cap_txs * 2 : 1024;
        struct admitted *txs = realloc(m->txs, cap * sizeof(*txs));
        if (txs == NULL)
            return LEDGER_E_NOMEM;
        m->txs = txs;
        m->cap_txs = cap;
    }
    ledger_overlay_set_writer(ledger_exec_overlay(m->ex), (uint32_t)m->n_txs);
    int rc = ledger_rtxn_begin(m->s, &m->rt);
    if (rc != 0) {
        if (errmsg != NULL && errmsg_len > 0)
            snprintf(errmsg, errmsg_len, "%s", ledger_store_errmsg(m->s));
        return rc;
    }
    struct admitted *t = &m->txs[m->n_txs];
    ledger_exec_known(m->ex, known_id, NULL);
    rc = ledger_exec_tx(m->ex, tx, tx_len, t->id, errmsg, errmsg_len);
    ledger_rtxn_end(m->rt);
    m->rt = NULL;
    if (rc == LEDGER_E_NOMEM)
        ledger_mempool_clear(m); /* an apply may have stopped half-way: start afresh */
    if (rc == 0) {
        t->gone = false;
        m->n_txs++;
        m->live++;
    }
    return rc;
}
