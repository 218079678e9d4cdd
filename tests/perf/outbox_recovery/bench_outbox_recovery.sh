#!/usr/bin/env bash
# Recovery benchmark: time to deliver 100,000 pending replies after a kill -9.
#
#   tests/perf/outbox_recovery/bench_outbox_recovery.sh <build-dir>
#
# 1. fill:    the daemon (channel-cloudapi, storage-sqlite, auto_reply echo) runs against a
#             waflow-fake-graph-api that cannot deliver, while wrk posts N signed webhooks
#             (distinct ids and texts); every one is acknowledged (stored), none answered.
# 2. crash:   kill -9 of the daemon, the failing fake stopped.
# 3. recover: a fresh fake that accepts everything, the daemon started again on the same
#             data_dir; measured from its start until the fake has accepted all N replies.
#             Then both are stopped and the fake's record is checked: exactly N accepted, no
#             reply twice (each echoes its message's unique text), no callback id twice.
#
# How the fake cannot deliver during the fill (BENCH_RECOVERY_FILL):
#   error  it answers every send 500 + 131000; the outbox keeps the replies pending (outbox:
#          rate_limit 1, retry_initial 100ms, retry_max 1s, max_attempts 100, so rows stay due
#          and none gives up). Needs the daemon's durable outbox.
#   hang   it never answers (the channel's timeout is 10m): the auto-reply holds each
#          conversation and the messages stay pending in the inbox. For daemons without the
#          outbox, whose replies are not durable until handed to the channel.
#   auto   (default) error when the daemon has the outbox (its binary knows the metric
#          waflow_outbox_sent_total), hang otherwise.
#
# Environment knobs: BENCH_RECOVERY_MESSAGES=100000  BENCH_RECOVERY_FILL=auto
#   BENCH_WRK_THREADS=2  BENCH_RECOVERY_CONNECTIONS=64  BENCH_SERVER_THREADS=2
#   BENCH_FAKE_THREADS=1  BENCH_SENDERS=10000  BENCH_RECOVERY_TIMEOUT=600 (seconds per phase)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
source "$HERE/../lib/bench_lib.sh"
benchInit bench_outbox_recovery "${1:-}"
LUA="$HERE/../end_to_end/signed_webhook.lua"

MESSAGES=${BENCH_RECOVERY_MESSAGES:-100000}
FILL=${BENCH_RECOVERY_FILL:-auto}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
CONNECTIONS=${BENCH_RECOVERY_CONNECTIONS:-64}
SERVER_THREADS=${BENCH_SERVER_THREADS:-2}
FAKE_THREADS=${BENCH_FAKE_THREADS:-1}
SENDERS=${BENCH_SENDERS:-10000}
TIMEOUT=${BENCH_RECOVERY_TIMEOUT:-600}

requireTools wrk curl ss
requireBinaries waflow waflow waflow-fake-graph-api waflow-fake-graph-api \
  waflow-bench-signed-webhooks waflow_bench_signed_webhooks
requirePlugins channel-cloudapi storage-sqlite

if [ "$FILL" = auto ]; then
  FILL=hang
  if grep -q waflow_outbox_sent_total "$WAFLOW"; then
    FILL=error
  fi
fi
case $FILL in
  error) FAKE_FAULT=(--server-error 1.0) ;;
  hang) FAKE_FAULT=(--no-answer 1.0) ;;
  *) benchDie "BENCH_RECOVERY_FILL must be auto, error or hang, not '$FILL'" ;;
esac

AVG_BODY=$(makeSignedBodies "$WORK/bodies" "$MESSAGES" "r$$")

writeConfig() {  # <file> <base_url> <channel timeout> <outbox yaml or "">
  writeCloudApiConfig "$1" "$WORK/data" "$2" "$3" "{ mode: echo }" "$4"
}

# The outbox settings of each phase, kept only when this daemon's `waflow validate` knows them.
# rate_limit 1 during the fill: 100,000 failing replies retried at most 1 s apart would keep the
# sender and the storage writer busy with retries and starve the webhooks (about 170 stored per
# second when tried); at 1 send a second the replies stay pending and due.
FILL_OUTBOX="outbox: { rate_limit: 1, recipient_burst: 0, retry_initial: 100ms, retry_max: 1s,"
FILL_OUTBOX+=" max_attempts: 100 }"
# No status webhook can prove that a send interrupted by the crash arrived (the failing fake
# accepted none), so waiting for one would only add in_doubt_grace to the figure.
DRAIN_OUTBOX="outbox: { rate_limit: 0, recipient_burst: 0, in_doubt_grace: 0s }"
OUTBOX_NOTE="fill $FILL_OUTBOX; recovery $DRAIN_OUTBOX"
writeConfig "$WORK/probe.yaml" http://127.0.0.1:9 30s "$FILL_OUTBOX"
if ! validates "$WORK/probe.yaml"; then
  OUTBOX_NOTE="no outbox section: $(head -1 "$WORK/validate.err")"
  FILL_OUTBOX="" DRAIN_OUTBOX=""
fi
if [ "$FILL" = error ] && [ -z "$FILL_OUTBOX" ]; then
  benchDie "BENCH_RECOVERY_FILL=error needs the daemon's outbox settings ($OUTBOX_NOTE)"
fi

echo "== outbox recovery benchmark: $MESSAGES pending replies delivered after kill -9 =="
machineLine
echo "fill: the fake Graph API $([ "$FILL" = error ] && echo "answers every send 500" ||
  echo "never answers"); $MESSAGES signed webhooks (average $AVG_BODY bytes, $SENDERS senders)" \
  "posted by wrk -t$WRK_THREADS -c$CONNECTIONS; daemon threads $SERVER_THREADS," \
  "fake threads $FAKE_THREADS"
echo

# --- 1. fill -----------------------------------------------------------------------------------
startFake fill --threads "$FAKE_THREADS" --token bench-token "${FAKE_FAULT[@]}"
FILL_TIMEOUT_SETTING=30s
if [ "$FILL" = hang ]; then
  FILL_TIMEOUT_SETTING=10m
fi
writeConfig "$WORK/fill.yaml" "$FAKE_URL" "$FILL_TIMEOUT_SETTING" "$FILL_OUTBOX"
startDaemon "$WORK/fill.yaml"
fill_started=$(nowMs)
# wrk runs until the daemon has stored every body, or stored no more for 5 s (a wrk thread stops
# at the end of its file and may drop a request it had built but not written); wrk itself would
# wait out -d, so it is interrupted then. The recovery then expects as many replies as stored.
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${TIMEOUT}s" -s "$LUA" "http://127.0.0.1:$PORT" -- \
  /webhooks/bench "$WORK/bodies" once >"$WORK/wrk-fill.out" 2>&1 &
WRK_PID=$!
BENCH_PIDS+=("$WRK_PID")
deadline=$((fill_started + TIMEOUT * 1000))
last_stored=-1 last_change=$(nowMs)
while [ "$(nowMs)" -lt "$deadline" ]; do
  readCounters
  [ "$C_received" -ge "$MESSAGES" ] && break
  if [ "$C_received" != "$last_stored" ]; then
    last_stored=$C_received last_change=$(nowMs)
  elif [ $(($(nowMs) - last_change)) -ge 5000 ]; then
    break
  fi
  sleep 0.2
done
fill_ms=$(($(nowMs) - fill_started))
stopPid "$WRK_PID" INT
readCounters
stored=$C_received fill_sent=$C_sent
if [ "$stored" -lt $((MESSAGES * 99 / 100)) ]; then
  cat "$WORK/wrk-fill.out" >&2
  benchDie "only $stored of $MESSAGES webhooks were stored within ${TIMEOUT}s"
fi
EXPECTED=$stored
# Let the sender claim and fail a round of sends, so the crash interrupts some in flight.
sleep 1
crashPid "$DAEMON_PID"
stopPid "$FAKE_PID"
fill_attempts=$(fakeCount fill sends)

# --- 2. recover --------------------------------------------------------------------------------
startFake drain --threads "$FAKE_THREADS" --token bench-token --sends-file "$WORK/sends.tsv"
writeConfig "$WORK/recover.yaml" "$FAKE_URL" 30s "$DRAIN_OUTBOX"
recover_started=$(nowMs)
startDaemon "$WORK/recover.yaml"
ready_ms=$(($(nowMs) - recover_started))
cpu0=$(cpuMicros "$DAEMON_PID")
deadline=$((recover_started + TIMEOUT * 1000))
delivered=0 failed=0
while :; do
  readCounters
  delivered=$C_sent failed=$C_failed
  [ $((delivered + failed)) -ge "$EXPECTED" ] && break
  if [ "$(nowMs)" -ge "$deadline" ]; then
    echo "WARNING: after ${TIMEOUT}s only $delivered of $EXPECTED replies were delivered" \
      "($failed failed)" >&2
    break
  fi
  sleep 0.05
done
drain_ms=$(($(nowMs) - recover_started))
cpu1=$(cpuMicros "$DAEMON_PID")
readCounters
new_messages=$C_received
rss=$(statusKb "$DAEMON_PID" VmHWM)
# A moment for anything sent twice to show up at the fake before it is stopped.
sleep 1
stopPid "$DAEMON_PID"
stopPid "$FAKE_PID"

fake_ok=$(fakeCount drain succeeded)
distinct_texts=$(awk -F'\t' '$1 == 200 { print $5 }' "$WORK/sends.tsv" | sort -u | wc -l)
dup_texts=$(awk -F'\t' '$1 == 200 { print $5 }' "$WORK/sends.tsv" | sort | uniq -d | wc -l)
dup_ids=$(awk -F'\t' '$1 == 200 && $4 != "" { print $4 }' "$WORK/sends.tsv" | sort | uniq -d |
  wc -l)
recipients=$(awk -F'\t' '$1 == 200 { print $2 }' "$WORK/sends.tsv" | sort -u | wc -l)

rate=$(awk -v n="$fake_ok" -v m="$drain_ms" 'BEGIN { printf "%.0f", (m > 0 ? n * 1000 / m : 0) }')
secs() {  # <ms> <decimals>
  awk -v m="$1" -v d="$2" 'BEGIN { printf "%.*f s", d, m / 1000 }'
}
printf '%-36s %s\n' "fill: webhooks stored" \
  "$stored in $(secs "$fill_ms" 1) ($fill_sent replies delivered, $fill_attempts sends refused)"
printf '%-36s %s\n' "restart until /healthz answers" "$(secs "$ready_ms" 2)"
printf '%-36s %s\n' "restart until all replies delivered" \
  "$(secs "$drain_ms" 2) ($rate replies/s)"
printf '%-36s %s\n' "daemon CPU µs per reply (drain)" "$(perUnit $((cpu1 - cpu0)) "$fake_ok")"
printf '%-36s %s\n' "daemon peak RSS (drain)" "$((rss / 1024)) MB"
echo
echo "checks: fake accepted=$fake_ok (expected $EXPECTED) distinct_texts=$distinct_texts" \
  "duplicate_texts=$dup_texts duplicate_callback_ids=$dup_ids recipients=$recipients;" \
  "daemon delivered=$delivered failed=$failed new_messages_after_restart=$new_messages"
if [ "$fake_ok" = "$EXPECTED" ] && [ "$distinct_texts" = "$EXPECTED" ] && [ "$dup_texts" = 0 ] &&
  [ "$dup_ids" = 0 ]; then
  echo "exactly once: every pending reply delivered once"
else
  echo "NOT exactly once: see the checks above"
fi
echo "fill mode $FILL; $OUTBOX_NOTE"
echo "wrk, the fake and the daemon share the $(nproc) cores."
echo "(outbox recovery benchmark took $SECONDS s)"
