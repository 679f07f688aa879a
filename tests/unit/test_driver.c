/* The consensus driver on a real in-process chain: PBFT core + LMDB ledgers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/creditcode.h"
#include "ledger/err.h"
#include "ledger/store.h"
#include "ledger/txbuild.h"
#include "node/err.h"
#include "node/localnet.h"

#define TIMEOUT_MS 20000

static char *temp_dir(void)
{
    char *dir = strdup("/tmp/sealchain-test-driver-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

struct fixture {
    char *dir;
    struct localnet *ln;
};

static int setup_n(void **state, unsigned n)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[512] = "";
    f->dir = temp_dir();
    if (localnet_new(f->dir, n, &f->ln, err, sizeof err) != 0) {
        print_error("localnet: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int setup4(void **state)
{
    return setup_n(state, 4);
}

static int setup1(void **state)
{
    return setup_n(state, 1);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    localnet_free(f->ln);
    remove_dir(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Files one organisation through validator 0's filing authority and runs the
 * chain until it is committed. Returns the tx id in id. */
static void file_org(struct localnet *ln, const char *code, uint8_t id[32])
{
    const struct ledger_genesis *g = localnet_genesis(ln);
    uint8_t admin[32];
    randombytes_buf(admin, sizeof admin);
    uint8_t *tx;
    size_t len;
    uint64_t until = localnet_now_ms() + 60000;
    assert_int_equal(ledger_txb_org_register(g, localnet_admin_sk(ln, 0), until, code,
                                             "Example Co.", admin, NULL, &tx, &len),
                     0);
    char err[256] = "";
    int rc = localnet_submit(ln, 0, tx, len, id, err, sizeof err);
    free(tx);
    assert_int_equal(rc, 0);
    bool committed = false;
    rc = localnet_run_until_tx(ln, id, TIMEOUT_MS, &committed, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_true(committed);
}

static void assert_same_tip(struct localnet *ln, unsigned n)
{
    struct ledger_tip t0, ti;
    ledger_tip_get(localnet_ledger(ln, 0), &t0);
    for (unsigned i = 1; i < n; i++) {
        ledger_tip_get(localnet_ledger(ln, i), &ti);
        if (ti.height == t0.height)
            assert_memory_equal(ti.hash, t0.hash, 32);
    }
}

/* Four validators agree on every block, and each block carries a certificate
 * the ledger checked (ledger_commit_block refuses one without q signers). */
static void four_validators_commit_the_same_blocks(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    uint8_t id[32];
    file_org(ln, "91350100M000100Y43", id);
    file_org(ln, "91110000600037341L", id);
    assert_true(localnet_height(ln) >= 1);
    assert_same_tip(ln, 4);
}

/* A validator stopped as by a crash restarts from its directory with every
 * committed block, and the chain goes on with it. */
static void a_restarted_validator_keeps_its_blocks(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    char err[512] = "";
    uint8_t id[32];
    file_org(ln, "91350100M000100Y43", id);
    struct ledger_tip before, after;
    ledger_tip_get(localnet_ledger(ln, 2), &before);
    assert_true(before.height >= 1);
    localnet_stop(ln, 2);
    if (localnet_restart(ln, 2, err, sizeof err) != 0)
        fail_msg("%s", err);
    ledger_tip_get(localnet_ledger(ln, 2), &after);
    assert_int_equal(after.height, before.height);
    assert_memory_equal(after.hash, before.hash, 32);
    file_org(ln, "91110000600037341L", id);
    assert_same_tip(ln, 4);
}

/* With one validator down the other three (a quorum) go on; when it comes
 * back it learns it is behind, fetches the certified blocks, checks and
 * applies them, and joins consensus again. */
static void a_validator_that_was_down_catches_up(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    char err[512] = "";
    uint8_t id[32];
    localnet_stop(ln, 3);
    file_org(ln, "91350100M000100Y43", id);
    struct ledger_tip t0, t3;
    ledger_tip_get(localnet_ledger(ln, 0), &t0);
    assert_true(t0.height >= 1);
    if (localnet_restart(ln, 3, err, sizeof err) != 0)
        fail_msg("%s", err);
    ledger_tip_get(localnet_ledger(ln, 3), &t3);
    assert_int_equal(t3.height, 0);
    file_org(ln, "91110000600037341L", id);
    if (localnet_run_until_height(ln, t0.height + 1, TIMEOUT_MS, err, sizeof err) != 0)
        fail_msg("%s", err);
    ledger_tip_get(localnet_ledger(ln, 3), &t3);
    assert_true(t3.height >= t0.height + 1);
    assert_same_tip(ln, 4);
}

/* n = 1, the development chain, commits alone. */
static void a_single_validator_commits_alone(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    uint8_t id[32];
    file_org(ln, "91350100M000100Y43", id);
    assert_int_equal(localnet_height(ln), 1);
}

/* A valid credit code of organisation k (a stem of 17 characters and its check character). */
static void credit_code(unsigned k, char out[LEDGER_CREDIT_CODE_LEN + 1])
{
    snprintf(out, LEDGER_CREDIT_CODE_LEN, "91350100M%08u", k);
    out[17] = ledger_credit_code_check_char(out);
    out[18] = '\0';
}

static void org_tx(struct localnet *ln, const char *code, uint8_t **tx, size_t *len)
{
    uint8_t admin[32];
    randombytes_buf(admin, sizeof admin);
    assert_int_equal(ledger_txb_org_register(localnet_genesis(ln), localnet_admin_sk(ln, 0),
                                             localnet_now_ms() + 60000, code, "Example Co.", admin,
                                             NULL, tx, len),
                     0);
}

/* [block] max_wait_ms: holding less than a block, the primary proposes only
 * once its oldest transaction has waited that long (the loop is woken for
 * it), and what arrives meanwhile goes into the same block. The driver's
 * clock is the `now` passed in, so nothing here depends on timing. */
static void a_primary_batches_a_trickle_for_max_wait(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    localnet_set_batch_wait(ln, 400);
    assert_int_equal(localnet_stop(ln, 0), 0);
    char err[512] = "";
    if (localnet_restart(ln, 0, err, sizeof err) != 0)
        fail_msg("restart: %s", err);
    struct node_driver *d = localnet_driver(ln, 0);
    uint8_t *tx1, *tx2, id[32];
    size_t len1, len2;
    org_tx(ln, "91350100M000100Y43", &tx1, &len1);
    org_tx(ln, "91110000600037341L", &tx2, &len2);
    uint64_t t = localnet_now_ms();
    assert_int_equal(node_driver_submit(d, tx1, len1, t, id, err, sizeof err), 0);
    assert_int_equal(localnet_height(ln), 0); /* a lone validator would commit inside submit */
    uint64_t due = node_driver_deadline(d);
    assert_true(due > t && due <= t + 400);
    assert_int_equal(node_driver_tick(d, t + 100), 0);
    assert_int_equal(node_driver_submit(d, tx2, len2, t + 100, id, err, sizeof err), 0);
    assert_int_equal(node_driver_tick(d, t + 399), 0);
    assert_int_equal(localnet_height(ln), 0);
    assert_int_equal(node_driver_tick(d, t + 400), 0);
    assert_int_equal(localnet_height(ln), 1);
    struct ledger_rtxn *rt;
    assert_int_equal(ledger_rtxn_begin(ledger_store_get(localnet_ledger(ln, 0)), &rt), 0);
    struct ledger_stored_block sb;
    assert_int_equal(ledger_rtxn_block_load(rt, 1, &sb), 0);
    assert_int_equal(sb.stored->block->n_txs, 2);
    ledger_stored_block_close(&sb);
    ledger_rtxn_end(rt);
    free(tx1);
    free(tx2);
    /* A wait above a quarter of the request time-out (the driver's default,
     * 5 s) is cut to it. */
    localnet_set_batch_wait(ln, 60000);
    assert_int_equal(localnet_stop(ln, 0), 0);
    if (localnet_restart(ln, 0, err, sizeof err) != 0)
        fail_msg("restart: %s", err);
    d = localnet_driver(ln, 0);
    char code[LEDGER_CREDIT_CODE_LEN + 1];
    credit_code(7, code);
    org_tx(ln, code, &tx1, &len1);
    t = localnet_now_ms();
    assert_int_equal(node_driver_submit(d, tx1, len1, t, id, err, sizeof err), 0);
    assert_int_equal(node_driver_tick(d, t + 1249), 0);
    assert_int_equal(localnet_height(ln), 1);
    assert_int_equal(node_driver_tick(d, t + 1250), 0);
    assert_int_equal(localnet_height(ln), 2);
    free(tx1);
    /* A clock stepped back behind the oldest admission does not hold the
     * block until it comes round again. */
    credit_code(8, code);
    org_tx(ln, code, &tx1, &len1);
    t = localnet_now_ms();
    assert_int_equal(node_driver_submit(d, tx1, len1, t, id, err, sizeof err), 0);
    assert_int_equal(localnet_height(ln), 2);
    assert_int_equal(node_driver_tick(d, t - 3600 * 1000), 0);
    assert_int_equal(localnet_height(ln), 3);
    free(tx1);
}

/*
 * DESIGN §3, censorship: primary 0 never holds one valid transaction (it was
 * handed to validators 1..3 only, as a censoring primary would ignore it)
 * while it goes on committing others in blocks with room for it. The backups
 * never wait a time-out on a stalled chain, yet the blocks that left the
 * transaction out make it overdue (node/reqtimer.h rule b): the primary is
 * replaced and the transaction is committed in a later view.
 */
static void a_primary_that_leaves_one_transaction_out_of_blocks_with_room_is_replaced(void **state)
{
    struct localnet *ln0 = ((struct fixture *)*state)->ln;
    localnet_set_deaf(ln0, 0, true); /* it ignores what the backups forward */
    struct localnet *ln = ((struct fixture *)*state)->ln;
    const struct ledger_genesis *g = localnet_genesis(ln);
    char code[LEDGER_CREDIT_CODE_LEN + 1], err[512] = "";
    uint8_t admin[32], censored[32], id[32], *tx;
    size_t len;
    randombytes_buf(admin, sizeof admin);
    credit_code(1, code);
    assert_int_equal(ledger_txb_org_register(g, localnet_admin_sk(ln, 1),
                                             localnet_now_ms() + 120000, code, "Censored Co.",
                                             admin, NULL, &tx, &len),
                     0);
    for (unsigned i = 1; i < 4; i++)
        assert_int_equal(node_driver_submit(localnet_driver(ln, i), tx, len, localnet_now_ms(),
                                            censored, err, sizeof err),
                         0);
    free(tx);
    uint64_t start = localnet_now_ms(), blocks_without = 0;
    struct pbft_stats st;
    for (unsigned k = 2; node_driver_holds(localnet_driver(ln, 1), censored); k++) {
        assert_true(localnet_now_ms() - start < 40000);
        credit_code(k, code);
        file_org(ln, code, id); /* commits in a block with room */
        node_driver_stats(localnet_driver(ln, 1), &st);
        blocks_without += st.view == 0;
        /* let time pass with the chain running (the loop's own blocks keep it from stalling) */
        localnet_run_until_height(ln, UINT64_MAX, 400, err, sizeof err);
    }
    assert_true(blocks_without >= 5); /* it kept committing others while leaving it out */
    for (unsigned i = 1; i < 4; i++) {
        node_driver_stats(localnet_driver(ln, i), &st);
        assert_true(st.view >= 1);
        assert_false(node_driver_holds(localnet_driver(ln, i), censored));
    }
    bool committed = false;
    assert_int_equal(localnet_run_until_tx(ln, censored, TIMEOUT_MS, &committed, err, sizeof err),
                     0);
    assert_true(committed);
    assert_same_tip(ln, 4);
}

/* Fail-stop keeps the cause: when the store cannot write a block, the
 * driver's message is LMDB's own reason with its context, not a bare code. */
/* C&L 4.4: backups forward a request to the primary before they suspect
 * it. Primary 0 missed one transaction (handed to validators 1..3 only, as
 * when its mempool was full at gossip time) while it commits others in blocks
 * with room; the backups send it again (FORWARD_MS, node/driver.c), the
 * primary includes it, and no view change happens. */
static void a_transaction_the_primary_missed_is_forwarded_to_it(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    const struct ledger_genesis *g = localnet_genesis(ln);
    char code[LEDGER_CREDIT_CODE_LEN + 1], err[512] = "";
    uint8_t admin[32], missed[32], id[32], *tx;
    size_t len;
    randombytes_buf(admin, sizeof admin);
    credit_code(1, code);
    assert_int_equal(ledger_txb_org_register(g, localnet_admin_sk(ln, 1),
                                             localnet_now_ms() + 120000, code, "Missed Co.", admin,
                                             NULL, &tx, &len),
                     0);
    for (unsigned i = 1; i < 4; i++)
        assert_int_equal(node_driver_submit(localnet_driver(ln, i), tx, len, localnet_now_ms(),
                                            missed, err, sizeof err),
                         0);
    free(tx);
    uint64_t start = localnet_now_ms();
    for (unsigned k = 2; node_driver_holds(localnet_driver(ln, 1), missed); k++) {
        assert_true(localnet_now_ms() - start < 40000);
        credit_code(k, code);
        file_org(ln, code, id);
        localnet_run_until_height(ln, UINT64_MAX, 400, err, sizeof err);
    }
    bool committed = false;
    assert_int_equal(localnet_run_until_tx(ln, missed, TIMEOUT_MS, &committed, err, sizeof err), 0);
    assert_true(committed);
    for (unsigned i = 0; i < 4; i++) {
        struct pbft_stats st;
        node_driver_stats(localnet_driver(ln, i), &st);
        assert_int_equal(st.view, 0);
    }
}

static void a_failed_store_write_stops_the_driver_with_lmdbs_reason(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    const char *cause = "commit block 1: mdb_txn_commit: No space left on device";
    ledger_store_fail(ledger_store_get(localnet_ledger(ln, 0)), cause);
    const struct ledger_genesis *g = localnet_genesis(ln);
    uint8_t admin[32] = { 2 }, *tx;
    size_t len;
    char err[512] = "";
    assert_int_equal(ledger_txb_org_register(g, localnet_admin_sk(ln, 0), localnet_now_ms() + 60000,
                                             "91350100M000100Y43", "Good Co.", admin, NULL, &tx,
                                             &len),
                     0);
    (void)localnet_submit(ln, 0, tx, len, NULL, err, sizeof err);
    free(tx);
    assert_int_equal(localnet_run_until_height(ln, 1, 5000, err, sizeof err), LEDGER_E_FATAL);
    assert_true(ledger_failed(localnet_ledger(ln, 0)));
    assert_non_null(strstr(node_driver_errmsg(localnet_driver(ln, 0)), cause));
    assert_string_equal(ledger_errmsg(localnet_ledger(ln, 0)), cause);
}

/* A configuration the core refuses is reported as such, in the node's own
 * codes (not as out of memory). */
static void a_bad_driver_config_is_a_config_error(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    struct node_driver_config cfg = { .self = 7, /* n = 1 */
                                      .l = localnet_ledger(ln, 0),
                                      .node_sk = localnet_admin_sk(ln, 0) };
    struct node_driver *d = NULL;
    char err[256] = "";
    assert_int_equal(node_driver_new(&cfg, localnet_now_ms(), &d, err, sizeof err), NODE_E_CONFIG);
    assert_null(d);
    assert_non_null(strstr(err, "consensus"));
}

/* A refused transaction never enters the mempool. */
/* Two filings of one organisation wait together; the block that commits
 * the first makes the second invalid (ORG_EXISTS). Under load the driver
 * drops a block's own transactions by id and re-checks the rest at most
 * every RECHECK_MS, so the second must leave every mempool within that
 * period and never be committed. */
static void a_transaction_a_block_made_invalid_leaves_every_mempool(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    const struct ledger_genesis *g = localnet_genesis(ln);
    uint8_t admin[32] = { 7 }, id1[32], id2[32], *tx1, *tx2;
    size_t len1, len2;
    char err[512] = "";
    file_org(ln, "91110000600037341L", id1); /* a first block: the pool's first full re-check */
    assert_int_equal(ledger_txb_org_register(g, localnet_admin_sk(ln, 0), localnet_now_ms() + 60000,
                                             "91350100M000100Y43", "First Co.", admin, NULL, &tx1,
                                             &len1),
                     0);
    assert_int_equal(ledger_txb_org_register(g, localnet_admin_sk(ln, 0), localnet_now_ms() + 60000,
                                             "91350100M000100Y43", "Second Co.", admin, NULL, &tx2,
                                             &len2),
                     0);
    /*
     * Each reaches one mempool only (no gossip): a mempool refuses a transaction that conflicts
     * with one it holds, but two mempools can each hold one of a conflicting pair.
     */
    uint64_t now = localnet_now_ms();
    assert_int_equal(
        node_driver_submit(localnet_driver(ln, 1), tx2, len2, now, id2, err, sizeof err), 0);
    assert_int_equal(
        node_driver_submit(localnet_driver(ln, 0), tx1, len1, now, id1, err, sizeof err), 0);
    free(tx1);
    free(tx2);
    bool committed = false;
    assert_int_equal(localnet_run_until_tx(ln, id1, TIMEOUT_MS, &committed, err, sizeof err), 0);
    assert_true(committed);
    uint64_t end = localnet_now_ms() + 3000;
    bool held = true;
    while (held && localnet_now_ms() < end) {
        localnet_run_until_height(ln, UINT64_MAX, 50, err, sizeof err);
        held = false;
        for (unsigned i = 0; i < 4; i++)
            held = held || node_driver_holds(localnet_driver(ln, i), id2);
    }
    assert_false(held);
    assert_int_equal(localnet_run_until_tx(ln, id2, 2000, &committed, err, sizeof err), 0);
    assert_false(committed);
}

/*
 * Admission runs the rules over committed state and the transactions already waiting: a second
 * filing of one organisation, waiting beside the first, is refused at submit with the rule's own
 * code, while an unrelated one is admitted. Once the first commits, the refusal is the same.
 */
static void a_transaction_conflicting_with_one_waiting_is_refused_at_submit(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    const struct ledger_genesis *g = localnet_genesis(ln);
    uint8_t admin[32] = { 9 }, id1[32], id3[32], *tx1, *tx2, *tx3;
    size_t len1, len2, len3;
    char err[512] = "";
    uint64_t until = localnet_now_ms() + 60000;
    const uint8_t *sk = localnet_admin_sk(ln, 0);
    assert_int_equal(ledger_txb_org_register(g, sk, until, "91350100M000100Y43", "First Co.", admin,
                                             NULL, &tx1, &len1),
                     0);
    assert_int_equal(ledger_txb_org_register(g, sk, until, "91350100M000100Y43", "Second Co.",
                                             admin, NULL, &tx2, &len2),
                     0);
    assert_int_equal(ledger_txb_org_register(g, sk, until, "91110000600037341L", "Other Co.", admin,
                                             NULL, &tx3, &len3),
                     0);
    assert_int_equal(localnet_submit(ln, 0, tx1, len1, id1, err, sizeof err), 0);
    for (unsigned i = 0; i < 4; i++) {
        err[0] = '\0';
        assert_int_equal(node_driver_submit(localnet_driver(ln, i), tx2, len2, localnet_now_ms(),
                                            NULL, err, sizeof err),
                         LEDGER_E_ORG_EXISTS);
        assert_true(err[0] != '\0');
        assert_int_equal(node_driver_mempool_len(localnet_driver(ln, i)), 1);
    }
    assert_int_equal(localnet_submit(ln, 0, tx3, len3, id3, err, sizeof err), 0);
    assert_int_equal(node_driver_mempool_len(localnet_driver(ln, 0)), 2);
    bool committed = false;
    assert_int_equal(localnet_run_until_tx(ln, id3, TIMEOUT_MS, &committed, err, sizeof err), 0);
    assert_true(committed);
    assert_int_equal(localnet_run_until_tx(ln, id1, TIMEOUT_MS, &committed, err, sizeof err), 0);
    assert_true(committed);
    assert_int_equal(localnet_submit(ln, 0, tx2, len2, NULL, err, sizeof err), LEDGER_E_ORG_EXISTS);
    free(tx1);
    free(tx2);
    free(tx3);
}

static void the_mempool_refuses_what_the_ledger_refuses(void **state)
{
    struct localnet *ln = ((struct fixture *)*state)->ln;
    char err[512] = "";
    const struct ledger_genesis *g = localnet_genesis(ln);
    uint8_t admin[32] = { 1 }, *tx;
    size_t len;
    /* a bad check character */
    assert_int_equal(ledger_txb_org_register(g, localnet_admin_sk(ln, 0), localnet_now_ms() + 60000,
                                             "91350100M000100Y44", "Bad Co.", admin, NULL, &tx,
                                             &len),
                     0);
    assert_int_equal(localnet_submit(ln, 0, tx, len, NULL, err, sizeof err),
                     LEDGER_E_BAD_CREDIT_CODE);
    assert_int_equal(node_driver_mempool_len(localnet_driver(ln, 0)), 0);
    free(tx);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(four_validators_commit_the_same_blocks, setup4, teardown),
        cmocka_unit_test_setup_teardown(a_restarted_validator_keeps_its_blocks, setup4, teardown),
        cmocka_unit_test_setup_teardown(a_validator_that_was_down_catches_up, setup4, teardown),
        cmocka_unit_test_setup_teardown(a_single_validator_commits_alone, setup1, teardown),
        cmocka_unit_test_setup_teardown(a_primary_batches_a_trickle_for_max_wait, setup1, teardown),
        cmocka_unit_test_setup_teardown(the_mempool_refuses_what_the_ledger_refuses, setup4,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_primary_that_leaves_one_transaction_out_of_blocks_with_room_is_replaced, setup4,
            teardown),
        cmocka_unit_test_setup_teardown(a_transaction_the_primary_missed_is_forwarded_to_it, setup4,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failed_store_write_stops_the_driver_with_lmdbs_reason,
                                        setup1, teardown),
        cmocka_unit_test_setup_teardown(a_bad_driver_config_is_a_config_error, setup1, teardown),
        cmocka_unit_test_setup_teardown(a_transaction_a_block_made_invalid_leaves_every_mempool,
                                        setup4, teardown),
        cmocka_unit_test_setup_teardown(
            a_transaction_conflicting_with_one_waiting_is_refused_at_submit, setup4, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
