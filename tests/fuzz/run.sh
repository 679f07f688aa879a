#!/usr/bin/env bash
# Runs libFuzzer harnesses at nice 19, at most JOBS at once, SECONDS each:
#   tests/fuzz/run.sh SECONDS JOBS build/fuzz/fuzz_a build/fuzz/fuzz_b ...
# Each keeps its corpus in build/fuzz/corpus-NAME, its log in build/fuzz/log-NAME.txt
# and any crashing input in build/fuzz/crash-NAME-*; one line per harness at the end.
set -u
secs=$1 jobs=$2
shift 2
one() {
  local b=$1 name dir
  name=$(basename "$b") dir=$(dirname "$b")
  mkdir -p "$dir/corpus-$name"
  nice -n 19 "$b" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$dir/crash-$name-" "$dir/corpus-$name" >"$dir/log-$name.txt" 2>&1
  local rc=$?
  printf '%-14s %4d s  %12s runs  %5s MB peak RSS  %s\n' "$name" "$secs" \
    "$(sed -nE 's/^stat::number_of_executed_(runs|units): *([0-9]+)/\2/p' "$dir/log-$name.txt")" \
    "$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+)/\1/p' "$dir/log-$name.txt")" \
    "$([ $rc -eq 0 ] && echo "no finding" || grep -m1 -E 'ERROR|SUMMARY' "$dir/log-$name.txt")"
  return $rc
}
fail=0
pids=()
for b in "$@"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || fail=1; done
  one "$b" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || fail=1; done
exit $fail
