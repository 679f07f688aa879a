/* sealctl: what the transaction commands share (a signing key and a connection). */
#ifndef SEALCHAIN_NODE_SEALCTL_TX_H
#define SEALCHAIN_NODE_SEALCTL_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/keyfile.h"
#include "node/sealctl.h"

struct sealctl_txctx {
    struct node_key key; /* --key */
    struct sealctl_conn c;
};

/* A body's valid_until: an hour from now. */
uint64_t sealctl_valid_until(void);

/* Loads --key (exit 2 when missing, unreadable or open to others) and
 * connects (exit 3). Returns 0 or the exit code (printed). */
int sealctl_tx_begin(struct sealctl *s, struct sealctl_txctx *t);
void sealctl_tx_end(struct sealctl_txctx *t);

/* Submits tx (owned, freed) built with build_rc, prints the result with
 * id_field (may be NULL) set to the tx id and extra's fields (stolen; may be
 * NULL), ends t and returns the exit code. */
int sealctl_tx_finish(struct sealctl *s, struct sealctl_txctx *t, int build_rc, uint8_t *tx,
                      size_t len, bool wait, const char *id_field, json_t *extra);

/* The seal's record, history and grants (a seal reply in *out, owned).
 * Returns 0 or an exit code (printed). */
int sealctl_fetch_seal(struct sealctl *s, struct sealctl_conn *c, const uint8_t id[static 32],
                       Sealchain__ApiReply **out);

/* The use's status now ("pending" when it is not on chain yet). */
const char *sealctl_usage_status(struct sealctl *s, struct sealctl_conn *c,
                                 const uint8_t usage[static 32]);

#endif
