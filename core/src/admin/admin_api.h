// AdminApi — the admin HTTP API (docs/flows.md#admin-api): reload, custom events, handoff
// release, insights, token usage and the audit log, behind one bearer token.
//
// Every request is hostile until its token matches: bodies are parsed with bounded depth and
// size, and every field's type is checked (400 naming the field); failed authentications are
// counted per client address and an address that keeps failing is locked out (429 with
// Retry-After); the token is compared in constant time. Each action and each failed
// authentication is written to the audit log in storage.
//
// The token check runs on the I/O thread that read the request; the action itself (a reload
// parses every flow) runs on a worker, so the I/O threads stay free for I/O.
//
// Thread-safety: routes may run on any thread at once; the limiter and the audit log lock
// internally, everything else is read-only after construction.
#pragma once

#include "admin/audit_log.h"
#include "admin/auth_failure_limiter.h"
#include "delivery/inbox.h"
#include "http_server/router.h"
#include "metrics/metrics.h"
#include "storage/storage_client.h"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>

namespace waflow::core::engine {
class FlowEngine;
}  // namespace waflow::core::engine

namespace waflow::core::admin {

class AdminApi {
 public:
  struct Services {
    engine::FlowEngine& flows;
    storage::StorageClient& storage;
    metrics::Registry& metrics;
    delivery::Inbox& inbox;              // its quarantine
    boost::asio::io_context& work;       // where actions run
    std::function<void()> after_reload;  // e.g. re-index the knowledge bases
  };

  AdminApi(std::string token, Services services, AuthFailureLimiter::Options limits = {});

  // Registers every route; call before the server starts.
  void addRoutes(httpd::Router& router);

 private:
  // Answers the request and records `summary` (what the action did) in the audit log.
  using Reply = std::function<void(httpd::HttpResponse response, std::string summary)>;
  using Handler = std::function<void(httpd::HttpRequest&& request, Reply reply)>;

  void route(httpd::Router& router, const char* method, const char* path, bool audited,
             Handler handler);
  // True when the request carries the token; otherwise answers 401 or 429 itself.
  bool authenticate(const httpd::HttpRequest& request, const std::string& action,
                    const httpd::Respond& respond);

  void reload(httpd::HttpRequest&& request, Reply reply);
  void publishEvent(httpd::HttpRequest&& request, Reply reply);
  void release(httpd::HttpRequest&& request, Reply reply);
  void retry(httpd::HttpRequest&& request, Reply reply);

  const std::string expected_header_;  // "Bearer <token>"
  Services services_;
  AuthFailureLimiter limiter_;
  AuditLog audit_;
  metrics::Counter& auth_failures_;
  metrics::Counter& locked_out_;
};

}  // namespace waflow::core::admin
