// AuditLog — the record of admin-API actions in storage (audit.append, audit.list): who (the
// credential's identity, today "admin token"), what (method and route, and a short summary
// of the change), when, from where (the client's address) and the result (HTTP status).
//
// Failed authentications are recorded too, but at most `failure_burst` rows back to back and
// one a second after that, so someone guessing from many addresses cannot fill the disk; the
// failures left out are counted and named in the next row written.
//
// Thread-safety: append() may be called from any thread; writes are asynchronous and a
// storage failure is logged, never thrown.
#pragma once

#include "delivery/token_bucket.h"
#include "http_server/http_types.h"
#include "storage/storage_client.h"

#include <cstdint>
#include <mutex>
#include <string>

namespace waflow::core::admin {

struct AuditEntry {
  std::string actor;    // "admin token", or "" for a caller that did not authenticate
  std::string action;   // "POST /admin/reload"
  std::string summary;  // what changed, e.g. "reloaded: version 4, 3 flows" (cut at 500 bytes)
  std::string address;  // the client's address
  int status = 0;       // the HTTP status answered
};

class AuditLog {
 public:
  explicit AuditLog(storage::StorageClient& storage, double failure_burst = 60);

  void append(AuditEntry entry);
  // A failed authentication: written unless failures are arriving faster than the log takes.
  void appendFailure(AuditEntry entry);

 private:
  storage::StorageClient& storage_;
  std::mutex mutex_;
  delivery::TokenBucket failures_;
  uint64_t failures_left_out_ = 0;
};

// GET /api/audit?after=<seq>&limit=<1..1000>&since=&until= : the audit log, oldest first,
// in pages; `next` is the `after` of the next page (null on the last).
void serveAudit(storage::StorageClient& storage, const httpd::HttpRequest& request,
                httpd::Respond respond);

}  // namespace waflow::core::admin
