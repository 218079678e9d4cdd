-- Pieces of Meta's Cloud API webhook carrying one text message, for the wrk scripts that post
-- many of them: the request head up to Content-Length, and per sender everything of the body
-- before the message id, so that request() only joins strings. Load it with dofile.
--
-- The signature header is a fixed dummy: the daemons benchmarked with these bodies run with
-- signature checks off (a real one would differ per body).

-- "POST <path> HTTP/1.1 ... Content-Length: " (the length and the body follow).
function textWebhookHead(path)
  return "POST " .. path .. " HTTP/1.1\r\n" ..
    "Host: 127.0.0.1\r\n" ..
    "User-Agent: facebookexternalua\r\n" ..
    "Accept: */*\r\n" ..
    "Content-Type: application/json\r\n" ..
    "X-Hub-Signature-256: sha256=5f1c7d2e8b9a4c3f6e0d1b2a39485766a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c\r\n" ..
    "Content-Length: "
end

-- The body up to the message id, for senders i = 0 .. count - 1: wa_id <phone_prefix> followed by
-- 10000000 + i, profile name "<name> i".
function textWebhookSenders(count, phone_prefix, name)
  local before_id = {}
  for i = 0, count - 1 do
    local wa_id = string.format(phone_prefix .. "%08d", 10000000 + i)
    before_id[i] =
      '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[' ..
      '{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",' ..
      '"phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"' .. name .. ' ' .. i ..
      '"},"wa_id":"' .. wa_id .. '"}],"messages":[{"from":"' .. wa_id .. '","id":"'
  end
  return before_id
end

-- What goes between the message id and the (JSON-escaped) text.
function textWebhookMiddle()
  return '","timestamp":"' .. os.time() .. '","text":{"body":"'
end
