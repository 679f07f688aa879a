/* sealctl: the operator CLI. Global options, then a command from the table in node/sealctl_cmds.c.
 */
#include <stdlib.h>
#include <string.h>

#include "ledger/crypto.h"
#include "node/sealctl.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: sealctl [--node SOCKET] [--key KEYFILE] [--json] COMMAND ...\n\n"
               "  --node SOCKET  the node's API socket (default: $SEALCHAIN_SOCKET)\n"
               "  --key KEYFILE  the key that signs the transaction being built\n"
               "  --json         print exactly one JSON object on stdout\n\n"
               "commands:\n");
    for (const struct sealctl_cmd *c = sealctl_commands; c->name != NULL; c++)
        fprintf(f, "  %-16s %s\n", c->name, c->summary);
    fprintf(f, "\n`sealctl COMMAND --help` prints a command's usage. Exit codes: 0 done, "
               "1 refused or negative,\n2 usage error, 3 node unreachable or I/O error.\n");
}

/* Number of words of name matched by argv (1 or 2), or 0. */
static int match(const char *name, int argc, char **argv)
{
    const char *space = strchr(name, ' ');
    if (space == NULL)
        return strcmp(name, argv[0]) == 0 ? 1 : 0;
    size_t first = (size_t)(space - name);
    if (strlen(argv[0]) != first || strncmp(name, argv[0], first) != 0)
        return 0;
    return argc > 1 && strcmp(space + 1, argv[1]) == 0 ? 2 : 0;
}

/* The global options before the command. Returns the index of the command
 * word, or -(exit code + 1) when done. */
static int globals(struct sealctl *s, int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return -(SEALCTL_EXIT_OK + 1);
        } else if (strcmp(a, "--json") == 0) {
            s->json = true;
        } else if ((strcmp(a, "--node") == 0 || strcmp(a, "--key") == 0) && i + 1 < argc) {
            *(a[2] == 'n' ? &s->node : &s->key) = argv[++i];
        } else if (strncmp(a, "--node=", 7) == 0 || strncmp(a, "--key=", 6) == 0) {
            *(a[2] == 'n' ? &s->node : &s->key) = strchr(a, '=') + 1;
        } else {
            fprintf(stderr, "sealctl: unknown or incomplete global option '%s'\n", a);
            usage(stderr);
            return -(SEALCTL_EXIT_USAGE + 1);
        }
    }
    if (i == argc) {
        fprintf(stderr, "sealctl: missing command\n");
        usage(stderr);
        return -(SEALCTL_EXIT_USAGE + 1);
    }
    return i;
}

int main(int argc, char **argv)
{
    struct sealctl s = { .node = getenv("SEALCHAIN_SOCKET"), .key = NULL, .json = false };
    if (ledger_crypto_init() != 0) {
        fprintf(stderr, "sealctl: libsodium failed to initialise\n");
        return SEALCTL_EXIT_UNREACHABLE;
    }
    int i = globals(&s, argc, argv);
    if (i < 0)
        return -i - 1;
    bool known_word = false;
    for (const struct sealctl_cmd *c = sealctl_commands; c->name != NULL; c++) {
        int words = match(c->name, argc - i, argv + i);
        if (words > 0) {
            s.cmd = c;
            return c->run(&s, argc - i - words, argv + i + words);
        }
        known_word |=
            strncmp(c->name, argv[i], strlen(argv[i])) == 0 && c->name[strlen(argv[i])] == ' ';
    }
    fprintf(stderr, "sealctl: unknown command '%s%s%s'\n", argv[i], known_word ? " " : "",
            known_word && i + 1 < argc ? argv[i + 1] : "");
    usage(stderr);
    return SEALCTL_EXIT_USAGE;
}
