#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan into ./build-fuzz, and runs
# each one for SECONDS (default 30) on a scratch copy of its seeds (tests/fuzz/CMakeLists.txt).
#   scripts/dev/fuzz.sh            # 30 s per target
#   scripts/dev/fuzz.sh 300        # longer
#   FUZZ_TARGETS=http_request_fuzz scripts/dev/fuzz.sh 60   # only some targets
# Prints one line per target (runs, execs/s, findings). Exits non-zero on any crash, leak,
# timeout or out-of-memory, printing the reproducer's path and the report (with the stack); the
# reproducer is kept under build-fuzz/findings/<target>/. Replay one with
#   build-fuzz/bin/fuzz/<target> <reproducer>
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-30}
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
bash scripts/dev/setup.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true  # objects shared between clones

CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWAFLOW_FUZZ=ON -DWAFLOW_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target waflow_fuzzers

manifest="$BUILD_DIR/fuzz/targets.txt"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=0
# Copies every seed (a file, or the files below a folder) into $2, each under a unique name.
copy_seeds() {
  local seeds=$1 into=$2 n=0 seed file
  IFS=':' read -ra list <<<"$seeds"
  for seed in "${list[@]}"; do
    [ -n "$seed" ] || continue
    while IFS= read -r -d '' file; do
      n=$((n + 1))
      cp "$file" "$into/seed$n-$(basename "$file")"
    done < <(find "$seed" -type f -print0)
  done
}

while IFS=$'\t' read -r name exe seeds dict; do
  [ -n "$name" ] || continue
  if [ -n "${FUZZ_TARGETS:-}" ] && ! grep -qw "$name" <<<"$FUZZ_TARGETS"; then
    continue
  fi
  work="$scratch/$name"
  findings="$BUILD_DIR/findings/$name"
  mkdir -p "$work" "$findings"
  copy_seeds "$seeds" "$work"
  log="$BUILD_DIR/findings/$name.log"
  args=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=8192
        -print_final_stats=1 -artifact_prefix="$findings/")
  if [ -n "$dict" ]; then args+=(-dict="$dict"); fi
  status=0
  "$exe" "${args[@]}" "$work" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  artifacts=$(grep -o "Test unit written to [^ ]*" "$log" | sed 's/Test unit written to //' || true)
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "fuzz: $name: FAILED after ${runs:-?} runs (${rate:-?} execs/s), exit $status"
    echo "fuzz: reproducer: ${artifacts:-none written (see $log)}"
    # The sanitizer or libFuzzer report, with its stack.
    sed -n '/^==[0-9]*==\|^SUMMARY\|ERROR: libFuzzer\|runtime error\|^    #[0-9]/p' "$log" | head -60
  else
    echo "fuzz: $name: ${runs:-?} runs in ${SECONDS_PER_TARGET}s (${rate:-?} execs/s), 0 findings"
  fi
done <"$manifest"
exit "$failed"
