/* Test helpers for store, ledger, query and crash tests (see util_store.h). */
#include "tests/unit/util_store.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "ledger/cert.h"
#include "ledger/creditcode.h"
#include "ledger/err.h"
#include "ledger/store.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "proto/tx.pb-c.h"

void tst_keypair(const char *tag, uint32_t i, uint8_t pk[static LEDGER_KEY_LEN],
                 uint8_t sk[static LEDGER_SECRET_LEN])
{
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "tst/%s/%u", tag, (unsigned)i);
    uint8_t seed[LEDGER_HASH_LEN];
    ledger_sha256(buf, (size_t)n, seed);
    crypto_sign_seed_keypair(pk, sk, seed);
}

void tst_chain_init(struct tst_chain *c, uint32_t n, const char *chain_id)
{
    assert_int_equal(ledger_crypto_init(), 0);
    memset(c, 0, sizeof(*c));
    snprintf(c->g.chain_id, sizeof(c->g.chain_id), "%s", chain_id);
    c->g.time_ms = TST_GENESIS_TIME;
    c->g.n = n;
    char tag[96];
    for (uint32_t i = 0; i < n; i++) {
        struct ledger_validator *v = &c->g.validators[i];
        snprintf(tag, sizeof(tag), "%s/node", chain_id);
        tst_keypair(tag, i, v->node_key, c->node_sk[i]);
        snprintf(tag, sizeof(tag), "%s/admin", chain_id);
        tst_keypair(tag, i, v->admin_key, c->admin_sk[i]);
        snprintf(v->org_id, sizeof(v->org_id), "agency%u", (unsigned)i);
        snprintf(v->org_name, sizeof(v->org_name), "Agency %u", (unsigned)i);
    }
    char why[256];
    int rc = ledger_genesis_finish(&c->g, why, sizeof(why));
    if (rc != 0)
        fail_msg("genesis: %s", why);
}

void tst_tmpdir(char *out, size_t out_len)
{
    assert_true(out_len >= 64);
    snprintf(out, out_len, "/tmp/sealchain-test-XXXXXX");
    assert_non_null(mkdtemp(out));
}

void tst_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void tst_cert(const struct tst_chain *c, uint64_t height, uint64_t view,
              const uint8_t hash[static LEDGER_HASH_LEN], uint8_t **out, size_t *out_len)
{
    uint32_t q = ledger_genesis_quorum(c->g.n);
    uint32_t signers[LEDGER_MAX_VALIDATORS];
    uint8_t(*sigs)[LEDGER_SIG_LEN] = malloc(q * LEDGER_SIG_LEN);
    assert_non_null(sigs);
    uint8_t payload[LEDGER_COMMIT_PAYLOAD_LEN];
    ledger_commit_payload(height, view, hash, payload);
    for (uint32_t i = 0; i < q; i++) {
        signers[i] = i;
        assert_int_equal(ledger_sign(LEDGER_TAG_COMMIT, c->g.hash, payload, sizeof(payload),
                                     c->node_sk[i], sigs[i]),
                         0);
    }
    assert_int_equal(ledger_cert_build(height, view, hash, signers,
                                       (const uint8_t(*)[LEDGER_SIG_LEN])sigs, q, out, out_len),
                     0);
    free(sigs);
}

int tst_commit(struct ledger *l, const struct tst_chain *c, const struct ledger_txref *txs,
               size_t n, uint64_t time_ms, size_t *out_refused, uint8_t **out_block,
               size_t *out_block_len, uint8_t **out_cert, size_t *out_cert_len)
{
    uint8_t *block, *cert, hash[LEDGER_HASH_LEN];
    size_t len, cert_len, refused = 0, used = 0;
    struct ledger_refusal *ref = calloc(n + 1, sizeof(*ref));
    assert_non_null(ref);
    struct ledger_tip tip;
    ledger_tip_get(l, &tip);
    /* Each block in a view of its own (as if every block followed a view
     * change), proposed by that view's primary and certified in it. */
    uint64_t view = tip.height;
    int rc = ledger_build_block(l, txs, n, time_ms, (uint32_t)(view % c->g.n), view, &block, &len,
                                hash, ref, &refused, &used);
    if (out_refused != NULL)
        *out_refused = refused;
    if (refused > 0 && out_refused == NULL)
        print_message("tst_commit: tx %zu refused: %s\n", ref[0].index, ref[0].reason);
    free(ref);
    if (rc != 0)
        return rc;
    tst_cert(c, tip.height + 1, view, hash, &cert, &cert_len);
    rc = ledger_commit_block(l, block, len, cert, cert_len);
    if (out_block != NULL) {
        *out_block = block;
        *out_block_len = len;
        *out_cert = cert;
        *out_cert_len = cert_len;
    } else {
        free(block);
        free(cert);
    }
    return rc;
}

/* ---- the seal workload ------------------------------------------------------------ */

static uint64_t next_rand(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t tst_work_time(const struct tst_work *w)
{
    return TST_GENESIS_TIME + w->height * TST_BLOCK_MS;
}

void tst_work_init(struct tst_work *w, const struct tst_chain *c, uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    w->c = c;
    w->rng = seed;
    w->height = 1;
    char s17[18];
    snprintf(s17, sizeof(s17), "91330100MA%07u", (unsigned)(seed % 10000000));
    snprintf(w->org_id, sizeof(w->org_id), "%s%c", s17, ledger_credit_code_check_char(s17));
    assert_true(ledger_credit_code_valid(w->org_id));
    char tag[64];
    snprintf(tag, sizeof(tag), "work%llu", (unsigned long long)seed);
    tst_keypair(tag, 0, w->admin_pk, w->admin_sk);
    tst_keypair(tag, 1, w->user_pk, w->user_sk);
    tst_keypair(tag, 2, w->user2_pk, w->user2_sk);
    for (uint32_t i = 0; i < 3; i++)
        tst_keypair(tag, 10 + i, w->appr_pk[i], w->appr_sk[i]);
    for (uint32_t i = 0; i < TST_WORK_MAX_SEALS; i++)
        tst_keypair(tag, 20 + i, w->seal_pk[i], w->seal_sk[i]);
}

/* tx and len are read after the call: a builder's result is an argument of
 * the same call, and C leaves the order of argument evaluation open. */
static void add_tx(struct tst_work *w, int rc, uint8_t **txp, size_t *lenp)
{
    uint8_t *tx = *txp;
    size_t len = *lenp;
    assert_int_equal(rc, 0);
    assert_true(w->n_tx < TST_WORK_MAX_TXS);
    w->tx[w->n_tx] = tx;
    w->tx_len[w->n_tx] = len;
    w->refs[w->n_tx] = (struct ledger_txref){ .data = tx, .len = len };
    w->n_tx++;
}

static const uint8_t *last_id(const struct tst_work *w, uint8_t id[static LEDGER_HASH_LEN])
{
    assert_int_equal(ledger_tx_id(w->tx[w->n_tx - 1], w->tx_len[w->n_tx - 1], id), 0);
    return id;
}

static void work_setup(struct tst_work *w, uint64_t until)
{
    uint8_t *tx;
    size_t len;
    const struct ledger_genesis *g = &w->c->g;
    if (w->height == 1) {
        add_tx(w,
               ledger_txb_org_register(g, w->c->admin_sk[0], until, w->org_id, "Test Org Ltd",
                                       w->admin_pk, NULL, &tx, &len),
               &tx, &len);
    } else if (w->height == 2) {
        static const int types[] = { SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL,
                                     SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT,
                                     SEALCHAIN__SEAL_TYPE__SEAL_TYPE_FINANCE };
        for (size_t i = 0; i < 3; i++) {
            struct ledger_txb_seal p = {
                .org_id = w->org_id, .type = types[i], .name = "Seal", .seal_key = w->seal_pk[i]
            };
            add_tx(w, ledger_txb_seal_register(g, w->admin_sk, until, &p, &tx, &len), &tx, &len);
            last_id(w, w->seal_id[i]);
            memcpy(w->last_hist[i], w->seal_id[i], LEDGER_HASH_LEN);
        }
        w->n_seals = 3;
    } else {
        for (size_t i = 0; i < w->n_seals; i++) {
            struct ledger_txb_grant p = { .seal_id = w->seal_id[i], .user_key = w->user_pk };
            add_tx(w, ledger_txb_grant(g, w->admin_sk, until, &p, &tx, &len), &tx, &len);
            last_id(w, w->silent_grant[i]);
        }
        struct ledger_txb_grant p = { .seal_id = w->seal_id[0],
                                      .user_key = w->user2_pk,
                                      .approvers = (const uint8_t(*)[LEDGER_KEY_LEN])w->appr_pk,
                                      .n_approvers = 3,
                                      .threshold = 2 };
        add_tx(w, ledger_txb_grant(g, w->admin_sk, until, &p, &tx, &len), &tx, &len);
        last_id(w, w->appr_grant);
    }
}

/* Approvals (or rejections) of the oldest pending use, and a new pending use. */
static void work_approvals(struct tst_work *w, uint64_t until)
{
    const struct ledger_genesis *g = &w->c->g;
    uint8_t *tx, doc[LEDGER_HASH_LEN];
    size_t len;
    if (w->n_pending > 0) {
        bool reject = next_rand(&w->rng) % 4 == 0;
        for (size_t a = 0; a < 2; a++) {
            size_t who = reject ? a + 1 : a;
            int rc =
                reject
                    ? ledger_txb_reject(g, w->appr_sk[who], until, w->pending[0], "no", &tx, &len)
                    : ledger_txb_approve(g, w->appr_sk[who], until, w->pending[0], &tx, &len);
            add_tx(w, rc, &tx, &len);
        }
        memmove(w->pending[0], w->pending[1], (w->n_pending - 1) * LEDGER_HASH_LEN);
        w->n_pending--;
    }
    if (w->n_pending < 16 && !w->suspended[0]) {
        uint64_t d = next_rand(&w->rng) % 50;
        ledger_sha256(&d, sizeof(d), doc);
        add_tx(w,
               ledger_txb_use(g, w->user2_sk, until, w->seal_sk[0], w->seal_id[0], w->appr_grant,
                              doc, NULL, NULL, &tx, &len),
               &tx, &len);
        last_id(w, w->pending[w->n_pending++]);
    }
}

/* Seal 2 is suspended and resumed in turn by the org admin. */
static void work_lifecycle(struct tst_work *w, uint64_t until)
{
    uint8_t *tx;
    size_t len;
    const struct ledger_genesis *g = &w->c->g;
    int rc = w->suspended[2] ? ledger_txb_resume(g, w->admin_sk, until, w->seal_id[2],
                                                 w->last_hist[2], &tx, &len)
                             : ledger_txb_suspend(g, w->admin_sk, until, w->seal_id[2],
                                                  w->last_hist[2], "audit", &tx, &len);
    add_tx(w, rc, &tx, &len);
    last_id(w, w->last_hist[2]);
    w->suspended[2] = !w->suspended[2];
}

void tst_work_next(struct tst_work *w, size_t uses_per_block)
{
    tst_work_free(w);
    uint64_t until = tst_work_time(w) + 3600 * 1000;
    if (w->height <= 3) {
        work_setup(w, until);
    } else {
        work_approvals(w, until);
        if (w->height % 5 == 0)
            work_lifecycle(w, until);
        size_t uses = uses_per_block > 0 ? 1 + next_rand(&w->rng) % uses_per_block : 0;
        for (size_t i = 0; i < uses && w->n_tx < TST_WORK_MAX_TXS; i++) {
            size_t s = next_rand(&w->rng) % w->n_seals;
            if (w->suspended[s])
                continue;
            uint8_t doc[LEDGER_HASH_LEN], *tx;
            size_t len;
            uint64_t d = next_rand(&w->rng) % 100;
            ledger_sha256(&d, sizeof(d), doc);
            add_tx(w,
                   ledger_txb_use(&w->c->g, w->user_sk, until, w->seal_sk[s], w->seal_id[s],
                                  w->silent_grant[s], doc, NULL, NULL, &tx, &len),
                   &tx, &len);
        }
    }
    w->height++;
}

void tst_work_free(struct tst_work *w)
{
    for (size_t i = 0; i < w->n_tx; i++)
        free(w->tx[i]);
    w->n_tx = 0;
}

/* ---- state digest ---------------------------------------------------------------- */

struct digest_ctx {
    crypto_hash_sha256_state st;
    size_t count;
};

static int digest_one(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                      size_t val_len)
{
    struct digest_ctx *d = arg;
    uint8_t len[4];
    ledger_put_u32be(len, (uint32_t)key_len);
    crypto_hash_sha256_update(&d->st, len, 4);
    crypto_hash_sha256_update(&d->st, key, key_len);
    ledger_put_u32be(len, (uint32_t)val_len);
    crypto_hash_sha256_update(&d->st, len, 4);
    crypto_hash_sha256_update(&d->st, val, val_len);
    d->count++;
    return 0;
}

void tst_state_digest(struct ledger_store *s, uint8_t out[static LEDGER_HASH_LEN],
                      size_t *out_count)
{
    struct digest_ctx d = { .count = 0 };
    crypto_hash_sha256_init(&d.st);
    struct ledger_rtxn *r;
    assert_int_equal(ledger_rtxn_begin(s, &r), 0);
    for (int p = 0; p < 256; p++) { /* every first byte: a stray key would show */
        uint8_t prefix = (uint8_t)p;
        assert_int_equal(ledger_rtxn_state_scan(r, &prefix, 1, digest_one, &d), 0);
    }
    ledger_rtxn_end(r);
    crypto_hash_sha256_final(&d.st, out);
    if (out_count != NULL)
        *out_count = d.count;
}
