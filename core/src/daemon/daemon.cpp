#include "daemon/daemon_impl.h"

#include <sys/resource.h>

#include <fmt/format.h>

namespace waflow::core::daemon {
namespace {

// After server.shutdown_timeout, the time left to write what finished (inbox.done, the
// outbox's last answers) before the watchdog ends the process.
constexpr std::chrono::seconds kShutdownFlushTime{5};

}  // namespace

std::size_t threadsFor(int configured) {
  if (configured > 0) {
    return static_cast<std::size_t>(configured);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

bool Daemon::Impl::start(std::string* error, std::vector<diag::Diagnostic>* diagnostics) {
  logger_ = log::get("waflow");
  for (const auto& s : config_.secrets) {
    log::addSecret(s);
  }
  raiseOpenFileLimit();
  if (!loadPlugins(error, diagnostics) || !openStorage(error)) {
    return false;
  }
  buildDelivery();
  if (config_.flows.enabled && !buildFlows(error, diagnostics)) {
    return false;
  }
  if (auto_reply_) {
    inbound_.add(*auto_reply_, "auto-reply");  // what no flow takes, or everything
  }
  inbound_.attach(bus_);
  inbox_->attachCompletion();
  addCollectors();
  if (!listen(error)) {
    return false;
  }
  startRunning();
  return true;
}

bool Daemon::Impl::loadPlugins(std::string* error, std::vector<diag::Diagnostic>* diagnostics) {
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
  return createInstances(error);
}

bool Daemon::Impl::openStorage(std::string* error) {
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
  storage_ = std::make_unique<storage::PluginStorage>(*storage);
  return checkStorageProtocol(*storage_, error);
}

void Daemon::Impl::buildDelivery() {
  inbox_ = std::make_unique<delivery::Inbox>(*storage_, window_, bus_, metrics_, work_io_,
                                             config_.inbox.max_attempts);
  buildRoutes();
  outbox_ = std::make_unique<delivery::Outbox>(config_.outbox, *storage_, window_, channels_, bus_,
                                               metrics_, work_io_);
  outbox_->attach();
  if (config_.auto_reply.enabled && !channels_.empty()) {
    plugin::PluginInstance* ai = nullptr;
    if (!config_.auto_reply.ai.empty()) {
      ai = findInstance(config_.auto_reply.ai, WAFLOW_KIND_AI);
    }
    auto_reply_ = std::make_unique<delivery::AutoReply>(config_.auto_reply, *outbox_, bus_,
                                                        metrics_, channelMap(), ai);
  }
  for (const auto& [id, entry] : config_.knowledge) {
    knowledge_.push_back(knowledge::KnowledgeBase::create(entry, *storage_, &http_client_));
  }
}

bool Daemon::Impl::buildFlows(std::string* error, std::vector<diag::Diagnostic>* diagnostics) {
  std::map<std::string, knowledge::KnowledgeBase*> knowledge;
  size_t k = 0;
  for (const auto& [id, _] : config_.knowledge) {
    knowledge[id] = knowledge_[k++].get();
  }
  std::map<std::string, plugin::PluginInstance*> ai;
  for (auto& instance : instances_) {
    if (instance->kind() == WAFLOW_KIND_AI) {
      ai[instance->id()] = instance.get();
    }
  }
  flows_ = std::make_unique<engine::FlowEngine>(
      config_, engine::FlowEngine::Services{*storage_, *outbox_, bus_, metrics_, work_io_,
                                            http_client_, channels_, std::move(ai),
                                            outbox_->owner(), std::move(knowledge)});
  if (!flows_->load(diagnostics)) {
    *error = "the flows or scripts have errors";
    return false;
  }
  flows_->attach();
  inbound_.add(*flows_, "flows");
  if (!config_.flows.admin_token.empty()) {
    admin_ = std::make_unique<admin::AdminApi>(
        config_.flows.admin_token,
        admin::AdminApi::Services{*flows_, *storage_, metrics_, *inbox_, work_io_,
                                  [this] { syncKnowledge("admin API"); }});
    admin_->addRoutes(router_);
  }
  return true;
}

bool Daemon::Impl::listen(std::string* error) {
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
  return true;
}

void Daemon::Impl::startRunning() {
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
}

void Daemon::Impl::raiseOpenFileLimit() {
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

void Daemon::Impl::handleSignals() {
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  awaitStopSignal();
  if (flows_) {
    reload_signals_.add(SIGHUP);
    awaitReloadSignal();
  }
  signal_pool_.start(1);
}

void Daemon::Impl::awaitStopSignal() {
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

void Daemon::Impl::awaitReloadSignal() {
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

void Daemon::Impl::requestStop() {
  std::lock_guard lock(stop_mutex_);
  stop_requested_ = true;
  stop_cv_.notify_all();
}

int Daemon::Impl::wait() {
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

bool Daemon::Impl::createInstances(std::string* error) {
  // Plugins' timers and posted work run on the workers; their HTTP on the I/O threads.
  plugin::HostServices services{work_io_, http_client_, bus_,
                                std::filesystem::path(config_.data_dir)};
  for (const auto& planned : plan_.instances) {
    const auto& entry = *planned.entry;
    auto instance = std::make_unique<plugin::PluginInstance>(planned.library, entry.id, services);
    std::string why;
    if (!instance->create(
            planned.config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), &why)) {
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

bool Daemon::Impl::checkStorageProtocol(storage::StorageClient& storage, std::string* error) {
  storage::StorageNeeds needs;
  needs.knowledge = !config_.knowledge.empty();
  needs.audit = config_.flows.enabled && !config_.flows.admin_token.empty();
  storage::StorageVerdict verdict = storage::checkStorage(storage, needs, std::chrono::seconds(30));
  for (const std::string& warning : verdict.warnings) {
    logger_->warn("{}", warning);
  }
  if (!verdict.ok()) {
    *error = verdict.error;
    return false;
  }
  return true;
}

bool Daemon::Impl::refuseExposedSandbox(std::string* error,
                                        std::vector<diag::Diagnostic>* diagnostics) {
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

plugin::PluginInstance* Daemon::Impl::findInstance(const std::string& id, waflow_plugin_kind kind) {
  for (auto& instance : instances_) {
    if (instance->id() == id && instance->kind() == kind) {
      return instance.get();
    }
  }
  return nullptr;
}

std::map<std::string, plugin::PluginInstance*> Daemon::Impl::channelMap() {
  std::map<std::string, plugin::PluginInstance*> out;
  for (auto& instance : instances_) {
    if (instance->kind() == WAFLOW_KIND_CHANNEL) {
      out[instance->id()] = instance.get();
    }
  }
  return out;
}

void Daemon::Impl::addCollectors() {
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
    auto& done = r.counter("waflow_http_client_requests_total", "Outbound HTTP requests finished");
    if (stats.completed > done.value()) {
      done.inc(stats.completed - done.value());
    }
  });
}

void Daemon::Impl::addPluginEvents(metrics::Registry& r, const plugin::PluginInstance& instance) {
  for (const auto& [event, total] : instance.counters().snapshot()) {
    auto& c = r.counter(
        "waflow_plugin_events_total", "Events plugins counted, by name",
        {{"instance", instance.id()}, {"plugin", instance.library().name()}, {"event", event}});
    if (total > c.value()) {
      c.inc(total - c.value());
    }
  }
}

void Daemon::Impl::logStartup() {
  // The bound port matters even when info lines are off (--listen host:0).
  logger_->log(logger_->should_log(spdlog::level::info) ? spdlog::level::info : spdlog::level::warn,
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

void Daemon::Impl::shutdown() {
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

void Daemon::Impl::joinThreads() {
  signal_pool_.stop();
  io_pool_.stop();
  work_pool_.stop();
}

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
