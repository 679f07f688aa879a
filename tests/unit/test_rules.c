/* Ledger rules: organisation filing, seal registration, grants, lifecycle (DESIGN.md §1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/err.h"
#include "ledger/txbuild.h"
#include "util_expect.h"
#include "util_fixture.h"

#define OFFICIAL SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL
#define CONTRACT SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT

static int setup(void **state)
{
    struct tfx_world *w = calloc(1, sizeof(*w));
    tfx_world_init(w, 4);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    tfx_world_close(*state);
    free(*state);
    return 0;
}

/* --- builders that run one tx in its own block --------------------------------------- */

static int org_register(struct tfx_chain *c, const uint8_t *sk, const char *id, const char *name,
                        const uint8_t *admin)
{
    uint8_t *tx;
    size_t len;
    assert_int_equal(
        ledger_txb_org_register(&c->g, sk, tfx_vu(c), id, name, admin, NULL, &tx, &len), 0);
    return tfx_run(c, tx, len, NULL);
}

static int seal_register(struct tfx_chain *c, const uint8_t *sk, const char *org, int type,
                         const uint8_t *seal_key, const uint8_t *custodian, uint8_t id[32])
{
    uint8_t *tx;
    size_t len;
    struct ledger_txb_seal p = { org, type, "A seal", seal_key, custodian, NULL, 0, 0 };
    assert_int_equal(ledger_txb_seal_register(&c->g, sk, tfx_vu(c), &p, &tx, &len), 0);
    return tfx_run(c, tx, len, id);
}

static int grant(struct tfx_chain *c, const uint8_t *sk, const uint8_t *seal, const uint8_t *user,
                 const uint8_t (*approvers)[32], size_t n, uint32_t m, uint8_t id[32])
{
    uint8_t *tx;
    size_t len;
    struct ledger_txb_grant p = { seal, user, 0, 0, approvers, n, m, 0 };
    assert_int_equal(ledger_txb_grant(&c->g, sk, tfx_vu(c), &p, &tx, &len), 0);
    return tfx_run(c, tx, len, id);
}

static int revoke(struct tfx_chain *c, const uint8_t *sk, const uint8_t *seal, const uint8_t *user)
{
    uint8_t *tx;
    size_t len;
    assert_int_equal(ledger_txb_revoke_grant(&c->g, sk, tfx_vu(c), seal, user, &tx, &len), 0);
    return tfx_run(c, tx, len, NULL);
}

enum lc { SUSPEND, RESUME, DESTROY };

/* A lifecycle tx naming prev (NULL: the seal's current latest entry). */
static int lifecycle(struct tfx_chain *c, enum lc op, const uint8_t *sk, const uint8_t *seal,
                     const uint8_t *prev, uint8_t id[32])
{
    uint8_t last[32], *tx;
    size_t len;
    if (prev == NULL) {
        tfx_last(c, seal, last);
        prev = last;
    }
    int rc = op == SUSPEND ? ledger_txb_suspend(&c->g, sk, tfx_vu(c), seal, prev, "lost", &tx, &len)
             : op == RESUME
                 ? ledger_txb_resume(&c->g, sk, tfx_vu(c), seal, prev, &tx, &len)
                 : ledger_txb_destroy(&c->g, sk, tfx_vu(c), seal, prev, "end", &tx, &len);
    assert_int_equal(rc, 0);
    return tfx_run(c, tx, len, id);
}

static int use(struct tfx_chain *c, const struct tfx_key *user, const struct tfx_key *seal_key,
               const uint8_t *seal, const uint8_t *grant_id)
{
    int rc = tfx_use(c, user, seal_key, seal, grant_id, 7, NULL);
    tfx_block_commit(c);
    return rc;
}

static int seal_status(struct tfx_chain *c, const uint8_t *seal)
{
    Sealchain__SealRecord *s = tfx_seal(c, seal);
    assert_non_null(s);
    int st = s->status;
    sealchain__seal_record__free_unpacked(s, NULL);
    return st;
}

/* --- organisation filing ------------------------------------------------------------- */

static void filing_authority_files_an_organisation(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    char id[19];
    tfx_credit_code(2, id);
    TFX_EXPECT(c, org_register(c, c->admin[2].sk, id, "Org Two 有限公司", w->other.pk), 0);
    Sealchain__OrgRecord *o = tfx_org(c, id);
    assert_non_null(o);
    assert_string_equal(o->name, "Org Two 有限公司");
    assert_memory_equal(o->admin_key.data, w->other.pk, 32);
    assert_int_equal(o->authority, 2);
    assert_int_equal(o->registered_height, c->height);
    assert_int_equal(o->official_seal.len, 0);
    sealchain__org_record__free_unpacked(o, NULL);
}

static void genesis_validator_orgs_exist_at_height_0(void **state)
{
    struct tfx_world *w = *state;
    Sealchain__OrgRecord *o = tfx_org(w->c, "agency3");
    assert_non_null(o);
    assert_int_equal(o->authority, 3);
    assert_int_equal(o->registered_height, 0);
    assert_memory_equal(o->admin_key.data, w->c->admin[3].pk, 32);
    sealchain__org_record__free_unpacked(o, NULL);
}

static void org_filing_by_a_non_authority_is_refused(void **state)
{
    struct tfx_world *w = *state;
    char id[19];
    tfx_credit_code(3, id);
    /* An org admin is not a filing authority. */
    TFX_EXPECT(w->c, org_register(w->c, w->admin.sk, id, "X", w->other.pk),
               LEDGER_E_NOT_AUTHORISED);
    assert_null(tfx_org(w->c, id));
}

static void org_filing_with_a_bad_credit_code_is_refused(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    const char *bad[] = { "91350100M000100Y44", "91350100m000100Y43", "91350100M000100Y4",
                          "agency9", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        TFX_EXPECT(c, org_register(c, c->admin[0].sk, bad[i], "X", w->other.pk),
                   LEDGER_E_BAD_CREDIT_CODE);
    TFX_EXPECT(c, org_register(c, c->admin[0].sk, "91350100M000100Y43", "X", w->other.pk), 0);
}

static void org_filed_twice_is_refused(void **state)
{
    struct tfx_world *w = *state;
    /* Another authority cannot file it again either. */
    TFX_EXPECT(w->c, org_register(w->c, w->c->admin[1].sk, w->org, "Again", w->other.pk),
               LEDGER_E_ORG_EXISTS);
}

static void org_filing_needs_a_name_and_a_32_byte_admin_key(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    char id[19];
    tfx_credit_code(4, id);
    TFX_EXPECT(c, org_register(c, c->admin[0].sk, id, "", w->other.pk), LEDGER_E_BAD_FIELD);
    char longname[LEDGER_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    TFX_EXPECT(c, org_register(c, c->admin[0].sk, id, longname, w->other.pk), LEDGER_E_BAD_FIELD);
    TFX_EXPECT(c, org_register(c, c->admin[0].sk, id, "tab\there", w->other.pk),
               LEDGER_E_BAD_FIELD);
    /* Not UTF-8: a stray byte, an overlong '/', a surrogate. */
    TFX_EXPECT(c, org_register(c, c->admin[0].sk, id, "bad\xff", w->other.pk), LEDGER_E_BAD_FIELD);
    TFX_EXPECT(c, org_register(c, c->admin[0].sk, id, "\xc0\xaf", w->other.pk), LEDGER_E_BAD_FIELD);
    TFX_EXPECT(c, org_register(c, c->admin[0].sk, id, "\xed\xa0\x80", w->other.pk),
               LEDGER_E_BAD_FIELD);
    /* A body with a 31-byte admin key. */
    Sealchain__OrgRegister op = SEALCHAIN__ORG_REGISTER__INIT;
    op.org_id = id;
    op.name = "X";
    op.admin_key.data = w->other.pk;
    op.admin_key.len = 31;
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    uint8_t nonce[16] = { 1 };
    body.nonce.data = nonce;
    body.nonce.len = 16;
    body.valid_until_ms = tfx_vu(c);
    body.op_case = SEALCHAIN__TX_BODY__OP_ORG_REGISTER;
    body.org_register = &op;
    uint8_t *tx;
    size_t len;
    assert_int_equal(ledger_txb_sign_body(&c->g, c->admin[0].sk, &body, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_BAD_FIELD);
    assert_null(tfx_org(c, id));
}

/* Signs a body holding op (nonce and valid_until filled in). */
static int run_body(struct tfx_chain *c, const uint8_t *sk, Sealchain__TxBody *body)
{
    static uint8_t nonce[16];
    nonce[0]++;
    body->nonce.data = nonce;
    body->nonce.len = 16;
    body->valid_until_ms = tfx_vu(c);
    uint8_t *tx;
    size_t len;
    assert_int_equal(ledger_txb_sign_body(&c->g, sk, body, &tx, &len), 0);
    return tfx_run(c, tx, len, NULL);
}

static ProtobufCBinaryData bytes_of(const uint8_t *p, size_t n)
{
    ProtobufCBinaryData b = { n, (uint8_t *)p };
    return b;
}

static void org_legal_rep_hash_is_empty_or_32_bytes(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    char id[19];
    uint8_t h[33] = { 1 };
    tfx_credit_code(5, id);
    Sealchain__OrgRegister op = SEALCHAIN__ORG_REGISTER__INIT;
    op.org_id = id;
    op.name = "X";
    op.admin_key = bytes_of(w->other.pk, 32);
    op.legal_rep_hash = bytes_of(h, 33);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_ORG_REGISTER;
    body.org_register = &op;
    TFX_EXPECT(c, run_body(c, c->admin[0].sk, &body), LEDGER_E_BAD_FIELD);
    op.legal_rep_hash = bytes_of(h, 32);
    TFX_EXPECT(c, run_body(c, c->admin[0].sk, &body), 0);
    Sealchain__OrgRecord *o = tfx_org(c, id);
    assert_int_equal(o->legal_rep_hash.len, 32);
    assert_memory_equal(o->legal_rep_hash.data, h, 32);
    sealchain__org_record__free_unpacked(o, NULL);
}

static void seal_custodian_image_and_key_sizes_are_checked(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    struct tfx_key k;
    tfx_key_make(20, 8, &k);
    uint8_t img[33] = { 2 };
    Sealchain__SealRegister op = SEALCHAIN__SEAL_REGISTER__INIT;
    op.org_id = w->org;
    op.type = CONTRACT;
    op.name = "C";
    op.seal_key = bytes_of(k.pk, 31);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_SEAL_REGISTER;
    body.seal_register = &op;
    TFX_EXPECT(c, run_body(c, w->admin.sk, &body), LEDGER_E_BAD_FIELD);
    op.seal_key = bytes_of(k.pk, 32);
    op.custodian_key = bytes_of(w->other.pk, 16);
    TFX_EXPECT(c, run_body(c, w->admin.sk, &body), LEDGER_E_BAD_FIELD);
    op.custodian_key = bytes_of(NULL, 0);
    op.image_hash = bytes_of(img, 33);
    TFX_EXPECT(c, run_body(c, w->admin.sk, &body), LEDGER_E_BAD_FIELD);
    op.image_hash = bytes_of(img, 32);
    TFX_EXPECT(c, run_body(c, w->admin.sk, &body), 0);
}

static void grant_keys_must_be_32_bytes(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    ProtobufCBinaryData ap[1] = { bytes_of(w->admin.pk, 31) };
    Sealchain__SealGrant op = SEALCHAIN__SEAL_GRANT__INIT;
    op.seal_id = bytes_of(w->seal, 32);
    op.user_key = bytes_of(w->other.pk, 31);
    Sealchain__TxBody body = SEALCHAIN__TX_BODY__INIT;
    body.op_case = SEALCHAIN__TX_BODY__OP_SEAL_GRANT;
    body.seal_grant = &op;
    TFX_EXPECT(c, run_body(c, w->custodian.sk, &body), LEDGER_E_BAD_FIELD);
    op.user_key = bytes_of(w->other.pk, 32);
    op.n_approvers = 1;
    op.approvers = ap;
    op.threshold = 1;
    TFX_EXPECT(c, run_body(c, w->custodian.sk, &body), LEDGER_E_BAD_FIELD);
    ap[0] = bytes_of(w->admin.pk, 32);
    TFX_EXPECT(c, run_body(c, w->custodian.sk, &body), 0);
}

/* --- seal registration ---------------------------------------------------------------- */

static void seal_registration_records_the_seal_and_its_history(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    Sealchain__SealRecord *s = tfx_seal(c, w->seal);
    assert_non_null(s);
    assert_memory_equal(s->seal_id.data, w->seal, 32);
    assert_string_equal(s->org_id, w->org);
    assert_int_equal(s->status, SEALCHAIN__SEAL_STATUS__SEAL_STATUS_ACTIVE);
    assert_memory_equal(s->custodian_key.data, w->custodian.pk, 32);
    assert_memory_equal(s->last_history_tx.data, w->seal, 32);
    assert_int_equal(s->history_count, 1);
    sealchain__seal_record__free_unpacked(s, NULL);
    Sealchain__HistoryEntry *h = tfx_history(c, w->seal, 0);
    assert_non_null(h);
    assert_int_equal(h->action, SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_REGISTER);
    assert_int_equal(h->role, SEALCHAIN__ROLE__ROLE_ORG_ADMIN);
    sealchain__history_entry__free_unpacked(h, NULL);
    uint8_t key[33], v[32];
    tfx_key2(key, LEDGER_K_SEAL_KEY, w->seal_key.pk, 32, NULL, 0);
    assert_true(tfx_get(c, key, 33, v, 32, NULL));
    assert_memory_equal(v, w->seal, 32);
    Sealchain__OrgRecord *o = tfx_org(c, w->org);
    assert_memory_equal(o->official_seal.data, w->seal, 32);
    sealchain__org_record__free_unpacked(o, NULL);
}

static void default_custodian_is_the_org_admin(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_key k;
    uint8_t id[32];
    tfx_key_make(20, 1, &k);
    TFX_EXPECT(w->c, seal_register(w->c, w->admin.sk, w->org, CONTRACT, k.pk, NULL, id), 0);
    Sealchain__SealRecord *s = tfx_seal(w->c, id);
    assert_memory_equal(s->custodian_key.data, w->admin.pk, 32);
    sealchain__seal_record__free_unpacked(s, NULL);
}

static void filing_authority_may_register_a_seal_for_its_org(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_key k;
    uint8_t id[32];
    tfx_key_make(20, 2, &k);
    TFX_EXPECT(w->c, seal_register(w->c, w->c->admin[0].sk, w->org, CONTRACT, k.pk, NULL, id), 0);
    Sealchain__HistoryEntry *h = tfx_history(w->c, id, 0);
    assert_int_equal(h->role, SEALCHAIN__ROLE__ROLE_AUTHORITY);
    sealchain__history_entry__free_unpacked(h, NULL);
}

static void seal_registration_by_another_authority_or_custodian_is_refused(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_key k;
    tfx_key_make(20, 3, &k);
    TFX_EXPECT(w->c, seal_register(w->c, w->c->admin[1].sk, w->org, CONTRACT, k.pk, NULL, NULL),
               LEDGER_E_NOT_AUTHORISED);
    TFX_EXPECT(w->c, seal_register(w->c, w->custodian.sk, w->org, CONTRACT, k.pk, NULL, NULL),
               LEDGER_E_NOT_AUTHORISED);
}

static void seal_for_an_unknown_org_is_refused(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_key k;
    char id[19];
    tfx_credit_code(99, id);
    tfx_key_make(20, 4, &k);
    TFX_EXPECT(w->c, seal_register(w->c, w->admin.sk, id, CONTRACT, k.pk, NULL, NULL),
               LEDGER_E_UNKNOWN_ORG);
}

static void a_seal_key_registers_once_on_the_whole_chain(void **state)
{
    struct tfx_world *w = *state;
    /* Same org, other type. */
    TFX_EXPECT(w->c, seal_register(w->c, w->admin.sk, w->org, CONTRACT, w->seal_key.pk, NULL, NULL),
               LEDGER_E_SEAL_KEY_EXISTS);
    /* Another org. */
    TFX_EXPECT(
        w->c,
        seal_register(w->c, w->c->admin[1].sk, "agency1", CONTRACT, w->seal_key.pk, NULL, NULL),
        LEDGER_E_SEAL_KEY_EXISTS);
}

static void an_org_has_one_official_seal_until_it_is_destroyed(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    struct tfx_key k;
    uint8_t id[32];
    tfx_key_make(20, 5, &k);
    TFX_EXPECT(c, seal_register(c, w->admin.sk, w->org, OFFICIAL, k.pk, NULL, NULL),
               LEDGER_E_OFFICIAL_SEAL_EXISTS);
    /* A suspended official seal still counts. */
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->admin.sk, w->seal, NULL, NULL), 0);
    TFX_EXPECT(c, seal_register(c, w->admin.sk, w->org, OFFICIAL, k.pk, NULL, NULL),
               LEDGER_E_OFFICIAL_SEAL_EXISTS);
    TFX_EXPECT(c, lifecycle(c, DESTROY, w->admin.sk, w->seal, NULL, NULL), 0);
    Sealchain__OrgRecord *o = tfx_org(c, w->org);
    assert_int_equal(o->official_seal.len, 0);
    sealchain__org_record__free_unpacked(o, NULL);
    TFX_EXPECT(c, seal_register(c, w->admin.sk, w->org, OFFICIAL, k.pk, NULL, id), 0);
    o = tfx_org(c, w->org);
    assert_memory_equal(o->official_seal.data, id, 32);
    sealchain__org_record__free_unpacked(o, NULL);
}

static void seal_fields_are_checked(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    struct tfx_key k;
    tfx_key_make(20, 6, &k);
    uint8_t *tx;
    size_t len;
    struct ledger_txb_seal p = { w->org, 0, "x", k.pk, NULL, NULL, 0, 0 };
    assert_int_equal(ledger_txb_seal_register(&c->g, w->admin.sk, tfx_vu(c), &p, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_BAD_FIELD); /* no type */
    p.type = 8;
    assert_int_equal(ledger_txb_seal_register(&c->g, w->admin.sk, tfx_vu(c), &p, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_BAD_FIELD); /* unknown type */
    p.type = CONTRACT;
    p.name = "";
    assert_int_equal(ledger_txb_seal_register(&c->g, w->admin.sk, tfx_vu(c), &p, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_BAD_FIELD); /* empty name */
    p.name = "x";
    p.valid_from_ms = 2000;
    p.valid_to_ms = 1000;
    assert_int_equal(ledger_txb_seal_register(&c->g, w->admin.sk, tfx_vu(c), &p, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), LEDGER_E_BAD_FIELD); /* window inverted */
    p.valid_to_ms = 2000;
    assert_int_equal(ledger_txb_seal_register(&c->g, w->admin.sk, tfx_vu(c), &p, &tx, &len), 0);
    TFX_EXPECT(c, tfx_run(c, tx, len, NULL), 0); /* from == to is a (short) window */
}

/* --- grants ---------------------------------------------------------------------------- */

static void custodian_and_org_admin_grant_others_do_not(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    TFX_EXPECT(c, grant(c, w->admin.sk, w->seal, w->other.pk, NULL, 0, 0, NULL), 0);
    TFX_EXPECT(c, grant(c, w->custodian.sk, w->seal, w->other.pk, NULL, 0, 0, NULL), 0);
    TFX_EXPECT(c, grant(c, w->user.sk, w->seal, w->other.pk, NULL, 0, 0, NULL),
               LEDGER_E_NOT_AUTHORISED);
    /* The filing authority manages the org, not its seals' use. */
    TFX_EXPECT(c, grant(c, c->admin[0].sk, w->seal, w->other.pk, NULL, 0, 0, NULL),
               LEDGER_E_NOT_AUTHORISED);
}

static void grant_approval_rule_needs_1_le_m_le_n_distinct_approvers_not_the_user(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    uint8_t a[3][32];
    memcpy(a[0], w->admin.pk, 32);
    memcpy(a[1], w->custodian.pk, 32);
    memcpy(a[2], w->other.pk, 32);
    const uint8_t(*ap)[32] = (const uint8_t(*)[32])a;
    TFX_EXPECT(c, grant(c, w->admin.sk, w->seal, w->user.pk, ap, 2, 0, NULL),
               LEDGER_E_BAD_GRANT_RULE);
    TFX_EXPECT(c, grant(c, w->admin.sk, w->seal, w->user.pk, ap, 2, 3, NULL),
               LEDGER_E_BAD_GRANT_RULE);
    TFX_EXPECT(c, grant(c, w->admin.sk, w->seal, w->user.pk, NULL, 0, 1, NULL),
               LEDGER_E_BAD_GRANT_RULE);
    /* The user among the approvers. */
    TFX_EXPECT(c, grant(c, w->admin.sk, w->seal, w->other.pk, ap, 3, 2, NULL),
               LEDGER_E_BAD_GRANT_RULE);
    /* A repeated approver. */
    memcpy(a[2], a[0], 32);
    TFX_EXPECT(c, grant(c, w->admin.sk, w->seal, w->user.pk, ap, 3, 2, NULL),
               LEDGER_E_BAD_GRANT_RULE);
    TFX_EXPECT(c, grant(c, w->admin.sk, w->seal, w->user.pk, ap, 2, 2, NULL), 0);
}

static void grant_of_a_suspended_or_destroyed_seal_is_refused(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->custodian.sk, w->seal, NULL, NULL), 0);
    TFX_EXPECT(c, grant(c, w->admin.sk, w->seal, w->other.pk, NULL, 0, 0, NULL),
               LEDGER_E_SEAL_SUSPENDED);
    TFX_EXPECT(c, lifecycle(c, DESTROY, w->admin.sk, w->seal, NULL, NULL), 0);
    TFX_EXPECT(c, grant(c, w->admin.sk, w->seal, w->other.pk, NULL, 0, 0, NULL),
               LEDGER_E_SEAL_DESTROYED);
}

static void grant_of_an_unknown_seal_is_refused(void **state)
{
    struct tfx_world *w = *state;
    uint8_t nope[32] = { 9 };
    TFX_EXPECT(w->c, grant(w->c, w->admin.sk, nope, w->other.pk, NULL, 0, 0, NULL),
               LEDGER_E_UNKNOWN_SEAL);
}

static void a_new_grant_replaces_the_live_one(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    uint8_t g2[32];
    TFX_EXPECT(c, grant(c, w->custodian.sk, w->seal, w->user.pk, NULL, 0, 0, g2), 0);
    Sealchain__GrantRecord *old = tfx_grant(c, w->grant);
    assert_true(old->revoked);
    sealchain__grant_record__free_unpacked(old, NULL);
    TFX_EXPECT(c, use(c, &w->user, &w->seal_key, w->seal, w->grant), LEDGER_E_GRANT_REVOKED);
    TFX_EXPECT(c, use(c, &w->user, &w->seal_key, w->seal, g2), 0);
    /* 'G' names the new one; 'g' lists both, in order. */
    uint8_t key[65], v[32];
    tfx_key2(key, LEDGER_K_GRANT_LIVE, w->seal, 32, w->user.pk, 32);
    assert_true(tfx_get(c, key, 65, v, 32, NULL));
    assert_memory_equal(v, g2, 32);
    uint8_t gkey[45];
    gkey[0] = LEDGER_K_SEAL_GRANTS;
    memcpy(gkey + 1, w->seal, 32);
    ledger_put_u64be(gkey + 33, 3); /* the world's grant: block 3, index 0 */
    ledger_put_u32be(gkey + 41, 0);
    assert_true(tfx_get(c, gkey, 45, v, 32, NULL));
    assert_memory_equal(v, w->grant, 32);
}

static void revoking_a_grant_ends_it(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    TFX_EXPECT(c, revoke(c, w->user.sk, w->seal, w->user.pk), LEDGER_E_NOT_AUTHORISED);
    TFX_EXPECT(c, revoke(c, w->admin.sk, w->seal, w->user.pk), 0);
    TFX_EXPECT(c, use(c, &w->user, &w->seal_key, w->seal, w->grant), LEDGER_E_GRANT_REVOKED);
    TFX_EXPECT(c, revoke(c, w->custodian.sk, w->seal, w->user.pk), LEDGER_E_GRANT_REVOKED);
    TFX_EXPECT(c, revoke(c, w->custodian.sk, w->seal, w->other.pk), LEDGER_E_GRANT_MISSING);
}

/* --- lifecycle ---------------------------------------------------------------------------- */

static void suspend_stops_use_and_resume_restores_it(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->custodian.sk, w->seal, NULL, NULL), 0);
    assert_int_equal(seal_status(c, w->seal), SEALCHAIN__SEAL_STATUS__SEAL_STATUS_SUSPENDED);
    TFX_EXPECT(c, use(c, &w->user, &w->seal_key, w->seal, w->grant), LEDGER_E_SEAL_SUSPENDED);
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->custodian.sk, w->seal, NULL, NULL),
               LEDGER_E_SEAL_SUSPENDED);
    TFX_EXPECT(c, lifecycle(c, RESUME, w->custodian.sk, w->seal, NULL, NULL), 0);
    assert_int_equal(seal_status(c, w->seal), SEALCHAIN__SEAL_STATUS__SEAL_STATUS_ACTIVE);
    TFX_EXPECT(c, use(c, &w->user, &w->seal_key, w->seal, w->grant), 0);
    TFX_EXPECT(c, lifecycle(c, RESUME, w->custodian.sk, w->seal, NULL, NULL),
               LEDGER_E_SEAL_NOT_SUSPENDED);
    Sealchain__SealRecord *s = tfx_seal(c, w->seal);
    assert_int_equal(s->history_count, 3);
    sealchain__seal_record__free_unpacked(s, NULL);
    Sealchain__HistoryEntry *h = tfx_history(c, w->seal, 1);
    assert_int_equal(h->action, SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_SUSPEND);
    assert_int_equal(h->role, SEALCHAIN__ROLE__ROLE_CUSTODIAN);
    assert_string_equal(h->reason, "lost");
    sealchain__history_entry__free_unpacked(h, NULL);
}

static void a_custodian_cannot_lift_the_org_admins_suspension(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->admin.sk, w->seal, NULL, NULL), 0);
    TFX_EXPECT(c, lifecycle(c, RESUME, w->custodian.sk, w->seal, NULL, NULL), LEDGER_E_RESUME_ROLE);
    assert_int_equal(seal_status(c, w->seal), SEALCHAIN__SEAL_STATUS__SEAL_STATUS_SUSPENDED);
    TFX_EXPECT(c, lifecycle(c, RESUME, w->admin.sk, w->seal, NULL, NULL), 0);
    /* And the admin may lift the custodian's. */
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->custodian.sk, w->seal, NULL, NULL), 0);
    TFX_EXPECT(c, lifecycle(c, RESUME, w->admin.sk, w->seal, NULL, NULL), 0);
}

static void admin_who_is_also_custodian_acts_as_admin(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    struct tfx_key k;
    uint8_t id[32];
    tfx_key_make(20, 7, &k);
    TFX_EXPECT(c, seal_register(c, w->admin.sk, w->org, CONTRACT, k.pk, NULL, id), 0);
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->admin.sk, id, NULL, NULL), 0);
    Sealchain__SealRecord *s = tfx_seal(c, id);
    assert_int_equal(s->suspended_by, SEALCHAIN__ROLE__ROLE_ORG_ADMIN);
    sealchain__seal_record__free_unpacked(s, NULL);
}

static void lifecycle_roles_are_enforced(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    /* Suspend: not the user, not the filing authority, not another org's admin. */
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->user.sk, w->seal, NULL, NULL), LEDGER_E_NOT_AUTHORISED);
    TFX_EXPECT(c, lifecycle(c, SUSPEND, c->admin[0].sk, w->seal, NULL, NULL),
               LEDGER_E_NOT_AUTHORISED);
    TFX_EXPECT(c, lifecycle(c, SUSPEND, c->admin[1].sk, w->seal, NULL, NULL),
               LEDGER_E_NOT_AUTHORISED);
    /* Destroy: not the custodian; the filing authority may. */
    TFX_EXPECT(c, lifecycle(c, DESTROY, w->custodian.sk, w->seal, NULL, NULL),
               LEDGER_E_NOT_AUTHORISED);
    TFX_EXPECT(c, lifecycle(c, DESTROY, c->admin[1].sk, w->seal, NULL, NULL),
               LEDGER_E_NOT_AUTHORISED);
    TFX_EXPECT(c, lifecycle(c, DESTROY, c->admin[0].sk, w->seal, NULL, NULL), 0);
    Sealchain__HistoryEntry *h = tfx_history(c, w->seal, 1);
    assert_int_equal(h->role, SEALCHAIN__ROLE__ROLE_AUTHORITY);
    sealchain__history_entry__free_unpacked(h, NULL);
}

static void destroy_is_final(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    TFX_EXPECT(c, lifecycle(c, DESTROY, w->admin.sk, w->seal, NULL, NULL), 0);
    assert_int_equal(seal_status(c, w->seal), SEALCHAIN__SEAL_STATUS__SEAL_STATUS_DESTROYED);
    TFX_EXPECT(c, lifecycle(c, RESUME, w->admin.sk, w->seal, NULL, NULL), LEDGER_E_SEAL_DESTROYED);
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->admin.sk, w->seal, NULL, NULL), LEDGER_E_SEAL_DESTROYED);
    TFX_EXPECT(c, lifecycle(c, DESTROY, w->admin.sk, w->seal, NULL, NULL), LEDGER_E_SEAL_DESTROYED);
    TFX_EXPECT(c, use(c, &w->user, &w->seal_key, w->seal, w->grant), LEDGER_E_SEAL_DESTROYED);
}

static void a_stale_lifecycle_tx_is_refused(void **state)
{
    struct tfx_world *w = *state;
    struct tfx_chain *c = w->c;
    uint8_t s1[32], r1[32];
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->admin.sk, w->seal, NULL, s1), 0);
    /* A resume signed now, naming s1, but held back... */
    uint8_t *held;
    size_t held_len;
    assert_int_equal(
        ledger_txb_resume(&c->g, w->admin.sk, tfx_vu(c) + 3600000, w->seal, s1, &held, &held_len),
        0);
    /* ...while the seal is resumed and suspended again. */
    TFX_EXPECT(c, lifecycle(c, RESUME, w->admin.sk, w->seal, s1, r1), 0);
    TFX_EXPECT(c, lifecycle(c, SUSPEND, w->admin.sk, w->seal, r1, NULL), 0);
    TFX_EXPECT(c, tfx_run(c, held, held_len, NULL), LEDGER_E_STALE);
    assert_int_equal(seal_status(c, w->seal), SEALCHAIN__SEAL_STATUS__SEAL_STATUS_SUSPENDED);
    /* The registration is not the latest entry any more either. */
    TFX_EXPECT(c, lifecycle(c, DESTROY, w->admin.sk, w->seal, w->seal, NULL), LEDGER_E_STALE);
}

static void lifecycle_of_an_unknown_seal_is_refused(void **state)
{
    struct tfx_world *w = *state;
    uint8_t nope[32] = { 7 };
    TFX_EXPECT(w->c, lifecycle(w->c, SUSPEND, w->admin.sk, nope, nope, NULL),
               LEDGER_E_UNKNOWN_SEAL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(filing_authority_files_an_organisation),
        T(genesis_validator_orgs_exist_at_height_0),
        T(org_filing_by_a_non_authority_is_refused),
        T(org_filing_with_a_bad_credit_code_is_refused),
        T(org_filed_twice_is_refused),
        T(org_filing_needs_a_name_and_a_32_byte_admin_key),
        T(org_legal_rep_hash_is_empty_or_32_bytes),
        T(seal_custodian_image_and_key_sizes_are_checked),
        T(grant_keys_must_be_32_bytes),
        T(seal_registration_records_the_seal_and_its_history),
        T(default_custodian_is_the_org_admin),
        T(filing_authority_may_register_a_seal_for_its_org),
        T(seal_registration_by_another_authority_or_custodian_is_refused),
        T(seal_for_an_unknown_org_is_refused),
        T(a_seal_key_registers_once_on_the_whole_chain),
        T(an_org_has_one_official_seal_until_it_is_destroyed),
        T(seal_fields_are_checked),
        T(custodian_and_org_admin_grant_others_do_not),
        T(grant_approval_rule_needs_1_le_m_le_n_distinct_approvers_not_the_user),
        T(grant_of_a_suspended_or_destroyed_seal_is_refused),
        T(grant_of_an_unknown_seal_is_refused),
        T(a_new_grant_replaces_the_live_one),
        T(revoking_a_grant_ends_it),
        T(suspend_stops_use_and_resume_restores_it),
        T(a_custodian_cannot_lift_the_org_admins_suspension),
        T(admin_who_is_also_custodian_acts_as_admin),
        T(lifecycle_roles_are_enforced),
        T(destroy_is_final),
        T(a_stale_lifecycle_tx_is_refused),
        T(lifecycle_of_an_unknown_seal_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
