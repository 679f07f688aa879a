/* Ed25519 key files: strict decoding, mode 0600, never overwritten, secrets in sodium_malloc
 * memory. */
#ifndef SEALCHAIN_NODE_KEYFILE_H
#define SEALCHAIN_NODE_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/crypto.h"
#include "node/err.h"

/*
 * The format: exactly one line, the 32-byte Ed25519 seed in lowercase hex,
 *
 *   ed25519-seed 9f2c...(64 hex digits)...\n
 *
 * (78 bytes). The seed, not libsodium's 64-byte secret key, so a file cannot
 * hold a public half that disagrees with its secret half. Anything else -
 * another prefix, uppercase or bad hex, a wrong length, a missing final
 * newline, a byte after it - is refused.
 */
#define NODE_KEYFILE_PREFIX "ed25519-seed "
#define NODE_KEYFILE_LEN    (sizeof(NODE_KEYFILE_PREFIX) - 1 + 64 + 1)

/* A key pair. sk is LEDGER_SECRET_LEN bytes of sodium_malloc memory owned
 * by the struct, released (and wiped) by node_key_close. */
struct node_key {
    uint8_t pk[LEDGER_KEY_LEN];
    uint8_t *sk;
};

/* Fills *out with a fresh random key pair. Returns 0 or NODE_E_NOMEM. */
int node_key_generate(struct node_key *out);

/* Wipes and frees k->sk; k->sk becomes NULL. Safe on a closed or zeroed key. */
void node_key_close(struct node_key *k);

/*
 * Writes k to a new file at path: created with O_EXCL (an existing file is
 * never overwritten: NODE_E_EXISTS), mode 0600, fsynced with its
 * directory. On failure no file is left behind. Returns 0,
 * NODE_E_EXISTS, NODE_E_NOT_FOUND (no such directory),
 * NODE_E_PERM (directory not writable), NODE_E_IO or
 * NODE_E_NOMEM, with "PATH: reason" in errmsg.
 */
int node_keyfile_write(const char *path, const struct node_key *k, char *errmsg, size_t errmsg_len);

/*
 * Reads the key file at path into *out (close it with node_key_close). A
 * file that is not a regular file, or whose mode grants any permission to
 * group or others, is refused (NODE_E_PERM, "key file X has mode
 * 0644; must be 0600 or stricter: chmod 600 X"). Returns 0,
 * NODE_E_NOT_FOUND, NODE_E_PERM, NODE_E_MALFORMED,
 * NODE_E_IO or NODE_E_NOMEM, with the reason in errmsg; *out
 * untouched on failure.
 */
int node_keyfile_read(const char *path, struct node_key *out, char *errmsg, size_t errmsg_len);

/* Decodes the text of a key file (len bytes, borrowed) into *out. Returns
 * 0, NODE_E_MALFORMED (reason in errmsg) or NODE_E_NOMEM. */
int node_keyfile_decode(const char *text, size_t len, struct node_key *out, char *errmsg,
                        size_t errmsg_len);

#endif
