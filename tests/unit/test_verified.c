/* Signatures verified at admission are not verified again in a block, and only those bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "tests/unit/util_store.h"

struct oracle {
    uint8_t leaf[LEDGER_HASH_LEN];
    unsigned asked;
};

static bool known(void *ctx, const uint8_t id[LEDGER_HASH_LEN], const uint8_t leaf[LEDGER_HASH_LEN])
{
    (void)id;
    struct oracle *o = ctx;
    o->asked++;
    return memcmp(o->leaf, leaf, LEDGER_HASH_LEN) == 0;
}

/* tx: a seal registration by validator 0's authority; bad: the same body and
 * signer with the signature's first byte flipped. */
static void make_txs(const struct tst_chain *c, uint8_t **tx, size_t *len, uint8_t **bad,
                     size_t *bad_len)
{
    uint8_t pk[LEDGER_KEY_LEN], sk[LEDGER_SECRET_LEN];
    tst_keypair("verified-seal", 1, pk, sk);
    struct ledger_txb_seal p = { .org_id = c->g.validators[0].org_id,
                                 .type = SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OTHER,
                                 .name = "seal",
                                 .seal_key = pk };
    assert_int_equal(
        ledger_txb_seal_register(&c->g, c->admin_sk[0], TST_GENESIS_TIME + 3600000, &p, tx, len),
        0);
    struct ledger_tx t;
    assert_int_equal(ledger_tx_open(*tx, *len, &t, NULL, 0), 0);
    uint8_t sig[LEDGER_SIG_LEN];
    memcpy(sig, t.env->signature.data, LEDGER_SIG_LEN);
    sig[0] ^= 1;
    assert_int_equal(
        ledger_txb_wrap(t.env->body.data, t.env->body.len, t.signer, sig, bad, bad_len), 0);
    ledger_tx_close(&t);
}

static void a_block_skips_only_the_signatures_this_node_verified(void **state)
{
    (void)state;
    struct tst_chain c;
    tst_chain_init(&c, 1, "verified");
    char dp[128], db[128], err[LEDGER_ERRMSG_LEN];
    tst_tmpdir(dp, sizeof dp);
    tst_tmpdir(db, sizeof db);
    struct ledger *primary, *backup;
    assert_int_equal(ledger_open(dp, &c.g, NULL, &primary, err, sizeof err), 0);
    assert_int_equal(ledger_open(db, &c.g, NULL, &backup, err, sizeof err), 0);
    uint8_t *tx, *bad;
    size_t len, bad_len;
    make_txs(&c, &tx, &len, &bad, &bad_len);
    struct oracle ob = { 0 }, og = { 0 };
    ledger_merkle_tx_leaf(bad, bad_len, ob.leaf);
    ledger_merkle_tx_leaf(tx, len, og.leaf);

    /* Without the oracle the primary refuses the forged signature. */
    struct ledger_txref ref = { .data = bad, .len = bad_len };
    uint8_t *block, hash[LEDGER_HASH_LEN];
    size_t block_len, refused = 0, used = 0;
    struct ledger_refusal why[1];
    assert_int_equal(ledger_build_block(primary, &ref, 1, TST_GENESIS_TIME + 1000, 0, 0, &block,
                                        &block_len, hash, why, &refused, &used),
                     0);
    assert_int_equal(refused, 1);
    assert_int_equal(why[0].code, LEDGER_E_BAD_SIGNATURE);
    free(block);

    /* A primary told it verified those very bytes includes them: proof that
     * the Ed25519 check is what is skipped (every rule still ran). */
    ledger_set_verified(primary, known, &ob);
    assert_int_equal(ledger_build_block(primary, &ref, 1, TST_GENESIS_TIME + 1000, 0, 0, &block,
                                        &block_len, hash, why, &refused, &used),
                     0);
    assert_int_equal(refused, 0);
    assert_true(ob.asked >= 1);

    /* A backup that verified the genuine transaction (same id, other bytes)
     * still checks the forged one, and refuses the block. */
    ledger_set_verified(backup, known, &og);
    assert_int_equal(ledger_validate_block(backup, block, block_len, NULL), LEDGER_E_BAD_BLOCK);
    assert_true(og.asked >= 1);
    /* Without an oracle too. */
    ledger_set_verified(backup, NULL, NULL);
    assert_int_equal(ledger_validate_block(backup, block, block_len, NULL), LEDGER_E_BAD_BLOCK);
    /* Only when it verified exactly these bytes does it skip the check. */
    ledger_set_verified(backup, known, &ob);
    assert_int_equal(ledger_validate_block(backup, block, block_len, NULL), 0);

    free(block);
    free(tx);
    free(bad);
    ledger_close(primary);
    ledger_close(backup);
    tst_rmdir(dp);
    tst_rmdir(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_block_skips_only_the_signatures_this_node_verified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
