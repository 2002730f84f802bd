#!/usr/bin/env bash
# Builds the Debian package and checks it the way a user meets it: installed with apt on a fresh
# Debian 12 (bookworm) system, which must fetch every dependency the package declares, then
# `quantscape-cli presets` and the smoke preset (ResNet-20, LSQ W4A4, 2,048 Fashion-MNIST images,
# one epoch) run as an ordinary user, and the window starts on an X server (Xvfb).
#
# The fresh system is a minimal bookworm root made with debootstrap and entered with chroot (no VM
# or container engine needed). Needs root (debootstrap, chroot, mount) and the Debian archive.
#
# Usage: packaging/check-deb.sh                 build build-deb, run cpack, check the .deb
#        packaging/check-deb.sh PATH.deb        check an existing package
#
# Environment:
#   QS_DEB_BUILD_DIR   build folder [build-deb]
#   QS_DEB_JOBS        build jobs [nproc]
#   QS_DEB_CHECK_DIR   cache and work folder [/var/tmp/quantscape-deb-check]: base/ is the
#                      pristine debootstrap result (made once, reused), apt-archives/ keeps the
#                      downloaded .debs between runs, root/ is the fresh system of this run
#                      (a new copy of base/ each time)
#   QS_DEB_MIRROR      Debian mirror [http://deb.debian.org/debian]
#   QS_DEB_SECURITY    security mirror [http://deb.debian.org/debian-security]
#   QS_DEB_KEEP_ROOT   1: leave root/ in place afterwards for a look inside [0]
#   QS_DEB_CHECK_GUI   0: skip starting the window under Xvfb inside the root [1]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${QS_DEB_BUILD_DIR:-$repo/build-deb}
jobs=${QS_DEB_JOBS:-$(nproc)}
work=${QS_DEB_CHECK_DIR:-/var/tmp/quantscape-deb-check}
mirror=${QS_DEB_MIRROR:-http://deb.debian.org/debian}
security=${QS_DEB_SECURITY:-http://deb.debian.org/debian-security}
keep_root=${QS_DEB_KEEP_ROOT:-0}
check_gui=${QS_DEB_CHECK_GUI:-1}
suite=bookworm

start=$(date +%s)
say() { printf '[check-deb %4ss] %s\n' "$(($(date +%s) - start))" "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and mount); run it with sudo"

# Host tools: dpkg-shlibdeps (dpkg-dev) for CPack's dependency scan, debootstrap for the root,
# and the validators of the desktop entry, the AppStream metadata and the man pages.
need=()
command -v dpkg-shlibdeps >/dev/null 2>&1 || need+=(dpkg-dev)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v desktop-file-validate >/dev/null 2>&1 || need+=(desktop-file-utils)
command -v appstreamcli >/dev/null 2>&1 || need+=(appstream)
command -v groff >/dev/null 2>&1 || need+=(groff-base)
if [ ${#need[@]} -gt 0 ]; then
  say "installing host tools: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

# ---- 1. the package --------------------------------------------------------------------------
if [ $# -ge 1 ]; then
  deb=$(readlink -f "$1")
  [ -f "$deb" ] || die "no such package: $1"
else
  say "configuring $build_dir"
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DQS_BUILD_TESTS=OFF -DQS_BUILD_BENCHMARKS=OFF >&2
  say "building quantscape and quantscape-cli (-j$jobs)"
  nice -n 10 cmake --build "$build_dir" -j "$jobs" --target quantscape quantscape-cli >&2
  say "packaging (cpack -G DEB)"
  rm -f "$build_dir"/quantscape_*.deb
  (cd "$build_dir" && cpack -G DEB >&2)
  debs=("$build_dir"/quantscape_*.deb)
  deb=${debs[0]}
  [ -f "$deb" ] || die "cpack made no quantscape_*.deb in $build_dir"
fi
deb_name=$(basename "$deb")
say "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --field "$deb" Package Version Architecture Section Depends Recommends >&2

# What the package must hold.
contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
for f in /usr/bin/quantscape /usr/bin/quantscape-cli \
         /usr/share/applications/io.github.quantscape.Quantscape.desktop \
         /usr/share/metainfo/io.github.quantscape.Quantscape.metainfo.xml \
         /usr/share/icons/hicolor/scalable/apps/io.github.quantscape.Quantscape.svg \
         /usr/share/man/man1/quantscape.1.gz /usr/share/man/man1/quantscape-cli.1.gz; do
  grep -qxF "$f" <<<"$contents" || die "$deb_name lacks $f"
done
depends=$(dpkg-deb --field "$deb" Depends)
for d in libtorch libqt6core6 libqt6widgets6 libqcustomplot libvtk9 libsqlite3 libonnx libprotobuf \
         libopenblas0-pthread; do
  grep -q "$d" <<<"$depends" || die "Depends lacks $d: $depends"
done
# The desktop entry, the AppStream metadata and the man pages, as installed.
unpacked=$(mktemp -d)
dpkg-deb --extract "$deb" "$unpacked"
desktop-file-validate "$unpacked/usr/share/applications/io.github.quantscape.Quantscape.desktop" >&2 \
  || die "the desktop entry does not validate"
appstreamcli validate --no-net "$unpacked/usr/share/metainfo/io.github.quantscape.Quantscape.metainfo.xml" >&2 \
  || die "the AppStream metadata does not validate"
for page in quantscape quantscape-cli; do
  warnings=$(zcat "$unpacked/usr/share/man/man1/$page.1.gz" | groff -man -Tutf8 -ww -z 2>&1)
  [ -z "$warnings" ] || die "man page $page.1: $warnings"
done
rm -rf "$unpacked"
say "package contents and Depends look complete; desktop entry, metainfo and man pages validate"

# ---- 2. a fresh Debian 12 root ---------------------------------------------------------------
base=$work/base
root=$work/root
archives=$work/apt-archives
mkdir -p "$work" "$archives/partial"

mounts=()
unmount_all() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[$i]}" 2>/dev/null || umount -l "${mounts[$i]}" 2>/dev/null || true
  done
  mounts=()
}
remove_root() {
  # Never delete through a mount point: refuse while anything is still mounted below root/.
  if awk -v r="$root" '$2 == r || index($2, r "/") == 1 {found = 1} END {exit !found}' /proc/mounts; then
    say "WARNING: something is still mounted under $root; leaving it in place"
    return 0
  fi
  rm -rf --one-file-system "$root"
}
cleanup() {
  local rc=$?
  unmount_all
  if [ "$keep_root" = 1 ]; then
    say "kept the root for inspection: chroot $root"
  elif [ -d "$root" ]; then
    say "removing the root"
    remove_root
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -f "$base/.qs-complete" ]; then
  say "debootstrap --variant=minbase $suite (cached in $base for later runs)"
  rm -rf --one-file-system "$base.tmp"
  debootstrap --variant=minbase "$suite" "$base.tmp" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    die "debootstrap failed (is $mirror reachable? log: $work/debootstrap.log)"
  }
  rm -rf "$base.tmp"/var/cache/apt/archives/*.deb
  touch "$base.tmp/.qs-complete"
  rm -rf --one-file-system "$base"
  mv "$base.tmp" "$base"
else
  say "reusing the debootstrap result in $base"
fi

# A left-over root from an interrupted run: unmount what is mounted there, then remove it.
if [ -d "$root" ]; then
  awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  remove_root
  [ ! -d "$root" ] || die "could not remove the old root $root"
fi
say "fresh root: copy of the debootstrap result"
cp -a "$base" "$root"
rm -f "$root/.qs-complete"

# The archive the root installs from: bookworm with its updates and security suites, as a fresh
# install has.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# No services start inside the root.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

mount -t proc proc "$root/proc"
mounts+=("$root/proc")
# Downloaded .debs survive between runs (the root itself is new each time).
mount --bind "$archives" "$root/var/cache/apt/archives"
mounts+=("$root/var/cache/apt/archives")

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- 3. apt install ---------------------------------------------------------------------------
cp "$deb" "$root/tmp/$deb_name"
say "apt-get update inside the root"
in_root apt-get update -qq >&2
say "apt-get install /tmp/$deb_name (every dependency from the archive)"
t0=$(date +%s)
in_root apt-get install -y --no-install-suggests "/tmp/$deb_name" >"$work/apt-install.log" 2>&1 || {
  tail -n 40 "$work/apt-install.log" >&2
  die "apt-get install of $deb_name failed (log: $work/apt-install.log)"
}
tail -n 3 "$work/apt-install.log" >&2
installed=$(grep -c '^Setting up ' "$work/apt-install.log" || true)
say "installed $installed packages in $(($(date +%s) - t0)) s"
# shellcheck disable=SC2016  # dpkg-query's own ${field} syntax
in_root dpkg-query -W -f='${Package} ${Version} ${Status}\n' quantscape >&2

for f in /usr/bin/quantscape /usr/bin/quantscape-cli; do
  missing=$(in_root ldd "$f" | grep 'not found' || true)
  [ -z "$missing" ] || die "$f: unresolved libraries after apt install: $missing"
done
in_root test -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \
  || die "Fashion-MNIST (Recommends: dataset-fashion-mnist) was not installed"
in_root sh -c 'zcat /usr/share/man/man1/quantscape-cli.1.gz | head -n 5 | grep -q "^\.TH QUANTSCAPE-CLI 1"' \
  || die "the quantscape-cli man page is not a man page"
blas=$(in_root readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)
case "$blas" in
  *openblas*) ;;
  *) die "libblas.so.3 is $blas, not OpenBLAS: training would be very slow" ;;
esac
say "no unresolved libraries; BLAS is $blas; Fashion-MNIST and the man pages are in place"

# ---- 4. the programs, as an ordinary user -----------------------------------------------------
in_root useradd --create-home --shell /bin/sh tester
user_ids="$(in_root id -u tester):$(in_root id -g tester)"
as_user() { chroot --userspec="$user_ids" "$root" /usr/bin/env -i HOME=/home/tester \
  PATH=/usr/bin:/bin LANG=C.UTF-8 USER=tester LOGNAME=tester "$@"; }

say "quantscape-cli --version"
as_user quantscape-cli --version >&2
say "quantscape-cli presets"
presets=$(as_user quantscape-cli presets)
printf '%s\n' "$presets" >&2
grep -qw smoke <<<"$presets" || die "'presets' does not list smoke"

say "quantscape-cli train --preset smoke"
t0=$(date +%s)
set +e
as_user quantscape-cli train --preset smoke >"$work/smoke.out" 2>"$work/smoke.err"
rc=$?
set -e
tr '\r' '\n' <"$work/smoke.err" | grep -v '^\s*$' | tail -n 5 >&2
cat "$work/smoke.out" >&2
[ $rc -eq 0 ] || die "the smoke preset exited with $rc"
grep -qw finished "$work/smoke.out" || die "the smoke run did not finish"
say "smoke preset: done in $(($(date +%s) - t0)) s"
as_user quantscape-cli runs list >&2
as_user sh -c 'ls ~/.local/share/quantscape/checkpoints/run-1/last.safetensors' >&2 \
  || die "the smoke run left no checkpoint"

say "quantscape --version (the window's program; Qt offscreen platform)"
as_user QT_QPA_PLATFORM=offscreen quantscape --version >&2

if [ "$check_gui" = 1 ]; then
  # The window on an X server (Qt's xcb plugin, VTK's OpenGL through Mesa): it has to come up
  # and still be running after 20 s. Xvfb is installed after the package, for this check only.
  say "the window under Xvfb (xvfb and xauth added to the root for this check)"
  in_root apt-get install -y --no-install-recommends xvfb xauth >>"$work/apt-install.log" 2>&1 \
    || die "could not install xvfb into the root (log: $work/apt-install.log)"
  # shellcheck disable=SC2016  # expanded by the shell inside the root
  as_user xvfb-run -a -s "-screen 0 1280x800x24" sh -c '
    quantscape --preset smoke >/tmp/quantscape-gui.log 2>&1 &
    pid=$!
    sleep 20
    if kill -0 $pid 2>/dev/null; then
      kill $pid; wait $pid 2>/dev/null
      tail -n 5 /tmp/quantscape-gui.log
      echo "the window was up for 20 s"
    else
      wait $pid; rc=$?
      cat /tmp/quantscape-gui.log; echo "quantscape exited early with $rc"; exit 1
    fi' >&2 || die "the window did not come up under Xvfb"
fi

say "PASS: $deb_name installs with apt on a fresh Debian 12 root and runs the smoke preset" \
    "(total $(($(date +%s) - start)) s)"
