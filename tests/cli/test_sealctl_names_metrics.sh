#!/usr/bin/env bash
# Shell-level tests of sealctl testnet --names and sealctl metrics' usage and
# exit codes (its output is checked against a node in tests/integration).
# Prints cmocka-style summary lines, so tests/run counts each case.
set -u
BUILD=${BUILD:-build}
S="$BUILD/sealctl"
T=$(mktemp -d /tmp/sealctl-names.XXXXXX)
trap 'rm -rf "$T"' EXIT
unset SEALCHAIN_SOCKET

rc() {
  "$@" >"$T/out" 2>"$T/err"
  echo $?
}
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

testnet_names_go_into_genesis_in_order_and_ids_stay_agency_i() {
  want 0 "$S" --json testnet --nodes 4 --dir "$T/net" \
    --names "市场监督管理局 Market Regulation,公安局 Public Security,税务局 Taxation,银行 Bank" || return 1
  jq -e '[.nodes[].org_id] == ["agency0", "agency1", "agency2", "agency3"]' <"$T/out" >/dev/null ||
    { cat "$T/out"; return 1; }
  [ "$(grep '^org_name = ' "$T/net/genesis.ini" | cut -d' ' -f3-)" = "市场监督管理局 Market Regulation
公安局 Public Security
税务局 Taxation
银行 Bank" ] || { cat "$T/net/genesis.ini"; return 1; }
  # without --names: the contract's default
  want 0 "$S" testnet --nodes 2 --dir "$T/plain" || return 1
  grep -q "^org_name = Agency 1$" "$T/plain/genesis.ini" || return 1
}

testnet_names_of_the_wrong_count_or_empty_exit_2_and_write_nothing() {
  want 2 "$S" testnet --nodes 3 --dir "$T/n" --names "a,b" || return 1
  want 2 "$S" testnet --nodes 2 --dir "$T/n" --names "a,b,c" || return 1
  want 2 "$S" testnet --nodes 2 --dir "$T/n" --names "a," || return 1
  want 2 "$S" testnet --nodes 2 --dir "$T/n" --names ",b" || return 1
  want 2 "$S" testnet --nodes 1 --dir "$T/n" --names "$(printf 'x%.0s' $(seq 1 300))" || return 1
  [ ! -e "$T/n" ] || { echo "wrote despite a usage error"; return 1; }
}

metrics_needs_a_node_and_reports_an_unreachable_one_with_3() {
  want 2 "$S" metrics || return 1
  want 2 "$S" metrics extra --node "$T/x.sock" || return 1
  want 3 "$S" --node "$T/no.sock" metrics || return 1
  want 3 env SEALCHAIN_SOCKET="$T/no.sock" "$S" metrics || return 1
  want 0 "$S" metrics --help || return 1
  grep -q "^usage: sealctl .* metrics" "$T/out" || { cat "$T/out"; return 1; }
}

tests=(
  testnet_names_go_into_genesis_in_order_and_ids_stay_agency_i
  testnet_names_of_the_wrong_count_or_empty_exit_2_and_write_nothing
  metrics_needs_a_node_and_reports_an_unreachable_one_with_3
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
