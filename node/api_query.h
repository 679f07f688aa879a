/* The operator socket's read-only requests, answered from the ledger's committed state. */
#ifndef SEALCHAIN_NODE_API_QUERY_H
#define SEALCHAIN_NODE_API_QUERY_H

#include <stdbool.h>

#include "ledger/ledger.h"
#include "proto/api.pb-c.h"

/* Sends r (borrowed for the call: pack it before returning) to the client
 * that asked. */
typedef void (*node_apiq_send_fn)(void *ctx, Sealchain__ApiReply *r);

/*
 * Answers q (borrowed) when it is a query - block, tx, org, seal, usage,
 * verify or proof - by calling send exactly once, and returns true; returns
 * false (send not called) for any other request. Each answer reads one
 * snapshot of l's committed state; lists are capped at LEDGER_Q_LIST_MAX and
 * a proof bundle at LEDGER_PROOF_MAX_LEN, so every reply stays far below
 * NODE_CLIENT_REPLY_MAX. Wrong-sized ids are BAD_REQUEST, what is not on
 * chain REFUSED (with the ledger's code), a store error UNAVAILABLE.
 */
bool node_apiq_answer(struct ledger *l, const Sealchain__ApiRequest *q, node_apiq_send_fn send,
                      void *ctx);

#endif
