/* The operator socket: a Unix socket server of length-prefixed requests. */
#ifndef SEALCHAIN_NODE_API_H
#define SEALCHAIN_NODE_API_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/*
 * Each message on the socket is a 4-byte big-endian length and that many
 * bytes (proto/api.proto). The server knows nothing of what the bytes mean:
 * it frames, bounds and delivers them to on_request, and sends what
 * node_api_reply is given back to the client that asked.
 *
 * Bounds, each checked before anything is allocated: a request is at most
 * NODE_API_REQUEST_MAX bytes (a longer length prefix drops the client at
 * once); at most NODE_API_CLIENTS_MAX clients (the next one makes the
 * client idle the longest close, so silent connections cannot lock the
 * operator out); a client whose unread replies exceed NODE_API_WRITE_MAX bytes is
 * dropped (it stopped reading), so a slow client cannot hold node memory.
 */

/* A request carries one transaction (<= 4 KiB), a signature file or a
 * document hash: 1 MiB leaves room for every request of the contract. */
#define NODE_API_REQUEST_MAX (1u << 20)
/* Operators, scripts and a benchmark's submitters; each costs a few KiB. */
#define NODE_API_CLIENTS_MAX 1024
/* A client may leave this much of its replies unread before it is dropped:
 * a few hundred block replies. */
#define NODE_API_WRITE_MAX (8u << 20)
/* Bounds over all clients together, so that NODE_API_CLIENTS_MAX of them
 * cannot each hold the most one may: bytes of requests read in part (the
 * client idle the longest with one is dropped to make room: a stalled
 * upload, not one arriving) and bytes of replies unread (the client with
 * the most is dropped). 32 maximal requests, four clients' worth of replies. */
#define NODE_API_PENDING_MAX (32u << 20)
#define NODE_API_UNSENT_MAX  (32u << 20)

struct node_api;

/* A request (borrowed for the call) from the client with this id. The
 * handler replies now or later with node_api_reply; a client that went away
 * in between makes that reply a no-op. */
typedef void (*node_api_request_fn)(void *ctx, uint64_t client, const uint8_t *req, size_t len);

/* Binds path (a stale socket file from a crash is removed first; a live
 * one, answered by another process, is an error), mode 0660, and listens on
 * loop. Raises the process's soft RLIMIT_NOFILE (up to the hard limit) so
 * NODE_API_CLIENTS_MAX clients fit beside the rest, warning when it cannot. *out is owned by the
 * caller (node_api_close). Returns 0 or -1 with the reason in errmsg. */
int node_api_start(uv_loop_t *loop, const char *path, node_api_request_fn on_request, void *ctx,
                   struct node_api **out, char *errmsg, size_t errmsg_len);

/* Queues reply bytes (copied) to the client. Returns 0, or -1 when the
 * client is gone (or dropped now for not reading). */
int node_api_reply(struct node_api *api, uint64_t client, const uint8_t *bytes, size_t len);

/* Counts one more reply the handler holds for the client to send later (a
 * submit that waits for its commit): returns 0, or -1 when the client
 * already holds max or is gone. node_api_release undoes one (a no-op for a
 * client gone since). */
int node_api_hold(struct node_api *api, uint64_t client, size_t max);
void node_api_release(struct node_api *api, uint64_t client);

/* Number of connected clients. */
size_t node_api_clients(const struct node_api *api);

/* Closes the listener and every client and removes the socket file. The
 * memory is released from libuv's close callbacks: run the loop once more. */
void node_api_close(struct node_api *api);

#endif
