#!/usr/bin/env bash
# The load figures of docs/benchmarks.md: `redengine serve` in its own
# process on a fresh data dir (embedded SQLite, durable appends), and
# cmd/loadgen in another, over loopback. Prints loadgen's report and the
# engine's CPU time per answered request.
#
# Usage: scripts/loadbench.sh [loadgen flags…]
#   scripts/loadbench.sh -duration 30s -concurrency 64
#   scripts/loadbench.sh -duration 30s -concurrency 64 -rate 1000
#   scripts/loadbench.sh -duration 30s -concurrency 64 -mix contact=1 -auts 3000
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
# REDENGINE_BIN: an engine binary to measure instead of building this tree
# (to compare two builds, run by turns).
if [ -n "${REDENGINE_BIN:-}" ]; then cp "$REDENGINE_BIN" "$work/redengine"; else go build -o "$work/redengine" ./cmd/redengine; fi
go build -o "$work/loadgen" ./cmd/loadgen
port=$((20000 + RANDOM % 20000))
secret=loadbench-secret-0123456789
REDENGINE_DATA_DIR="$work/data" REDENGINE_JWT_SECRET=$secret REDENGINE_ADDR=127.0.0.1:$port \
  "$work/redengine" serve >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
"$work/loadgen" -url "http://127.0.0.1:$port" -secret $secret "$@" | tee "$work/report.txt"
t1=$(ticks)
answered=$(grep -o 'statuses [^;]*' "$work/report.txt" | grep -o '×[0-9]*' | tr -d '×' | paste -sd+ | bc)
echo "engine CPU $(echo "scale=2; ($t1 - $t0) / $hz" | bc) s (setup and warm-up included; loadgen's line above is the run's alone) for $answered answered requests:" \
  "$(echo "scale=3; ($t1 - $t0) * 1000 / $hz / $answered" | bc) ms per request"
