/* Merkle tree over a block's transactions (RFC 6962-style domain separation). */
#include "ledger/merkle.h"

#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"

/* A tree deeper than LEDGER_MERKLE_MAX_DEPTH would need more than 2^32 leaves;
 * refusing such counts keeps every path within the documented bound. */
#define MAX_LEAVES ((size_t)1 << LEDGER_MERKLE_MAX_DEPTH)

static void hash_leaf(const uint8_t id[static LEDGER_HASH_LEN], uint8_t out[static LEDGER_HASH_LEN])
{
    uint8_t buf[1 + LEDGER_HASH_LEN];
    buf[0] = 0x00;
    memcpy(buf + 1, id, LEDGER_HASH_LEN);
    ledger_sha256(buf, sizeof buf, out);
}

static void hash_node(const uint8_t left[static LEDGER_HASH_LEN],
                      const uint8_t right[static LEDGER_HASH_LEN],
                      uint8_t out[static LEDGER_HASH_LEN])
{
    uint8_t buf[1 + 2 * LEDGER_HASH_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, left, LEDGER_HASH_LEN);
    memcpy(buf + 1 + LEDGER_HASH_LEN, right, LEDGER_HASH_LEN);
    ledger_sha256(buf, sizeof buf, out);
}

/* Replaces the width hashes of one level in lv by the next level's, in place.
 * Returns the new width. An odd last node is promoted unchanged. */
static size_t next_level(uint8_t (*lv)[LEDGER_HASH_LEN], size_t width)
{
    size_t out = 0;
    for (size_t i = 0; i + 1 < width; i += 2)
        hash_node(lv[i], lv[i + 1], lv[out++]);
    if (width % 2 == 1)
        memmove(lv[out++], lv[width - 1], LEDGER_HASH_LEN);
    return out;
}

static uint8_t (*leaf_level(const uint8_t (*ids)[LEDGER_HASH_LEN], size_t count))[LEDGER_HASH_LEN]
{
    uint8_t(*lv)[LEDGER_HASH_LEN] = malloc(count * LEDGER_HASH_LEN);
    if (lv == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++)
        hash_leaf(ids[i], lv[i]);
    return lv;
}

void ledger_merkle_tx_leaf(const uint8_t *tx, size_t tx_len, uint8_t out[static LEDGER_HASH_LEN])
{
    ledger_sha256(tx, tx_len, out);
}

int ledger_merkle_root(const uint8_t (*ids)[LEDGER_HASH_LEN], size_t count,
                       uint8_t root[static LEDGER_HASH_LEN])
{
    if (count == 0) {
        ledger_sha256(NULL, 0, root);
        return 0;
    }
    if (count > MAX_LEAVES)
        return LEDGER_E_INVALID;
    uint8_t(*lv)[LEDGER_HASH_LEN] = leaf_level(ids, count);
    if (lv == NULL)
        return LEDGER_E_NOMEM;
    for (size_t width = count; width > 1;)
        width = next_level(lv, width);
    memcpy(root, lv[0], LEDGER_HASH_LEN);
    free(lv);
    return 0;
}

int ledger_merkle_path(const uint8_t (*ids)[LEDGER_HASH_LEN], size_t count, size_t index,
                       uint8_t (*path)[LEDGER_HASH_LEN], size_t *out_len)
{
    if (index >= count || count > MAX_LEAVES)
        return LEDGER_E_INVALID;
    uint8_t(*lv)[LEDGER_HASH_LEN] = leaf_level(ids, count);
    if (lv == NULL)
        return LEDGER_E_NOMEM;
    size_t n = 0;
    for (size_t width = count, i = index; width > 1; i /= 2) {
        /* The last node of an odd level has no sibling: it is promoted. */
        if (!(i == width - 1 && width % 2 == 1))
            memcpy(path[n++], lv[i ^ 1], LEDGER_HASH_LEN);
        width = next_level(lv, width);
    }
    free(lv);
    *out_len = n;
    return 0;
}

int ledger_merkle_verify(const uint8_t id[static LEDGER_HASH_LEN], size_t index, size_t count,
                         const uint8_t (*path)[LEDGER_HASH_LEN], size_t path_len,
                         const uint8_t root[static LEDGER_HASH_LEN])
{
    if (count == 0 || index >= count || count > MAX_LEAVES || path_len > LEDGER_MERKLE_MAX_DEPTH)
        return LEDGER_E_BAD_PROOF;
    uint8_t h[LEDGER_HASH_LEN];
    hash_leaf(id, h);
    size_t used = 0;
    /* The shape of the tree follows from (index, count) alone, so the path
     * must have exactly one sibling per non-promoted level: a path that is
     * too short, too long, or meant for another position does not fit. */
    for (size_t width = count, i = index; width > 1; width = (width + 1) / 2, i /= 2) {
        if (i == width - 1 && width % 2 == 1)
            continue;
        if (used == path_len)
            return LEDGER_E_BAD_PROOF;
        if (i % 2 == 0)
            hash_node(h, path[used], h);
        else
            hash_node(path[used], h, h);
        used++;
    }
    if (used != path_len || memcmp(h, root, LEDGER_HASH_LEN) != 0)
        return LEDGER_E_BAD_PROOF;
    return 0;
}
