-- wrk script for the flow benchmark: every request is a distinct WhatsApp Cloud API webhook
-- (POST /webhooks/sandbox, Meta's envelope as in ../webhook/webhook.lua) carrying one text
-- message that the keyword FAQ of flows/customer_service.yaml answers without AI: opening hours
-- (a text reply), the address (an image reply) or the price list (a list message). The texts
-- avoid the keywords of the other shipped flows (order, catering, stop, admin, ...), so each
-- message from a greeted contact gets exactly one reply, as it does from the auto-reply.
--
-- Contacts rotate over a fixed pool with a stride coprime to its size: each wrk thread visits
-- every contact once per <contacts> requests, so a warm-up of that many requests per thread
-- greets every contact (its first message gets the greeting too) and the measured run then
-- sees only returning contacts, each several times.
--
-- Usage: wrk -t2 -c64 -d8s -s flow_messages.lua http://127.0.0.1:PORT -- contacts run-tag
--   contacts  distinct customer numbers (default 2000)
--   run-tag   makes message ids unique across runs against one daemon (default: the time)
-- done() prints the line of tests/perf/lib/webhook_result.lua, with faq_texts= (the mix size).

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../lib/webhook_result.lua")
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../lib/text_webhook.lua")

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads + 1)
  table.insert(threads, thread)
end

-- What customers of a cake shop ask; every one hits one FAQ keyword of customer_service.yaml.
local texts = {
  "jam buka?",
  "alamatnya dimana",
  "harga",
  "Kak, hari ini jam berapa tokonya tutup?",
  "Boleh minta daftar harga kue ulang tahun? Mau buat acara anak minggu depan",
  "Permisi, lokasi tokonya di daerah mana ya? Saya mau ambil sendiri",
  "menu",
  "Selamat pagi kak, kalau hari Minggu buka juga tidak?",
}

-- BENCH_FLOW_MIX=text keeps only the questions answered with a text (the opening hours), so
-- both daemons send the same kind of reply and the difference is the flow engine's own work.
if os.getenv("BENCH_FLOW_MIX") == "text" then
  texts = {
    "jam buka?",
    "Kak, hari ini jam berapa tokonya tutup?",
    "Selamat pagi kak, kalau hari Minggu buka juga tidak?",
  }
end

function init(args)
  contacts = tonumber(args[1]) or 2000
  local tag = args[2] or tostring(os.time())
  -- 7919 is prime; a pool size that is a multiple of it would revisit only some contacts.
  stride = contacts % 7919 == 0 and 7907 or 7919
  sender_cursor = ((thread_index or 1) * 104729) % contacts
  text_cursor = (thread_index or 1) * 3
  id_prefix = "wamid.flowbench." .. tag .. "." .. (thread_index or 1) .. "."
  n = 0

  head = textWebhookHead("/webhooks/sandbox")
  -- Everything of the body except the message id and the text, per sender.
  before_id = textWebhookSenders(contacts, "62813", "Pelanggan")
  middle = textWebhookMiddle()
  tail = '"},"type":"text"}]},"field":"messages"}]}]}'
  body_bytes = 0
end

function request()
  n = n + 1
  sender_cursor = (sender_cursor + stride) % contacts
  text_cursor = (text_cursor + 1) % #texts
  local body = before_id[sender_cursor] .. id_prefix .. n .. middle .. texts[text_cursor + 1] ..
    tail
  body_bytes = body_bytes + #body
  return head .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
  local generated, bytes = 0, 0
  for _, t in ipairs(threads) do
    generated = generated + (t:get("n") or 0)
    bytes = bytes + (t:get("body_bytes") or 0)
  end
  webhookResult(summary, latency, generated, bytes, {faq_texts = #texts})
end
