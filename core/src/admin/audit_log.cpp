#include "admin/audit_log.h"

#include "log/log.h"
#include "storage/storage_client.h"

#include <waflow/sdk/storage.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <utility>

namespace waflow::core::admin {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxSummaryBytes = 500;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Cuts at a UTF-8 character boundary.
std::string cut(std::string text, std::size_t max) {
  if (text.size() <= max) {
    return text;
  }
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  text.resize(end);
  return text + "...";
}

httpd::HttpResponse badRequest(const std::string& message) {
  return httpd::HttpResponse::json(400, Json{{"error", message}}.dump());
}

// A non-negative integer query parameter; nullopt when absent, `bad` set when malformed.
std::optional<int64_t> integerParam(const httpd::HttpRequest& request, const char* name,
                                    bool& bad) {
  auto text = request.queryParam(name);
  if (!text || text->empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  long long value = std::strtoll(text->c_str(), &end, 10);
  if (end == nullptr || *end != '\0' || value < 0) {
    bad = true;
    return std::nullopt;
  }
  return value;
}

}  // namespace

AuditLog::AuditLog(storage::StorageClient& storage, double failure_burst)
    : storage_(storage), failures_(1.0, failure_burst) {}

void AuditLog::append(AuditEntry entry) {
  Json input = {{"at", nowMs()},
                {"actor", std::move(entry.actor)},
                {"action", std::move(entry.action)},
                {"summary", cut(std::move(entry.summary), kMaxSummaryBytes)},
                {"address", std::move(entry.address)},
                {"status", entry.status}};
  storage_.call(
      waflow::storage::kAuditAppend, input, [](const plugin::CallOutcome& o, const Json&) {
        if (!o.ok()) {
          log::get("waflow")->warn("an admin action was not written to the audit log: {}", o.error);
        }
      });
}

void AuditLog::appendFailure(AuditEntry entry) {
  {
    std::lock_guard lock(mutex_);
    if (failures_.take(delivery::TokenBucket::Clock::now()) !=
        delivery::TokenBucket::Clock::duration::zero()) {
      ++failures_left_out_;
      return;
    }
    if (failures_left_out_ > 0) {
      entry.summary += fmt::format(
          " ({} failed attempt(s) before this one were not recorded "
          "one by one: too many at once)",
          failures_left_out_);
      failures_left_out_ = 0;
    }
  }
  append(std::move(entry));
}

void serveAudit(storage::StorageClient& storage, const httpd::HttpRequest& request,
                httpd::Respond respond) {
  Json input = Json::object();
  bool bad = false;
  for (const auto& [param, field] : {std::pair{"after", "after_seq"}, std::pair{"limit", "limit"},
                                     std::pair{"since", "since"}, std::pair{"until", "until"}}) {
    if (auto value = integerParam(request, param, bad)) {
      input[field] = *value;
    }
    if (bad) {
      return respond(
          badRequest(fmt::format("{}: give a whole number (since and until are Unix "
                                 "milliseconds)",
                                 param)));
    }
  }
  if (input.contains("limit") && (input["limit"] < 1 || input["limit"] > 1000)) {
    return respond(badRequest("limit: give a number from 1 to 1000"));
  }
  storage.call(waflow::storage::kAuditList, input,
               [respond = std::move(respond)](const plugin::CallOutcome& o, Json out) {
                 if (!o.ok()) {
                   return respond(
                       httpd::HttpResponse::json(o.rc == waflow::Rc::kInvalid ? 400 : 503,
                                                 Json{{"error", "audit.list: " + o.error}}.dump()));
                 }
                 respond(httpd::HttpResponse::json(200, out.dump()));
               });
}

}  // namespace waflow::core::admin
