/* PBFT consensus core: a pure state machine driven by pbft_step (DESIGN.md §3). */
#ifndef PBFT_H
#define PBFT_H

/*
 * The core orders opaque, digest-identified blocks among n validators with
 * PBFT (Castro & Liskov, OSDI '99 / TOCS '02). It has no clock, randomness or
 * I/O: every input arrives as a `struct pbft_event` (which carries the time),
 * every effect leaves in a `struct pbft_update` (cowsql/raft's raft_step).
 *
 * Design in one paragraph (details in /work/notes/PBFT_API.md and in the
 * comments of the consensus/ sources):
 *  - One height in flight ("single slot"): the replica works on height
 *    h = committed + 1 only; the primary proposes h+1 after h committed.
 *    Execute-then-agree needs block h applied before h+1 can be built or
 *    validated, so a pipeline would buy little and would make the view
 *    change carry a window of prepared certificates instead of one.
 *  - Every replica, the primary included, signs a PREPARE; a prepared
 *    certificate is q PREPARE signatures over (height, view, digest), a
 *    commit certificate is q COMMIT signatures over (height, view, digest).
 *  - The core asks for persistence with a snapshot of its durable state and
 *    holds every message that depends on it until the PERSISTED event for
 *    that snapshot arrives; the caller cannot send a vote too early.
 *  - The core copies the block payload it must keep (accepted pre-prepare,
 *    prepared block) into the snapshot, so a prepared block can be
 *    re-proposed after a crash of every replica.
 *  - No empty blocks of its own: the primary asks its caller for a proposal
 *    and the caller decides when to answer (at once when it holds
 *    transactions; it may send empty blocks on its own schedule). Progress
 *    timers run only while there is work: a pre-prepare accepted, votes from
 *    f+1 replicas in our view, or an overdue request (PBFT_EV_REQUEST_OVERDUE).
 *    An idle chain has no timer and makes no blocks.
 *  - Memory is bounded: per sender one PREPARE, one COMMIT and one
 *    VIEW-CHANGE (its latest), and one COMMIT for each of the next 16 heights; block payloads: the
 * accepted and the prepared block, the PRE-PREPAREs for the next PBFT_AHEAD (16) heights that came
 *    before this one committed (at most 2 x max_payload together), plus, only while this replica is
 * the primary of a view being changed to, the prepared block of each VIEW-CHANGE for that view.
 * Worst case about (n + 5) x max_payload; in practice one or two blocks.
 *  - The core checks every message (sender index, signature, height and view
 *    window, certificates) before keeping anything from it; malformed or
 *    unwanted messages are dropped and counted (pbft_get_stats).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PBFT_DIGEST_SIZE 32 /* block digest (SHA-256 of the header, computed by the caller) */
#define PBFT_SIG_SIZE    64 /* Ed25519 signature */
/* Most validators supported: signer sets are 64-bit bitmaps inside the core. */
#define PBFT_MAX_N 64
/*
 * Hard cap on a block payload (bytes) whatever the configuration says: it
 * bounds every decode. A block of 1,000 seal transactions is well under 1 MiB.
 */
#define PBFT_MAX_PAYLOAD_LIMIT (16u << 20)
/* Most messages one update can carry (send list). */
#define PBFT_MAX_OUT 24
/* Destination meaning "every other replica". */
#define PBFT_BROADCAST (-1)
/* Size of the signed payload of a PRE-PREPARE/PREPARE/COMMIT (see pbft_sig_kind). */
#define PBFT_VOTE_PAYLOAD_SIZE 48
/* Largest signed payload of any kind (VIEW-CHANGE). */
#define PBFT_SIG_PAYLOAD_MAX 97

/* Error codes: 0 is success. */
#define PBFT_ERRORS(X)                                                                             \
    X(PBFT_OK, "ok")                                                                               \
    X(PBFT_ERR_NOMEM, "out of memory")                                                             \
    X(PBFT_ERR_CONFIG, "invalid configuration")                                                    \
    X(PBFT_ERR_STATE, "event not allowed in this state")                                           \
    X(PBFT_ERR_SNAPSHOT, "malformed or foreign snapshot")                                          \
    X(PBFT_ERR_MALFORMED, "malformed message")                                                     \
    X(PBFT_ERR_BAD_SIG, "bad signature")                                                           \
    X(PBFT_ERR_BAD_CERT, "invalid certificate")                                                    \
    X(PBFT_ERR_CRYPTO, "signing failed")                                                           \
    X(PBFT_ERR_TOO_BIG, "too large")                                                               \
    X(PBFT_ERR_EVENT, "malformed event")

#define PBFT_ERR_ENUM(name, text) name,
enum pbft_err { PBFT_ERRORS(PBFT_ERR_ENUM) PBFT_ERR_COUNT };
#undef PBFT_ERR_ENUM

/* Static text for an error code (never NULL; unknown codes give "unknown error"). */
const char *pbft_strerror(int err);

/*
 * f = floor((n-1)/3): the faults tolerated. Returns 0 for n = 0.
 */
unsigned pbft_faults(unsigned n);

/*
 * q = ceil((n+f+1)/2): the quorum used for every certificate and vote count
 * in the core (n = 3f+1 gives 2f+1; any two quorums share f+1 replicas).
 * Built with -DPBFT_MUTANT_QUORUM=1 it returns q-1 (at least 1): that core
 * is deliberately unsafe, so the simulator can show it catches it.
 */
unsigned pbft_quorum(unsigned n);

/* ------------------------------------------------------------------------ */
/* Signatures                                                               */
/* ------------------------------------------------------------------------ */

/*
 * What a signature is for. The node maps each kind to its own domain tag and
 * signs `tag ‖ genesis hash ‖ payload`, so a signature of one kind never
 * passes for another (a PREPARE is never a COMMIT). All integers in payloads
 * are big-endian (u64 = 8 bytes); digests are 32 bytes.
 *
 *  PBFT_SIG_PREPREPARE, PBFT_SIG_PREPARE, PBFT_SIG_COMMIT (48 bytes):
 *      height u64 ‖ view u64 ‖ block digest
 *    (COMMIT is exactly the commit-certificate payload of proto/block.proto.)
 *  PBFT_SIG_VIEWCHANGE (97 bytes), signed by the replica leaving its view:
 *      height u64        the sender's next height (its committed height + 1)
 *    ‖ view u64          the new view it asks for
 *    ‖ cert_view u64     view of its commit certificate for height-1 (0 if height-1 = 0)
 *    ‖ cert_digest       digest of that block (zeros if height-1 = 0)
 *    ‖ prepared u8       1 if it carries a prepared certificate for `height`, else 0
 *    ‖ prepared_view u64 view of that certificate (0 if none)
 *    ‖ prepared_digest   digest it prepared (zeros if none)
 *  PBFT_SIG_NEWVIEW (49 bytes), signed by the primary of the new view:
 *      height u64 (first height of the view) ‖ view u64 ‖ digest (re-proposed block,
 *      zeros if none) ‖ reproposal u8 (1 if a block is re-proposed, else 0)
 */
enum pbft_sig_kind {
    PBFT_SIG_PREPREPARE = 1,
    PBFT_SIG_PREPARE = 2,
    PBFT_SIG_COMMIT = 3,
    PBFT_SIG_VIEWCHANGE = 4,
    PBFT_SIG_NEWVIEW = 5,
};

/*
 * Signing and verification, injected by the caller and called synchronously
 * from inside pbft_step (and pbft_cert_verify). Validator keys are the
 * caller's business; the core names signers by index only.
 */
struct pbft_crypto {
    void *ctx; /* borrowed; passed back to every call */
    /*
     * Signs `payload` (borrowed for the call, `len` bytes, layout above) of the
     * given kind with this replica's key into sig. Returns 0, or non-zero on
     * failure (pbft_step then returns PBFT_ERR_CRYPTO and sends nothing new).
     */
    int (*sign)(void *ctx, enum pbft_sig_kind kind, const uint8_t *payload, size_t len,
                uint8_t sig[PBFT_SIG_SIZE]);
    /* True when sig is validator `signer`'s signature of kind over payload. */
    bool (*verify)(void *ctx, enum pbft_sig_kind kind, unsigned signer, const uint8_t *payload,
                   size_t len, const uint8_t sig[PBFT_SIG_SIZE]);
    /*
     * Optional (NULL: not checked in the core): true when `block` (len bytes,
     * borrowed) has this digest. With it the core drops a PRE-PREPARE,
     * VIEW-CHANGE or NEW-VIEW whose block does not match its digest before
     * keeping it, so a faulty replica cannot make a new primary re-propose a
     * prepared digest with a wrong payload (which every backup would refuse,
     * view after view). Recommended.
     */
    bool (*block_ok)(void *ctx, const uint8_t digest[PBFT_DIGEST_SIZE], const uint8_t *block,
                     size_t len);
};

/*
 * Writes the 48-byte PRE-PREPARE/PREPARE/COMMIT payload for (height, view,
 * digest) to out. With kind COMMIT this is what a certificate's signatures
 * cover, for third parties checking certificates.
 */
void pbft_vote_payload(uint64_t height, uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE],
                       uint8_t out[PBFT_VOTE_PAYLOAD_SIZE]);

/*
 * A commit certificate: `count` COMMIT signatures over (height, view, digest)
 * by distinct validators, signers strictly increasing (as in proto CommitCert).
 * Plain value type; the caller may copy it freely.
 */
struct pbft_cert {
    uint64_t height;
    uint64_t view;
    uint8_t digest[PBFT_DIGEST_SIZE];
    unsigned count;
    uint16_t signers[PBFT_MAX_N];
    uint8_t sigs[PBFT_MAX_N][PBFT_SIG_SIZE];
};

/*
 * Checks a commit certificate among n validators: height >= 1, count >=
 * pbft_quorum(n), signers strictly increasing and < n, every signature
 * valid (crypto borrowed for the call). Returns 0 or PBFT_ERR_BAD_CERT.
 */
int pbft_cert_verify(const struct pbft_crypto *crypto, unsigned n, const struct pbft_cert *cert);

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Message kinds on the wire. Messages are byte strings in the core's own
 * bounded binary format: the caller transports them unchanged and never needs
 * to parse them (pbft_msg_peek/describe exist for traces and tests).
 */
enum pbft_msg_kind {
    PBFT_MSG_PREPREPARE = 1, /* primary: block (digest + payload) for (view, height) */
    PBFT_MSG_PREPARE = 2,    /* any replica: validated and accepted (view, height, digest) */
    PBFT_MSG_COMMIT = 3,     /* any replica: prepared (view, height, digest) */
    PBFT_MSG_VIEWCHANGE = 4, /* leaving for view v: commit cert + prepared cert (+ payload) */
    PBFT_MSG_NEWVIEW = 5,    /* primary of v: q VIEW-CHANGEs + the block to re-propose */
    PBFT_MSG_CERT = 6,       /* a commit certificate, sent to a replica seen behind */
};

/* Short name of a message kind ("prepare", ...), "?" for unknown values. */
const char *pbft_msg_kind_str(int kind);

/*
 * Reads the fixed header of an encoded message (borrowed): kind, sender,
 * height, view. Does not check signatures or the body. Returns 0 or
 * PBFT_ERR_MALFORMED. Any out_ pointer may be NULL.
 */
int pbft_msg_peek(const uint8_t *bytes, size_t len, int *out_kind, unsigned *out_sender,
                  uint64_t *out_height, uint64_t *out_view);

/*
 * Encodes and signs a PREPARE or COMMIT (kind) from `sender` with crypto's
 * sign (for tests and Byzantine replicas in the simulator: any content can be
 * crafted). Writes at most `cap` bytes to out, the length to *out_len.
 * Returns 0, PBFT_ERR_TOO_BIG, PBFT_ERR_CRYPTO or PBFT_ERR_EVENT (bad kind).
 */
int pbft_msg_vote_encode(const struct pbft_crypto *crypto, int kind, unsigned sender,
                         uint64_t height, uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE],
                         uint8_t *out, size_t cap, size_t *out_len);

/*
 * Encodes and signs a PRE-PREPARE from `sender` (any content, like
 * pbft_msg_vote_encode; a Byzantine primary can equivocate with it). payload
 * is borrowed. Same returns.
 */
int pbft_msg_preprepare_encode(const struct pbft_crypto *crypto, unsigned sender, uint64_t height,
                               uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE],
                               const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap,
                               size_t *out_len);

/* Largest encoded size of any message for n validators and max_payload bytes of block. */
size_t pbft_msg_max_size(unsigned n, size_t max_payload);

/* ------------------------------------------------------------------------ */
/* Configuration and lifecycle                                              */
/* ------------------------------------------------------------------------ */

/*
 * Trace hook: one line per notable step, e.g. "recv prepare v=0 h=5 from 1"
 * (no time, no replica id, no newline: the caller adds them). `line` is
 * borrowed for the call.
 */
typedef void (*pbft_trace_fn)(void *ctx, uint64_t now, unsigned self, const char *line);

struct pbft_config {
    unsigned n;                /* validators, 1..PBFT_MAX_N, fixed by genesis */
    unsigned self;             /* this replica's index, < n */
    struct pbft_crypto crypto; /* copied; ctx stays borrowed for the replica's life */
    /* Largest block payload accepted, <= PBFT_MAX_PAYLOAD_LIMIT; 0 = 1 MiB. */
    size_t max_payload;
    /*
     * Progress timeout (ms): a height on which work is known (a pre-prepare,
     * prepare or commit seen for it) must commit within this, else the replica
     * starts a view change. 0 = 2000.
     */
    uint64_t progress_timeout_ms;
    /*
     * View-change timeout (ms), started once q VIEW-CHANGEs for the target view
     * are held; it, the progress and the request timeout double with each
     * further view change without a commit, capped at view_change_max_ms.
     * 0 = 2000 and 0 = 30000.
     */
    uint64_t view_change_timeout_ms;
    uint64_t view_change_max_ms;
    /*
     * Request timeout (ms): the least time a view gets before an overdue request
     * (PBFT_EV_REQUEST_OVERDUE) replaces its primary. 0 = 4000.
     */
    uint64_t request_timeout_ms;
    /* Retransmission interval (ms) of this replica's own messages while in flight. 0 = 500. */
    uint64_t resend_ms;
    pbft_trace_fn trace; /* optional (NULL: no trace) */
    void *trace_ctx;     /* borrowed */
};

/* Opaque replica. */
struct pbft;

/*
 * Allocates a replica from cfg (copied). It does nothing until the START
 * event. Returns 0 and *out, or PBFT_ERR_CONFIG / PBFT_ERR_NOMEM.
 */
int pbft_new(const struct pbft_config *cfg, struct pbft **out);

/* Frees a replica and everything the last update pointed to. pbft_free(NULL) is a no-op. */
void pbft_free(struct pbft *r);

/* Last error context (e.g. "snapshot: view field truncated"); valid until the next step. */
const char *pbft_errmsg(const struct pbft *r);

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

enum pbft_event_type {
    /*
     * First event, exactly once per pbft_new. start.snapshot is the last
     * snapshot the caller made durable (NULL/0: fresh replica). committed_height
     * is the height of the caller's applied chain tip (0 = genesis only) and
     * last_cert its commit certificate (NULL allowed only when committed_height
     * is 0 or the snapshot holds that certificate). All borrowed for the call.
     */
    PBFT_EV_START = 1,
    /* A message received from validator `from` (the transport-authenticated peer). */
    PBFT_EV_RECEIVE,
    /* The deadline of the last update was reached (early or late calls are harmless). */
    PBFT_EV_TIMEOUT,
    /*
     * The block the core asked for (update.propose): height, digest, payload
     * (borrowed; the core copies it). Ignored unless the core still wants a
     * proposal for that height in its current view.
     */
    PBFT_EV_PROPOSAL,
    /*
     * Verdict for a block of update.validate: height, digest, ok. The caller
     * must check digest = hash(payload) as part of validity. Stale verdicts
     * are ignored.
     */
    PBFT_EV_VALIDATED,
    /* The snapshot with this seq (and every earlier one) is durable. */
    PBFT_EV_PERSISTED,
    /*
     * The caller's request timer expired (PBFT's, kept by the caller, which
     * sees transactions: node/reqtimer.h). It holds a valid transaction and
     * either executed no block for its request time-out while it waited (the
     * timer restarts on every executed block, Castro & Liskov 4.4), or a
     * committed block that had room for it left it out a time-out ago
     * (censorship). A backlog that full blocks drain is not overdue however
     * old it is. Report it again while it stays overdue, after commits and
     * view changes too (repeats are cheap): the core replaces the primary
     * once the current view is request_timeout_ms old (doubled per view
     * change since the last commit, capped at view_change_max_ms) and a
     * request is still reported overdue; a commit clears the report.
     */
    PBFT_EV_REQUEST_OVERDUE,
    /*
     * The caller synced (applied durably) blocks up to cert->height after a
     * `behind` notice; cert (borrowed) is the last block's commit certificate.
     * The replica moves to height cert->height + 1 (and to cert->view if that
     * is higher than its view).
     */
    PBFT_EV_SYNCED,
};

struct pbft_event {
    enum pbft_event_type type;
    uint64_t now; /* milliseconds, monotonic, caller's clock */
    union {
        struct {
            const uint8_t *snapshot;
            size_t snapshot_len;
            uint64_t committed_height;
            const struct pbft_cert *last_cert;
        } start;
        struct {
            unsigned from;
            const uint8_t *bytes;
            size_t len;
        } receive;
        struct {
            uint64_t height;
            uint8_t digest[PBFT_DIGEST_SIZE];
            const uint8_t *payload;
            size_t payload_len;
        } proposal;
        struct {
            uint64_t height;
            uint8_t digest[PBFT_DIGEST_SIZE];
            bool ok;
        } validated;
        struct {
            uint64_t seq;
        } persisted;
        struct {
            const struct pbft_cert *cert;
        } synced;
    };
};

/* ------------------------------------------------------------------------ */
/* Update                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Everything in an update is owned by the replica and valid until the next
 * pbft_step or pbft_free on it. Process the parts in this order:
 *   1. committed: apply it durably (before persisting `persist`).
 *   2. persist: make the snapshot durable, then step PBFT_EV_PERSISTED with its
 *      seq (later, asynchronously, is fine). Only the newest snapshot matters:
 *      a caller may skip an older one and report the newer seq.
 *   3. msgs: send them (they never depend on a snapshot not yet durable; the
 *      core holds such messages back itself and releases them on PERSISTED).
 *   4. validate: execute the block, step PBFT_EV_VALIDATED (may be later).
 *   5. propose: build a block for that height, step PBFT_EV_PROPOSAL when ready.
 *   6. behind: start syncing up to behind.height, then step PBFT_EV_SYNCED.
 *   7. deadline: step PBFT_EV_TIMEOUT at that time (0 = no timer).
 */
struct pbft_out_msg {
    int to;   /* replica index, or PBFT_BROADCAST (all but self) */
    int kind; /* enum pbft_msg_kind, for traces */
    uint64_t height, view;
    const uint8_t *bytes;
    size_t len;
};

struct pbft_update {
    unsigned n_msgs;
    struct pbft_out_msg msgs[PBFT_MAX_OUT];

    bool has_persist;
    struct {
        uint64_t seq; /* increasing from 1 */
        const uint8_t *bytes;
        size_t len;
    } persist;

    bool has_validate;
    struct {
        uint64_t height, view;
        unsigned proposer;
        uint8_t digest[PBFT_DIGEST_SIZE];
        const uint8_t *payload;
        size_t payload_len;
        bool reproposal; /* re-proposed after a view change: skip the clock check */
    } validate;

    bool has_propose;
    struct {
        uint64_t height, view; /* build block `height` on the applied tip height-1 */
    } propose;

    bool has_committed;
    struct {
        const struct pbft_cert *cert; /* height, view, digest and the q signatures */
        const uint8_t *payload;       /* the block */
        size_t payload_len;
    } committed;

    bool has_behind;
    struct {
        uint64_t height; /* a block at this height is certified (or f+1 replicas are past it) */
        unsigned peer;   /* a replica that has it */
        const struct pbft_cert *cert; /* its certificate, NULL when known only by f+1 evidence */
    } behind;

    uint64_t deadline; /* absolute ms; 0 = no timer */
};

/*
 * Feeds one event (borrowed for the call) and fills *up (caller-allocated,
 * overwritten). Returns 0, or an error for events that are themselves
 * invalid (PBFT_ERR_STATE: event before START or second START;
 * PBFT_ERR_SNAPSHOT; PBFT_ERR_EVENT; PBFT_ERR_CRYPTO; PBFT_ERR_NOMEM).
 * A malformed, badly signed or out-of-window RECEIVE is not an error: it is
 * dropped and counted (pbft_stats). On error *up is still valid (maybe empty).
 */
int pbft_step(struct pbft *r, const struct pbft_event *ev, struct pbft_update *up);

/* ------------------------------------------------------------------------ */
/* Inspection (tests, metrics, traces)                                      */
/* ------------------------------------------------------------------------ */

enum pbft_status {
    PBFT_STATUS_NORMAL = 0,      /* working in its view */
    PBFT_STATUS_VIEW_CHANGE = 1, /* sent VIEW-CHANGE, waiting for the NEW-VIEW */
};

struct pbft_stats {
    uint64_t view;
    uint64_t height; /* the height in flight: committed + 1 */
    int status;      /* enum pbft_status */
    uint64_t view_changes;
    uint64_t committed;
    uint64_t dropped_malformed, dropped_bad_sig, dropped_window, dropped_duplicate;
    /*
     * What is held now for the heights above the one in flight (the log window, at most 16
     * heights): PRE-PREPAREs and their payload bytes (at most 2 x max_payload together), and
     * COMMITs (at most one per sender and height). Gauges, not counters; node_driver_stats
     * passes them on unchanged.
     */
    uint64_t ahead_preprepares, ahead_bytes, ahead_commits;
};

/* Copies the replica's counters into *out. */
void pbft_get_stats(const struct pbft *r, struct pbft_stats *out);

#endif
