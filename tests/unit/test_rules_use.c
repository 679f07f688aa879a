/* Ledger rules: use (用印) and approval (用印审批): approve, reject, lapse, held uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/txbuild.h"
#include "util_expect.h"
#include "util_fixture.h"

#define DAY (24ull * 3600 * 1000)

/* The world, plus three approvers and an approval grant (2 of 3) to user2. */
struct aw {
    struct tfx_world w;
    struct tfx_key user2, ap[3];
    uint8_t agrant[32];
};

static int make_grant(struct tfx_chain *c, const uint8_t *sk, const uint8_t *seal,
                      const uint8_t *user, const struct tfx_key *ap, size_t n, uint32_t m,
                      uint32_t max_uses, uint64_t expires, uint64_t window, uint8_t id[32])
{
    uint8_t a[4][32], *tx;
    size_t len;
    for (size_t i = 0; i < n; i++)
        memcpy(a[i], ap[i].pk, 32);
    struct ledger_txb_grant p = { seal, user, expires, max_uses, (const uint8_t(*)[32])a,
                                  n,    m,    window };
    assert_int_equal(ledger_txb_grant(&c->g, sk, tfx_vu(c), &p, &tx, &len), 0);
    return tfx_run(c, tx, len, id);
}

static int setup(void **state)
{
    struct aw *a = calloc(1, sizeof(*a));
    tfx_world_init(&a->w, 4);
    tfx_key_make(30, 0, &a->user2);
    for (uint32_t i = 0; i < 3; i++)
        tfx_key_make(31, i, &a->ap[i]);
    struct tfx_chain *c = a->w.c;
    if (make_grant(c, a->w.custodian.sk, a->w.seal, a->user2.pk, a->ap, 3, 2, 0, 0, 0, a->agrant))
        return -1;
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    struct aw *a = *state;
    tfx_world_close(&a->w);
    free(a);
    return 0;
}

/* One use in its own block. */
static int use1(struct tfx_chain *c, const struct tfx_key *user, const struct tfx_key *sk,
                const uint8_t *seal, const uint8_t *grant, uint8_t id[32])
{
    int rc = tfx_use(c, user, sk, seal, grant, (uint32_t)c->height, id);
    tfx_block_commit(c);
    return rc;
}

static int vote(struct tfx_chain *c, bool approve, const struct tfx_key *k, const uint8_t *usage)
{
    uint8_t *tx;
    size_t len;
    int rc = approve ? ledger_txb_approve(&c->g, k->sk, tfx_vu(c), usage, &tx, &len)
                     : ledger_txb_reject(&c->g, k->sk, tfx_vu(c), usage, "no", &tx, &len);
    assert_int_equal(rc, 0);
    return tfx_run(c, tx, len, NULL);
}

static Sealchain__UsageRecord *usage(struct tfx_chain *c, const uint8_t *id)
{
    Sealchain__UsageRecord *u = tfx_usage(c, id);
    assert_non_null(u);
    return u;
}

static int usage_status(struct tfx_chain *c, const uint8_t *id)
{
    Sealchain__UsageRecord *u = usage(c, id);
    int s = u->status;
    sealchain__usage_record__free_unpacked(u, NULL);
    return s;
}

static uint32_t grant_uses(struct tfx_chain *c, const uint8_t *id, size_t *n_pending)
{
    Sealchain__GrantRecord *g = tfx_grant(c, id);
    assert_non_null(g);
    uint32_t u = g->uses;
    if (n_pending != NULL)
        *n_pending = g->n_pending;
    sealchain__grant_record__free_unpacked(g, NULL);
    return u;
}

static int suspend(struct tfx_chain *c, const struct tfx_key *k, const uint8_t *seal)
{
    uint8_t last[32], *tx;
    size_t len;
    tfx_last(c, seal, last);
    assert_int_equal(ledger_txb_suspend(&c->g, k->sk, tfx_vu(c), seal, last, NULL, &tx, &len), 0);
    return tfx_run(c, tx, len, NULL);
}

#define EFFECTIVE SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE
#define PENDING   SEALCHAIN__USAGE_STATUS__USAGE_STATUS_PENDING
#define REJECTED  SEALCHAIN__USAGE_STATUS__USAGE_STATUS_REJECTED
#define LAPSED    SEALCHAIN__USAGE_STATUS__USAGE_STATUS_LAPSED

/* --- use ------------------------------------------------------------------------------------ */

static void silent_use_is_effective_at_once_and_indexed(void **state)
{
    struct aw *a = *state;
    struct tfx_world *w = &a->w;
    struct tfx_chain *c = w->c;
    uint8_t id[32];
    TFX_EXPECT(c, tfx_use(c, &w->user, &w->seal_key, w->seal, w->grant, 42, id), 0);
    tfx_block_commit(c);
    Sealchain__UsageRecord *u = usage(c, id);
    assert_int_equal(u->status, EFFECTIVE);
    assert_int_equal(u->effective_height, c->height);
    assert_int_equal(u->height, c->height);
    assert_memory_equal(u->user_key.data, w->user.pk, 32);
    uint8_t doc[32], key[65], pos[12];
    uint32_t d = 42;
    ledger_sha256(&d, sizeof(d), doc);
    assert_memory_equal(u->doc_hash.data, doc, 32);
    sealchain__usage_record__free_unpacked(u, NULL);
    tfx_key2(key, LEDGER_K_DOC, doc, 32, id, 32);
    assert_true(tfx_get(c, key, 65, NULL, 0, NULL));
    ledger_put_u64be(pos, c->height);
    ledger_put_u32be(pos + 8, 0);
    uint8_t ekey[45], v[32];
    tfx_key2(ekey, LEDGER_K_SEAL_USAGES, w->seal, 32, pos, 12);
    assert_true(tfx_get(c, ekey, 45, v, 32, NULL));
    assert_memory_equal(v, id, 32);
    assert_int_equal(grant_uses(c, w->grant, NULL), 1);
}

static void use_by_someone_other_than_the_grants_user_is_refused(void **state)
{
    struct aw *a = *state;
    struct tfx_world *w = &a->w;
    /* other names user's grant. */
    TFX_EXPECT(w->c, use1(w->c, &w->other, &w->seal_key, w->seal, w->grant, NULL),
               LEDGER_E_NOT_AUTHORISED);
}

static void use_with_a_missing_grant_is_refused(void **state)
{
    struct aw *a = *state;
    struct tfx_world *w = &a->w;
    uint8_t nope[32] = { 3 };
    TFX_EXPECT(w->c, use1(w->c, &w->user, &w->seal_key, w->seal, nope, NULL),
               LEDGER_E_GRANT_MISSING);
    /* A grant of another seal does not cover this one. */
    struct tfx_key k;
    uint8_t seal2[32], g2[32], *tx;
    size_t len;
    tfx_key_make(32, 0, &k);
    struct ledger_txb_seal sp = {
        w->org, SEALCHAIN__SEAL_TYPE__SEAL_TYPE_FINANCE, "F", k.pk, NULL, NULL, 0, 0
    };
    assert_int_equal(ledger_txb_seal_register(&w->c->g, w->admin.sk, tfx_vu(w->c), &sp, &tx, &len),
                     0);
    TFX_EXPECT(w->c, tfx_run(w->c, tx, len, seal2), 0);
    TFX_EXPECT(w->c, make_grant(w->c, w->admin.sk, seal2, w->user.pk, NULL, 0, 0, 0, 0, 0, g2), 0);
    TFX_EXPECT(w->c, use1(w->c, &w->user, &w->seal_key, w->seal, g2, NULL), LEDGER_E_GRANT_MISSING);
    TFX_EXPECT(w->c, use1(w->c, &w->user, &k, seal2, g2, NULL), 0);
}

static void use_of_an_unknown_seal_is_refused(void **state)
{
    struct aw *a = *state;
    struct tfx_world *w = &a->w;
    uint8_t nope[32] = { 4 };
    TFX_EXPECT(w->c, use1(w->c, &w->user, &w->seal_key, nope, w->grant, NULL),
               LEDGER_E_UNKNOWN_SEAL);
}

static void use_with_a_bad_seal_signature_is_refused(void **state)
{
    struct aw *a = *state;
    struct tfx_world *w = &a->w;
    /* Signed with another key than the seal's. */
    TFX_EXPECT(w->c, use1(w->c, &w->user, &w->other, w->seal, w->grant, NULL),
               LEDGER_E_BAD_SEAL_SIGNATURE);
    assert_int_equal(grant_uses(w->c, w->grant, NULL), 0);
}

static void use_outside_the_seal_window_is_refused(void **state)
{
    struct aw *a = *state;
    struct tfx_world *w = &a->w;
    struct tfx_chain *c = w->c;
    struct tfx_key k;
    uint8_t seal2[32], g2[32], *tx;
    size_t len;
    tfx_key_make(32, 1, &k);
    uint64_t from = c->time_ms + 10 * TFX_BLOCK_MS, to = from + 5 * TFX_BLOCK_MS;
    struct ledger_txb_seal sp = {
        w->org, SEALCHAIN__SEAL_TYPE__SEAL_TYPE_FINANCE, "F", k.pk, NULL, NULL, from, to
    };
    assert_int_equal(ledger_txb_seal_register(&c->g, w->admin.sk, tfx_vu(c), &sp, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, seal2), 0);
    TFX_EXPECT(c, make_grant(c, w->admin.sk, seal2, w->user.pk, NULL, 0, 0, 0, 0, 0, g2), 0);
    TFX_EXPECT(c, use1(c, &w->user, &k, seal2, g2, NULL), LEDGER_E_SEAL_OUTSIDE_WINDOW);
    tfx_block_open(c, from);
    TFX_EXPECT(c, tfx_use(c, &w->user, &k, seal2, g2, 1, NULL), 0);
    tfx_block_commit(c);
    tfx_block_open(c, to);
    TFX_EXPECT(c, tfx_use(c, &w->user, &k, seal2, g2, 2, NULL), 0);
    tfx_block_commit(c);
    tfx_block_open(c, to + 1);
    TFX_EXPECT(c, tfx_use(c, &w->user, &k, seal2, g2, 3, NULL), LEDGER_E_SEAL_OUTSIDE_WINDOW);
    tfx_block_commit(c);
}

static void use_of_an_expired_grant_is_refused(void **state)
{
    struct aw *a = *state;
    struct tfx_world *w = &a->w;
    struct tfx_chain *c = w->c;
    uint8_t g[32];
    uint64_t exp = c->time_ms + 3 * TFX_BLOCK_MS;
    TFX_EXPECT(c, make_grant(c, w->admin.sk, w->seal, w->other.pk, NULL, 0, 0, 0, exp, 0, g), 0);
    tfx_block_open(c, exp);
    TFX_EXPECT(c, tfx_use(c, &w->other, &w->seal_key, w->seal, g, 1, NULL), 0);
    tfx_block_commit(c);
    tfx_block_open(c, exp + 1);
    TFX_EXPECT(c, tfx_use(c, &w->other, &w->seal_key, w->seal, g, 2, NULL), LEDGER_E_GRANT_EXPIRED);
    tfx_block_commit(c);
    /* A grant already expired when made is refused outright. */
    TFX_EXPECT(c, make_grant(c, w->admin.sk, w->seal, w->other.pk, NULL, 0, 0, 0, exp, 0, g),
               LEDGER_E_GRANT_EXPIRED);
}

static void use_beyond_max_uses_is_refused(void **state)
{
    struct aw *a = *state;
    struct tfx_world *w = &a->w;
    struct tfx_chain *c = w->c;
    uint8_t g[32];
    TFX_EXPECT(c, make_grant(c, w->admin.sk, w->seal, w->other.pk, NULL, 0, 0, 2, 0, 0, g), 0);
    /* Two in one block: the second sees the first. */
    TFX_EXPECT(c, tfx_use(c, &w->other, &w->seal_key, w->seal, g, 1, NULL), 0);
    TFX_EXPECT(c, tfx_use(c, &w->other, &w->seal_key, w->seal, g, 2, NULL), 0);
    TFX_EXPECT(c, tfx_use(c, &w->other, &w->seal_key, w->seal, g, 3, NULL), LEDGER_E_GRANT_USED_UP);
    tfx_block_commit(c);
    TFX_EXPECT(c, use1(c, &w->other, &w->seal_key, w->seal, g, NULL), LEDGER_E_GRANT_USED_UP);
    assert_int_equal(grant_uses(c, g, NULL), 2);
}

/* --- approval ----------------------------------------------------------------------------------
 */

static void approval_use_is_pending_until_m_approvals(void **state)
{
    struct aw *a = *state;
    struct tfx_chain *c = a->w.c;
    uint8_t u[32];
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, a->agrant, u), 0);
    assert_int_equal(usage_status(c, u), PENDING);
    size_t np;
    assert_int_equal(grant_uses(c, a->agrant, &np), 1);
    assert_int_equal(np, 1);
    TFX_EXPECT(c, vote(c, true, &a->ap[0], u), 0);
    assert_int_equal(usage_status(c, u), PENDING);
    TFX_EXPECT(c, vote(c, true, &a->ap[2], u), 0);
    Sealchain__UsageRecord *r = usage(c, u);
    assert_int_equal(r->status, EFFECTIVE);
    assert_int_equal(r->effective_height, c->height);
    assert_int_equal(r->n_approvals, 2);
    assert_int_equal(r->n_approval_txs, 2);
    assert_memory_equal(r->approvals[1].data, a->ap[2].pk, 32);
    sealchain__usage_record__free_unpacked(r, NULL);
    assert_int_equal(grant_uses(c, a->agrant, &np), 1);
    assert_int_equal(np, 0);
    /* Nothing more to vote on. */
    TFX_EXPECT(c, vote(c, true, &a->ap[1], u), LEDGER_E_USAGE_NOT_PENDING);
    TFX_EXPECT(c, vote(c, false, &a->ap[1], u), LEDGER_E_USAGE_NOT_PENDING);
}

static void rejection_that_makes_m_unreachable_rejects_and_releases_the_use(void **state)
{
    struct aw *a = *state;
    struct tfx_chain *c = a->w.c;
    uint8_t u[32];
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, a->agrant, u), 0);
    TFX_EXPECT(c, vote(c, false, &a->ap[0], u), 0); /* 2 of the 2 left can still approve */
    assert_int_equal(usage_status(c, u), PENDING);
    TFX_EXPECT(c, vote(c, false, &a->ap[1], u), 0); /* 1 left < m = 2 */
    Sealchain__UsageRecord *r = usage(c, u);
    assert_int_equal(r->status, REJECTED);
    assert_int_equal(r->n_rejections, 2);
    assert_int_equal(r->decided_ms, c->time_ms);
    sealchain__usage_record__free_unpacked(r, NULL);
    size_t np;
    assert_int_equal(grant_uses(c, a->agrant, &np), 0);
    assert_int_equal(np, 0);
    TFX_EXPECT(c, vote(c, true, &a->ap[2], u), LEDGER_E_USAGE_NOT_PENDING);
}

static void a_pending_use_holds_one_of_the_grants_uses(void **state)
{
    struct aw *a = *state;
    struct tfx_chain *c = a->w.c;
    uint8_t g[32], u1[32], u2[32];
    TFX_EXPECT(c, make_grant(c, a->w.admin.sk, a->w.seal, a->user2.pk, a->ap, 3, 1, 1, 0, 0, g), 0);
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, g, u1), 0);
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, g, NULL), LEDGER_E_GRANT_USED_UP);
    /* m = 1 of 3: rejections only decide when fewer than 1 approver is left. */
    TFX_EXPECT(c, vote(c, false, &a->ap[0], u1), 0);
    TFX_EXPECT(c, vote(c, false, &a->ap[1], u1), 0);
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, g, NULL), LEDGER_E_GRANT_USED_UP);
    TFX_EXPECT(c, vote(c, false, &a->ap[2], u1), 0);
    assert_int_equal(usage_status(c, u1), REJECTED);
    /* Released: the one use is free again. */
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, g, u2), 0);
    TFX_EXPECT(c, vote(c, true, &a->ap[1], u2), 0);
    assert_int_equal(usage_status(c, u2), EFFECTIVE);
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, g, NULL), LEDGER_E_GRANT_USED_UP);
}

static void a_pending_use_lapses_after_the_approval_window(void **state)
{
    struct aw *a = *state;
    struct tfx_chain *c = a->w.c;
    uint8_t g[32], u1[32], u2[32];
    uint64_t window = 10 * TFX_BLOCK_MS;
    TFX_EXPECT(
        c, make_grant(c, a->w.admin.sk, a->w.seal, a->user2.pk, a->ap, 3, 2, 1, 0, window, g), 0);
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, g, u1), 0);
    uint64_t t1 = c->time_ms;
    TFX_EXPECT(c, vote(c, true, &a->ap[0], u1), 0);
    /* At the end of the window it is still pending (and still holds the use). */
    tfx_block_open(c, t1 + window);
    TFX_EXPECT(c, tfx_use(c, &a->user2, &a->w.seal_key, a->w.seal, g, 5, NULL),
               LEDGER_E_GRANT_USED_UP);
    tfx_block_commit(c);
    Sealchain__UsageRecord *r = usage(c, u1);
    assert_int_equal(ledger_usage_status_at(r->status, r->time_ms, window, t1 + window), PENDING);
    assert_int_equal(ledger_usage_status_at(r->status, r->time_ms, window, t1 + window + 1),
                     LAPSED);
    sealchain__usage_record__free_unpacked(r, NULL);
    /* After it: an approval is refused, the stored status is untouched by the refusal. */
    tfx_block_open(c, t1 + window + 1);
    TFX_EXPECT(c, vote(c, true, &a->ap[1], u1), LEDGER_E_USAGE_NOT_PENDING);
    assert_int_equal(usage_status(c, u1), PENDING);
    /* The next use under the grant lapses it, gets the released use. */
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, g, u2), 0);
    r = usage(c, u1);
    assert_int_equal(r->status, LAPSED);
    assert_int_equal(r->decided_ms, t1 + window);
    sealchain__usage_record__free_unpacked(r, NULL);
    size_t np;
    assert_int_equal(grant_uses(c, g, &np), 1);
    assert_int_equal(np, 1);
}

static void a_reject_lapses_older_pending_uses_of_the_grant(void **state)
{
    struct aw *a = *state;
    struct tfx_chain *c = a->w.c;
    uint8_t g[32], u1[32], u2[32];
    uint64_t window = 5 * TFX_BLOCK_MS;
    TFX_EXPECT(
        c, make_grant(c, a->w.admin.sk, a->w.seal, a->user2.pk, a->ap, 3, 2, 0, 0, window, g), 0);
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, g, u1), 0);
    tfx_block_open(c, c->time_ms + window - TFX_BLOCK_MS);
    TFX_EXPECT(c, tfx_use(c, &a->user2, &a->w.seal_key, a->w.seal, g, 9, u2), 0);
    tfx_block_commit(c);
    assert_int_equal(grant_uses(c, g, NULL), 2);
    TFX_EXPECT(c, vote(c, false, &a->ap[0], u2), 0);
    tfx_block_open(c, c->time_ms + 3 * TFX_BLOCK_MS);
    TFX_EXPECT(c, vote(c, false, &a->ap[1], u2), 0);
    assert_int_equal(usage_status(c, u1), LAPSED);
    assert_int_equal(usage_status(c, u2), REJECTED);
    size_t np;
    assert_int_equal(grant_uses(c, g, &np), 0);
    assert_int_equal(np, 0);
}

static void the_deciding_approval_is_refused_after_suspension(void **state)
{
    struct aw *a = *state;
    struct tfx_chain *c = a->w.c;
    uint8_t u[32];
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, a->agrant, u), 0);
    TFX_EXPECT(c, suspend(c, &a->w.custodian, a->w.seal), 0);
    /* A vote that does not decide is still recorded... */
    TFX_EXPECT(c, vote(c, true, &a->ap[0], u), 0);
    /* ...but the one reaching m is refused while the seal is suspended. */
    TFX_EXPECT(c, vote(c, true, &a->ap[1], u), LEDGER_E_APPROVAL_INVALID);
    assert_int_equal(usage_status(c, u), PENDING);
    /* A rejection is still possible. */
    TFX_EXPECT(c, vote(c, false, &a->ap[1], u), 0);
    TFX_EXPECT(c, vote(c, false, &a->ap[2], u), 0);
    assert_int_equal(usage_status(c, u), REJECTED);
}

static void the_deciding_approval_is_refused_once_the_grant_is_revoked(void **state)
{
    struct aw *a = *state;
    struct tfx_chain *c = a->w.c;
    uint8_t u[32], *tx;
    size_t len;
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, a->agrant, u), 0);
    TFX_EXPECT(c, vote(c, true, &a->ap[0], u), 0);
    assert_int_equal(
        ledger_txb_revoke_grant(&c->g, a->w.admin.sk, tfx_vu(c), a->w.seal, a->user2.pk, &tx, &len),
        0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), 0);
    TFX_EXPECT(c, vote(c, true, &a->ap[1], u), LEDGER_E_APPROVAL_INVALID);
}

static void the_deciding_approval_is_refused_once_the_grant_expired(void **state)
{
    struct aw *a = *state;
    struct tfx_chain *c = a->w.c;
    uint8_t g[32], u[32];
    uint64_t exp = c->time_ms + 5 * TFX_BLOCK_MS;
    TFX_EXPECT(c, make_grant(c, a->w.admin.sk, a->w.seal, a->user2.pk, a->ap, 3, 1, 0, exp, 0, g),
               0);
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, g, u), 0);
    tfx_block_open(c, exp + 1);
    TFX_EXPECT(c, vote(c, true, &a->ap[0], u), LEDGER_E_APPROVAL_INVALID);
    assert_non_null(strstr(c->errmsg, "expired"));
}

static void the_deciding_approval_is_refused_outside_the_seal_window(void **state)
{
    struct aw *a = *state;
    struct tfx_world *w = &a->w;
    struct tfx_chain *c = w->c;
    struct tfx_key k;
    uint8_t seal2[32], g[32], u[32], *tx;
    size_t len;
    tfx_key_make(32, 9, &k);
    uint64_t to = c->time_ms + 5 * TFX_BLOCK_MS;
    struct ledger_txb_seal sp = {
        w->org, SEALCHAIN__SEAL_TYPE__SEAL_TYPE_FINANCE, "F", k.pk, NULL, NULL, 0, to
    };
    assert_int_equal(ledger_txb_seal_register(&c->g, w->admin.sk, tfx_vu(c), &sp, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, seal2), 0);
    TFX_EXPECT(c, make_grant(c, w->admin.sk, seal2, a->user2.pk, a->ap, 3, 1, 0, 0, 0, g), 0);
    TFX_EXPECT(c, use1(c, &a->user2, &k, seal2, g, u), 0);
    tfx_block_open(c, to + 1);
    TFX_EXPECT(c, vote(c, true, &a->ap[2], u), LEDGER_E_APPROVAL_INVALID);
}

static void refusals_name_the_object_and_the_reason(void **state)
{
    struct aw *a = *state;
    struct tfx_world *w = &a->w;
    struct tfx_chain *c = w->c;
    uint8_t last[32], *tx;
    size_t len;
    tfx_last(c, w->seal, last);
    assert_int_equal(
        ledger_txb_suspend(&c->g, w->admin.sk, tfx_vu(c), w->seal, last, NULL, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), 0);
    TFX_EXPECT(c, use1(c, &w->user, &w->seal_key, w->seal, w->grant, NULL),
               LEDGER_E_SEAL_SUSPENDED);
    char want[64], hex[9];
    ledger_hex(w->seal, 4, hex);
    snprintf(want, sizeof(want), "seal %s\xe2\x80\xa6: suspended", hex);
    assert_string_equal(c->errmsg, want);
}

static void only_approvers_vote_and_only_once(void **state)
{
    struct aw *a = *state;
    struct tfx_chain *c = a->w.c;
    uint8_t u[32], s[32], nope[32] = { 1 };
    TFX_EXPECT(c, use1(c, &a->user2, &a->w.seal_key, a->w.seal, a->agrant, u), 0);
    TFX_EXPECT(c, vote(c, true, &a->user2, u), LEDGER_E_NOT_APPROVER);
    TFX_EXPECT(c, vote(c, true, &a->w.custodian, u), LEDGER_E_NOT_APPROVER);
    TFX_EXPECT(c, vote(c, true, &a->ap[0], u), 0);
    TFX_EXPECT(c, vote(c, true, &a->ap[0], u), LEDGER_E_ALREADY_VOTED);
    TFX_EXPECT(c, vote(c, false, &a->ap[0], u), LEDGER_E_ALREADY_VOTED);
    TFX_EXPECT(c, vote(c, false, &a->ap[1], u), 0);
    TFX_EXPECT(c, vote(c, true, &a->ap[1], u), LEDGER_E_ALREADY_VOTED);
    TFX_EXPECT(c, vote(c, true, &a->ap[0], nope), LEDGER_E_UNKNOWN_USAGE);
    /* A silent use has no approvers at all. */
    TFX_EXPECT(c, use1(c, &a->w.user, &a->w.seal_key, a->w.seal, a->w.grant, s), 0);
    TFX_EXPECT(c, vote(c, true, &a->ap[0], s), LEDGER_E_NOT_APPROVER);
}

static void too_many_pending_uses_are_refused(void **state)
{
    struct aw *a = *state;
    struct tfx_chain *c = a->w.c;
    for (int i = 0; i < 256; i++)
        TFX_EXPECT(
            c, tfx_use(c, &a->user2, &a->w.seal_key, a->w.seal, a->agrant, (uint32_t)i, NULL), 0);
    TFX_EXPECT(c, tfx_use(c, &a->user2, &a->w.seal_key, a->w.seal, a->agrant, 999, NULL),
               LEDGER_E_TOO_MANY_PENDING);
    tfx_block_commit(c);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(silent_use_is_effective_at_once_and_indexed),
        T(use_by_someone_other_than_the_grants_user_is_refused),
        T(use_with_a_missing_grant_is_refused),
        T(use_of_an_unknown_seal_is_refused),
        T(use_with_a_bad_seal_signature_is_refused),
        T(use_outside_the_seal_window_is_refused),
        T(use_of_an_expired_grant_is_refused),
        T(use_beyond_max_uses_is_refused),
        T(approval_use_is_pending_until_m_approvals),
        T(rejection_that_makes_m_unreachable_rejects_and_releases_the_use),
        T(a_pending_use_holds_one_of_the_grants_uses),
        T(a_pending_use_lapses_after_the_approval_window),
        T(a_reject_lapses_older_pending_uses_of_the_grant),
        T(the_deciding_approval_is_refused_after_suspension),
        T(the_deciding_approval_is_refused_once_the_grant_is_revoked),
        T(the_deciding_approval_is_refused_once_the_grant_expired),
        T(the_deciding_approval_is_refused_outside_the_seal_window),
        T(refusals_name_the_object_and_the_reason),
        T(only_approvers_vote_and_only_once),
        T(too_many_pending_uses_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
