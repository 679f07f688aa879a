/* Crash atomicity: a child committing blocks is SIGKILLed at random; the store must hold a prefix.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/store.h"
#include "proto/block.pb-c.h"
#include "tests/unit/util_store.h"

/* Stream length and kill count: 120 blocks of up to ~34 seal txs, at least
 * 50 kills (issue 2), with delays drawn so that kills land before, during
 * and between commits, including during the first open's genesis write. */
#define CRASH_BLOCKS       120
#define CRASH_USES         30
#define CRASH_KILLS        60
#define CRASH_DELAY_MAX_US 60000

struct ref {
    uint8_t *block[CRASH_BLOCKS + 1], *cert[CRASH_BLOCKS + 1];
    size_t len[CRASH_BLOCKS + 1], cert_len[CRASH_BLOCKS + 1];
    uint8_t digest[CRASH_BLOCKS + 1][LEDGER_HASH_LEN]; /* state after each height */
    size_t entries[CRASH_BLOCKS + 1];
    struct ledger_tip tip[CRASH_BLOCKS + 1];
};

/* The reference: the stream built by a primary, and the full state digest
 * after every block. */
static void build_reference(struct tst_chain *c, struct ref *ref)
{
    char dir[64], err[256];
    tst_tmpdir(dir, sizeof(dir));
    struct ledger *l;
    assert_int_equal(ledger_open(dir, &c->g, NULL, &l, err, sizeof(err)), 0);
    struct tst_work *w = malloc(sizeof(*w));
    assert_non_null(w);
    tst_work_init(w, c, 11);
    tst_state_digest(ledger_store_get(l), ref->digest[0], &ref->entries[0]);
    ledger_tip_get(l, &ref->tip[0]);
    for (int h = 1; h <= CRASH_BLOCKS; h++) {
        uint64_t t = tst_work_time(w);
        tst_work_next(w, CRASH_USES);
        size_t refused;
        int rc = tst_commit(l, c, w->refs, w->n_tx, t, &refused, &ref->block[h], &ref->len[h],
                            &ref->cert[h], &ref->cert_len[h]);
        if (rc != 0 || refused != 0)
            fail_msg("reference block %d: rc %d refused %zu: %s", h, rc, refused, ledger_errmsg(l));
        tst_state_digest(ledger_store_get(l), ref->digest[h], &ref->entries[h]);
        ledger_tip_get(l, &ref->tip[h]);
    }
    tst_work_free(w);
    free(w);
    ledger_close(l);
    tst_rmdir(dir);
}

/* The child: commits the stream from its tip on, re-executing each block as
 * a backup or a syncing node does. Never returns. */
static void child_run(const struct tst_chain *c, const struct ref *ref, const char *dir)
{
    struct ledger *l;
    char err[256];
    if (ledger_open(dir, &c->g, NULL, &l, err, sizeof(err)) != 0)
        _exit(2);
    struct ledger_tip tip;
    ledger_tip_get(l, &tip);
    for (uint64_t h = tip.height + 1; h <= CRASH_BLOCKS; h++)
        if (ledger_commit_block(l, ref->block[h], ref->len[h], ref->cert[h], ref->cert_len[h]) != 0)
            _exit(3);
    ledger_close(l);
    _exit(0);
}

static void packed_equals(const ProtobufCMessage *m, const uint8_t *want, size_t want_len)
{
    uint8_t *got;
    size_t len;
    assert_int_equal(ledger_encode(m, &got, &len), 0);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
    free(got);
}

/* After a kill: the store opens, holds blocks 1..h exactly as streamed and
 * nothing after, and its whole state is the reference state at h. */
static uint64_t check_store(const struct tst_chain *c, const struct ref *ref, const char *dir)
{
    struct ledger *l;
    char err[256];
    int rc = ledger_open(dir, &c->g, NULL, &l, err, sizeof(err));
    if (rc != 0)
        fail_msg("reopen after kill: %s", err);
    struct ledger_tip tip;
    ledger_tip_get(l, &tip);
    uint64_t h = tip.height;
    assert_true(h <= CRASH_BLOCKS);
    assert_memory_equal(&tip, &ref->tip[h], sizeof(tip));
    struct ledger_rtxn *r;
    assert_int_equal(ledger_rtxn_begin(ledger_store_get(l), &r), 0);
    for (uint64_t i = 1; i <= h; i++) {
        struct ledger_stored_block b;
        assert_int_equal(ledger_rtxn_block_load(r, i, &b), 0);
        packed_equals(&b.stored->block->base, ref->block[i], ref->len[i]);
        packed_equals(&b.cert->base, ref->cert[i], ref->cert_len[i]);
        ledger_stored_block_close(&b);
    }
    const uint8_t *bytes;
    size_t len;
    assert_int_equal(ledger_rtxn_block(r, h + 1, &bytes, &len), LEDGER_E_NOT_FOUND);
    ledger_rtxn_end(r);
    uint8_t digest[LEDGER_HASH_LEN];
    size_t entries;
    tst_state_digest(ledger_store_get(l), digest, &entries);
    assert_int_equal(entries, ref->entries[h]);
    assert_memory_equal(digest, ref->digest[h], LEDGER_HASH_LEN);
    ledger_close(l);
    return h;
}

static void a_killed_committer_leaves_a_prefix_of_blocks_and_its_exact_state(void **state)
{
    (void)state;
    struct tst_chain *c = malloc(sizeof(*c));
    struct ref *ref = calloc(1, sizeof(*ref));
    assert_non_null(c);
    assert_non_null(ref);
    tst_chain_init(c, 4, "crash-test");
    build_reference(c, ref);
    char dir[64];
    tst_tmpdir(dir, sizeof(dir));
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    int kills = 0, finished = 0, passes = 0, mid_stream = 0, at_zero = 0;
    uint64_t last = 0;
    while (kills < CRASH_KILLS) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_run(c, ref, dir);
        usleep((useconds_t)(rand() % CRASH_DELAY_MAX_US));
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            kills++;
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("child failed: status %d (seed %u)", status, seed);
        else
            finished++;
        uint64_t h = check_store(c, ref, dir);
        assert_true(h >= last); /* nothing committed is ever lost */
        mid_stream += h > last && h < CRASH_BLOCKS;
        at_zero += h == 0;
        last = h;
        if (h == CRASH_BLOCKS) { /* the whole stream is in: start over */
            tst_rmdir(dir);
            tst_tmpdir(dir, sizeof(dir));
            last = 0;
            passes++;
        }
    }
    print_message("crash: %d kills, %d runs finished, %d full passes, %d kills advanced the tip "
                  "mid-stream, %d at height 0 (seed %u)\n",
                  kills, finished, passes, mid_stream, at_zero, seed);
    tst_rmdir(dir);
    for (int h = 1; h <= CRASH_BLOCKS; h++) {
        free(ref->block[h]);
        free(ref->cert[h]);
    }
    free(ref);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_killed_committer_leaves_a_prefix_of_blocks_and_its_exact_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
