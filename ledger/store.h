/* The block store: one LMDB environment per node (blocks, indexes, state, meta). */
#ifndef SEALCHAIN_LEDGER_STORE_H
#define SEALCHAIN_LEDGER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "ledger/state.h"
#include "proto/block.pb-c.h"

/*
 * Layout (DESIGN.md §4). One environment, named databases:
 *   blocks     height (u64 BE) -> encoded StoredBlock (block + certificate)
 *   hashes     block hash (32) -> height (u64 BE)
 *   state      the ledger/state.h keys (tx-id-keyed ones aside) -> value
 *   ids        the keys that are a prefix and a tx id ('T', 'U', 'S', 'R'),
 *              stored as id ‖ prefix so that a tx's location and the record
 *              it creates share a leaf page (random-insert cost: store.c)
 *   meta       "genesis" -> genesis hash, "tip" -> the tip,
 *              "format" -> the layout version (u32 BE, 2)
 *   consensus  name -> opaque blob (the node's PBFT snapshot)
 * To callers 'state' and 'ids' are one key space, state.h's: reads and
 * scans route on the key's first byte and translate keys back.
 * Layout 2: a usage record ('U') that copies its use transaction is stored
 * without that copy (254 bytes of ~280) and rebuilt from the block on read,
 * byte for byte (store.c, store_compact.h). A store of another layout
 * (layout 1 has no "format" key) is refused at open with LEDGER_E_STORE and
 * a message saying so; there is no migration: a new data directory syncs.
 *
 * Durability: every write is one LMDB write transaction committed with a
 * full sync (never MDB_NOSYNC). A block, all the state its execution wrote,
 * its hash index entry and the new tip are one transaction, so a crash leaves
 * a block wholly applied or absent. A failed commit puts the store in the
 * failed state for good (fail-stop): every later write returns
 * LEDGER_E_FATAL and ledger_store_errmsg() keeps the first failure.
 *
 * Threads: one writer at a time (the node's loop). The environment is opened
 * with MDB_NOTLS, so a read transaction belongs to its object, not to a
 * thread: it may be handed to a libuv pool thread (never used by two threads
 * at once). Growing the map needs no read transaction open in this process
 * at that moment: end them before committing.
 */

/* The chain tip as committed. At height 0 (no block yet): hash is all zero,
 * state_root is the genesis hash and time_ms the genesis time. */
struct ledger_tip {
    uint64_t height;
    uint8_t hash[LEDGER_HASH_LEN];
    uint8_t state_root[LEDGER_HASH_LEN];
    uint64_t time_ms;
};

struct ledger_store_options {
    /* Initial map size in bytes (0 = LEDGER_STORE_MAP_INITIAL). Tests start
     * tiny to exercise growth. */
    size_t map_initial;
    /* Growth stops here: a commit needing more fails (fatal). 0 = no limit
     * other than LMDB's. */
    size_t map_max;
};

struct ledger_store;

/* Opens (creating the directory's files if needed) the store in dir for
 * genesis g (borrowed, copied). A store created for another genesis is
 * refused with LEDGER_E_WRONG_CHAIN. A new, empty store is usable for reads
 * (tip height 0) and must be initialised with ledger_store_init before any
 * commit; ledger_store_is_new() tells. Runs mdb_reader_check to clear stale
 * readers of crashed processes. *out is owned by the caller
 * (ledger_store_close). On failure a reason goes to errmsg and *out is NULL.
 * Returns 0, LEDGER_E_WRONG_CHAIN, LEDGER_E_STORE or LEDGER_E_NOMEM. */
int ledger_store_open(const char *dir, const struct ledger_genesis *g,
                      const struct ledger_store_options *opt, struct ledger_store **out,
                      char *errmsg, size_t errmsg_len);

/* Closes the environment and frees the store. No read transaction of it may
 * be open. NULL is a no-op. */
void ledger_store_close(struct ledger_store *s);

/* The store's message buffer: the last error with its context, e.g.
 * "commit block 812: mdb_put: MDB_MAP_FULL: ...". Valid until close. */
const char *ledger_store_errmsg(const struct ledger_store *s);

/* True once a write failed (fail-stop); no write succeeds after that. */
bool ledger_store_failed(const struct ledger_store *s);

/* Puts the store in the failed state with msg (used by the ledger when a
 * committed block's state root differs from its own: DESIGN.md §4). */
void ledger_store_fail(struct ledger_store *s, const char *msg);

/* True while the store has no genesis state (never initialised). */
bool ledger_store_is_new(const struct ledger_store *s);

/* The committed tip (a cached copy, updated by every commit). */
void ledger_store_tip(const struct ledger_store *s, struct ledger_tip *out);

/* The genesis the store was opened for (borrowed, valid until close). */
const struct ledger_genesis *ledger_store_genesis(const struct ledger_store *s);

/* ---- writes ------------------------------------------------------------- */

/* Writes the genesis state (ov: the writes of ledger_state_genesis; borrowed),
 * the genesis hash and the height-0 tip in one transaction. Only on a new
 * store. Returns 0, LEDGER_E_INVALID (not new), LEDGER_E_FATAL. */
int ledger_store_init(struct ledger_store *s, struct ledger_overlay *ov);

/* One block to commit. Every pointer is borrowed for the call. */
struct ledger_store_block {
    uint64_t height;
    const uint8_t *block; /* encoded Block */
    size_t block_len;
    const uint8_t *cert; /* encoded CommitCert */
    size_t cert_len;
    uint8_t hash[LEDGER_HASH_LEN];       /* SHA-256 of the header bytes */
    uint8_t state_root[LEDGER_HASH_LEN]; /* the header's state root */
    uint64_t time_ms;                    /* the header's time */
    struct ledger_overlay *ov;           /* every state write of the block */
};

/* Commits count >= 1 consecutive blocks, the first at tip + 1, in ONE write
 * transaction with a durable commit: the StoredBlock, the hash index, every
 * overlay write (in ascending key order; later blocks overwrite earlier ones)
 * and the new tip (the last block). Grows the map on MDB_MAP_FULL and retries
 * the whole transaction, unless a read snapshot (ledger_rtxn_begin) is open
 * anywhere in the process: growing would remap the file under it, so that
 * commit fails (fatal, "read snapshot(s) are open"). The map starts large
 * enough (LEDGER_STORE_MAP_INITIAL) that a node never grows it in practice.
 * Any other failure is fatal: the store enters the
 * failed state and LEDGER_E_FATAL is returned, with the reason in
 * ledger_store_errmsg(). LEDGER_E_INVALID (wrong height; nothing written,
 * not fatal). */
int ledger_store_commit(struct ledger_store *s, const struct ledger_store_block *blocks,
                        size_t count);

/* The consensus DBI: opaque blobs by name (NUL-terminated, < 64 bytes). put
 * is its own durable write transaction; a failure is fatal like a commit's.
 * get copies the value into a malloc'd *out (owned by the caller) or returns
 * LEDGER_E_NOT_FOUND. */
int ledger_store_consensus_put(struct ledger_store *s, const char *name, const uint8_t *val,
                               size_t val_len);
int ledger_store_consensus_get(struct ledger_store *s, const char *name, uint8_t **out,
                               size_t *out_len);

/* ---- reads ----------------------------------------------------------------
 * A read transaction is a consistent snapshot of the last commit: every value
 * it returns is borrowed from LMDB's map and valid until ledger_rtxn_end.
 * Keep them short: an open snapshot pins the pages it sees. */
struct ledger_rtxn;

/* Begins a snapshot. *out owned by the caller, ended with ledger_rtxn_end.
 * Returns 0, LEDGER_E_STORE (errmsg of the store says why) or NOMEM. */
int ledger_rtxn_begin(struct ledger_store *s, struct ledger_rtxn **out);
/* Ends it; NULL is a no-op. Every pointer obtained through it dies here. */
void ledger_rtxn_end(struct ledger_rtxn *r);

/* The tip as of this snapshot. */
int ledger_rtxn_tip(struct ledger_rtxn *r, struct ledger_tip *out);

/* The encoded StoredBlock at height (borrowed until rtxn end).
 * LEDGER_E_NOT_FOUND when height is 0 or above the tip. */
int ledger_rtxn_block(struct ledger_rtxn *r, uint64_t height, const uint8_t **out, size_t *out_len);

/* Height of the block with this hash, or LEDGER_E_NOT_FOUND. */
int ledger_rtxn_block_height(struct ledger_rtxn *r, const uint8_t hash[static LEDGER_HASH_LEN],
                             uint64_t *out_height);

/* Location of a committed tx (the 'T' key), or LEDGER_E_NOT_FOUND. */
int ledger_rtxn_tx_location(struct ledger_rtxn *r, const uint8_t id[static LEDGER_HASH_LEN],
                            uint64_t *out_height, uint32_t *out_index);

/* Any state.h key: value borrowed until rtxn end (from the map, or for a
 * compact usage record from a buffer the rtxn owns); LEDGER_E_NOT_FOUND. */
int ledger_rtxn_state_get(struct ledger_rtxn *r, const uint8_t *key, size_t key_len,
                          const uint8_t **out_val, size_t *out_val_len);

/* Calls fn for every state key starting with prefix (prefix_len >= 1), in
 * ascending key order; stops when fn returns non-zero and returns that.
 * Pointers are borrowed until rtxn end. */
int ledger_rtxn_state_scan(struct ledger_rtxn *r, const uint8_t *prefix, size_t prefix_len,
                           int (*fn)(void *arg, const uint8_t *key, size_t key_len,
                                     const uint8_t *val, size_t val_len),
                           void *arg);

/* Same, starting at the first key >= start (start begins with prefix). */
int ledger_rtxn_state_range(struct ledger_rtxn *r, const uint8_t *prefix, size_t prefix_len,
                            const uint8_t *start, size_t start_len,
                            int (*fn)(void *arg, const uint8_t *key, size_t key_len,
                                      const uint8_t *val, size_t val_len),
                            void *arg);

/* A ledger_state_base reading committed state through this snapshot (for
 * ledger_exec_new). Valid until rtxn end. */
void ledger_rtxn_base(struct ledger_rtxn *r, struct ledger_state_base *out);

/* A decoded block: everything copied out (protobuf-c unpacked), so it
 * outlives the read transaction. Fields are borrowed from the struct and die
 * with ledger_stored_block_close. */
struct ledger_stored_block {
    uint64_t height;
    uint8_t hash[LEDGER_HASH_LEN];  /* SHA-256 of header bytes */
    Sealchain__StoredBlock *stored; /* ->block->header: raw header bytes */
    Sealchain__BlockHeader *header; /* decoded header */
    Sealchain__CommitCert *cert;    /* = stored->cert (may be NULL) */
};

/* Loads and decodes the block at height (through r). Returns 0,
 * LEDGER_E_NOT_FOUND, LEDGER_E_MALFORMED (stored bytes do not decode: a
 * corrupt store) or NOMEM. Close with ledger_stored_block_close. */
int ledger_rtxn_block_load(struct ledger_rtxn *r, uint64_t height, struct ledger_stored_block *out);
void ledger_stored_block_close(struct ledger_stored_block *b);

/* Copy-out conveniences that run their own short read transaction:
 * *out is malloc'd and owned by the caller. */
int ledger_store_get_block(struct ledger_store *s, uint64_t height, uint8_t **out, size_t *out_len);
int ledger_store_get_state(struct ledger_store *s, const uint8_t *key, size_t key_len,
                           uint8_t **out, size_t *out_len);

/* ---- statistics ------------------------------------------------------------ */

struct ledger_store_stats {
    size_t page_size;
    size_t pages_in_use; /* branch + leaf + overflow pages of every DBI, + meta */
    size_t map_size;
    size_t last_page; /* highest page number used in the file */
    size_t entries;   /* state + ids entries */
};
int ledger_store_stats(struct ledger_store *s, struct ledger_store_stats *out);

/* Durable commits, timed: each mdb_txn_commit (the dirty pages' pwrites, the
 * fdatasync, the meta page's synchronous write) counted into fixed buckets,
 * by what was committed. The node exports them as a histogram (its fsync
 * latency) and `make bench` prints their p99. Counted from open; safe to
 * read from any thread while the writer commits. */
enum ledger_store_sync_kind {
    LEDGER_STORE_SYNC_BLOCKS,    /* blocks (consensus or sync), genesis */
    LEDGER_STORE_SYNC_CONSENSUS, /* consensus snapshots (ledger_store_consensus_put) */
    LEDGER_STORE_SYNC_KINDS
};
#define LEDGER_STORE_SYNC_BUCKETS 27
/* The buckets' upper bounds in seconds, strictly increasing, 100 us to 2 s. */
extern const double ledger_store_sync_bounds[LEDGER_STORE_SYNC_BUCKETS];
struct ledger_store_sync_stats {
    uint64_t count;
    double sum_seconds;
    /* Commits per bucket, not cumulative; hits[LEDGER_STORE_SYNC_BUCKETS]:
     * those above the last bound. */
    uint64_t hits[LEDGER_STORE_SYNC_BUCKETS + 1];
};
void ledger_store_sync_stats(const struct ledger_store *s, enum ledger_store_sync_kind kind,
                             struct ledger_store_sync_stats *out);

#endif
