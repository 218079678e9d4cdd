#!/usr/bin/env bash
# Soak benchmark: the daemon for a bounded time at a steady mixed load, with a kill -9 half-way.
#
#   tests/perf/soak/bench_soak.sh <build-dir> [--seconds 600] [--rate 20] [options...]
#
# Runs <build-dir>/bin/waflow-bench-soak (tests/perf/soak/bench_soak.cpp) against that build's
# waflow and plugins with the flows of tests/perf/soak/flows. Every option after the build
# directory goes to the program (`--help` lists them): by default 10 minutes at 20 customer
# messages a second, a table every minute, and at the end the lost, duplicated and reordered
# replies and the growth verdict. tests/perf/README.md explains the columns.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
source "$HERE/../lib/bench_lib.sh"
benchInit bench_soak "${1:-}"
shift

requireBinaries waflow waflow waflow-bench-soak waflow_bench_soak
requirePlugins channel-cloudapi storage-sqlite ai-openai

# The daemon, the fakes and the webhook connections hold sockets; the daemon inherits the limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$BUILD/bin/waflow-bench-soak" --waflow "$WAFLOW" --flows-dir "$HERE/flows" "$@"
