/* sealctl, the operator CLI: global options, the command table, argument parsing and output. */
#ifndef SEALCHAIN_NODE_SEALCTL_H
#define SEALCHAIN_NODE_SEALCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ledger/genesis.h"
#include "proto/api.pb-c.h"

/* Exit codes (CONTRACT.md "sealctl: global options"). */
enum sealctl_exit {
    SEALCTL_EXIT_OK = 0,          /* done, or the verdict is positive */
    SEALCTL_EXIT_REFUSED = 1,     /* refused by the ledger, or a negative verdict */
    SEALCTL_EXIT_USAGE = 2,       /* bad arguments; a missing, unreadable or malformed file */
    SEALCTL_EXIT_UNREACHABLE = 3, /* node unreachable, I/O error, time-out */
};

/* The global options, shared by every command. Strings borrowed from argv
 * or the environment. */
struct sealctl {
    const char *node;              /* --node, default $SEALCHAIN_SOCKET (may be NULL) */
    const char *key;               /* --key (may be NULL) */
    bool json;                     /* --json */
    const struct sealctl_cmd *cmd; /* the command being run */
};

/* A command. name may have two words ("seal register"); argv given to run
 * starts after the name. run returns an exit code. */
struct sealctl_cmd {
    const char *name;
    int (*run)(struct sealctl *s, int argc, char **argv);
    const char *usage;   /* the arguments after the name */
    const char *summary; /* one line */
};

/* The command table (node/sealctl_cmds.c), ended by a { NULL } row. */
extern const struct sealctl_cmd sealctl_commands[];

/* ---- argument parsing ---------------------------------------------------- */

/* An option of a command: "--name VALUE" or "--name=VALUE" (has_arg) or a
 * flag "--name" (*value set to ""). *value stays NULL when absent. */
struct sealctl_opt {
    const char *name;
    bool has_arg;
    const char **value;
};

/* Returned by sealctl_args when the command should go on. */
#define SEALCTL_GO (-1)

/*
 * Parses argv (after the command name) against opts (ended by a { NULL }
 * row), accepting the global options (--json, --node, --key) anywhere and
 * --help. Positional arguments go to pos[0..*out_npos); between npos_min
 * and npos_max of them are required. Returns SEALCTL_GO, or an exit code:
 * 0 after --help printed the usage on stdout, SEALCTL_EXIT_USAGE after a
 * usage error was printed on stderr (unknown or repeated option, missing
 * value, wrong number of arguments).
 */
int sealctl_args(struct sealctl *s, int argc, char **argv, const struct sealctl_opt *opts,
                 const char **pos, size_t npos_min, size_t npos_max, size_t *out_npos);

/* Prints "sealctl CMD: message" and the command's usage on stderr; returns
 * SEALCTL_EXIT_USAGE. */
int sealctl_usage_error(const struct sealctl *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "sealctl CMD: message" on stderr and returns code. */
int sealctl_fail(const struct sealctl *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The exit code for a node/err.h file error (NODE_E_*): IO -> 3, the rest -> 2. */
int sealctl_exit_for_config_err(int err);

/* A required option's value as an unsigned integer in [min, max] (plain
 * decimal). Returns 0 or a usage error (printed). */
int sealctl_uint_arg(const struct sealctl *s, const char *opt, const char *val, unsigned long min,
                     unsigned long max, unsigned long *out);

/* ---- output ---------------------------------------------------------------- */

/*
 * Prints obj (a JSON object; reference stolen) as the command's result:
 * with --json, exactly one JSON object on stdout; otherwise human(obj, f)
 * when human is not NULL, else aligned "key  value" lines. Returns 0, or
 * SEALCTL_EXIT_UNREACHABLE when obj is NULL (out of memory) or stdout
 * fails.
 */
int sealctl_print(const struct sealctl *s, json_t *obj, void (*human)(json_t *obj, FILE *f));

/* Prints obj for a human with 64-digit hex values below the top level
 * shortened ("1a2b3c4d…") and lists of strings joined on one line: pass it
 * as sealctl_print's human for records whose nested ids are not needed
 * whole (--json prints them whole). */
void sealctl_human_short(json_t *obj, FILE *f);

/* ---- values ---------------------------------------------------------------- */

/* JSON helpers: lowercase hex (json null when p is NULL), RFC 3339 time
 * (null when ms is 0), an integer (null when v is 0). New references. */
json_t *sealctl_jhex(const uint8_t *p, size_t len);
/* A string; bytes of text that are not UTF-8 become '?' (JSON must stay valid). */
json_t *sealctl_jstr(const char *text);
json_t *sealctl_jtime(uint64_t ms);
json_t *sealctl_jint_or_null(uint64_t v);

/* Parses a 32-byte hex argument (a key, id or hash). Returns 0 or a usage
 * error (printed). */
int sealctl_hex32_arg(const struct sealctl *s, const char *opt, const char *val,
                      uint8_t out[static 32]);
/* Parses a time argument: RFC 3339 or unix seconds. Returns 0 or a usage
 * error (printed). */
int sealctl_time_arg(const struct sealctl *s, const char *opt, const char *val, uint64_t *out_ms);

/* SHA-256 of a file, streamed. Returns 0, or an exit code (missing or
 * unreadable file: 2; a read error: 3) with the reason printed. */
int sealctl_hash_file(const struct sealctl *s, const char *path, uint8_t out[static 32]);

/* Reads at most max bytes of a file into *out (malloc'd; a longer file is
 * cut at max + 1 bytes so the caller sees it is too long). missing_ok:
 * a missing file gives *out = NULL, *out_len = 0 and 0. Returns 0 or an exit
 * code (printed). */
int sealctl_read_file(const struct sealctl *s, const char *path, size_t max, bool missing_ok,
                      uint8_t **out, size_t *out_len);

/* Writes len bytes to path atomically: a temporary file beside it, fsync,
 * rename, fsync of the directory; mode 0644. Returns 0 or
 * SEALCTL_EXIT_UNREACHABLE (I/O error, printed); the old file is untouched
 * on failure. */
int sealctl_write_atomic(const struct sealctl *s, const char *path, const uint8_t *p, size_t len);

/* ---- the node ---------------------------------------------------------------- */

struct node_client;
struct node_key;

/* A connection to the node named by --node; genesis.hash and chain_id are
 * filled from the node's status (enough for the transaction builders). */
struct sealctl_conn {
    struct node_client *c;
    struct ledger_genesis *g; /* owned */
    bool syncing;
    unsigned node;                      /* the node's validator index */
    char org_id[LEDGER_ORG_ID_MAX + 1]; /* its organisation */
};

/* Connects (and asks status). Returns 0 or SEALCTL_EXIT_UNREACHABLE with the
 * reason, naming the socket, printed. Close with sealctl_close. */
int sealctl_connect(const struct sealctl *s, struct sealctl_conn *out);
void sealctl_close(struct sealctl_conn *c);

/* One request; the reply's outcome mapped to an exit code: 0 with *out set
 * (owned: sealchain__api_reply__free_unpacked), or 1/2/3 with the node's
 * error printed and *out NULL. */
int sealctl_call(const struct sealctl *s, struct sealctl_conn *c, Sealchain__ApiRequest *req,
                 int timeout_ms, Sealchain__ApiReply **out);

/* Reads the key file at path (named by option opt, for the message when
 * path is NULL). Returns 0 or an exit code (printed): a missing option,
 * file, or one open to group or others is 2. Close with node_key_close. */
int sealctl_load_key(const struct sealctl *s, const char *opt, const char *path,
                     struct node_key *out);

/* The outcome of a submitted transaction. */
struct sealctl_txres {
    uint8_t id[32];
    const char *status; /* "committed" | "rejected" | "pending" */
    uint64_t height;
    char error[512];
    int exit; /* 0, 1 (rejected) or 3 (no answer in time, unreachable) */
};

/* Submits tx (borrowed) and, with wait, waits for its commit (30 s). */
void sealctl_submit(const struct sealctl *s, struct sealctl_conn *c, const uint8_t *tx, size_t len,
                    bool wait, struct sealctl_txres *out);

/* {"tx", "status", "height", "error"} of r; the caller adds its fields. */
json_t *sealctl_txres_json(const struct sealctl_txres *r);

/* Prints obj as a transaction's result and returns r's exit code (the error,
 * if any, also on stderr). */
int sealctl_txres_print(const struct sealctl *s, const struct sealctl_txres *r, json_t *obj);

/* Commands (node/sealctl_*.c). */
int sealctl_cmd_keygen(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_pubkey(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_testnet(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_org_register(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_seal_register(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_seal_grant(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_seal_revoke_grant(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_seal_suspend(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_seal_resume(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_seal_destroy(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_seal_use(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_seal_approve(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_seal_reject(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_status(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_block(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_tx(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_org_show(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_seal_show(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_usage(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_verify(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_proof_export(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_proof_verify(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_metrics(struct sealctl *s, int argc, char **argv);

#endif
