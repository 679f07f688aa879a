/* The signature checks of a certified block, made on every core at once (sync batches). */
#include "ledger/sigbatch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/err.h"

#define SIGBATCH_THREADS_MAX 8
#define SIGBATCH_PER_THREAD  32 /* below this many checks per thread, one thread */

static bool reserve(struct ledger__sigbatch *b, size_t jobs, size_t bytes)
{
    if (b->n + jobs > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + jobs)
            cap *= 2;
        void *p = realloc(b->jobs, cap * sizeof(*b->jobs));
        if (p == NULL)
            return false;
        b->jobs = p;
        b->cap = cap;
    }
    if (b->used + bytes > b->arena_cap) {
        size_t cap = b->arena_cap ? b->arena_cap * 2 : 64 * 1024;
        while (cap < b->used + bytes)
            cap *= 2;
        void *p = realloc(b->arena, cap);
        if (p == NULL)
            return false;
        b->arena = p;
        b->arena_cap = cap;
    }
    return true;
}

int ledger__sigbatch_add(struct ledger__sigbatch *b, const struct ledger_sigjobs *jobs, uint32_t tx)
{
    size_t bytes = 0;
    for (size_t i = 0; i < jobs->n; i++)
        bytes += jobs->job[i].payload_len;
    if (!reserve(b, jobs->n, bytes))
        return LEDGER_E_NOMEM;
    for (size_t i = 0; i < jobs->n; i++) {
        const struct ledger_sigjob *j = &jobs->job[i];
        struct ledger__sigbatch_job *d = &b->jobs[b->n++];
        d->tx = tx;
        d->tag = j->tag;
        d->code = j->code;
        memcpy(d->key, j->key, LEDGER_KEY_LEN);
        memcpy(d->sig, j->sig, LEDGER_SIG_LEN);
        d->off = b->used;
        d->len = j->payload_len;
        memcpy(b->arena + b->used, j->payload, j->payload_len);
        b->used += j->payload_len;
    }
    return 0;
}

/* One thread's share: jobs [from, to). */
struct share {
    const struct ledger__sigbatch *b;
    const uint8_t *genesis;
    size_t from, to;
    int rc;
    uint32_t tx;
};

static void *verify_share(void *arg)
{
    struct share *s = arg;
    s->rc = 0;
    for (size_t i = s->from; i < s->to; i++) {
        const struct ledger__sigbatch_job *j = &s->b->jobs[i];
        int rc = ledger_verify((enum ledger_tag)j->tag, s->genesis, s->b->arena + j->off, j->len,
                               j->key, j->sig);
        if (rc != 0) {
            s->rc = rc == LEDGER_E_BAD_SIGNATURE ? j->code : rc;
            s->tx = j->tx;
            break;
        }
    }
    return NULL;
}

static size_t thread_count(size_t jobs)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t t = cores < 1 ? 1 : (size_t)cores;
    if (t > SIGBATCH_THREADS_MAX)
        t = SIGBATCH_THREADS_MAX;
    while (t > 1 && jobs / t < SIGBATCH_PER_THREAD)
        t--;
    return t;
}

int ledger__sigbatch_verify(const struct ledger__sigbatch *b,
                            const uint8_t genesis[static LEDGER_HASH_LEN], uint32_t *out_tx)
{
    size_t t = thread_count(b->n);
    struct share sh[SIGBATCH_THREADS_MAX];
    pthread_t th[SIGBATCH_THREADS_MAX];
    bool started[SIGBATCH_THREADS_MAX] = { false };
    for (size_t i = 0; i < t; i++)
        sh[i] = (struct share){
            .b = b, .genesis = genesis, .from = b->n * i / t, .to = b->n * (i + 1) / t
        };
    /* Shares 1.. on their own threads (inline when a thread cannot start),
     * share 0 here. */
    for (size_t i = 1; i < t; i++)
        started[i] = pthread_create(&th[i], NULL, verify_share, &sh[i]) == 0;
    for (size_t i = 1; i < t; i++)
        if (!started[i])
            verify_share(&sh[i]);
    verify_share(&sh[0]);
    for (size_t i = 1; i < t; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    /* Shares are in job order, so the first failing share has the lowest tx. */
    for (size_t i = 0; i < t; i++)
        if (sh[i].rc != 0) {
            *out_tx = sh[i].tx;
            return sh[i].rc;
        }
    return 0;
}

void ledger__sigbatch_reset(struct ledger__sigbatch *b)
{
    b->n = 0;
    b->used = 0;
}

void ledger__sigbatch_free(struct ledger__sigbatch *b)
{
    free(b->jobs);
    free(b->arena);
    memset(b, 0, sizeof(*b));
}
