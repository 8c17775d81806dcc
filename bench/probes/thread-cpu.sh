#!/bin/bash
# Prints the CPU each group of threads of a running `siem serve` used over a
# window, in cores, grouped by thread name: `node` for the main thread and the
# preparation workers, and ClickHouse's own names for the engine's threads.
#
# Run during a benchmark stage, for example:
#   npm run bench -- --stages end-to-end --duration 40 --no-record &
#   sleep 3 && bash bench/probes/thread-cpu.sh 25
set -euo pipefail
seconds="${1:-25}"
pid=""
for _ in $(seq 1 120); do
  pid="$(pgrep -f 'main.js serve' | tail -1 || true)"
  [ -n "$pid" ] && break
  sleep 1
done
if [ -z "$pid" ]; then
  echo "no siem serve process found within 120 s; start a benchmark stage or the server first" >&2
  exit 1
fi
# Lets the server warm up before the window starts.
sleep 5
ticks="$(getconf CLK_TCK)"
snapshot() {
  for task in /proc/"$pid"/task/*; do
    name="$(cat "$task/comm" 2>/dev/null || true)"
    used="$(awk '{print $14 + $15}' "$task/stat" 2>/dev/null || true)"
    [ -n "$used" ] && echo "$name|$used"
  done | awk -F'|' '{sum[$1] += $2} END {for (name in sum) print name "|" sum[name]}' | sort
}
before="$(mktemp)"
after="$(mktemp)"
trap 'rm -f "$before" "$after"' EXIT
snapshot >"$before"
sleep "$seconds"
snapshot >"$after"
join -t'|' "$before" "$after" |
  awk -F'|' -v seconds="$seconds" -v ticks="$ticks" '{cores = ($3 - $2) / ticks / seconds; if (cores > 0.005) printf "%-20s %.3f cores\n", $1, cores}' |
  sort -k2 -nr
