/* Internal state and helpers shared by the PBFT core's files (not part of the API). */
#ifndef PBFT_INTERNAL_H
#define PBFT_INTERNAL_H

#include <stdarg.h>

#include "consensus/pbft.h"

/*
 * Views above the current one for which PREPARE/COMMIT votes are still kept
 * (one per sender). Honest replicas are at most a few views apart (a replica
 * only climbs on its own timer after q VIEW-CHANGEs, or with f+1 others), so
 * 64 loses nothing useful and bounds what a Byzantine sender can park.
 */
#define PBFT_VIEW_WINDOW 64

/* Wire and snapshot format version. */
#define PBFT_FORMAT_VERSION 1
/* Fixed message header: version u8, kind u8, sender u16, height u64, view u64. */
#define PBFT_HDR_SIZE 20

/* A vote (PREPARE or COMMIT) kept per sender for the height in flight. */
struct pbft__vote {
    bool has;
    uint64_t view;
    uint8_t digest[PBFT_DIGEST_SIZE];
    uint8_t sig[PBFT_SIG_SIZE];
};

/* Heights above the one in flight whose PRE-PREPARE and COMMITs are kept (struct pbft.ahead). */
#define PBFT_AHEAD 16

/* What is kept for one height above the one in flight (height 0: nothing). */
struct pbft__ahead {
    uint64_t height;
    bool pp_set; /* a PRE-PREPARE from the primary of `view` */
    unsigned sender;
    uint64_t view;
    uint8_t digest[PBFT_DIGEST_SIZE];
    uint8_t sig[PBFT_SIG_SIZE];
    uint8_t *payload; /* owned */
    size_t len;
    struct pbft__vote commits[PBFT_MAX_N];
};

/*
 * A VIEW-CHANGE, decoded or kept. cert is the sender's commit certificate for
 * height-1 (count 0 when height is 1), pcert its prepared certificate for
 * height (PREPARE signatures), payload the prepared block. In a decoded
 * message payload is borrowed from the input; in a kept one it is owned
 * (owned != NULL) or absent.
 */
struct pbft__vc {
    unsigned sender;
    uint64_t view;
    uint64_t height;
    struct pbft_cert cert;
    bool prepared;
    struct pbft_cert pcert;
    const uint8_t *payload;
    size_t payload_len;
    uint8_t *owned;
    uint8_t sig[PBFT_SIG_SIZE];
};

/* A decoded message; pointers borrow from the input bytes or the replica's scratch. */
struct pbft__msg {
    int kind;
    unsigned sender;
    uint64_t height;
    uint64_t view;
    uint8_t digest[PBFT_DIGEST_SIZE];
    uint8_t sig[PBFT_SIG_SIZE];
    const uint8_t *payload;
    size_t payload_len;
    bool reproposal;         /* NEW-VIEW */
    struct pbft_cert *cert;  /* CERT: points to scratch */
    struct pbft__vc *vc;     /* VIEW-CHANGE: points to scratch */
    struct pbft__vc *nv_vcs; /* NEW-VIEW: heap array, freed by pbft__msg_release */
    unsigned nv_count;
};

/* One of this replica's own messages: created with the snapshot seq it needs durable. */
struct pbft__own {
    bool live;         /* still relevant (resent by the retransmission timer) */
    bool sent;         /* released since created or last resend */
    uint64_t need_seq; /* snapshot seq that must be durable before it leaves */
};

struct pbft {
    struct pbft_config cfg;
    unsigned n, f, q;
    char errmsg[256];
    bool started;
    uint64_t now;

    /* --- durable (in the snapshot) ---------------------------------------- */
    uint64_t view;
    int status;                 /* enum pbft_status */
    uint64_t height;            /* in flight: committed + 1 */
    uint64_t fresh_from;        /* lowest height a fresh PRE-PREPARE may have in this view */
    struct pbft_cert last_cert; /* certificate of height-1; count 0 at height 1 */

    bool acc; /* a pre-prepare accepted for (acc_view, height) */
    uint64_t acc_view;
    uint8_t acc_digest[PBFT_DIGEST_SIZE];
    unsigned acc_proposer;
    bool acc_reproposal;
    uint8_t *acc_payload; /* owned */
    size_t acc_len;
    /*
     * PBFT's log window (Castro & Liskov 4.2: messages "between h and H" are
     * accepted): for the PBFT_AHEAD heights above the one in flight, the
     * PRE-PREPARE from the primary of its view and the COMMITs (one per sender),
     * signatures and digest checked, that came before this replica reached them.
     * The primary proposes h+1 the moment it commits h, and a replica a few
     * heights behind hears the others' messages for heights it has not reached:
     * once it gets there (by commit or sync) it takes them up and commits on
     * their certificate at once, instead of fetching every block by sync while
     * the chain moves on. Slot height % PBFT_AHEAD; volatile. Per height one
     * PRE-PREPARE: the one of our view, else the highest view (up to
     * PBFT_VIEW_WINDOW above ours); within the byte budget, one of our view
     * evicts those of other views (every replica is the primary of some view).
     */
    struct pbft__ahead ahead[PBFT_AHEAD];
    size_t ahead_bytes; /* kept PRE-PREPARE payloads, at most 2 x max_payload */
    /*
     * The block a NEW-VIEW re-proposes for a height above ours (we were behind when it came,
     * checked like any NEW-VIEW): taken up once this replica reaches that height in that view
     * by sync or commit, so it votes in the view instead of sitting it out. Volatile; one block.
     */
    struct {
        bool set;
        uint64_t height, view;
        uint8_t digest[PBFT_DIGEST_SIZE];
        uint8_t *payload; /* owned */
        size_t len;
    } pending_nv;
    /*
     * Per sender, the highest view of a NEW-VIEW from it that failed its checks (0: none).
     * Only the primary of a view may send its NEW-VIEW, and a correct one never sends a bad
     * one: later NEW-VIEWs from it for that view are dropped unchecked.
     */
    uint64_t nv_refused[PBFT_MAX_N];
    bool pp_signed; /* this replica (primary) signed the PRE-PREPARE for acc */
    bool pp_resend; /* volatile: the PRE-PREPARE was broadcast once already */
    uint8_t pp_sig[PBFT_SIG_SIZE];

    struct pbft__vote my_prepare; /* latest PREPARE signed at this height */
    struct pbft__vote my_commit;  /* latest COMMIT signed at this height */

    bool prepared;          /* highest-view prepared certificate at this height */
    struct pbft_cert pcert; /* PREPARE signatures */
    uint8_t *p_payload;     /* owned */
    size_t p_len;

    bool vc_signed; /* my VIEW-CHANGE for `view` (status VIEW_CHANGE) */
    uint8_t vc_signed_payload[PBFT_SIG_PAYLOAD_MAX];
    uint8_t vc_sig[PBFT_SIG_SIZE];

    /* --- volatile ------------------------------------------------------------ */
    int validated; /* verdict on acc_digest: 0 pending, 1 ok, -1 refused */
    bool ok_known; /* ok_digest passed validation at this height */
    uint8_t ok_digest[PBFT_DIGEST_SIZE];
    bool propose_wanted; /* asked the caller for a block for (view, height) */

    struct pbft__vote prepares[PBFT_MAX_N];
    struct pbft__vote commits[PBFT_MAX_N];
    struct pbft__vc *vcs[PBFT_MAX_N]; /* latest VIEW-CHANGE per sender (heap) */
    uint64_t seen_height[PBFT_MAX_N]; /* highest height in a signed message per sender */
    uint64_t help_at[PBFT_MAX_N];     /* when a CERT may next be sent to that sender */
    uint64_t behind_reported;         /* highest height announced in a behind notice */
    uint64_t behind_at;               /* when it was announced */

    struct pbft__own own_pp, own_prepare, own_commit, own_vc, own_nv;
    uint8_t *nv_bytes; /* my NEW-VIEW for nv_view (owned) */
    size_t nv_len;
    uint64_t nv_view, nv_base;

    uint64_t view_entered_at;
    uint64_t progress_at; /* 0: off */
    uint64_t vc_at;       /* 0: off */
    unsigned vc_attempts; /* view changes since the last commit */
    bool overdue;
    uint64_t overdue_at;
    uint64_t resend_at;

    bool dirty; /* durable state changed: a snapshot is due */
    uint64_t persist_seq, durable_seq;

    /* --- what the last update points to ------------------------------------ */
    uint8_t *out_bufs[PBFT_MAX_OUT];
    uint8_t *persist_buf;
    struct pbft_cert committed_cert;
    uint8_t *committed_payload;
    uint8_t *validate_payload; /* copy: acc_payload may change within the step */
    struct pbft_cert behind_cert;
    struct pbft_update *up; /* the update being filled */

    /* scratch for decoding */
    struct pbft_cert scratch_cert;
    struct pbft__vc scratch_vc;

    struct pbft_stats stats;
};

/* ---- pbft.c ---------------------------------------------------------------- */
/* Formats one trace line when a trace hook is set. */
void pbft__trace(struct pbft *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets r->errmsg; returns err. */
int pbft__fail(struct pbft *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Index of the primary of view v. */
unsigned pbft__primary(const struct pbft *r, uint64_t view);
/* Queues a message (bytes transferred to the replica's outbox) to `to`. */
void pbft__send(struct pbft *r, int to, int kind, uint64_t height, uint64_t view, uint8_t *bytes,
                size_t len);
/* Marks an own message created now: it leaves once the next snapshot is durable. */
void pbft__own_create(struct pbft *r, struct pbft__own *o);
/* Starts the progress timer if it is not running (work is known at this height). */
void pbft__work_known(struct pbft *r);
/* Clears the per-height state and moves to height h (committed h-1). */
void pbft__reset_height(struct pbft *r, uint64_t h);
/* Takes up the PRE-PREPARE and COMMITs kept for the height just reached, if any, and forgets
 * what was kept for heights now passed (preprepare.c). */
void pbft__take_ahead(struct pbft *r);
/* Forgets everything kept for heights above the one in flight. */
void pbft__drop_ahead(struct pbft *r);
/* Keeps a COMMIT (signature not yet checked) for a height in the window above the one in
 * flight; false when it is outside the window, so the caller treats it as before. */
bool pbft__keep_ahead_commit(struct pbft *r, const struct pbft__msg *m);
/* Enters view v in normal operation at time now. */
void pbft__enter_view(struct pbft *r, uint64_t v);
/* Copies bytes into a fresh heap buffer (NULL for len 0 is fine: returns a 1-byte block). */
uint8_t *pbft__dup(const uint8_t *p, size_t len);

/* True unless the injected block_ok says block does not have this digest. */
bool pbft__block_ok(const struct pbft *r, const uint8_t digest[PBFT_DIGEST_SIZE],
                    const uint8_t *block, size_t len);

/* ---- quorum.c ---------------------------------------------------------------- */
/* Verifies a signature set of kind over (cert->height, view, digest) among n. */
int pbft__sigset_verify(const struct pbft_crypto *c, unsigned n, enum pbft_sig_kind kind,
                        const struct pbft_cert *cert);
/*
 * Looks for q votes (per-sender array) agreeing on one (view, digest) with
 * view >= min_view. On success fills *out (height set by the caller) and
 * returns true.
 */
bool pbft__vote_quorum(const struct pbft *r, const struct pbft__vote *votes, uint64_t min_view,
                       struct pbft_cert *out);
/* Count of votes matching (view, digest). */
unsigned pbft__vote_count(const struct pbft *r, const struct pbft__vote *votes, uint64_t view,
                          const uint8_t digest[PBFT_DIGEST_SIZE]);

/* ---- codec.c ----------------------------------------------------------------- */
struct pbft__buf {
    uint8_t *p;
    size_t len, cap;
    bool fail;
};
void pbft__put_u8(struct pbft__buf *b, uint8_t v);
void pbft__put_u16(struct pbft__buf *b, uint16_t v);
void pbft__put_u32(struct pbft__buf *b, uint32_t v);
void pbft__put_u64(struct pbft__buf *b, uint64_t v);
void pbft__put_bytes(struct pbft__buf *b, const uint8_t *p, size_t len);
struct pbft__rd {
    const uint8_t *p;
    size_t len, off;
    bool fail;
};
uint8_t pbft__get_u8(struct pbft__rd *d);
uint16_t pbft__get_u16(struct pbft__rd *d);
uint32_t pbft__get_u32(struct pbft__rd *d);
uint64_t pbft__get_u64(struct pbft__rd *d);
const uint8_t *pbft__get_bytes(struct pbft__rd *d, size_t len);
/* Writes / reads a signer list (count u16, then signer u16 + sig). Read checks order and n. */
void pbft__put_sigs(struct pbft__buf *b, const struct pbft_cert *c);
bool pbft__get_sigs(struct pbft__rd *d, unsigned n, struct pbft_cert *c);
/* Signed payload of a VIEW-CHANGE (PBFT_SIG_PAYLOAD_MAX bytes). */
void pbft__vc_payload(const struct pbft__vc *vc, uint8_t out[PBFT_SIG_PAYLOAD_MAX]);
/* Signed payload of a NEW-VIEW (49 bytes). */
void pbft__nv_payload(uint64_t base, uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE],
                      bool reproposal, uint8_t out[49]);
/* Encodes a VIEW-CHANGE (with its payload unless strip). Heap bytes or NULL. */
uint8_t *pbft__vc_encode(const struct pbft__vc *vc, bool strip, size_t *out_len);
/* Encodes a message of any simple kind (PRE-PREPARE, PREPARE, COMMIT, CERT). */
uint8_t *pbft__simple_encode(const struct pbft__msg *m, size_t *out_len);
/* Decodes any message strictly into m (scratch of r used). 0 or PBFT_ERR_MALFORMED. */
int pbft__msg_decode(struct pbft *r, const uint8_t *bytes, size_t len, struct pbft__msg *m);
/* Frees what a decode allocated. */
void pbft__msg_release(struct pbft__msg *m);

/* ---- snapshot.c -------------------------------------------------------------- */
/* Encodes the durable state. Heap bytes or NULL. */
uint8_t *pbft__snapshot_encode(const struct pbft *r, size_t *out_len);
/* Restores the durable state; 0 or PBFT_ERR_SNAPSHOT (errmsg says why). */
int pbft__snapshot_decode(struct pbft *r, const uint8_t *p, size_t len);

/* ---- preprepare.c ------------------------------------------------------------ */
void pbft__want_proposal(struct pbft *r);
int pbft__on_proposal(struct pbft *r, const struct pbft_event *ev);
void pbft__recv_preprepare(struct pbft *r, const struct pbft__msg *m);
int pbft__on_validated(struct pbft *r, const struct pbft_event *ev);
/* Accepts a block as the pre-prepare of (view, height) and asks for validation if needed. */
void pbft__accept(struct pbft *r, uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE],
                  const uint8_t *payload, size_t len, unsigned proposer, bool reproposal);
/* Emits my PRE-PREPARE bytes. */
void pbft__send_preprepare(struct pbft *r);

/* ---- prepare.c --------------------------------------------------------------- */
void pbft__recv_vote(struct pbft *r, const struct pbft__msg *m);
/* Signs PREPARE / COMMIT when the rules allow; returns PBFT_ERR_CRYPTO on failure. */
int pbft__advance(struct pbft *r);
void pbft__send_vote(struct pbft *r, int kind, const struct pbft__vote *v);

/* ---- commit.c ---------------------------------------------------------------- */
/* Commits when q COMMITs agree and the block is held; reports behind otherwise. */
void pbft__check_commit(struct pbft *r);
void pbft__commit(struct pbft *r, const struct pbft_cert *cert, const uint8_t *payload, size_t len);
void pbft__recv_cert(struct pbft *r, const struct pbft__msg *m);
/* Sends my last certificate to a sender seen at a lower height (rate-limited). */
void pbft__help(struct pbft *r, unsigned to);
/* Records that `sender` signed something at `height`; reports behind on f+1 evidence. */
void pbft__evidence(struct pbft *r, unsigned sender, uint64_t height);
/* Announces a certified height above ours. */
void pbft__behind(struct pbft *r, uint64_t height, unsigned peer, const struct pbft_cert *cert);
int pbft__on_synced(struct pbft *r, const struct pbft_event *ev);

/* ---- viewchange.c ------------------------------------------------------------ */
int pbft__start_view_change(struct pbft *r, uint64_t v);
void pbft__recv_viewchange(struct pbft *r, const struct pbft__msg *m);
/* Full check of a VIEW-CHANGE (signature and both certificates). 0 or an error. */
int pbft__vc_check(struct pbft *r, const struct pbft__vc *vc);
/* Builds my VIEW-CHANGE from the durable state (payload borrowed from r). */
void pbft__my_vc(struct pbft *r, struct pbft__vc *out);
void pbft__send_vc(struct pbft *r);
/* Count of kept VIEW-CHANGEs for view v (mine once released). */
unsigned pbft__vc_count(const struct pbft *r, uint64_t v);
void pbft__free_vc(struct pbft__vc *vc);
/* Starts the view-change timer when q VIEW-CHANGEs are held. */
void pbft__vc_timer(struct pbft *r);

/* ---- newview.c --------------------------------------------------------------- */
/* As primary of the view being changed to, sends NEW-VIEW when q VIEW-CHANGEs are held. */
int pbft__maybe_new_view(struct pbft *r);
/* Takes up the kept re-proposal once the replica is at its height and view; drops a stale one. */
void pbft__take_reproposal(struct pbft *r);
/* Drops the kept re-proposal. */
void pbft__drop_reproposal(struct pbft *r);
void pbft__recv_newview(struct pbft *r, const struct pbft__msg *m);

#endif
