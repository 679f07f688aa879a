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

#include "ledger/store.h"
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

/* One signature a validator made: PREPARE or COMMIT for digest at (view, height). */
struct vote {
    uint32_t signer;
    uint64_t view, height;
    uint8_t digest[32];
};

/* Every vote seen so far: in the nodes' persisted snapshots and their stored certificates. */
struct votes {
    struct vote *v;
    size_t n, cap;
};

static void votes_add(struct votes *vs, uint32_t signer, uint64_t view, uint64_t height,
                      const uint8_t digest[32])
{
    if (vs->n == vs->cap) {
        vs->cap = vs->cap ? 2 * vs->cap : 1024;
        vs->v = realloc(vs->v, vs->cap * sizeof *vs->v);
        assert_non_null(vs->v);
    }
    struct vote *v = &vs->v[vs->n++];
    v->signer = signer;
    v->view = view;
    v->height = height;
    memcpy(v->digest, digest, 32);
}

static int vote_cmp(const void *a, const void *b)
{
    const struct vote *x = a, *y = b;
    if (x->signer != y->signer)
        return x->signer < y->signer ? -1 : 1;
    if (x->view != y->view)
        return x->view < y->view ? -1 : 1;
    if (x->height != y->height)
        return x->height < y->height ? -1 : 1;
    return memcmp(x->digest, y->digest, 32);
}

/* Sorts vs and returns how many (signer, view, height) carry two different
 * digests, naming each when report. */
static size_t votes_conflicts(struct votes *vs, bool report)
{
    if (vs->n > 0)
        qsort(vs->v, vs->n, sizeof *vs->v, vote_cmp);
    size_t bad = 0;
    for (size_t i = 1; i < vs->n; i++) {
        const struct vote *a = &vs->v[i - 1], *b = &vs->v[i];
        if (a->signer == b->signer && a->view == b->view && a->height == b->height &&
            memcmp(a->digest, b->digest, 32) != 0) {
            if (report)
                print_message("    validator %u signed two blocks at view %llu height %llu\n",
                              a->signer, (unsigned long long)a->view,
                              (unsigned long long)a->height);
            bad++;
        }
    }
    return bad;
}

/* A bounds-checked reader of consensus/snapshot.c's layout. */
struct rd {
    const uint8_t *p;
    size_t len, off;
};

static const uint8_t *rd_bytes(struct rd *d, size_t n)
{
    assert_true(d->len - d->off >= n);
    d->off += n;
    return d->p + d->off - n;
}

static uint64_t rd_uint(struct rd *d, size_t n)
{
    const uint8_t *p = rd_bytes(d, n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* A certificate (height, view, digest, signers with signatures): each signer's vote. */
static void rd_cert(struct rd *d, struct votes *vs)
{
    uint64_t height = rd_uint(d, 8), view = rd_uint(d, 8);
    const uint8_t *digest = rd_bytes(d, 32);
    unsigned count = (unsigned)rd_uint(d, 2);
    for (unsigned k = 0; k < count; k++) {
        uint32_t signer = (uint32_t)rd_uint(d, 2);
        rd_bytes(d, 64);
        if (height > 0)
            votes_add(vs, signer, view, height, digest);
    }
}

static void rd_own_vote(struct rd *d, uint32_t self, uint64_t height, struct votes *vs)
{
    if (rd_uint(d, 1) == 0)
        return;
    uint64_t view = rd_uint(d, 8);
    votes_add(vs, self, view, height, rd_bytes(d, 32));
    rd_bytes(d, 64);
}

/* Node i is down: reads the PBFT snapshot it persisted (the votes it may
 * sign again after the restart) from its store. Layout: consensus/snapshot.c. */
static void collect_snapshot_votes(struct cluster *c, unsigned i, struct votes *vs)
{
    char dir[400], err[256];
    snprintf(dir, sizeof dir, "%s/node%u/data", c->dir, i);
    struct ledger_store *s;
    assert_int_equal(ledger_store_open(dir, &c->g, NULL, &s, err, sizeof err), 0);
    uint8_t *snap = NULL;
    size_t len = 0;
    int rc = ledger_store_consensus_get(s, "pbft", &snap, &len);
    ledger_store_close(s);
    if (rc != 0)
        return; /* killed before its first snapshot */
    struct rd d = { snap, len, 0 };
    assert_memory_equal(rd_bytes(&d, 4), "PBS1", 4);
    rd_uint(&d, 1 + 2);
    uint32_t self = (uint32_t)rd_uint(&d, 2);
    assert_int_equal(self, i);
    rd_uint(&d, 8 + 1); /* view, status */
    uint64_t height = rd_uint(&d, 8);
    rd_uint(&d, 8); /* fresh_from */
    rd_cert(&d, vs);
    if (rd_uint(&d, 1) != 0) { /* accepted pre-prepare */
        rd_bytes(&d, 8 + 32 + 2 + 1 + 1 + 64);
        rd_bytes(&d, rd_uint(&d, 4));
    }
    rd_own_vote(&d, self, height, vs); /* PREPARE */
    rd_own_vote(&d, self, height, vs); /* COMMIT */
    if (rd_uint(&d, 1) != 0) {         /* prepared certificate: PREPARE votes */
        rd_cert(&d, vs);
        rd_bytes(&d, rd_uint(&d, 4));
    }
    free(snap);
}

/* Every node holds the same block at every height, and no validator's
 * signature appears for two different blocks at one (view, height) across
 * all the certificates stored anywhere and every vote in vs (the nodes'
 * persisted snapshots). The check is shown able to fail: one vote with its
 * digest changed must make it report exactly one conflict. */
static void assert_one_chain_no_double_sign(struct cluster *c, uint64_t top, struct votes *vs)
{
    for (uint64_t h = 1; h <= top; h++) {
        struct cert k[CLUSTER_MAX];
        for (unsigned i = 0; i < c->n; i++) {
            get_cert(c, i, h, &k[i]);
            assert_memory_equal(k[0].hash, k[i].hash, 32);
            for (size_t a = 0; a < k[i].n; a++)
                votes_add(vs, k[i].signers[a], k[i].view, h, k[i].hash);
        }
    }
    size_t n = vs->n;
    assert_int_equal(votes_conflicts(vs, true), 0);
    if (n > 0) {
        struct vote forged = vs->v[n / 2];
        forged.digest[0] ^= 1;
        votes_add(vs, forged.signer, forged.view, forged.height, forged.digest);
        assert_int_equal(votes_conflicts(vs, false), 1);
        vs->n = n;
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

/* Submits a fresh tx at node i and waits; returns 1 when the node said
 * committed (id and the height it named go out), 0 otherwise. */
static int submit_at(struct cluster *c, unsigned i, uint8_t id[32], uint64_t *height)
{
    uint8_t *tx;
    size_t len;
    assert_int_equal(cluster_tx(c, i, &tx, &len), 0);
    ledger_tx_id(tx, len, id);
    char st[16] = "";
    int rc = cluster_submit(c, i, tx, len, true, st, height);
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

/* A tx a client was told is committed, and the height it was told. */
struct told {
    uint8_t id[32];
    uint64_t height;
};

/* Node i holds tx id at height h. */
static void assert_tx_at(struct cluster *c, unsigned i, const uint8_t id[32], uint64_t h)
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__TxRequest t = SEALCHAIN__TX_REQUEST__INIT;
    t.hash.data = (uint8_t *)id;
    t.hash.len = 32;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_TX;
    req.tx = &t;
    Sealchain__ApiReply *r;
    assert_int_equal(cluster_call(c, i, &req, 10000, &r), 0);
    assert_int_equal(r->rep_case, SEALCHAIN__API_REPLY__REP_TX);
    assert_int_equal(r->tx->height, h);
    sealchain__api_reply__free_unpacked(r, NULL);
}

static void a_node_killed_every_few_seconds_loses_and_forks_nothing(void **state)
{
    struct cluster *c = *state;
    start_all(c);
    const char *e = getenv("CHAOS_SECONDS");
    unsigned secs = e && *e ? (unsigned)atoi(e) : 120;
    struct told *told = NULL;
    size_t n_told = 0, told_cap = 0, kills = 0, restarts = 0, sent = 0;
    struct votes vs = { 0 };
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
        uint64_t h = 0;
        sent += 21;
        if (submit_at(c, at, id, &h)) {
            if (n_told == told_cap) {
                told_cap = told_cap ? 2 * told_cap : 1024;
                told = realloc(told, told_cap * sizeof *told);
                assert_non_null(told);
            }
            memcpy(told[n_told].id, id, 32);
            told[n_told++].height = h;
        }
        uint64_t now = cluster_ms();
        if (down >= 0 && now - down_since >= 1000) {
            assert_int_equal(cluster_start(c, (unsigned)down), 0);
            down = -1;
            restarts++;
        }
        if (down < 0 && now >= next_kill) {
            down = (int)randombytes_uniform(c->n);
            assert_int_equal(cluster_signal(c, (unsigned)down, SIGKILL, NULL), 0);
            collect_snapshot_votes(c, (unsigned)down, &vs);
            down_since = now;
            kills++;
            next_kill = now + 2000 + randombytes_uniform(2000);
        }
    }
    if (down >= 0) {
        assert_int_equal(cluster_start(c, (unsigned)down), 0);
        restarts++;
    }
    start_all(c);
    uint8_t id[32];
    assert_true(submit(c, 0, true, id));
    uint64_t top = settle(c, 0xf);
    /* the votes each node persisted last */
    for (unsigned i = 0; i < c->n; i++) {
        assert_int_equal(cluster_signal(c, i, SIGKILL, NULL), 0);
        collect_snapshot_votes(c, i, &vs);
    }
    start_all(c);
    print_message("    %u s, %zu SIGKILLs, %zu restarts, %zu txs sent, %zu told committed, "
                  "height %llu, %zu snapshot votes\n",
                  secs, kills, restarts, sent, n_told, (unsigned long long)top, vs.n);
    assert_true(n_told > 0);
    assert_one_chain_no_double_sign(c, top, &vs);
    print_message("    %zu votes checked (snapshots and every node's certificates)\n", vs.n);
    for (size_t k = 0; k < n_told; k++)
        for (unsigned i = 0; i < c->n; i++)
            assert_tx_at(c, i, told[k].id, told[k].height);
    free(told);
    free(vs.v);
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
    struct votes vs = { 0 };
    assert_one_chain_no_double_sign(c, top, &vs);
    free(vs.v);
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
    struct votes vs = { 0 };
    assert_one_chain_no_double_sign(c, top > 30 ? 30 : top, &vs);
    free(vs.v);
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
