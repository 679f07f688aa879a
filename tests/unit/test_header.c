/* A block header names its view and that view's primary: backups, sync and proofs check both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/pbft.h"
#include "ledger/codec.h"
#include "ledger/crypto.h"
#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/txbuild.h"
#include "node/driver.h"
#include "proto/block.pb-c.h"
#include "util_store.h"

/*
 * DESIGN.md §3: "A block's header names the view it was proposed in and its
 * proposer, the primary of that view; backups refuse a header that names
 * another proposer, or a view other than the PRE-PREPARE's (a prepared block
 * re-proposed after a view change keeps its original, lower view). The
 * certificate's view may be higher than the header's."
 *
 * Blocks are built by a builder ledger (A) under the primary of their view,
 * then their header is rewritten (the state root does not depend on view or
 * proposer, so the rewritten block is otherwise valid) and offered to a
 * second ledger (B) of the same chain.
 */

#define N 4

struct fx {
    struct tst_chain c;
    char dir_a[128], dir_b[128];
    struct ledger *a, *b;
    uint8_t *tx;
    size_t tx_len;
    uint64_t time;
};

static struct ledger *open_at(struct fx *f, char *dir)
{
    char err[256];
    struct ledger *l;
    tst_tmpdir(dir, 128);
    if (ledger_open(dir, &f->c.g, NULL, &l, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    return l;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tst_chain_init(&f->c, N, "header-rules");
    f->a = open_at(f, f->dir_a);
    f->b = open_at(f, f->dir_b);
    f->time = TST_GENESIS_TIME + 5000;
    uint8_t admin[32] = { 8 };
    assert_int_equal(ledger_txb_org_register(&f->c.g, f->c.admin_sk[0], f->time + 60000,
                                             "91350100M000100Y43", "Org", admin, NULL, &f->tx,
                                             &f->tx_len),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ledger_close(f->a);
    ledger_close(f->b);
    tst_rmdir(f->dir_a);
    tst_rmdir(f->dir_b);
    free(f->tx);
    free(f);
    return 0;
}

/* Block 1 with the org filing, built by A in view `view` by its primary. */
static void build(struct fx *f, uint64_t view, uint8_t **out, size_t *out_len)
{
    struct ledger_txref ref = { .data = f->tx, .len = f->tx_len };
    uint8_t hash[32];
    size_t refused = 0;
    uint32_t primary = ledger_genesis_primary(&f->c.g, view);
    assert_int_equal(ledger_build_block(f->a, &ref, 1, f->time, primary, view, out, out_len, hash,
                                        NULL, &refused, NULL),
                     0);
    assert_int_equal(refused, 0);
}

/* The block with its header's view and proposer replaced; *out malloc'd,
 * its header hash in out_hash. */
static void rehead(const uint8_t *block, size_t len, uint64_t view, uint32_t proposer,
                   uint8_t **out, size_t *out_len, uint8_t out_hash[32])
{
    Sealchain__Block *b = sealchain__block__unpack(NULL, len, block);
    assert_non_null(b);
    Sealchain__BlockHeader *h =
        sealchain__block_header__unpack(NULL, b->header.len, b->header.data);
    assert_non_null(h);
    h->view = view;
    h->proposer = proposer;
    uint8_t *hb;
    size_t hlen;
    assert_int_equal(ledger_encode(&h->base, &hb, &hlen), 0);
    ledger_sha256(hb, hlen, out_hash);
    Sealchain__Block nb = *b;
    nb.header = (ProtobufCBinaryData){ hlen, hb };
    assert_int_equal(ledger_encode(&nb.base, out, out_len), 0);
    free(hb);
    sealchain__block_header__free_unpacked(h, NULL);
    sealchain__block__free_unpacked(b, NULL);
}

static void hash_of(const uint8_t *block, size_t len, uint8_t out[32])
{
    struct ledger_header h;
    assert_int_equal(ledger_block_header(block, len, &h), 0);
    memcpy(out, h.hash, 32);
}

/* ---- validation ------------------------------------------------------------------ */

static void a_backup_refuses_a_header_naming_another_proposer_than_its_views_primary(void **state)
{
    struct fx *f = *state;
    uint8_t *block, *bad, hash[32];
    size_t len, bad_len;
    build(f, 0, &block, &len);
    /* Validator 0, the primary of view 0, names validator 2 as proposer. */
    rehead(block, len, 0, 2, &bad, &bad_len, hash);
    assert_int_equal(ledger_validate_block(f->b, bad, bad_len, NULL), LEDGER_E_BAD_PROPOSER);
    assert_non_null(strstr(ledger_errmsg(f->b), "primary of its view"));
    /* The same in view 5 (primary 1) naming 1 is fine; naming 0 is not. */
    free(bad);
    rehead(block, len, 5, 1, &bad, &bad_len, hash);
    assert_int_equal(ledger_validate_block(f->b, bad, bad_len, NULL), 0);
    free(bad);
    rehead(block, len, 5, 0, &bad, &bad_len, hash);
    assert_int_equal(ledger_validate_block(f->b, bad, bad_len, NULL), LEDGER_E_BAD_PROPOSER);
    /* The control: the block as built. */
    assert_int_equal(ledger_validate_block(f->b, block, len, NULL), 0);
    assert_false(ledger_failed(f->b));
    free(bad);
    free(block);
}

static void a_primary_cannot_build_a_block_naming_another_proposer(void **state)
{
    struct fx *f = *state;
    struct ledger_txref ref = { .data = f->tx, .len = f->tx_len };
    uint8_t *block, hash[32];
    size_t len;
    assert_int_equal(
        ledger_build_block(f->a, &ref, 1, f->time, 1, 0, &block, &len, hash, NULL, NULL, NULL),
        LEDGER_E_INVALID);
}

static void the_header_view_is_the_pre_prepares_or_lower_for_a_re_proposal(void **state)
{
    struct fx *f = *state;
    const struct ledger_genesis *g = &f->c.g;
    struct ledger_header h = { .height = 1, .view = 3, .proposer = 3 };
    char why[200] = "";
    /* A fresh proposal: the PRE-PREPARE's view exactly. */
    assert_int_equal(ledger_header_check_proposal(g, &h, 3, false, why, sizeof why), 0);
    assert_int_equal(ledger_header_check_proposal(g, &h, 4, false, why, sizeof why),
                     LEDGER_E_BAD_VIEW);
    assert_non_null(strstr(why, "view 4"));
    assert_int_equal(ledger_header_check_proposal(g, &h, 2, false, NULL, 0), LEDGER_E_BAD_VIEW);
    /* Re-proposed after view changes: its own view, not above the PRE-PREPARE's. */
    assert_int_equal(ledger_header_check_proposal(g, &h, 3, true, NULL, 0), 0);
    assert_int_equal(ledger_header_check_proposal(g, &h, 9, true, NULL, 0), 0);
    assert_int_equal(ledger_header_check_proposal(g, &h, 2, true, NULL, 0), LEDGER_E_BAD_VIEW);
    /* The proposer is the primary of the header's view, re-proposed or not:
     * here the primary of the PRE-PREPARE's view 4 (0) names itself. */
    h.proposer = 0;
    assert_int_equal(ledger_header_check_proposal(g, &h, 4, true, NULL, 0), LEDGER_E_BAD_PROPOSER);
    assert_int_equal(ledger_header_check_proposal(g, &h, 3, false, NULL, 0), LEDGER_E_BAD_PROPOSER);
}

/* ---- a backup's driver ----------------------------------------------------------- */

struct sent {
    int prepares;
};

static void on_send(void *ctx, int to, const uint8_t *bytes, size_t len)
{
    (void)to;
    int kind;
    if (pbft_msg_peek(bytes, len, &kind, NULL, NULL, NULL) == 0 && kind == PBFT_MSG_PREPARE)
        ((struct sent *)ctx)->prepares++;
}

static int sign_as_0(void *ctx, enum pbft_sig_kind kind, const uint8_t *payload, size_t len,
                     uint8_t sig[PBFT_SIG_SIZE])
{
    const struct tst_chain *c = ctx;
    if (kind != PBFT_SIG_PREPREPARE)
        return -1;
    return ledger_sign(LEDGER_TAG_PREPREPARE, c->g.hash, payload, len, c->node_sk[0], sig);
}

/* Validator 1 on a fresh ledger receives validator 0's PRE-PREPARE of
 * (view pp_view, height 1) for block; returns the PREPAREs it sent. */
static int prepares_for(struct fx *f, uint64_t pp_view, const uint8_t *block, size_t len)
{
    char dir[128], err[256];
    struct ledger *l = open_at(f, dir);
    struct sent sent = { 0 };
    struct node_driver_config cfg = {
        .self = 1, .l = l, .node_sk = f->c.node_sk[1], .send = on_send, .send_ctx = &sent
    };
    struct node_driver *d;
    if (node_driver_new(&cfg, f->time, &d, err, sizeof err) != 0)
        fail_msg("driver: %s", err);
    struct pbft_crypto crypto = { .ctx = &f->c, .sign = sign_as_0 };
    uint8_t digest[32];
    hash_of(block, len, digest);
    size_t cap = len + 1024, n;
    uint8_t *msg = malloc(cap);
    assert_non_null(msg);
    assert_int_equal(
        pbft_msg_preprepare_encode(&crypto, 0, 1, pp_view, digest, block, len, msg, cap, &n), 0);
    assert_int_equal(node_driver_receive(d, 0, msg, n, f->time), 0);
    free(msg);
    node_driver_free(d);
    ledger_close(l);
    tst_rmdir(dir);
    return sent.prepares;
}

static void a_backup_prepares_only_a_header_that_agrees_with_its_pre_prepare(void **state)
{
    struct fx *f = *state;
    uint8_t *block, *bad, hash[32];
    size_t len, bad_len;
    build(f, 0, &block, &len);
    /* The control: as built, in view 0 by validator 0. */
    assert_int_equal(prepares_for(f, 0, block, len), 1);
    /* Naming validator 2 as proposer. */
    rehead(block, len, 0, 2, &bad, &bad_len, hash);
    assert_int_equal(prepares_for(f, 0, bad, bad_len), 0);
    free(bad);
    /* Naming view 1 and its primary, in a PRE-PREPARE of view 0: the ledger
     * alone would accept it (it is a valid view-1 header). */
    rehead(block, len, 1, 1, &bad, &bad_len, hash);
    assert_int_equal(ledger_validate_block(f->b, bad, bad_len, NULL), 0);
    assert_int_equal(prepares_for(f, 0, bad, bad_len), 0);
    free(bad);
    free(block);
}

/* ---- one opening per block ----------------------------------------------------------- */

/* A backup keeps the executions of the candidates it validated for one
 * height (a view change can offer several) and commits the one whose bytes
 * were certified, never another candidate's. */
static void a_backup_commits_the_certified_candidate_not_another_it_validated(void **state)
{
    struct fx *f = *state;
    uint8_t *b0, *b1, *cert, h0[32], h1[32];
    size_t len0, len1, cert_len;
    build(f, 0, &b0, &len0);
    build(f, 1, &b1, &len1);
    hash_of(b0, len0, h0);
    hash_of(b1, len1, h1);
    assert_memory_not_equal(h0, h1, 32);
    assert_int_equal(ledger_block_check(f->b, b0, len0, h0, NULL), 0);
    assert_int_equal(ledger_validate_block(f->b, b0, len0, NULL), 0);
    assert_int_equal(ledger_block_check(f->b, b1, len1, h1, NULL), 0);
    assert_int_equal(ledger_validate_block(f->b, b1, len1, NULL), 0);
    tst_cert(&f->c, 1, 1, h1, &cert, &cert_len);
    assert_int_equal(ledger_commit_block(f->b, b1, len1, cert, cert_len), 0);
    struct ledger_tip tip;
    ledger_tip_get(f->b, &tip);
    assert_int_equal(tip.height, 1);
    assert_memory_equal(tip.hash, h1, 32);
    free(cert);
    free(b0);
    free(b1);
}

/* The digest check consensus asks for refuses bytes that are not the block
 * of that digest, and the opening it keeps does not stand in for them. */
static void the_digest_check_refuses_a_block_of_another_digest(void **state)
{
    struct fx *f = *state;
    uint8_t *block, h[32], other[32] = { 1 };
    size_t len;
    build(f, 0, &block, &len);
    hash_of(block, len, h);
    assert_int_equal(ledger_block_check(f->b, block, len, other, NULL), LEDGER_E_BAD_BLOCK);
    struct ledger_header hdr;
    assert_int_equal(ledger_block_check(f->b, block, len, h, &hdr), 0);
    assert_memory_equal(hdr.hash, h, 32);
    block[len - 1] ^= 1; /* the last tx's last byte: the body no longer matches the tx root */
    assert_int_not_equal(ledger_block_check(f->b, block, len, h, NULL), 0);
    assert_int_not_equal(ledger_validate_block(f->b, block, len, NULL), 0);
    free(block);
}

/* ---- sync: certified blocks ------------------------------------------------------ */

static void sync_refuses_a_certified_header_naming_another_proposer(void **state)
{
    struct fx *f = *state;
    uint8_t *block, *bad, *cert, hash[32];
    size_t len, bad_len, cert_len;
    build(f, 2, &block, &len);
    rehead(block, len, 2, 1, &bad, &bad_len, hash);
    tst_cert(&f->c, 1, 2, hash, &cert, &cert_len);
    assert_int_equal(ledger_commit_block(f->b, bad, bad_len, cert, cert_len),
                     LEDGER_E_BAD_PROPOSER);
    struct ledger_certified cb = { bad, bad_len, cert, cert_len };
    assert_int_equal(ledger_commit_blocks(f->b, &cb, 1), LEDGER_E_BAD_PROPOSER);
    assert_false(ledger_failed(f->b));
    struct ledger_tip tip;
    ledger_tip_get(f->b, &tip);
    assert_int_equal(tip.height, 0);
    free(cert);
    free(bad);
    free(block);
}

static void sync_refuses_a_certificate_of_a_lower_view_than_the_header(void **state)
{
    struct fx *f = *state;
    uint8_t *block, *cert, hash[32];
    size_t len, cert_len;
    build(f, 2, &block, &len);
    hash_of(block, len, hash);
    tst_cert(&f->c, 1, 1, hash, &cert, &cert_len);
    assert_int_equal(ledger_commit_block(f->b, block, len, cert, cert_len), LEDGER_E_BAD_CERT);
    assert_non_null(strstr(ledger_errmsg(f->b), "lower than the header"));
    struct ledger_certified cb = { block, len, cert, cert_len };
    assert_int_equal(ledger_commit_blocks(f->b, &cb, 1), LEDGER_E_BAD_CERT);
    assert_false(ledger_failed(f->b));
    free(cert);
    /* A higher view is fine: prepared in view 2, committed after a view change. */
    tst_cert(&f->c, 1, 3, hash, &cert, &cert_len);
    cb.cert = cert;
    cb.cert_len = cert_len;
    assert_int_equal(ledger_commit_blocks(f->b, &cb, 1), 0);
    struct ledger_tip tip;
    ledger_tip_get(f->b, &tip);
    assert_int_equal(tip.height, 1);
    free(cert);
    free(block);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(a_backup_commits_the_certified_candidate_not_another_it_validated),
        T(the_digest_check_refuses_a_block_of_another_digest),
        T(a_backup_refuses_a_header_naming_another_proposer_than_its_views_primary),
        T(a_primary_cannot_build_a_block_naming_another_proposer),
        T(the_header_view_is_the_pre_prepares_or_lower_for_a_re_proposal),
        T(a_backup_prepares_only_a_header_that_agrees_with_its_pre_prepare),
        T(sync_refuses_a_certified_header_naming_another_proposer),
        T(sync_refuses_a_certificate_of_a_lower_view_than_the_header),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
