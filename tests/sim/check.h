/* Safety checkers of the simulator: agreement, validity, certificates, no honest double-signing. */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/pbft.h"
#include "tests/sim/block.h"
#include "tests/sim/map.h"
#include "tests/sim/sign.h"

/* Kinds of violation, counted separately so a report says which rule broke. */
enum sim_violation {
    SIM_V_AGREEMENT,   /* two honest replicas committed different blocks at one height */
    SIM_V_VALIDITY,    /* a committed block no honest caller built or validated */
    SIM_V_CERT,        /* a commit certificate without q distinct valid signers for the block */
    SIM_V_DOUBLE_SIGN, /* an honest replica emitted two digests for one (kind, view, height) */
    SIM_V_LIVENESS,    /* no progress within the bound after healing */
    SIM_V_CORE_ERROR,  /* pbft_step refused a well-formed event, or something impossible */
    SIM_V_COUNT
};

/* The first honest commit at a height: its block and certificate (agreement reference). */
struct sim_commit {
    bool set;
    int slot;
    size_t len;
    unsigned char payload[SIM_BLOCK_MAX_LEN];
    struct pbft_cert cert;
};

struct sim_check {
    int n, q;
    bool honest[PBFT_MAX_N]; /* identities that are neither Byzantine nor twinned */
    const struct sim_keys *keys;
    struct sim_commit *h; /* indexed by height */
    size_t cap;
    uint64_t max_height;  /* highest height any honest replica committed */
    struct sim_map valid; /* digests an honest caller built or validated ok */
    struct sim_map sigs;  /* (identity, kind, view, height) -> digest an honest replica emitted */
    bool violated;
    enum sim_violation vkind;
    char what[320];
    uint64_t count[SIM_V_COUNT];
    uint64_t certs_checked; /* certificates verified signature by signature */
    /*
     * Mutant hunting: a certificate with fewer than q signers is counted in short_certs
     * instead of ending the run, so the run can show the fork a short quorum causes.
     */
    bool soft_quorum;
    uint64_t short_certs;
};

/* The quorum the checkers use, computed here, never through the (maybe mutant) core. */
unsigned sim_quorum(unsigned n);
unsigned sim_faults(unsigned n);

void sim_check_init(struct sim_check *c);
void sim_check_close(struct sim_check *c);
/* Starts a run of n identities; all honest until marked. keys borrowed for the run. */
void sim_check_reset(struct sim_check *c, int n, const struct sim_keys *keys);
/* Records a violation (the first one's text is kept for the report). */
void sim_check_fail(struct sim_check *c, enum sim_violation v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records that an honest caller built or validated `digest` ok. */
void sim_check_valid(struct sim_check *c, const unsigned char digest[SIM_DIGEST_LEN]);
/*
 * Checks a commit by slot `slot` (identity id): the block matches the certificate's
 * digest and height, the certificate has q distinct in-range signers with valid COMMIT
 * signatures, an honest caller validated it, and no honest replica committed another
 * block at that height. Only honest identities are held to agreement.
 */
void sim_check_commit(struct sim_check *c, int slot, int id, const struct pbft_cert *cert,
                      const unsigned char *payload, size_t len);
/* Size of a NEW-VIEW's signed payload: base ‖ view ‖ digest ‖ reproposal (pbft.h). */
#define SIM_NEWVIEW_PAYLOAD 49
/* Size of a VIEW-CHANGE's signed payload (pbft.h). */
#define SIM_VIEWCHANGE_PAYLOAD PBFT_SIG_PAYLOAD_MAX
/*
 * Records a signature identity id emitted (payload of len bytes, pbft.h layouts) and flags
 * honest equivocation, for every signed kind: a second digest for the same (kind, view,
 * height) of a PRE-PREPARE/PREPARE/COMMIT; a second, different NEW-VIEW for the same view
 * (whatever its base or choice, a view has one); a second, different VIEW-CHANGE for the
 * same (height, view).
 */
void sim_check_emitted(struct sim_check *c, int id, int kind, const unsigned char *payload,
                       size_t len);
/* sim_check_cert's result for a certificate whose only fault is having fewer than q signers. */
#define SIM_CERT_SHORT (-2)
/*
 * Checks one certificate with the simulator's own quorum and verifier: 0, SIM_CERT_SHORT, or
 * -1 for any other fault (why in buf).
 */
int sim_check_cert(struct sim_check *c, const struct pbft_cert *cert, char *why, size_t why_len);
/* Builds the byte string a signature of `kind` covers: tag ‖ genesis ‖ payload; returns length. */
size_t sim_signed_bytes(int kind, const unsigned char *payload, size_t len, unsigned char *out);
/* Name of a violation kind. */
const char *sim_violation_str(enum sim_violation v);

#endif
