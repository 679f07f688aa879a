/* sealctl, the operator CLI: global options, the command table, argument parsing and output. */
#ifndef SEALCHAIN_NODE_SEALCTL_H
#define SEALCHAIN_NODE_SEALCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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

/* Commands (node/sealctl_*.c). */
int sealctl_cmd_keygen(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_pubkey(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_testnet(struct sealctl *s, int argc, char **argv);
int sealctl_cmd_metrics(struct sealctl *s, int argc, char **argv);

#endif
