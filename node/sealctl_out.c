/* sealctl: results as one JSON object (--json, with jansson) or aligned human-readable lines. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "node/sealctl.h"

/* A 64-digit lowercase hex string (a hash, id or key). */
static bool is_hex64(json_t *v)
{
    const char *t = json_is_string(v) ? json_string_value(v) : NULL;
    return t != NULL && strlen(t) == 64 && strspn(t, "0123456789abcdef") == 64;
}

static void print_scalar(json_t *v, FILE *f, bool shorten)
{
    if (shorten && is_hex64(v))
        fprintf(f, "%.8s…", json_string_value(v));
    else if (json_is_string(v))
        fputs(json_string_value(v), f);
    else if (json_is_integer(v))
        fprintf(f, "%lld", (long long)json_integer_value(v));
    else if (json_is_true(v))
        fputs("yes", f);
    else if (json_is_false(v))
        fputs("no", f);
    else if (json_is_null(v))
        fputs("-", f);
    else if (json_is_array(v) &&
             (json_array_size(v) == 0 || !json_is_object(json_array_get(v, 0)))) {
        size_t i;
        json_t *e;
        if (json_array_size(v) == 0)
            fputs("-", f);
        json_array_foreach(v, i, e)
        {
            if (i > 0)
                fputs(", ", f);
            print_scalar(e, f, shorten);
        }
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(text != NULL ? text : "?", f);
        free(text);
    }
}

/* "key  value" lines, keys padded to the longest; nested objects and
 * arrays of objects indented below their key. */
static void print_object(json_t *obj, FILE *f, int indent, bool shorten)
{
    const char *key;
    json_t *v;
    int width = 0;
    json_object_foreach(obj, key, v)
    {
        int len = (int)strlen(key);
        width = len > width ? len : width;
    }
    json_object_foreach(obj, key, v)
    {
        if (json_is_object(v)) {
            fprintf(f, "%*s%s\n", indent, "", key);
            print_object(v, f, indent + 2, shorten);
        } else if (json_is_array(v) && json_array_size(v) > 0 &&
                   json_is_object(json_array_get(v, 0))) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                fprintf(f, "%*s%s[%zu]\n", indent, "", key, i);
                print_object(e, f, indent + 2, shorten);
            }
        } else {
            fprintf(f, "%*s%-*s  ", indent, "", width, key);
            print_scalar(v, f, shorten && (indent > 0 || json_is_array(v)));
            fputc('\n', f);
        }
    }
}

int sealctl_print(const struct sealctl *s, json_t *obj, void (*human)(json_t *obj, FILE *f))
{
    if (obj == NULL)
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "out of memory");
    int rc = 0;
    if (s->json)
        rc = json_dumpf(obj, stdout, JSON_INDENT(2)) != 0 || fputc('\n', stdout) == EOF;
    else if (human != NULL)
        human(obj, stdout);
    else
        print_object(obj, stdout, 0, false);
    json_decref(obj);
    if (rc != 0 || fflush(stdout) != 0 || ferror(stdout))
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "writing the output failed");
    return 0;
}

void sealctl_human_short(json_t *obj, FILE *f)
{
    print_object(obj, f, 0, true);
}
