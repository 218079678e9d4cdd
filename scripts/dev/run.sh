#!/usr/bin/env bash
# Builds the daemon and its plugins, then runs it. With no waflow.yaml in the
# current directory it starts the built-in demo: a sandbox WhatsApp channel and
# a mock AI, on http://127.0.0.1:8080. Talk to it from another terminal with
#   ./build/bin/waflow chat
# Extra arguments go to `waflow run` (e.g. -c my.yaml, --listen 127.0.0.1:9090).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bash "$root/scripts/dev/setup.sh"
BUILD_DIR=${BUILD_DIR:-$root/build}
cmake -S "$root" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD_DIR" -j "$(nproc)" --target waflow
exec "$BUILD_DIR/bin/waflow" run "$@"
