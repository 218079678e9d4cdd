#include "plugin/http_bridge.h"

#include <waflow/sdk/host.hpp>
#include <waflow/sdk/types.hpp>

#include <vector>

namespace waflow::core::plugin {

using waflow::abiStr;
using waflow::view;

ClientRequest clientRequestFrom(const waflow_http_request& r) {
  ClientRequest req;
  req.method = std::string(view(r.method));
  req.url = std::string(view(r.url));
  for (size_t i = 0; i < r.header_count; ++i) {
    req.headers.emplace_back(std::string(view(r.headers[i].name)),
                             std::string(view(r.headers[i].value)));
  }
  req.body = std::string(view(r.body));
  if (r.timeout_ms > 0) {
    req.timeout = std::chrono::milliseconds(r.timeout_ms);
  }
  req.verify_tls = (r.flags & WAFLOW_HTTP_INSECURE_SKIP_TLS_VERIFY) == 0;
  // ABI 1.2 fields: a plugin built for 1.0 or 1.1 has a shorter struct, and nothing beyond its
  // struct_size may be read.
  if (WAFLOW_HAS_FIELD(&r, waflow_http_request, max_response_bytes)) {
    req.response_file = std::string(view(r.response_file));
    req.max_response_bytes = static_cast<std::size_t>(r.max_response_bytes);
  }
  return req;
}

waflow_http_error toAbi(ClientError e) {
  switch (e) {
    case ClientError::kNone:
      return WAFLOW_HTTP_OK;
    case ClientError::kTimeout:
      return WAFLOW_HTTP_TIMEOUT;
    case ClientError::kConnect:
    case ClientError::kResolve:
      return WAFLOW_HTTP_CONNECT;
    case ClientError::kTls:
      return WAFLOW_HTTP_TLS;
    case ClientError::kTooLarge:
      return WAFLOW_HTTP_TOO_LARGE;
    case ClientError::kCancelled:
      return WAFLOW_HTTP_CANCELLED;
    case ClientError::kShutdown:
      return WAFLOW_HTTP_SHUTDOWN;
    case ClientError::kOther:
      break;
  }
  return WAFLOW_HTTP_OTHER;
}

void deliverResponse(const ClientResponse& resp, waflow_http_callback callback, void* user) {
  std::vector<waflow_header> headers;
  headers.reserve(resp.headers.size());
  for (const auto& [k, v] : resp.headers) {
    headers.push_back({abiStr(k), abiStr(v)});
  }
  waflow_http_response out{};
  out.struct_size = sizeof(out);
  out.status = resp.status;
  out.error = toAbi(resp.error);
  out.error_message = abiStr(resp.error_message);
  out.headers = headers.data();
  out.header_count = headers.size();
  out.body = abiStr(resp.body);
  out.elapsed_us = static_cast<uint64_t>(resp.elapsed.count());
  out.request_sent = resp.request_sent ? 1u : 0u;
  callback(user, &out);
}

}  // namespace waflow::core::plugin
