// Plain request/response values exchanged between the HTTP server and route handlers.
//
// Thread-safety: these are ordinary values; an HttpRequest is owned by the handler it is moved
// into. `Respond` may be called from any thread, exactly once (later calls are ignored).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace waflow::core::httpd {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... exactly as sent
  std::string target;  // raw request target, e.g. "/webhooks/sandbox?hub.mode=subscribe"
  std::string path;    // percent-decoded path without the query
  std::string query;   // raw (still percent-encoded) query string without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  std::string body;            // raw bytes exactly as received (signatures are computed over it)
  std::string remote_address;  // peer IP address, e.g. "127.0.0.1"
  // The client's X-Request-Id when it is sane (1..64 chars of [A-Za-z0-9._-]), else 16 random
  // hex chars. The server echoes it in the response's X-Request-Id header.
  std::string request_id;

  // First header with this name, compared case-insensitively.
  std::optional<std::string_view> header(std::string_view name) const;
  // First query parameter whose decoded name equals `name`; the value is percent-decoded with
  // '+' meaning space. A parameter without '=' yields "". nullopt when absent or the query is
  // not valid RFC 3986 query syntax.
  std::optional<std::string> queryParam(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  // Extra headers. The server owns Content-Length, Transfer-Encoding, X-Request-Id and
  // Connection (values given for them are ignored, except that "Connection: close" makes it close
  // the connection after this response). Headers with CR/LF or a malformed name are dropped.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static HttpResponse text(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static HttpResponse json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
  }
};

// Completes a request. Call exactly once, from any thread, possibly long after the handler
// returned (async work, long-polls). If every copy is destroyed without a call, the client gets
// a 500 so no connection hangs.
using Respond = std::function<void(HttpResponse)>;
using RouteHandler = std::function<void(HttpRequest&&, Respond)>;

// True when `id` is an acceptable client-supplied request id (1..64 chars of [A-Za-z0-9._-]).
bool isSaneRequestId(std::string_view id);
// 16 random lowercase hex chars.
std::string generateRequestId();

}  // namespace waflow::core::httpd
