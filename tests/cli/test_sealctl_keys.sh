#!/usr/bin/env bash
# Shell-level tests of sealctl keygen, pubkey and testnet. Prints cmocka-style
# summary lines, so tests/run counts each case; exits non-zero on a failure.
set -u
BUILD=${BUILD:-build}
S="$BUILD/sealctl"
CHECK="$BUILD/tests/cli/check_config"
T=$(mktemp -d /tmp/sealctl-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
unset SEALCHAIN_SOCKET

# rc CMD...: runs CMD with stdout in $T/out and stderr in $T/err; prints the exit code.
rc() {
  "$@" >"$T/out" 2>"$T/err"
  echo $?
}
# want CODE CMD...: CMD must exit with CODE.
want() {
  local code=$1 got
  shift
  got=$(rc "$@")
  if [ "$got" != "$code" ]; then
    echo "'$*' exited $got, wanted $code; stderr:"
    cat "$T/err"
    return 1
  fi
}
# one_json FILTER: stdout holds exactly one JSON value and FILTER is true of it.
one_json() {
  [ "$(jq -s 'length' <"$T/out")" = 1 ] || { echo "not one JSON value:"; cat "$T/out"; return 1; }
  jq -e "$1" <"$T/out" >/dev/null || { echo "JSON fails $1:"; cat "$T/out"; return 1; }
}

keygen_writes_a_0600_key_whose_pubkey_it_prints() {
  local pk
  for mask in 022 000; do
    rm -f "$T/a.key"
    (umask $mask && "$S" --json keygen --out "$T/a.key") >"$T/out" 2>"$T/err" || return 1
    [ "$(stat -c %a "$T/a.key")" = 600 ] || { echo "mode $(stat -c %a "$T/a.key") under umask $mask"; return 1; }
    one_json '(keys == ["public_key"]) and (.public_key | test("^[0-9a-f]{64}$"))' || return 1
    pk=$(jq -r .public_key <"$T/out")
    want 0 "$S" pubkey "$T/a.key" --json || return 1
    one_json "keys == [\"public_key\"] and .public_key == \"$pk\"" || return 1
  done
  # without --json: one readable line
  want 0 "$S" pubkey "$T/a.key" || return 1
  grep -qE "^public_key +$pk$" "$T/out" || { echo "human output:"; cat "$T/out"; return 1; }
}

keygen_onto_an_existing_file_exits_2_and_leaves_it() {
  echo precious >"$T/b.key"
  want 2 "$S" keygen --out "$T/b.key" || return 1
  grep -q "never overwritten" "$T/err" || { cat "$T/err"; return 1; }
  [ "$(cat "$T/b.key")" = precious ] || { echo "file changed"; return 1; }
  [ ! -s "$T/out" ] || { echo "stdout not empty"; return 1; }
}

pubkey_of_a_key_file_open_to_others_is_refused() {
  "$S" keygen --out "$T/c.key" >/dev/null || return 1
  for mode in 644 640 604; do
    chmod $mode "$T/c.key"
    want 2 "$S" pubkey "$T/c.key" || return 1
    grep -q "has mode 0$mode; must be 0600 or stricter: chmod 600 $T/c.key" "$T/err" ||
      { cat "$T/err"; return 1; }
  done
}

pubkey_of_a_missing_or_malformed_file_exits_2() {
  want 2 "$S" pubkey "$T/none.key" || return 1
  printf 'ed25519-seed %064d\n' 0 >"$T/d.key"
  chmod 600 "$T/d.key"
  want 0 "$S" pubkey "$T/d.key" || return 1
  printf 'ed25519-seed %064d\n\n' 0 >"$T/d.key"
  want 2 "$S" pubkey "$T/d.key" || return 1
  grep -q "trailing bytes" "$T/err" || { cat "$T/err"; return 1; }
  printf 'ed25519-seed %063d\n' 0 >"$T/d.key"
  want 2 "$S" pubkey "$T/d.key" || return 1
  grep -q "63 hex digits" "$T/err" || { cat "$T/err"; return 1; }
}

testnet_writes_configs_a_node_can_load() {
  want 0 "$S" testnet --nodes 4 --dir "$T/net" --base-port 31000 --chain-id cli-test || return 1
  for i in 0 1 2 3; do
    "$CHECK" "$T/net/node$i/node.ini" >"$T/check" 2>&1 || { cat "$T/check"; return 1; }
    grep -q "validator $i of 4, listen 127.0.0.1:$((31000 + i)), 3 peers" "$T/check" ||
      { cat "$T/check"; return 1; }
    grep -q "^$(( (i + 1) % 4 )) = 127.0.0.1:$((31000 + (i + 1) % 4))$" "$T/net/node$i/node.ini" ||
      { cat "$T/net/node$i/node.ini"; return 1; }
    for f in node.key admin.key; do
      [ "$(stat -c %a "$T/net/node$i/$f")" = 600 ] || { echo "$f mode"; return 1; }
    done
  done
  grep -q "^id = cli-test$" "$T/net/genesis.ini" || return 1
  # admin.key of node i is the filing authority of validator i
  local admin
  admin=$("$S" --json pubkey "$T/net/node2/admin.key" | jq -r .public_key)
  awk '/^\[validator.2\]/{v=1} v && /^admin_key/{print $3; exit}' "$T/net/genesis.ini" | grep -qx "$admin" ||
    { echo "admin key of node2 not in [validator.2]"; return 1; }
}

testnet_json_has_exactly_the_contract_fields() {
  want 0 "$S" --json testnet --nodes 3 --dir "$T/net3" || return 1
  one_json '(keys == ["genesis", "nodes"]) and (.nodes | length == 3) and
    all(.nodes[]; keys == ["admin_key", "config", "org_id", "socket"]) and
    ([.nodes[].org_id] == ["agency0", "agency1", "agency2"])' || return 1
  local g s
  g=$(jq -r .genesis <"$T/out")
  s=$(jq -r '.nodes[1].socket' <"$T/out")
  [ -f "$g" ] && [ "$s" = "$(cd "$T/net3" && pwd)/node1/node.sock" ] || { cat "$T/out"; return 1; }
  grep -q "listen = 127.0.0.1:26601" "$T/net3/node1/node.ini" || return 1
  # a second run into the same directory never overwrites
  want 2 "$S" testnet --nodes 3 --dir "$T/net3" || return 1
}

bad_arguments_exit_2() {
  want 2 "$S" || return 1
  want 2 "$S" frobnicate || return 1
  want 2 "$S" --bogus keygen --out "$T/x.key" || return 1
  want 2 "$S" keygen || return 1
  want 2 "$S" keygen --out || return 1
  want 2 "$S" keygen --out "$T/x.key" --colour red || return 1
  want 2 "$S" keygen --out "$T/x.key" extra || return 1
  want 2 "$S" pubkey || return 1
  want 2 "$S" pubkey "$T/a" "$T/b" || return 1
  want 2 "$S" testnet --dir "$T/n" || return 1
  want 2 "$S" testnet --nodes 4 || return 1
  want 2 "$S" testnet --nodes 0 --dir "$T/n" || return 1
  want 2 "$S" testnet --nodes 65 --dir "$T/n" || return 1
  want 2 "$S" testnet --nodes 4x --dir "$T/n" || return 1
  want 2 "$S" testnet --nodes 2 --dir "$T/n" --base-port 65535 || return 1
  want 2 "$S" testnet --nodes 2 --dir "$T/n" --base-port 0 || return 1
  want 2 "$S" testnet --nodes 2 --nodes 3 --dir "$T/n" || return 1
  want 2 "$S" testnet --nodes 2 --dir "$T/n" --chain-id "bad id " || return 1
  want 2 "$S" testnet --nodes 2 --dir "$T/no/such/parent" || return 1
  local long="$T/$(printf 'd%.0s' $(seq 1 100))"
  want 2 "$S" testnet --nodes 2 --dir "$long" || return 1
  grep -q "Unix socket" "$T/err" || { cat "$T/err"; return 1; }
  [ ! -e "$T/x.key" ] && [ ! -e "$T/n/genesis.ini" ] || { echo "wrote despite a usage error"; return 1; }
}

help_on_every_command_exits_0_with_its_usage() {
  want 0 "$S" --help || return 1
  for cmd in keygen pubkey testnet; do
    grep -q "^  $cmd " "$T/out" || { echo "$cmd not listed"; return 1; }
  done
  for cmd in keygen pubkey testnet; do
    want 0 "$S" "$cmd" --help || return 1
    grep -q "^usage: sealctl .* $cmd" "$T/out" || { cat "$T/out"; return 1; }
  done
}

tests=(
  keygen_writes_a_0600_key_whose_pubkey_it_prints
  keygen_onto_an_existing_file_exits_2_and_leaves_it
  pubkey_of_a_key_file_open_to_others_is_refused
  pubkey_of_a_missing_or_malformed_file_exits_2
  testnet_writes_configs_a_node_can_load
  testnet_json_has_exactly_the_contract_fields
  bad_arguments_exit_2
  help_on_every_command_exits_0_with_its_usage
)
passed=0
failed=()
echo "[==========] Running ${#tests[@]} test(s)."
for t in "${tests[@]}"; do
  echo "[ RUN      ] $t"
  if "$t" >"$T/log" 2>&1; then
    echo "[       OK ] $t"
    passed=$((passed + 1))
  else
    sed 's/^/    /' "$T/log"
    echo "[  FAILED  ] $t"
    failed+=("$t")
  fi
done
echo "[==========] ${#tests[@]} test(s) run."
echo "[  PASSED  ] $passed test(s)."
if [ ${#failed[@]} -gt 0 ]; then
  echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
  for t in "${failed[@]}"; do echo "[  FAILED  ] $t"; done
  exit 1
fi
