// MetricsObserver — feeds the HTTP server's per-request hooks into Prometheus metrics
// (waflow_http_requests_total, waflow_http_request_duration_seconds, waflow_http_connections).
// Series are looked up once per (method, route, status) and cached per thread, so the request
// path costs two atomic increments.
//
// Thread-safety: the hooks may run on any I/O thread at once.
#pragma once

#include "http_server/http_server.h"
#include "log/log.h"
#include "metrics/metrics.h"

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace waflow::core::daemon {

// Feeds the server's per-request hooks into Prometheus metrics. Series are
// looked up once per (method, route, status) and cached per thread, so the
// request path costs two atomic increments.
class MetricsObserver : public httpd::ServerObserver {
 public:
  explicit MetricsObserver(metrics::Registry& registry)
      : registry_(registry),
        connections_(registry.gauge("waflow_http_connections", "Open HTTP connections")) {}

  void onRequest(std::string_view method, std::string_view route, int status,
                 std::chrono::nanoseconds latency) override {
    thread_local std::unordered_map<std::string, std::pair<metrics::Counter*, metrics::Histogram*>>
        cache;
    thread_local const void* cache_owner = nullptr;
    if (cache_owner != this) {
      cache.clear();
      cache_owner = this;
    }
    std::string key = fmt::format("{} {} {}", method, route, status);
    auto it = cache.find(key);
    if (it == cache.end()) {
      auto& counter = registry_.counter("waflow_http_requests_total", "HTTP requests answered",
                                        {{"method", std::string(method)},
                                         {"route", std::string(route)},
                                         {"status", std::to_string(status)}});
      auto& histogram = registry_.histogram(
          "waflow_http_request_duration_seconds", "Time from complete request to response written",
          metrics::defaultLatencyBuckets(), {{"route", std::string(route)}});
      it = cache.emplace(std::move(key), std::make_pair(&counter, &histogram)).first;
    }
    it->second.first->inc();
    it->second.second->observe(std::chrono::duration<double>(latency).count());
  }
  void onConnectionOpened() override { connections_.add(1); }
  void onConnectionClosed() override { connections_.add(-1); }
  void onHandlerError(std::string_view route, std::string_view what) override {
    log::get("http")->error("handler for {} failed: {}", route, what);
  }

 private:
  metrics::Registry& registry_;
  metrics::Gauge& connections_;
};

}  // namespace waflow::core::daemon
