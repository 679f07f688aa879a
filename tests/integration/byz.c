/* The Byzantine-validator tests' common part: the cluster, the checks after each attack, messages.
 */
#include "tests/integration/byz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "ledger/crypto.h"
#include "node/wire.h"
#include "proto/api.pb-c.h"

/* Memory bound of an honest node after an attack (RssAnon); the sanitizer
 * build's shadow memory and quarantine need far more. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MAX_KIB (768ul * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_MAX_KIB (768ul * 1024)
#endif
#endif
#ifndef RSS_MAX_KIB
#define RSS_MAX_KIB (64ul * 1024)
#endif

struct byz *byz_start(unsigned me, uint32_t run)
{
    struct byz *b = calloc(1, sizeof *b);
    if (b == NULL || cluster_new(&b->c, 4, BYZ_CONFIG) != 0) {
        free(b);
        return NULL;
    }
    b->me = me;
    if (hostile_signer_init(&b->c, me, &b->s, &b->cr) != 0)
        return NULL;
    for (unsigned i = 0; i < 4; i++)
        if ((run >> i & 1) && cluster_start(&b->c, i) != 0)
            return NULL;
    for (unsigned i = 0; i < 4; i++)
        if ((run >> i & 1) && cluster_wait_up(&b->c, i, 10000) != 0)
            return NULL;
    return b;
}

/* Every node still stops cleanly (under ASan: no leak). */
int byz_teardown(void **state)
{
    struct byz *b = *state;
    int rc = 0;
    for (unsigned i = 0; i < 4; i++) /* a failed test may have left some frozen */
        if (b->c.pid[i] > 0)
            cluster_signal(&b->c, i, SIGCONT, NULL);
    for (unsigned i = 0; i < 4; i++) {
        int st = 0;
        if (b->c.pid[i] > 0 && cluster_signal(&b->c, i, SIGTERM, &st) == 0 &&
            !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            print_error("node %u did not stop cleanly (wait status %#x)\n", i, (unsigned)st);
            rc = -1;
        }
    }
    if (getenv("KEEP") != NULL)
        print_message("kept %s\n", b->c.dir);
    cluster_free(&b->c, getenv("KEEP") != NULL);
    sodium_memzero(b->s.sk, sizeof b->s.sk);
    free(b);
    return rc;
}

/* ---- what every test checks afterwards ------------------------------------------------ */

static unsigned long rss_anon_kib(struct cluster *c, unsigned i)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)c->pid[i]);
    FILE *f = fopen(path, "r");
    unsigned long kib = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "RssAnon: %lu kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static uint32_t honest(const struct byz *b)
{
    uint32_t mask = 0;
    for (unsigned i = 0; i < 4; i++)
        if (i != b->me && b->c.pid[i] > 0)
            mask |= 1u << i;
    return mask;
}

void byz_submit(struct cluster *c, unsigned i, bool wait, char st[16])
{
    uint8_t *tx;
    size_t len;
    assert_int_equal(cluster_tx(c, i, &tx, &len), 0);
    cluster_submit(c, i, tx, len, wait, st, NULL);
    free(tx);
}

/* The honest nodes go on: a fresh tx submitted at each commits, they reach
 * one height, every block hash is the same on all of them (no fork), and
 * each stays within its memory bound. Returns the height. */
uint64_t byz_honest_go_on(struct byz *b)
{
    struct cluster *c = &b->c;
    uint32_t mask = honest(b);
    char st[16];
    for (unsigned i = 0; i < 4; i++)
        if (mask >> i & 1) {
            byz_submit(c, i, true, st);
            assert_string_equal(st, "committed");
        }
    uint64_t top = 0;
    for (unsigned i = 0; i < 4; i++)
        if ((mask >> i & 1) && cluster_height(c, i) > top && cluster_height(c, i) != UINT64_MAX)
            top = cluster_height(c, i);
    assert_int_equal(cluster_wait_height(c, mask, top, 20000), 0);
    for (uint64_t h = 1; h <= top; h++) {
        uint8_t first[32], other[32];
        bool have = false;
        for (unsigned i = 0; i < 4; i++) {
            if (!(mask >> i & 1))
                continue;
            assert_int_equal(cluster_block_hash(c, i, h, have ? other : first), 0);
            if (have)
                assert_memory_equal(first, other, 32);
            have = true;
        }
    }
    for (unsigned i = 0; i < 4; i++)
        if (mask >> i & 1) {
            unsigned long kib = rss_anon_kib(c, i);
            print_message("node %u: height %" PRIu64 ", RssAnon %lu KiB\n", i, top, kib);
            assert_true(kib > 0 && kib < RSS_MAX_KIB);
            assert_false(cluster_log_has(c, i, "fail-stop"));
        }
    return top;
}

uint64_t byz_view(struct cluster *c, unsigned i)
{
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    assert_int_equal(cluster_status(c, i, &s, &r), 0);
    uint64_t v = s->view;
    sealchain__api_reply__free_unpacked(r, NULL);
    return v;
}

bool byz_syncing(struct cluster *c, unsigned i)
{
    Sealchain__StatusReply *s;
    Sealchain__ApiReply *r;
    assert_int_equal(cluster_status(c, i, &s, &r), 0);
    bool v = s->syncing;
    sealchain__api_reply__free_unpacked(r, NULL);
    return v;
}

/* ---- crafting ------------------------------------------------------------------------- */

uint64_t byz_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | p[k];
    return v;
}

uint64_t byz_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads until a CONSENSUS frame of kind arrives (copied to buf); false on
 * time-out or a closed link. */
bool byz_await_msg(struct hostile *h, int kind, uint8_t *buf, size_t *len, int timeout_ms)
{
    uint64_t end = cluster_ms() + (uint64_t)timeout_ms;
    while (cluster_ms() < end) {
        uint8_t type;
        const uint8_t *body;
        size_t n;
        int rc = hostile_recv(h, (int)(end - cluster_ms()), &type, &body, &n);
        if (rc < 0)
            return false;
        if (rc == 1 && type == NODE_WIRE_CONSENSUS && n > BYZ_HDR && n <= BYZ_MSG_CAP &&
            body[1] == kind) {
            memcpy(buf, body, n);
            *len = n;
            return true;
        }
    }
    return false;
}

/* True when the node closes the link within timeout_ms. */
bool byz_closes(struct hostile *h, int timeout_ms)
{
    bool closed;
    hostile_drain(h, timeout_ms, 0, &closed);
    return closed;
}

void byz_send(struct hostile *h, const uint8_t *m, size_t len)
{
    hostile_send(h, NODE_WIRE_CONSENSUS, m, len);
}

void byz_vote(struct byz *b, struct hostile *h, int kind, unsigned sender, uint64_t height,
              uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE])
{
    uint8_t m[256];
    size_t len;
    assert_int_equal(
        pbft_msg_vote_encode(&b->cr, kind, sender, height, view, digest, m, sizeof m, &len), 0);
    byz_send(h, m, len);
}

void byz_send_tip(struct hostile *h, uint64_t height)
{
    uint8_t body[NODE_WIRE_TIP_LEN] = { 0 };
    ledger_put_u64be(body, height);
    hostile_send(h, NODE_WIRE_TIP, body, sizeof body);
}
