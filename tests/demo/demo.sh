#!/usr/bin/env bash
# make demo: four agencies' sealchaind processes on 127.0.0.1 doing a day of seal work through sealctl.
#
#   tests/demo/demo.sh [DIR]      (default $BUILD/demo; must not exist yet)
#
# Every step is a real sealctl command, printed before its outcome. The demo
# exits 1 as soon as a step does not behave as narrated (or when this sealctl
# lacks a command the story needs), 2 on bad usage. Every node it starts
# is stopped by PID on the way out, whatever happens; the consortium's
# directory stays, and the last lines say how to start it again.
set -u -o pipefail

BUILD=${BUILD:-build}
DIR=${1:-$BUILD/demo}
SEALCTL=$(realpath "$BUILD/sealctl" 2>/dev/null)
SEALCHAIND=$(realpath "$BUILD/sealchaind" 2>/dev/null)
# A --wait gives up after 30 s (CONTRACT.md); a view change needs a request
# time-out (5 s) and a view-change round, well inside it.
CATCH_UP_S=60

for b in "$SEALCTL" "$SEALCHAIND"; do
  [ -x "$b" ] || { echo "demo: $BUILD/sealctl and $BUILD/sealchaind must be built (make)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "demo: jq is needed (make deps)" >&2; exit 2; }

# The story needs these commands (CONTRACT.md): say so at once if one is missing.
missing=()
help=$("$SEALCTL" --help)
for c in status block usage verify metrics "org register" "seal register" "seal grant" \
  "seal revoke-grant" "seal suspend" "seal resume" "seal use" "seal approve" "seal show" \
  "proof export" "proof verify"; do
  grep -q "^  $c " <<<"$help" || missing+=("$c")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "demo: this sealctl lacks: $(printf '"%s" ' "${missing[@]}")" >&2
  exit 1
fi

if [ -e "$DIR" ]; then
  echo "demo: $DIR exists; give a fresh directory (or remove it)" >&2
  exit 2
fi
mkdir -p "$(dirname "$DIR")" || exit 2

# ---- presentation ------------------------------------------------------------------

STEP=0
heading() {
  STEP=$((STEP + 1))
  printf '\n== %d. %s\n' "$STEP" "$*"
}
say() { printf '   %s\n' "$*"; }

# An argument as a reader would type it: quoted only when it must be.
quote() {
  if [ "$1" = "&" ] || [ "$1" = "|" ]; then
    printf '%s' "$1"
  elif [[ $1 =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}
show() {
  local out="   \$" a
  for a in "$@"; do out+=" $(quote "$a")"; done
  printf '%s\n' "$out"
}

# Hex ids shortened to 12 digits, so outcomes fit on a line.
SHORT='walk(if type == "string" and test("^[0-9a-f]{64}$") then .[0:12] + "…" else . end)'

unexpected() {
  printf '   !! UNEXPECTED: %s\n' "$*"
  exit 1
}

# x WANT ARGS...: runs `sealctl --json ARGS...` (printed first); its stdout
# is in $OUT. The demo stops unless the exit code is WANT.
OUT=""
x() {
  local want=$1 rc
  shift
  show sealctl --json "$@"
  "$SEALCTL" --json "$@" >"$W/out" 2>"$W/err"
  rc=$?
  OUT=$(cat "$W/out")
  if [ -s "$W/out" ]; then
    printf '   → %s\n' "$(jq -c "$SHORT" <"$W/out" 2>/dev/null || cat "$W/out")"
  fi
  if [ "$rc" -ne 0 ] && [ -s "$W/err" ]; then
    printf '   → exit %d: %s\n' "$rc" "$(head -c 400 "$W/err" | tr '\n' ' ')"
  elif [ "$rc" -ne 0 ]; then
    printf '   → exit %d\n' "$rc"
  fi
  [ "$rc" -eq "$want" ] || unexpected "exit $rc, the story expects $want"
}
# j FILTER: a field of the last outcome (raw).
j() { jq -r "$1" <<<"$OUT"; }
# check FILTER WHAT: the last outcome must satisfy FILTER.
check() { jq -e "$1" <<<"$OUT" >/dev/null || unexpected "$2"; }

# ---- the nodes ----------------------------------------------------------------------

declare -a PID=()
start_node() {
  local i=$1
  show sealchaind --config "node$i/node.ini" "&"
  "$SEALCHAIND" --config "node$i/node.ini" >>"node$i/log" 2>&1 &
  PID[$i]=$!
}
kill_node() {
  local i=$1 sig=$2
  show kill "-$sig" "${PID[$i]}"
  kill "-$sig" "${PID[$i]}" 2>/dev/null
  wait "${PID[$i]}" 2>/dev/null
  PID[$i]=""
}
stop_all() {
  local i
  for i in "${!PID[@]}"; do
    [ -n "${PID[$i]}" ] && kill -TERM "${PID[$i]}" 2>/dev/null
  done
  for i in "${!PID[@]}"; do
    [ -n "${PID[$i]}" ] && wait "${PID[$i]}" 2>/dev/null
    PID[$i]=""
  done
}

# Quiet probes (not part of the story): a metric of node i, or "" if down.
metric() {
  "$SEALCTL" --node "node$1/node.sock" metrics 2>/dev/null |
    awk -v m="$2" '$1 == m { print $2; exit }'
}
# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
  local secs=$1 what=$2 t=0
  shift 2
  until "$@"; do
    t=$((t + 1))
    [ $t -lt $((secs * 5)) ] || unexpected "$what (waited ${secs} s)"
    sleep 0.2
  done
}
# Node i is linked to its three peers; a node that exited stops the demo
# with the end of its log.
node_up() {
  if [ -n "${PID[$1]:-}" ] && ! kill -0 "${PID[$1]}" 2>/dev/null; then
    tail -5 "node$1/log" | sed 's/^/   | /'
    unexpected "node $1 exited (node$1/log)"
  fi
  [ "$(metric "$1" sealchain_peers_connected)" = "${2:-3}" ]
}
height_of() { metric "$1" sealchain_height; }
at_least() { local h; h=$(height_of "$1"); [ -n "$h" ] && [ "$h" -ge "$2" ]; }

on_exit() {
  local rc=$?
  stop_all
  if [ -d "$ABS" ] && [ -n "${STARTED:-}" ]; then
    cat <<EOF

The consortium stays in $ABS (every node stopped). To keep playing:

  cd $ABS
  for i in 0 1 2 3; do $SEALCHAIND --config node\$i/node.ini >>node\$i/log 2>&1 & done
  $SEALCTL --node node0/node.sock status
  $SEALCTL --node node3/node.sock seal show $(cat "$ABS/.contract-seal-a" 2>/dev/null || echo SEAL_ID)
  $SEALCTL --node node1/node.sock verify --doc docs/contract-2026-118.txt --sig docs/contract-2026-118.txt.seal
  $SEALCTL --node node2/node.sock metrics
  $SEALCTL proof verify --genesis genesis.ini evidence/use-a.proof
  kill \$(jobs -p)      # when done

Keys of the cast are in keys/ (sign with --key), each agency's filing-authority key in node<i>/admin.key.
EOF
  fi
  rm -rf "$W"
  exit "$rc"
}

ABS=""
STARTED=""
W=$(mktemp -d /tmp/sealchain-demo.XXXXXX)
trap on_exit EXIT
trap 'exit 130' INT TERM

# A free range of four loopback ports (DEMO_BASE_PORT overrides): below
# Linux's ephemeral range (32768 and up), where an outgoing connection may
# hold a port, and with no listener on any of them.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_ports() {
  local base tries i ok
  for tries in $(seq 1 50); do
    base=$((20000 + RANDOM % 12000))
    ok=1
    for i in 0 1 2 3; do port_free $((base + i)) || ok=0; done
    [ $ok = 1 ] && { echo $base; return; }
  done
  echo 26600
}
BASE_PORT=${DEMO_BASE_PORT:-$(pick_ports)}

. "$(dirname "$0")/story.sh"
