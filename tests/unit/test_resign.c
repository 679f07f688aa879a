/* A body names its signer: a body re-signed by another key holding the same right is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/query.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "node/driver.h"
#include "node/localnet.h"
#include "proto/block.pb-c.h"
#include "util_fixture.h"
#include "util_store.h"

/*
 * DESIGN.md §4. Every validator sees a transaction in gossip before it
 * commits. Were the signer not named under the signature, another key with
 * the same right could re-sign the very body (same id), land first, and
 * take over its effect. Each case below re-signs a body while the original
 * waits uncommitted, and offers the copy both for admission (the mempool's
 * ledger_check_tx) and inside a proposed block (ledger_validate_block).
 */

struct world {
    struct tst_chain c;
    char dir[128];
    struct ledger *l;
    struct tfx_key admin, custodian, seal_key, user, apr[2];
    char org[19];
    uint8_t seal[32], grant[32], usage[32], last[32];
    uint64_t vu;
};

static void commit_one(struct world *w, uint8_t *tx, size_t len, uint8_t id[32])
{
    struct ledger_tip tip;
    ledger_tip_get(w->l, &tip);
    if (id != NULL)
        assert_int_equal(ledger_tx_id(tx, len, id), 0);
    struct ledger_txref ref = { .data = tx, .len = len };
    size_t refused = 0;
    assert_int_equal(
        tst_commit(w->l, &w->c, &ref, 1, tip.time_ms + 1000, &refused, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(refused, 0);
    free(tx);
}

/* Org filed by agency 0; a contract seal with a custodian; a 2-of-2 grant to
 * user by the custodian; a use of it, pending approval. */
static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    tst_chain_init(&w->c, 4, "resign");
    tst_tmpdir(w->dir, sizeof w->dir);
    char err[256];
    assert_int_equal(ledger_open(w->dir, &w->c.g, NULL, &w->l, err, sizeof err), 0);
    tfx_key_make(91, 0, &w->admin);
    tfx_key_make(91, 1, &w->custodian);
    tfx_key_make(91, 2, &w->seal_key);
    tfx_key_make(91, 3, &w->user);
    tfx_key_make(91, 4, &w->apr[0]);
    tfx_key_make(91, 5, &w->apr[1]);
    tfx_credit_code(41, w->org);
    w->vu = TST_GENESIS_TIME + 3600000;
    uint8_t *tx;
    size_t len;
    assert_int_equal(ledger_txb_org_register(&w->c.g, w->c.admin_sk[0], w->vu, w->org, "Org",
                                             w->admin.pk, NULL, &tx, &len),
                     0);
    commit_one(w, tx, len, NULL);
    struct ledger_txb_seal sp = { w->org,
                                  SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT,
                                  "Contract seal",
                                  w->seal_key.pk,
                                  w->custodian.pk,
                                  NULL,
                                  0,
                                  0 };
    assert_int_equal(ledger_txb_seal_register(&w->c.g, w->admin.sk, w->vu, &sp, &tx, &len), 0);
    commit_one(w, tx, len, w->seal);
    memcpy(w->last, w->seal, 32);
    uint8_t approvers[2][32];
    memcpy(approvers[0], w->apr[0].pk, 32);
    memcpy(approvers[1], w->apr[1].pk, 32);
    struct ledger_txb_grant gp = { w->seal, w->user.pk, 0, 0, (const uint8_t(*)[32])approvers,
                                   2,       2,          0 };
    assert_int_equal(ledger_txb_grant(&w->c.g, w->custodian.sk, w->vu, &gp, &tx, &len), 0);
    commit_one(w, tx, len, w->grant);
    uint8_t doc[32] = { 7 };
    assert_int_equal(ledger_txb_use(&w->c.g, w->user.sk, w->vu, w->seal_key.sk, w->seal, w->grant,
                                    doc, NULL, NULL, &tx, &len),
                     0);
    commit_one(w, tx, len, w->usage);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    ledger_close(w->l);
    tst_rmdir(w->dir);
    free(w);
    return 0;
}

/* The body of tx signed by sk and wrapped with sk's public key: a valid
 * signature by a key other than the one the body names. *out malloc'd. */
static void resign(const struct world *w, const uint8_t *tx, size_t len, const uint8_t sk[64],
                   uint8_t **out, size_t *out_len)
{
    Sealchain__Tx *env = sealchain__tx__unpack(NULL, len, tx);
    assert_non_null(env);
    uint8_t sig[64];
    assert_int_equal(
        ledger_sign(LEDGER_TAG_TX, w->c.g.hash, env->body.data, env->body.len, sk, sig), 0);
    assert_int_equal(ledger_txb_wrap(env->body.data, env->body.len, sk + 32, sig, out, out_len), 0);
    sealchain__tx__free_unpacked(env, NULL);
}

/* A block at tip + 1 proposed by the primary of view 0 holding tx alone,
 * with the right tx root (its state root cannot be right: no honest
 * execution includes the tx). *out malloc'd. */
static void block_of(const struct world *w, const uint8_t *tx, size_t len, uint8_t **out,
                     size_t *out_len)
{
    struct ledger_tip tip;
    ledger_tip_get(w->l, &tip);
    uint8_t leaf[1][32], root[32], state_root[32];
    ledger_merkle_tx_leaf(tx, len, leaf[0]);
    assert_int_equal(ledger_merkle_root((const uint8_t(*)[32])leaf, 1, root), 0);
    memset(state_root, 0x5a, sizeof state_root);
    Sealchain__BlockHeader h = SEALCHAIN__BLOCK_HEADER__INIT;
    h.chain = (ProtobufCBinaryData){ 32, (uint8_t *)w->c.g.hash };
    h.height = tip.height + 1;
    h.prev_hash = (ProtobufCBinaryData){ 32, tip.hash };
    h.time_ms = tip.time_ms + 1000;
    h.tx_root = (ProtobufCBinaryData){ 32, root };
    h.state_root = (ProtobufCBinaryData){ 32, state_root };
    h.tx_count = 1;
    uint8_t *hb;
    size_t hlen;
    assert_int_equal(ledger_encode(&h.base, &hb, &hlen), 0);
    ProtobufCBinaryData txs[1] = { { len, (uint8_t *)tx } };
    Sealchain__Block b = SEALCHAIN__BLOCK__INIT;
    b.header = (ProtobufCBinaryData){ hlen, hb };
    b.n_txs = 1;
    b.txs = txs;
    assert_int_equal(ledger_encode(&b.base, out, out_len), 0);
    free(hb);
}

/* The original (signed by its rightful signer, not yet committed) is
 * admissible; the copy re-signed by sk, a key with the same right, is
 * refused at admission and inside a block; then the original commits. */
static void expect_resign_refused(struct world *w, uint8_t *orig, size_t len, const uint8_t sk[64])
{
    char err[256] = "";
    uint8_t *copy, *block;
    size_t copy_len, block_len;
    uint64_t now = w->vu - 1800000;
    resign(w, orig, len, sk, &copy, &copy_len);
    assert_int_equal(ledger_check_tx(w->l, orig, len, now, NULL, err, sizeof err), 0);
    int rc = ledger_check_tx(w->l, copy, copy_len, now, NULL, err, sizeof err);
    if (rc != LEDGER_E_SIGNER_MISMATCH)
        fail_msg("admission of the re-signed copy: %s (%s), want SIGNER_MISMATCH",
                 ledger_errname(rc), err);
    assert_non_null(strstr(err, "names signer"));
    block_of(w, copy, copy_len, &block, &block_len);
    rc = ledger_validate_block(w->l, block, block_len, NULL);
    if (rc != LEDGER_E_BAD_BLOCK || strstr(ledger_errmsg(w->l), "SIGNER_MISMATCH") == NULL)
        fail_msg("a block with the re-signed copy: %s (%s), want BAD_BLOCK for SIGNER_MISMATCH",
                 ledger_errname(rc), ledger_errmsg(w->l));
    free(block);
    free(copy);
    commit_one(w, orig, len, NULL);
}

static void the_custodian_cannot_take_over_the_admins_suspension(void **state)
{
    struct world *w = *state;
    uint8_t *tx, id[32];
    size_t len;
    assert_int_equal(
        ledger_txb_suspend(&w->c.g, w->admin.sk, w->vu, w->seal, w->last, "lost", &tx, &len), 0);
    assert_int_equal(ledger_tx_id(tx, len, id), 0);
    expect_resign_refused(w, tx, len, w->custodian.sk);
    /* The chain records the admin as the suspender: the custodian may not resume. */
    assert_int_equal(ledger_txb_resume(&w->c.g, w->custodian.sk, w->vu, w->seal, id, &tx, &len), 0);
    assert_int_equal(ledger_check_tx(w->l, tx, len, w->vu - 1800000, NULL, NULL, 0),
                     LEDGER_E_RESUME_ROLE);
    free(tx);
}

static void agency_1_cannot_take_over_agency_0s_filing(void **state)
{
    struct world *w = *state;
    uint8_t *tx, admin[32] = { 3 };
    size_t len;
    char org[19];
    tfx_credit_code(42, org);
    assert_int_equal(ledger_txb_org_register(&w->c.g, w->c.admin_sk[0], w->vu, org, "Org 2", admin,
                                             NULL, &tx, &len),
                     0);
    expect_resign_refused(w, tx, len, w->c.admin_sk[1]);
    struct ledger_rtxn *r;
    Sealchain__OrgRecord *o;
    assert_int_equal(ledger_rtxn_begin(ledger_store_get(w->l), &r), 0);
    assert_int_equal(ledger_q_org(r, org, &o), 0);
    assert_int_equal(o->authority, 0);
    sealchain__org_record__free_unpacked(o, NULL);
    ledger_rtxn_end(r);
}

static void the_authority_cannot_take_over_the_admins_seal_registration(void **state)
{
    struct world *w = *state;
    struct tfx_key k;
    tfx_key_make(91, 9, &k);
    uint8_t *tx;
    size_t len;
    struct ledger_txb_seal sp = {
        w->org, SEALCHAIN__SEAL_TYPE__SEAL_TYPE_FINANCE, "Finance seal", k.pk, NULL, NULL, 0, 0
    };
    assert_int_equal(ledger_txb_seal_register(&w->c.g, w->admin.sk, w->vu, &sp, &tx, &len), 0);
    expect_resign_refused(w, tx, len, w->c.admin_sk[0]);
}

static void the_admin_cannot_take_over_the_authoritys_destruction(void **state)
{
    struct world *w = *state;
    uint8_t *tx;
    size_t len;
    assert_int_equal(ledger_txb_destroy(&w->c.g, w->c.admin_sk[0], w->vu, w->seal, w->last,
                                        "revoked", &tx, &len),
                     0);
    expect_resign_refused(w, tx, len, w->admin.sk);
}

static void the_admin_cannot_take_over_the_custodians_grant(void **state)
{
    struct world *w = *state;
    struct tfx_key u;
    tfx_key_make(91, 10, &u);
    uint8_t *tx;
    size_t len;
    struct ledger_txb_grant gp = { w->seal, u.pk, 0, 3, NULL, 0, 0, 0 };
    assert_int_equal(ledger_txb_grant(&w->c.g, w->custodian.sk, w->vu, &gp, &tx, &len), 0);
    expect_resign_refused(w, tx, len, w->admin.sk);
}

static void approver_b_cannot_spend_approver_as_approval(void **state)
{
    struct world *w = *state;
    uint8_t *tx;
    size_t len;
    assert_int_equal(ledger_txb_approve(&w->c.g, w->apr[0].sk, w->vu, w->usage, &tx, &len), 0);
    expect_resign_refused(w, tx, len, w->apr[1].sk);
}

static void approver_b_cannot_spend_approver_as_rejection(void **state)
{
    struct world *w = *state;
    uint8_t *tx;
    size_t len;
    assert_int_equal(ledger_txb_reject(&w->c.g, w->apr[0].sk, w->vu, w->usage, "no", &tx, &len), 0);
    expect_resign_refused(w, tx, len, w->apr[1].sk);
}

/* A body from before TxBody.signer (none named) is refused. */
static void a_body_naming_no_signer_is_refused(void **state)
{
    struct world *w = *state;
    uint8_t nonce[16] = { 9 }, *tx;
    size_t len;
    Sealchain__UsageApprove op = SEALCHAIN__USAGE_APPROVE__INIT;
    op.usage = (ProtobufCBinaryData){ 32, w->usage };
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.nonce = (ProtobufCBinaryData){ 16, nonce };
    body.valid_until_ms = w->vu;
    body.op_case = SEALCHAIN__TX_BODY__OP_USAGE_APPROVE;
    body.usage_approve = &op;
    size_t n = sealchain__tx_body__get_packed_size(&body);
    uint8_t *raw = malloc(n), sig[64];
    sealchain__tx_body__pack(&body, raw);
    assert_int_equal(ledger_sign(LEDGER_TAG_TX, w->c.g.hash, raw, n, w->apr[0].sk, sig), 0);
    assert_int_equal(ledger_txb_wrap(raw, n, w->apr[0].pk, sig, &tx, &len), 0);
    free(raw);
    assert_int_equal(ledger_check_tx(w->l, tx, len, w->vu - 1800000, NULL, NULL, 0),
                     LEDGER_E_BAD_FIELD);
    free(tx);
}

/* Through the node: agency 0's filing waits in node 0's mempool (not yet
 * proposed); agency 1 re-signs it and submits the copy at node 1. The node
 * refuses it, and the filing commits under agency 0. */
static void a_node_refuses_a_re_signed_copy_of_a_filing_in_its_mempool(void **state)
{
    (void)state;
    char *dir = strdup("/tmp/sealchain-test-resign-XXXXXX");
    assert_non_null(mkdtemp(dir));
    struct localnet *ln;
    char err[512] = "";
    if (localnet_new(dir, 4, &ln, err, sizeof err) != 0)
        fail_msg("localnet: %s", err);
    const struct ledger_genesis *g = localnet_genesis(ln);
    uint8_t admin[32] = { 4 }, *tx, *copy, id[32], sig[64];
    size_t len, copy_len;
    uint64_t now = localnet_now_ms();
    assert_int_equal(ledger_txb_org_register(g, localnet_admin_sk(ln, 0), now + 60000,
                                             "91350100M000100Y43", "Example Co.", admin, NULL, &tx,
                                             &len),
                     0);
    assert_int_equal(node_driver_submit(localnet_driver(ln, 0), tx, len, now, id, err, sizeof err),
                     0);
    Sealchain__Tx *env = sealchain__tx__unpack(NULL, len, tx);
    assert_non_null(env);
    const uint8_t *sk1 = localnet_admin_sk(ln, 1);
    assert_int_equal(ledger_sign(LEDGER_TAG_TX, g->hash, env->body.data, env->body.len, sk1, sig),
                     0);
    assert_int_equal(
        ledger_txb_wrap(env->body.data, env->body.len, sk1 + 32, sig, &copy, &copy_len), 0);
    sealchain__tx__free_unpacked(env, NULL);
    int rc = node_driver_submit(localnet_driver(ln, 1), copy, copy_len, now, NULL, err, sizeof err);
    if (rc != LEDGER_E_SIGNER_MISMATCH)
        fail_msg("node 1 admitted the re-signed copy: %s (%s)", ledger_errname(rc), err);
    assert_int_equal(node_driver_mempool_len(localnet_driver(ln, 1)), 0);
    rc = localnet_submit(ln, 0, tx, len, NULL, err, sizeof err);
    assert_true(rc == 0 || rc == LEDGER_E_DUPLICATE_TX); /* gossip it now */
    bool committed = false;
    if (localnet_run_until_tx(ln, id, 20000, &committed, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(committed);
    struct ledger_rtxn *r;
    Sealchain__OrgRecord *o;
    assert_int_equal(ledger_rtxn_begin(ledger_store_get(localnet_ledger(ln, 1)), &r), 0);
    assert_int_equal(ledger_q_org(r, "91350100M000100Y43", &o), 0);
    assert_int_equal(o->authority, 0);
    sealchain__org_record__free_unpacked(o, NULL);
    ledger_rtxn_end(r);
    free(tx);
    free(copy);
    localnet_free(ln);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(the_custodian_cannot_take_over_the_admins_suspension),
        T(agency_1_cannot_take_over_agency_0s_filing),
        T(the_authority_cannot_take_over_the_admins_seal_registration),
        T(the_admin_cannot_take_over_the_authoritys_destruction),
        T(the_admin_cannot_take_over_the_custodians_grant),
        T(approver_b_cannot_spend_approver_as_approval),
        T(approver_b_cannot_spend_approver_as_rejection),
        T(a_body_naming_no_signer_is_refused),
        cmocka_unit_test(a_node_refuses_a_re_signed_copy_of_a_filing_in_its_mempool),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
