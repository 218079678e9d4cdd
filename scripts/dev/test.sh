#!/usr/bin/env bash
# Builds waflow and runs every test, the way CI does (.ci/run runs exactly this). Installs what
# it needs first (scripts/dev/setup.sh). Three stages, in this order:
#   suite     build into ./build and run every test (unit, integration, the SDK example)
#   sanitize  the daemon, plugin and parser tests (ctest label `sanitized`, tests/CMakeLists.txt)
#             built with AddressSanitizer and UndefinedBehaviorSanitizer into ./build-sanitize
#             (plugins too); any sanitizer report fails the test
#   fuzz      every libFuzzer target for FUZZ_SECONDS each (scripts/dev/fuzz.sh); a crash, leak,
#             timeout or out-of-memory fails
#
#   scripts/dev/test.sh                          # all three (what CI runs)
#   scripts/dev/test.sh -R Daemon                # extra args go to ctest; only the suite runs
#   TEST_STAGES=suite scripts/dev/test.sh        # choose stages (space-separated)
#   SANITIZE=address,undefined scripts/dev/test.sh  # only the sanitize stage, with every test
#   FUZZ_SECONDS=120 scripts/dev/test.sh         # longer fuzzing (default 40 s per target)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/dev/setup.sh
# ccache shares objects between clones in different folders (a CI clone, a worktree): paths
# under the checkout are hashed relative to it.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
jobs=$(nproc)

if [ -n "${SANITIZE:-}" ]; then
  default_stages=sanitize
elif [ $# -gt 0 ]; then
  default_stages=suite
else
  default_stages="suite sanitize fuzz"
fi
stages=${TEST_STAGES:-$default_stages}

# Prints how long a stage took, so CI's log shows where its time goes.
timed() {
  local stage=$1 start=$SECONDS
  shift
  echo "== test.sh: $stage"
  "$@"
  echo "== test.sh: $stage passed in $((SECONDS - start)) s"
}

run_suite() {  # <build dir> <target: all or a subset> [ctest args...]
  local build_dir=$1 target=$2
  shift 2
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}"
  cmake --build "$build_dir" -j "$jobs" --target "$target"
  ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "$@"
}

for stage in $stages; do
  case $stage in
    suite)
      cmake_args=()
      timed suite run_suite "${BUILD_DIR:-build}" all "$@"
      ;;
    sanitize)
      cmake_args=(-DWAFLOW_SANITIZE="${SANITIZE:-address,undefined}")
      export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=0}
      export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
      if [ -n "${SANITIZE:-}" ]; then  # asked for by name: everything
        timed sanitize run_suite "${SANITIZE_BUILD_DIR:-build-sanitize}" all "$@"
      else
        timed sanitize run_suite "${SANITIZE_BUILD_DIR:-build-sanitize}" waflow_sanitized_suite \
          -L sanitized "$@"
      fi
      ;;
    fuzz)
      timed fuzz bash scripts/dev/fuzz.sh "${FUZZ_SECONDS:-40}"
      ;;
    *)
      echo "test.sh: unknown stage '$stage' in TEST_STAGES (use suite, sanitize and fuzz)" >&2
      exit 2
      ;;
  esac
done
