/* sealctl: the command table. A new command is one row here and a handler in node/sealctl_*.c. */
#include <stddef.h>

#include "node/sealctl.h"

#define WAIT "[--wait]"

const struct sealctl_cmd sealctl_commands[] = {
    { "keygen", sealctl_cmd_keygen, "--out FILE",
      "write a new Ed25519 key file (mode 0600; never overwrites)" },
    { "pubkey", sealctl_cmd_pubkey, "FILE", "print the public key of a key file" },
    { "testnet", sealctl_cmd_testnet,
      "--nodes N --dir DIR [--base-port P] [--chain-id ID] [--names N0,N1,...]",
      "write a local consortium: DIR/genesis.ini and DIR/node<i>/ (config, node key, admin key)" },
    { "org register", sealctl_cmd_org_register,
      "--id ORGID --name NAME --admin PUB [--legal-rep-hash HEX] " WAIT,
      "file an organisation (备案); signed by a filing authority's admin" },
    { "seal register", sealctl_cmd_seal_register,
      "--org ORGID --type TYPE --name NAME --seal-pub PUB [--custodian PUB] [--image FILE] "
      "[--valid-from T] [--valid-to T] " WAIT,
      "register a seal (TYPE: official finance invoice contract legal-rep personal other)" },
    { "seal grant", sealctl_cmd_seal_grant,
      "--seal ID --to PUB [--expires T] [--max-uses N] [--approvers PUB,PUB,... --threshold "
      "M] " WAIT,
      "grant a user the use of a seal (silent, or with m-of-n approval)" },
    { "seal revoke-grant", sealctl_cmd_seal_revoke_grant, "--seal ID --to PUB " WAIT,
      "revoke a user's grant" },
    { "seal suspend", sealctl_cmd_seal_suspend, "--seal ID [--reason TEXT] " WAIT,
      "suspend a seal (停用/挂失)" },
    { "seal resume", sealctl_cmd_seal_resume, "--seal ID " WAIT, "resume a suspended seal" },
    { "seal destroy", sealctl_cmd_seal_destroy, "--seal ID [--reason TEXT] " WAIT,
      "destroy a seal (销毁)" },
    { "seal use", sealctl_cmd_seal_use,
      "--seal ID --seal-key FILE --doc FILE [--out SIGFILE] " WAIT,
      "seal a document (用印); writes or appends to SIGFILE (default DOC.seal) once accepted" },
    { "seal approve", sealctl_cmd_seal_approve, "--usage TX " WAIT, "approve a pending use" },
    { "seal reject", sealctl_cmd_seal_reject, "--usage TX [--reason TEXT] " WAIT,
      "reject a pending use" },
    { "status", sealctl_cmd_status, "", "the node's chain, height, view, peers and sync state" },
    { "block", sealctl_cmd_block, "HEIGHT", "a committed block and its commit certificate" },
    { "tx", sealctl_cmd_tx, "HASH", "where a committed transaction is" },
    { "org show", sealctl_cmd_org_show, "ORGID", "an organisation" },
    { "seal show", sealctl_cmd_seal_show, "ID", "a seal, its history and its grants" },
    { "usage", sealctl_cmd_usage, "--doc FILE | --doc-hash HEX", "every use of a document" },
    { "verify", sealctl_cmd_verify, "--doc FILE [--sig SIGFILE]",
      "verify a document's seal signatures (验签; exit 0 valid, 1 not)" },
    { "proof export", sealctl_cmd_proof_export, "--usage TX --out FILE",
      "write the proof bundle of an effective use" },
    { "proof verify", sealctl_cmd_proof_verify, "--genesis FILE BUNDLE",
      "check a proof bundle offline against a genesis (opens no socket)" },
    { "metrics", sealctl_cmd_metrics, "",
      "print the node's metrics (Prometheus text exposition; no JSON)" },
    { NULL, NULL, NULL, NULL },
};
