/* Opening a block once: strict decoding, header hash, body against the header (internal). */
#ifndef SEALCHAIN_LEDGER_BLOCK_H
#define SEALCHAIN_LEDGER_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"
#include "proto/block.pb-c.h"

/*
 * An opened block: the one step every path takes before it looks at a block
 * (consensus's digest check, a backup's validation, commit, sync). Opening
 * decodes the Block strictly, decodes and hashes its header, and checks the
 * body against the header's tx count and tx root; nothing after it decodes
 * the block or recomputes its tx root again. The bytes are kept (a copy) so
 * that a later call handed the same bytes can find this opening by
 * comparing them, which costs far less than opening again.
 */
struct ledger__block {
    uint8_t *bytes; /* owned copy of the encoded Block */
    size_t len;
    Sealchain__Block *b; /* owned; NULL once no longer needed (executed) */
    /* owned, with b: each tx's ledger_merkle_tx_leaf (computed for the tx root;
     * execution takes them instead of hashing each tx again) */
    uint8_t (*leaves)[LEDGER_HASH_LEN];
    struct ledger_header hdr;
};

/* Opens block[0..len) into *out (zeroed first). Returns 0, LEDGER_E_TOO_LARGE,
 * LEDGER_E_MALFORMED, LEDGER_E_BAD_TX_ROOT (tx count or tx root differ from
 * the header's; the reason in errmsg) or LEDGER_E_NOMEM; on failure *out
 * holds nothing to free. errmsg may be NULL. */
int ledger__block_open(const uint8_t *block, size_t len, struct ledger__block *out, char *errmsg,
                       size_t errmsg_len);

/* True when o was opened from exactly these bytes. */
bool ledger__block_same(const struct ledger__block *o, const uint8_t *block, size_t len);

/* Frees the decoded body, keeping bytes and header. */
void ledger__block_drop_body(struct ledger__block *o);

/* Frees the decoded body and the bytes, keeping the header (a synced block
 * once executed: the next block of the batch only needs its header). */
void ledger__block_keep_header(struct ledger__block *o);

/* Frees what o holds and zeroes it; a zeroed o is a no-op. */
void ledger__block_close(struct ledger__block *o);

#endif
