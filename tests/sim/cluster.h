/* The simulated cluster: replicas (core + caller), network, virtual time, faults, checkers. */
#ifndef SIM_CLUSTER_H
#define SIM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/pbft.h"
#include "node/driver.h"
#include "tests/sim/check.h"
#include "tests/sim/net.h"
#include "tests/sim/node.h"
#include "tests/sim/queue.h"
#include "tests/sim/rng.h"
#include "tests/sim/sign.h"
#include "tests/sim/trace.h"

/* Signatures a replica remembers until it sees them leave (its last few of every kind). */
#define SIM_SIGNED_RING 16

/* Byzantine behaviours (bit set per Byzantine replica). */
enum {
    SIM_BYZ_EQUIVOCATE = 1 << 0,  /* as primary: block A to some backups, block B to others */
    SIM_BYZ_VOTE_UNSENT = 1 << 1, /* PREPARE/COMMIT for digests nobody was sent */
    SIM_BYZ_BAD_SIG = 1 << 2,     /* votes with forged signatures, also in others' names */
    SIM_BYZ_BAD_SENDER = 1 << 3,  /* sender index out of range in the header */
    SIM_BYZ_HUGE = 1 << 4,        /* view and height near 10^9 and 2^64 */
    SIM_BYZ_FLOOD = 1 << 5,       /* bursts of validly signed votes from the future */
    SIM_BYZ_CENSOR = 1 << 6,      /* as primary: leaves the censored transaction out */
    SIM_BYZ_GARBAGE = 1 << 7,     /* truncated and bit-flipped copies of real messages */
    SIM_BYZ_SELECTIVE = 1 << 8,   /* sends each of its own messages to a random subset only */
    SIM_BYZ_REPLAY = 1 << 9,      /* re-sends its own old messages (old heights and views) */
    SIM_BYZ_DEAF = 1 << 10,       /* ignores VIEW-CHANGEs that carry a prepared block */
    SIM_BYZ_NEWVIEW = 1 << 11, /* as new primary: NEW-VIEWs from chosen or stale VIEW-CHANGE sets,
                                  wrong re-proposals, a lying base; equivocated */
    SIM_BYZ_VCHANGE = 1 << 12, /* VIEW-CHANGEs with replayed old certificates or a hidden
                                  prepared one; equivocated */
};

/* VIEW-CHANGEs a Byzantine replica keeps from what it hears, for crafting (byzvc.c). */
#define SIM_VC_STASH 24

/* Byzantine message counters, by kind, for the summary line. */
enum sim_byz_kind {
    SIM_BK_EQUIVOCATE,
    SIM_BK_UNSENT,
    SIM_BK_BADSIG,
    SIM_BK_BADSENDER,
    SIM_BK_HUGE,
    SIM_BK_FLOOD,
    SIM_BK_GARBAGE,
    SIM_BK_SELECTIVE,
    SIM_BK_REPLAY,
    SIM_BK_DEAF,
    SIM_BK_NEWVIEW,
    SIM_BK_VCHANGE,
    SIM_BK_COUNT
};

/* One fault mix: what the schedule may do to the cluster during the faulty period. */
struct sim_mix {
    const char *name;
    const char *desc;
    uint32_t delay_min, delay_max; /* link delay, ms */
    uint32_t drop_ppm, dup_ppm, reorder_ppm;
    bool partitions;          /* random partitions, each healed after a while */
    bool crashes;             /* single-replica crashes and restarts */
    bool all_crash;           /* every replica crashes at once, then all restart */
    uint32_t persist_max;     /* slowest fsync, ms: crashes may fall between request and ack */
    unsigned byz;             /* SIM_BYZ_* behaviours of the Byzantine replicas (0: none) */
    bool twins;               /* f identities run twice, on different sides of partitions */
    uint32_t commit_drop_ppm; /* extra loss of COMMITs only: prepared-but-uncommitted states */
    uint32_t tx_per_s;        /* client load (0: a trickle, one tx every tx_every ms or so) */
    uint64_t faulty_max;      /* cap on the faulty period, ms (0: the usual 10-25 s or 60 s) */
};

/* Totals over a run (and summed over runs). */
struct sim_stats {
    uint64_t runs, drops, dups, reorders, cut, partitions, crashes, restarts, all_crashes,
        lost_persists, byz[SIM_BK_COUNT], view_changes, blocks, max_height, events, txs, syncs,
        core_dropped, short_certs, votes_checked, certs_checked, commit_drops, fail_stops;
};

/* Timing of the caller and the core, in virtual ms. */
struct sim_timing {
    uint64_t progress, view_change, view_change_max, request, resend;
    uint64_t delta;    /* block time tolerance of validation (DESIGN.md Δ) */
    uint64_t tx_every; /* mean gap between client transactions */
};

struct sim_cluster;

/*
 * One replica instance (a slot): the production driver (node/driver.c, with the core and
 * the mempool) over the simulated chain (chain.c), and its durable state. Twins share an
 * identity.
 */
struct sim_replica {
    struct sim_cluster *c;
    int slot, id;
    bool up, byz, twin;
    unsigned byz_kinds;
    uint32_t epoch; /* bumped by every crash: events of a dead incarnation are dropped */
    struct node_driver *drv;
    struct node_chain chain; /* the simulated chain's table (chain.c), ctx = this replica */
    struct sim_node node;    /* applied chain (survives crashes) */
    unsigned char *durable;  /* last snapshot acknowledged durable (survives crashes) */
    size_t durable_len;
    uint64_t durable_seq;
    uint64_t deadline;      /* newest deadline of the driver (on this node's clock) */
    bool sync_queued;       /* a SYNC event is queued */
    uint64_t sync_retry_at; /* a sync that found nothing to apply is retried from then on */
    bool fail_commits;      /* scenarios: the chain fails the next commit (fail-stop) */
    bool chain_failed;      /* the chain failed a commit: the driver must stop */
    /* Recently signed payloads of every kind not yet seen leaving (double-sign check). */
    struct {
        int kind;
        bool left; /* seen leaving (and checked) once */
        size_t len;
        unsigned char payload[PBFT_SIG_PAYLOAD_MAX];
        unsigned char sig[PBFT_SIG_SIZE];
    } signed_ring[SIM_SIGNED_RING];
    unsigned ring_next;
    /* Equivocation state of a Byzantine primary: the second block of (height, view). */
    uint64_t eq_height, eq_view;
    bool eq_active;
    unsigned char eq_digest[SIM_DIGEST_LEN];
    unsigned char eq_a[SIM_DIGEST_LEN];
    uint64_t eq_side;  /* bitmap of identities that get block B */
    uint64_t eq_fixed; /* scenarios: this B side instead of a random one (0: random) */
    unsigned char eq_payload[SIM_BLOCK_MAX_LEN]; /* block B */
    size_t eq_len;
    struct sim_blob *sent_ring[8];           /* Byzantine: its own old messages, for replays */
    struct sim_blob *vc_stash[SIM_VC_STASH]; /* Byzantine: VIEW-CHANGEs heard (byzvc.c) */
    unsigned vc_next;
    unsigned sent_next;
    struct pbft_cert tip_cert; /* certificate of the applied tip (durable with the chain) */
    bool crash_on_persist;     /* crash between the next persist request and its fsync */
};

struct sim_cluster {
    int n, f, q, slots;
    uint64_t seed;
    uint64_t now;
    const struct sim_mix *mix;
    struct sim_timing tm;
    struct sim_replica r[SIM_MAX_SLOTS];
    struct sim_rng rng;
    struct sim_queue q_ev;
    struct sim_net net;
    struct sim_keys keys;
    struct sim_check chk;
    struct sim_trace *trace;
    struct sim_stats st;
    bool trace_core;        /* pass the core's trace lines into the trace */
    uint64_t next_tx;       /* next client request number */
    uint64_t censored_tx;   /* the transaction a censoring primary leaves out (0: none) */
    bool censor_done;       /* the censored transaction was committed */
    uint64_t *pending;      /* client txs not yet committed anywhere */
    uint64_t *committed_at; /* by tx request number: height of the block that committed it */
    size_t cap_committed;
    size_t npending, cap_pending;
    bool stop_clients;
    bool healed;          /* the faulty period is over: queued crash faults are void */
    uint32_t persist_max; /* slowest fsync now, ms (the mix's until the settling period) */
    uint8_t *msgbuf;      /* scratch for crafted messages */
    size_t msgcap;
    /* Scenario hook: return true to drop a message from slot `from` to slot `to`. */
    bool (*filter)(struct sim_cluster *c, int from, int to, const uint8_t *bytes, size_t len);
    void *filter_ctx;
    uint64_t filtered;
};

/*
 * Sets up a cluster of n identities (plus twins when the mix says so) for seed, with
 * keys (real Ed25519 when `real_keys`). trace is borrowed for the run. Returns 0 or -1.
 */
int sim_cluster_init(struct sim_cluster *c, int n, uint64_t seed, const struct sim_mix *mix,
                     struct sim_trace *trace, bool real_keys);
/* Frees every replica, the queue and the keys. */
void sim_cluster_close(struct sim_cluster *c);
/* Starts every replica (START with no snapshot) and the client and tick processes. */
void sim_cluster_start(struct sim_cluster *c);
/* Processes events up to and including virtual time `until` (or until a violation). */
void sim_cluster_run_until(struct sim_cluster *c, uint64_t until);
/* Processes one event; returns false when the queue is empty. */
bool sim_cluster_step_one(struct sim_cluster *c);
/* Crashes slot s: the core and mempool vanish, unacknowledged snapshots are lost. */
void sim_cluster_crash(struct sim_cluster *c, int s);
/* Restarts slot s from its durable snapshot and applied chain. */
void sim_cluster_restart(struct sim_cluster *c, int s);
/* Submits a client transaction to every honest up replica (after link delays); returns its id. */
uint64_t sim_cluster_submit(struct sim_cluster *c);
/* Lowest committed height among honest up replicas (UINT64_MAX when none is up). */
uint64_t sim_cluster_min_honest_height(const struct sim_cluster *c);
/* Height of the first block that committed tx (0: none yet). */
uint64_t sim_cluster_committed_at(const struct sim_cluster *c, uint64_t tx);
/* Records that block `height` committed tx (the first such block is kept). */
void sim_cluster_note_committed(struct sim_cluster *c, uint64_t tx, uint64_t height);
/* True when tx is committed (no longer pending). */
bool sim_cluster_tx_committed(const struct sim_cluster *c, uint64_t tx);
/* Makes slot s Byzantine with the given behaviours. */
void sim_cluster_set_byz(struct sim_cluster *c, int s, unsigned kinds);
/* Schedules a SIM_EV_BYZ action for slot s at time at. */
void sim_cluster_schedule_byz(struct sim_cluster *c, int s, uint64_t at, uint64_t arg);
/* Sends bytes from slot `from` to identity `to` (every slot holding it) through the network. */
void sim_cluster_send_to(struct sim_cluster *c, int from, int to, const uint8_t *bytes, size_t len);
/* The crypto callbacks of slot s (for crafting messages in its name). */
struct pbft_crypto sim_cluster_crypto(struct sim_replica *r);
/* The simulated chain behind slot r's driver (chain.c): block rules, state, durability. */
struct node_chain sim_chain_for(struct sim_replica *r);
/* The node clock of slot r now: what its driver is given as `now`. */
uint64_t sim_replica_clock(const struct sim_replica *r);
/* Copies the core counters of slot r; false when it is down. */
bool sim_replica_stats(const struct sim_replica *r, struct pbft_stats *out);
/*
 * Finds the vote of `kind` (PBFT_SIG_*) for height h that slot r signed most recently;
 * copies its digest (and view) out. Returns false when none is in r's recent ring.
 */
bool sim_replica_signed(const struct sim_replica *r, int kind, uint64_t h,
                        unsigned char out_digest[SIM_DIGEST_LEN], uint64_t *out_view);
/* Adds the core counters of every slot to c->st (call once at the end of a run). */
void sim_cluster_collect(struct sim_cluster *c);

/* Byzantine behaviour (byz.c). */
/*
 * Rewrites or multiplies an outgoing message of a Byzantine slot (m->bytes borrowed; kind,
 * height and view from its header); returns true if it took over.
 */
bool sim_byz_outgoing(struct sim_cluster *c, struct sim_replica *r, const struct pbft_out_msg *m);
/* A Byzantine slot's caller answered a proposal request with block A: prepare block B. */
void sim_byz_proposed(struct sim_cluster *c, struct sim_replica *r, uint64_t height, uint64_t view,
                      const unsigned char *payload_a, size_t len);
/*
 * Sends a validly signed VIEW-CHANGE for `view` in r's name to every other replica,
 * made by a puppet core of r's identity. Returns the number of messages sent (0: none made).
 */
int sim_byz_huge_viewchange(struct sim_cluster *c, struct sim_replica *r, uint64_t view);
/*
 * True when a Byzantine slot chooses not to hear this incoming message (a new primary that
 * ignores VIEW-CHANGEs carrying a prepared block, hoping to propose a fresh one).
 */
bool sim_byz_deaf(struct sim_cluster *c, struct sim_replica *r, const uint8_t *bytes, size_t len);
/* A Byzantine slot hears a message (bytes borrowed): it keeps VIEW-CHANGEs for crafting. */
void sim_byz_heard(struct sim_cluster *c, struct sim_replica *r, const uint8_t *bytes, size_t len);
/*
 * Its own NEW-VIEW (m) is leaving: sends crafted NEW-VIEWs for that view instead, to some
 * replicas or all. Returns true if it took over.
 */
bool sim_byz_newview(struct sim_cluster *c, struct sim_replica *r, const struct pbft_out_msg *m);
/* Its own VIEW-CHANGE (m) is leaving: the same with crafted VIEW-CHANGEs. */
bool sim_byz_viewchange(struct sim_cluster *c, struct sim_replica *r, const struct pbft_out_msg *m);
/* A scheduled Byzantine action (flood, forged votes, huge numbers, garbage). */
void sim_byz_act(struct sim_cluster *c, struct sim_replica *r, uint64_t arg);

#endif
