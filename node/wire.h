/* Frame types on a peer link, and their bodies. */
#ifndef SEALCHAIN_NODE_WIRE_H
#define SEALCHAIN_NODE_WIRE_H

/*
 * A frame is one type byte and a body:
 *   CONSENSUS  a PBFT message as the core encodes it (consensus/codec.c)
 *   TX         an encoded Tx (proto/tx.proto), gossiped by the node that admitted it
 *   TIP        height (u64 BE) ‖ tip hash (32): sent on connect and after each commit
 *   SYNC_REQ   from height (u64 BE) ‖ count (u32 BE)
 *   SYNC_BLOCK an encoded StoredBlock (block and certificate), one per frame,
 *              in order, answering a SYNC_REQ
 *   SYNC_END   height (u64 BE) of the last block sent (0: none), ends an answer
 * Every body is decoded with its size checked first; a peer whose frame does
 * not decode is dropped, and so is one that sends what no honest node
 * sends: a consensus message the core finds malformed or badly signed, a
 * transaction whose signature does not verify.
 */
enum node_wire_type {
    NODE_WIRE_CONSENSUS = 1,
    NODE_WIRE_TX = 2,
    NODE_WIRE_TIP = 3,
    NODE_WIRE_SYNC_REQ = 4,
    NODE_WIRE_SYNC_BLOCK = 5,
    NODE_WIRE_SYNC_END = 6,
};

#define NODE_WIRE_TIP_LEN      40
#define NODE_WIRE_SYNC_REQ_LEN 12
#define NODE_WIRE_SYNC_END_LEN 8
/* Blocks asked for at once: one LMDB batch on the requester. */
#define NODE_SYNC_BATCH 64

#endif
