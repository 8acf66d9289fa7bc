#!/usr/bin/env bash
# Times `make cluster-up` (binaries cached) and checks that `make
# cluster-down` leaves no process behind, N times (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
dir=$(mktemp -d)
trap 'make -s cluster-down CLUSTER_DIR="$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
make -s tools >/dev/null 2>&1
go build -o bin/localcluster ./test/cluster/cmd/localcluster
for i in $(seq "$n"); do
  start=$(date +%s.%N)
  make -s cluster-up CLUSTER_DIR="$dir/c" >/dev/null 2>&1
  up=$(echo "$(date +%s.%N) - $start" | bc)
  make -s cluster-down CLUSTER_DIR="$dir/c" >/dev/null 2>&1
  left=$(pgrep -f "$dir/c" | wc -l || true)
  printf 'run %d: cluster-up %.1f s, processes left after cluster-down: %d\n' "$i" "$up" "$left"
done
