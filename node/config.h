/* The node configuration file (node.ini): paths, addresses, peers, consensus and resource limits.
 */
#ifndef SEALCHAIN_NODE_CONFIG_H
#define SEALCHAIN_NODE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/genesis.h"
#include "node/err.h"
#include "node/log.h"

#define NODE_PATH_MAX 4096
/* sizeof(struct sockaddr_un.sun_path) on Linux: a socket path is at most 107 bytes. */
#define NODE_SOCKET_PATH_MAX 108
/* An IPv6 literal is at most 45 characters; "localhost" is the only name. */
#define NODE_HOST_MAX 46
/* The largest node config file: a full one with 64 peers is ~4 KiB. */
#define NODE_CONFIG_FILE_MAX (64u * 1024)

/* A TCP address. host is an IPv4 or IPv6 literal (without brackets) or
 * "localhost"; an empty host means "not set". */
struct node_addr {
    char host[NODE_HOST_MAX];
    uint16_t port;
};

/*
 * A loaded config. Plain value, no heap: copy freely. Paths are absolute
 * (relative ones in the file are resolved against the file's directory).
 * Defaults, and why each has its value, are in node/config.c and
 * configs/node.ini.sample.
 */
struct node_config {
    /* [node] */
    char data_dir[NODE_PATH_MAX];          /* the node's LMDB store */
    char key_file[NODE_PATH_MAX];          /* the node's Ed25519 key (node/keyfile.h) */
    char genesis[NODE_PATH_MAX];           /* the chain's genesis file */
    char api_socket[NODE_SOCKET_PATH_MAX]; /* the operator API's Unix socket */
    struct node_addr listen;               /* peers connect here */
    struct node_addr metrics_listen;       /* Prometheus endpoint; host "" = off */
    enum node_log_level log_level;
    /* [peers]: where to dial validator i (by genesis index); host "" = not
     * dialled (it may still dial us). Addresses live here, not in genesis,
     * so an agency can move without a new chain. The node's own index may
     * be listed too (testnet leaves it out). */
    struct node_addr peers[LEDGER_MAX_VALIDATORS];
    /* [consensus] (see struct pbft_config) and the block-time check */
    uint64_t progress_timeout_ms;
    uint64_t request_timeout_ms;
    uint64_t view_change_timeout_ms;
    uint64_t view_change_max_ms;
    uint64_t clock_skew_ms;
    /* [block]: what a primary puts in one proposal */
    uint64_t block_max_txs;
    uint64_t block_max_bytes;
    uint64_t block_max_wait_ms;
    /* [mempool] */
    uint64_t mempool_max_txs;
    uint64_t mempool_max_bytes;
};

/* Fills *out with the defaults and empty paths and addresses. */
void node_config_defaults(struct node_config *out);

/*
 * Loads the config file at path (INI, parsed strictly with libinih):
 *
 *   [node]
 *   data_dir = data                ; required
 *   key_file = node.key            ; required
 *   genesis = ../genesis.ini       ; required
 *   listen = 127.0.0.1:26600       ; required
 *   api_socket = node.sock         ; required
 *   log_level = info               ; debug | info | warn | error
 *   metrics_listen =               ; host:port, empty = off
 *   [peers]
 *   1 = 127.0.0.1:26601            ; validator index = host:port ([v6]:port)
 *   [consensus]  progress_timeout_ms request_timeout_ms view_change_timeout_ms
 *                view_change_max_ms clock_skew_ms
 *   [block]      max_txs max_bytes max_wait_ms
 *   [mempool]    max_txs max_bytes
 *
 * Only [node] is required; missing keys of the other sections take their
 * defaults. Refused, with "PATH:LINE: problem" in errmsg: unknown or
 * duplicate sections and keys, missing required keys, bad values (numbers
 * out of range or not plain decimal, bad addresses or ports, an unknown log
 * level, a socket path over 107 bytes), duplicate peer addresses, indented
 * (continuation) lines, NUL bytes, lines over 196 bytes and files over
 * NODE_CONFIG_FILE_MAX. The files named are not opened. On failure *out is
 * untouched. Returns 0, NODE_E_NOT_FOUND, NODE_E_TOO_LARGE,
 * NODE_E_MALFORMED, NODE_E_IO or NODE_E_NOMEM.
 */
int node_config_load(const char *path, struct node_config *out, char *errmsg, size_t errmsg_len);

/*
 * Same as node_config_load over text (borrowed; len bytes, a '\0' at
 * text[len]). name (borrowed, not NULL) stands for the file in messages
 * ("NAME:LINE: ..."), and relative paths are resolved against base_dir
 * (borrowed, not NULL; should be absolute).
 */
int node_config_parse(const char *text, size_t len, const char *name, const char *base_dir,
                      struct node_config *out, char *errmsg, size_t errmsg_len);

/* Parses "host:port" or "[v6]:port" (port 1..65535, plain decimal; host an
 * IPv4/IPv6 literal or "localhost"). Returns 0, or NODE_E_MALFORMED
 * with a static reason in *why (why may be NULL); *out untouched then. */
int node_addr_parse(const char *s, struct node_addr *out, const char **why);

/* Writes a as "host:port", or "[host]:port" for IPv6; "" when unset. */
#define NODE_ADDR_STR_MAX (NODE_HOST_MAX + 8)
void node_addr_format(const struct node_addr *a, char out[static NODE_ADDR_STR_MAX]);

/* "debug", "info", "warn", "error". */
const char *node_log_level_name(enum node_log_level level);

#endif
