/* sealctl: option parsing shared by every command, and usage errors. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/sealctl.h"

static void print_usage(const struct sealctl *s, FILE *f)
{
    fprintf(f, "usage: sealctl [--node SOCKET] [--key KEYFILE] [--json] %s %s\n", s->cmd->name,
            s->cmd->usage);
    fprintf(f, "  %s\n", s->cmd->summary);
}

int sealctl_usage_error(const struct sealctl *s, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sealctl %s: ", s->cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    print_usage(s, stderr);
    return SEALCTL_EXIT_USAGE;
}

int sealctl_fail(const struct sealctl *s, int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sealctl %s: ", s->cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int sealctl_exit_for_config_err(int err)
{
    return err == NODE_E_IO || err == NODE_E_NOMEM ? SEALCTL_EXIT_UNREACHABLE : SEALCTL_EXIT_USAGE;
}

int sealctl_uint_arg(const struct sealctl *s, const char *opt, const char *val, unsigned long min,
                     unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    bool ok = val[0] >= '0' && val[0] <= '9' && strlen(val) <= 9 && !(val[0] == '0' && val[1]);
    for (const char *p = val; ok && *p != '\0'; p++) {
        ok = *p >= '0' && *p <= '9';
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (!ok || v < min || v > max)
        return sealctl_usage_error(s, "--%s '%s': want a number in %lu..%lu", opt, val, min, max);
    *out = v;
    return 0;
}

/* The globals and the command's options: finds the row for "--name". */
static const struct sealctl_opt *find_opt(const struct sealctl_opt *opts, const char *name,
                                          size_t nlen)
{
    for (const struct sealctl_opt *o = opts; o->name != NULL; o++)
        if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0)
            return o;
    return NULL;
}

/* One "--name[=value]" at argv[*i]. Returns SEALCTL_GO or an exit code. */
static int one_option(struct sealctl *s, int argc, char **argv, int *i,
                      const struct sealctl_opt *opts, const struct sealctl_opt *globals)
{
    const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
    size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    if (nlen == 4 && strncmp(arg, "help", 4) == 0) {
        print_usage(s, stdout);
        return SEALCTL_EXIT_OK;
    }
    const struct sealctl_opt *o = find_opt(opts, arg, nlen);
    if (o == NULL)
        o = find_opt(globals, arg, nlen);
    if (o == NULL)
        return sealctl_usage_error(s, "unknown option '--%.*s'", (int)nlen, arg);
    const char *val = "";
    if (o->has_arg && eq != NULL)
        val = eq + 1;
    else if (o->has_arg && *i + 1 < argc)
        val = argv[++*i];
    else if (o->has_arg)
        return sealctl_usage_error(s, "option '--%s' needs a value", o->name);
    else if (eq != NULL)
        return sealctl_usage_error(s, "option '--%s' takes no value", o->name);
    if (o->value == NULL) { /* --json */
        s->json = true;
        return SEALCTL_GO;
    }
    if (*o->value != NULL && o->value != &s->node)
        return sealctl_usage_error(s, "option '--%s' given twice", o->name);
    *o->value = val;
    return SEALCTL_GO;
}

int sealctl_args(struct sealctl *s, int argc, char **argv, const struct sealctl_opt *opts,
                 const char **pos, size_t npos_min, size_t npos_max, size_t *out_npos)
{
    const struct sealctl_opt globals[] = {
        { "json", false, NULL },
        { "node", true, &s->node },
        { "key", true, &s->key },
        { NULL, false, NULL },
    };
    size_t npos = 0;
    bool only_pos = false;
    for (int i = 0; i < argc; i++) {
        if (!only_pos && strcmp(argv[i], "--") == 0) {
            only_pos = true;
        } else if (!only_pos && strncmp(argv[i], "--", 2) == 0) {
            int rc = one_option(s, argc, argv, &i, opts, globals);
            if (rc != SEALCTL_GO)
                return rc;
        } else if (!only_pos && argv[i][0] == '-' && argv[i][1] != '\0') {
            return sealctl_usage_error(s, "unknown option '%s'", argv[i]);
        } else if (npos == npos_max) {
            return sealctl_usage_error(s, "unexpected argument '%s'", argv[i]);
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos < npos_min)
        return sealctl_usage_error(s, "missing argument");
    if (out_npos != NULL)
        *out_npos = npos;
    return SEALCTL_GO;
}
