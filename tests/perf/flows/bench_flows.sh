#!/usr/bin/env bash
# Flow benchmark: what the flow engine adds to the cost of answering a message. The same wrk
# load (distinct Cloud API webhooks to the sandbox channel, a fixed pool of returning contacts,
# texts the customer-service FAQ answers) drives the daemon twice in one run, each on a fresh
# data_dir with the durable inbox and outbox of storage-sqlite:
#   auto-reply  flows: {enabled: false}; auto_reply mode text with a keyword map: one reply per
#               message (the plain path of the Cloud API benchmarks). The baseline.
#   flows       the repository's flows/ (customer_service, opt_out, lead_qualification,
#               order_payment) and scripts/, the shop open all day (SHOP_DAYS=daily,
#               SHOP_OPENS=00:00, SHOP_CLOSES=24:00): each message runs customer_service's
#               keyword FAQ and gets one reply (text, image or list message); no AI.
# The warm-up sends every contact its first message (the flow greets it and sets `greeted`), so
# the measured run sees the steady state: returning contacts, several messages each.
#
#   tests/perf/flows/bench_flows.sh <build-dir>
#
# Printed per daemon: messages/s stored while wrk ran, messages/s and replies/s answered (from
# the start of the load until every reply was sent to the sandbox), the drain after wrk stopped,
# p50/p99 webhook latency, CPU µs per message (utime+stime from /proc until drained) and RSS;
# then the flow engine's overhead = (flows CPU/msg - auto-reply CPU/msg) / auto-reply CPU/msg.
# Target: < 20 %.
#
# Environment knobs (defaults keep the run around half a minute):
#   BENCH_DURATION=8s  BENCH_WARMUP=3s  BENCH_FLOW_CONNECTIONS=64  BENCH_WRK_THREADS=2
#   BENCH_SERVER_THREADS=2  BENCH_FLOW_CONTACTS=2000  BENCH_FLOW_ROUNDS=1 (auto-reply and flows
#   alternate this many times; the overhead uses the totals)  BENCH_FLOW_DRAIN_TIMEOUT=120 (s)
#   BENCH_FLOWS_DIR, BENCH_SCRIPTS_DIR (default: the repository's flows/ and scripts/)
#   BENCH_FLOW_PERF=1: `perf record` each daemon's measured run into $BUILD/perf-flows/ and print
#   the top of `perf report --no-children` (the CPU figures then include perf's own cost);
#   BENCH_FLOW_PERF_OPTS="-g" are its record options (e.g. "--call-graph dwarf -F 999")
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
# shellcheck source-path=SCRIPTDIR
source "$HERE/../lib/bench_lib.sh"
benchInit bench_flows "${1:-}"
LUA="$HERE/flow_messages.lua"

DURATION=${BENCH_DURATION:-8s}
WARMUP=${BENCH_WARMUP:-3s}
CONNECTIONS=${BENCH_FLOW_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
SERVER_THREADS=${BENCH_SERVER_THREADS:-2}
CONTACTS=${BENCH_FLOW_CONTACTS:-2000}
ROUNDS=${BENCH_FLOW_ROUNDS:-1}
DRAIN_TIMEOUT=${BENCH_FLOW_DRAIN_TIMEOUT:-120}
FLOWS_DIR=${BENCH_FLOWS_DIR:-$ROOT/flows}
SCRIPTS_DIR=${BENCH_SCRIPTS_DIR:-$ROOT/scripts}
PERF=${BENCH_FLOW_PERF:-0}
PERF_OPTS=${BENCH_FLOW_PERF_OPTS:--g}
PERF_DIR=$BUILD/perf-flows

requireTools wrk curl ss
requireBinaries waflow waflow
requirePlugins channel-sandbox storage-sqlite
if [ "$PERF" = 1 ]; then
  requireTools perf
  mkdir -p "$PERF_DIR"
fi
[ -f "$FLOWS_DIR/customer_service.yaml" ] ||
  benchDie "$FLOWS_DIR/customer_service.yaml is missing; set BENCH_FLOWS_DIR to the flows folder"

# The shop is open around the clock, so customer_service answers from its FAQ at any hour.
export SHOP_DAYS=daily SHOP_OPENS=00:00 SHOP_CLOSES=24:00

# The auto-reply answers the same questions from its keyword map (one reply each, text only);
# anything else gets the fixed text. The flows daemon keeps it for messages no flow takes.
AUTO_REPLY_YAML=$(
  cat <<'YAML'
auto_reply:
  mode: text
  text: "Terima kasih, pesan Kakak sudah kami terima. Kami balas secepatnya."
  keywords:
    harga: "Ini daftar harga kami: bolu pandan Rp85.000, black forest Rp150.000."
    menu: "Ini daftar harga kami: bolu pandan Rp85.000, black forest Rp150.000."
    buka: "Kami buka Senin-Sabtu pukul 08.00-20.00 WIB. Minggu dan tanggal merah tutup."
    tutup: "Kami buka Senin-Sabtu pukul 08.00-20.00 WIB. Minggu dan tanggal merah tutup."
    dimana: "Alamat kami: Jl. Melati No. 12, Bandung."
    lokasi: "Alamat kami: Jl. Melati No. 12, Bandung."
YAML
)

writeConfig() {  # <file> <data_dir> <flows yaml>
  cat >"$1" <<YAML
server: { listen: 127.0.0.1:0, threads: $SERVER_THREADS }
log: { level: warn }
data_dir: $2
channels: { sandbox: { plugin: channel-sandbox, config: { mailbox_limit: 1 } } }
flows_dir: $FLOWS_DIR
scripts_dir: $SCRIPTS_DIR
$3
$AUTO_REPLY_YAML
# No rate limit or per-recipient pacing: the benchmark measures the daemon, not Meta's limits.
outbox: { rate_limit: 0, recipient_burst: 0 }
YAML
}

for label in auto-reply flows; do
  flows_yaml="flows: { enabled: false }"
  [ "$label" = flows ] && flows_yaml="flows: { enabled: true }"
  writeConfig "$WORK/$label.yaml" "$WORK/data-$label" "$flows_yaml"
  validates "$WORK/$label.yaml" || {
    cat "$WORK/validate.err" >&2
    benchDie "waflow validate refused the $label config ($WORK/$label.yaml)"
  }
done

# Counters beyond readCounters: the flow engine's runs, failed steps and messages no flow took.
F_runs=0 F_failures=0 F_unhandled=0 F_idle=0
readFlowCounters() {
  local text
  text=$(metricsText)
  F_runs=$(sumMetric waflow_flow_runs_total <<<"$text")
  F_failures=$(sumMetric waflow_flow_step_failures_total <<<"$text")
  F_unhandled=$(sumMetric waflow_flow_unhandled_total <<<"$text")
  F_idle=$(sumMetric 'waflow_bus_queued_events|waflow_bus_in_flight_events|waflow_outbox_backlog' \
    <<<"$text")
}

# Waits until every stored message has its reply and the bus and the outbox are empty, with the
# counters unchanged over three reads 50 ms apart (a flow's storage calls run outside the bus
# handler); prints the milliseconds it took, or "timeout".
waitAnswered() {  # <timeout seconds>
  local started deadline stable=0 last=""
  started=$(nowMs)
  deadline=$((started + $1 * 1000))
  while :; do
    readCounters
    readFlowCounters
    local now="$C_received $C_sent $C_failed $F_runs"
    if [ $((C_sent + C_failed)) -ge "$C_received" ] && [ "$F_idle" = 0 ] &&
      [ "$now" = "$last" ]; then
      stable=$((stable + 1))
      if [ "$stable" -ge 2 ]; then
        local took=$(($(nowMs) - started - 100))
        echo $((took < 0 ? 0 : took))
        return 0
      fi
    else
      stable=0
    fi
    last=$now
    if [ "$(nowMs)" -ge "$deadline" ]; then
      echo timeout
      return 0
    fi
    sleep 0.05
  done
}

# CPU time of the whole machine (every process, all cores) in microseconds, from /proc/stat:
# user+nice+system+irq+softirq+steal.
machineBusyMicros() {
  awk -v hz="$CLK_TCK" '$1 == "cpu" { printf "%.0f\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1e6 / hz }' \
    /proc/stat
}

RUN=0
wrkLoad() {  # <duration>
  RUN=$((RUN + 1))
  runWrk "$LUA" "$WRK_THREADS" "$CONNECTIONS" "$1" "$CONTACTS" "r$RUN.$$"
}

declare -A TOTAL_CPU TOTAL_MSGS TOTAL_MS TOTAL_REPLIES
ROWS=()
CHECKS=()
# One daemon on a fresh data_dir: warm-up until every contact has written (and, with flows, been
# greeted), wait for the replies, then the measured run and the wait for its replies.
measureDaemon() {  # <label> <round>
  local label=$1 round=$2
  rm -rf "$WORK/data-$label"
  startDaemon "$WORK/$label.yaml"

  # Each wrk thread must visit every contact once: warm up until the daemon has stored 1.5x
  # threads x contacts messages (the threads' shares differ a little).
  local warm_target=$((WRK_THREADS * CONTACTS * 3 / 2)) warm_runs=0
  while :; do
    wrkLoad "$WARMUP"
    warm_runs=$((warm_runs + 1))
    readCounters
    [ "$C_received" -ge "$warm_target" ] && break
    [ "$warm_runs" -ge 10 ] && benchDie "$label: the warm-up stored only $C_received messages" \
      "in $warm_runs runs of $WARMUP (needed $warm_target)"
  done
  local warm_drain
  warm_drain=$(waitAnswered "$DRAIN_TIMEOUT")
  [ "$warm_drain" = timeout ] && benchDie "$label: the warm-up's replies did not all go out"
  readCounters
  readFlowCounters
  local warm_received=$C_received warm_sent=$C_sent
  local received0=$C_received dup0=$C_duplicates sent0=$C_sent failed0=$C_failed
  local runs0=$F_runs failures0=$F_failures unhandled0=$F_unhandled

  local perf_pid=""
  if [ "$PERF" = 1 ]; then
    # shellcheck disable=SC2086  # options, split on purpose
    perf record $PERF_OPTS -q -o "$PERF_DIR/$label.$round.data" -p "$DAEMON_PID" \
      >"$WORK/perf-$label.log" 2>&1 &
    perf_pid=$!
    sleep 0.5
  fi

  local cpu0 cpu1 t0 t1 drain_ms window_sent busy0 busy1
  busy0=$(machineBusyMicros)
  cpu0=$(cpuMicros "$DAEMON_PID")
  t0=$(nowMs)
  wrkLoad "$DURATION"
  readCounters
  window_sent=$((C_sent - sent0))
  drain_ms=$(waitAnswered "$DRAIN_TIMEOUT")
  t1=$(nowMs)
  cpu1=$(cpuMicros "$DAEMON_PID")
  busy1=$(machineBusyMicros)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
  fi
  [ "$drain_ms" = timeout ] && drain_ms=$((DRAIN_TIMEOUT * 1000))
  t1=$((t1 - 100))  # waitAnswered's confirming reads are not work

  readCounters
  readFlowCounters
  local msgs=$((C_received - received0)) replies=$((C_sent - sent0))
  local cpu=$((cpu1 - cpu0)) elapsed=$((t1 - t0))
  local stored_rate answered_rate replies_rate
  stored_rate=$(awk -v n="$msgs" -v u="$R_duration_us" \
    'BEGIN { printf "%.0f", u ? n * 1e6 / u : 0 }')
  answered_rate=$(awk -v n="$msgs" -v m="$elapsed" 'BEGIN { printf "%.0f", m ? n * 1e3 / m : 0 }')
  replies_rate=$(awk -v n="$replies" -v m="$elapsed" 'BEGIN { printf "%.0f", m ? n * 1e3 / m : 0 }')
  TOTAL_CPU[$label]=$((${TOTAL_CPU[$label]:-0} + cpu))
  TOTAL_MSGS[$label]=$((${TOTAL_MSGS[$label]:-0} + msgs))
  TOTAL_REPLIES[$label]=$((${TOTAL_REPLIES[$label]:-0} + replies))
  TOTAL_MS[$label]=$((${TOTAL_MS[$label]:-0} + elapsed))
  ROWS+=("$label#$round $stored_rate $answered_rate $replies_rate $drain_ms $R_p50_us $R_p99_us \
$(perUnit "$cpu" "$msgs") $(perUnit "$cpu" "$replies") $(statusKb "$DAEMON_PID" VmRSS) \
$(statusKb "$DAEMON_PID" VmHWM) \
$(awk -v c="$cpu" -v b=$((busy1 - busy0)) -v m="$elapsed" \
    'BEGIN { printf "%.2f/%.2f", m ? c / (m * 1e3) : 0, m ? b / (m * 1e3) : 0 }')")
  local check="$label#$round: wrk 2xx=$((R_requests - R_non2xx)) non2xx=$R_non2xx"
  check+=" socket_errors=$R_socket_errors; stored=$msgs duplicates=$((C_duplicates - dup0))"
  check+=" replies=$replies (while wrk ran: $window_sent) failed=$((C_failed - failed0))"
  if [ "$label" = flows ]; then
    check+="; flow runs=$((F_runs - runs0)) step_failures=$((F_failures - failures0))"
    check+=" unhandled=$((F_unhandled - unhandled0)); warm-up: $warm_received messages,"
    check+=" $((warm_sent - warm_received)) greetings for $CONTACTS contacts"
  fi
  CHECKS+=("$check")
  if [ "$replies" -ne "$msgs" ]; then
    CHECKS+=("WARNING: $label#$round sent $replies replies for $msgs messages, not one each: the
    two paths did different work")
  fi
  stopPid "$DAEMON_PID"
}

echo "== flow benchmark: customer-service flow vs. plain auto-reply, sandbox channel, no AI =="
echo "machine: $(nproc) cores shared by wrk and the daemon (load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg))"
echo "wrk: -t$WRK_THREADS -c$CONNECTIONS -d$DURATION (after warm-ups of $WARMUP that greet every" \
  "contact); daemon threads: $SERVER_THREADS; $CONTACTS contacts; flows: $FLOWS_DIR"
echo

for round in $(seq "$ROUNDS"); do
  measureDaemon auto-reply "$round"
  measureDaemon flows "$round"
done

mb() {
  awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}
printf '%-13s %9s %10s %10s %7s %8s %8s %11s %13s %7s %8s %10s\n' daemon "stored/s" \
  "answered/s" "replies/s" drain p50 p99 "CPU µs/msg" "CPU µs/reply" "RSS MB" "peak MB" \
  "cores d/all"
for r in "${ROWS[@]}"; do
  read -r label stored answered rrate drain p50 p99 cpu cpu_reply rss peak cores <<<"$r"
  printf '%-13s %9s %10s %10s %6.2fs %8s %8s %11s %13s %7s %8s %10s\n' "$label" "$stored" \
    "$answered" "$rrate" "$(awk -v m="$drain" 'BEGIN { print m / 1000 }')" "$(ms "$p50")" \
    "$(ms "$p99")" "$cpu" "$cpu_reply" "$(mb "$rss")" "$(mb "$peak")" "$cores"
done
echo
echo "checks:"
for c in "${CHECKS[@]}"; do
  echo "  $c"
done
echo
auto_cpu=$(perUnit "${TOTAL_CPU[auto-reply]}" "${TOTAL_MSGS[auto-reply]}")
flow_cpu=$(perUnit "${TOTAL_CPU[flows]}" "${TOTAL_MSGS[flows]}")
auto_rate=$(awk -v n="${TOTAL_MSGS[auto-reply]}" -v m="${TOTAL_MS[auto-reply]}" \
  'BEGIN { printf "%.0f", m ? n * 1e3 / m : 0 }')
flow_rate=$(awk -v n="${TOTAL_MSGS[flows]}" -v m="${TOTAL_MS[flows]}" \
  'BEGIN { printf "%.0f", m ? n * 1e3 / m : 0 }')
awk -v a="$auto_cpu" -v f="$flow_cpu" -v ar="$auto_rate" -v fr="$flow_rate" 'BEGIN {
  printf "flow engine overhead: %.1f µs CPU per message (%.1f vs %.1f), %+.1f %% of the" \
    " auto-reply path (target < 20 %%)\n", f - a, f, a, 100 * (f - a) / a
  printf "answered messages/s: flows %d vs auto-reply %d (%.0f %%)\n", fr, ar, 100 * fr / ar
}'
echo
echo "auto-reply = flows disabled, auto_reply text with a keyword map; flows = the repository's"
echo "  flows/ and scripts/, customer_service answering from its keyword FAQ (no AI). Both: the"
echo "  sandbox channel, durable inbox and outbox (storage-sqlite), rate limit off."
echo "stored/s = messages stored per second while wrk ran; answered/s and replies/s = messages and"
echo "  replies from the start of the load until every reply was sent to the sandbox; drain = the"
echo "  part of that after wrk stopped; CPU µs/msg = the daemon's utime+stime over the same span"
echo "  / messages; RSS at the end and peak (VmHWM); cores d/all = cores the daemon / the whole"
echo "  machine (wrk and any other process too) kept busy over that span. wrk and the daemon share"
echo "  the $(nproc) cores: the overhead % and CPU µs/msg carry over to a dedicated server, msgs/s"
echo "  does not (and falls when something else keeps the cores busy)."
if [ "$PERF" = 1 ]; then
  echo
  echo "perf was recording (figures above include its cost); profiles in $PERF_DIR:"
  for f in "$PERF_DIR"/*.data; do
    echo "---- $(basename "$f"): perf report --no-children --sort comm, then dso,symbol (top 40)"
    perf report -i "$f" --no-children -g none --sort comm --stdio 2>/dev/null |
      grep -E '^ +[0-9.]+%' | sed 's/ *$//' || true
    perf report -i "$f" --no-children -g none --sort dso,symbol --stdio 2>/dev/null |
      grep -E '^ +[0-9.]+%' | cut -c1-160 | sed 's/ *$//' | head -40 || true
  done
fi
echo "(flow benchmark took $SECONDS s)"
