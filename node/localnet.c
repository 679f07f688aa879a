/* An in-process consortium over an in-memory bus, for the demo and tests. */
#include "node/localnet.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ledger/err.h"
#include "proto/block.pb-c.h"

#define LOCALNET_MAX 16

struct envelope {
    unsigned from, to;
    uint8_t *bytes;
    size_t len;
};

struct member {
    unsigned index;
    struct localnet *ln;
    uint8_t *node_sk;  /* sodium_malloc'd, 64 bytes */
    uint8_t *admin_sk; /* sodium_malloc'd, 64 bytes */
    struct ledger *l;
    struct node_driver *d;
    bool live;
    bool deaf; /* ignores forwarded transactions (a censoring primary) */
};

struct localnet {
    char dir[512];
    unsigned n;
    struct ledger_genesis g;
    struct member m[LOCALNET_MAX];
    struct envelope *q; /* FIFO bus: q[0, len), delivered as a whole batch */
    size_t len, cap;
    uint64_t batch_wait_ms; /* localnet_set_batch_wait */
};

uint64_t localnet_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void seed_key(const char *what, unsigned i, uint8_t *sk)
{
    char label[64];
    uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
    int len = snprintf(label, sizeof label, "sealchain localnet %s %u", what, i);
    crypto_hash_sha256(seed, (const uint8_t *)label, (unsigned long long)len);
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(seed, sizeof seed);
}

/* ---- bus ------------------------------------------------------------------ */

static int push(struct localnet *ln, unsigned from, unsigned to, const uint8_t *b, size_t len)
{
    if (ln->len == ln->cap) {
        size_t cap = ln->cap ? ln->cap * 2 : 256;
        struct envelope *q = realloc(ln->q, cap * sizeof *q);
        if (q == NULL)
            return LEDGER_E_NOMEM;
        ln->q = q;
        ln->cap = cap;
    }
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return LEDGER_E_NOMEM;
    memcpy(copy, b, len);
    ln->q[ln->len++] = (struct envelope){ from, to, copy, len };
    return 0;
}

static void send_cb(void *ctx, int to, const uint8_t *bytes, size_t len)
{
    struct member *self = ctx;
    struct localnet *ln = self->ln;
    for (unsigned i = 0; i < ln->n; i++) {
        if (i == self->index || (to != PBFT_BROADCAST && (unsigned)to != i))
            continue;
        push(ln, self->index, i, bytes, len); /* a lost message is a dropped one */
    }
}

/* A held transaction the driver sends again: every other live member is
 * offered it, as gossip would (each admits it by its own rules). Members
 * flagged deaf (localnet_set_deaf) ignore it, as a censor would. */
static void forward_cb(void *ctx, const uint8_t *tx, size_t len)
{
    struct member *self = ctx;
    struct localnet *ln = self->ln;
    for (unsigned i = 0; i < ln->n; i++) {
        struct member *m = &ln->m[i];
        if (i != self->index && m->live && !m->deaf)
            node_driver_submit(m->d, tx, len, localnet_now_ms(), NULL, NULL, 0);
    }
}

/* Delivers what is queued now (not what deliveries enqueue: those go to a
 * fresh queue, so the batch being walked is never moved under us). Returns
 * the number delivered, or -1 when a driver failed. */
static int deliver(struct localnet *ln, char *errmsg, size_t errmsg_len)
{
    struct envelope *batch = ln->q;
    size_t count = ln->len;
    ln->q = NULL;
    ln->len = ln->cap = 0;
    int rc = 0;
    for (size_t k = 0; k < count; k++) {
        struct envelope *e = &batch[k];
        struct member *m = &ln->m[e->to];
        if (rc == 0 && m->live && ln->m[e->from].live &&
            node_driver_receive(m->d, e->from, e->bytes, e->len, localnet_now_ms()) ==
                LEDGER_E_FATAL) {
            snprintf(errmsg, errmsg_len, "node %u: %s", e->to, node_driver_errmsg(m->d));
            rc = -1;
        }
        free(e->bytes);
    }
    free(batch);
    return rc < 0 ? -1 : (int)count;
}

/* ---- members ---------------------------------------------------------------- */

static int open_member(struct localnet *ln, unsigned i, char *errmsg, size_t errmsg_len)
{
    struct member *m = &ln->m[i];
    char path[600];
    snprintf(path, sizeof path, "%s/node%u", ln->dir, i);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(errmsg, errmsg_len, "mkdir %s: %s", path, strerror(errno));
        return LEDGER_E_STORE;
    }
    int rc = ledger_open(path, &ln->g, NULL, &m->l, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    struct node_driver_config cfg = {
        .self = i,
        .l = m->l,
        .node_sk = m->node_sk,
        .send = send_cb,
        .send_ctx = m,
        .on_forward = forward_cb,
        .commit_ctx = m,
        .batch_wait_ms = ln->batch_wait_ms,
    };
    rc = node_driver_new(&cfg, localnet_now_ms(), &m->d, errmsg, errmsg_len);
    if (rc != 0) {
        ledger_close(m->l);
        m->l = NULL;
        return rc;
    }
    m->live = true;
    return 0;
}

static int make_genesis(struct localnet *ln, char *errmsg, size_t errmsg_len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/genesis.ini", ln->dir);
    struct stat st;
    if (stat(path, &st) == 0)
        return ledger_genesis_load(path, &ln->g, errmsg, errmsg_len);
    memset(&ln->g, 0, sizeof ln->g);
    snprintf(ln->g.chain_id, sizeof ln->g.chain_id, "sealchain-local");
    ln->g.time_ms = localnet_now_ms() - 1000;
    ln->g.n = ln->n;
    for (unsigned i = 0; i < ln->n; i++) {
        struct ledger_validator *v = &ln->g.validators[i];
        memcpy(v->node_key, ln->m[i].node_sk + 32, LEDGER_KEY_LEN);
        memcpy(v->admin_key, ln->m[i].admin_sk + 32, LEDGER_KEY_LEN);
        snprintf(v->org_id, sizeof v->org_id, "agency%u", i);
        snprintf(v->org_name, sizeof v->org_name, "Agency %u", i);
    }
    int rc = ledger_genesis_finish(&ln->g, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    return ledger_genesis_write(path, &ln->g, errmsg, errmsg_len);
}

int localnet_new(const char *dir, unsigned n, struct localnet **out, char *errmsg,
                 size_t errmsg_len)
{
    *out = NULL;
    if (n == 0 || n > LOCALNET_MAX) {
        snprintf(errmsg, errmsg_len, "localnet: 1..%d validators", LOCALNET_MAX);
        return LEDGER_E_INVALID;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(errmsg, errmsg_len, "mkdir %s: %s", dir, strerror(errno));
        return LEDGER_E_STORE;
    }
    struct localnet *ln = calloc(1, sizeof *ln);
    if (ln == NULL)
        return LEDGER_E_NOMEM;
    snprintf(ln->dir, sizeof ln->dir, "%s", dir);
    ln->n = n;
    int rc = LEDGER_E_NOMEM;
    for (unsigned i = 0; i < n; i++) {
        ln->m[i] = (struct member){ .index = i, .ln = ln };
        ln->m[i].node_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
        ln->m[i].admin_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
        if (ln->m[i].node_sk == NULL || ln->m[i].admin_sk == NULL)
            goto err_after_alloc;
        seed_key("node", i, ln->m[i].node_sk);
        seed_key("admin", i, ln->m[i].admin_sk);
    }
    if ((rc = make_genesis(ln, errmsg, errmsg_len)) != 0)
        goto err_after_alloc;
    if (ln->g.n != n) {
        snprintf(errmsg, errmsg_len, "%s/genesis.ini has %u validators, not %u", dir, ln->g.n, n);
        rc = LEDGER_E_INVALID;
        goto err_after_alloc;
    }
    for (unsigned i = 0; i < n; i++)
        if ((rc = open_member(ln, i, errmsg, errmsg_len)) != 0)
            goto err_after_alloc;
    *out = ln;
    return 0;

err_after_alloc:
    localnet_free(ln);
    return rc;
}

int localnet_stop(struct localnet *ln, unsigned i)
{
    struct member *m = &ln->m[i];
    node_driver_free(m->d);
    ledger_close(m->l);
    m->d = NULL;
    m->l = NULL;
    m->live = false;
    return 0;
}

int localnet_restart(struct localnet *ln, unsigned i, char *errmsg, size_t errmsg_len)
{
    if (ln->m[i].live)
        localnet_stop(ln, i);
    return open_member(ln, i, errmsg, errmsg_len);
}

void localnet_free(struct localnet *ln)
{
    if (ln == NULL)
        return;
    for (unsigned i = 0; i < ln->n; i++) {
        localnet_stop(ln, i);
        sodium_free(ln->m[i].node_sk);
        sodium_free(ln->m[i].admin_sk);
    }
    for (size_t k = 0; k < ln->len; k++)
        free(ln->q[k].bytes);
    free(ln->q);
    free(ln);
}

const struct ledger_genesis *localnet_genesis(const struct localnet *ln)
{
    return &ln->g;
}

struct ledger *localnet_ledger(struct localnet *ln, unsigned i)
{
    return ln->m[i].l;
}

struct node_driver *localnet_driver(struct localnet *ln, unsigned i)
{
    return ln->m[i].d;
}

const uint8_t *localnet_admin_sk(const struct localnet *ln, unsigned i)
{
    return ln->m[i].admin_sk;
}

/* ---- running ------------------------------------------------------------------ */

int localnet_submit(struct localnet *ln, unsigned i, const uint8_t *tx, size_t len,
                    uint8_t out_id[LEDGER_HASH_LEN], char *errmsg, size_t errmsg_len)
{
    uint64_t now = localnet_now_ms();
    int rc = node_driver_submit(ln->m[i].d, tx, len, now, out_id, errmsg, errmsg_len);
    if (rc != 0)
        return rc;
    /* Gossip: each peer admits it by the same rules (its verdict is its own). */
    for (unsigned k = 0; k < ln->n; k++)
        if (k != i && ln->m[k].live)
            node_driver_submit(ln->m[k].d, tx, len, now, NULL, NULL, 0);
    return 0;
}

uint64_t localnet_height(struct localnet *ln)
{
    uint64_t h = UINT64_MAX;
    for (unsigned i = 0; i < ln->n; i++) {
        if (!ln->m[i].live)
            continue;
        struct ledger_tip tip;
        ledger_tip_get(ln->m[i].l, &tip);
        if (tip.height < h)
            h = tip.height;
    }
    return h == UINT64_MAX ? 0 : h;
}

static bool committed_everywhere(struct localnet *ln, const uint8_t *id, bool *out_gone)
{
    bool all = true, held = false;
    for (unsigned i = 0; i < ln->n; i++) {
        struct member *m = &ln->m[i];
        if (!m->live)
            continue;
        uint8_t *val;
        size_t len;
        uint8_t key[1 + LEDGER_HASH_LEN] = { LEDGER_K_TX };
        memcpy(key + 1, id, LEDGER_HASH_LEN);
        if (ledger_store_get_state(ledger_store_get(m->l), key, sizeof key, &val, &len) == 0)
            free(val);
        else
            all = false;
        held = held || node_driver_holds(m->d, id);
    }
    *out_gone = !all && !held;
    return all;
}

/* Sync in miniature: a node the core reports behind copies the certified
 * blocks it lacks from the peer's store and applies them in one batch (the
 * ledger checks every certificate and re-executes every block). */
static int sync_member(struct localnet *ln, struct member *m, char *errmsg, size_t errmsg_len)
{
    uint64_t height;
    unsigned peer;
    if (!node_driver_behind(m->d, &height, &peer))
        return 0;
    struct ledger_tip tip;
    ledger_tip_get(m->l, &tip);
    if (peer >= ln->n || !ln->m[peer].live) {
        /* The peer named is gone: any live peer ahead of us will do, since
         * every block is checked against its certificate anyway. */
        peer = ln->n;
        for (unsigned i = 0; i < ln->n; i++) {
            struct ledger_tip t;
            if (i == m->index || !ln->m[i].live)
                continue;
            ledger_tip_get(ln->m[i].l, &t);
            if (t.height > tip.height) {
                peer = i;
                break;
            }
        }
        if (peer == ln->n)
            return 0;
    }
    struct ledger_certified batch[LEDGER_MAX_SYNC_BATCH];
    Sealchain__StoredBlock *sb[LEDGER_MAX_SYNC_BATCH];
    size_t count = 0;
    int rc = 0;
    for (uint64_t h = tip.height + 1; h <= height && count < LEDGER_MAX_SYNC_BATCH; h++) {
        uint8_t *bytes;
        size_t len;
        if (ledger_store_get_block(ledger_store_get(ln->m[peer].l), h, &bytes, &len) != 0)
            break;
        sb[count] = sealchain__stored_block__unpack(NULL, len, bytes);
        free(bytes);
        if (sb[count] == NULL || sb[count]->block == NULL || sb[count]->cert == NULL) {
            sealchain__stored_block__free_unpacked(sb[count], NULL);
            break;
        }
        /* Re-encode the parts: the ledger hashes the header bytes inside. */
        Sealchain__Block *b = sb[count]->block;
        size_t blen = sealchain__block__get_packed_size(b);
        size_t clen = sealchain__commit_cert__get_packed_size(sb[count]->cert);
        uint8_t *bb = malloc(blen), *cb = malloc(clen);
        if (bb == NULL || cb == NULL) {
            free(bb);
            free(cb);
            sealchain__stored_block__free_unpacked(sb[count], NULL);
            rc = LEDGER_E_NOMEM;
            break;
        }
        sealchain__block__pack(b, bb);
        sealchain__commit_cert__pack(sb[count]->cert, cb);
        batch[count] = (struct ledger_certified){ bb, blen, cb, clen };
        count++;
    }
    if (rc == 0 && count > 0) {
        rc = ledger_commit_blocks(m->l, batch, count);
        if (rc == 0) {
            fprintf(stderr, "%llu info sync node=%u applied=%zu tip=%llu from=%u\n",
                    (unsigned long long)localnet_now_ms(), m->index, count,
                    (unsigned long long)(tip.height + count), peer);
            rc = node_driver_synced(m->d, localnet_now_ms());
        } else {
            snprintf(errmsg, errmsg_len, "node %u: sync: %s", m->index, ledger_errmsg(m->l));
        }
    }
    for (size_t i = 0; i < count; i++) {
        free((void *)batch[i].block);
        free((void *)batch[i].cert);
        sealchain__stored_block__free_unpacked(sb[i], NULL);
    }
    return rc;
}

/* One turn: deliver, tick. Returns 1 if anything moved, 0 if idle, -1 on failure. */
static int turn(struct localnet *ln, char *errmsg, size_t errmsg_len)
{
    int moved = deliver(ln, errmsg, errmsg_len);
    if (moved < 0)
        return -1;
    uint64_t now = localnet_now_ms();
    for (unsigned i = 0; i < ln->n; i++) {
        struct member *m = &ln->m[i];
        if (m->live && sync_member(ln, m, errmsg, errmsg_len) == LEDGER_E_FATAL)
            return -1;
        if (m->live && node_driver_tick(m->d, now) == LEDGER_E_FATAL) {
            snprintf(errmsg, errmsg_len, "node %u: %s", i, node_driver_errmsg(m->d));
            return -1;
        }
    }
    if (moved == 0) {
        struct timespec ts = { 0, 1000000 }; /* idle: 1 ms */
        nanosleep(&ts, NULL);
    }
    return moved > 0;
}

int localnet_run_until_height(struct localnet *ln, uint64_t height, uint64_t timeout_ms,
                              char *errmsg, size_t errmsg_len)
{
    uint64_t end = localnet_now_ms() + timeout_ms;
    while (localnet_height(ln) < height) {
        if (localnet_now_ms() > end) {
            snprintf(errmsg, errmsg_len, "height %llu not reached in %llu ms",
                     (unsigned long long)height, (unsigned long long)timeout_ms);
            return LEDGER_E_NOT_FOUND;
        }
        if (turn(ln, errmsg, errmsg_len) < 0)
            return LEDGER_E_FATAL;
    }
    return 0;
}

int localnet_run_until_tx(struct localnet *ln, const uint8_t id[static LEDGER_HASH_LEN],
                          uint64_t timeout_ms, bool *out_committed, char *errmsg, size_t errmsg_len)
{
    uint64_t end = localnet_now_ms() + timeout_ms;
    bool gone = false;
    *out_committed = false;
    while (!(*out_committed = committed_everywhere(ln, id, &gone)) && !gone) {
        if (localnet_now_ms() > end) {
            snprintf(errmsg, errmsg_len, "transaction not committed in %llu ms",
                     (unsigned long long)timeout_ms);
            return LEDGER_E_NOT_FOUND;
        }
        if (turn(ln, errmsg, errmsg_len) < 0)
            return LEDGER_E_FATAL;
    }
    /* Let the messages of this round settle so every node is at the same tip. */
    for (int k = 0; k < 3 && turn(ln, errmsg, errmsg_len) > 0; k++)
        ;
    return 0;
}

void localnet_set_batch_wait(struct localnet *ln, uint64_t ms)
{
    ln->batch_wait_ms = ms;
}

void localnet_set_deaf(struct localnet *ln, unsigned i, bool deaf)
{
    ln->m[i].deaf = deaf;
}
