#!/usr/bin/env bash
# make bench-profile: where the four nodes' CPU goes under make bench's saturation.
#
# Runs build/bench-net, attaches `perf record --call-graph dwarf` to its four
# sealchaind processes (and only those) for PROFILE_SECONDS once the
# saturation phase begins, then sorts every sample into one category by the
# frames on its stack: Ed25519 checks of transactions (the ceiling's work)
# and everything else. PROFILE_KEEP=1 keeps perf.data. Prints one line per category, largest first, and the
# bench's own last line.
set -u
BUILD=${BUILD:-build}
SECS=${PROFILE_SECONDS:-10}
out=$(mktemp -d /tmp/sealchain-profile.XXXXXX)
# PROFILE_KEEP=1 keeps perf.data (and the bench output) and prints where.
if [ -n "${PROFILE_KEEP:-}" ]; then trap 'echo "profile: kept $out"' EXIT; else trap 'rm -rf "$out"' EXIT; fi
BENCH_SECONDS=${BENCH_SECONDS:-$((SECS + 15))} "$BUILD/bench-net" >"$out/bench.out" 2>&1 &
bench=$!
for _ in $(seq 1 600); do
  grep -q "saturation for" "$out/bench.out" && break
  kill -0 "$bench" 2>/dev/null || { cat "$out/bench.out"; exit 1; }
  sleep 0.5
done
dir=$(sed -n 's/^bench: 4 nodes up in \([^;]*\);.*/\1/p' "$out/bench.out")
pids=$(for p in $(pgrep -x sealchaind); do
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$dir/" && echo "$p"
done | paste -sd,)
[ -n "$pids" ] || { echo "profile: no sealchaind of $dir found"; exit 1; }
sleep 3 # past the first blocks of the phase
perf record -q -F 299 --call-graph dwarf,16384 -o "$out/perf.data" -p "$pids" -- sleep "$SECS" \
  >/dev/null 2>&1 || { echo "profile: perf record failed"; exit 1; }
wait "$bench"
perf script -i "$out/perf.data" -F comm,tid,ip,sym 2>/dev/null | awk '
  function flush() {
    if (!n) return
    c = "other"
    if (s ~ / (ledger_sigjobs_verify|ledger_verify|ledger_tx_verify) /) c = "Ed25519 checks of transactions"
    else if (s ~ / pbft_step / && s ~ /verify/) c = "consensus votes (signatures)"
    else if (s ~ / block_valid /) c = "backup: execute a proposed block"
    else if (s ~ / commit / || s ~ / ledger_commit_block /) c = "commit a block (LMDB, fsync, mempool)"
    else if (s ~ / propose /) c = "primary: build a block"
    else if (s ~ / (admit_done|node__admit_start) /) c = "admission on the loop (state rules, mempool)"
    else if (s ~ / (node_frame_[a-z_]*|crypto_secretstream[a-z_0-9]*) /) c = "peer frames (AEAD)"
    else if (s ~ / (on_frame|read_cb) /) c = "other peer input"
    else if (s ~ / (api_[a-z_]*|node_api_[a-z_]*) /) c = "operator socket"
    else if (s ~ / (pool_recheck|node_driver_tick) /) c = "mempool re-check"
    cnt[c]++; total++; n = 0; s = " "
  }
  BEGIN { s = " " }
  /^[^ \t]/ { flush(); n = 1; next }
  /^[ \t]*$/ { flush(); next }
  { sym = $2; sub(/\+0x[0-9a-f]+$/, "", sym); s = s sym " " }
  END {
    flush()
    for (c in cnt) printf "%6.1f%%  %s\n", 100 * cnt[c] / total, c | "sort -rn"
    close("sort -rn")
    printf "profile: %d samples at 299 Hz over %s s of the four nodes\n", total, "'"$SECS"'"
  }'
tail -1 "$out/bench.out"
