#include "admin/quarantine_api.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <optional>
#include <string_view>

namespace waflow::core::admin {
namespace {

using Json = nlohmann::json;

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;

httpd::HttpResponse jsonError(int status, const std::string& message) {
  return httpd::HttpResponse::json(status, Json{{"error", message}}.dump());
}

// A non-negative integer query parameter; `fallback` when absent, nullopt when unreadable.
std::optional<int64_t> integerParam(const httpd::HttpRequest& request, const char* name,
                                    int64_t fallback) {
  auto text = request.queryParam(name);
  if (!text || text->empty()) {
    return fallback;
  }
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

void serveQuarantine(delivery::Inbox& inbox, const httpd::HttpRequest& request,
                     httpd::Respond respond) {
  auto limit = integerParam(request, "limit", kDefaultLimit);
  auto after = integerParam(request, "after", 0);
  if (!limit || *limit < 1 || *limit > kMaxLimit) {
    respond(jsonError(400, fmt::format("limit: expected a whole number from 1 to {}", kMaxLimit)));
    return;
  }
  if (!after) {
    respond(jsonError(400, "after: expected the `next` number of the previous page"));
    return;
  }
  const int page = static_cast<int>(*limit);
  inbox.quarantine().list(
      page, *after, [respond = std::move(respond), page](const plugin::CallOutcome& o, Json out) {
        if (!o.ok() || !out.is_object()) {
          respond(jsonError(503, "storage could not list the quarantine: " + o.error));
          return;
        }
        Json messages = out.value("messages", Json::array());
        Json next = nullptr;
        if (static_cast<int>(messages.size()) == page) {
          next = messages.back().value("seq", int64_t{0});
        }
        respond(httpd::HttpResponse::json(
            200, Json{{"messages", std::move(messages)}, {"next", next}}.dump(
                     -1, ' ', false, Json::error_handler_t::replace)));
      });
}

void retryQuarantined(delivery::Inbox& inbox, const std::string& channel, const std::string& id,
                      httpd::Respond respond) {
  inbox.retryQuarantined(
      channel, id,
      [respond = std::move(respond), channel, id](bool released, const std::string& error) {
        if (!error.empty()) {
          respond(jsonError(503, "storage could not release the message: " + error));
        } else if (!released) {
          respond(jsonError(
              404, fmt::format("no quarantined message '{}' on channel '{}'", id, channel)));
        } else {
          respond(httpd::HttpResponse::json(202, R"({"retrying":true})"));
        }
      });
}

}  // namespace waflow::core::admin
