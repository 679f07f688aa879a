/* A blocking client of the operator socket, for sealctl and tests. */
#ifndef SEALCHAIN_NODE_CLIENT_H
#define SEALCHAIN_NODE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/api.pb-c.h"

/* Replies are bounded too: the largest is a block's tx list or a proof. */
#define NODE_CLIENT_REPLY_MAX (16u << 20)

struct node_client;

/* Connects to the node's socket. Returns 0, or -1 with the reason in errmsg
 * (the socket path named). *out owned by the caller (node_client_close). */
int node_client_open(const char *path, struct node_client **out, char *errmsg, size_t errmsg_len);
void node_client_close(struct node_client *c);

/* Sends req (its id is set by the client) and waits up to timeout_ms for the
 * reply with the same id. *out owned by the caller
 * (sealchain__api_reply__free_unpacked). Returns 0, or -1 with the reason
 * in errmsg (I/O error, time-out, a reply that does not decode). */
int node_client_call(struct node_client *c, Sealchain__ApiRequest *req, int timeout_ms,
                     Sealchain__ApiReply **out, char *errmsg, size_t errmsg_len);

/* Sends req without waiting (pipelining); its id is returned in *out_id. */
int node_client_send(struct node_client *c, Sealchain__ApiRequest *req, uint64_t *out_id,
                     char *errmsg, size_t errmsg_len);
/* Waits for the next reply, whichever request it answers. */
int node_client_recv(struct node_client *c, int timeout_ms, Sealchain__ApiReply **out, char *errmsg,
                     size_t errmsg_len);

/* The socket descriptor, for poll() by a pipelining caller. */
int node_client_fd(const struct node_client *c);

#endif
