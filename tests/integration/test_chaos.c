/* Dying, pausing and starving sealchaind processes: nothing committed is lost, nothing forks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ledger/tx.h"
#include "node/client.h"
#include "tests/integration/cluster.h"

#define UP_MS     30000
#define COMMIT_MS 90000

static int setup4(void **state)
{
    struct cluster *c = calloc(1, sizeof *c);
    if (c == NULL || cluster_new(c, 4, NULL) != 0) {
        free(c);
        return -1;
    }
    *state = c;
    return 0;
}

static char mounted[400];

static int teardown(void **state)
{
    struct cluster *c = *state;
    for (unsigned i = 0; i < c->n; i++)
        if (c->pid[i] > 0)
            cluster_signal(c, i, SIGKILL, NULL);
    if (mounted[0] != '\0') {
        umount2(mounted, MNT_DETACH);
        mounted[0] = '\0';
    }
    cluster_free(c, getenv("KEEP_CLUSTER") != NULL);
    free(c);
    return 0;
}

/* One block as node i stores it: hash, certificate view and signers. */
struct cert {
    uint8_t hash[32];
    uint64_t view;
    uint32_t signers[64];
    size_t n;
};

static void get_cert(struct cluster *c, unsigned i, uint64_t h, struct cert *out)
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__BlockRequest b = SEALCHAIN__BLOCK_REQUEST__INIT;
    b.height = h;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_BLOCK;
    req.block = &b;
    Sealchain__ApiReply *r;
    assert_int_equal(cluster_call(c, i, &req, 10000, &r), 0);
    assert_int_equal(r->rep_case, SEALCHAIN__API_REPLY__REP_BLOCK);
    assert_int_equal(r->block->hash.len, 32);
    memcpy(out->hash, r->block->hash.data, 32);
    out->view = r->block->view;
    out->n = r->block->n_signers < 64 ? r->block->n_signers : 64;
    memcpy(out->signers, r->block->signers, out->n * sizeof(uint32_t));
    sealchain__api_reply__free_unpacked(r, NULL);
}

/* Every node holds the same block at every height, and no validator's
 * COMMIT signature appears for two different blocks at one (view, height)
 * across all the certificates stored anywhere. */
static void assert_one_chain_no_double_sign(struct cluster *c, uint64_t top)
{
    for (uint64_t h = 1; h <= top; h++) {
        struct cert k[CLUSTER_MAX];
        for (unsigned i = 0; i < c->n; i++) {
            get_cert(c, i, h, &k[i]);
            assert_memory_equal(k[0].hash, k[i].hash, 32);
        }
        for (unsigned i = 0; i < c->n; i++)
            for (unsigned j = 0; j < c->n; j++) {
                if (k[i].view != k[j].view || memcmp(k[i].hash, k[j].hash, 32) == 0)
                    continue;
                for (size_t a = 0; a < k[i].n; a++)
                    for (size_t b = 0; b < k[j].n; b++)
                        assert_int_not_equal(k[i].signers[a], k[j].signers[b]);
            }
    }
}

/* Submits a fresh tx at node i; returns 1 when the node said committed (its
 * id goes to id), 0 otherwise (refused, pending, node down). */
static int submit(struct cluster *c, unsigned i, bool wait, uint8_t id[32])
{
    uint8_t *tx;
    size_t len;
    assert_int_equal(cluster_tx(c, i, &tx, &len), 0);
    ledger_tx_id(tx, len, id);
    char st[16] = "";
    int rc = cluster_submit(c, i, tx, len, wait, st, NULL);
    free(tx);
    return rc == 0 && strcmp(st, "committed") == 0;
}

static void start_all(struct cluster *c)
{
    assert_int_equal(cluster_start_all(c, UP_MS), 0);
}

static uint64_t settle(struct cluster *c, uint32_t mask)
{
    uint64_t h = cluster_settle(c, mask, COMMIT_MS);
    assert_true(h != UINT64_MAX);
    return h;
}

static void assert_tx_everywhere(struct cluster *c, const uint8_t id[32])
{
    for (unsigned i = 0; i < c->n; i++)
        assert_true(cluster_has_tx(c, i, id));
}

static unsigned primary_of(struct cluster *c, unsigned ask)
{
    int p = cluster_primary(c, ask);
    assert_true(p >= 0);
    return (unsigned)p;
}

static void a_node_killed_every_few_seconds_loses_and_forks_nothing(void **state)
{
    struct cluster *c = *state;
    start_all(c);
    const char *e = getenv("CHAOS_SECONDS");
    unsigned secs = e && *e ? (unsigned)atoi(e) : 120;
    enum { TOLD_MAX = 4096 };
    static uint8_t told[TOLD_MAX][32];
    size_t n_told = 0, kills = 0;
    uint64_t end = cluster_ms() + secs * 1000ull, next_kill = cluster_ms() + 2000;
    int down = -1;
    uint64_t down_since = 0;
    while (cluster_ms() < end) {
        /* load: a few without waiting, one waiting, at a live node */
        unsigned at = randombytes_uniform(c->n);
        if ((int)at == down)
            at = (at + 1) % c->n;
        uint8_t id[32];
        for (int k = 0; k < 20; k++)
            submit(c, at, false, id);
        if (submit(c, at, true, id) && n_told < TOLD_MAX)
            memcpy(told[n_told++], id, 32);
        uint64_t now = cluster_ms();
        if (down >= 0 && now - down_since >= 1000) {
            assert_int_equal(cluster_start(c, (unsigned)down), 0);
            down = -1;
        }
        if (down < 0 && now >= next_kill) {
            down = (int)randombytes_uniform(c->n);
            assert_int_equal(cluster_signal(c, (unsigned)down, SIGKILL, NULL), 0);
            down_since = now;
            kills++;
            next_kill = now + 2000 + randombytes_uniform(2000);
        }
    }
    if (down >= 0)
        assert_int_equal(cluster_start(c, (unsigned)down), 0);
    start_all(c);
    uint8_t id[32];
    assert_true(submit(c, 0, true, id));
    uint64_t top = settle(c, 0xf);
    print_message("    %u s, %zu SIGKILLs, %zu txs told committed, height %llu\n", secs, kills,
                  n_told, (unsigned long long)top);
    assert_true(n_told > 0);
    assert_one_chain_no_double_sign(c, top);
    for (size_t k = 0; k < n_told; k++)
        assert_tx_everywhere(c, told[k]);
}

static void a_paused_primary_is_replaced_and_rejoins(void **state)
{
    struct cluster *c = *state;
    start_all(c);
    uint8_t id[32];
    assert_true(submit(c, 1, true, id));
    unsigned p = primary_of(c, 1), other = (p + 1) % c->n;
    assert_int_equal(cluster_signal(c, p, SIGSTOP, NULL), 0);
    uint64_t t0 = cluster_ms();
    int committed = submit(c, other, true, id);
    uint64_t took = cluster_ms() - t0;
    print_message("    primary %u stopped: next commit after %llu ms\n", p,
                  (unsigned long long)took);
    assert_true(committed);
    assert_int_not_equal(primary_of(c, other), p);
    for (int k = 0; k < 10; k++)
        assert_true(submit(c, other, true, id));
    while (cluster_ms() - t0 < 30000)
        cluster_sleep_ms(500);
    assert_int_equal(cluster_signal(c, p, SIGCONT, NULL), 0);
    assert_true(submit(c, other, true, id));
    uint64_t top = settle(c, 0xf);
    assert_one_chain_no_double_sign(c, top);
    assert_tx_everywhere(c, id);
}

/* A full disk: node 3's data directory on a small tmpfs. */
static void a_full_disk_stops_the_node_and_it_recovers_with_room(void **state)
{
    struct cluster *c = *state;
    char data[400];
    snprintf(data, sizeof data, "%s/node3/data", c->dir);
    mkdir(data, 0700);
    if (geteuid() != 0 || mount("tmpfs", data, "tmpfs", 0, "size=3m,mode=0700") != 0) {
        print_message("    (skipped: cannot mount a tmpfs here)\n");
        skip();
    }
    snprintf(mounted, sizeof mounted, "%s", data);
    start_all(c);
    /* fill: load until node 3 stops by itself */
    int st = 0;
    uint64_t end = cluster_ms() + 120000;
    bool exited = false;
    while (!exited && cluster_ms() < end) {
        uint8_t id[32];
        for (int k = 0; k < 50; k++)
            submit(c, k % 3, false, id);
        submit(c, 0, true, id);
        exited = waitpid(c->pid[3], &st, WNOHANG) == c->pid[3];
    }
    assert_true(exited);
    c->pid[3] = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_true(cluster_log_has(c, 3, "fail-stop"));
    assert_true(cluster_log_has(c, 3, "is full or failing"));
    /* the others go on */
    uint8_t id[32];
    assert_true(submit(c, 1, true, id));
    /* room again: restart and catch up */
    assert_int_equal(mount("tmpfs", data, "tmpfs", MS_REMOUNT, "size=256m,mode=0700"), 0);
    assert_int_equal(cluster_start(c, 3), 0);
    assert_int_equal(cluster_wait_up(c, 3, UP_MS), 0);
    assert_true(submit(c, 1, true, id));
    uint64_t top = settle(c, 0xf);
    assert_one_chain_no_double_sign(c, top > 30 ? 30 : top);
    uint8_t a[32], b[32];
    assert_int_equal(cluster_block_hash(c, 0, top, a), 0);
    assert_int_equal(cluster_block_hash(c, 3, top, b), 0);
    assert_memory_equal(a, b, 32);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    if (getenv("TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_node_killed_every_few_seconds_loses_and_forks_nothing,
                                        setup4, teardown),
        cmocka_unit_test_setup_teardown(a_paused_primary_is_replaced_and_rejoins, setup4, teardown),
        cmocka_unit_test_setup_teardown(a_full_disk_stops_the_node_and_it_recovers_with_room,
                                        setup4, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
