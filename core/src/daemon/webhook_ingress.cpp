// The daemon's HTTP routes: a webhook to its channel instance (and what the plugin parsed to
// the inbox), /healthz, /readyz (every channel ready), /metrics. Part of Daemon::Impl.
#include "daemon/daemon_impl.h"

#include <fmt/format.h>

namespace waflow::core::daemon {

void Daemon::Impl::buildRoutes() {
  channels_ = channelMap();
  router_.add("GET", "/healthz", [](httpd::HttpRequest&&, httpd::Respond respond) {
    respond(httpd::HttpResponse::text(200, "ok\n"));
  });
  router_.add("GET", "/readyz",
              [this](httpd::HttpRequest&&, httpd::Respond respond) { respond(readiness()); });
  // With server.metrics_listen, /metrics is only on its private listener.
  (config_.server.metrics_listen ? metrics_router_ : router_)
      .add("GET", "/metrics", [this](httpd::HttpRequest&&, httpd::Respond respond) {
        httpd::HttpResponse r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = metrics_.render();
        respond(std::move(r));
      });
  for (const char* method : {"GET", "POST"}) {
    router_.addPrefix(
        method, "/webhooks/",
        [this](httpd::HttpRequest&& req, httpd::Respond respond) {
          onWebhook(std::move(req), std::move(respond));
        },
        "/webhooks/{channel}");
  }
}

httpd::HttpResponse Daemon::Impl::readiness() {
  if (stopping_.load()) {
    return httpd::HttpResponse::text(503, "shutting down\n");
  }
  std::string problems;
  for (const auto& [id, channel] : channels_) {
    std::string reason;
    if (!channel->ready(&reason)) {
      problems += fmt::format("channel {}: {}\n", id, reason);
    }
  }
  if (!problems.empty()) {
    return httpd::HttpResponse::text(503, problems);
  }
  return httpd::HttpResponse::text(200, "ready\n");
}

void Daemon::Impl::onWebhook(httpd::HttpRequest&& req, httpd::Respond respond) {
  std::string_view rest = std::string_view(req.path).substr(std::string_view("/webhooks/").size());
  while (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  auto it = channels_.find(std::string(rest));
  if (it == channels_.end()) {
    // Which channels exist is for the operator's log, not for whoever guesses paths.
    respond(httpd::HttpResponse::text(404, "no such webhook\n"));
    return;
  }
  log::RequestScope scope(req.request_id);
  std::string channel = it->first;
  std::string request_id = req.request_id;
  it->second->handleWebhook(
      req, [this, channel, request_id, respond = std::move(respond)](plugin::WebhookOutcome o) {
        log::RequestScope inner(request_id);
        bool carries = !o.messages.empty() || !o.statuses.empty();
        if (o.response.status < 200 || o.response.status >= 300 || !carries) {
          respond(std::move(o.response));
          return;
        }
        httpd::HttpResponse response = std::move(o.response);
        inbox_->accept(channel, std::move(o), request_id,
                       [respond, response = std::move(response)](bool stored) mutable {
                         if (stored) {
                           respond(std::move(response));
                           return;
                         }
                         httpd::HttpResponse busy = httpd::HttpResponse::text(
                             503, "waflow could not store this webhook; please redeliver\n");
                         busy.headers.emplace_back("Retry-After", "1");
                         respond(std::move(busy));
                       });
      });
}

}  // namespace waflow::core::daemon
