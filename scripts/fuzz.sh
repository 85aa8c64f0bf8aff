#!/usr/bin/env bash
# Runs every fuzz target of the module for a bounded time each.
set -euo pipefail
t=${1:-10s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u); do
    echo "fuzz $pkg $f ($t)"
    # A bounded minimization: an unbounded one can outlive -fuzztime and
    # end the run with "context deadline exceeded" though nothing failed.
    go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" -fuzzminimizetime=200x "$pkg"
  done
done
