/* sealctl metrics: the node's Prometheus text, as its /metrics endpoint serves it. */
#include <stdio.h>
#include <string.h>

#include "node/client.h"
#include "node/sealctl.h"

/* A metrics reply is small and immediate: a node that takes longer is stuck. */
#define METRICS_TIMEOUT_MS 10000

int sealctl_cmd_metrics(struct sealctl *s, int argc, char **argv)
{
    const struct sealctl_opt opts[] = { { NULL, false, NULL } };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    if (s->node == NULL || s->node[0] == '\0')
        return sealctl_usage_error(s, "no node socket: give --node or set SEALCHAIN_SOCKET");
    char err[512];
    struct node_client *c;
    if (node_client_open(s->node, &c, err, sizeof err) != 0)
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s", err);
    Sealchain__ApiRequest req = SEALCHAIN__API_REQUEST__INIT;
    Sealchain__MetricsRequest m = SEALCHAIN__METRICS_REQUEST__INIT;
    req.req_case = SEALCHAIN__API_REQUEST__REQ_METRICS;
    req.metrics = &m;
    Sealchain__ApiReply *r = NULL;
    rc = node_client_call(c, &req, METRICS_TIMEOUT_MS, &r, err, sizeof err);
    node_client_close(c);
    if (rc != 0)
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "%s", err);
    if (r->rep_case != SEALCHAIN__API_REPLY__REP_METRICS) {
        int code = r->outcome == SEALCHAIN__API_OUTCOME__API_OUTCOME_BAD_REQUEST
                       ? SEALCTL_EXIT_USAGE
                       : SEALCTL_EXIT_UNREACHABLE;
        rc = sealctl_fail(s, code, "node: %s", r->error[0] ? r->error : "no metrics in the reply");
        sealchain__api_reply__free_unpacked(r, NULL);
        return rc;
    }
    size_t len = strlen(r->metrics->text);
    rc = fwrite(r->metrics->text, 1, len, stdout) != len || fflush(stdout) != 0;
    sealchain__api_reply__free_unpacked(r, NULL);
    if (rc != 0)
        return sealctl_fail(s, SEALCTL_EXIT_UNREACHABLE, "writing the output failed");
    return SEALCTL_EXIT_OK;
}
