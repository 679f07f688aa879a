/* Merkle tree over a block's transactions, with inclusion proofs. */
#ifndef SEALCHAIN_LEDGER_MERKLE_H
#define SEALCHAIN_LEDGER_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"

/*
 * Domain-separated (RFC 6962 style), so a leaf can never pass for a node:
 *   leaf = SHA-256(0x00 ‖ value), node = SHA-256(0x01 ‖ left ‖ right),
 *   where a block's values are ledger_merkle_tx_leaf() of its txs.
 * An odd node at the end of a level is promoted unchanged (no duplication,
 * so no CVE-2012-2459-style second tree with the same root).
 * The root of zero leaves is SHA-256 of the empty string.
 */
#define LEDGER_MERKLE_MAX_DEPTH 32

/* The value a block's tx tree is built over for one encoded Tx: SHA-256 of
 * the whole envelope (body, signer, signature), not the tx id (the body's
 * hash). So a block hash commits to every signature and signer in it, and
 * nobody relaying a block can swap one (a block with a forged signature under
 * an honest header would make honest nodes that received it refuse, or
 * diverge on, a certified block). Transactions are canonically encoded
 * (ledger/tx.h), so the bytes are well defined. */
void ledger_merkle_tx_leaf(const uint8_t *tx, size_t tx_len, uint8_t out[static LEDGER_HASH_LEN]);

/* Root over count values (ids[i] is 32 bytes, ledger_merkle_tx_leaf for a block). Returns 0 or
 * LEDGER_E_NOMEM. */
int ledger_merkle_root(const uint8_t (*ids)[LEDGER_HASH_LEN], size_t count,
                       uint8_t root[static LEDGER_HASH_LEN]);

/* Inclusion path for leaf index of count: sibling hashes leaf to root
 * (levels where the node was promoted contribute no sibling). Writes at most
 * LEDGER_MERKLE_MAX_DEPTH hashes into path and their number to *out_len.
 * Returns 0, LEDGER_E_INVALID (index >= count) or LEDGER_E_NOMEM. */
int ledger_merkle_path(const uint8_t (*ids)[LEDGER_HASH_LEN], size_t count, size_t index,
                       uint8_t (*path)[LEDGER_HASH_LEN], size_t *out_len);

/* Checks that id is leaf index of a count-leaf tree with this root.
 * Returns 0 or LEDGER_E_BAD_PROOF. */
int ledger_merkle_verify(const uint8_t id[static LEDGER_HASH_LEN], size_t index, size_t count,
                         const uint8_t (*path)[LEDGER_HASH_LEN], size_t path_len,
                         const uint8_t root[static LEDGER_HASH_LEN]);

#endif
