/* Internal: the signature checks of a certified block, made on every core at once. */
#ifndef SEALCHAIN_LEDGER_SIGBATCH_H
#define SEALCHAIN_LEDGER_SIGBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/exec.h"

/* One listed check: the tx it belongs to, and its payload as a slice of the
 * batch's arena (jobs keep offsets, so the arena may move as it grows). */
struct ledger__sigbatch_job {
    uint32_t tx;
    int tag, code;
    uint8_t key[LEDGER_KEY_LEN];
    uint8_t sig[LEDGER_SIG_LEN];
    size_t off, len;
};

/* The checks of one block (ledger_exec_tx_deferred lists them per tx).
 * Zero-initialised is empty; owns its arrays (ledger__sigbatch_free). */
struct ledger__sigbatch {
    struct ledger__sigbatch_job *jobs;
    size_t n, cap;
    uint8_t *arena;
    size_t used, arena_cap;
};

/* Appends the checks of tx number tx. Returns 0 or LEDGER_E_NOMEM. */
int ledger__sigbatch_add(struct ledger__sigbatch *b, const struct ledger_sigjobs *jobs,
                         uint32_t tx);

/* Makes every check, split over one thread per online core (this thread
 * among them; below a few dozen checks, only this one). Returns 0, or the
 * refusal of the failing check of the lowest tx index, that index in
 * *out_tx. Pure but for the threads it starts and joins. */
int ledger__sigbatch_verify(const struct ledger__sigbatch *b,
                            const uint8_t genesis[static LEDGER_HASH_LEN], uint32_t *out_tx);

/* Empties b, keeping its memory. */
void ledger__sigbatch_reset(struct ledger__sigbatch *b);
void ledger__sigbatch_free(struct ledger__sigbatch *b);

#endif
