/* libFuzzer harness for the consensus core's decoders: peer messages and snapshots.
 *
 * Built and run by `make fuzz`. Signatures always verify here, so inputs
 * reach the handlers behind the signature check, not only the decoders.
 * The first byte picks the target: a RECEIVE from a peer into a running
 * replica, or a START from a snapshot. Every call must return without
 * crashing, leaking or reading out of bounds. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "consensus/pbft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(void *ctx, enum pbft_sig_kind kind, const uint8_t *payload, size_t len,
                uint8_t sig[PBFT_SIG_SIZE])
{
    (void)ctx, (void)kind, (void)payload, (void)len;
    memset(sig, 0, PBFT_SIG_SIZE);
    return 0;
}

static bool verify(void *ctx, enum pbft_sig_kind kind, unsigned signer, const uint8_t *payload,
                   size_t len, const uint8_t sig[PBFT_SIG_SIZE])
{
    (void)ctx, (void)kind, (void)signer, (void)payload, (void)len, (void)sig;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct pbft_config cfg = {
        .n = 4,
        .self = data[1] % 4,
        .crypto = { NULL, sign, verify, NULL },
        .max_payload = 1 << 16,
    };
    struct pbft *r;
    if (pbft_new(&cfg, &r) != 0)
        return 0;
    struct pbft_update up;
    struct pbft_event ev = { .type = PBFT_EV_START, .now = 1000 };
    if (data[0] & 1) {
        ev.start.snapshot = data + 2;
        ev.start.snapshot_len = size - 2;
        (void)pbft_step(r, &ev, &up);
    } else if (pbft_step(r, &ev, &up) == 0) {
        /* Several messages: [len u16 | bytes] ..., each from data[1]'s peer. */
        size_t off = 2;
        while (off + 2 <= size) {
            size_t len = (size_t)data[off] << 8 | data[off + 1];
            off += 2;
            if (len > size - off)
                len = size - off;
            struct pbft_event rx = { .type = PBFT_EV_RECEIVE, .now = 1000 + off };
            rx.receive.from = (unsigned)(data[off - 1] % 4);
            rx.receive.bytes = data + off;
            rx.receive.len = len;
            (void)pbft_step(r, &rx, &up);
            off += len;
        }
    }
    pbft_free(r);
    return 0;
}
