# shellcheck shell=bash
# Shared helpers of the shell benchmarks under tests/perf/ (sourced, not run): starting and
# stopping the processes under test, CPU time and memory from /proc, the daemon's /metrics, and
# wrk runs whose Lua script prints a "WEBHOOK_RESULT key=value ..." line.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib/bench_lib.sh"
#   benchInit end_to_end "$1"      # sets BUILD, WORK (a temporary directory) and the exit trap
#
# Every process started through these helpers is stopped when the script exits.

CLK_TCK=$(getconf CLK_TCK)
# shellcheck source=proc_stats.sh
source "$(dirname "${BASH_SOURCE[0]}")/proc_stats.sh"
BENCH_PIDS=()

benchDie() {
  echo "$BENCH_NAME: $*" >&2
  exit 1
}

# <name> <build-dir>: checks the build directory, creates WORK, installs the exit trap.
benchInit() {
  BENCH_NAME=$1
  if [ -z "${2:-}" ] || [ ! -d "$2" ]; then
    echo "usage: $0 <build-dir>   (a build containing bin/waflow and the benchmark targets)" >&2
    exit 2
  fi
  BUILD=$(cd "$2" && pwd)
  WAFLOW="$BUILD/bin/waflow"
  PLUGINS="$BUILD/lib/waflow/plugins"
  WORK=$(mktemp -d -t "waflow-bench-$BENCH_NAME.XXXXXX")
  trap benchCleanup EXIT
  trap 'exit 130' INT TERM
}

benchCleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do
    stopPid "$pid"
  done
  rm -rf "$WORK"
}

requireTools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || benchDie "'$tool' is not installed; run scripts/dev/setup.sh"
  done
}

requireBinaries() {  # <binary name under bin/ and the target that builds it>...
  while [ $# -ge 2 ]; do
    [ -x "$BUILD/bin/$1" ] || benchDie "$BUILD/bin/$1 is missing; build the target $2"
    shift 2
  done
}

requirePlugins() {
  local p
  for p in "$@"; do
    [ -f "$PLUGINS/waflow-plugin-$p.so" ] ||
      benchDie "$PLUGINS/waflow-plugin-$p.so is missing; build the target $p"
  done
}

# Sends <signal> (default TERM) and waits up to 5 s before SIGKILL. Safe on exited processes.
stopPid() {
  local pid=$1 sig=${2:-TERM}
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  if [ -n "$pid" ]; then
    wait "$pid" 2>/dev/null || true
  fi
}

# kill -9, the crash of the recovery benchmark.
crashPid() {
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

statusKb() {  # <pid> <VmRSS|VmHWM>
  awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# Port of the TCP socket process $1 listens on (the daemon logs it only at info level).
listenPort() {
  { ss -ltnpH 2>/dev/null | grep "pid=$1," | awk '{print $4}' | sed 's/.*://' | head -1; } || true
}

# Polls `<command...>` every 50 ms until it prints something, which becomes AWAITED; gives up
# after <tries> or when process <pid> has exited (then prints <log> and fails the script).
awaitOutput() {  # <pid> <tries> <log> <what> <command...>
  local pid=$1 tries=$2 log=$3 what=$4
  shift 4
  AWAITED=""
  for _ in $(seq "$tries"); do
    AWAITED=$("$@" 2>/dev/null || true)
    [ -n "$AWAITED" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$log" >&2
  benchDie "$what did not start"
}

# waflow-minimal-server with <threads>; sets MINIMAL_PID and PORT.
startMinimal() {
  "$BUILD/bin/waflow-minimal-server" --port 0 --threads "$1" >"$WORK/minimal.out" \
    2>"$WORK/minimal.err" &
  MINIMAL_PID=$!
  BENCH_PIDS+=("$MINIMAL_PID")
  awaitOutput "$MINIMAL_PID" 100 "$WORK/minimal.err" waflow-minimal-server \
    head -1 "$WORK/minimal.out"
  PORT=$AWAITED
}

# waflow-fake-graph-api <name> [options...]; sets FAKE_PID and FAKE_URL. Its output (the counts
# it prints at SIGTERM) goes to $WORK/<name>.out.
startFake() {
  local name=$1
  shift
  "$BUILD/bin/waflow-fake-graph-api" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  FAKE_PID=$!
  BENCH_PIDS+=("$FAKE_PID")
  # shellcheck disable=SC2016  # an awk program
  awaitOutput "$FAKE_PID" 100 "$WORK/$name.err" waflow-fake-graph-api \
    awk '$1 == "base_url" { print $2 }' "$WORK/$name.out"
  # shellcheck disable=SC2034  # read by the scripts that source this file
  FAKE_URL=$AWAITED
}

# One of the counts the fake started as <name> printed when stopped ("succeeded", "failed", ...).
fakeCount() {  # <name> <count>
  awk -v k="$2" '$1 == k { print $2 }' "$WORK/$1.out"
}

# The daemon's port once its /healthz answers (nothing before).
healthyPort() {  # <pid> <stderr log>
  local port
  port=$(grep -o 'listening on http://[^ ]*' "$2" | sed 's/.*://' | tail -1 || true)
  [ -n "$port" ] || port=$(listenPort "$1")
  if [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then
    echo "$port"
  fi
}

# `waflow run -c <config>`; sets DAEMON_PID and PORT once /healthz answers.
startDaemon() {
  local name
  name=$(basename "$1" .yaml)
  ${BENCH_DAEMON_PRELOAD:+env LD_PRELOAD=$BENCH_DAEMON_PRELOAD} "$WAFLOW" run -c "$1" >"$WORK/$name.out" 2>>"$WORK/$name.err" &
  DAEMON_PID=$!
  BENCH_PIDS+=("$DAEMON_PID")
  awaitOutput "$DAEMON_PID" 600 "$WORK/$name.err" "waflow with $1" \
    healthyPort "$DAEMON_PID" "$WORK/$name.err"
  PORT=$AWAITED
}

# --- channel-cloudapi benchmarks --------------------------------------------------------------
BENCH_APP_SECRET=bench-app-secret
BENCH_PHONE_NUMBER_ID=106540352242922

# Signed webhook bodies for signed_webhook.lua (one file per wrk thread); prints their average
# size in bytes. Uses WRK_THREADS and SENDERS.
makeSignedBodies() {  # <prefix> <count> <id tag>
  "$BUILD/bin/waflow-bench-signed-webhooks" --secret "$BENCH_APP_SECRET" \
    --phone-number-id "$BENCH_PHONE_NUMBER_ID" --count "$2" --slices "$WRK_THREADS" \
    --senders "$SENDERS" --tag "$3" --out "$1" | awk '{ print $4 }'
}

# A daemon config with one channel-cloudapi instance "bench" (webhooks at /webhooks/bench) whose
# Graph API is <base_url>. Uses SERVER_THREADS.
writeCloudApiConfig() {  # <file> <data_dir> <base_url> <channel timeout> <auto_reply> [outbox]
  cat >"$1" <<YAML
server: { listen: 127.0.0.1:0, threads: $SERVER_THREADS }
log: { level: warn }
data_dir: $2
channels:
  bench:
    plugin: channel-cloudapi
    config:
      phone_number_id: "$BENCH_PHONE_NUMBER_ID"
      access_token: bench-token
      app_secret: $BENCH_APP_SECRET
      verify_token: bench-verify
      base_url: $3
      timeout: $4
      download_media: false
auto_reply: $5
YAML
  if [ -n "${6:-}" ]; then
    echo "$6" >>"$1"
  fi
}

# Whether `waflow validate` accepts <config> (its complaint goes to $WORK/validate.err).
validates() {
  "$WAFLOW" validate -c "$1" >"$WORK/validate.err" 2>&1
}

metricsText() {
  curl -s "http://127.0.0.1:$PORT/metrics"
}

# Sum of the series matching <name regex> in the metrics text on stdin.
sumMetric() {
  awk -v re="^($1)([{ ])" '$0 ~ re { s += $NF } END { printf "%d\n", s }'
}

# One /metrics read of the daemon sets C_received (messages stored), C_duplicates, C_sent
# (replies the channel accepted: the durable outbox's counter when this daemon has one, else the
# auto-reply's, as before the outbox) and C_failed (replies that finally failed).
# shellcheck disable=SC2034  # read by the scripts that source this file
C_received=0 C_duplicates=0 C_sent=0 C_failed=0
# shellcheck disable=SC2034
readCounters() {
  local text
  text=$(metricsText)
  C_received=$(sumMetric waflow_messages_received_total <<<"$text")
  C_duplicates=$(sumMetric waflow_messages_duplicate_total <<<"$text")
  if grep -q '^waflow_outbox_sent_total' <<<"$text"; then
    C_sent=$(sumMetric waflow_outbox_sent_total <<<"$text")
    C_failed=$(sumMetric waflow_outbox_failed_total <<<"$text")
  else
    C_sent=$(sumMetric waflow_replies_sent_total <<<"$text")
    C_failed=$(sumMetric waflow_replies_failed_total <<<"$text")
  fi
}

nowMs() {
  date +%s%3N
}

# Runs wrk with <lua> against PORT; sets R_<key> from the WEBHOOK_RESULT line.
#   runWrk <lua> <threads> <connections> <duration> [script args...]
# shellcheck disable=SC2034  # read by the scripts that source this file
R_requests=0 R_duration_us=0 R_rps=0 R_p50_us=0 R_p99_us=0 R_non2xx=0 R_socket_errors=0
# shellcheck disable=SC2034
R_exhausted=0
runWrk() {
  local lua=$1 threads=$2 conns=$3 duration=$4
  shift 4
  local out line kv
  out=$(wrk -t"$threads" -c"$conns" -d"$duration" -s "$lua" "http://127.0.0.1:$PORT" -- "$@" \
    2>&1) || {
    echo "$out" >&2
    benchDie "wrk failed"
  }
  line=$(grep '^WEBHOOK_RESULT' <<<"$out") || {
    echo "$out" >&2
    benchDie "no result from wrk"
  }
  for kv in ${line#WEBHOOK_RESULT }; do
    eval "R_${kv%%=*}=${kv#*=}"
  done
}

# µs -> "1.23ms"
ms() {
  awk -v u="$1" 'BEGIN { printf "%.2fms", u / 1000 }'
}

# <numerator> <denominator> -> one decimal, "-" when the denominator is 0
perUnit() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'
}

machineLine() {
  echo "machine: $(nproc) cores shared by wrk, the fake Graph API and the daemon" \
    "(load average $(cut -d' ' -f1-3 /proc/loadavg))"
}
