// Value types plugin code works with: owning C++ copies of the ABI structs.
//
// Thread-safety: plain values; safe to copy and move between threads.
#pragma once

#include <waflow/sdk/abi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace waflow {

using Headers = std::vector<std::pair<std::string, std::string>>;

enum class Kind : int32_t {
  kChannel = WAFLOW_KIND_CHANNEL,
  kAi = WAFLOW_KIND_AI,
  kStorage = WAFLOW_KIND_STORAGE,  // since ABI 1.1
  kIntegration = WAFLOW_KIND_INTEGRATION,
};

// Result codes as a C++ enum; the same values as waflow_rc.
enum class Rc : int32_t {
  kOk = WAFLOW_OK,
  kError = WAFLOW_ERR,
  kRetry = WAFLOW_ERR_RETRY,
  kInvalid = WAFLOW_ERR_INVALID,
  kAuth = WAFLOW_ERR_AUTH,
  kUnsupported = WAFLOW_ERR_UNSUPPORTED,
  kBusy = WAFLOW_ERR_BUSY,
  kInDoubt = WAFLOW_ERR_IN_DOUBT,  // since 1.2: sent, but the outcome is unknown (abi.h)
};

// Throw this from plugin code to choose the result code the host sees; any
// other exception becomes Rc::kError with its what() as the message.
class Error : public std::runtime_error {
 public:
  Error(Rc code, const std::string& message, std::chrono::milliseconds retry_after = {})
      : std::runtime_error(message), code_(code), retry_after_(retry_after) {}
  Rc code() const noexcept { return code_; }
  std::chrono::milliseconds retryAfter() const noexcept { return retry_after_; }

 private:
  Rc code_;
  std::chrono::milliseconds retry_after_;
};

// What a plugin states about itself. `name` is what waflow.yaml's `plugin:`
// refers to; `config_schema` is a JSON Schema (subset) for its `config:` block.
struct PluginInfo {
  Kind kind;
  const char* name;
  const char* version;
  const char* description;
  const char* config_schema = R"({"type":"object","properties":{}})";
};

inline std::string_view view(waflow_str s) noexcept {
  return s.size == 0 ? std::string_view() : std::string_view(s.data, s.size);
}
inline waflow_str abiStr(std::string_view s) noexcept {
  return waflow_str{s.data(), s.size()};
}

namespace detail {
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}
inline std::optional<std::string_view> findHeader(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (equalsIgnoreCase(k, name)) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}
inline int hexValue(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}
inline std::string percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && hexValue(in[i + 1]) >= 0 &&
               hexValue(in[i + 2]) >= 0) {
      out += char(hexValue(in[i + 1]) * 16 + hexValue(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}
}  // namespace detail

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};
  bool verify_tls = true;
  // Since ABI 1.2: stream a 2xx body into this file instead of `body` (see abi.h).
  std::string response_file;
  // Since ABI 1.2: abort the transfer once the body passes this many bytes; 0 = the host's cap.
  uint64_t max_response_bytes = 0;
};

struct HttpResponse {
  int status = 0;  // 0 when the transport failed
  waflow_http_error error = WAFLOW_HTTP_OK;
  std::string error_message;
  Headers headers;
  std::string body;
  std::chrono::microseconds elapsed{0};
  // On a transport failure: whether the request had (partly) gone out, so the server may have
  // acted on it. False for a connect failure: repeating the request is then safe.
  bool request_sent = false;

  bool transportOk() const noexcept { return error == WAFLOW_HTTP_OK; }
  bool ok() const noexcept { return transportOk() && status >= 200 && status < 300; }
  std::optional<std::string_view> header(std::string_view name) const {
    return detail::findHeader(headers, name);
  }
};

struct WebhookRequest {
  std::string method;
  std::string path;
  std::string query;
  Headers headers;
  std::string body;
  std::string remote_address;
  std::string request_id;

  std::optional<std::string_view> header(std::string_view name) const {
    return detail::findHeader(headers, name);
  }
  // Percent-decoded value of a query parameter.
  std::optional<std::string> queryParam(std::string_view name) const {
    std::string_view q = query;
    while (!q.empty()) {
      auto amp = q.find('&');
      std::string_view pair = q.substr(0, amp);
      auto eq = pair.find('=');
      if (detail::percentDecode(pair.substr(0, eq)) == name) {
        return eq == std::string_view::npos ? std::string()
                                            : detail::percentDecode(pair.substr(eq + 1));
      }
      if (amp == std::string_view::npos) {
        break;
      }
      q.remove_prefix(amp + 1);
    }
    return std::nullopt;
  }
};

struct WebhookResponse {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  Headers headers;
};

struct InboundMessage {
  std::string id;
  std::string from;
  std::string from_user_id;
  std::string contact_name;
  std::string type;
  std::string text;
  std::string reply_id;
  std::string context_id;
  std::string recipient;
  int64_t timestamp = 0;
  std::string raw_json;
};

struct StatusUpdate {
  std::string message_id;
  std::string status;
  std::string recipient;
  int64_t timestamp = 0;
  int32_t error_code = 0;
  std::string error_message;
  std::string raw_json;
};

struct OutboundMessage {
  std::string id;
  std::string to;
  std::string type;
  std::string text;
  std::string reply_to;
  std::string payload_json;
};

struct SendResult {
  std::string provider_message_id;
};

struct AiRequest {
  std::string request_json;  // see waflow_ai_request in abi.h
  std::string conversation;
  std::string request_id;
};

struct AiResult {
  std::string content;
  std::string result_json = "{}";
};

struct CallResult {
  std::string output_json = "{}";
};

struct Event {
  std::string type;
  std::string conversation;
  std::string payload_json = "{}";
  std::string request_id;
};

}  // namespace waflow
