/* libFuzzer harness for the /metrics responder's request classification (node/httpreq.h).
 *
 * Built and run by `make fuzz`. Any bytes must classify without reading out
 * of bounds, to one of the documented answers, and a 200 must be exactly a
 * GET of the path. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so a read past the end is caught. */
    char *req = malloc(size ? size : 1);
    if (req == NULL)
        return 0;
    memcpy(req, data, size);
    int code = node_http_classify(req, size, "/metrics");
    switch (code) {
    case 0:
        if (size >= NODE_HTTP_REQUEST_MAX)
            abort();
        break;
    case 200:
        if (size < 13 || memcmp(req, "GET /metrics", 12) != 0 || (req[12] != ' ' && req[12] != '?'))
            abort();
        break;
    case 400:
    case 404:
    case 405:
    case 431:
        break;
    default:
        abort();
    }
    free(req);
    return 0;
}
