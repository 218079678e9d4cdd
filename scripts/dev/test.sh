#!/usr/bin/env bash
# Builds waflow and runs every test (unit, integration, the out-of-tree SDK
# example). Installs what it needs first (scripts/dev/setup.sh).
#   scripts/dev/test.sh            # build in ./build and run ctest
#   BUILD_DIR=out scripts/dev/test.sh -R Daemon   # extra args go to ctest
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/dev/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD_DIR" -j "$jobs"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$jobs" "$@"
