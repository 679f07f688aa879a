/* Quorum arithmetic, vote counting and certificate checks: the one place q is computed. */
#include <string.h>

#include "consensus/internal.h"

unsigned pbft_faults(unsigned n)
{
    return n == 0 ? 0 : (n - 1) / 3;
}

/*
 * Castro & Liskov need any two quorums to share a correct replica. With
 * n >= 3f+1 and q = ceil((n+f+1)/2), two quorums share 2q-n >= f+1 replicas,
 * so at least one is correct; and q <= n-f, so the correct replicas alone form
 * a quorum (liveness). n = 3f+1 gives the familiar 2f+1.
 */
unsigned pbft_quorum(unsigned n)
{
    unsigned q = (n + pbft_faults(n) + 1 + 1) / 2;
#if defined(PBFT_MUTANT_QUORUM) && PBFT_MUTANT_QUORUM
    /* Deliberately broken for the simulator's mutant check: never build this for real. */
    if (q > 1) {
        q--;
    }
#endif
    return q;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

void pbft_vote_payload(uint64_t height, uint64_t view, const uint8_t digest[PBFT_DIGEST_SIZE],
                       uint8_t out[PBFT_VOTE_PAYLOAD_SIZE])
{
    put_be64(out, height);
    put_be64(out + 8, view);
    memcpy(out + 16, digest, PBFT_DIGEST_SIZE);
}

int pbft__sigset_verify(const struct pbft_crypto *c, unsigned n, enum pbft_sig_kind kind,
                        const struct pbft_cert *cert)
{
    uint8_t payload[PBFT_VOTE_PAYLOAD_SIZE];

    if (cert->height == 0 || cert->count < pbft_quorum(n) || cert->count > n) {
        return PBFT_ERR_BAD_CERT;
    }
    pbft_vote_payload(cert->height, cert->view, cert->digest, payload);
    for (unsigned i = 0; i < cert->count; i++) {
        if (cert->signers[i] >= n || (i > 0 && cert->signers[i] <= cert->signers[i - 1])) {
            return PBFT_ERR_BAD_CERT;
        }
        if (!c->verify(c->ctx, kind, cert->signers[i], payload, sizeof(payload), cert->sigs[i])) {
            return PBFT_ERR_BAD_CERT;
        }
    }
    return 0;
}

int pbft_cert_verify(const struct pbft_crypto *crypto, unsigned n, const struct pbft_cert *cert)
{
    if (crypto == NULL || cert == NULL || n == 0 || n > PBFT_MAX_N) {
        return PBFT_ERR_BAD_CERT;
    }
    return pbft__sigset_verify(crypto, n, PBFT_SIG_COMMIT, cert);
}

unsigned pbft__vote_count(const struct pbft *r, const struct pbft__vote *votes, uint64_t view,
                          const uint8_t digest[PBFT_DIGEST_SIZE])
{
    unsigned count = 0;
    for (unsigned i = 0; i < r->n; i++) {
        if (votes[i].has && votes[i].view == view &&
            memcmp(votes[i].digest, digest, PBFT_DIGEST_SIZE) == 0) {
            count++;
        }
    }
    return count;
}

bool pbft__vote_quorum(const struct pbft *r, const struct pbft__vote *votes, uint64_t min_view,
                       struct pbft_cert *out)
{
    for (unsigned i = 0; i < r->n; i++) {
        const struct pbft__vote *v = &votes[i];
        if (!v->has || v->view < min_view ||
            pbft__vote_count(r, votes, v->view, v->digest) < r->q) {
            continue;
        }
        out->view = v->view;
        memcpy(out->digest, v->digest, PBFT_DIGEST_SIZE);
        out->count = 0;
        for (unsigned j = 0; j < r->n; j++) {
            if (votes[j].has && votes[j].view == v->view &&
                memcmp(votes[j].digest, v->digest, PBFT_DIGEST_SIZE) == 0) {
                out->signers[out->count] = (uint16_t)j;
                memcpy(out->sigs[out->count], votes[j].sig, PBFT_SIG_SIZE);
                out->count++;
            }
        }
        return true;
    }
    return false;
}
