/* One sealchaind process: --dev, config errors, signals, the operator socket under abuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ledger/err.h"
#include "ledger/genesis.h"
#include "ledger/tx.h"
#include "ledger/txbuild.h"
#include "node/client.h"
#include "node/keyfile.h"
#include "tests/integration/cluster.h"

struct dev {
    char dir[128];
    char sock[200];
    pid_t pid;
    char build[128];
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static int status_ok(const char *sock)
{
    struct node_client *cl;
    char err[256];
    if (node_client_open(sock, &cl, err, sizeof err) != 0)
        return -1;
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__StatusRequest s = SEALCHAIN__STATUS_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_STATUS;
    req.status = &s;
    Sealchain__ApiReply *r;
    int rc = node_client_call(cl, &req, 5000, &r, err, sizeof err);
    node_client_close(cl);
    if (rc == 0) {
        rc = r->rep_case == SEALCHAIN__API_REPLY__REP_STATUS ? 0 : -1;
        sealchain__api_reply__free_unpacked(r, NULL);
    }
    return rc;
}

static int dev_setup(void **state)
{
    struct dev *d = calloc(1, sizeof *d);
    const char *b = getenv("BUILD");
    snprintf(d->build, sizeof d->build, "%s", b && *b ? b : "build");
    snprintf(d->dir, sizeof d->dir, "/tmp/sealchain-dev-XXXXXX");
    if (mkdtemp(d->dir) == NULL)
        return -1;
    snprintf(d->sock, sizeof d->sock, "%s/node.sock", d->dir);
    char bin[256], log[256];
    snprintf(bin, sizeof bin, "%s/sealchaind", d->build);
    snprintf(log, sizeof log, "%s/log", d->dir);
    char *argv[] = { bin, "--dev", "--data", d->dir, NULL };
    d->pid = cluster_spawn(log, argv);
    for (int i = 0; i < 400 && status_ok(d->sock) != 0; i++)
        sleep_ms(50);
    *state = d;
    return 0;
}

static int dev_teardown(void **state)
{
    struct dev *d = *state;
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
    }
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
    if (system(cmd) != 0)
        return -1;
    free(d);
    return 0;
}

static void submit_seal(struct dev *d, bool wait, char status[16])
{
    char path[256], err[512];
    struct ledger_genesis g;
    snprintf(path, sizeof path, "%s/genesis.ini", d->dir);
    assert_int_equal(ledger_genesis_load(path, &g, err, sizeof err), 0);
    struct node_key admin;
    snprintf(path, sizeof path, "%s/admin.key", d->dir);
    assert_int_equal(node_keyfile_read(path, &admin, err, sizeof err), 0);
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    struct ledger_txb_seal p = {
        .org_id = g.validators[0].org_id,
        .type = SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OTHER,
        .name = "dev seal",
        .seal_key = pk,
    };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint8_t *tx;
    size_t len;
    assert_int_equal(
        ledger_txb_seal_register(&g, admin.sk, (uint64_t)ts.tv_sec * 1000 + 3600000, &p, &tx, &len),
        0);
    node_key_close(&admin);
    struct node_client *cl;
    assert_int_equal(node_client_open(d->sock, &cl, err, sizeof err), 0);
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SubmitRequest s = SEALCHAIN__SUBMIT_REQUEST__INIT;
    s.tx.data = tx;
    s.tx.len = len;
    s.wait = wait;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
    req.submit = &s;
    Sealchain__ApiReply *r;
    assert_int_equal(node_client_call(cl, &req, 35000, &r, err, sizeof err), 0);
    assert_int_equal(r->rep_case, SEALCHAIN__API_REPLY__REP_SUBMIT);
    snprintf(status, 16, "%s", r->submit->status);
    sealchain__api_reply__free_unpacked(r, NULL);
    node_client_close(cl);
    free(tx);
}

static void dev_mode_commits_alone(void **state)
{
    struct dev *d = *state;
    assert_int_equal(status_ok(d->sock), 0);
    char st[16];
    submit_seal(d, true, st);
    assert_string_equal(st, "committed");
    struct stat sb;
    assert_int_equal(stat(d->sock, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0660);
}

static void sigterm_stops_the_node_cleanly(void **state)
{
    struct dev *d = *state;
    assert_int_equal(status_ok(d->sock), 0);
    assert_int_equal(kill(d->pid, SIGTERM), 0);
    int st;
    assert_int_equal(waitpid(d->pid, &st, 0), d->pid);
    d->pid = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    struct stat sb;
    assert_int_not_equal(stat(d->sock, &sb), 0); /* the socket file is gone */
}

/* Raw bytes on the socket; returns the fd. */
static int raw_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void a_garbage_request_gets_an_error_reply(void **state)
{
    struct dev *d = *state;
    int fd = raw_connect(d->sock);
    uint8_t msg[] = { 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff };
    assert_int_equal(write(fd, msg, sizeof msg), (ssize_t)sizeof msg);
    uint8_t hdr[4];
    assert_int_equal(read(fd, hdr, 4), 4);
    size_t len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    uint8_t buf[4096];
    assert_true(len < sizeof buf);
    assert_int_equal(read(fd, buf, len), (ssize_t)len);
    Sealchain__ApiReply *r = sealchain__api_reply__unpack(NULL, len, buf);
    assert_non_null(r);
    assert_int_equal(r->outcome, SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST);
    assert_true(strlen(r->error) > 0);
    sealchain__api_reply__free_unpacked(r, NULL);
    close(fd);
    assert_int_equal(status_ok(d->sock), 0);
}

static void a_huge_length_prefix_drops_only_that_client(void **state)
{
    struct dev *d = *state;
    int idle = raw_connect(d->sock); /* another client, connected and silent */
    int fd = raw_connect(d->sock);
    uint8_t msg[] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3 };
    assert_int_equal(write(fd, msg, sizeof msg), (ssize_t)sizeof msg);
    uint8_t b;
    assert_int_equal(read(fd, &b, 1), 0); /* closed on us */
    close(fd);
    /* a truncated frame, then the client goes away */
    fd = raw_connect(d->sock);
    uint8_t part[] = { 0, 0, 0, 100, 1, 2 };
    assert_int_equal(write(fd, part, sizeof part), (ssize_t)sizeof part);
    close(fd);
    assert_int_equal(status_ok(d->sock), 0);
    char st[16];
    submit_seal(d, true, st);
    assert_string_equal(st, "committed");
    close(idle);
}

/* One query; returns its reply (owned by the caller). */
static Sealchain__ApiReply *ask(struct dev *d, Sealchain__ApiRequest *req)
{
    struct node_client *cl;
    char err[256];
    assert_int_equal(node_client_open(d->sock, &cl, err, sizeof err), 0);
    Sealchain__ApiReply *r;
    assert_int_equal(node_client_call(cl, req, 5000, &r, err, sizeof err), 0);
    node_client_close(cl);
    return r;
}

static void expect(struct dev *d, Sealchain__ApiRequest *req, Sealchain__ApiOutcome outcome)
{
    Sealchain__ApiReply *r = ask(d, req);
    assert_int_equal(r->outcome, outcome);
    if (outcome != SEALCHAIN__API_OUTCOME__API_OUTCOME_OK)
        assert_true(strlen(r->error) > 0);
    sealchain__api_reply__free_unpacked(r, NULL);
}

/* Every query with wrong-sized or missing fields is answered (bad request or
 * not found) and the node goes on serving; a verify of garbage is a negative
 * verdict, not an error. */
static void queries_with_bad_fields_are_answered(void **state)
{
    struct dev *d = *state;
    const Sealchain__ApiOutcome bad = SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST,
                                refused = SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED;
    static uint8_t zeros[64], big[900 * 1024];
    char long_id[200];
    memset(long_id, 'A', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    expect(d, &req, bad); /* no request at all */
    Sealchain__SealRequest sq = SEALCHAIN__SEAL_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_SEAL;
    req.seal = &sq;
    sq.seal_id = (ProtobufCBinaryData){ 5, zeros };
    expect(d, &req, bad);
    sq.seal_id = (ProtobufCBinaryData){ 32, zeros };
    expect(d, &req, refused);
    Sealchain__OrgRequest oq = SEALCHAIN__ORG_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_ORG;
    req.org = &oq;
    expect(d, &req, bad); /* empty id */
    oq.org_id = long_id;
    expect(d, &req, bad);
    oq.org_id = "91350100M000100Y43";
    expect(d, &req, refused);
    Sealchain__UsageRequest uq = SEALCHAIN__USAGE_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_USAGE;
    req.usage = &uq;
    expect(d, &req, bad); /* neither */
    uq.doc_hash = uq.usage = (ProtobufCBinaryData){ 32, zeros };
    expect(d, &req, bad); /* both */
    uq.usage = (ProtobufCBinaryData){ 0, NULL };
    expect(d, &req, SEALCHAIN__API_OUTCOME__API_OUTCOME_OK); /* no uses of it */
    uq.doc_hash = (ProtobufCBinaryData){ 0, NULL };
    uq.usage = (ProtobufCBinaryData){ 31, zeros };
    expect(d, &req, bad);
    Sealchain__ProofRequest pq = SEALCHAIN__PROOF_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_PROOF;
    req.proof = &pq;
    pq.usage = (ProtobufCBinaryData){ 64, zeros };
    expect(d, &req, bad);
    pq.usage = (ProtobufCBinaryData){ 32, zeros };
    expect(d, &req, refused);
    Sealchain__BlockRequest bq = SEALCHAIN__BLOCK_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_BLOCK;
    req.block = &bq;
    bq.height = UINT64_MAX;
    expect(d, &req, refused);
    Sealchain__VerifyRequest vq = SEALCHAIN__VERIFY_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_VERIFY;
    req.verify = &vq;
    vq.doc_hash = (ProtobufCBinaryData){ 3, zeros };
    expect(d, &req, bad);
    vq.doc_hash = (ProtobufCBinaryData){ 32, zeros };
    for (int i = 0; i < 2; i++) { /* nothing, then 900 KiB of garbage */
        vq.sigfile =
            i == 0 ? (ProtobufCBinaryData){ 0, NULL } : (ProtobufCBinaryData){ sizeof big, big };
        memset(big, 0x5a, sizeof big);
        Sealchain__ApiReply *r = ask(d, &req);
        assert_int_equal(r->outcome, SEALCHAIN__API_OUTCOME__API_OUTCOME_OK);
        assert_int_equal(r->rep_case, SEALCHAIN__API_REPLY__REP_VERIFY);
        assert_false(r->verify->valid);
        assert_int_equal(r->verify->n_signatures, 0);
        assert_true(r->verify->n_reasons >= 1);
        sealchain__api_reply__free_unpacked(r, NULL);
    }
    assert_int_equal(status_ok(d->sock), 0);
}

/* Submits tx and returns the reply (owned by the caller). */
static Sealchain__ApiReply *submit_raw(struct dev *d, const uint8_t *tx, size_t len)
{
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SubmitRequest s = SEALCHAIN__SUBMIT_REQUEST__INIT;
    s.tx = (ProtobufCBinaryData){ len, (uint8_t *)tx };
    s.wait = true;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_SUBMIT;
    req.submit = &s;
    return ask(d, &req);
}

static void expect_refusal(struct dev *d, const uint8_t *tx, size_t len, int code)
{
    Sealchain__ApiReply *r = submit_raw(d, tx, len);
    assert_int_equal(r->outcome, SEALCHAIN__API_OUTCOME__API_OUTCOME_REFUSED);
    assert_int_equal(r->code, code);
    assert_true(strlen(r->error) > 0);
    sealchain__api_reply__free_unpacked(r, NULL);
}

/* The refusals of the contract that sealctl never sends (it checks the
 * credit code first, and builds every tx fresh, valid for an hour): the
 * node gives them too. */
static void the_node_refuses_a_bad_credit_code_a_duplicate_and_an_expired_tx(void **state)
{
    struct dev *d = *state;
    char path[256], err[512];
    struct ledger_genesis g;
    snprintf(path, sizeof path, "%s/genesis.ini", d->dir);
    assert_int_equal(ledger_genesis_load(path, &g, err, sizeof err), 0);
    struct node_key admin;
    snprintf(path, sizeof path, "%s/admin.key", d->dir);
    assert_int_equal(node_keyfile_read(path, &admin, err, sizeof err), 0);
    uint8_t pk[32], sk[64], *tx;
    size_t len;
    crypto_sign_keypair(pk, sk);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000;
    assert_int_equal(ledger_txb_org_register(&g, admin.sk, now + 3600000, "91350100M000100Y44",
                                             "bad code", pk, NULL, &tx, &len),
                     0);
    expect_refusal(d, tx, len, LEDGER_E_BAD_CREDIT_CODE);
    free(tx);
    assert_int_equal(ledger_txb_org_register(&g, admin.sk, now - 60000, "91350100M000100Y43",
                                             "expired", pk, NULL, &tx, &len),
                     0);
    expect_refusal(d, tx, len, LEDGER_E_EXPIRED_TX);
    free(tx);
    assert_int_equal(ledger_txb_org_register(&g, admin.sk, now + 3600000, "91350100M000100Y43",
                                             "once", pk, NULL, &tx, &len),
                     0);
    Sealchain__ApiReply *r = submit_raw(d, tx, len);
    assert_int_equal(r->rep_case, SEALCHAIN__API_REPLY__REP_SUBMIT);
    assert_string_equal(r->submit->status, "committed");
    sealchain__api_reply__free_unpacked(r, NULL);
    expect_refusal(d, tx, len, LEDGER_E_DUPLICATE_TX);
    free(tx);
    node_key_close(&admin);
}

/* A seal suspended and resumed 1,100 times: `seal show` sends the
 * registration and the latest 999 entries, and says how many it left out. */
static void a_long_seal_history_is_sent_bounded(void **state)
{
    struct dev *d = *state;
    char path[256], err[512];
    struct ledger_genesis g;
    snprintf(path, sizeof path, "%s/genesis.ini", d->dir);
    assert_int_equal(ledger_genesis_load(path, &g, err, sizeof err), 0);
    struct node_key admin;
    snprintf(path, sizeof path, "%s/admin.key", d->dir);
    assert_int_equal(node_keyfile_read(path, &admin, err, sizeof err), 0);
    uint8_t pk[32], sk[64], seal[32], prev[32], *tx;
    size_t len;
    crypto_sign_keypair(pk, sk);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t until = (uint64_t)ts.tv_sec * 1000 + 3600000;
    struct ledger_txb_seal p = { .org_id = g.validators[0].org_id,
                                 .type = SEALCHAIN__SEAL_TYPE__SEAL_TYPE_OTHER,
                                 .name = "busy seal",
                                 .seal_key = pk };
    assert_int_equal(ledger_txb_seal_register(&g, admin.sk, until, &p, &tx, &len), 0);
    enum { ENTRIES = 1100 };
    for (int i = 0; i <= ENTRIES; i++) {
        if (i > 0 && i % 2 == 1)
            assert_int_equal(ledger_txb_suspend(&g, admin.sk, until, seal, prev, NULL, &tx, &len),
                             0);
        else if (i > 0)
            assert_int_equal(ledger_txb_resume(&g, admin.sk, until, seal, prev, &tx, &len), 0);
        assert_int_equal(ledger_tx_id(tx, len, prev), 0);
        if (i == 0)
            memcpy(seal, prev, 32);
        Sealchain__ApiReply *r = submit_raw(d, tx, len);
        assert_int_equal(r->outcome, SEALCHAIN__API_OUTCOME__API_OUTCOME_OK);
        sealchain__api_reply__free_unpacked(r, NULL);
        free(tx);
    }
    node_key_close(&admin);
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__SealRequest sq = SEALCHAIN__SEAL_REQUEST__INIT;
    sq.seal_id = (ProtobufCBinaryData){ 32, seal };
    req.req_case = SEALCHAIN__API_REQUEST__REQ_SEAL;
    req.seal = &sq;
    Sealchain__ApiReply *r = ask(d, &req);
    assert_int_equal(r->rep_case, SEALCHAIN__API_REPLY__REP_SEAL);
    Sealchain__SealReply *s = r->seal;
    assert_int_equal(s->n_history, 1000);
    assert_int_equal(s->history_omitted, ENTRIES + 1 - 1000);
    assert_int_equal(s->history[0]->action, SEALCHAIN__HISTORY_ACTION__HISTORY_ACTION_REGISTER);
    assert_memory_equal(s->history[999]->tx.data, prev, 32); /* the latest */
    assert_memory_equal(s->seal->last_history_tx.data, prev, 32);
    assert_true(s->history[1]->height > s->history[0]->height + 1);
    sealchain__api_reply__free_unpacked(r, NULL);
}

static void a_stale_socket_file_is_replaced(void **state)
{
    struct dev *d = *state;
    /* Kill without a clean stop: the socket file stays behind. */
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    struct stat sb;
    assert_int_equal(stat(d->sock, &sb), 0);
    char bin[256], log[256];
    snprintf(bin, sizeof bin, "%s/sealchaind", d->build);
    snprintf(log, sizeof log, "%s/log", d->dir);
    char *argv[] = { bin, "--dev", "--data", d->dir, NULL };
    d->pid = cluster_spawn(log, argv);
    int ok = -1;
    for (int i = 0; i < 400 && (ok = status_ok(d->sock)) != 0; i++)
        sleep_ms(50);
    assert_int_equal(ok, 0);
    char st[16];
    submit_seal(d, true, st);
    assert_string_equal(st, "committed");
}

/* Runs sealchaind --config on text; returns the exit status and its stderr. */
static int run_with_config(const char *text, char *out, size_t out_len)
{
    char dir[] = "/tmp/sealchain-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cfg[128], log[128];
    snprintf(cfg, sizeof cfg, "%s/node.ini", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    const char *b = getenv("BUILD");
    char bin[256];
    snprintf(bin, sizeof bin, "%s/sealchaind", b && *b ? b : "build");
    char *argv[] = { bin, "--config", cfg, NULL };
    pid_t pid = cluster_spawn(log, argv);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    f = fopen(log, "r");
    size_t n = f ? fread(out, 1, out_len - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void a_bad_config_names_file_and_line_and_exits_2(void **state)
{
    (void)state;
    char out[2048];
    int rc =
        run_with_config("[node]\ndata_dir = data\nlisten = 127.0.0.1:99999\n", out, sizeof out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "node.ini:3:"));
    rc = run_with_config("[node]\nbogus = 1\n", out, sizeof out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "node.ini:2:"));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dev_mode_commits_alone, dev_setup, dev_teardown),
        cmocka_unit_test_setup_teardown(sigterm_stops_the_node_cleanly, dev_setup, dev_teardown),
        cmocka_unit_test_setup_teardown(a_garbage_request_gets_an_error_reply, dev_setup,
                                        dev_teardown),
        cmocka_unit_test_setup_teardown(a_huge_length_prefix_drops_only_that_client, dev_setup,
                                        dev_teardown),
        cmocka_unit_test_setup_teardown(queries_with_bad_fields_are_answered, dev_setup,
                                        dev_teardown),
        cmocka_unit_test_setup_teardown(
            the_node_refuses_a_bad_credit_code_a_duplicate_and_an_expired_tx, dev_setup,
            dev_teardown),
        cmocka_unit_test_setup_teardown(a_long_seal_history_is_sent_bounded, dev_setup,
                                        dev_teardown),
        cmocka_unit_test_setup_teardown(a_stale_socket_file_is_replaced, dev_setup, dev_teardown),
        cmocka_unit_test(a_bad_config_names_file_and_line_and_exits_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
