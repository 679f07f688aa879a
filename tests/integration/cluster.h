/* Real sealchaind processes on 127.0.0.1 for integration tests. */
#ifndef SEALCHAIN_TESTS_CLUSTER_H
#define SEALCHAIN_TESTS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ledger/genesis.h"
#include "proto/api.pb-c.h"

#define CLUSTER_MAX 8

/*
 * A consortium made by `sealctl testnet` in a fresh temporary directory,
 * on a free range of loopback ports. Every process it starts is recorded,
 * started with PR_SET_PDEATHSIG so it dies with the test, and killed by
 * cluster_free; it never signals a PID it did not start.
 */
struct cluster {
    char dir[256];
    char build[128]; /* where sealchaind and sealctl are ($BUILD or "build") */
    unsigned n;
    uint16_t base_port;
    struct ledger_genesis g;
    pid_t pid[CLUSTER_MAX];         /* 0 = not running */
    uint8_t *admin_sk[CLUSTER_MAX]; /* each validator's filing-authority key */
};

/* Makes the testnet; extra (may be NULL) is appended to every node.ini
 * before the first start (e.g. "[block]\nmax_txs = 1\n"). Returns 0 or -1. */
int cluster_new(struct cluster *c, unsigned n, const char *extra);
/* Kills (SIGKILL) every process still running and removes the directory
 * unless keep is true. */
void cluster_free(struct cluster *c, bool keep);

/* Forks and execs argv[0] with argv, stdout and stderr appended to log, the
 * child killed if the test dies (PR_SET_PDEATHSIG). Returns its PID or -1. */
pid_t cluster_spawn(const char *log, char *const argv[]);

/* Starts node i (its log goes to DIR/node<i>/log, appended). */
int cluster_start(struct cluster *c, unsigned i);
/* Sends sig to node i (a PID this cluster started) and, for SIGKILL and
 * SIGTERM, waits for it; *out_status (may be NULL) gets the wait status. */
int cluster_signal(struct cluster *c, unsigned i, int sig, int *out_status);

/* Waits until node i answers status (up to timeout_ms). */
int cluster_wait_up(struct cluster *c, unsigned i, int timeout_ms);

/* One request to node i; *out owned by the caller. Returns 0 or -1. */
int cluster_call(struct cluster *c, unsigned i, Sealchain__ApiRequest *req, int timeout_ms,
                 Sealchain__ApiReply **out);
/* status of node i, or -1. */
int cluster_status(struct cluster *c, unsigned i, Sealchain__StatusReply **out,
                   Sealchain__ApiReply **owner);
/* Node i's tip height, or UINT64_MAX when it does not answer. */
uint64_t cluster_height(struct cluster *c, unsigned i);
/* Waits until every node in mask is at height >= h. */
int cluster_wait_height(struct cluster *c, uint32_t mask, uint64_t h, int timeout_ms);
/* Block hash of node i at height h into out; 0 or -1. */
int cluster_block_hash(struct cluster *c, unsigned i, uint64_t h, uint8_t out[32]);

/* A fresh seal registration for agency `org` signed by its admin (a valid
 * transaction that never conflicts with another). *out malloc'd. */
int cluster_tx(struct cluster *c, unsigned org, uint8_t **out, size_t *out_len);
/* Submits tx at node i; wait: until committed. A node that answers it is
 * unavailable (catching up) is asked again for up to 20 s. *out_status gets the
 * reply's status string copied ("committed", "pending", "rejected"). */
int cluster_submit(struct cluster *c, unsigned i, const uint8_t *tx, size_t len, bool wait,
                   char out_status[16], uint64_t *out_height);

/* True when node i's log contains needle. */
bool cluster_log_has(struct cluster *c, unsigned i, const char *needle);

/* Milliseconds on the monotonic clock, and a sleep. */
uint64_t cluster_ms(void);
void cluster_sleep_ms(unsigned ms);

/* Starts every node not running and waits until each answers. 0 or -1. */
int cluster_start_all(struct cluster *c, int timeout_ms);
/* Waits until every node in mask reports one height twice, 500 ms apart;
 * returns it, or UINT64_MAX after timeout_ms. */
uint64_t cluster_settle(struct cluster *c, uint32_t mask, int timeout_ms);
/* The primary node `ask` reports, or -1. */
int cluster_primary(struct cluster *c, unsigned ask);
/* True when node i has the committed tx with this id. */
bool cluster_has_tx(struct cluster *c, unsigned i, const uint8_t id[32]);

#endif
