// FlowEngine — runs the flows in flows/ (docs/flows.md) with the rules in scripts/
// (docs/lua.md). It is the first link of the inbound chain (delivery/inbound_chain.h): a
// message that is the answer a waiting `ask` expects continues that run; otherwise the
// matching flow of highest priority starts (its mode decides what happens when it already
// runs for the contact); a message no flow takes goes on to the next link (the auto-reply,
// when enabled), unless a human has the conversation. Statuses, custom events, schedules and idle
// contacts start flows too.
//
// Replies go through the outbox under ids derived from what started the run, so a message
// handled again after a crash finds its replies already stored and nothing is sent twice. A
// run that waits (ask, wait, delay) is kept in storage with its position and outputs and
// continues after a restart; timed work is kept by the Scheduler.
//
// Flows and scripts reload on file change, SIGHUP or the admin API: a set with errors is
// refused (its diagnostics logged) and the previous one keeps running; runs in flight finish
// on the version they started with.
//
// Thread-safety: attach()/start()/stop() from the daemon's thread; reload() and the admin
// calls from any thread. Handlers run on bus workers and I/O threads, one at a time per
// conversation (the bus's ordering).
#pragma once

#include "bus/event_bus.h"
#include "config/config.h"
#include "delivery/inbound_chain.h"
#include "delivery/outbox.h"
#include "diag/diagnostic.h"
#include "http_client/http_client.h"
#include "metrics/metrics.h"
#include "plugin/plugin_instance.h"
#include "storage/storage_client.h"

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace waflow::core::knowledge {
class KnowledgeBase;
}  // namespace waflow::core::knowledge

namespace waflow::core::engine {

class FlowEngine final : public delivery::InboundLink {
 public:
  struct Services {
    storage::StorageClient& storage;
    delivery::Outbox& outbox;
    bus::EventBus& bus;
    metrics::Registry& metrics;
    boost::asio::io_context& io;
    HttpClient& http;
    std::map<std::string, plugin::PluginInstance*> channels;
    std::map<std::string, plugin::PluginInstance*> ai;
    std::string owner;  // this daemon's name on scheduled jobs it holds
    std::map<std::string, knowledge::KnowledgeBase*> knowledge =
        {};  // knowledge: in waflow.yaml, by id
  };

  FlowEngine(const config::Config& config, Services services);
  ~FlowEngine() override;
  FlowEngine(const FlowEngine&) = delete;
  FlowEngine& operator=(const FlowEngine&) = delete;

  // Loads flows and scripts. False when they have errors (the daemon refuses to start);
  // every problem is in `diagnostics`.
  bool load(std::vector<diag::Diagnostic>* diagnostics);

  // Subscribes to statuses, jobs and the events flows wait for. Call once, before the bus
  // starts. Customer messages come through handleInbound(), as a link of the inbound chain.
  void attach();

  // A customer message: continues a waiting run or starts a flow, else hands it to `next`.
  void handleInbound(const bus::Event& event, delivery::InboundNext next,
                     std::function<void()> done) override;
  // Starts the scheduler (jobs due while stopped fire now), the schedule triggers and the
  // file watch. Call once the io_context runs.
  void start();
  // Stops the file watch and the scheduler. Call before the bus stops.
  void stop();

  struct ReloadResult {
    bool ok = false;
    uint64_t version = 0;  // the version running afterwards
    size_t flows = 0;
    std::vector<diag::Diagnostic> diagnostics;
  };
  ReloadResult reload(const std::string& reason);

  // A custom event from the HTTP API: starts `on: event` flows and continues `wait` steps.
  // `channel`/`contact` name the conversation ("" for none). False when the bus is full.
  bool publishEvent(const std::string& name, const nlohmann::json& data, const std::string& channel,
                    const std::string& contact);
  // Gives a conversation in handoff back to the bot (the agent side's "release").
  bool release(const std::string& channel, const std::string& contact);

  uint64_t version() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace waflow::core::engine
