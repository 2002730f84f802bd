#!/usr/bin/env bash
# Data-parallel throughput: the same global batch trained by 1 process (all threads), 1 process
# (1 thread) and N processes (threads split between them) over c10d/Gloo on loopback.
# ResNet-20, LSQ W4A4, Fashion-MNIST (the installed data set), 4,096 training images, batch 128,
# 1 epoch (32 steps) per configuration. Prints the mean step time, images per second and the
# speed-up against 1 process with all threads, measured in the same run.
# Usage: tests/benchmarks/bench_distributed.sh [BUILD_DIR] [MAX_PROCESSES]   (default: nproc)
set -euo pipefail
build=${1:-build}
cores=$(nproc)
maxp=${2:-$cores}
cli="$build/app/quantscape-cli"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# step_ms PROCESSES THREADS: runs the spec and prints the result table's "step ms".
step_ms() {
  local p=$1 t=$2
  "$cli" train --preset smoke --db "$work/runs.sqlite" --out "$work/out" --threads "$t" \
    --nproc "$p" --set data.train_limit=4096 --set data.test_limit=1000 \
    --set data.batch_size=128 --set optim.epochs=1 --set name="p$p-t$t" 2>/dev/null |
    awk 'NR == 3 {print $9}'
}

echo "### data-parallel training: ResNet-20 LSQ W4A4, Fashion-MNIST, batch 128 (global), $cores cores"
# row PROCESSES THREADS-LABEL STEP_MS: one line of the table.
row() {
  awk -v p="$1" -v t="$2" -v ms="$3" -v base="$base" \
    'BEGIN {printf "%-10s %8s %10.1f %12.1f %9.2f\n", p, t, ms, 128000 / ms, base / ms}'
}

printf '%-10s %8s %10s %12s %9s\n' processes threads "step ms" "images/s" speed-up
base=$(step_ms 1 "$cores")
row 1 "$cores" "$base"
row 1 1 "$(step_ms 1 1)"
for ((p = 2; p <= maxp; p *= 2)); do
  t=$((cores / p > 0 ? cores / p : 1))
  row "$p" "$t each" "$(step_ms "$p" "$((p * t))")"
done
