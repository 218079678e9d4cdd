#include <utility>  // before Asio: g++ 12 coroutine workaround (see design.md)

#include "fake_graph_api.h"
#include "loopback_server.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace waflow::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using nlohmann::json;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xF];
  }
  return out;
}

std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string sha256Raw(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

std::string queryParam(std::string_view target, std::string_view name) {
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return {};
  }
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    std::string_view pair = rest.substr(0, rest.find('&'));
    rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
    std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string() : std::string(pair.substr(eq + 1));
    }
  }
  return {};
}

// Titles the fake uses for error bodies and failed statuses (Meta's wording, protocols.md §A.9).
std::string defaultTitle(int code) {
  static const std::map<int, std::string> kTitles = {
      {100, "Invalid parameter"},
      {190, "Access token has expired"},
      {4, "API Too Many Calls"},
      {80007, "Rate limit issues"},
      {130429, "Rate limit hit"},
      {131056, "(Business Account, Consumer Account) pair rate limit hit"},
      {131000, "Something went wrong"},
      {131008, "Required parameter is missing"},
      {131009, "Parameter value is not valid"},
      {131026, "Message undeliverable"},
      {131047, "Re-engagement message"},
      {131049, "This message was not delivered to maintain healthy ecosystem engagement."},
      {130472, "User's number is part of an experiment"},
      {131051, "Unsupported message type"},
      {132000, "Number of parameters does not match the expected number of params"},
      {132001, "Template name does not exist in the translation"},
      {132015, "Template is paused"},
      {132016, "Template is disabled"},
  };
  auto it = kTitles.find(code);
  return it == kTitles.end() ? "Error " + std::to_string(code) : it->second;
}

std::string errorBody(int code, const std::string& message, const std::string& details,
                      const std::string& trace) {
  json error = {{"message", "(#" + std::to_string(code) + ") " + message},
                {"type", "OAuthException"},
                {"code", code},
                {"fbtrace_id", trace}};
  if (!details.empty()) {
    error["error_data"] = {{"messaging_product", "whatsapp"}, {"details", details}};
  }
  return json{{"error", error}}.dump();
}

struct MultipartPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string data;
};

std::string headerParam(std::string_view header, std::string_view name) {
  std::string lowered = lower(header);
  std::string key = std::string(name) + "=";
  std::size_t pos = 0;
  while ((pos = lowered.find(key, pos)) != std::string::npos) {
    if (pos == 0 || lowered[pos - 1] == ' ' || lowered[pos - 1] == ';') {
      break;
    }
    pos += key.size();
  }
  if (pos == std::string::npos) {
    return {};
  }
  std::string_view value = header.substr(pos + key.size());
  if (!value.empty() && value.front() == '"') {
    value.remove_prefix(1);
    return std::string(value.substr(0, value.find('"')));
  }
  return std::string(value.substr(0, value.find(';')));
}

std::vector<MultipartPart> parseMultipart(std::string_view body, const std::string& boundary) {
  std::vector<MultipartPart> parts;
  std::string delimiter = "--" + boundary;
  std::size_t pos = body.find(delimiter);
  while (pos != std::string_view::npos) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") {
      break;
    }
    pos += 2;  // CRLF after the delimiter
    std::size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) {
      break;
    }
    std::size_t next = body.find("\r\n" + delimiter, headers_end + 4);
    if (next == std::string_view::npos) {
      break;
    }
    MultipartPart part;
    std::string_view headers = body.substr(pos, headers_end - pos);
    while (!headers.empty()) {
      std::string_view line = headers.substr(0, headers.find("\r\n"));
      headers.remove_prefix(std::min(headers.size(), line.size() + 2));
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        continue;
      }
      std::string name = lower(line.substr(0, colon));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      if (name == "content-disposition") {
        part.name = headerParam(value, "name");
        part.filename = headerParam(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    part.data = std::string(body.substr(headers_end + 4, next - headers_end - 4));
    parts.push_back(std::move(part));
    pos = next + 2;
  }
  return parts;
}

}  // namespace

std::string RecordedSend::header(std::string_view name) const {
  std::string key = lower(name);
  for (const auto& [k, v] : headers) {
    if (k == key) {
      return v;
    }
  }
  return {};
}

Fault Fault::rateLimited(int retry_after_s) {
  return metaError(429, 130429, {}, "Cloud API message throughput has been reached.")
      .withRetry(retry_after_s);
}

Fault Fault::pairRateLimited(int retry_after_s) {
  return metaError(429, 131056, {},
                   "Message failed to send because there were too many messages sent from this "
                   "phone number to the same phone number in a short period of time.")
      .withRetry(retry_after_s);
}

Fault Fault::serverError() {
  return metaError(500, 131000, {}, "Message failed to send because of an unknown error.");
}

Fault Fault::metaError(int http_status, int code, std::string message, std::string details) {
  Fault f;
  f.kind = Kind::kError;
  f.http_status = http_status;
  f.code = code;
  f.message = message.empty() ? defaultTitle(code) : std::move(message);
  f.details = std::move(details);
  return f;
}

Fault Fault::slow(std::chrono::milliseconds delay) {
  Fault f;
  f.kind = Kind::kSlow;
  f.delay = delay;
  return f;
}

Fault Fault::noAnswer() {
  Fault f;
  f.kind = Kind::kNoAnswer;
  return f;
}

Fault Fault::withRetry(int retry_after_s) const {
  Fault f = *this;
  f.retry_after_s = retry_after_s;
  return f;
}

struct FakeGraphApi::State {
  LoopbackServer server;
  uint16_t port = 0;

  mutable std::mutex mutex;
  std::condition_variable sends_changed;
  std::string token;
  std::deque<Fault> scripted;
  std::map<std::string, Fault> recipient_faults;
  FaultRates rates;
  std::mt19937_64 rng{42};
  uint64_t salt = 0;
  uint64_t next_wamid = 0;
  uint64_t next_media = 0;
  uint64_t next_trace = 0;
  std::vector<RecordedSend> sends;
  std::vector<RecordedRead> reads;
  struct Media {
    StoredMedia stored;
    MediaOverrides overrides;
  };
  std::map<std::string, Media> media;
  std::vector<StoredMedia> uploads;
  struct Issued {
    std::string to;
    std::string phone_number_id;
    std::string biz_opaque_callback_data;
  };
  std::unordered_map<std::string, Issued> issued;             // wamid → send
  std::function<void(const std::string& wamid)> on_accepted;  // under mutex
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> downloads{0};
  std::atomic<uint64_t> downloads_cut{0};  // the client closed before the whole body
  std::atomic<int> downloads_active{0};    // media bodies being served right now
  std::atomic<int> downloads_active_max{0};
  std::atomic<int64_t> media_delay_ms{0};

  // What one request gets: a response now, after a delay, or never.
  struct Reply {
    http::response<http::string_body> res;
    std::chrono::milliseconds delay{0};
    bool hang = false;
    bool media_body = false;  // a media download: counted as active while it is served
  };

  void downloadStarted() {
    int now = downloads_active.fetch_add(1) + 1;
    int seen = downloads_active_max.load();
    while (now > seen && !downloads_active_max.compare_exchange_weak(seen, now)) {
    }
  }

  std::string traceId() {
    std::lock_guard lock(mutex);
    return "A" + std::to_string(salt % 100000) + "x" + std::to_string(++next_trace);
  }

  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port); }

  static void setJson(Reply& r, int status, std::string body) {
    r.res.result(static_cast<unsigned>(status));
    r.res.set(http::field::content_type, "application/json; charset=UTF-8");
    r.res.body() = std::move(body);
  }

  void setError(Reply& r, int status, int code, const std::string& message,
                const std::string& details) {
    setJson(r, status, errorBody(code, message, details, traceId()));
  }

  bool authorized(const http::request<http::string_body>& req) {
    std::lock_guard lock(mutex);
    return req[http::field::authorization] == "Bearer " + token;
  }

  void unauthorized(Reply& r) {
    json error = {{"message",
                   "Error validating access token: Session has expired on Tuesday, 01-Jul-25 "
                   "08:00:00 PDT. The current time is Wednesday, 02-Jul-25 09:00:00 PDT."},
                  {"type", "OAuthException"},
                  {"code", 190},
                  {"error_subcode", 463},
                  {"fbtrace_id", traceId()}};
    setJson(r, 401, json{{"error", error}}.dump());
    r.res.set(http::field::www_authenticate, "OAuth \"Facebook Platform\" \"invalid_token\"");
  }

  std::string newWamid(const std::string& to) {
    uint64_t n;
    uint64_t s;
    {
      std::lock_guard lock(mutex);
      n = ++next_wamid;
      s = salt;
    }
    char tail[19];
    std::snprintf(tail, sizeof(tail), "%02X%016llX", static_cast<unsigned>(s & 0xFF),
                  static_cast<unsigned long long>(n * 0x9E3779B97F4A7C15ull + s));
    std::string raw = "\x1c\x18";
    raw += static_cast<char>(to.size() & 0x7F);
    raw += to;
    raw += std::string("\x15\x02\x00\x11\x18\x12", 6);
    raw += tail;
    raw += '\0';
    return "wamid." + base64(raw);
  }

  std::string newMediaId() {
    std::lock_guard lock(mutex);
    return std::to_string(1000000000000000ull + (salt % 100000) * 1000000000ull + ++next_media);
  }

  // The fault for this send: per-recipient, else scripted, else random.
  Fault pickFault(const std::string& to) {
    std::lock_guard lock(mutex);
    if (auto it = recipient_faults.find(to); it != recipient_faults.end()) {
      return it->second;
    }
    if (!scripted.empty()) {
      Fault f = scripted.front();
      scripted.pop_front();
      return f;
    }
    double total = rates.rate_limited + rates.pair_rate_limited + rates.server_error + rates.slow +
                   rates.no_answer;
    if (total <= 0) {
      return Fault::none();
    }
    double x = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    if ((x -= rates.rate_limited) < 0) {
      return Fault::rateLimited(rates.retry_after_s);
    }
    if ((x -= rates.pair_rate_limited) < 0) {
      return Fault::pairRateLimited(rates.retry_after_s);
    }
    if ((x -= rates.server_error) < 0) {
      return Fault::serverError();
    }
    if ((x -= rates.slow) < 0) {
      return Fault::slow(rates.slow_delay);
    }
    if ((x -= rates.no_answer) < 0) {
      return Fault::noAnswer();
    }
    return Fault::none();
  }

  void record(RecordedSend send) {
    {
      std::lock_guard lock(mutex);
      sends.push_back(std::move(send));
    }
    sends_changed.notify_all();
  }

  void handleMessages(const http::request<http::string_body>& req, const std::string& version,
                      const std::string& pnid, Reply& r) {
    json body = json::parse(req.body(), nullptr, false);
    if (!body.is_object()) {
      setError(r, 400, 100, "Invalid parameter", "The request body is not a JSON object.");
      return;
    }
    if (body.value("messaging_product", "") != "whatsapp") {
      setError(r, 400, 100, "The parameter messaging_product is required.", "");
      return;
    }
    if (body.contains("status")) {  // mark as read / typing indicator
      std::string message_id = body.value("message_id", "");
      if (body.value("status", "") != "read" || message_id.empty()) {
        setError(r, 400, 100, "Invalid parameter", "status must be read, with a message_id");
        return;
      }
      {
        std::lock_guard lock(mutex);
        reads.push_back({pnid, message_id, body.contains("typing_indicator")});
      }
      setJson(r, 200, R"({"success":true})");
      return;
    }

    RecordedSend send;
    send.api_version = version;
    send.phone_number_id = pnid;
    bool bsuid = !body.contains("to") && body.contains("recipient");
    send.to = body.value(bsuid ? "recipient" : "to", "");
    send.type = body.value("type", "text");
    send.raw_body = req.body();
    // From here the parsed body lives in the record (copying it cost more than the rest).
    send.body = std::move(body);
    const json& sent = send.body;
    for (const auto& field : req) {
      send.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    }
    send.received = std::chrono::steady_clock::now();

    auto fail = [&](int status, int code, const std::string& message, const std::string& details,
                    int retry_after_s) {
      setError(r, status, code, message, details);
      if (retry_after_s > 0) {
        r.res.set(http::field::retry_after, std::to_string(retry_after_s));
      }
      send.status = status;
      send.error_code = code;
      record(std::move(send));
    };

    if (send.to.empty()) {
      fail(400, 100, "The parameter to is required.", "", 0);
      return;
    }
    if (!sent.contains(send.type) || sent[send.type].is_null()) {
      fail(400, 131008, "Required parameter is missing",
           "The parameter " + send.type + " is required.", 0);
      return;
    }
    if (send.type == "text") {
      const json& text = sent["text"];
      if (!text.is_object() || !text.contains("body") || !text["body"].is_string()) {
        fail(400, 131008, "Required parameter is missing", "text['body'] is required.", 0);
        return;
      }
    }

    Fault fault = pickFault(send.to);
    switch (fault.kind) {
      case Fault::Kind::kError:
        fail(fault.http_status, fault.code, fault.message, fault.details, fault.retry_after_s);
        return;
      case Fault::Kind::kNoAnswer:
        r.hang = true;
        send.status = 0;
        record(std::move(send));
        return;
      case Fault::Kind::kSlow:
        r.delay = fault.delay;
        break;
      case Fault::Kind::kNone:
        break;
    }

    std::string wamid = newWamid(send.to);
    json contact = {{"input", send.to}};
    if (bsuid) {
      contact["user_id"] = send.to;
    } else {
      contact["wa_id"] = send.to;
    }
    json message = {{"id", wamid}};
    int major = 0;
    std::from_chars(version.data() + 1, version.data() + version.size(), major);
    if (major >= 24 && send.type == "template") {
      message["message_status"] = "accepted";
    }
    json answer = {{"messaging_product", "whatsapp"},
                   {"contacts", json::array({contact})},
                   {"messages", json::array({message})}};
    setJson(r, 200, answer.dump());
    {
      std::lock_guard lock(mutex);
      issued[wamid] = {send.to, pnid, sent.value("biz_opaque_callback_data", "")};
      if (on_accepted) {
        on_accepted(wamid);
      }
    }
    send.status = 200;
    send.wamid = wamid;
    record(std::move(send));
  }

  void handleUpload(const http::request<http::string_body>& req, const std::string& pnid,
                    Reply& r) {
    std::string content_type(req[http::field::content_type]);
    if (!lower(content_type).starts_with("multipart/form-data")) {
      setError(r, 400, 100, "Invalid parameter", "Upload must be multipart/form-data.");
      return;
    }
    std::string boundary = headerParam(content_type, "boundary");
    if (boundary.empty()) {
      setError(r, 400, 100, "Invalid parameter", "The multipart boundary is missing.");
      return;
    }
    StoredMedia stored;
    std::string product;
    bool has_file = false;
    for (MultipartPart& part : parseMultipart(req.body(), boundary)) {
      if (part.name == "messaging_product") {
        product = part.data;
      } else if (part.name == "type") {
        stored.mime_type = part.data;
      } else if (part.name == "file") {
        has_file = true;
        stored.filename = part.filename;
        stored.bytes = std::move(part.data);
        if (stored.mime_type.empty()) {
          stored.mime_type = part.content_type;
        }
      }
    }
    if (product != "whatsapp") {
      setError(r, 400, 100, "The parameter messaging_product is required.", "");
      return;
    }
    if (!has_file || stored.mime_type.empty()) {
      setError(r, 400, 100, "Invalid parameter", "The parameters file and type are required.");
      return;
    }
    stored.id = newMediaId();
    stored.phone_number_id = pnid;
    {
      std::lock_guard lock(mutex);
      media[stored.id] = {stored, {}};
      uploads.push_back(stored);
    }
    setJson(r, 200, json{{"id", stored.id}}.dump());
  }

  void handleMediaInfo(const std::string& id, Reply& r) {
    std::optional<Media> found;
    {
      std::lock_guard lock(mutex);
      if (auto it = media.find(id); it != media.end()) {
        found = it->second;
      }
    }
    if (!found) {
      setError(r, 400, 100,
               "Unsupported get request. Object with ID '" + id +
                   "' does not exist, cannot be loaded due to missing permissions, or does not "
                   "support this operation.",
               "");
      return;
    }
    const Media& m = *found;
    std::string raw_hash = sha256Raw(m.stored.bytes);
    std::string hash = m.overrides.sha256.value_or(
        m.overrides.sha256_base64
            ? base64(raw_hash)
            : hex(reinterpret_cast<const unsigned char*>(raw_hash.data()), raw_hash.size()));
    json answer = {
        {"messaging_product", "whatsapp"},
        {"url", m.overrides.url.value_or(baseUrl() + "/whatsapp_business/attachments/?mid=" + id +
                                         "&ext=" + std::to_string(std::time(nullptr)) +
                                         "&hash=" + hash.substr(0, 12))},
        {"mime_type", m.overrides.mime_type.value_or(m.stored.mime_type)},
        {"sha256", hash},
        {"file_size", m.overrides.file_size.value_or(m.stored.bytes.size())},
        {"id", id}};
    setJson(r, 200, answer.dump());
  }

  void handleDownload(const http::request<http::string_body>& req, Reply& r) {
    std::string id = queryParam(req.target(), "mid");
    std::optional<StoredMedia> stored;
    bool chunked = false;
    {
      std::lock_guard lock(mutex);
      if (auto it = media.find(id); it != media.end()) {
        stored = it->second.stored;
        chunked = it->second.overrides.chunked;
      }
    }
    if (!stored) {
      r.res.result(http::status::not_found);
      r.res.body() = "Not Found";
      return;
    }
    r.res.result(http::status::ok);
    r.res.set(http::field::content_type, stored->mime_type);
    r.res.body() = std::move(stored->bytes);
    r.res.chunked(chunked);
    r.delay = std::chrono::milliseconds(media_delay_ms.load());
    r.media_body = true;
    downloadStarted();
    downloads.fetch_add(1);
  }

  Reply handle(const http::request<http::string_body>& req) {
    Reply r;
    r.res.version(req.version());
    r.res.result(http::status::ok);
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));

    if (path.starts_with("/whatsapp_business/attachments")) {
      if (!authorized(req)) {
        unauthorized(r);
      } else {
        handleDownload(req, r);
      }
      return r;
    }

    // /v<N>.<M>/<segments...>
    std::vector<std::string> segments;
    for (std::string_view rest = path; !rest.empty();) {
      if (rest.front() == '/') {
        rest.remove_prefix(1);
        continue;
      }
      std::string_view seg = rest.substr(0, rest.find('/'));
      segments.emplace_back(seg);
      rest.remove_prefix(seg.size());
    }
    bool versioned = !segments.empty() && segments[0].size() >= 4 && segments[0][0] == 'v' &&
                     segments[0].find('.') != std::string::npos &&
                     segments[0].find_first_not_of("0123456789.", 1) == std::string::npos;
    if (!versioned || segments.size() < 2) {
      setError(r, 400, 100, "Unknown path components: " + std::string(path), "");
      return r;
    }
    if (!authorized(req)) {
      unauthorized(r);
      return r;
    }
    const std::string& version = segments[0];
    auto method = req.method();
    if (segments.size() == 3 && segments[2] == "messages" && method == http::verb::post) {
      handleMessages(req, version, segments[1], r);
    } else if (segments.size() == 3 && segments[2] == "media" && method == http::verb::post) {
      handleUpload(req, segments[1], r);
    } else if (segments.size() == 2 && method == http::verb::get) {
      handleMediaInfo(segments[1], r);
    } else if (segments.size() == 2 && method == http::verb::delete_) {
      bool erased;
      {
        std::lock_guard lock(mutex);
        erased = media.erase(segments[1]) > 0;
      }
      if (erased) {
        setJson(r, 200, R"({"success":true})");
      } else {
        setError(r, 400, 100, "Invalid parameter", "Unknown media id.");
      }
    } else {
      setError(r, 400, 100,
               "Unsupported " + lower(std::string(req.method_string())) +
                   " request: " + std::string(path),
               "");
    }
    return r;
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(256 * 1024 * 1024);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kAwait);
      if (ec) {
        break;
      }
      requests.fetch_add(1);
      http::request<http::string_body> req = parser.release();
      Reply reply = handle(req);
      if (reply.hang) {
        // Never answer: wait until the client closes the connection (or the fake stops).
        char sink[512];
        for (;;) {
          auto [rec, got] = co_await stream.socket().async_read_some(asio::buffer(sink), kAwait);
          if (rec) {
            break;
          }
        }
        break;
      }
      if (reply.delay.count() > 0) {
        asio::steady_timer timer(stream.get_executor(), reply.delay);
        co_await timer.async_wait(kAwait);
      }
      reply.res.keep_alive(req.keep_alive());
      if (!reply.res.chunked()) {
        reply.res.prepare_payload();
      }
      auto [wec, written] = co_await http::async_write(stream, reply.res, kAwait);
      if (reply.media_body) {
        downloads_active.fetch_sub(1);
        downloads_cut.fetch_add(wec ? 1 : 0);
      }
      if (wec || !reply.res.keep_alive()) {
        break;
      }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
};

// Posts the `sent` statuses of accepted sends from its own thread, each at its due time.
class FakeGraphApi::StatusPoster {
 public:
  StatusPoster(const FakeGraphApi& fake, std::string url, std::string secret,
               std::chrono::milliseconds delay)
      : fake_(fake),
        url_(std::move(url)),
        secret_(std::move(secret)),
        delay_(delay),
        thread_([this] { run(); }) {}
  ~StatusPoster() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  void accepted(const std::string& wamid) {
    {
      std::lock_guard lock(mutex_);
      due_.emplace_back(std::chrono::steady_clock::now() + delay_, wamid);
    }
    changed_.notify_all();
  }
  std::size_t delivered() const { return delivered_.load(); }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (due_.empty()) {
        changed_.wait(lock);
        continue;
      }
      auto [at, wamid] = due_.front();
      if (changed_.wait_until(lock, at, [&] { return stopping_; })) {
        break;
      }
      due_.pop_front();
      lock.unlock();
      auto result = postWebhook(url_, secret_, fake_.buildStatusWebhook(wamid, "sent"),
                                std::chrono::seconds(5));
      if (result.status == 200) {
        delivered_.fetch_add(1);
      }
      lock.lock();
    }
  }

  const FakeGraphApi& fake_;
  const std::string url_, secret_;
  const std::chrono::milliseconds delay_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> due_;
  bool stopping_ = false;
  std::atomic<std::size_t> delivered_{0};
  std::thread thread_;  // last: starts once the rest exists
};

void FakeGraphApi::postSentStatuses(std::string url, std::string app_secret,
                                    std::chrono::milliseconds delay) {
  {
    std::lock_guard lock(state_->mutex);
    state_->on_accepted = nullptr;
  }
  status_poster_.reset();
  if (url.empty()) {
    return;
  }
  status_poster_ =
      std::make_unique<StatusPoster>(*this, std::move(url), std::move(app_secret), delay);
  std::lock_guard lock(state_->mutex);
  state_->on_accepted = [poster = status_poster_.get()](const std::string& wamid) {
    poster->accepted(wamid);
  };
}

std::size_t FakeGraphApi::sentStatusesDelivered() const {
  return status_poster_ ? status_poster_->delivered() : 0;
}

FakeGraphApi::FakeGraphApi() : FakeGraphApi(Options{}) {}

FakeGraphApi::FakeGraphApi(Options options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {
  state_->token = options_.access_token;
  state_->salt = std::random_device{}();
  port_ = state_->server.port();
  state_->port = port_;
  state_->server.start(state_.get(), std::max(1, options_.threads));
}

FakeGraphApi::~FakeGraphApi() {
  postSentStatuses({}, {});
  state_->server.stop();
}

std::string FakeGraphApi::baseUrl() const {
  return state_->baseUrl();
}

void FakeGraphApi::setAccessToken(std::string token) {
  std::lock_guard lock(state_->mutex);
  state_->token = std::move(token);
}

void FakeGraphApi::failNextSends(const Fault& fault, int n) {
  std::lock_guard lock(state_->mutex);
  for (int i = 0; i < n; ++i) {
    state_->scripted.push_back(fault);
  }
}

void FakeGraphApi::setRecipientFault(const std::string& recipient, const Fault& fault) {
  std::lock_guard lock(state_->mutex);
  if (fault.kind == Fault::Kind::kNone) {
    state_->recipient_faults.erase(recipient);
  } else {
    state_->recipient_faults[recipient] = fault;
  }
}

void FakeGraphApi::setFaultRates(const FaultRates& rates) {
  std::lock_guard lock(state_->mutex);
  state_->rates = rates;
  state_->rng.seed(rates.seed);
}

std::vector<RecordedSend> FakeGraphApi::sends() const {
  std::lock_guard lock(state_->mutex);
  return state_->sends;
}

std::size_t FakeGraphApi::sendCount() const {
  std::lock_guard lock(state_->mutex);
  return state_->sends.size();
}

std::vector<RecordedSend> FakeGraphApi::sendsTo(const std::string& recipient) const {
  std::lock_guard lock(state_->mutex);
  std::vector<RecordedSend> out;
  for (const RecordedSend& s : state_->sends) {
    if (s.to == recipient) {
      out.push_back(s);
    }
  }
  return out;
}

std::vector<RecordedRead> FakeGraphApi::reads() const {
  std::lock_guard lock(state_->mutex);
  return state_->reads;
}

uint64_t FakeGraphApi::requestCount() const {
  return state_->requests.load();
}

bool FakeGraphApi::waitForSends(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  return state_->sends_changed.wait_for(lock, timeout, [&] { return state_->sends.size() >= n; });
}

void FakeGraphApi::clearRecords() {
  std::lock_guard lock(state_->mutex);
  state_->sends.clear();
  state_->reads.clear();
  state_->uploads.clear();
}

std::vector<RecordedSend> FakeGraphApi::takeSends() {
  std::lock_guard lock(state_->mutex);
  std::vector<RecordedSend> taken;
  taken.swap(state_->sends);
  state_->reads.clear();
  return taken;
}

std::string FakeGraphApi::addMedia(std::string bytes, std::string mime_type) {
  return addMedia(std::move(bytes), std::move(mime_type), MediaOverrides{});
}

std::string FakeGraphApi::addMedia(std::string bytes, std::string mime_type,
                                   MediaOverrides overrides) {
  StoredMedia stored;
  stored.id = state_->newMediaId();
  stored.mime_type = std::move(mime_type);
  stored.bytes = std::move(bytes);
  std::lock_guard lock(state_->mutex);
  state_->media[stored.id] = {stored, std::move(overrides)};
  return stored.id;
}

std::optional<StoredMedia> FakeGraphApi::media(const std::string& id) const {
  std::lock_guard lock(state_->mutex);
  auto it = state_->media.find(id);
  if (it == state_->media.end()) {
    return std::nullopt;
  }
  return it->second.stored;
}

std::vector<StoredMedia> FakeGraphApi::uploads() const {
  std::lock_guard lock(state_->mutex);
  return state_->uploads;
}

uint64_t FakeGraphApi::mediaDownloadsCut() const {
  return state_->downloads_cut.load();
}

int FakeGraphApi::maxConcurrentMediaDownloads() const {
  return state_->downloads_active_max.load();
}

void FakeGraphApi::setMediaDelay(std::chrono::milliseconds delay) {
  state_->media_delay_ms.store(delay.count());
}

uint64_t FakeGraphApi::mediaDownloads() const {
  return state_->downloads.load();
}

std::string FakeGraphApi::signatureHeader(std::string_view app_secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), app_secret.data(), static_cast<int>(app_secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return "sha256=" + hex(mac, len);
}

FakeGraphApi::WebhookResult FakeGraphApi::postWebhook(const std::string& url,
                                                      const std::string& app_secret,
                                                      const std::string& body,
                                                      std::chrono::milliseconds timeout) {
  WebhookResult result;
  std::string_view rest = url;
  if (!rest.starts_with("http://")) {
    result.error = "only http:// URLs are supported: " + url;
    return result;
  }
  rest.remove_prefix(7);
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string target = authority.size() < rest.size() ? std::string(rest.substr(authority.size()))
                                                      : std::string("/");
  std::size_t colon = authority.rfind(':');
  std::string host(authority.substr(0, colon));
  std::string port =
      colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));

  asio::io_context ioc;
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, authority);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "facebookexternalua");
  req.set("X-Hub-Signature-256", signatureHeader(app_secret, body));
  req.body() = body;
  req.prepare_payload();

  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        tcp::resolver resolver(ioc);
        auto [rec, endpoints] = co_await resolver.async_resolve(host, port, kAwait);
        if (rec) {
          result.error = "resolve " + host + ": " + rec.message();
          co_return;
        }
        beast::tcp_stream stream(ioc);
        stream.expires_after(timeout);
        auto [cec, ep] = co_await stream.async_connect(endpoints, kAwait);
        if (cec) {
          result.error = "connect " + std::string(authority) + ": " + cec.message();
          co_return;
        }
        auto [wec, w] = co_await http::async_write(stream, req, kAwait);
        if (wec) {
          result.error = "write: " + wec.message();
          co_return;
        }
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        auto [eec, r] = co_await http::async_read(stream, buffer, res, kAwait);
        if (eec) {
          result.error = "read: " + eec.message();
          co_return;
        }
        result.status = static_cast<int>(res.result_int());
        result.body = std::move(res.body());
        for (const auto& field : res) {
          result.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
        }
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      },
      asio::detached);
  ioc.run();
  return result;
}

namespace {

// One entry of `statuses` as Meta sends it for a message this fake issued.
json statusObject(const std::string& wamid, const std::string& to,
                  const std::string& biz_opaque_callback_data, const std::string& status,
                  int error_code, int64_t timestamp) {
  // A send addressed by business-scoped user id ("recipient") is reported by that id: the
  // phone number of a customer with a username is not shared.
  bool bsuid = to.find_first_not_of("0123456789") != std::string::npos;
  json st = {{"id", wamid},
             {"status", status},
             {"timestamp", std::to_string(timestamp)},
             {bsuid ? "recipient_user_id" : "recipient_id", to}};
  if (!biz_opaque_callback_data.empty()) {
    st["biz_opaque_callback_data"] = biz_opaque_callback_data;
  }
  if (status == "failed") {
    int code = error_code == 0 ? 131026 : error_code;
    std::string title = defaultTitle(code);
    st["errors"] = json::array(
        {{{"code", code},
          {"title", title},
          {"message", title},
          {"error_data", {{"details", title}}},
          {"href",
           "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}});
  } else {
    std::string conversation = sha256Raw(to).substr(0, 8);
    json conv = {{"id", hex(reinterpret_cast<const unsigned char*>(conversation.data()), 8)},
                 {"origin", {{"type", "service"}}}};
    if (status == "sent") {
      conv["expiration_timestamp"] = std::to_string(timestamp + 24 * 3600);
    }
    st["conversation"] = conv;
    st["pricing"] = {{"billable", false},
                     {"pricing_model", "PMP"},
                     {"type", "free_customer_service"},
                     {"category", "service"}};
  }
  return st;
}

}  // namespace

std::string FakeGraphApi::buildStatusWebhook(const std::string& wamid, const std::string& status,
                                             int error_code, int64_t timestamp) const {
  return buildStatusesWebhook({wamid}, status, error_code, timestamp);
}

std::string FakeGraphApi::buildStatusesWebhook(const std::vector<std::string>& wamids,
                                               const std::string& status, int error_code,
                                               int64_t timestamp) const {
  if (wamids.empty()) {
    throw std::invalid_argument("FakeGraphApi::buildStatusesWebhook needs at least one wamid");
  }
  if (timestamp == 0) {
    timestamp = static_cast<int64_t>(std::time(nullptr));
  }
  // Meta groups statuses by the business number that sent them: one change per phone number id,
  // in the order each first appears.
  std::vector<std::pair<std::string, json>> by_number;
  {
    std::lock_guard lock(state_->mutex);
    for (const std::string& wamid : wamids) {
      auto it = state_->issued.find(wamid);
      if (it == state_->issued.end()) {
        throw std::invalid_argument("FakeGraphApi did not issue " + wamid);
      }
      const State::Issued& issued = it->second;
      auto group = std::find_if(by_number.begin(), by_number.end(),
                                [&](const auto& g) { return g.first == issued.phone_number_id; });
      if (group == by_number.end()) {
        by_number.emplace_back(issued.phone_number_id, json::array());
        group = std::prev(by_number.end());
      }
      group->second.push_back(statusObject(wamid, issued.to, issued.biz_opaque_callback_data,
                                           status, error_code, timestamp));
    }
  }
  json changes = json::array();
  for (auto& [pnid, statuses] : by_number) {
    json value = {
        {"messaging_product", "whatsapp"},
        {"metadata",
         {{"display_phone_number", options_.display_phone_number}, {"phone_number_id", pnid}}},
        {"statuses", std::move(statuses)}};
    changes.push_back({{"field", "messages"}, {"value", std::move(value)}});
  }
  json note = {{"object", "whatsapp_business_account"},
               {"entry", json::array({{{"id", options_.waba_id}, {"changes", changes}}})}};
  return note.dump();
}

std::string FakeGraphApi::buildTextWebhook(const std::string& phone_number_id,
                                           const std::string& from, const std::string& contact_name,
                                           const std::string& text, std::string wamid) const {
  if (wamid.empty()) {
    wamid = state_->newWamid(from);
  }
  json message = {{"from", from},
                  {"id", wamid},
                  {"timestamp", std::to_string(std::time(nullptr))},
                  {"type", "text"},
                  {"text", {{"body", text}}}};
  json value = {
      {"messaging_product", "whatsapp"},
      {"metadata",
       {{"display_phone_number", options_.display_phone_number},
        {"phone_number_id", phone_number_id}}},
      {"contacts", json::array({{{"profile", {{"name", contact_name}}}, {"wa_id", from}}})},
      {"messages", json::array({message})}};
  json note = {
      {"object", "whatsapp_business_account"},
      {"entry",
       json::array({{{"id", options_.waba_id},
                     {"changes", json::array({{{"field", "messages"}, {"value", value}}})}}})}};
  return note.dump();
}

}  // namespace waflow::test
