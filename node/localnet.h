/* An in-process consortium: n drivers, their LMDB ledgers and a message bus. */
#ifndef SEALCHAIN_NODE_LOCALNET_H
#define SEALCHAIN_NODE_LOCALNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "node/driver.h"

/*
 * For the narrated demo and for tests of the driver: every validator of a
 * real chain (real Ed25519 keys, real LMDB stores under dir/node<i>/, the real
 * PBFT core and ledger) in one process, with messages passed through an
 * in-memory FIFO bus instead of TCP and the wall clock as time. Validator i's
 * node key and filing-authority admin key are derived from fixed seeds, so a
 * run in the same directory reopens the same chain.
 */
struct localnet;

/* Creates (or reopens) a consortium of n validators in dir (created if
 * missing) and writes dir/genesis.ini. *out owned by the caller.
 * Returns 0, a ledger error (opening a store) or a node/err.h code
 * (node_driver_new), with the reason in errmsg. */
int localnet_new(const char *dir, unsigned n, struct localnet **out, char *errmsg,
                 size_t errmsg_len);
void localnet_free(struct localnet *ln);

const struct ledger_genesis *localnet_genesis(const struct localnet *ln);
struct ledger *localnet_ledger(struct localnet *ln, unsigned i);
struct node_driver *localnet_driver(struct localnet *ln, unsigned i);
/* Validator i's filing-authority admin secret key (64 bytes, borrowed). */
const uint8_t *localnet_admin_sk(const struct localnet *ln, unsigned i);

/* Submits tx at node i, which gossips it to the others (each admits it by
 * the same rules). out_id may be NULL. Returns node i's verdict. */
int localnet_submit(struct localnet *ln, unsigned i, const uint8_t *tx, size_t len,
                    uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len);

/* Runs the bus and the timers until every live node's tip is at least
 * height, or timeout_ms passes. Returns 0, or LEDGER_E_FATAL if a driver
 * failed (reason in errmsg), or LEDGER_E_NOT_FOUND on time-out. */
int localnet_run_until_height(struct localnet *ln, uint64_t height, uint64_t timeout_ms,
                              char *errmsg, size_t errmsg_len);

/* Runs until tx id is committed on every live node, or was refused by a
 * block (dropped from every mempool without being committed), or time-out.
 * *out_committed tells which. Returns 0, LEDGER_E_FATAL or LEDGER_E_NOT_FOUND. */
int localnet_run_until_tx(struct localnet *ln, const uint8_t id[static LEDGER_HASH_LEN],
                          uint64_t timeout_ms, bool *out_committed, char *errmsg,
                          size_t errmsg_len);

/* Stops node i as a crash would (its ledger closed, its messages lost),
 * and with restart, reopens it from its directory. */
int localnet_stop(struct localnet *ln, unsigned i);
int localnet_restart(struct localnet *ln, unsigned i, char *errmsg, size_t errmsg_len);

/* [block] max_wait_ms for members opened (or restarted) from now on; 0 at
 * first. */
void localnet_set_batch_wait(struct localnet *ln, uint64_t ms);
/* Member i ignores transactions other members forward to it (their
 * drivers' on_forward): a primary that censors. */
void localnet_set_deaf(struct localnet *ln, unsigned i, bool deaf);

/* The highest tip every live node has reached. */
uint64_t localnet_height(struct localnet *ln);

/* Wall clock in unix milliseconds. */
uint64_t localnet_now_ms(void);

#endif
