/* sealctl: the command table. A new command is one row here and a handler in node/sealctl_*.c. */
#include <stddef.h>

#include "node/sealctl.h"

const struct sealctl_cmd sealctl_commands[] = {
    { "keygen", sealctl_cmd_keygen, "--out FILE",
      "write a new Ed25519 key file (mode 0600; never overwrites)" },
    { "pubkey", sealctl_cmd_pubkey, "FILE", "print the public key of a key file" },
    { "testnet", sealctl_cmd_testnet,
      "--nodes N --dir DIR [--base-port P] [--chain-id ID] [--names N0,N1,...]",
      "write a local consortium: DIR/genesis.ini and DIR/node<i>/ (config, node key, admin key)" },
    { "metrics", sealctl_cmd_metrics, "",
      "print the node's metrics (Prometheus text exposition; no JSON)" },
    { NULL, NULL, NULL, NULL },
};
