/* Event queue of the simulator: a binary min-heap ordered by (time, insertion order). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "tests/sim/queue.h"

struct sim_blob *sim_blob_new(const void *data, size_t len)
{
    struct sim_blob *b = malloc(sizeof(*b) + len);
    if (b == NULL)
        return NULL;
    b->refs = 1;
    b->len = len;
    if (len > 0)
        memcpy(b->data, data, len);
    return b;
}

struct sim_blob *sim_blob_ref(struct sim_blob *b)
{
    b->refs++;
    return b;
}

void sim_blob_unref(struct sim_blob *b)
{
    if (b != NULL && --b->refs == 0)
        free(b);
}

void sim_queue_init(struct sim_queue *q)
{
    memset(q, 0, sizeof(*q));
}

void sim_queue_close(struct sim_queue *q)
{
    for (size_t i = 0; i < q->len; i++)
        sim_blob_unref(q->heap[i].blob);
    free(q->heap);
    memset(q, 0, sizeof(*q));
}

static int before(const struct sim_event *a, const struct sim_event *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void swap(struct sim_event *a, struct sim_event *b)
{
    struct sim_event t = *a;
    *a = *b;
    *b = t;
}

void sim_queue_push(struct sim_queue *q, const struct sim_event *ev)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        struct sim_event *h = realloc(q->heap, cap * sizeof(*h));
        if (h == NULL) {
            fprintf(stderr, "sim: out of memory in event queue\n");
            abort();
        }
        q->heap = h;
        q->cap = cap;
    }
    size_t i = q->len++;
    q->heap[i] = *ev;
    q->heap[i].seq = q->seq++;
    while (i > 0 && before(&q->heap[i], &q->heap[(i - 1) / 2])) {
        swap(&q->heap[i], &q->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

static void sift_down(struct sim_queue *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->len && before(&q->heap[l], &q->heap[m]))
            m = l;
        if (r < q->len && before(&q->heap[r], &q->heap[m]))
            m = r;
        if (m == i)
            return;
        swap(&q->heap[i], &q->heap[m]);
        i = m;
    }
}

int sim_queue_pop(struct sim_queue *q, struct sim_event *out)
{
    if (q->len == 0)
        return -1;
    *out = q->heap[0];
    q->heap[0] = q->heap[--q->len];
    sift_down(q, 0);
    return 0;
}

uint64_t sim_queue_peek_time(const struct sim_queue *q)
{
    return q->len ? q->heap[0].at : UINT64_MAX;
}
