/* sealchain-demo: a narrated local consortium doing real seal work. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/creditcode.h"
#include "ledger/err.h"
#include "ledger/proof.h"
#include "ledger/query.h"
#include "ledger/sigfile.h"
#include "ledger/txbuild.h"
#include "ledger/verify.h"
#include "node/localnet.h"
#include "proto/tx.pb-c.h"

/*
 * Four agencies run validators (n = 4, f = 1): real Ed25519 keys, real LMDB
 * stores, the PBFT core, messages on an in-process bus instead of TCP. Two
 * companies are filed, seal their seals, use them on one contract under an
 * approval rule and silently, and every agency can check the result; a
 * proof bundle is checked offline; a seal is reported lost; a validator
 * crashes and catches up. Every step below goes through consensus.
 */

#define WAIT_MS  20000
#define VALID_MS (10 * 60 * 1000) /* transactions valid for 10 minutes */

struct actor {
    const char *name;
    uint8_t pk[32];
    uint8_t *sk; /* sodium_malloc'd */
};

struct demo {
    const char *dir;
    struct localnet *ln;
    const struct ledger_genesis *g;
    int step;
    int failures; /* an expected outcome that did not happen */
};

static void actor_make(struct actor *a, const char *name)
{
    uint8_t seed[32];
    a->name = name;
    a->sk = sodium_malloc(64);
    if (a->sk == NULL)
        abort();
    crypto_hash_sha256(seed, (const uint8_t *)name, strlen(name));
    crypto_sign_seed_keypair(a->pk, a->sk, seed);
    sodium_memzero(seed, sizeof seed);
}

static void actor_free(struct actor *a)
{
    sodium_free(a->sk);
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("   ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static void heading(struct demo *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("\n== %d. ", ++d->step);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static const char *short_hex(const uint8_t *b)
{
    static char buf[4][17];
    static int k;
    char *out = buf[k++ % 4];
    ledger_hex(b, 8, out);
    return out;
}

static const char *rfc3339(uint64_t ms)
{
    static char buf[32];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static uint64_t until(void)
{
    return localnet_now_ms() + VALID_MS;
}

static void expect(struct demo *d, bool ok, const char *what)
{
    if (!ok) {
        d->failures++;
        say("!! UNEXPECTED: %s", what);
    }
}

/* Prints where a committed tx is, as agency `node` sees it. */
static void where(struct demo *d, unsigned node, const uint8_t id[32])
{
    struct ledger_rtxn *rt;
    if (ledger_rtxn_begin(ledger_store_get(localnet_ledger(d->ln, node)), &rt) != 0)
        return;
    struct ledger_q_tx t;
    struct ledger_q_block b = { 0 };
    if (ledger_q_tx(rt, id, &t) == 0 && ledger_q_block_by_height(rt, t.height, &b) == 0) {
        char signers[64] = "";
        for (size_t i = 0; i < b.n_signers; i++)
            snprintf(signers + strlen(signers), sizeof signers - strlen(signers), "%s%u",
                     i ? "," : "", b.signers[i]);
        say("tx %s committed: block %llu at %s, proposed by validator %u, "
            "certificate signed by validators [%s]",
            short_hex(id), (unsigned long long)t.height, rfc3339(t.time_ms), b.proposer, signers);
    }
    ledger_q_block_close(&b);
    ledger_rtxn_end(rt);
}

/* Submits tx (owned, freed) at agency `node` and waits for the verdict of
 * consensus. Returns 0 when committed, else the refusal code. */
static int submit(struct demo *d, unsigned node, uint8_t *tx, size_t len, uint8_t id[32])
{
    char err[512] = "";
    uint8_t tmp[32];
    if (id == NULL)
        id = tmp;
    int rc = localnet_submit(d->ln, node, tx, len, id, err, sizeof err);
    free(tx);
    if (rc != 0) {
        say("refused by agency%u before it reached a block: %s (%s)", node, err,
            ledger_errname(rc));
        return rc;
    }
    bool committed = false;
    rc = localnet_run_until_tx(d->ln, id, WAIT_MS, &committed, err, sizeof err);
    if (rc != 0) {
        say("!! %s", err);
        d->failures++;
        return rc;
    }
    if (!committed) {
        say("tx %s refused by a later block", short_hex(id));
        return LEDGER_E_BAD_BLOCK;
    }
    where(d, node, id);
    return 0;
}

static const char *status_name(int s)
{
    switch (s) {
    case SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE:
        return "effective";
    case SEALCHAIN__USAGE_STATUS__USAGE_STATUS_PENDING:
        return "pending";
    case SEALCHAIN__USAGE_STATUS__USAGE_STATUS_REJECTED:
        return "rejected";
    case SEALCHAIN__USAGE_STATUS__USAGE_STATUS_LAPSED:
        return "lapsed";
    }
    return "unknown";
}

static const char *seal_status_name(int s)
{
    switch (s) {
    case SEALCHAIN__SEAL_STATUS__SEAL_STATUS_ACTIVE:
        return "active";
    case SEALCHAIN__SEAL_STATUS__SEAL_STATUS_SUSPENDED:
        return "suspended";
    case SEALCHAIN__SEAL_STATUS__SEAL_STATUS_DESTROYED:
        return "destroyed";
    }
    return "unknown";
}

/* The status of a use as agency `node` reports it (-1 if unknown). */
static int usage_status(struct demo *d, unsigned node, const uint8_t usage[32], uint64_t *eff)
{
    struct ledger_rtxn *rt;
    int status = -1;
    if (ledger_rtxn_begin(ledger_store_get(localnet_ledger(d->ln, node)), &rt) != 0)
        return -1;
    struct ledger_q_usage u;
    if (ledger_q_usage(rt, usage, &u) == 0) {
        status = u.status;
        if (eff != NULL)
            *eff = u.rec->effective_height;
        ledger_q_usage_close(&u);
    }
    ledger_rtxn_end(rt);
    return status;
}

/* The seal's status and latest history entry, as agency `node` sees it. */
static int seal_state(struct demo *d, unsigned node, const uint8_t seal[32], uint8_t last[32])
{
    struct ledger_rtxn *rt;
    int status = -1;
    if (ledger_rtxn_begin(ledger_store_get(localnet_ledger(d->ln, node)), &rt) != 0)
        return -1;
    struct ledger_q_seal s = { 0 };
    if (ledger_q_seal(rt, seal, &s) == 0) {
        status = s.seal->status;
        if (last != NULL && s.seal->last_history_tx.len == 32)
            memcpy(last, s.seal->last_history_tx.data, 32);
        say("seal %s (%s) of %s: %s, %zu history entries, %zu grants", short_hex(seal),
            s.seal->name, s.seal->org_id, seal_status_name(s.seal->status), s.n_history,
            s.n_grants);
        ledger_q_seal_close(&s);
    }
    ledger_rtxn_end(rt);
    return status;
}

static int write_file(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(b, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

/* ---- the story ------------------------------------------------------------ */

struct cast {
    struct actor admin_a, custodian_a, clerk_a, approver[3], admin_b, clerk_b;
    struct actor official_a, contract_a, contract_b; /* seal keys */
    uint8_t official_a_id[32], contract_a_id[32], contract_b_id[32];
    uint8_t grant_a[32], grant_b[32];
    uint8_t use_a[32], use_b[32];
    uint8_t doc_hash[32];
    char doc_path[600], sig_path[600], proof_path[600];
};

static void consortium(struct demo *d)
{
    heading(d, "A consortium of four agencies");
    say("validators: n=%u, f=%u, quorum q=%u; primary of view v is v mod n", d->g->n,
        ledger_genesis_f(d->g->n), ledger_genesis_quorum(d->g->n));
    for (unsigned i = 0; i < d->g->n; i++)
        say("validator %u: %s (%s), node key %s…", i, d->g->validators[i].org_name,
            d->g->validators[i].org_id, short_hex(d->g->validators[i].node_key));
    say("genesis hash %s… (in %s/genesis.ini): every signature names it", short_hex(d->g->hash),
        d->dir);
}

static void filing(struct demo *d, struct cast *c)
{
    uint8_t *tx;
    size_t len;
    heading(d, "Filing (备案): agencies file two companies bound to their legal persons");
    uint8_t legal_rep[32];
    crypto_hash_sha256(legal_rep, (const uint8_t *)"HMAC stand-in: legal rep of A", 29);
    say("agency0 files 91350100M000100Y43 Fujian Example Trading Co. (only an HMAC of the");
    say("legal representative's identity goes on chain: 脱敏上链)");
    ledger_txb_org_register(d->g, localnet_admin_sk(d->ln, 0), until(), "91350100M000100Y43",
                            "Fujian Example Trading Co.", c->admin_a.pk, legal_rep, &tx, &len);
    expect(d, submit(d, 0, tx, len, NULL) == 0, "filing of company A");
    say("agency1 files 91110000600037341L Beijing Example Supply Co.");
    ledger_txb_org_register(d->g, localnet_admin_sk(d->ln, 1), until(), "91110000600037341L",
                            "Beijing Example Supply Co.", c->admin_b.pk, NULL, &tx, &len);
    expect(d, submit(d, 1, tx, len, NULL) == 0, "filing of company B");
    say("a filing with a wrong check character (…Y44) is refused by every node:");
    ledger_txb_org_register(d->g, localnet_admin_sk(d->ln, 0), until(), "91350100M000100Y44",
                            "Typo Co.", c->admin_b.pk, NULL, &tx, &len);
    expect(d, submit(d, 0, tx, len, NULL) == LEDGER_E_BAD_CREDIT_CODE, "bad credit code refused");
}

static int register_seal(struct demo *d, unsigned node, const struct actor *signer, const char *org,
                         int type, const char *name, const struct actor *key,
                         const struct actor *custodian, uint8_t id[32])
{
    uint8_t *tx, image[32];
    size_t len;
    crypto_hash_sha256(image, (const uint8_t *)name, strlen(name)); /* the image's hash only */
    struct ledger_txb_seal p = {
        .org_id = org,
        .type = type,
        .name = name,
        .seal_key = key->pk,
        .custodian = custodian ? custodian->pk : NULL,
        .image_hash = image,
    };
    ledger_txb_seal_register(d->g, signer->sk, until(), &p, &tx, &len);
    return submit(d, node, tx, len, id);
}

static void seals(struct demo *d, struct cast *c)
{
    heading(d, "Seals: each with its own key, its image's hash, a custodian (印章管理员)");
    say("company A's admin registers its official seal (公章) at agency0");
    expect(d,
           register_seal(d, 0, &c->admin_a, "91350100M000100Y43",
                         SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL, "Company A official seal",
                         &c->official_a, NULL, c->official_a_id) == 0,
           "official seal");
    say("and its contract seal (合同专用章), kept by custodian %s…", short_hex(c->custodian_a.pk));
    expect(d,
           register_seal(d, 0, &c->admin_a, "91350100M000100Y43",
                         SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT, "Company A contract seal",
                         &c->contract_a, &c->custodian_a, c->contract_a_id) == 0,
           "contract seal A");
    say("a second official seal for company A is refused (one per organisation):");
    struct actor extra;
    actor_make(&extra, "demo second official seal");
    uint8_t id[32];
    expect(d,
           register_seal(d, 2, &c->admin_a, "91350100M000100Y43",
                         SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OFFICIAL, "Company A official seal 2",
                         &extra, NULL, id) == LEDGER_E_OFFICIAL_SEAL_EXISTS,
           "second official seal refused");
    actor_free(&extra);
    say("company B registers its contract seal at agency1 (custodian: its admin)");
    expect(d,
           register_seal(d, 1, &c->admin_b, "91110000600037341L",
                         SEALCHAIN__SEAL_TYPE__SEAL_TYPE_CONTRACT, "Company B contract seal",
                         &c->contract_b, NULL, c->contract_b_id) == 0,
           "contract seal B");
}

static void grants(struct demo *d, struct cast *c)
{
    uint8_t *tx;
    size_t len;
    heading(d, "Grants (多级管控): custodians let users use seals");
    uint8_t approvers[3][32];
    for (int i = 0; i < 3; i++)
        memcpy(approvers[i], c->approver[i].pk, 32);
    say("A's custodian grants clerk %s… the contract seal, 2 of 3 approvers (用印审批)",
        short_hex(c->clerk_a.pk));
    struct ledger_txb_grant ga = {
        .seal_id = c->contract_a_id,
        .user_key = c->clerk_a.pk,
        .max_uses = 5,
        .approvers = (const uint8_t(*)[32])approvers,
        .n_approvers = 3,
        .threshold = 2,
    };
    ledger_txb_grant(d->g, c->custodian_a.sk, until(), &ga, &tx, &len);
    expect(d, submit(d, 0, tx, len, c->grant_a) == 0, "grant A");
    say("B's admin grants clerk %s… silent sealing (静默盖章), 10 uses", short_hex(c->clerk_b.pk));
    struct ledger_txb_grant gb = {
        .seal_id = c->contract_b_id,
        .user_key = c->clerk_b.pk,
        .max_uses = 10,
    };
    ledger_txb_grant(d->g, c->admin_b.sk, until(), &gb, &tx, &len);
    expect(d, submit(d, 1, tx, len, c->grant_b) == 0, "grant B");
}

/* A use: signed by the seal key (over the document) and by the user (the
 * willingness check). The signature file is written only once accepted. */
static int use_seal(struct demo *d, unsigned node, const struct actor *user,
                    const struct actor *seal_key, const uint8_t seal_id[32],
                    const uint8_t grant[32], struct cast *c, uint8_t usage[32])
{
    uint8_t *tx, nonce[16], sig[64];
    size_t len;
    ledger_txb_use(d->g, user->sk, until(), seal_key->sk, seal_id, grant, c->doc_hash, nonce, sig,
                   &tx, &len);
    int rc = submit(d, node, tx, len, usage);
    if (rc != 0)
        return rc;
    struct ledger_seal_sig s;
    memcpy(s.chain, d->g->hash, 32);
    memcpy(s.seal_id, seal_id, 32);
    memcpy(s.doc_hash, c->doc_hash, 32);
    memcpy(s.user_key, user->pk, 32);
    memcpy(s.use_nonce, nonce, 16);
    memcpy(s.seal_signature, sig, 64);
    memcpy(s.usage, usage, 32);
    uint8_t *old = NULL, *file;
    size_t old_len = 0, file_len;
    FILE *f = fopen(c->sig_path, "rb");
    if (f != NULL) {
        old = malloc(1 << 16);
        old_len = old ? fread(old, 1, 1 << 16, f) : 0;
        fclose(f);
    }
    char err[256];
    rc = ledger_sigfile_append(old, old_len, &s, &file, &file_len, err, sizeof err);
    free(old);
    if (rc != 0) {
        say("!! signature file: %s", err);
        d->failures++;
        return rc;
    }
    write_file(c->sig_path, file, file_len);
    free(file);
    say("signature file %s now holds this seal's signature", c->sig_path);
    return 0;
}

static void approve(struct demo *d, struct cast *c, int who, int expected_rc)
{
    uint8_t *tx;
    size_t len;
    ledger_txb_approve(d->g, c->approver[who].sk, until(), c->use_a, &tx, &len);
    expect(d, submit(d, (unsigned)who + 1, tx, len, NULL) == expected_rc, "approval outcome");
}

static void use_with_approval(struct demo *d, struct cast *c)
{
    heading(d, "Use (用印) under an approval rule: pending until 2 of 3 approve");
    const char contract[] = "PURCHASE CONTRACT No. 2026-118\nBuyer: Company A\nSeller: "
                            "Company B\nGoods: 1,000 seal blanks\n";
    snprintf(c->doc_path, sizeof c->doc_path, "%s/contract.txt", d->dir);
    snprintf(c->sig_path, sizeof c->sig_path, "%s/contract.txt.seal", d->dir);
    write_file(c->doc_path, (const uint8_t *)contract, sizeof contract - 1);
    crypto_hash_sha256(c->doc_hash, (const uint8_t *)contract, sizeof contract - 1);
    say("document %s, SHA-256 %s…", c->doc_path, short_hex(c->doc_hash));
    say("clerk A seals it with company A's contract seal at agency0");
    expect(d,
           use_seal(d, 0, &c->clerk_a, &c->contract_a, c->contract_a_id, c->grant_a, c, c->use_a) ==
               0,
           "use A accepted");
    expect(d, usage_status(d, 3, c->use_a, NULL) == SEALCHAIN__USAGE_STATUS__USAGE_STATUS_PENDING,
           "use A pending");
    say("agency3 reports the use: %s", status_name(usage_status(d, 3, c->use_a, NULL)));
    say("approver 1 approves (at agency1)");
    approve(d, c, 0, 0);
    say("approver 1 approves again: refused");
    approve(d, c, 0, LEDGER_E_ALREADY_VOTED);
    say("approver 2 approves (at agency2): the second approval reaches m = 2");
    approve(d, c, 1, 0);
    uint64_t eff = 0;
    int st = usage_status(d, 3, c->use_a, &eff);
    say("agency3 reports the use: %s since block %llu", status_name(st), (unsigned long long)eff);
    expect(d, st == SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE, "use A effective");
    say("approver 3 approves late: refused, the use is no longer pending");
    approve(d, c, 2, LEDGER_E_USAGE_NOT_PENDING);
}

static void silent_use(struct demo *d, struct cast *c)
{
    heading(d, "Silent sealing (静默盖章): company B seals the same contract");
    expect(d,
           use_seal(d, 1, &c->clerk_b, &c->contract_b, c->contract_b_id, c->grant_b, c, c->use_b) ==
               0,
           "use B");
    uint64_t eff = 0;
    int st = usage_status(d, 0, c->use_b, &eff);
    say("agency0 reports it %s at once (block %llu)", status_name(st), (unsigned long long)eff);
    expect(d, st == SEALCHAIN__USAGE_STATUS__USAGE_STATUS_EFFECTIVE, "use B effective");
    say("a use by someone the seal was never granted to is refused:");
    uint8_t usage[32];
    expect(d,
           use_seal(d, 1, &c->clerk_a, &c->contract_b, c->contract_b_id, c->grant_b, c, usage) != 0,
           "use without a grant refused");
}

/* agency `node` verifies the contract's signature file; returns the verdict. */
static bool verify_contract(struct demo *d, struct cast *c, unsigned node)
{
    uint8_t buf[1 << 16], doc[4096], doc_hash[32];
    FILE *f = fopen(c->sig_path, "rb");
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    f = fopen(c->doc_path, "rb");
    size_t doc_len = f ? fread(doc, 1, sizeof doc, f) : 0;
    if (f)
        fclose(f);
    crypto_hash_sha256(doc_hash, doc, doc_len); /* as sha256sum does */
    struct ledger_verify_report *r = malloc(sizeof *r);
    if (r == NULL)
        abort();
    ledger_verify_document_store(ledger_store_get(localnet_ledger(d->ln, node)), doc_hash, buf, len,
                                 r);
    say("agency%u, as of block %llu: %s is %s (%zu seal signatures)", node,
        (unsigned long long)r->as_of_height, c->doc_path, r->valid ? "VALID" : "NOT valid",
        r->count);
    for (size_t i = 0; i < r->count; i++) {
        const struct ledger_verify_sig *v = &r->sigs[i];
        say("  %s: seal %s… \"%s\" (%s) of %s, today %s; use %s… %s since block %llu",
            v->valid ? "valid" : "INVALID", short_hex(v->seal.seal_id), v->seal.name,
            v->seal.type_name ? v->seal.type_name : "?", v->seal.org,
            v->seal.status_name ? v->seal.status_name : "?", short_hex(v->usage.usage),
            v->usage.usage_status_name ? v->usage.usage_status_name : "?",
            (unsigned long long)v->usage.effective_height);
        for (size_t k = 0; k < v->n_reasons; k++)
            say("    reason: %s", v->reasons[k]);
    }
    bool valid = r->valid;
    free(r);
    return valid;
}

static void cross_agency(struct demo *d, struct cast *c)
{
    heading(d, "Cross-agency check (跨机构互认): agency3 verifies the sealed contract");
    expect(d, verify_contract(d, c, 3), "contract verifies at agency3");
    say("the contract with one byte changed no longer matches its seals:");
    FILE *f = fopen(c->doc_path, "r+b");
    if (f != NULL) {
        fputc('p', f); /* "PURCHASE" -> "pURCHASE" */
        fclose(f);
    }
    expect(d, !verify_contract(d, c, 3), "altered contract refused");
    f = fopen(c->doc_path, "r+b");
    if (f != NULL) {
        fputc('P', f);
        fclose(f);
    }
}

static void proofs(struct demo *d, struct cast *c)
{
    heading(d, "Evidence (举证): a proof bundle anyone checks offline with the genesis file");
    uint8_t *bundle;
    size_t len;
    char err[512];
    if (ledger_proof_export(ledger_store_get(localnet_ledger(d->ln, 2)), c->use_a, &bundle, &len,
                            err, sizeof err) != 0) {
        say("!! export: %s", err);
        d->failures++;
        return;
    }
    snprintf(c->proof_path, sizeof c->proof_path, "%s/use-a.proof", d->dir);
    write_file(c->proof_path, bundle, len);
    say("agency2 exports the bundle of company A's use: %s (%zu bytes): the use, its grant,",
        c->proof_path, len);
    say("the 2 approvals and the seal's registration, each with its Merkle path, block header");
    say("and commit certificate");
    struct ledger_proof_result *r = malloc(sizeof *r);
    struct ledger_genesis *g2 = malloc(sizeof *g2);
    if (r == NULL || g2 == NULL)
        abort();
    char gpath[600];
    snprintf(gpath, sizeof gpath, "%s/genesis.ini", d->dir);
    if (ledger_genesis_load(gpath, g2, err, sizeof err) != 0) {
        say("!! %s", err);
        d->failures++;
    }
    int rc = ledger_proof_verify(g2, bundle, len, r);
    say("offline check against %s: %s (seal %s…, effective at block %llu)", gpath,
        rc == 0 && r->valid ? "VALID" : "invalid", short_hex(r->seal_id),
        (unsigned long long)r->effective_height);
    expect(d, rc == 0 && r->valid, "bundle valid");
    bundle[len / 2] ^= 1;
    rc = ledger_proof_verify(g2, bundle, len, r);
    say("one byte changed: %s (%s)", r->valid ? "VALID" : "invalid",
        r->n_reasons ? r->reasons[0] : "");
    expect(d, rc != 0 && !r->valid, "tampered bundle invalid");
    bundle[len / 2] ^= 1;
    snprintf(g2->chain_id, sizeof g2->chain_id, "another-chain");
    ledger_genesis_finish(g2, err, sizeof err);
    rc = ledger_proof_verify(g2, bundle, len, r);
    say("against another chain's genesis: %s (%s)", r->valid ? "VALID" : "invalid",
        r->n_reasons ? r->reasons[0] : "");
    expect(d, rc != 0 && !r->valid, "other chain invalid");
    free(r);
    free(g2);
    free(bundle);
}

static void lifecycle(struct demo *d, struct cast *c)
{
    uint8_t *tx, last[32], stale[32];
    size_t len;
    heading(d, "Lifecycle: a lost seal (挂失), a stale transaction, a resume");
    seal_state(d, 0, c->contract_a_id, last);
    memcpy(stale, last, 32);
    say("A's admin suspends the contract seal (reported lost)");
    ledger_txb_suspend(d->g, c->admin_a.sk, until(), c->contract_a_id, last, "reported lost", &tx,
                       &len);
    expect(d, submit(d, 0, tx, len, NULL) == 0, "suspend");
    seal_state(d, 2, c->contract_a_id, last);
    say("clerk A tries to use it: refused");
    uint8_t usage[32];
    expect(d,
           use_seal(d, 0, &c->clerk_a, &c->contract_a, c->contract_a_id, c->grant_a, c, usage) ==
               LEDGER_E_SEAL_SUSPENDED,
           "use of a suspended seal refused");
    say("the contract sealed before stays valid: the use was effective when it was made");
    expect(d, verify_contract(d, c, 1), "past use still valid after suspension");
    say("the custodian cannot lift the admin's 挂失:");
    ledger_txb_resume(d->g, c->custodian_a.sk, until(), c->contract_a_id, last, &tx, &len);
    expect(d, submit(d, 0, tx, len, NULL) == LEDGER_E_RESUME_ROLE, "custodian resume refused");
    say("a suspension signed earlier against the old history entry is stale:");
    ledger_txb_suspend(d->g, c->custodian_a.sk, until(), c->contract_a_id, stale, NULL, &tx, &len);
    expect(d, submit(d, 3, tx, len, NULL) == LEDGER_E_STALE, "stale refused");
    say("the admin resumes it");
    ledger_txb_resume(d->g, c->admin_a.sk, until(), c->contract_a_id, last, &tx, &len);
    expect(d, submit(d, 0, tx, len, NULL) == 0, "admin resume");
    expect(d,
           seal_state(d, 3, c->contract_a_id, NULL) == SEALCHAIN__SEAL_STATUS__SEAL_STATUS_ACTIVE,
           "active again");
}

static void crash(struct demo *d, struct cast *c)
{
    char err[512];
    heading(d, "A validator crashes; the other three (a quorum) go on; it catches up");
    struct ledger_tip before, after;
    ledger_tip_get(localnet_ledger(d->ln, 3), &before);
    localnet_stop(d->ln, 3);
    say("agency3 stops at block %llu", (unsigned long long)before.height);
    uint8_t *tx, usage[32];
    size_t len;
    crypto_hash_sha256(c->doc_hash, (const uint8_t *)"INVOICE 7781", 12);
    ledger_txb_use(d->g, c->clerk_b.sk, until(), c->contract_b.sk, c->contract_b_id, c->grant_b,
                   c->doc_hash, NULL, NULL, &tx, &len);
    say("company B seals an invoice while agency3 is down");
    expect(d, submit(d, 1, tx, len, usage) == 0, "use with 3 of 4 validators");
    if (localnet_restart(d->ln, 3, err, sizeof err) != 0) {
        say("!! restart: %s", err);
        d->failures++;
        return;
    }
    ledger_tip_get(localnet_ledger(d->ln, 3), &after);
    say("agency3 restarts from its LMDB store at block %llu: nothing committed was lost",
        (unsigned long long)after.height);
    expect(d, after.height == before.height && memcmp(after.hash, before.hash, 32) == 0,
           "restart keeps blocks");
    ledger_tip_get(localnet_ledger(d->ln, 0), &before);
    ledger_txb_revoke_grant(d->g, c->admin_b.sk, until(), c->contract_b_id, c->clerk_b.pk, &tx,
                            &len);
    say("company B revokes its clerk's grant; agency3 learns it is behind, syncs the certified");
    say("blocks (each certificate checked, each block re-executed) and votes again");
    expect(d, submit(d, 1, tx, len, NULL) == 0, "revoke");
    localnet_run_until_height(d->ln, before.height + 1, WAIT_MS, err, sizeof err);
    ledger_tip_get(localnet_ledger(d->ln, 3), &after);
    say("agency3 is at block %llu", (unsigned long long)after.height);
    expect(d, after.height >= before.height + 1, "caught up");
}

static void view_change(struct demo *d, struct cast *c)
{
    char err[512];
    heading(d, "The primary crashes: a view change replaces it");
    struct pbft_stats st;
    node_driver_stats(localnet_driver(d->ln, 1), &st);
    unsigned primary = (unsigned)(st.view % d->g->n);
    say("view %llu, primary is validator %u; it stops", (unsigned long long)st.view, primary);
    localnet_stop(d->ln, primary);
    unsigned at = (primary + 1) % d->g->n;
    uint8_t *tx, id[32];
    size_t len;
    crypto_hash_sha256(c->doc_hash, (const uint8_t *)"DELIVERY NOTE 5512", 18);
    ledger_txb_use(d->g, c->clerk_a.sk, until(), c->contract_a.sk, c->contract_a_id, c->grant_a,
                   c->doc_hash, NULL, NULL, &tx, &len);
    say("clerk A submits a use at agency%u; nobody proposes it, the request times out, the", at);
    say("backups send VIEW-CHANGE, and the next primary proposes it (a few seconds)");
    expect(d, submit(d, at, tx, len, id) == 0, "commit after a view change");
    node_driver_stats(localnet_driver(d->ln, at), &st);
    say("now view %llu, primary validator %llu, %llu view change(s) seen by agency%u",
        (unsigned long long)st.view, (unsigned long long)(st.view % d->g->n),
        (unsigned long long)st.view_changes, at);
    expect(d, st.view > 0, "view advanced");
    if (localnet_restart(d->ln, primary, err, sizeof err) != 0) {
        say("!! restart: %s", err);
        d->failures++;
    }
    char code[19] = "91330106MA2H3K4L5";
    code[17] = ledger_credit_code_check_char(code);
    code[18] = '\0';
    say("validator %u restarts; agency2 files %s Zhejiang Example Logistics Co.", primary, code);
    ledger_txb_org_register(d->g, localnet_admin_sk(d->ln, 2), until(), code,
                            "Zhejiang Example Logistics Co.", c->admin_b.pk, NULL, &tx, &len);
    expect(d, submit(d, 2, tx, len, NULL) == 0, "filing after restart");
    struct ledger_tip tip;
    ledger_tip_get(localnet_ledger(d->ln, at), &tip);
    localnet_run_until_height(d->ln, tip.height, WAIT_MS, err, sizeof err);
    say("every validator, the old primary included, is at block %llu",
        (unsigned long long)localnet_height(d->ln));
    expect(d, localnet_height(d->ln) == tip.height, "old primary caught up");
}

static void demo_story(struct demo *d)
{
    struct cast c;
    memset(&c, 0, sizeof c);
    actor_make(&c.admin_a, "demo admin A");
    actor_make(&c.custodian_a, "demo custodian A");
    actor_make(&c.clerk_a, "demo clerk A");
    actor_make(&c.approver[0], "demo approver 1");
    actor_make(&c.approver[1], "demo approver 2");
    actor_make(&c.approver[2], "demo approver 3");
    actor_make(&c.admin_b, "demo admin B");
    actor_make(&c.clerk_b, "demo clerk B");
    actor_make(&c.official_a, "demo seal key official A");
    actor_make(&c.contract_a, "demo seal key contract A");
    actor_make(&c.contract_b, "demo seal key contract B");
    consortium(d);
    filing(d, &c);
    seals(d, &c);
    grants(d, &c);
    use_with_approval(d, &c);
    silent_use(d, &c);
    cross_agency(d, &c);
    proofs(d, &c);
    lifecycle(d, &c);
    crash(d, &c);
    view_change(d, &c);
    struct actor *all[] = { &c.admin_a,     &c.custodian_a, &c.clerk_a,   &c.approver[0],
                            &c.approver[1], &c.approver[2], &c.admin_b,   &c.clerk_b,
                            &c.official_a,  &c.contract_a,  &c.contract_b };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        actor_free(all[i]);
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0 || ledger_crypto_init() != 0)
        return 1;
    struct demo d = { .dir = argc > 1 ? argv[1] : "sealchain-demo" };
    char err[512] = "";
    printf("sealchain demo: a consortium of four agencies doing seal work\n");
    printf("(data under %s/; every step goes through PBFT with real keys and LMDB)\n", d.dir);
    if (localnet_new(d.dir, 4, &d.ln, err, sizeof err) != 0) {
        fprintf(stderr, "demo: %s\n", err);
        return 1;
    }
    d.g = localnet_genesis(d.ln);
    struct ledger_tip tip;
    ledger_tip_get(localnet_ledger(d.ln, 0), &tip);
    if (tip.height != 0) {
        fprintf(stderr, "demo: %s holds a chain already (height %llu); use a fresh directory\n",
                d.dir, (unsigned long long)tip.height);
        localnet_free(d.ln);
        return 2;
    }
    demo_story(&d);
    localnet_free(d.ln);
    printf("\n%s\n", d.failures == 0 ? "demo finished: every step behaved as described"
                                     : "demo finished WITH UNEXPECTED OUTCOMES");
    return d.failures == 0 ? 0 : 1;
}
