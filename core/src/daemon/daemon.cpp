#include "daemon/daemon.h"

#include "engine/flow_engine.h"

#include "admin/admin_api.h"
#include "bus/event_bus.h"
#include "config/sandbox_exposure.h"
#include "config/token_strength.h"
#include "daemon/context_threads.h"
#include "daemon/plugin_plan.h"
#include "daemon/shutdown_watchdog.h"
#include "delivery/auto_reply.h"
#include "delivery/events.h"
#include "delivery/inbox.h"
#include "http_client/http_client.h"
#include "http_server/http_server.h"
#include "http_server/router.h"
#include "knowledge/knowledge_base.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "plugin/plugin_catalog.h"
#include "plugin/plugin_instance.h"
#include "storage/storage_protocol.h"

#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

namespace waflow::core::daemon {
namespace {

// After server.shutdown_timeout, the time left to write what finished (inbox.done, the
// outbox's last answers) before the watchdog ends the process.
constexpr std::chrono::seconds kShutdownFlushTime{5};

std::size_t threadsFor(int configured) {
  if (configured > 0) {
    return static_cast<std::size_t>(configured);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

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

}  // namespace

class Daemon::Impl {
 public:
  Impl(config::Config config, Options options)
      : config_(std::move(config)),
        options_(std::move(options)),
        io_threads_(threadsFor(config_.server.threads)),
        // Media downloads (documents reach 100 MB on the Cloud API) need more room
        // than the client's 64 MiB default. One shard per I/O thread, so thousands of AI
        // calls in flight do not queue on one thread's connection bookkeeping. Responses are
        // handed to the workers: what is done with them is never I/O.
        http_client_(io_, ClientOptions{.max_response_bytes = 128ull * 1024 * 1024,
                                        .shards = io_threads_,
                                        .callbacks_on = &work_io_}),
        bus_(bus::EventBus::Options{
            static_cast<std::size_t>(config_.bus.workers > 0 ? config_.bus.workers : 0),
            config_.bus.capacity, &metrics_}),
        observer_(metrics_) {}

  ~Impl() {
    if (started_ && !stopped_) {
      requestStop();
      shutdown();
    }
    joinThreads();
  }

  bool start(std::string* error, std::vector<diag::Diagnostic>* diagnostics) {
    logger_ = log::get("waflow");
    for (const auto& s : config_.secrets) {
      log::addSecret(s);
    }
    raiseOpenFileLimit();
    catalog_.scan(pluginSearchPath(options_.plugin_dirs, config_));
    for (const auto& failure : catalog_.failures()) {
      logger_->warn("plugin {}: {}", failure.file.string(), failure.reason);
    }
    plan_ = planInstances(config_, catalog_);
    for (const auto& s : plan_.secrets) {
      log::addSecret(s);
    }
    if (!plan_.ok()) {
      *diagnostics = plan_.diagnostics;
      *error = "the configuration has errors";
      return false;
    }
    if (!refuseExposedSandbox(error, diagnostics)) {
      return false;
    }
    std::error_code ec;
    std::filesystem::create_directories(config_.data_dir, ec);
    if (ec) {
      *error = fmt::format("cannot create data_dir '{}': {}", config_.data_dir, ec.message());
      return false;
    }
    if (!createInstances(error)) {
      return false;
    }
    plugin::PluginInstance* storage = nullptr;
    for (auto& instance : instances_) {
      if (instance->kind() == WAFLOW_KIND_STORAGE) {
        storage = instance.get();
      }
    }
    if (storage == nullptr) {
      *error =
          "no storage is configured (storage.plugin): waflow keeps every message it "
          "acknowledges in storage, by default storage-sqlite";
      return false;
    }
    storage_ = storage;
    if (!checkStorageProtocol(*storage, error)) {
      return false;
    }
    inbox_ = std::make_unique<delivery::Inbox>(*storage, bus_, metrics_, work_io_,
                                               config_.inbox.max_attempts);
    buildRoutes();
    outbox_ = std::make_unique<delivery::Outbox>(config_.outbox, *storage, channels_, bus_,
                                                 metrics_, work_io_);
    inbox_->setOutbox(outbox_.get());
    if (config_.auto_reply.enabled && !channels_.empty()) {
      plugin::PluginInstance* ai = nullptr;
      if (!config_.auto_reply.ai.empty()) {
        ai = findInstance(config_.auto_reply.ai, WAFLOW_KIND_AI);
      }
      auto_reply_ = std::make_unique<delivery::AutoReply>(config_.auto_reply, *outbox_, bus_,
                                                          metrics_, channelMap(), ai);
    }
    std::map<std::string, knowledge::KnowledgeBase*> knowledge;
    for (const auto& [id, entry] : config_.knowledge) {
      knowledge_.push_back(knowledge::KnowledgeBase::create(entry, *storage, &http_client_));
      knowledge[id] = knowledge_.back().get();
    }
    if (config_.flows.enabled) {
      std::map<std::string, plugin::PluginInstance*> ai;
      for (auto& instance : instances_) {
        if (instance->kind() == WAFLOW_KIND_AI) {
          ai[instance->id()] = instance.get();
        }
      }
      flows_ = std::make_unique<engine::FlowEngine>(
          config_, engine::FlowEngine::Services{
                       *storage, *outbox_, bus_, metrics_, work_io_, http_client_, channels_,
                       std::move(ai), auto_reply_.get(), outbox_->owner(), std::move(knowledge)});
      if (!flows_->load(diagnostics)) {
        *error = "the flows or scripts have errors";
        return false;
      }
      flows_->attach();  // messages no flow takes go to the auto-reply
      if (!config_.flows.admin_token.empty()) {
        admin_ = std::make_unique<admin::AdminApi>(
            config_.flows.admin_token,
            admin::AdminApi::Services{*flows_, *storage, metrics_, *inbox_, work_io_,
                                      [this] { syncKnowledge("admin API"); }});
        admin_->addRoutes(router_);
      }
    } else if (auto_reply_) {
      auto_reply_->attach();
    }
    inbox_->attachCompletion();  // after every other message.received handler
    addCollectors();
    httpd::ServerOptions server_options;
    server_options.address = config_.server.address;
    server_options.port = config_.server.port;
    server_options.body_limit = config_.server.body_limit;
    server_options.header_limit = config_.server.header_limit;
    server_options.read_timeout = config_.server.read_timeout;
    server_options.idle_timeout = config_.server.idle_timeout;
    server_ = std::make_unique<httpd::HttpServer>(io_, server_options, router_, &observer_);
    if (config_.server.metrics_listen) {
      server_options.address = config_.server.metrics_address;
      server_options.port = config_.server.metrics_port;
      server_options.listen_setting = "server.metrics_listen";
      metrics_server_ = std::make_unique<httpd::HttpServer>(io_, server_options, metrics_router_);
    }
    try {
      server_->start();
      if (metrics_server_) {
        metrics_server_->start();
      }
    } catch (const std::exception& e) {
      *error = e.what();
      return false;
    }
    bus_.start();
    if (options_.handle_signals) {
      handleSignals();
    }
    io_pool_.start(io_threads_);
    work_pool_.start(threadsFor(config_.bus.workers));
    started_ = true;
    outbox_->start();  // before the inbox replays: replies to replayed messages go through it
    if (flows_) {
      flows_->start();
    }
    retireKnowledge();
    if (!knowledge_.empty()) {
      syncKnowledge("start");
    }
    if (std::size_t recovered = inbox_->recover(std::chrono::seconds(30)); recovered > 0) {
      logger_->info(
          "{} message(s) stored before the last stop were not finished; handling "
          "them now",
          recovered);
    }
    logStartup();
    return true;
  }

  uint16_t port() const { return server_ ? server_->port() : 0; }

  // Every webhook connection and every AI call in flight is a socket: thousands of AI calls
  // waiting on a slow model need more than the usual soft limit of 1,024 descriptors. The
  // soft limit is raised to the hard one, which needs no privilege.
  void raiseOpenFileLimit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) {
      return;
    }
    rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
      logger_->debug("open files limit raised from {} to {}", before, limit.rlim_cur);
    } else {
      logger_->warn("open files limit stays at {} (it limits concurrent connections and AI calls)",
                    before);
    }
  }

  // Signals wait on a thread of their own: however busy the workers or the I/O threads are,
  // SIGTERM starts the shutdown at once (and the watchdog bounds it), and a second SIGTERM or
  // SIGINT ends the process without waiting.
  void handleSignals() {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    awaitStopSignal();
    if (flows_) {
      reload_signals_.add(SIGHUP);
      awaitReloadSignal();
    }
    signal_pool_.start(1);
  }

  void awaitStopSignal() {
    signals_.async_wait([this](const boost::system::error_code& e, int signal) {
      if (e) {
        return;
      }
      const char* name = signal == SIGINT ? "SIGINT" : "SIGTERM";
      if (stop_signalled_.exchange(true)) {
        logger_->warn(
            "received {} again: exiting now without waiting for in-flight work; "
            "messages not finished are handled again at the next start",
            name);
        std::_Exit(128 + signal);
      }
      logger_->info("received {}, shutting down gracefully (send it again to exit at once)", name);
      requestStop();
      awaitStopSignal();
    });
  }

  void awaitReloadSignal() {
    reload_signals_.async_wait([this](const boost::system::error_code& e, int) {
      if (e || stopping_.load()) {
        return;
      }
      // Parsing flows is work, not signal handling: the workers do it.
      boost::asio::post(work_io_, [this] {
        if (!stopping_.load()) {
          flows_->reload("SIGHUP");
          syncKnowledge("SIGHUP");
        }
      });
      awaitReloadSignal();
    });
  }

  // A knowledge base taken out of waflow.yaml leaves no index behind: checked at every start,
  // also when no knowledge base is configured any more.
  void retireKnowledge() {
    std::vector<std::string> ids;
    for (const auto& [id, entry] : config_.knowledge) {
      ids.push_back(id);
    }
    knowledge::KnowledgeBase::retainOnly(
        *storage_, ids,
        [this](std::vector<std::pair<std::string, int64_t>> removed, std::string error) {
          if (!error.empty()) {
            logger_->warn("the index of knowledge bases no longer configured was not removed: {}",
                          error);
            return;
          }
          for (const auto& [id, documents] : removed) {
            logger_->info(
                "knowledge '{}' is no longer in the config: its index ({} file(s)) was "
                "removed",
                id, documents);
          }
        });
  }

  // Brings every knowledge base's index up to date with its files (cheap when nothing changed:
  // unchanged files are not even read). With flows.watch on, it runs again every
  // flows.watch_interval, so an edited FAQ is searchable a moment after it is saved.
  void syncKnowledge(const std::string& why) {
    for (const auto& kb : knowledge_) {
      kb->sync([this, id = kb->id(), why](knowledge::KnowledgeBase::SyncReport r) {
        if (r.indexed > 0 || r.removed > 0 || why == "start") {
          logger_->info(
              "knowledge '{}' ({}): {} file(s) indexed ({} passages), {} removed, {} "
              "unchanged",
              id, why, r.indexed, r.chunks, r.removed, r.unchanged);
        }
        {
          // A file that stays broken is reported once, not at every watch tick.
          std::lock_guard lock(knowledge_mutex_);
          if (knowledge_errors_[id] == r.errors) {
            return;
          }
          knowledge_errors_[id] = r.errors;
        }
        for (const auto& e : r.errors) {
          logger_->error("knowledge '{}': {} (the file's previous index is kept)", id, e);
        }
      });
    }
    if (why == "start" && config_.flows.watch) {
      watchKnowledge();
    }
  }

  void watchKnowledge() {
    knowledge_timer_.expires_after(config_.flows.watch_interval);
    knowledge_timer_.async_wait([this](const boost::system::error_code& e) {
      if (e || stopping_.load()) {
        return;
      }
      syncKnowledge("file watch");
      watchKnowledge();
    });
  }

  void requestStop() {
    std::lock_guard lock(stop_mutex_);
    stop_requested_ = true;
    stop_cv_.notify_all();
  }

  int wait() {
    {
      std::unique_lock lock(stop_mutex_);
      stop_cv_.wait(lock, [this] { return stop_requested_; });
    }
    if (options_.handle_signals) {  // the process is ours to end
      watchdog_.arm(config_.server.shutdown_timeout + kShutdownFlushTime);
    }
    shutdown();
    watchdog_.disarm();
    return 0;
  }

 private:
  bool createInstances(std::string* error) {
    // Plugins' timers and posted work run on the workers; their HTTP on the I/O threads.
    plugin::HostServices services{work_io_, http_client_, bus_,
                                  std::filesystem::path(config_.data_dir)};
    for (const auto& planned : plan_.instances) {
      const auto& entry = *planned.entry;
      auto instance = std::make_unique<plugin::PluginInstance>(planned.library, entry.id, services);
      std::string why;
      if (!instance->create(
              planned.config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
              &why)) {
        *error = fmt::format("{}:{}:{}: {}.{}: plugin '{}' ({}) refused its config: {}",
                             entry.file.empty() ? "<built-in config>" : entry.file, entry.line,
                             entry.column, entry.section, entry.id, entry.plugin,
                             planned.library->path().string(), why);
        return false;
      }
      instances_.push_back(std::move(instance));
    }
    for (auto& instance : instances_) {
      std::string why;
      if (!instance->start(&why)) {
        *error = fmt::format("plugin instance '{}' failed to start: {}", instance->id(), why);
        return false;
      }
    }
    return true;
  }

  // A sandbox channel on an address other machines reach needs a token (its validated config,
  // so a ${...} that came out empty counts as none): else anyone could write as any customer.
  // storage.describe, before anything is stored: see storage/storage_protocol.h.
  bool checkStorageProtocol(plugin::PluginInstance& storage, std::string* error) {
    storage::StorageNeeds needs;
    needs.knowledge = !config_.knowledge.empty();
    needs.audit = config_.flows.enabled && !config_.flows.admin_token.empty();
    storage::StorageVerdict verdict =
        storage::checkStorage(storage, needs, std::chrono::seconds(30));
    for (const std::string& warning : verdict.warnings) {
      logger_->warn("{}", warning);
    }
    if (!verdict.ok()) {
      *error = verdict.error;
      return false;
    }
    return true;
  }

  bool refuseExposedSandbox(std::string* error, std::vector<diag::Diagnostic>* diagnostics) {
    auto has_token = [this](const config::InstanceConfig& channel) {
      for (const auto& planned : plan_.instances) {
        if (planned.entry == &channel) {
          std::string token = planned.config.value("token", "");
          return !token.empty() && !config::tokenWeakness(token);
        }
      }
      return false;
    };
    auto exposed = config::exposedSandboxChannels(config_, has_token);
    if (exposed.empty()) {
      return true;
    }
    diagnostics->push_back(config::sandboxExposure(config_, exposed, diag::Severity::kError));
    *error = "the sandbox channel would be open to anyone (see above)";
    return false;
  }

  plugin::PluginInstance* findInstance(const std::string& id, waflow_plugin_kind kind) {
    for (auto& instance : instances_) {
      if (instance->id() == id && instance->kind() == kind) {
        return instance.get();
      }
    }
    return nullptr;
  }

  std::map<std::string, plugin::PluginInstance*> channelMap() {
    std::map<std::string, plugin::PluginInstance*> out;
    for (auto& instance : instances_) {
      if (instance->kind() == WAFLOW_KIND_CHANNEL) {
        out[instance->id()] = instance.get();
      }
    }
    return out;
  }

  void buildRoutes() {
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

  httpd::HttpResponse readiness() {
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

  void onWebhook(httpd::HttpRequest&& req, httpd::Respond respond) {
    std::string_view rest =
        std::string_view(req.path).substr(std::string_view("/webhooks/").size());
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

  void addCollectors() {
    metrics_.addCollector([this](metrics::Registry& r) {
      for (const auto& instance : instances_) {
        auto& c = r.counter("waflow_plugin_errors_total",
                            "Failed plugin calls and error lines logged by plugins",
                            {{"instance", instance->id()}, {"plugin", instance->library().name()}});
        uint64_t now = instance->errorCount();
        if (now > c.value()) {
          c.inc(now - c.value());
        }
        addPluginEvents(r, *instance);
      }
      if (outbox_) {
        r.gauge("waflow_outbox_backlog", "Messages claimed for sending and not yet answered")
            .set(static_cast<double>(outbox_->backlog()));
      }
      auto stats = http_client_.stats();
      r.gauge("waflow_http_client_in_flight", "Outbound HTTP requests in flight")
          .set(static_cast<double>(stats.in_flight));
      auto& done =
          r.counter("waflow_http_client_requests_total", "Outbound HTTP requests finished");
      if (stats.completed > done.value()) {
        done.inc(stats.completed - done.value());
      }
    });
  }

  // What a plugin counted through host->count() (e.g. refused foreign-number notifications).
  static void addPluginEvents(metrics::Registry& r, const plugin::PluginInstance& instance) {
    for (const auto& [event, total] : instance.counters().snapshot()) {
      auto& c = r.counter(
          "waflow_plugin_events_total", "Events plugins counted, by name",
          {{"instance", instance.id()}, {"plugin", instance.library().name()}, {"event", event}});
      if (total > c.value()) {
        c.inc(total - c.value());
      }
    }
  }

  void logStartup() {
    // The bound port matters even when info lines are off (--listen host:0).
    logger_->log(
        logger_->should_log(spdlog::level::info) ? spdlog::level::info : spdlog::level::warn,
        "waflow {} listening on http://{}:{} ({} I/O threads)", WAFLOW_VERSION,
        config_.server.address, port(), io_threads_);
    if (metrics_server_) {
      logger_->info("metrics at http://{}:{}/metrics (server.metrics_listen)",
                    config_.server.metrics_address, metrics_server_->port());
    }
    for (const auto& instance : instances_) {
      if (instance->kind() == WAFLOW_KIND_CHANNEL) {
        logger_->info("channel '{}' ({}): webhooks at /webhooks/{}", instance->id(),
                      instance->library().name(), instance->id());
      } else {
        logger_->info("{} '{}' ({})", instance->library().kindName(), instance->id(),
                      instance->library().name());
      }
    }
    if (auto_reply_) {
      logger_->info("auto-reply: {}{}", config_.auto_reply.mode,
                    config_.auto_reply.mode == "ai" ? " via '" + config_.auto_reply.ai + "'" : "");
    }
  }

  void shutdown() {
    if (stopped_) {
      return;
    }
    stopped_ = true;
    stopping_ = true;
    auto grace = config_.server.shutdown_timeout;
    for (httpd::HttpServer* server : {server_.get(), metrics_server_.get()}) {
      if (server != nullptr) {
        std::promise<void> closed;
        auto closed_future = closed.get_future();
        server->shutdown(grace, [&closed] { closed.set_value(); });
        closed_future.wait();
      }
    }
    if (inbox_) {
      inbox_->stop();
    }
    bus_.stop(grace);
    if (flows_) {
      flows_->stop();
    }
    boost::asio::post(work_io_, [this] { knowledge_timer_.cancel(); });
    if (inbox_ && !inbox_->flushDone(std::chrono::seconds(10))) {
      logger_->warn(
          "some finished messages could not be marked done in time; they will be "
          "handled again at the next start");
    }
    if (outbox_) {
      outbox_->stop(std::min<std::chrono::milliseconds>(grace, std::chrono::seconds(10)));
    }
    for (auto it = instances_.rbegin(); it != instances_.rend(); ++it) {
      (*it)->stop(std::chrono::seconds(5));
    }
    flows_.reset();
    auto_reply_.reset();
    instances_.clear();
    http_client_.shutdown();
    joinThreads();
    logger_->info("stopped");
  }

  void joinThreads() {
    signal_pool_.stop();
    io_pool_.stop();
    work_pool_.stop();
  }

  config::Config config_;
  Options options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::size_t io_threads_;
  // Three contexts, each on threads of its own (see ContextThreads): I/O, work, signals.
  boost::asio::io_context io_;
  boost::asio::io_context work_io_;
  boost::asio::io_context signal_io_;
  ContextThreads io_pool_{io_, "waflow-io"};
  ContextThreads work_pool_{work_io_, "waflow-work"};
  ContextThreads signal_pool_{signal_io_, "waflow-signals"};
  metrics::Registry metrics_;
  HttpClient http_client_;
  bus::EventBus bus_;
  MetricsObserver observer_;
  boost::asio::signal_set signals_{signal_io_};
  std::atomic<bool> stop_signalled_{false};
  ShutdownWatchdog watchdog_;
  plugin::PluginCatalog catalog_;
  InstancePlan plan_;
  std::vector<std::unique_ptr<plugin::PluginInstance>> instances_;
  std::map<std::string, plugin::PluginInstance*> channels_;
  std::unique_ptr<delivery::Outbox>
      outbox_;  // used by the auto-reply and the inbox: declared first
  std::unique_ptr<delivery::AutoReply> auto_reply_;
  std::unique_ptr<engine::FlowEngine> flows_;
  boost::asio::signal_set reload_signals_{signal_io_};
  std::vector<std::shared_ptr<knowledge::KnowledgeBase>> knowledge_;
  boost::asio::steady_timer knowledge_timer_{work_io_};
  std::mutex knowledge_mutex_;
  std::map<std::string, std::vector<std::string>> knowledge_errors_;  // last reported, by id
  plugin::PluginInstance* storage_ = nullptr;                         // one of instances_
  std::unique_ptr<delivery::Inbox> inbox_;  // destroyed after the threads end (see ~Impl)
  httpd::Router router_;
  std::unique_ptr<admin::AdminApi> admin_;  // its routes are in router_: outlives server_
  std::unique_ptr<httpd::HttpServer> server_;
  // server.metrics_listen: /metrics alone, on a private address.
  httpd::Router metrics_router_;
  std::unique_ptr<httpd::HttpServer> metrics_server_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_requested_ = false;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
};

Daemon::Daemon(config::Config config, Options options)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(options))) {}
Daemon::~Daemon() = default;

bool Daemon::start(std::string* error, std::vector<diag::Diagnostic>* diagnostics) {
  return impl_->start(error, diagnostics);
}
uint16_t Daemon::port() const {
  return impl_->port();
}
void Daemon::requestStop() {
  impl_->requestStop();
}
int Daemon::wait() {
  return impl_->wait();
}

}  // namespace waflow::core::daemon
