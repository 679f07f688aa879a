/* sealctl keygen and pubkey: Ed25519 key files (node/keyfile.h). */
#include "ledger/crypto.h"
#include "node/keyfile.h"
#include "node/sealctl.h"

static json_t *public_key_json(const uint8_t pk[static LEDGER_KEY_LEN])
{
    char hex[2 * LEDGER_KEY_LEN + 1];
    ledger_hex(pk, LEDGER_KEY_LEN, hex);
    return json_pack("{s:s}", "public_key", hex);
}

int sealctl_cmd_keygen(struct sealctl *s, int argc, char **argv)
{
    const char *out = NULL;
    const struct sealctl_opt opts[] = { { "out", true, &out }, { NULL, false, NULL } };
    int rc = sealctl_args(s, argc, argv, opts, NULL, 0, 0, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    if (out == NULL || *out == '\0')
        return sealctl_usage_error(s, "--out FILE is required");
    struct node_key k = { .sk = NULL };
    char err[512];
    if ((rc = node_key_generate(&k)) != 0)
        return sealctl_fail(s, sealctl_exit_for_config_err(rc), "%s", node_strerror(rc));
    rc = node_keyfile_write(out, &k, err, sizeof(err));
    if (rc != 0) {
        node_key_close(&k);
        return sealctl_fail(s, sealctl_exit_for_config_err(rc), "%s", err);
    }
    json_t *obj = public_key_json(k.pk);
    node_key_close(&k);
    return sealctl_print(s, obj, NULL);
}

int sealctl_cmd_pubkey(struct sealctl *s, int argc, char **argv)
{
    const char *path = NULL;
    const struct sealctl_opt opts[] = { { NULL, false, NULL } };
    int rc = sealctl_args(s, argc, argv, opts, &path, 1, 1, NULL);
    if (rc != SEALCTL_GO)
        return rc;
    struct node_key k = { .sk = NULL };
    char err[512];
    rc = node_keyfile_read(path, &k, err, sizeof(err));
    if (rc != 0)
        return sealctl_fail(s, sealctl_exit_for_config_err(rc), "%s", err);
    json_t *obj = public_key_json(k.pk);
    node_key_close(&k);
    return sealctl_print(s, obj, NULL);
}
