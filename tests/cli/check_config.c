/* Test tool: loads node configs and the genesis each names, as sealchaind would; exit 0 when all
 * load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/crypto.h"
#include "ledger/genesis.h"
#include "node/config.h"
#include "node/keyfile.h"

/* Prints "CONFIG: node key is validator I of N, listen HOST:PORT, P peers"
 * for each config, or the first error on stderr (exit 1). The node key must
 * be in the genesis, as the daemon will require. */
static int check(const char *path, struct node_config *c, struct ledger_genesis *g)
{
    char err[8192];
    if (node_config_load(path, c, err, sizeof(err)) != 0 ||
        ledger_genesis_load(c->genesis, g, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct node_key k = { .sk = NULL };
    if (node_keyfile_read(c->key_file, &k, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int self = -1;
    for (uint32_t i = 0; i < g->n; i++)
        if (memcmp(g->validators[i].node_key, k.pk, LEDGER_KEY_LEN) == 0)
            self = (int)i;
    node_key_close(&k);
    if (self < 0) {
        fprintf(stderr, "%s: node key is not a validator of %s\n", path, c->genesis);
        return 1;
    }
    int peers = 0;
    for (int i = 0; i < LEDGER_MAX_VALIDATORS; i++)
        peers += c->peers[i].host[0] != '\0';
    char addr[NODE_ADDR_STR_MAX];
    node_addr_format(&c->listen, addr);
    printf("%s: node key is validator %d of %u, listen %s, %d peers\n", path, self, g->n, addr,
           peers);
    return 0;
}

int main(int argc, char **argv)
{
    struct node_config *c = malloc(sizeof(*c));
    struct ledger_genesis *g = malloc(sizeof(*g));
    int rc = c == NULL || g == NULL || ledger_crypto_init() != 0 || argc < 2;
    for (int i = 1; rc == 0 && i < argc; i++)
        rc = check(argv[i], c, g);
    free(c);
    free(g);
    return rc;
}
