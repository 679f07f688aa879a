/* The hand-built chain and the bundle helpers shared by test_proof.c and test_proof_chain.c. */
#ifndef SEALCHAIN_TESTS_UTIL_PROOF_H
#define SEALCHAIN_TESTS_UTIL_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/merkle.h"
#include "ledger/proof.h"
#include "ledger/tx.h"
#include "proto/evidence.pb-c.h"
#include "util_evidence.h"

/* ---- a hand-built chain ------------------------------------------------------
 * Blocks are assembled here (headers, tx roots, real Ed25519 certificates of
 * q validators) without executing the rules: the bundle checks are about
 * what certified blocks tpf_prove, not about how the rules admitted the txs. */

#define MAXB  10
#define MAXT  6
#define UNTIL 4102444800000ull /* 2100-01-01 */

struct hblock {
    uint8_t *tx[MAXT];
    size_t len[MAXT];
    size_t n;
    struct tev_block b;
};

struct keys {
    uint8_t pk[LEDGER_KEY_LEN], sk[LEDGER_SECRET_LEN];
};

struct world {
    struct tev_chain c;
    struct hblock blk[MAXB + 1]; /* 1..nb */
    size_t nb;
    struct keys admin, seal, seal2, user, user2, apr[3], outsider;
    uint8_t doc[LEDGER_HASH_LEN];
    /* tx ids */
    uint8_t reg[32], reg2[32], grant_silent[32], grant_m[32], use1[32], use2[32];
    uint8_t apv[3][32], apv_other[32], apv_outsider[32];
    /* Odd txs the rules would refuse, for isolating each bundle check. */
    uint8_t grant_silent2[32]; /* a second silent grant to user (block 2) */
    uint8_t grant_s2[32];      /* a grant of seal2 to user (block 2) */
    uint8_t use_x[32];         /* use of seal naming grant_s2 (block 3) */
    uint8_t use_y[32];         /* use naming seal2 in its body, seal-signed for seal (block 3) */
    uint8_t apv0_again[32];    /* apr0 approves use2 a second time (block 5) */
};

/* The world the group set-up builds (tpf_setup_world). */
extern struct world *tpf_w;

/* ---- bundles from the hand-built chain ------------------------------------ */

struct pbuf {
    Sealchain__ProvenTx pt;
    uint8_t path[LEDGER_MERKLE_MAX_DEPTH + 1][LEDGER_HASH_LEN];
    ProtobufCBinaryData pv[LEDGER_MERKLE_MAX_DEPTH + 1];
    uint8_t tx[LEDGER_MAX_TX_LEN], header[512], cert[8192];
};

struct parts {
    struct pbuf reg, grant, use, apv[LEDGER_PROOF_MAX_APPROVALS + 2];
    Sealchain__ProvenTx *apv_ptrs[LEDGER_PROOF_MAX_APPROVALS + 2];
    size_t n_apv;
    Sealchain__ProofBundle b;
};

void tpf_add_block(struct world *w, uint8_t **txs, size_t *lens, size_t n);
void tpf_id_of(const uint8_t *tx, size_t len, uint8_t id[32]);
void tpf_make_use(struct world *w, const struct keys *user, const struct keys *seal,
                  const uint8_t seal_id[32], const uint8_t grant[32], uint8_t **tx, size_t *len);
void tpf_make_use_naming(struct world *w, const uint8_t named[32], uint8_t **tx, size_t *len);
void tpf_keys_of(const char *tag, struct keys *k);
int tpf_setup_world(void **state);
int tpf_teardown_world(void **state);
void tpf_prove(const uint8_t id[32], struct pbuf *p);
void tpf_prove_at(size_t height, size_t index, struct pbuf *p);
struct parts *tpf_parts_new(const uint8_t reg[32], const uint8_t grant[32], const uint8_t use[32],
                            const uint8_t (*apv)[32], size_t n_apv);
struct parts *tpf_silent_parts(void);
struct parts *tpf_approval_parts(void);
int tpf_verify_parts(struct parts *p, struct ledger_proof_result *res);
void tpf_assert_invalid(struct parts *p);
void tpf_assert_valid(struct parts *p);
struct pbuf *tpf_part_at(struct parts *p, int k);

#endif
