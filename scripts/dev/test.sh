#!/usr/bin/env bash
# Builds waflow and runs every test (unit, integration, the out-of-tree SDK
# example). Installs what it needs first (scripts/dev/setup.sh).
#   scripts/dev/test.sh            # build in ./build and run ctest
#   BUILD_DIR=out scripts/dev/test.sh -R Daemon   # extra args go to ctest
#   SANITIZE=address,undefined scripts/dev/test.sh # every target (plugins too) built with
#       -fsanitize=address,undefined into ./build-sanitize; any sanitizer report fails the test
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/dev/setup.sh
# ccache shares objects between clones in different folders (a CI clone, a worktree): paths
# under the checkout are hashed relative to it.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
SANITIZE=${SANITIZE:-}
cmake_args=()
if [ -n "$SANITIZE" ]; then
  BUILD_DIR=${BUILD_DIR:-build-sanitize}
  cmake_args+=(-DWAFLOW_SANITIZE="$SANITIZE")
  export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
fi
BUILD_DIR=${BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}"
cmake --build "$BUILD_DIR" -j "$jobs"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$jobs" "$@"
