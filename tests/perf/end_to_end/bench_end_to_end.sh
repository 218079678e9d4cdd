#!/usr/bin/env bash
# End-to-end benchmark: signed Cloud API webhook -> channel-cloudapi (signature check, parse)
# -> durable inbox in storage-sqlite -> 200 -> auto-reply -> outbox -> waflow-fake-graph-api
# (Meta's Graph API on 127.0.0.1, rate limiting off). Prints inbound messages/s acknowledged,
# replies/s delivered while the load runs, the time after the load until every reply was
# delivered (drain), p50/p99 webhook latency, CPU µs per message and RSS, beside
# waflow-minimal-server (a bare "200 OK" Beast server) driven in the same run by the same wrk
# command with the same bodies, and the ratio.
#
#   tests/perf/end_to_end/bench_end_to_end.sh <build-dir>
#
# Bodies: made before the load by waflow-bench-signed-webhooks with valid X-Hub-Signature-256
# (one file per wrk thread; ids never repeat), posted by signed_webhook.lua. The warm-up has
# bodies of its own. If the daemon uses up the measurement's bodies the row says so: raise
# BENCH_E2E_MAX_RATE.
#
# Environment knobs (defaults keep the run under a minute):
#   BENCH_DURATION=8s  BENCH_WARMUP=2s  BENCH_E2E_CONNECTIONS=64  BENCH_WRK_THREADS=2
#   BENCH_SERVER_THREADS=2  BENCH_FAKE_THREADS=1  BENCH_SENDERS=10000
#   BENCH_E2E_MAX_RATE=40000 (bodies generated = this x the duration)
#   BENCH_E2E_DRAIN_TIMEOUT=120 (seconds to wait for the replies after the load)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
source "$HERE/../lib/bench_lib.sh"
benchInit bench_end_to_end "${1:-}"
LUA="$HERE/signed_webhook.lua"

DURATION=${BENCH_DURATION:-8s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_E2E_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SERVER_THREADS=${BENCH_SERVER_THREADS:-2}
FAKE_THREADS=${BENCH_FAKE_THREADS:-1}
SENDERS=${BENCH_SENDERS:-10000}
MAX_RATE=${BENCH_E2E_MAX_RATE:-40000}
DRAIN_TIMEOUT=${BENCH_E2E_DRAIN_TIMEOUT:-120}

requireTools wrk curl ss
requireBinaries waflow waflow waflow-minimal-server waflow_minimal_server \
  waflow-fake-graph-api waflow-fake-graph-api \
  waflow-bench-signed-webhooks waflow_bench_signed_webhooks
requirePlugins channel-cloudapi storage-sqlite

seconds() {  # "8s" / "500ms" / "1m" -> seconds (decimal)
  awk -v d="$1" 'BEGIN { v = d + 0; if (d ~ /ms$/) v /= 1000; else if (d ~ /m$/) v *= 60;
    print v }'
}

# --- bodies ------------------------------------------------------------------------------------
warm_count=$(awk -v r="$MAX_RATE" -v s="$(seconds "$WARMUP")" 'BEGIN { printf "%d", r * s }')
measure_count=$(awk -v r="$MAX_RATE" -v s="$(seconds "$DURATION")" 'BEGIN { printf "%d", r * s }')
bodies_started=$SECONDS
makeSignedBodies "$WORK/warm" "$warm_count" "w$$" >/dev/null
AVG_BODY=$(makeSignedBodies "$WORK/measure" "$measure_count" "m$$")

# --- daemon config -----------------------------------------------------------------------------
# The outbox section (rate limit off, no per-recipient pacing) is written only when this daemon's
# `waflow validate` knows it; older daemons send replies straight from the auto-reply, unpaced.
OUTBOX_YAML="outbox: { rate_limit: 0, recipient_burst: 0 }"
REPLY_YAML='{ mode: text, text: "Terima kasih, pesan Anda sudah kami terima." }'
writeConfig() {
  writeCloudApiConfig "$WORK/e2e.yaml" "$WORK/data" http://127.0.0.1:9 30s "$REPLY_YAML" \
    "$OUTBOX_YAML"
}
writeConfig
if validates "$WORK/e2e.yaml"; then
  OUTBOX_NOTE="outbox: rate_limit 0 (off), recipient_burst 0 (no pacing)"
else
  OUTBOX_NOTE="this daemon has no outbox section ($(head -1 "$WORK/validate.err"));"
  OUTBOX_NOTE+=" replies go out unpaced from the auto-reply"
  OUTBOX_YAML=""
  writeConfig
  validates "$WORK/e2e.yaml" || { cat "$WORK/validate.err" >&2; benchDie "invalid config"; }
fi

echo "== end-to-end benchmark: signed webhooks -> store -> auto-reply -> fake Graph API =="
machineLine
echo "wrk: -t$WRK_THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up); daemon threads:" \
  "$SERVER_THREADS; fake Graph API threads: $FAKE_THREADS; $SENDERS senders;" \
  "$measure_count bodies for the measurement (made in $((SECONDS - bodies_started)) s)"
echo

# --- baseline ----------------------------------------------------------------------------------
startMinimal "$SERVER_THREADS"
runWrk "$LUA" "$WRK_THREADS" "$CONNECTIONS" "$WARMUP" /webhooks/bench "$WORK/warm" wrap
cpu0=$(cpuMicros "$MINIMAL_PID")
runWrk "$LUA" "$WRK_THREADS" "$CONNECTIONS" "$DURATION" /webhooks/bench "$WORK/measure" wrap
cpu1=$(cpuMicros "$MINIMAL_PID")
MIN_RPS=$R_rps MIN_P50=$R_p50_us MIN_P99=$R_p99_us MIN_NON2XX=$R_non2xx
MIN_CPU=$(perUnit $((cpu1 - cpu0)) "$R_requests")
MIN_RSS=$(statusKb "$MINIMAL_PID" VmHWM)
stopPid "$MINIMAL_PID"

# --- the daemon against the fake ---------------------------------------------------------------
# Waits until every stored message has its reply (sent or failed); prints the milliseconds it
# took, or "timeout".
waitReplies() {  # <timeout seconds>
  local started deadline
  started=$(nowMs)
  deadline=$((started + $1 * 1000))
  while :; do
    readCounters
    if [ $((C_sent + C_failed)) -ge "$C_received" ]; then
      echo $(($(nowMs) - started))
      return 0
    fi
    if [ "$(nowMs)" -ge "$deadline" ]; then
      echo timeout
      return 0
    fi
    sleep 0.02
  done
}

ROWS=()  # "label rps p50 p99 cpu replies/s drain rss_kb"
# One daemon run on a fresh data_dir (so the same bodies are new to it): warm-up, wait for its
# replies, the measured run, wait again. <replies 0|1>: whether auto-reply is on.
measureDaemon() {  # <label> <auto_reply yaml> <replies 0|1>
  local label=$1 replies_on=$3
  rm -rf "$WORK/data"
  writeCloudApiConfig "$WORK/$label.yaml" "$WORK/data" "$FAKE_URL" 30s "$2" "$OUTBOX_YAML"
  startDaemon "$WORK/$label.yaml"
  runWrk "$LUA" "$WRK_THREADS" "$CONNECTIONS" "$WARMUP" /webhooks/bench "$WORK/warm"
  if [ "$replies_on" = 1 ]; then
    waitReplies "$DRAIN_TIMEOUT" >/dev/null
  fi
  readCounters
  local received0=$C_received dup0=$C_duplicates sent0=$C_sent failed0=$C_failed
  local cpu0 cpu1 fake_cpu0 fake_cpu1 window_sent drain_ms="-" drain="-" replies_rate="-"
  cpu0=$(cpuMicros "$DAEMON_PID")
  fake_cpu0=$(cpuMicros "$FAKE_PID")
  runWrk "$LUA" "$WRK_THREADS" "$CONNECTIONS" "$DURATION" /webhooks/bench "$WORK/measure"
  readCounters
  window_sent=$((C_sent - sent0))
  if [ "$replies_on" = 1 ]; then
    drain_ms=$(waitReplies "$DRAIN_TIMEOUT")
    drain=">${DRAIN_TIMEOUT}s"
    if [ "$drain_ms" != timeout ]; then
      drain=$(awk -v m="$drain_ms" 'BEGIN { printf "%.2fs", m / 1000 }')
    fi
    replies_rate=$(awk -v n="$window_sent" -v u="$R_duration_us" \
      'BEGIN { printf "%.0f", (u > 0 ? n * 1e6 / u : 0) }')
  fi
  cpu1=$(cpuMicros "$DAEMON_PID")
  fake_cpu1=$(cpuMicros "$FAKE_PID")
  readCounters
  local received=$((C_received - received0)) sent=$((C_sent - sent0))
  local cpu rss peak
  cpu=$(perUnit $((cpu1 - cpu0)) "$received")
  rss=$(statusKb "$DAEMON_PID" VmRSS)
  peak=$(($(statusKb "$DAEMON_PID" VmHWM) / 1024))
  ROWS+=("$label $R_rps $R_p50_us $R_p99_us $cpu $replies_rate $drain $rss")
  CHECKS+=("$label: wrk 2xx=$((R_requests - R_non2xx)) non2xx=$R_non2xx"
    "socket_errors=$R_socket_errors; daemon stored=$received"
    "duplicates=$((C_duplicates - dup0)) replies=$sent failed_replies=$((C_failed - failed0))"
    "peak_rss=${peak}MB")
  if [ "$replies_on" = 1 ]; then
    FAKE_CPU=$(perUnit $((fake_cpu1 - fake_cpu0)) "$sent")
  fi
  if [ "${R_exhausted:-0}" = 1 ]; then
    CHECKS+=("WARNING: $label used up the $measure_count bodies before wrk stopped, so its"
      "msgs/s is too low; rerun with BENCH_E2E_MAX_RATE above $MAX_RATE")
  fi
  stopPid "$DAEMON_PID"
}

# The floors: waflow-floor-server, the least any server can do for this benchmark (group commit
# of the body, 200, one send to the same fake; no signature check, no parsing, no outbox), with
# a bare journal file (row floor) or the least SQLite can do (row floor-sql). Their msgs/s bound
# what any implementation of the target can reach on this machine.
floorStats() {  # sets F_received F_sent F_failed from GET /stats
  local stats
  stats=$(curl -s "http://127.0.0.1:$PORT/stats")
  F_received=$(awk '$1 == "received" { print $2 }' <<<"$stats")
  F_sent=$(awk '$1 == "sent" { print $2 }' <<<"$stats")
  F_failed=$(awk '$1 == "failed" { print $2 }' <<<"$stats")
}
waitFloorReplies() {  # <timeout seconds>; prints the milliseconds it took, or "timeout"
  local started
  started=$(nowMs)
  while :; do
    floorStats
    if [ $((F_sent + F_failed)) -ge "$F_received" ]; then
      echo $(($(nowMs) - started))
      return 0
    fi
    if [ "$(nowMs)" -ge $((started + $1 * 1000)) ]; then
      echo timeout
      return 0
    fi
    sleep 0.02
  done
}
measureFloor() {  # <label> <store: journal|sqlite>
  local label=$1
  "$BUILD/bin/waflow-floor-server" --sink "$FAKE_URL" --phone-number-id "$BENCH_PHONE_NUMBER_ID" \
    --token bench-token --store "$2" --dir "$WORK" --threads "$SERVER_THREADS" --journal-mib 256 \
    >"$WORK/floor.out" 2>"$WORK/floor.err" &
  local pid=$! cpu0 cpu1 sent0 received0 drain_ms drain=">${DRAIN_TIMEOUT}s" replies_rate
  BENCH_PIDS+=("$pid")
  awaitOutput "$pid" 300 "$WORK/floor.err" waflow-floor-server head -1 "$WORK/floor.out"
  PORT=$AWAITED
  runWrk "$LUA" "$WRK_THREADS" "$CONNECTIONS" "$WARMUP" /webhooks/bench "$WORK/warm"
  waitFloorReplies "$DRAIN_TIMEOUT" >/dev/null
  floorStats
  sent0=$F_sent received0=$F_received
  cpu0=$(cpuMicros "$pid")
  runWrk "$LUA" "$WRK_THREADS" "$CONNECTIONS" "$DURATION" /webhooks/bench "$WORK/measure"
  floorStats
  replies_rate=$(awk -v n="$((F_sent - sent0))" -v u="$R_duration_us" \
    'BEGIN { printf "%.0f", (u > 0 ? n * 1e6 / u : 0) }')
  drain_ms=$(waitFloorReplies "$DRAIN_TIMEOUT")
  if [ "$drain_ms" != timeout ]; then
    drain=$(awk -v m="$drain_ms" 'BEGIN { printf "%.2fs", m / 1000 }')
  fi
  cpu1=$(cpuMicros "$pid")
  floorStats
  local cpu
  cpu=$(perUnit $((cpu1 - cpu0)) $((F_received - received0)))
  ROWS+=("$label $R_rps $R_p50_us $R_p99_us $cpu $replies_rate $drain $(statusKb "$pid" VmRSS)")
  CHECKS+=("$label: wrk 2xx=$((R_requests - R_non2xx)) non2xx=$R_non2xx"
    "socket_errors=$R_socket_errors; stored=$((F_received - received0))"
    "replies=$((F_sent - sent0)) failed_replies=$F_failed")
  stopPid "$pid"
}

CHECKS=()
startFake fake --threads "$FAKE_THREADS" --token bench-token --sends-file "$WORK/sends.tsv"
measureDaemon ingest "{ enabled: false }" 0
measureDaemon end2end "$REPLY_YAML" 1
if [ -x "$BUILD/bin/waflow-floor-server" ]; then
  measureFloor floor journal
  measureFloor floor-sql sqlite
fi
stopPid "$FAKE_PID"

# Every reply the fake accepted, once: wamids it issued and the callback data (the outbox id,
# channel-cloudapi sends it) must be unique.
fake_ok=$(fakeCount fake succeeded)
fake_failed=$(fakeCount fake failed)
dup_wamids=$(awk -F'\t' '$1 == 200 { print $3 }' "$WORK/sends.tsv" | sort | uniq -d | wc -l)
dup_ids=$(awk -F'\t' '$1 == 200 && $4 != "" { print $4 }' "$WORK/sends.tsv" | sort | uniq -d |
  wc -l)

mb() {
  awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}
row() {  # label rps p50 p99 cpu ratio replies/s drain rss_kb
  printf '%-9s %10.0f %9s %9s %12s %7s %11s %9s %8s\n' "$1" "$2" "$(ms "$3")" "$(ms "$4")" \
    "$5" "$6" "$7" "$8" "$(mb "$9")"
}
printf '%-9s %10s %9s %9s %12s %7s %11s %9s %8s\n' server "msgs/s" p50 p99 "CPU µs/msg" \
  "vs min" "replies/s" drain "RSS MB"
row minimal "$MIN_RPS" "$MIN_P50" "$MIN_P99" "$MIN_CPU" 100% - - "$MIN_RSS"
for r in "${ROWS[@]}"; do
  read -r label rps p50 p99 cpu rate drain rss <<<"$r"
  ratio=$(awk -v a="$rps" -v b="$MIN_RPS" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b;
    else print "-" }')
  row "$label" "$rps" "$p50" "$p99" "$cpu" "$ratio" "$rate" "$drain" "$rss"
done
echo
echo "checks (minimal non2xx=$MIN_NON2XX):"
sep=""
for c in "${CHECKS[@]}"; do
  case $c in
    ingest:* | end2end:* | floor:* | floor-sql:* | WARNING:*) printf '%s  %s' "$sep" "$c" ;;
    *) printf ' %s' "$c" ;;
  esac
  sep=$'\n'
done
echo
echo "  fake Graph API (end2end and floor): succeeded=$fake_ok failed=$fake_failed duplicate_wamids=$dup_wamids" \
  "duplicate_callback_ids=$dup_ids; $FAKE_CPU µs CPU per reply"
echo
echo "minimal = waflow-minimal-server; ingest = waflow, auto_reply disabled (signature check,"
echo "  parse, durable inbox); end2end = waflow with auto_reply text, outbox and sends to the fake;"
echo "  floor = waflow-floor-server: each group of bodies made durable with one pwritev + fdatasync"
echo "  of a journal file, 200, one send to the same fake, nothing else; floor-sql = the same with"
echo "  the least SQLite can do (one table, unique id, WAL, synchronous=FULL, a group per"
echo "  transaction). No implementation of the target beats its floor on this machine."
echo "msgs/s = webhooks answered 2xx per second (the daemon answers only after the message is"
echo "  committed and synced in SQLite); replies/s = replies the fake accepted while wrk ran;"
echo "  drain = time after wrk stopped until every stored message had its reply; CPU µs/msg ="
echo "  the server's utime+stime over the run (end2end: until drained) / messages stored;"
echo "  RSS: minimal peak, daemon at the end. stored can exceed wrk's 2xx by up to the"
echo "  connection count: requests in flight when wrk stopped are stored but not counted by wrk."
echo "wrk, the fake Graph API and the daemon share the $(nproc) cores: the ratio and CPU µs/msg"
echo "  carry over to a dedicated server, msgs/s does not."
echo "$OUTBOX_NOTE; average body $AVG_BODY bytes, valid X-Hub-Signature-256 on each"
echo "targets: end2end >= 20,000 msgs/s acknowledged durably with replies keeping up; >= 30% of"
echo "  minimal (end-to-end benchmark took $SECONDS s)"
