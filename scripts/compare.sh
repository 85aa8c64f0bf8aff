#!/usr/bin/env bash
# Compares two engine builds under the same load, by turns (A B, B A, A B,
# …: the order alternates, so that neither build always runs second, while
# the other's data is still being written back and deleted), each run on a
# fresh data dir through scripts/loadbench.sh, and prints one line per run:
# commands/s, their p99 (and, paced, the p99 of the client's own lateness,
# which that p99 includes), the engine's CPU per request, and the machine's
# speed just before the run (loadgen's host probe). On a shared,
# noisy machine a single run says little: compare an even number of pairs,
# and prefer the CPU per request, which varies less than the rate.
#
# Usage: scripts/compare.sh PAIRS BIN_A BIN_B [loadgen flags…]
#   git worktree add /tmp/wt-old <commit> && (cd /tmp/wt-old && go build -o /tmp/old ./cmd/redengine)
#   go build -o /tmp/new ./cmd/redengine
#   scripts/compare.sh 3 /tmp/old /tmp/new -duration 20s -concurrency 64
#   scripts/compare.sh 2 /tmp/old /tmp/new -duration 20s -concurrency 64 -rate 1110
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
pairs=$1 a=$2 b=$3
shift 3
for i in $(seq 1 "$pairs"); do
  order="$a $b"
  if [ $((i % 2)) -eq 0 ]; then order="$b $a"; fi
  for bin in $order; do
    out=$(REDENGINE_BIN=$bin scripts/loadbench.sh "$@" 2>&1)
    cmds=$(echo "$out" | awk '$1 == "COMMANDS" {print $2 " commands/s, p99 " $7}')
    # the engine's CPU over the measured run alone (loadgen's reading of its /metrics)
    cpu=$(echo "$out" | awk '/^engine CPU over the run/ {print $(NF-4)}')
    # the machine's speed before the run (loadgen's CPU unit and sync probe)
    host=$(echo "$out" | awk '/^host before the run/ {sub(/,$/, "", $17); print $7 ", sync p50 " $17}')
    # paced runs: how late the client's own pacing began its ops (in the p99 above)
    late=$(echo "$out" | awk '/^paced ops began/ {sub(/,$/, "", $12); print "; client late p99 " $12}')
    echo "pair $i  $(basename "$bin"): ${cmds:-no report}${late}; engine ${cpu:-?} CPU-ms per request; host CPU unit ${host:-?}"
  done
done
