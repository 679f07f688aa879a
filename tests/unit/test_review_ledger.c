/* Review of ledger/: regressions for what an adversarial review of the rules, verify and proofs
 * found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/proof.h"
#include "ledger/query.h"
#include "ledger/sigfile.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "ledger/verify.h"
#include "util_fixture.h"
#include "util_store.h"
#include "proto/block.pb-c.h"

#if defined(__SANITIZE_ADDRESS__)
#define REVIEW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REVIEW_ASAN 1
#endif
#endif

/* A pending use past its grant's approval window is lapsed (DESIGN §1). The
 * rules lapse it lazily, so until its grant is touched again the stored
 * record still says PENDING; the usage query reports "lapsed" from the tip's
 * time, and verify must say the same of the same use, not "pending". */
static void
verify_reports_a_pending_use_past_its_window_as_lapsed_like_the_usage_query(void **state)
{
    (void)state;
    struct tst_chain c;
    tst_chain_init(&c, 4, "review-lapse");
    char dir[128], err[256];
    tst_tmpdir(dir, sizeof dir);
    struct ledger *l;
    assert_int_equal(ledger_open(dir, &c.g, NULL, &l, err, sizeof err), 0);
    struct tfx_key admin, seal, user, ap;
    tfx_key_make(70, 0, &admin);
    tfx_key_make(70, 1, &seal);
    tfx_key_make(70, 2, &user);
    tfx_key_make(70, 3, &ap);
    char org[19];
    tfx_credit_code(11, org);
    uint64_t t = TST_GENESIS_TIME + 1000, vu = t + 3600000;
    uint8_t *tx[3], seal_id[32], grant[32], doc[32];
    size_t len[3];
    ledger_sha256("lapsing doc", 11, doc);
    assert_int_equal(ledger_txb_org_register(&c.g, c.admin_sk[0], vu, org, "Org", admin.pk, NULL,
                                             &tx[0], &len[0]),
                     0);
    struct ledger_txb_seal sp = {
        org, SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT, "Contract seal", seal.pk, NULL, NULL, 0, 0
    };
    assert_int_equal(ledger_txb_seal_register(&c.g, admin.sk, vu, &sp, &tx[1], &len[1]), 0);
    assert_int_equal(ledger_tx_id(tx[1], len[1], seal_id), 0);
    /* 1 of 1 approver, approval window 10 s. */
    uint8_t approvers[1][32];
    memcpy(approvers[0], ap.pk, 32);
    struct ledger_txb_grant gp = { seal_id, user.pk, 0,    0, (const uint8_t(*)[32])approvers,
                                   1,       1,       10000 };
    assert_int_equal(ledger_txb_grant(&c.g, admin.sk, vu, &gp, &tx[2], &len[2]), 0);
    assert_int_equal(ledger_tx_id(tx[2], len[2], grant), 0);
    struct ledger_txref refs[3] = { { .data = tx[0], .len = len[0] },
                                    { .data = tx[1], .len = len[1] },
                                    { .data = tx[2], .len = len[2] } };
    assert_int_equal(tst_commit(l, &c, refs, 3, t, NULL, NULL, NULL, NULL, NULL), 0);
    struct ledger_seal_sig s;
    memcpy(s.chain, c.g.hash, 32);
    memcpy(s.seal_id, seal_id, 32);
    memcpy(s.doc_hash, doc, 32);
    memcpy(s.user_key, user.pk, 32);
    uint8_t *use;
    size_t use_len;
    assert_int_equal(ledger_txb_use(&c.g, user.sk, vu, seal.sk, seal_id, grant, doc, s.use_nonce,
                                    s.seal_signature, &use, &use_len),
                     0);
    assert_int_equal(ledger_tx_id(use, use_len, s.usage), 0);
    refs[0] = (struct ledger_txref){ .data = use, .len = use_len };
    assert_int_equal(tst_commit(l, &c, refs, 1, t + 1000, NULL, NULL, NULL, NULL, NULL), 0);
    /* A minute later, nothing has touched the grant: the use has lapsed. */
    assert_int_equal(tst_commit(l, &c, NULL, 0, t + 61000, NULL, NULL, NULL, NULL, NULL), 0);

    struct ledger_rtxn *r;
    assert_int_equal(ledger_rtxn_begin(ledger_store_get(l), &r), 0);
    struct ledger_q_usage qu;
    assert_int_equal(ledger_q_usage(r, s.usage, &qu), 0);
    assert_int_equal(qu.status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_LAPSED);
    ledger_q_usage_close(&qu);
    ledger_rtxn_end(r);

    uint8_t *file;
    size_t file_len;
    assert_int_equal(ledger_sigfile_append(NULL, 0, &s, &file, &file_len, err, sizeof err), 0);
    struct ledger_verify_report *rep = malloc(sizeof *rep);
    assert_int_equal(ledger_verify_document_store(ledger_store_get(l), doc, file, file_len, rep),
                     0);
    assert_false(rep->valid);
    assert_true(rep->sigs[0].usage_found);
    assert_string_equal(rep->sigs[0].usage.usage_status_name, "lapsed");
    assert_int_equal(rep->sigs[0].usage.usage_status, SEALCHAIN__USAGE_STATUS__USAGE_STATUS_LAPSED);
    assert_non_null(strstr(rep->sigs[0].reasons[0], "lapsed"));
    free(rep);
    free(file);
    for (int i = 0; i < 3; i++)
        free(tx[i]);
    free(use);
    ledger_close(l);
    tst_rmdir(dir);
}

#ifndef REVIEW_ASAN
/* Virtual memory of this process now, in bytes (/proc/self/statm). */
static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

/* DESIGN §6: a peer's block gets a bounded decode. A block of the maximum
 * size made of empty tx entries (two bytes each, 8 million of them) must be
 * refused as too large without protobuf-c first allocating per entry (it
 * took ~400 MB). Run in a child under an address-space limit of 96 MB over
 * what it has: the refusal must be TOO_LARGE, not an allocation failure. */
static void a_block_of_millions_of_empty_txs_is_refused_before_allocating_for_them(void **state)
{
    (void)state;
#ifdef REVIEW_ASAN
    skip(); /* ASan reserves terabytes of shadow: RLIMIT_AS cannot apply */
#else
    uint8_t h32[32] = { 1 };
    Sealchain__BlockHeader hdr = SEALCHAIN__BLOCK_HEADER__INIT;
    hdr.chain = hdr.prev_hash = hdr.tx_root = hdr.state_root =
        (ProtobufCBinaryData){ sizeof h32, h32 };
    hdr.height = 1;
    hdr.time_ms = 1;
    uint8_t *hb;
    size_t hlen;
    assert_int_equal(ledger_encode(&hdr.base, &hb, &hlen), 0);
    assert_true(hlen >= 128 && hlen < 16384);
    size_t cap = LEDGER_MAX_BLOCK_LEN, n = 0;
    uint8_t *b = malloc(cap);
    assert_non_null(b);
    b[n++] = 0x0a; /* Block.header, a two-byte varint length */
    b[n++] = (uint8_t)(hlen | 0x80);
    b[n++] = (uint8_t)(hlen >> 7);
    memcpy(b + n, hb, hlen);
    n += hlen;
    free(hb);
    while (n + 2 <= cap) {
        b[n++] = 0x12; /* Block.txs, empty */
        b[n++] = 0;
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = vm_size() + ((rlim_t)96 << 20);
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(100);
        struct ledger_header h;
        _exit(ledger_block_header(b, n, &h));
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    free(b);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) != LEDGER_E_TOO_LARGE)
        fail_msg("refused with %s, want TOO_LARGE (protobuf-c ran out of memory first?)",
                 ledger_errname(WEXITSTATUS(st)));
#endif
}

/* The same for proof bundles (DESIGN §6): a bundle of the maximum size made
 * of empty approval entries (~260,000) is refused for holding more than
 * LEDGER_PROOF_MAX_APPROVALS approvals without protobuf-c first allocating a
 * ProvenTx for each (it took ~40 MB for a 512 KiB file). */
static void a_bundle_of_many_empty_approvals_is_refused_before_allocating_for_them(void **state)
{
    (void)state;
#ifdef REVIEW_ASAN
    skip();
#else
    size_t n = 0;
    uint8_t *b = malloc(LEDGER_PROOF_MAX_LEN);
    assert_non_null(b);
    while (n + 2 <= LEDGER_PROOF_MAX_LEN) {
        b[n++] = 0x2a; /* ProofBundle.approvals, empty */
        b[n++] = 0;
    }
    struct tst_chain c;
    tst_chain_init(&c, 4, "review-bundle");
    struct ledger_proof_result *r = malloc(sizeof *r);
    assert_non_null(r);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = vm_size() + ((rlim_t)16 << 20);
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(100);
        int rc = ledger_proof_verify(&c.g, b, n, r);
        _exit(rc == LEDGER_E_BAD_PROOF && r->n_reasons > 0 && strstr(r->reasons[0], "approvals")
                  ? 0
                  : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* Without the limit: the same verdict and reason. */
    assert_int_equal(ledger_proof_verify(&c.g, b, n, r), LEDGER_E_BAD_PROOF);
    assert_non_null(strstr(r->reasons[0], "approvals"));
    free(r);
    free(b);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            verify_reports_a_pending_use_past_its_window_as_lapsed_like_the_usage_query),
        cmocka_unit_test(a_block_of_millions_of_empty_txs_is_refused_before_allocating_for_them),
        cmocka_unit_test(a_bundle_of_many_empty_approvals_is_refused_before_allocating_for_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
