-- wrk script for the webhook benchmark: every request is a distinct WhatsApp Cloud API webhook
-- (POST /webhooks/<channel>) carrying one text message, exactly Meta's envelope (entry, changes,
-- metadata, contacts/profile, messages).
--
-- Why not a fixed body: the daemon drops redelivered message ids, so a repeated body would only
-- measure the duplicate check. Each request gets a unique id "wamid.bench.<run>.<thread>.<n>",
-- senders rotate over a pool of distinct numbers (default 10,000), and texts vary in length so
-- bodies average about 1 KB, like Meta's. The per-sender parts are built once in init(); a
-- request only concatenates a handful of strings, so wrk's own cost stays small and is the same
-- for every server measured.
--
-- Usage: wrk -t2 -c64 -d10s -s webhook.lua http://127.0.0.1:PORT -- [path] [senders] [run-tag]
--   path     request path (default /webhooks/sandbox)
--   senders  distinct customer numbers (default 10000)
--   run-tag  makes ids unique across runs against one daemon (default: the current time)
-- done() prints one machine-readable line starting with "WEBHOOK_RESULT" (latencies in µs).

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../lib/text_webhook.lua")

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads + 1)
  table.insert(threads, thread)
end

-- Customer messages of different lengths; Meta bodies with short texts are ~600 bytes, long
-- ones (order details, complaints) well over 1 KB.
local texts = {
  "Halo, apakah toko buka hari ini?",
  "Hi! I ordered two days ago and the tracking page still says 'processing'. Order number " ..
    "INV/2024/05/118734. Could you check what is going on and when it will ship? Thanks a lot.",
  "Selamat siang kak, saya mau tanya untuk produk sepatu running yang warna biru navy ukuran " ..
    "42 masih ada stoknya tidak ya? Kalau ada saya mau pesan 2 pasang, satu untuk saya dan satu " ..
    "untuk adik saya. Bisa kirim ke Bandung hari ini? Ongkirnya berapa ya kak? Terima kasih " ..
    "banyak sebelumnya, ditunggu kabarnya.",
  "Can I change the delivery address for my order? I moved last week. The new address is " ..
    "Jl. Kebon Jeruk Raya No. 27, RT 04/RW 08, Kebon Jeruk, Jakarta Barat 11530, Indonesia. " ..
    "Please also tell me if this changes the delivery date, I need the package before Friday " ..
    "because I am travelling on Saturday morning and will be away for three weeks. If it cannot " ..
    "arrive by Friday, please cancel the order and refund it to the original card instead.",
  "Berapa harga paket internet 50GB?",
  "Good evening. I would like to book a table for six people tomorrow at 7 pm, preferably " ..
    "outdoors. One of us is vegetarian and one has a nut allergy - can the kitchen handle that? " ..
    "Also, is there parking nearby, and do you accept credit cards or only QRIS? Please confirm.",
  "ok, makasih",
  "Hello, my payment failed three times with the error 'transaction declined by issuer' even " ..
    "though my card works everywhere else. I tried the app and the website. The amount was " ..
    "Rp 1.249.000 for the annual plan. Is something wrong on your side? I do not want to be " ..
    "charged three times, please check and let me know which of the attempts went through.",
}

local function jsonEscape(s)
  return (s:gsub('[%c"\\]', function(c)
    if c == '"' then
      return '\\"'
    elseif c == "\\" then
      return "\\\\"
    end
    return string.format("\\u%04x", c:byte())
  end))
end

function init(args)
  local path = args[1] or "/webhooks/sandbox"
  senders = tonumber(args[2]) or 10000
  local tag = args[3] or tostring(os.time())
  -- Coprime strides spread consecutive requests (and the two wrk threads) over senders.
  stride = 7919
  sender_cursor = (thread_index or 1) * 104729
  text_cursor = (thread_index or 1) * 3
  id_prefix = "wamid.bench." .. tag .. "." .. (thread_index or 1) .. "."
  n = 0

  head = textWebhookHead(path)
  -- Everything of the body except the message id and the text, per sender.
  before_id = textWebhookSenders(senders, "62812", "Customer")
  middle = textWebhookMiddle()
  escaped = {}
  for i, t in ipairs(texts) do
    escaped[i - 1] = jsonEscape(t)
  end
  -- Meta adds "context" when the customer replies to a business message and "referral" when
  -- they arrive from a click-to-WhatsApp ad; both are common and make real bodies ~1 KB.
  local context = ',"context":{"from":"15550783881","id":"wamid.HBgNNjI4MTIxMDAwMDAwMRUCABEYEjQ' ..
    'wQzY5RjA3QjE1RDQ2RjZBMgA="}'
  local referral = ',"referral":{"source_url":"https://fb.me/4kGtQ2xYz","source_id":' ..
    '"120208737436230127","source_type":"ad","headline":"Diskon 50% semua sepatu running ' ..
    'minggu ini","body":"Chat kami di WhatsApp untuk cek stok dan ukuran. Gratis ongkir ke ' ..
    'seluruh Indonesia untuk pembelian di atas Rp 300.000.","media_type":"image","image_url":' ..
    '"https://scontent.xx.fbcdn.net/v/t45.1600-4/412345678_1234567890123456_' ..
    '7890123456789012345_n.jpg","ctwa_clid":"ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0' ..
    'HR4jdQ2XoZ7mPq1sT","welcome_message":{"text":"Halo! Ada yang bisa kami bantu?"}}'
  tails = {}
  local extras = {"", referral, context, referral}
  for i, extra in ipairs(extras) do
    tails[i - 1] = '"},"type":"text"' .. extra .. '}]},"field":"messages"}]}]}'
  end
  body_bytes = 0
end

function request()
  n = n + 1
  sender_cursor = (sender_cursor + stride) % senders
  text_cursor = (text_cursor + 1) % #texts
  local body = before_id[sender_cursor] .. id_prefix .. n .. middle .. escaped[text_cursor] ..
    tails[n % 4]
  body_bytes = body_bytes + #body
  return head .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
  local generated, bytes = 0, 0
  for _, t in ipairs(threads) do
    generated = generated + (t:get("n") or 0)
    bytes = bytes + (t:get("body_bytes") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "WEBHOOK_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d " ..
      "max_us=%d non2xx=%d socket_errors=%d avg_body_bytes=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout,
    generated > 0 and math.floor(bytes / generated) or 0))
end
