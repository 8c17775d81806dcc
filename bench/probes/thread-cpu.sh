#!/bin/bash
# Prints the CPU each group of threads of a running `siem serve` used over a
# window, in cores, grouped by thread name: `node` for the main thread and the
# preparation workers, and ClickHouse's own names for the engine's threads.
#
# With `each` as the second argument it prints every thread on its own line
# with its id. The main thread has the id of the process, which separates it
# from the preparation workers and V8's helper threads, all named `node`.
#
# A third argument names another process to watch, matched against its
# command line, such as `ceiling-worker` for the engine-alone stage.
#
# Run during a benchmark stage, for example:
#   npm run bench -- --stages end-to-end --duration 40 --no-record &
#   sleep 3 && bash bench/probes/thread-cpu.sh 25 [each [PATTERN]]
set -euo pipefail
seconds="${1:-25}"
mode="${2:-grouped}"
pattern="${3:-main.js serve}"
pid=""
for _ in $(seq 1 120); do
  # Matches node processes only, because this script's own command line contains the pattern.
  pid="$(pgrep -f "^[^ ]*node .*$pattern" | tail -1 || true)"
  [ -n "$pid" ] && break
  sleep 1
done
if [ -z "$pid" ]; then
  echo "no process matching '$pattern' found within 120 s; start a benchmark stage or the server first" >&2
  exit 1
fi
# Lets the server warm up before the window starts.
sleep 5
ticks="$(getconf CLK_TCK)"
snapshot() {
  for task in /proc/"$pid"/task/*; do
    name="$(cat "$task/comm" 2>/dev/null || true)"
    used="$(awk '{print $14 + $15}' "$task/stat" 2>/dev/null || true)"
    [ -n "$used" ] && echo "$name|$used|${task##*/}"
  done | awk -F'|' -v mode="$mode" '{key = mode == "each" ? $3 " " $1 : $1; sum[key] += $2} END {for (key in sum) print key "|" sum[key]}' | sort
}
before="$(mktemp)"
after="$(mktemp)"
trap 'rm -f "$before" "$after"' EXIT
snapshot >"$before"
sleep "$seconds"
snapshot >"$after"
join -t'|' "$before" "$after" |
  awk -F'|' -v seconds="$seconds" -v ticks="$ticks" '{cores = ($3 - $2) / ticks / seconds; if (cores > 0.005) printf "%-20s %.3f cores\n", $1, cores}' |
  sort -k"$([ "$mode" = each ] && echo 3 || echo 2)" -nr
