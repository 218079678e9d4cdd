// Daemon::Impl — the composition root's state, shared by its files: daemon.cpp (start, signals,
// plugins, ordered shutdown), webhook_ingress.cpp (the routes: webhooks to their channel,
// readiness) and knowledge_sync.cpp (keeping knowledge bases' indexes up to date). Not part of
// the core's interface: daemon.h is.
//
// Thread-safety: as Daemon (daemon.h).
#pragma once

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
#include "delivery/customer_window.h"
#include "delivery/events.h"
#include "delivery/inbound_chain.h"
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

#include "daemon/http_metrics_observer.h"

namespace waflow::core::daemon {

// The threads for a configured count: itself when positive, else one per core.
std::size_t threadsFor(int configured);

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

  bool start(std::string* error, std::vector<diag::Diagnostic>* diagnostics);

  uint16_t port() const { return server_ ? server_->port() : 0; }

  // Every webhook connection and every AI call in flight is a socket: thousands of AI calls
  // waiting on a slow model need more than the usual soft limit of 1,024 descriptors. The
  // soft limit is raised to the hard one, which needs no privilege.
  void raiseOpenFileLimit();

  // Signals wait on a thread of their own: however busy the workers or the I/O threads are,
  // SIGTERM starts the shutdown at once (and the watchdog bounds it), and a second SIGTERM or
  // SIGINT ends the process without waiting.
  void handleSignals();

  void awaitStopSignal();

  void awaitReloadSignal();

  // A knowledge base taken out of waflow.yaml leaves no index behind: checked at every start,
  // also when no knowledge base is configured any more.
  void retireKnowledge();

  // Brings every knowledge base's index up to date with its files (cheap when nothing changed:
  // unchanged files are not even read). With flows.watch on, it runs again every
  // flows.watch_interval, so an edited FAQ is searchable a moment after it is saved.
  void syncKnowledge(const std::string& why);

  void watchKnowledge();

  void requestStop();

  int wait();

 private:
  // start()'s phases, in order: the plugins planned and created; the storage opened and its
  // protocol checked; the inbox, outbox, auto-reply and knowledge bases built; the flow engine
  // (and admin API) built and loaded; the HTTP servers listening; then the threads, the
  // outbox, the flows and the knowledge sync running, and the inbox's leftovers replayed.
  bool loadPlugins(std::string* error, std::vector<diag::Diagnostic>* diagnostics);
  bool openStorage(std::string* error);
  void buildDelivery();
  bool buildFlows(std::string* error, std::vector<diag::Diagnostic>* diagnostics);
  bool listen(std::string* error);
  void startRunning();

  bool createInstances(std::string* error);

  // storage.describe, before anything is stored: see storage/storage_protocol.h.
  bool checkStorageProtocol(storage::StorageClient& storage, std::string* error);

  // A sandbox channel on an address other machines reach needs a token (its validated config,
  // so a ${...} that came out empty counts as none): else anyone could write as any customer.
  bool refuseExposedSandbox(std::string* error, std::vector<diag::Diagnostic>* diagnostics);

  plugin::PluginInstance* findInstance(const std::string& id, waflow_plugin_kind kind);

  std::map<std::string, plugin::PluginInstance*> channelMap();

  void buildRoutes();

  httpd::HttpResponse readiness();

  void onWebhook(httpd::HttpRequest&& req, httpd::Respond respond);

  void addCollectors();

  // What a plugin counted through host->count() (e.g. refused foreign-number notifications).
  static void addPluginEvents(metrics::Registry& r, const plugin::PluginInstance& instance);

  void logStartup();

  void shutdown();

  void joinThreads();

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
  // The door to the storage among instances_; declared before everything that calls it.
  std::unique_ptr<storage::PluginStorage> storage_;
  // When each contact last wrote: the inbox opens it, the outbox checks it before a send.
  delivery::CustomerWindow window_;
  std::map<std::string, plugin::PluginInstance*> channels_;
  std::unique_ptr<delivery::Outbox>
      outbox_;  // used by the auto-reply and the inbox: declared first
  std::unique_ptr<delivery::AutoReply> auto_reply_;
  std::unique_ptr<engine::FlowEngine> flows_;
  // What answers a stored customer message: flows_, then auto_reply_ (either may be absent).
  delivery::InboundChain inbound_;
  boost::asio::signal_set reload_signals_{signal_io_};
  std::vector<std::shared_ptr<knowledge::KnowledgeBase>> knowledge_;
  boost::asio::steady_timer knowledge_timer_{work_io_};
  std::mutex knowledge_mutex_;
  std::map<std::string, std::vector<std::string>> knowledge_errors_;  // last reported, by id
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

}  // namespace waflow::core::daemon
