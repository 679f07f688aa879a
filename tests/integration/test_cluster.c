/* sealchaind as real processes on 127.0.0.1: consensus, crashes, sync, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ledger/err.h"
#include "ledger/tx.h"
#include "node/client.h"
#include "node/handshake.h"
#include "node/keyfile.h"
#include "tests/integration/cluster.h"

/* Generous bounds: CI machines are shared and the sanitizer build is slow. */
#define UP_MS     20000
#define COMMIT_MS 60000
/* A view change after the primary dies: the progress timeout (2 s), the
 * view-change exchange and a commit, with the back-off of a slow machine. */
#define VIEW_CHANGE_BOUND_MS 30000

/* Four nodes from cluster_new, extra appended to every node.ini. */
static int setup_with(void **state, const char *extra)
{
    struct cluster *c = calloc(1, sizeof *c);
    if (c == NULL || cluster_new(c, 4, extra) != 0) {
        print_error("cluster_new failed\n");
        free(c);
        return -1;
    }
    *state = c;
    return 0;
}

static int setup4(void **state)
{
    return setup_with(state, NULL);
}

/* One tx per block, so that 1,000 txs make 1,000 blocks. */
static int setup4_small_blocks(void **state)
{
    return setup_with(state, "[block]\nmax_txs = 1\n");
}

/* A mempool of three, on a node with no quorum (only it runs). */
static int setup4_tiny_pool(void **state)
{
    return setup_with(state, "[mempool]\nmax_txs = 3\n");
}

static int teardown(void **state)
{
    struct cluster *c = *state;
    cluster_free(c, getenv("KEEP_CLUSTER") != NULL);
    free(c);
    return 0;
}

static void start_all(struct cluster *c)
{
    assert_int_equal(cluster_start_all(c, UP_MS), 0);
}

static uint64_t settle(struct cluster *c, uint32_t mask)
{
    uint64_t h = cluster_settle(c, mask, COMMIT_MS);
    if (h == UINT64_MAX)
        fail_msg("nodes did not settle on one height");
    return h;
}

static unsigned primary_of(struct cluster *c, unsigned ask)
{
    int p = cluster_primary(c, ask);
    assert_true(p >= 0);
    return (unsigned)p;
}
/* Submits one fresh tx at node i (signed by agency i's admin) and returns
 * its reply status. */
static void submit_one(struct cluster *c, unsigned i, bool wait, char status[16], uint64_t *height,
                       uint8_t id_out[32])
{
    uint8_t *tx;
    size_t len;
    assert_int_equal(cluster_tx(c, i % c->n, &tx, &len), 0);
    if (id_out != NULL)
        assert_int_equal(ledger_tx_id(tx, len, id_out), 0);
    int rc = cluster_submit(c, i, tx, len, wait, status, height);
    free(tx);
    assert_int_equal(rc, 0);
}

/* Pipelined load: count fresh txs spread over the nodes in mask, sent
 * without waiting for replies; returns how many the nodes admitted. */
static unsigned load(struct cluster *c, uint32_t mask, unsigned count)
{
    struct node_client *cl[CLUSTER_MAX] = { 0 };
    char path[400], err[512];
    unsigned sent[CLUSTER_MAX] = { 0 }, admitted = 0;
    for (unsigned i = 0; i < c->n; i++) {
        if (!(mask & (1u << i)))
            continue;
        snprintf(path, sizeof path, "%s/node%u/node.sock", c->dir, i);
        if (node_client_open(path, &cl[i], err, sizeof err) != 0)
            cl[i] = NULL;
    }
    unsigned k = 0;
    for (unsigned t = 0; t < count; t++) {
        unsigned i;
        do
            i = k++ % c->n;
        while (cl[i] == NULL && k < 100u * c->n + t * c->n);
        if (cl[i] == NULL)
            break;
        uint8_t *tx;
        size_t len;
        assert_int_equal(cluster_tx(c, i, &tx, &len), 0);
        Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
        Sealchain__SubmitRequest s = SEALCHAIN__SUBMIT_REQUEST__INIT;
        s.tx.data = tx;
        s.tx.len = len;
        req.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
        req.submit = &s;
        if (node_client_send(cl[i], &req, NULL, err, sizeof err) == 0)
            sent[i]++;
        free(tx);
    }
    for (unsigned i = 0; i < c->n; i++) {
        for (unsigned j = 0; cl[i] != NULL && j < sent[i]; j++) {
            Sealchain__ApiReply *r;
            if (node_client_recv(cl[i], 30000, &r, err, sizeof err) != 0)
                break;
            if (r->outcome == SEALCHAIN__API_OUTCOME__API_OUTCOME_OK)
                admitted++;
            sealchain__api_reply__free_unpacked(r, NULL);
        }
        node_client_close(cl[i]);
    }
    return admitted;
}

/* Every node in mask holds the same block at every height up to h. */
static void assert_same_chain(struct cluster *c, uint32_t mask, uint64_t h)
{
    for (uint64_t k = 1; k <= h; k++) {
        uint8_t first[32], got[32];
        bool have = false;
        for (unsigned i = 0; i < c->n; i++) {
            if (!(mask & (1u << i)))
                continue;
            assert_int_equal(cluster_block_hash(c, i, k, got), 0);
            if (have)
                assert_memory_equal(first, got, 32);
            memcpy(first, got, 32);
            have = true;
        }
    }
}

static uint64_t min_height(struct cluster *c, uint32_t mask)
{
    uint64_t m = UINT64_MAX;
    for (unsigned i = 0; i < c->n; i++)
        if (mask & (1u << i)) {
            uint64_t h = cluster_height(c, i);
            if (h < m)
                m = h;
        }
    return m;
}

static void four_nodes_commit_what_any_node_was_given(void **state)
{
    struct cluster *c = *state;
    start_all(c);
    char st[16];
    uint64_t h;
    for (unsigned i = 0; i < 4; i++) {
        submit_one(c, i, true, st, &h, NULL);
        assert_string_equal(st, "committed");
    }
    uint64_t t0 = cluster_ms();
    unsigned admitted = load(c, 0xf, 2000);
    uint64_t top = settle(c, 0xf);
    double secs = (double)(cluster_ms() - t0) / 1000.0;
    print_message("    4 nodes: %u txs admitted, all committed at height %llu in %.1f s: "
                  "%.0f tx/s\n",
                  admitted, (unsigned long long)top, secs, admitted / secs);
    assert_true(admitted >= 1900);
    assert_same_chain(c, 0xf, top);
}

static void a_killed_backup_catches_up_and_agrees(void **state)
{
    struct cluster *c = *state;
    start_all(c);
    load(c, 0xf, 200);
    assert_int_equal(cluster_signal(c, 3, SIGKILL, NULL), 0);
    uint64_t at_kill = min_height(c, 0x7);
    unsigned missed = load(c, 0x7, 4000);
    uint64_t before = settle(c, 0x7);
    uint64_t t0 = cluster_ms();
    assert_int_equal(cluster_start(c, 3), 0);
    assert_int_equal(cluster_wait_height(c, 0x8, before, COMMIT_MS), 0);
    double secs = (double)(cluster_ms() - t0) / 1000.0;
    print_message("    node 3 restarted and caught up %llu blocks (~%u txs) in %.2f s, start "
                  "included: %.0f tx/s\n",
                  (unsigned long long)(before - at_kill), missed, secs, missed / secs);
    load(c, 0xf, 100);
    uint64_t top = settle(c, 0xf);
    assert_true(top > before);
    assert_same_chain(c, 0xf, top);
}

static void a_killed_primary_is_replaced_and_rejoins(void **state)
{
    struct cluster *c = *state;
    start_all(c);
    char st[16];
    uint64_t h;
    submit_one(c, 1, true, st, &h, NULL);
    assert_string_equal(st, "committed");
    unsigned p = primary_of(c, 1);
    unsigned other = (p + 1) % 4;
    load(c, 0xf, 100);
    assert_int_equal(cluster_signal(c, p, SIGKILL, NULL), 0);
    uint64_t t0 = cluster_ms();
    submit_one(c, other, true, st, &h, NULL);
    uint64_t took = cluster_ms() - t0;
    print_message("    primary %u killed: the next commit took %llu ms (view change)\n", p,
                  (unsigned long long)took);
    assert_string_equal(st, "committed");
    assert_true(took < VIEW_CHANGE_BOUND_MS);
    assert_int_not_equal(primary_of(c, other), p);
    assert_int_equal(cluster_start(c, p), 0);
    assert_int_equal(cluster_wait_up(c, p, UP_MS), 0);
    load(c, 0xf, 50);
    uint64_t top = settle(c, 0xf);
    assert_same_chain(c, 0xf, top);
}

static void all_four_killed_at_once_lose_nothing_told_committed(void **state)
{
    struct cluster *c = *state;
    start_all(c);
    enum { TOLD = 12 };
    uint8_t ids[TOLD][32];
    for (unsigned k = 0; k < TOLD; k++) {
        uint8_t *tx;
        size_t len;
        char st[16];
        assert_int_equal(cluster_tx(c, k % 4, &tx, &len), 0);
        assert_int_equal(cluster_submit(c, k % 4, tx, len, true, st, NULL), 0);
        assert_string_equal(st, "committed");
        assert_int_equal(ledger_tx_id(tx, len, ids[k]), 0);
        free(tx);
        if (k == TOLD / 2)
            load(c, 0xf, 300); /* commits in flight when the lights go out */
    }
    load(c, 0xf, 300);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(cluster_signal(c, i, SIGKILL, NULL), 0);
    start_all(c);
    char st[16];
    uint64_t h;
    submit_one(c, 2, true, st, &h, NULL);
    assert_string_equal(st, "committed");
    uint64_t top = settle(c, 0xf);
    assert_same_chain(c, 0xf, top);
    for (unsigned i = 0; i < 4; i++)
        for (unsigned k = 0; k < TOLD; k++)
            assert_true(cluster_has_tx(c, i, ids[k]));
}

/* Dials node 0 and runs the handshake as the dialer with a key that is not
 * in genesis; returns true when the node closed the connection on us. */
static bool outsider_refused(struct cluster *c)
{
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    uint8_t keys[LEDGER_MAX_VALIDATORS][LEDGER_KEY_LEN];
    for (unsigned i = 0; i < c->g.n; i++)
        memcpy(keys[i], c->g.validators[i].node_key, 32);
    struct node_hs hs;
    const uint8_t *out;
    size_t out_len;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000;
    if (node_hs_init(&hs, NODE_HS_DIALER, c->g.hash, sk, &keys[0][0], c->g.n, 0, now, &out,
                     &out_len) != 0) {
        node_hs_close(&hs);
        return false;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->base_port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool refused = false;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, out, out_len) == (ssize_t)out_len) {
        struct timeval tv = { 10, 0 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        uint8_t buf[1024];
        ssize_t r;
        size_t total = 0;
        while ((r = read(fd, buf + total, sizeof buf - total)) > 0)
            total += (size_t)r;
        /* Closed on us, with nothing or a REFUSE (never a REPLY). */
        refused =
            r == 0 && (total == 0 || (total == 4 + NODE_HS_REFUSE_LEN && buf[5] == NODE_HS_REFUSE));
    }
    if (fd >= 0)
        close(fd);
    node_hs_close(&hs);
    return refused;
}

static void a_key_not_in_genesis_is_refused_and_logged(void **state)
{
    struct cluster *c = *state;
    start_all(c);
    assert_true(outsider_refused(c));
    cluster_sleep_ms(200);
    assert_true(cluster_log_has(c, 0, "not a validator"));
    char st[16];
    uint64_t h;
    submit_one(c, 0, true, st, &h, NULL);
    assert_string_equal(st, "committed");
}

static void an_empty_node_syncs_a_chain_of_a_thousand_blocks(void **state)
{
    struct cluster *c = *state;
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(cluster_start(c, i), 0);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(cluster_wait_up(c, i, UP_MS), 0);
    /* Keep a small backlog (one block's worth per round trip) until the
     * chain is 1,000 blocks long. */
    uint64_t end = cluster_ms() + 240000;
    while (min_height(c, 0x7) < 1000 && cluster_ms() < end) {
        Sealchain__StatusReply *s;
        Sealchain__ApiReply *r;
        assert_int_equal(cluster_status(c, 0, &s, &r), 0);
        uint64_t pool = s->mempool_txs;
        sealchain__api_reply__free_unpacked(r, NULL);
        if (pool < 50)
            load(c, 0x7, 100);
        else
            cluster_sleep_ms(100);
    }
    uint64_t top = settle(c, 0x7);
    assert_true(top >= 1000);
    uint64_t t0 = cluster_ms();
    assert_int_equal(cluster_start(c, 3), 0);
    assert_int_equal(cluster_wait_up(c, 3, UP_MS), 0);
    assert_int_equal(cluster_wait_height(c, 0x8, top, 120000), 0);
    double secs = (double)(cluster_ms() - t0) / 1000.0;
    print_message("    node 3 synced %llu blocks (%llu txs) in %.2f s: %.0f blocks/s\n",
                  (unsigned long long)top, (unsigned long long)top, secs, top / secs);
    assert_same_chain(c, 0xf, top > 50 ? 50 : top);
    uint8_t a[32], b[32];
    assert_int_equal(cluster_block_hash(c, 0, top, a), 0);
    assert_int_equal(cluster_block_hash(c, 3, top, b), 0);
    assert_memory_equal(a, b, 32);
}

/* A full mempool turns a transaction away before its signatures are checked:
 * under saturation every copy it refused had cost two Ed25519 checks. The
 * badly signed fourth transaction is refused as "mempool full", not as a bad
 * signature, which shows no check ran. */
static void a_full_mempool_refuses_before_checking_signatures(void **state)
{
    struct cluster *c = *state;
    assert_int_equal(cluster_start(c, 0), 0);
    assert_int_equal(cluster_wait_up(c, 0, UP_MS), 0);
    for (int i = 0; i < 3; i++) {
        char st[16];
        submit_one(c, 0, false, st, NULL, NULL);
        assert_string_equal(st, "pending");
    }
    uint8_t *tx;
    size_t len;
    assert_int_equal(cluster_tx(c, 0, &tx, &len), 0);
    tx[len - 1] ^= 1; /* the signature is the envelope's last field */
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SubmitRequest s = SEALCHAIN__SUBMIT_REQUEST__INIT;
    s.tx.data = tx;
    s.tx.len = len;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
    req.submit = &s;
    Sealchain__ApiReply *r;
    assert_int_equal(cluster_call(c, 0, &req, UP_MS, &r), 0);
    assert_int_equal(r->outcome, SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED);
    assert_int_equal(r->code, LEDGER_E_TOO_LARGE);
    assert_non_null(strstr(r->error, "mempool full"));
    sealchain__api_reply__free_unpacked(r, NULL);
    free(tx);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    if (getenv("TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(four_nodes_commit_what_any_node_was_given, setup4,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_killed_backup_catches_up_and_agrees, setup4, teardown),
        cmocka_unit_test_setup_teardown(a_killed_primary_is_replaced_and_rejoins, setup4, teardown),
        cmocka_unit_test_setup_teardown(all_four_killed_at_once_lose_nothing_told_committed, setup4,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_key_not_in_genesis_is_refused_and_logged, setup4,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_full_mempool_refuses_before_checking_signatures,
                                        setup4_tiny_pool, teardown),
        cmocka_unit_test_setup_teardown(an_empty_node_syncs_a_chain_of_a_thousand_blocks,
                                        setup4_small_blocks, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
