// PluginInstance — one configured instance of a plugin (a `channels:`, `ai:`
// or `integrations:` entry of waflow.yaml) and the host services it is given.
//
// The instance owns the plugin's waflow_instance and implements the
// waflow_host_api table for it: logging tagged "plugin:<id>", outbound HTTP on
// the shared HttpClient, timers on the io_context, bus publish/subscribe and
// secret registration. It counts everything outstanding (HTTP calls, timers,
// posted work, calls into the plugin) so stop() can wait for the last callback
// before destroy() frees the plugin's state, and it holds the PluginLibrary so
// the code stays mapped while the instance lives.
//
// Calls into the plugin (handleWebhook, send, complete, call) may complete
// inline, before the call returns, when the plugin's coroutine never suspends;
// callers must not hold locks their completion needs.
//
// Thread-safety: every public method may be called from any thread after
// create(); create(), start(), stop() are called once each, in that order.
#pragma once

#include "bus/event_bus.h"
#include "http_client/http_client.h"
#include "http_server/http_types.h"
#include "plugin/plugin_counters.h"
#include "plugin/plugin_library.h"

#include <waflow/sdk/abi.h>
#include <waflow/sdk/types.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/logger.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace waflow::core::plugin {

// Daemon-wide services shared by every instance.
struct HostServices {
  boost::asio::io_context& io;
  HttpClient& http;
  bus::EventBus& bus;
  std::filesystem::path data_dir;  // each instance gets <data_dir>/plugins/<id>
};

// The result of send(), complete() and call().
struct CallOutcome {
  waflow::Rc rc = waflow::Rc::kOk;
  std::string value;        // provider message id, reply text or output JSON
  std::string detail_json;  // AI result details (usage, model), else empty
  std::string error;
  int32_t provider_error_code = 0;
  std::chrono::milliseconds retry_after{0};

  bool ok() const { return rc == waflow::Rc::kOk; }
};

// What a channel made of one webhook request.
struct WebhookOutcome {
  std::vector<waflow::InboundMessage> messages;
  std::vector<waflow::StatusUpdate> statuses;
  httpd::HttpResponse response;
};

class PluginInstance {
 public:
  PluginInstance(std::shared_ptr<PluginLibrary> library, std::string id, HostServices services);
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  // `config_json` is the validated config with defaults. On failure returns
  // false with the plugin's own message in `error`.
  bool create(const std::string& config_json, std::string* error);
  bool start(std::string* error);
  // Calls the plugin's stop(), cancels its timers and subscriptions and waits
  // up to `drain` for outstanding callbacks. destroy() follows in the
  // destructor.
  void stop(std::chrono::milliseconds drain);

  const std::string& id() const { return id_; }
  const PluginLibrary& library() const { return *library_; }
  waflow_plugin_kind kind() const { return library_->kind(); }
  // Failed calls and errors logged by the plugin: the plugin_errors metric.
  uint64_t errorCount() const { return errors_.load(std::memory_order_relaxed); }
  // What the plugin counted through host->count(): waflow_plugin_events_total.
  const PluginCounters& counters() const { return counters_; }

  // Channel.
  void handleWebhook(const httpd::HttpRequest& request, std::function<void(WebhookOutcome)> done);
  void send(const waflow::OutboundMessage& message, std::function<void(CallOutcome)> done);
  bool ready(std::string* reason);
  // AI.
  void complete(const waflow::AiRequest& request, std::function<void(CallOutcome)> done);
  // Storage: one operation of <waflow/sdk/storage.hpp>.
  void execute(const std::string& operation, const std::string& input_json,
               std::function<void(CallOutcome)> done);
  // Integration.
  void call(const std::string& operation, const std::string& input_json,
            std::function<void(CallOutcome)> done);

  // Used by the C callbacks; not for other callers.
  struct Access;

 private:
  friend struct Access;

  // An integration call or a storage operation: both take (operation, input
  // JSON) and answer a waflow_call_result.
  using OperationFn = void (*)(waflow_instance*, waflow_str, waflow_str, waflow_call_callback,
                               void*);
  void runOperation(OperationFn fn, const std::string& operation, const std::string& input_json,
                    std::function<void(CallOutcome)> done);
  void beginWork() { outstanding_.fetch_add(1, std::memory_order_relaxed); }
  void endWork() { outstanding_.fetch_sub(1, std::memory_order_acq_rel); }

  std::shared_ptr<PluginLibrary> library_;
  std::string id_;
  HostServices services_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string data_dir_;
  waflow_host_api api_{};
  waflow_instance* instance_ = nullptr;
  bool started_ = false;
  bool stopped_ = false;

  std::atomic<uint64_t> outstanding_{0};
  std::atomic<uint64_t> errors_{0};
  PluginCounters counters_;

  std::mutex mutex_;
  uint64_t next_timer_id_ = 0;
  std::map<uint64_t, std::shared_ptr<boost::asio::steady_timer>> timers_;
  std::vector<uint64_t> subscriptions_;
};

}  // namespace waflow::core::plugin
