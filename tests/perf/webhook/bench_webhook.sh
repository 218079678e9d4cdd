#!/usr/bin/env bash
# Webhook benchmark: requests/s, latency and CPU per request of the daemon's webhook path
# (POST /webhooks/sandbox with distinct ~1 KB Cloud API bodies) against waflow-minimal-server,
# a bare Beast "200 OK" server from the same build, driven by the same wrk command in the same
# run. Also measures the daemon's idle RSS.
#
#   tests/perf/webhook/bench_webhook.sh <build-dir>
#
# Servers measured, each with SERVER_THREADS I/O threads:
#   minimal   waflow-minimal-server (the baseline)
#   ingest    waflow with auto_reply disabled: HTTP -> parse -> dedup -> bus
#   full      waflow with auto-reply via ai-mock: ... -> bus -> auto-reply -> mock AI -> send
#   http-404  waflow, same bodies to an unknown channel (404): the HTTP layer's share, for
#             attributing the daemon's cost (highest connection count only)
# The ratio is each server's req/s over the minimal server's at the same connection count
# (target >= 60%). CPU µs/request is the server's utime+stime (from /proc/<pid>/stat) over the
# measured run divided by requests answered; for the daemon it includes draining the bus after
# wrk stops, so asynchronous work is counted too.
#
# Environment knobs (defaults keep the whole run around a minute):
#   BENCH_DURATION=8s  BENCH_CONNECTIONS="8 64"  BENCH_WRK_THREADS=2  BENCH_SERVER_THREADS=2
#   BENCH_WARMUP=2s    BENCH_SENDERS=10000
set -euo pipefail

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 <build-dir>   (a build containing bin/waflow and bin/waflow-minimal-server)" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LUA="$HERE/webhook.lua"
WAFLOW="$BUILD/bin/waflow"
MINIMAL="$BUILD/bin/waflow-minimal-server"
PLUGINS="$BUILD/lib/waflow/plugins"

DURATION=${BENCH_DURATION:-8s}
CONNECTIONS=${BENCH_CONNECTIONS:-"8 64"}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SERVER_THREADS=${BENCH_SERVER_THREADS:-2}
WARMUP=${BENCH_WARMUP:-2s}
SENDERS=${BENCH_SENDERS:-10000}

for tool in wrk curl ss; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench_webhook: '$tool' is not installed; run scripts/dev/setup.sh" >&2
    exit 1
  fi
done
for f in "$WAFLOW" "$MINIMAL"; do
  if [ ! -x "$f" ]; then
    echo "bench_webhook: $f is missing; build the targets waflow and waflow_minimal_server" >&2
    exit 1
  fi
done
for p in channel-sandbox ai-mock; do
  if [ ! -f "$PLUGINS/waflow-plugin-$p.so" ]; then
    echo "bench_webhook: $PLUGINS/waflow-plugin-$p.so is missing; build the target $p" >&2
    exit 1
  fi
done

WORK=$(mktemp -d -t waflow-bench-webhook.XXXXXX)
SERVER_PID=""
stopServer() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stopServer
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CLK_TCK=$(getconf CLK_TCK)

# shellcheck source=../lib/proc_stats.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/proc_stats.sh"

writeConfig() {  # <file> <auto_reply yaml>
  local name
  name=$(basename "$1" .yaml)
  cat >"$1" <<EOF
server: { listen: 127.0.0.1:0, threads: $SERVER_THREADS }
log: { level: warn }
data_dir: $WORK/data-$name
channels: { sandbox: { plugin: channel-sandbox, config: { mailbox_limit: 1 } } }
ai: { mock: { plugin: ai-mock } }
auto_reply: $2
# No rate limit or per-recipient pacing: the benchmark measures the daemon, not Meta's limits.
outbox: { rate_limit: 0, recipient_burst: 0 }
EOF
}

# Port of the TCP socket process $1 listens on (the daemon logs it only at info level).
listenPort() {
  { ss -ltnpH 2>/dev/null | grep "pid=$1," | awk '{print $4}' | sed 's/.*://' | head -1; } || true
}

PORT=""
startMinimal() {
  "$MINIMAL" --port 0 --threads "$SERVER_THREADS" >"$WORK/minimal.out" 2>"$WORK/minimal.err" &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 100); do
    PORT=$(head -1 "$WORK/minimal.out" 2>/dev/null || true)
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$PORT" ]; then
    echo "bench_webhook: waflow-minimal-server did not start:" >&2
    cat "$WORK/minimal.err" >&2
    exit 1
  fi
}

startDaemon() {  # <config>
  local name
  name=$(basename "$1" .yaml)
  "$WAFLOW" run -c "$1" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 200); do
    PORT=$(grep -o 'listening on http://[^ ]*' "$WORK/$name.err" 2>/dev/null | sed 's/.*://' |
      head -1 || true)
    [ -n "$PORT" ] || PORT=$(listenPort "$SERVER_PID")
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$PORT" ] || ! curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; then
    echo "bench_webhook: waflow did not start with $1:" >&2
    cat "$WORK/$name.err" >&2
    exit 1
  fi
}

metric() {  # <name regex>: sum of the daemon's series matching it
  curl -s "http://127.0.0.1:$PORT/metrics" |
    awk -v re="^($1)([{ ])" '$0 ~ re { s += $NF } END { printf "%d\n", s }'
}

# Waits until the daemon's bus and outbox are empty, so asynchronous work a run caused (replies
# included) is finished and its CPU time counted before the next measurement.
drainBus() {
  for _ in $(seq 300); do
    if [ "$(metric 'waflow_bus_queued_events|waflow_bus_in_flight_events|waflow_outbox_backlog')" = "0" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "bench_webhook: warning: the daemon's bus did not drain within 30 s" >&2
}

# Waits until the outbox has sent <total> replies in all (60 s at most).
waitReplies() {
  for _ in $(seq 600); do
    if [ "$(metric waflow_outbox_sent_total)" -ge "$1" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "bench_webhook: warning: the replies did not all go out within 60 s" >&2
}

RUN=0
WRK_PATH=/webhooks/sandbox
# Set by runWrk from wrk's WEBHOOK_RESULT line.
R_requests=0 R_rps=0 R_p50_us=0 R_p99_us=0 R_non2xx=0 R_socket_errors=0 R_avg_body_bytes=0
runWrk() {  # <connections> <duration> -> sets R_* from the WEBHOOK_RESULT line
  RUN=$((RUN + 1))
  local out
  out=$(wrk -t"$WRK_THREADS" -c"$1" -d"$2" -s "$LUA" "http://127.0.0.1:$PORT" -- \
    "$WRK_PATH" "$SENDERS" "r$RUN.$$" 2>&1) || {
    echo "bench_webhook: wrk failed:" >&2
    echo "$out" >&2
    exit 1
  }
  local line
  line=$(grep '^WEBHOOK_RESULT' <<<"$out") || {
    echo "bench_webhook: no result from wrk:" >&2
    echo "$out" >&2
    exit 1
  }
  for kv in ${line#WEBHOOK_RESULT }; do
    eval "R_${kv%%=*}=${kv#*=}"
  done
}

RESULTS=()   # "server conns rps p50 p99 cpu non2xx socket_errors note"
declare -A BASE_RPS

measure() {  # <label> <is_daemon 0|1> [connection counts]
  local label=$1 daemon=$2 conns
  for conns in ${3:-$CONNECTIONS}; do
    runWrk "$conns" "$WARMUP"
    if [ "$daemon" = 1 ]; then
      drainBus
    fi
    local received0=0 replies0=0 dup0=0
    if [ "$daemon" = 1 ]; then
      received0=$(metric waflow_messages_received_total)
      replies0=$(metric waflow_outbox_sent_total)
      dup0=$(metric waflow_messages_duplicate_total)
    fi
    local cpu0 cpu1
    cpu0=$(cpuMicros "$SERVER_PID")
    runWrk "$conns" "$DURATION"
    if [ "$daemon" = 1 ]; then
      drainBus
      if [ "$label" = full ]; then
        waitReplies $(($(metric waflow_messages_received_total) - received0 + replies0))
      fi
    fi
    cpu1=$(cpuMicros "$SERVER_PID")
    local note=""
    if [ "$daemon" = 1 ]; then
      local received replies dup
      received=$(($(metric waflow_messages_received_total) - received0))
      replies=$(($(metric waflow_outbox_sent_total) - replies0))
      dup=$(($(metric waflow_messages_duplicate_total) - dup0))
      note="accepted=$received replies=$replies duplicates=$dup"
      if [ "$WRK_PATH" != /webhooks/sandbox ]; then
        note="(404 by design: HTTP layer and router only)"
      fi
    fi
    local cpu_per_req
    cpu_per_req=$(awk -v c=$((cpu1 - cpu0)) -v n="$R_requests" 'BEGIN { printf "%.1f", n ? c / n : 0 }')
    if [ "$label" = minimal ]; then
      BASE_RPS[$conns]=$R_rps
    fi
    RESULTS+=("$label $conns $R_rps $R_p50_us $R_p99_us $cpu_per_req $R_non2xx $R_socket_errors $R_avg_body_bytes $note")
  done
}

echo "== webhook benchmark: POST /webhooks/sandbox, distinct Cloud API bodies =="
echo "machine: $(nproc) cores shared by wrk and the server under test (load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "wrk: -t$WRK_THREADS -d$DURATION (after a $WARMUP warm-up), connections: $CONNECTIONS; server threads: $SERVER_THREADS; $SENDERS distinct senders"
echo

# Idle RSS first, on a fresh daemon in its full configuration.
writeConfig "$WORK/full.yaml" "{ mode: ai, ai: mock }"
writeConfig "$WORK/ingest.yaml" "{ enabled: false }"
startDaemon "$WORK/full.yaml"
sleep 2
IDLE_RSS_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
stopServer

startMinimal
measure minimal 0
stopServer

startDaemon "$WORK/ingest.yaml"
measure ingest 1
INGEST_HWM_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
stopServer

# Attribution: the same bodies posted to a channel that does not exist are answered 404 by the
# router after the HTTP layer has read them, so this row is the daemon's HTTP cost alone. Run at
# the highest connection count only, to keep the benchmark short.
startDaemon "$WORK/ingest.yaml"
WRK_PATH=/webhooks/no-such-channel
measure http-404 1 "${CONNECTIONS##* }"
WRK_PATH=/webhooks/sandbox
stopServer

startDaemon "$WORK/full.yaml"
measure full 1
FULL_HWM_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
stopServer

printf '%-8s %5s %10s %9s %9s %12s %9s %7s  %s\n' server conns req/s p50 p99 "CPU µs/req" "vs min" non2xx checks
for row in "${RESULTS[@]}"; do
  read -r label conns rps p50 p99 cpu non2xx sockerr body note <<<"$row"
  ratio=$(awk -v a="$rps" -v b="${BASE_RPS[$conns]:-0}" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }')
  printf '%-8s %5s %10.0f %7.2fms %7.2fms %12s %9s %7s  %s\n' "$label" "$conns" "$rps" \
    "$(awk -v u="$p50" 'BEGIN { print u / 1000 }')" "$(awk -v u="$p99" 'BEGIN { print u / 1000 }')" \
    "$cpu" "$ratio" "$non2xx" "${note:-socket_errors=$sockerr}"
  if [ "$sockerr" != 0 ] && [ -n "$note" ]; then
    echo "         ($sockerr socket errors)"
  fi
done
echo
echo "average request body: ${body} bytes; target: daemon req/s >= 60% of minimal"
echo "minimal = waflow-minimal-server; ingest = waflow, auto_reply disabled (HTTP, parse, dedup, bus);"
echo "full = waflow with auto-reply via ai-mock (adds AI call and sandbox send per message);"
echo "http-404 = waflow, same bodies to an unknown channel: the daemon's HTTP layer alone"
echo "peak RSS under load: ingest $((INGEST_HWM_KB / 1024)) MB, full $((FULL_HWM_KB / 1024)) MB"
echo
printf 'idle RSS of waflow (full config, 2 s after start): %.1f MB (target < 20 MB)\n' \
  "$(awk -v k="$IDLE_RSS_KB" 'BEGIN { print k / 1024 }')"
echo "(webhook benchmark took $SECONDS s)"
