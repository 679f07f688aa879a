/* Merkle tree: every leaf of trees of 1..100 leaves proves; tampered proofs fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/crypto.h"
#include "ledger/err.h"
#include "ledger/merkle.h"

#define MAXN 100

/* C11 does not convert uint8_t (*)[32] to const uint8_t (*)[32] implicitly. */
#define CH(x) ((const uint8_t(*)[LEDGER_HASH_LEN])(x))

static uint8_t ids[MAXN][LEDGER_HASH_LEN];

static int setup(void **state)
{
    (void)state;
    ledger_crypto_init();
    for (int i = 0; i < MAXN; i++) {
        uint8_t seed[4] = { (uint8_t)i, 0x5e, 0xa1, 0x00 };
        ledger_sha256(seed, sizeof seed, ids[i]);
    }
    return 0;
}

struct proof {
    uint8_t root[LEDGER_HASH_LEN];
    uint8_t path[LEDGER_MERKLE_MAX_DEPTH + 1][LEDGER_HASH_LEN];
    size_t len;
};

static void make_proof(size_t count, size_t index, struct proof *p)
{
    assert_int_equal(ledger_merkle_root(CH(ids), count, p->root), 0);
    assert_int_equal(ledger_merkle_path(CH(ids), count, index, p->path, &p->len), 0);
}

static void every_leaf_of_trees_of_1_to_100_leaves_verifies(void **state)
{
    (void)state;
    for (size_t count = 1; count <= MAXN; count++) {
        for (size_t i = 0; i < count; i++) {
            struct proof p;
            make_proof(count, i, &p);
            assert_true(p.len <= LEDGER_MERKLE_MAX_DEPTH);
            assert_int_equal(ledger_merkle_verify(ids[i], i, count, CH(p.path), p.len, p.root), 0);
        }
    }
}

static void a_single_leaf_root_is_the_leaf_hash_and_empty_root_is_sha256_of_nothing(void **state)
{
    (void)state;
    uint8_t root[LEDGER_HASH_LEN], want[LEDGER_HASH_LEN], buf[1 + LEDGER_HASH_LEN];
    assert_int_equal(ledger_merkle_root(CH(ids), 0, root), 0);
    ledger_sha256(NULL, 0, want);
    assert_memory_equal(root, want, LEDGER_HASH_LEN);
    assert_int_equal(ledger_merkle_root(CH(ids), 1, root), 0);
    buf[0] = 0;
    memcpy(buf + 1, ids[0], LEDGER_HASH_LEN);
    ledger_sha256(buf, sizeof buf, want);
    assert_memory_equal(root, want, LEDGER_HASH_LEN);
}

static void a_three_leaf_root_promotes_the_odd_leaf_without_duplicating_it(void **state)
{
    (void)state;
    uint8_t l[3][LEDGER_HASH_LEN], n01[LEDGER_HASH_LEN], want[LEDGER_HASH_LEN], root[32];
    uint8_t buf[1 + 2 * LEDGER_HASH_LEN];
    for (int i = 0; i < 3; i++) {
        buf[0] = 0;
        memcpy(buf + 1, ids[i], LEDGER_HASH_LEN);
        ledger_sha256(buf, 1 + LEDGER_HASH_LEN, l[i]);
    }
    buf[0] = 1;
    memcpy(buf + 1, l[0], 32);
    memcpy(buf + 33, l[1], 32);
    ledger_sha256(buf, sizeof buf, n01);
    memcpy(buf + 1, n01, 32);
    memcpy(buf + 33, l[2], 32);
    ledger_sha256(buf, sizeof buf, want);
    assert_int_equal(ledger_merkle_root(CH(ids), 3, root), 0);
    assert_memory_equal(root, want, LEDGER_HASH_LEN);
    /* Duplicating the odd leaf (Bitcoin's rule) must give another root. */
    uint8_t four[4][LEDGER_HASH_LEN];
    memcpy(four, ids, 3 * LEDGER_HASH_LEN);
    memcpy(four[3], ids[2], LEDGER_HASH_LEN);
    assert_int_equal(ledger_merkle_root((const uint8_t(*)[LEDGER_HASH_LEN])four, 4, want), 0);
    assert_memory_not_equal(root, want, LEDGER_HASH_LEN);
}

static void a_flipped_bit_in_any_sibling_fails(void **state)
{
    (void)state;
    for (size_t count = 2; count <= 33; count++) {
        for (size_t i = 0; i < count; i++) {
            struct proof p;
            make_proof(count, i, &p);
            for (size_t k = 0; k < p.len; k++) {
                p.path[k][k % LEDGER_HASH_LEN] ^= 0x01;
                assert_int_equal(ledger_merkle_verify(ids[i], i, count, CH(p.path), p.len, p.root),
                                 LEDGER_E_BAD_PROOF);
                p.path[k][k % LEDGER_HASH_LEN] ^= 0x01;
            }
        }
    }
}

static void a_wrong_index_fails(void **state)
{
    (void)state;
    for (size_t count = 2; count <= 40; count++) {
        for (size_t i = 0; i < count; i++) {
            struct proof p;
            make_proof(count, i, &p);
            for (size_t j = 0; j < count + 2; j++) {
                if (j == i)
                    continue;
                assert_int_equal(ledger_merkle_verify(ids[i], j, count, CH(p.path), p.len, p.root),
                                 LEDGER_E_BAD_PROOF);
            }
        }
    }
}

/* The root alone does not commit to the leaf count (the 3-leaf root is also
 * the root of a 2-leaf tree whose second leaf is the inner node of the first
 * two), which is why a block header carries tx_count and proofs are checked
 * against it. What must hold: a count under which this leaf's path has
 * another length or other sides does not verify. */
static void a_wrong_leaf_count_that_changes_the_path_shape_fails(void **state)
{
    (void)state;
    size_t refused = 0;
    for (size_t count = 1; count <= 40; count++) {
        for (size_t i = 0; i < count; i++) {
            struct proof p;
            make_proof(count, i, &p);
            for (size_t c = 0; c <= 2 * count + 1; c++) {
                if (c == count)
                    continue;
                struct proof q;
                if (c > i && c <= MAXN) {
                    make_proof(c, i, &q);
                    if (q.len == p.len)
                        continue;
                }
                assert_int_equal(ledger_merkle_verify(ids[i], i, c, CH(p.path), p.len, p.root),
                                 LEDGER_E_BAD_PROOF);
                refused++;
            }
        }
    }
    assert_true(refused > 1000);
    /* Concretely: leaf 0 of 5 (path of 3) claimed as leaf 0 of 2 or of 9. */
    struct proof p;
    make_proof(5, 0, &p);
    assert_int_equal(ledger_merkle_verify(ids[0], 0, 2, CH(p.path), p.len, p.root),
                     LEDGER_E_BAD_PROOF);
    assert_int_equal(ledger_merkle_verify(ids[0], 0, 9, CH(p.path), p.len, p.root),
                     LEDGER_E_BAD_PROOF);
}

static void a_truncated_or_extended_path_fails(void **state)
{
    (void)state;
    for (size_t count = 1; count <= 50; count++) {
        for (size_t i = 0; i < count; i++) {
            struct proof p;
            make_proof(count, i, &p);
            if (p.len > 0)
                assert_int_equal(
                    ledger_merkle_verify(ids[i], i, count, CH(p.path), p.len - 1, p.root),
                    LEDGER_E_BAD_PROOF);
            memcpy(p.path[p.len], ids[0], LEDGER_HASH_LEN);
            assert_int_equal(ledger_merkle_verify(ids[i], i, count, CH(p.path), p.len + 1, p.root),
                             LEDGER_E_BAD_PROOF);
            /* Extending with the root itself must not help either. */
            memcpy(p.path[p.len], p.root, LEDGER_HASH_LEN);
            assert_int_equal(ledger_merkle_verify(ids[i], i, count, CH(p.path), p.len + 1, p.root),
                             LEDGER_E_BAD_PROOF);
        }
    }
}

static void swapped_siblings_fail(void **state)
{
    (void)state;
    for (size_t count = 3; count <= 40; count++) {
        for (size_t i = 0; i < count; i++) {
            struct proof p;
            make_proof(count, i, &p);
            for (size_t k = 0; k + 1 < p.len; k++) {
                uint8_t tmp[LEDGER_HASH_LEN];
                memcpy(tmp, p.path[k], LEDGER_HASH_LEN);
                memcpy(p.path[k], p.path[k + 1], LEDGER_HASH_LEN);
                memcpy(p.path[k + 1], tmp, LEDGER_HASH_LEN);
                assert_int_equal(ledger_merkle_verify(ids[i], i, count, CH(p.path), p.len, p.root),
                                 LEDGER_E_BAD_PROOF);
                memcpy(p.path[k + 1], p.path[k], LEDGER_HASH_LEN);
                memcpy(p.path[k], tmp, LEDGER_HASH_LEN);
            }
        }
    }
}

/* An inner node offered as a leaf (with the rest of the path) must fail:
 * leaves hash with 0x00 and nodes with 0x01. */
static void an_inner_node_cannot_pass_as_a_leaf(void **state)
{
    (void)state;
    for (size_t count = 4; count <= 64; count *= 2) {
        struct proof p;
        make_proof(count, 0, &p);
        uint8_t l0[LEDGER_HASH_LEN], l1[LEDGER_HASH_LEN], node[LEDGER_HASH_LEN];
        uint8_t buf[1 + 2 * LEDGER_HASH_LEN];
        buf[0] = 0;
        memcpy(buf + 1, ids[0], 32);
        ledger_sha256(buf, 33, l0);
        memcpy(buf + 1, ids[1], 32);
        ledger_sha256(buf, 33, l1);
        buf[0] = 1;
        memcpy(buf + 1, l0, 32);
        memcpy(buf + 33, l1, 32);
        ledger_sha256(buf, sizeof buf, node);
        /* node is the parent of leaves 0 and 1: as leaf 0 of a half-size tree
         * its path is the original path minus the first sibling. */
        assert_int_equal(
            ledger_merkle_verify(node, 0, count / 2, CH(p.path + 1), p.len - 1, p.root),
            LEDGER_E_BAD_PROOF);
        assert_int_equal(ledger_merkle_verify(node, 0, count, CH(p.path + 1), p.len - 1, p.root),
                         LEDGER_E_BAD_PROOF);
    }
}

static void path_refuses_an_index_out_of_range_and_verify_refuses_over_deep_paths(void **state)
{
    (void)state;
    uint8_t path[LEDGER_MERKLE_MAX_DEPTH + 2][LEDGER_HASH_LEN] = { { 0 } };
    uint8_t root[LEDGER_HASH_LEN];
    size_t len;
    assert_int_equal(ledger_merkle_path(CH(ids), 5, 5, path, &len), LEDGER_E_INVALID);
    assert_int_equal(ledger_merkle_path(CH(ids), 0, 0, path, &len), LEDGER_E_INVALID);
    assert_int_equal(ledger_merkle_root(CH(ids), 1, root), 0);
    assert_int_equal(ledger_merkle_verify(ids[0], 0, 0, CH(path), 0, root), LEDGER_E_BAD_PROOF);
    assert_int_equal(
        ledger_merkle_verify(ids[0], 0, 1, CH(path), LEDGER_MERKLE_MAX_DEPTH + 1, root),
        LEDGER_E_BAD_PROOF);
}

static void a_different_tx_id_fails(void **state)
{
    (void)state;
    struct proof p;
    make_proof(10, 3, &p);
    assert_int_equal(ledger_merkle_verify(ids[4], 3, 10, CH(p.path), p.len, p.root),
                     LEDGER_E_BAD_PROOF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_leaf_of_trees_of_1_to_100_leaves_verifies),
        cmocka_unit_test(a_single_leaf_root_is_the_leaf_hash_and_empty_root_is_sha256_of_nothing),
        cmocka_unit_test(a_three_leaf_root_promotes_the_odd_leaf_without_duplicating_it),
        cmocka_unit_test(a_flipped_bit_in_any_sibling_fails),
        cmocka_unit_test(a_wrong_index_fails),
        cmocka_unit_test(a_wrong_leaf_count_that_changes_the_path_shape_fails),
        cmocka_unit_test(a_truncated_or_extended_path_fails),
        cmocka_unit_test(swapped_siblings_fail),
        cmocka_unit_test(an_inner_node_cannot_pass_as_a_leaf),
        cmocka_unit_test(path_refuses_an_index_out_of_range_and_verify_refuses_over_deep_paths),
        cmocka_unit_test(a_different_tx_id_fails),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
