/* The mempool's view of state: waiting transactions applied over committed state. */
#include "ledger/mempool.h"

#include <stdio.h>
#include <stdlib.h>

#include "ledger/err.h"
#include "ledger/exec.h"

struct ledger_mempool {
    const struct ledger_genesis *g;
    struct ledger_store *s;
    struct ledger_state_base base; /* reads through rt, open only during an admission */
    struct ledger_rtxn *rt;
    struct ledger_exec *ex; /* NULL: nothing waiting */
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
    free(m);
}

void ledger_mempool_clear(struct ledger_mempool *m)
{
    ledger_exec_free(m->ex);
    m->ex = NULL;
}

size_t ledger_mempool_count(const struct ledger_mempool *m)
{
    return m->ex != NULL ? ledger_exec_count(m->ex) : 0;
}

int ledger_mempool_admit(struct ledger_mempool *m, const uint8_t *tx, size_t tx_len,
                         const uint8_t *known_id, uint64_t now_ms, char *errmsg, size_t errmsg_len)
{
    struct ledger_tip tip;
    ledger_store_tip(m->s, &tip);
    if (m->ex == NULL && (m->ex = ledger_exec_new(m->g, &m->base, tip.height + 1, now_ms)) == NULL)
        return LEDGER_E_NOMEM;
    ledger_exec_mempool(m->ex, tip.height + 1, now_ms);
    int rc = ledger_rtxn_begin(m->s, &m->rt);
    if (rc != 0) {
        if (errmsg != NULL && errmsg_len > 0)
            snprintf(errmsg, errmsg_len, "%s", ledger_store_errmsg(m->s));
        return rc;
    }
    ledger_exec_known(m->ex, known_id, NULL);
    rc = ledger_exec_tx(m->ex, tx, tx_len, NULL, errmsg, errmsg_len);
    ledger_rtxn_end(m->rt);
    m->rt = NULL;
    if (rc == LEDGER_E_NOMEM)
        ledger_mempool_clear(m); /* an apply may have stopped half-way: start afresh */
    return rc;
}
