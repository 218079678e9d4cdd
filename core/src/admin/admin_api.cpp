#include "admin/admin_api.h"

#include "admin/insights_api.h"
#include "admin/quarantine_api.h"
#include "diag/diagnostic.h"
#include "engine/flow_engine.h"
#include "json/bounded_parse.h"

#include <openssl/crypto.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <utility>

namespace waflow::core::admin {
namespace {

using Json = nlohmann::json;

// The only identity the admin API knows today; named so the audit log reads the same when
// there are several credentials.
constexpr const char* kActor = "admin token";

httpd::HttpResponse jsonError(int status, const std::string& message) {
  return httpd::HttpResponse::json(status, Json{{"error", message}}.dump());
}

// The request body as a JSON object, or an error saying what is wrong with it.
std::optional<Json> readObject(const httpd::HttpRequest& request, const char* shape,
                               std::string& error) {
  json_input::BoundedJson parsed = json_input::parseBounded(request.body);
  if (!parsed.ok()) {
    error = "the body is not usable JSON: " + parsed.error;
    return std::nullopt;
  }
  if (!parsed.value.is_object()) {
    error = std::string("the body must be a JSON object ") + shape;
    return std::nullopt;
  }
  return std::move(parsed.value);
}

// Reads the string field `key` into `out`. Absent is "" unless `required`; any other type is
// an error naming the field.
bool readString(const Json& body, const char* key, bool required, std::string& out,
                std::string& error) {
  auto it = body.find(key);
  if (it == body.end() || (it->is_null() && !required)) {
    if (required) {
      error = fmt::format("\"{}\" is required", key);
      return false;
    }
    return true;
  }
  if (!it->is_string()) {
    error = fmt::format("\"{}\" must be a string", key);
    return false;
  }
  out = it->get<std::string>();
  if (required && out.empty()) {
    error = fmt::format("\"{}\" must not be empty", key);
    return false;
  }
  return true;
}

std::string conversationName(const std::string& channel, const std::string& contact) {
  if (channel.empty() && contact.empty()) {
    return "no conversation";
  }
  return channel + ":" + contact;
}

}  // namespace

AdminApi::AdminApi(std::string token, Services services, AuthFailureLimiter::Options limits)
    : expected_header_("Bearer " + token),
      services_(std::move(services)),
      limiter_(limits),
      audit_(services_.storage),
      auth_failures_(services_.metrics.counter(
          "waflow_admin_auth_failures_total",
          "Admin API requests refused because the token was wrong or missing")),
      locked_out_(services_.metrics.counter(
          "waflow_admin_locked_out_total",
          "Admin API requests refused (429) because their address failed too often")) {}

void AdminApi::addRoutes(httpd::Router& router) {
  route(router, "POST", "/admin/reload", true,
        [this](httpd::HttpRequest&& r, Reply reply) { reload(std::move(r), std::move(reply)); });
  route(router, "POST", "/api/events", true, [this](httpd::HttpRequest&& r, Reply reply) {
    publishEvent(std::move(r), std::move(reply));
  });
  route(router, "POST", "/api/conversations/release", true,
        [this](httpd::HttpRequest&& r, Reply reply) { release(std::move(r), std::move(reply)); });
  // Reads of customer data are actions too: an export is worth knowing about.
  for (const auto& [path, serve] :
       {std::pair{"/api/insights", &serveInsights}, std::pair{"/api/usage", &serveUsage}}) {
    route(router, "GET", path, true, [this, serve](httpd::HttpRequest&& r, Reply reply) {
      std::string summary = r.query.empty() ? "all" : "query " + r.query;
      serve(services_.storage, r, [reply = std::move(reply), summary](httpd::HttpResponse resp) {
        reply(std::move(resp), summary);
      });
    });
  }
  // Messages set aside because their handling kept ending the daemon (quarantine.h).
  route(router, "GET", "/api/quarantine", true, [this](httpd::HttpRequest&& r, Reply reply) {
    std::string summary = r.query.empty() ? "first page" : "query " + r.query;
    serveQuarantine(services_.inbox, r,
                    [reply = std::move(reply), summary](httpd::HttpResponse resp) {
                      reply(std::move(resp), summary);
                    });
  });
  route(router, "POST", "/api/quarantine/retry", true,
        [this](httpd::HttpRequest&& r, Reply reply) { retry(std::move(r), std::move(reply)); });
  // Reading the audit log is not itself logged: paging through it would only add to it.
  route(router, "GET", "/api/audit", false, [this](httpd::HttpRequest&& r, Reply reply) {
    serveAudit(services_.storage, r, [reply = std::move(reply)](httpd::HttpResponse resp) {
      reply(std::move(resp), "");
    });
  });
}

void AdminApi::route(httpd::Router& router, const char* method, const char* path, bool audited,
                     Handler handler) {
  std::string action = std::string(method) + " " + path;
  router.add(method, path,
             [this, action, audited, handler = std::move(handler)](httpd::HttpRequest&& request,
                                                                   httpd::Respond respond) {
               if (!authenticate(request, action, respond)) {
                 return;
               }
               Reply reply = [this, action, audited, address = request.remote_address,
                              respond = std::move(respond)](httpd::HttpResponse response,
                                                            std::string summary) {
                 if (audited) {
                   audit_.append({kActor, action, std::move(summary), address, response.status});
                 }
                 respond(std::move(response));
               };
               boost::asio::post(services_.work, [handler, request = std::move(request),
                                                  reply = std::move(reply)]() mutable {
                 handler(std::move(request), std::move(reply));
               });
             });
}

bool AdminApi::authenticate(const httpd::HttpRequest& request, const std::string& action,
                            const httpd::Respond& respond) {
  const std::string key = AuthFailureLimiter::clientKey(request.remote_address);
  const auto now = AuthFailureLimiter::Clock::now();
  // A locked-out address is refused whatever it sends: answering a right guess differently
  // would let the guessing go on.
  if (auto wait = limiter_.lockedFor(key, now);
      wait > AuthFailureLimiter::Clock::duration::zero()) {
    locked_out_.inc();
    auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
    httpd::HttpResponse r = jsonError(
        429, fmt::format("too many failed admin logins from this address; retry in {} s", seconds));
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
    respond(std::move(r));
    return false;
  }
  auto header = request.header("Authorization");
  if (header && header->size() == expected_header_.size() &&
      CRYPTO_memcmp(header->data(), expected_header_.data(), expected_header_.size()) == 0) {
    return true;
  }
  auth_failures_.inc();
  AuthFailureLimiter::Failure failure = limiter_.recordFailure(key, now);
  std::string summary = header ? "wrong token" : "no token";
  if (failure.locked_out) {
    summary += fmt::format(
        "; {} failures: the address is locked out for {} s", failure.count,
        std::chrono::duration_cast<std::chrono::seconds>(limiter_.options().lockout).count());
  }
  audit_.appendFailure({"", action, std::move(summary), request.remote_address, 401});
  respond(jsonError(401, "send the admin token as 'Authorization: Bearer <flows.admin_token>'"));
  return false;
}

void AdminApi::reload(httpd::HttpRequest&&, Reply reply) {
  engine::FlowEngine::ReloadResult r = services_.flows.reload("admin API");
  if (services_.after_reload) {
    services_.after_reload();
  }
  Json errors = Json::array();
  for (const auto& d : r.diagnostics) {
    errors.push_back({{"file", d.file},
                      {"line", d.line},
                      {"column", d.column},
                      {"severity", diag::severityName(d.severity)},
                      {"message", d.text()}});
  }
  Json body = {
      {"reloaded", r.ok}, {"version", r.version}, {"flows", r.flows}, {"problems", errors}};
  std::string summary = r.ok ? fmt::format("reloaded: version {}, {} flow(s)", r.version, r.flows)
                             : fmt::format("refused: {} problem(s); version {} keeps running",
                                           errors.size(), r.version);
  reply(httpd::HttpResponse::json(r.ok ? 200 : 422,
                                  body.dump(-1, ' ', false, Json::error_handler_t::replace)),
        std::move(summary));
}

void AdminApi::publishEvent(httpd::HttpRequest&& request, Reply reply) {
  static constexpr const char* kShape =
      "{\"event\": \"<name>\", \"data\": {...}, \"channel\": \"<id>\", \"contact\": "
      "\"<wa_id>\"}; data, channel and contact are optional";
  std::string error;
  std::string event;
  std::string channel;
  std::string contact;
  std::optional<Json> body = readObject(request, kShape, error);
  if (body && readString(*body, "event", true, event, error) &&
      readString(*body, "channel", false, channel, error) &&
      readString(*body, "contact", false, contact, error)) {
    Json data = body->value("data", Json::object());
    if (data.is_null()) {
      data = Json::object();
    }
    if (!data.is_object()) {
      error = "\"data\" must be a JSON object";
    } else {
      bool ok = services_.flows.publishEvent(event, data, channel, contact);
      std::string summary =
          fmt::format("event '{}' for {}", event, conversationName(channel, contact));
      return reply(ok ? httpd::HttpResponse::json(202, R"({"accepted":true})")
                      : jsonError(503, "the event bus is full; retry"),
                   std::move(summary));
    }
  }
  reply(jsonError(400, error), "refused: " + error);
}

void AdminApi::release(httpd::HttpRequest&& request, Reply reply) {
  std::string error;
  std::string channel;
  std::string contact;
  std::optional<Json> body =
      readObject(request, "{\"channel\": \"<id>\", \"contact\": \"<wa_id>\"}", error);
  if (!body || !readString(*body, "channel", true, channel, error) ||
      !readString(*body, "contact", true, contact, error)) {
    return reply(jsonError(400, error), "refused: " + error);
  }
  bool ok = services_.flows.release(channel, contact);
  reply(ok ? httpd::HttpResponse::json(202, R"({"accepted":true})")
           : jsonError(503, "the event bus is full; retry"),
        "released " + conversationName(channel, contact));
}

void AdminApi::retry(httpd::HttpRequest&& request, Reply reply) {
  std::string error;
  std::string channel;
  std::string id;
  std::optional<Json> body =
      readObject(request, "{\"channel\": \"<id>\", \"id\": \"<message id>\"}", error);
  if (!body || !readString(*body, "channel", true, channel, error) ||
      !readString(*body, "id", true, id, error)) {
    return reply(jsonError(400, error), "refused: " + error);
  }
  std::string summary = fmt::format("retry quarantined message {} on {}", id, channel);
  retryQuarantined(services_.inbox, channel, id,
                   [reply = std::move(reply), summary](httpd::HttpResponse response) {
                     reply(std::move(response), summary);
                   });
}

}  // namespace waflow::core::admin
