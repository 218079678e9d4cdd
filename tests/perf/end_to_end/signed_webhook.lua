-- wrk script that posts pre-signed WhatsApp Cloud API webhooks (made by
-- waflow-bench-signed-webhooks) to channel-cloudapi, which verifies X-Hub-Signature-256 and so
-- cannot be fed the generated-on-the-fly bodies of webhook.lua (LuaJIT has no HMAC).
--
-- Each wrk thread reads its own file <prefix>.<thread> ("sha256=<hex>\t<body>" per line) one
-- line per request, so message ids never repeat across threads and memory stays flat.
--
-- Usage: wrk -t2 -c64 -d8s -s signed_webhook.lua http://127.0.0.1:PORT -- path prefix [mode]
--   path    request path, e.g. /webhooks/bench
--   prefix  body files written by waflow-bench-signed-webhooks --out <prefix>
--   mode    "once" (default): a thread whose file is used up stops and the run is flagged
--           exhausted=1 (wrk still waits out -d, so requests/s then reads too low: generate
--           more bodies); "wrap": start the file again (for servers that do not deduplicate).
-- done() prints the line of tests/perf/lib/webhook_result.lua, with posted= (bodies sent) and
-- exhausted= (1 when a thread used up its file).

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../lib/webhook_result.lua")

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1] or "/webhooks/bench"
  local prefix = args[2] or error("signed_webhook.lua: the body file prefix is required")
  wrap = args[3] == "wrap"
  local name = prefix .. "." .. (thread_index or 1)
  file = io.open(name, "rb") or error("signed_webhook.lua: cannot open " .. name)
  head = "POST " .. path .. " HTTP/1.1\r\n" ..
    "Host: 127.0.0.1\r\n" ..
    "User-Agent: facebookexternalua\r\n" ..
    "Accept: */*\r\n" ..
    "Content-Type: application/json\r\n" ..
    "X-Hub-Signature-256: "
  -- Once the file is used up (mode once): a request the daemon answers without storing anything.
  spent = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
  n = 0
  body_bytes = 0
  exhausted = 0
end

function request()
  local line = file:read("*l")
  if line == nil and wrap then
    file:seek("set", 0)
    line = file:read("*l")
  end
  if line == nil then
    -- The thread stops; a request another of its connections had built but not yet written
    -- may be dropped, so count what the server stored, not the lines of the file.
    exhausted = 1
    wrk.thread:stop()
    return spent
  end
  n = n + 1
  local tab = line:find("\t", 1, true)
  local body = line:sub(tab + 1)
  body_bytes = body_bytes + #body
  return head .. line:sub(1, tab - 1) .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
  local posted, bytes, used_up = 0, 0, 0
  for _, t in ipairs(threads) do
    posted = posted + (t:get("n") or 0)
    bytes = bytes + (t:get("body_bytes") or 0)
    used_up = math.max(used_up, t:get("exhausted") or 0)
  end
  webhookResult(summary, latency, posted, bytes, {posted = posted, exhausted = used_up})
end
