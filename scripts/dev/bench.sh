#!/usr/bin/env bash
# The one entry point for waflow's performance figures. Installs what is missing
# (scripts/dev/setup.sh), configures and builds a Release tree, then runs every benchmark under
# tests/perf/ and prints its figures:
#   1. webhook path vs. a bare Beast server (req/s, p50/p99, CPU per request) and idle RSS
#   2. event bus throughput
#   3. outbound HTTP client throughput and latency
#   4. storage-sqlite durable inbox writes
#   5. end to end: signed webhooks -> store -> auto-reply -> outbox -> fake Cloud API
#   6. recovery: 100,000 pending replies delivered after a kill -9
#   7. Lua rule evaluations (the sandbox flows use)
#   8. flows: the customer-service flow vs. the plain auto-reply path, CPU per message
#   9. AI: replies through ai-openai and a fake model (0 ms and 1 s), concurrent AI calls, RSS
#  10. soak: 10 minutes of mixed load with a kill -9 half-way; resources every minute, lost /
#      duplicated / reordered replies (BENCH_SOAK_SECONDS, default 600)
#
#   scripts/dev/bench.sh               # build in ./build-release, run everything (~20 minutes)
#   BUILD_DIR=/path scripts/dev/bench.sh   # use another build directory
# Knobs of the scripted benchmarks (BENCH_DURATION, BENCH_CONNECTIONS, ...) pass through; see
# the scripts under tests/perf/. Figures are printed, never asserted: compare them with the
# baselines measured in the same run and with the targets in tests/perf/README.md.
set -euo pipefail

SECONDS=0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-release}
JOBS=${JOBS:-$(nproc)}

"$ROOT/scripts/dev/setup.sh"

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
echo "bench: building Release targets in $BUILD"
build_started=$SECONDS
if ! ninja -C "$BUILD" -j"$JOBS" waflow channel-sandbox ai-mock storage-sqlite waflow_minimal_server \
  waflow_bench_bus waflow_bench_http_client waflow_bench_storage waflow_bench_lua channel-cloudapi \
  waflow-fake-graph-api waflow_bench_signed_webhooks waflow_floor_server ai-openai waflow_bench_ai \
  waflow_bench_soak >"$BUILD/bench-build.log" 2>&1; then
  tail -40 "$BUILD/bench-build.log" >&2
  echo "bench: the build failed; full log in $BUILD/bench-build.log" >&2
  exit 1
fi
echo "bench: build up to date after $((SECONDS - build_started)) s"

section() {
  echo
  echo "################ $* ################"
}

section "1. webhook path and idle RSS"
"$ROOT/tests/perf/webhook/bench_webhook.sh" "$BUILD"

section "2. event bus"
echo "\$ waflow-bench-bus --events 1000000 --conversations 10000 --publishers 2"
"$BUILD/bin/waflow-bench-bus" --events 1000000 --conversations 10000 --publishers 2

section "3. HTTP client"
echo "\$ waflow-bench-http-client --requests 50000 --concurrency 1000 --body-bytes 1024"
"$BUILD/bin/waflow-bench-http-client" --requests 50000 --concurrency 1000 --body-bytes 1024

section "4. storage (storage-sqlite, durable inbox writes)"
echo "\$ waflow-bench-storage --callers 1000 --readers 8 --seconds 3"
"$BUILD/bin/waflow-bench-storage" --callers 1000 --readers 8 --seconds 3 --dir "$BUILD"

section "5. end to end (signed webhooks, storage, auto-reply, outbox, fake Cloud API)"
"$ROOT/tests/perf/end_to_end/bench_end_to_end.sh" "$BUILD"

section "6. recovery (pending replies delivered after kill -9)"
"$ROOT/tests/perf/outbox_recovery/bench_outbox_recovery.sh" "$BUILD"

section "7. Lua rules (the sandbox flows use)"
echo "\$ waflow-bench-lua"
"$BUILD/bin/waflow-bench-lua"

section "8. flows (customer-service flow vs. plain auto-reply, sandbox channel, no AI)"
echo "FAQ mix (text, image and list replies):"
BENCH_FLOW_ROUNDS=${BENCH_FLOW_ROUNDS:-3} "$ROOT/tests/perf/flows/bench_flows.sh" "$BUILD"
echo "text mix (the same kind of reply from both daemons):"
BENCH_FLOW_MIX=text BENCH_FLOW_ROUNDS=${BENCH_FLOW_ROUNDS:-3} \
  "$ROOT/tests/perf/flows/bench_flows.sh" "$BUILD"

section "9. AI (ai-openai against a fake model answering after 0 ms and 1 s, sandbox channel)"
echo "\$ waflow-bench-ai --messages 20000 --latency-messages 6000 --latency-ms 1000"
"$BUILD/bin/waflow-bench-ai" --messages 20000 --latency-messages 6000 --latency-ms 1000

section "10. soak (mixed load, kill -9 half-way: resources over time, every reply once and in order)"
"$ROOT/tests/perf/soak/bench_soak.sh" "$BUILD" --seconds "${BENCH_SOAK_SECONDS:-600}" ||
  echo "bench: the soak found replies lost, duplicated or reordered (see its verdict above)"

echo
echo "bench: done in $SECONDS s (machine: $(nproc) cores, $(uname -r); every figure above is from this run)"
