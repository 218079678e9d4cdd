-- The result line of the wrk webhook scripts, shared so that tests/perf/lib/bench_lib.sh reads
-- every script's output the same way. Load it from a wrk script with
--   dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../lib/webhook_result.lua")
-- and call it from done():
--   webhookResult(summary, latency, requests_with_bodies, body_bytes, {posted = 10, ...})
-- It prints one line "WEBHOOK_RESULT key=value ..." (latencies in µs); extra fields follow.

function webhookResult(summary, latency, generated, bytes, extra)
  local e = summary.errors
  local line = string.format(
    "WEBHOOK_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d " ..
      "max_us=%d non2xx=%d socket_errors=%d avg_body_bytes=%d",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout,
    generated > 0 and math.floor(bytes / generated) or 0)
  for key, value in pairs(extra or {}) do
    line = line .. " " .. key .. "=" .. tostring(value)
  end
  io.write(line .. "\n")
end
