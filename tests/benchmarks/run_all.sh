#!/usr/bin/env bash
# Runs every benchmark and prints their tables (about 2.5 hours on 2 cores).
# Usage: tests/benchmarks/run_all.sh [BUILD_DIR] [THREADS]   (THREADS default: all cores)
set -euo pipefail
build=${1:-build}
threads=${2:-$(nproc)}
bench="$build/tests/benchmarks"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "### machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "### fused LSQ function vs composite reference"
"$bench/bench_lsq_kernel" "$threads"
echo
echo "### training step: ours (C++)"
ours=$("$bench/bench_step" "$threads" 30)
echo "$ours"
echo
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "### training step: PyTorch Python reference"
  ref=$(/usr/bin/python3 tests/benchmarks/lsq_step_pytorch.py "$threads" 30)
  echo "$ref"
  echo
  echo "### ours vs PyTorch Python, LSQ W4A4 step (ratio < 1: ours faster)"
  printf '%-14s %10s %12s %8s\n' input "ours ms" "PyTorch ms" ratio
  paste <(echo "$ours" | awk 'NR>2 {print $1, $3}') <(echo "$ref" | awk 'NR>2 {print $3}') |
    awk '{printf "%-14s %10.1f %12.1f %8.3f\n", $1, $2, $3, $2/$3}'
else
  echo "python3-torch is not installed: skipping the PyTorch reference (packaging/setup.sh installs it)"
fi
echo
echo "### accuracy (Fashion-MNIST, ResNet-20)"
"$bench/bench_accuracy" "$work/accuracy" "$threads"
echo
echo "### method comparison (ptq, lsq, squat, nt at W4A4, W3A3, W2A2; about 25 minutes)"
"$bench/bench_methods" "$work/methods" "$threads"
echo
echo "### Hessian: per-layer Hutchinson traces, ours vs PyTorch Python (about 8 minutes)"
# The float checkpoint of the method comparison above; 500 training images, 100 samples.
"$bench/bench_hessian" "$work/methods/checkpoints/run-1/last.safetensors" "$threads" 500 100 \
  "$work/hessian"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 tests/benchmarks/hessian_pytorch.py \
    "$work/methods/checkpoints/run-1/last.safetensors" "$work/hessian/subset.bin" "$threads" 100 \
    250 "$work/hessian/ours.json"
fi
echo
echo "### loss landscape: ResNet-20, 2,000 test images, coarse pass of a 41x41 grid (121 points),"
echo "### both parallel strategies vs PyTorch Python on the same directions (about 25 minutes)"
"$bench/bench_landscape" "$work/methods/checkpoints/run-1/last.safetensors" "$work/landscape" \
  "$threads" 11
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 tests/benchmarks/landscape_pytorch.py "$work/landscape/landscape_bench.safetensors"
fi
echo
echo "### BERT on SpamAssassin: float from scratch, then lsq, squat, nt (and PTQ) at W4A8 and W2A8"
echo "### (about 90 minutes on 2 cores), then the time per step of each method on 20 steps"
"$bench/bench_bert" "$work/bert" "$threads"
"$bench/bench_bert" "$work/bert-timing" "$threads" "$work/bert/checkpoints/run-1/last.safetensors" timing
echo
echo "### data-parallel training over c10d: 1 process vs N processes, threads split (about 3 minutes)"
bash tests/benchmarks/bench_distributed.sh "$build"
