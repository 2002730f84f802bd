#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, AddressSanitizer + UndefinedBehaviorSanitizer) into
# build-fuzz/ and fuzzes each for the given time, starting from a fresh copy of its committed
# corpus (tests/fuzz/corpus/<target>) and regressions (tests/fuzz/regressions/<target>), so the
# committed corpus never grows. Prints a pass/fail table; exits non-zero when any target failed.
#
#   tests/fuzz/run_fuzz.sh [seconds-per-target] [target...]     (default: 600 s, all targets)
#
# Environment: FUZZ_JOBS=N fuzzes N targets at a time (default 1); FUZZ_BUILD_JOBS is the
# build's parallelism (default: all cores); FUZZ_RSS_MB (default 2048) and FUZZ_TIMEOUT_S
# (default 10) are the memory and per-input limits over which an input counts as a failure.
# A failing input is left in build-fuzz/work/<target>/ (crash-*, oom-*, timeout-*, leak-*): fix
# the reader, then copy it to tests/fuzz/regressions/<target>/, which the ctest entry
# test_fuzz_replay replays in the normal build.
set -euo pipefail

seconds="${1:-600}"
shift || true
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$root/build-fuzz"
all_targets=(safetensors idx cifar runspec glue_tsv wordpiece spam_text)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
jobs="${FUZZ_JOBS:-1}"
rss_mb="${FUZZ_RSS_MB:-2048}"
timeout_s="${FUZZ_TIMEOUT_S:-10}"

# Debian packages the build needs, installed when missing (as root, or through sudo).
missing=()
for pkg in clang-14 libclang-rt-14-dev cmake ninja-build nlohmann-json3-dev zlib1g-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi

CC=clang-14 CXX=clang++-14 cmake -S "$root/tests/fuzz" -B "$build" -G Ninja >/dev/null
nice -n 10 cmake --build "$build" -j "${FUZZ_BUILD_JOBS:-$(nproc)}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

fuzz_one() {
  local t="$1" work="$build/work/$1"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  # Seeds are read from the committed folders; new inputs go to the working corpus only.
  local seeds=("$root/tests/fuzz/corpus/$t")
  [ -d "$root/tests/fuzz/regressions/$t" ] && seeds+=("$root/tests/fuzz/regressions/$t")
  # The targets' scratch files go to a folder of this run's own (in memory where /dev/shm is):
  # libFuzzer ends the process with _Exit, which skips their atexit clean-up.
  local tmp
  tmp="$(mktemp -d /dev/shm/qs-fuzz-XXXXXX 2>/dev/null || mktemp -d)"
  local rc=0
  (cd "$work" && TMPDIR="$tmp" nice -n 10 "$build/fuzz_$t" -max_total_time="$seconds" \
     -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" -timeout="$timeout_s" \
     -print_final_stats=1 -artifact_prefix="$work/" corpus "${seeds[@]}" \
     >"$work/log.txt" 2>&1) || rc=$?
  rm -rf "$tmp"
  echo "$rc" >"$work/rc"
}

running=0
for t in "${targets[@]}"; do
  [ -x "$build/fuzz_$t" ] || { echo "unknown target: $t" >&2; exit 2; }
  echo "fuzzing $t for $seconds s (log: build-fuzz/work/$t/log.txt)" >&2
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

status=0
printf '%-12s %-5s %8s %12s %8s %s\n' target result seconds executions corpus artifacts
for t in "${targets[@]}"; do
  work="$build/work/$t"
  log="$work/log.txt"
  rc="$(cat "$work/rc" 2>/dev/null || echo 1)"
  artifacts="$(cd "$work" && ls -d crash-* oom-* timeout-* leak-* slow-unit-* 2>/dev/null | tr '\n' ' ' || true)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)"
  secs="$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | awk '{print $5}' | tail -1 || true)"
  corp="$(grep -o 'corp: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)"
  result=pass
  if [ "$rc" != 0 ] || grep -qE '^(==[0-9]+==ERROR|SUMMARY: )' "$log" || [ -n "$artifacts" ]; then
    result=FAIL
    status=1
  fi
  printf '%-12s %-5s %8s %12s %8s %s\n' "$t" "$result" "${secs:-?}" "${execs:-?}" "${corp:-?}" \
    "${artifacts:--}"
done
exit "$status"
