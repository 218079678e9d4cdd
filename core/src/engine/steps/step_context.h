// StepContext — what a step runner may use, and all it may use: render texts and values with
// the run's rules, send through the outbox, change the contact, hand the conversation to a
// human, publish events, plan jobs (waits, delays, follow-ups), make HTTP requests, ask the AI
// provider chain and read memory and knowledge. Runners never see the engine: how runs start,
// continue and end is the run loop's business (engine/flow_runs.cpp).
//
// Thread-safety: all methods may be called from any thread; an Exec is used by one handler at
// a time (the bus orders a conversation's events).
#pragma once

#include "bus/event_bus.h"
#include "config/config.h"
#include "delivery/outbox.h"
#include "engine/conversations.h"
#include "engine/exec.h"
#include "engine/flow_lua.h"
#include "engine/scheduler.h"
#include "engine/steps/ai/knowledge_search.h"
#include "engine/steps/ai/provider_chain.h"
#include "http_client/http_client.h"
#include "plugin/plugin_instance.h"
#include "storage/storage_client.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace waflow::core::engine::steps {

class StepContext {
 public:
  // The parts a runner reaches through the context; each outlives it.
  struct Parts {
    const config::Config& config;
    Conversations& conversations;
    Scheduler& scheduler;
    storage::StorageClient& storage;
    delivery::Outbox& outbox;
    bus::EventBus& bus;
    HttpClient& http;
    const std::map<std::string, plugin::PluginInstance*>& channels;  // for typing indicators
    const KnowledgeBases& knowledge;
    ProviderChain& ai;
    const lua::SandboxOptions& lua_options;
  };
  explicit StepContext(Parts parts) : parts_(parts) {}
  StepContext(const StepContext&) = delete;
  StepContext& operator=(const StepContext&) = delete;

  const config::FlowsConfig& flowsConfig() const { return parts_.config.flows; }

  // ---- the run's rules ----
  // Renders a text ({{ }} templates; spintax when `spin`) into `out`; the rule error if any.
  std::optional<std::string> render(const ExecPtr& x, const flow::Text& text, bool spin,
                                    std::string& out) const;
  // Renders a YAML value (its strings' templates) into `out`; the rule error if any.
  std::optional<std::string> renderValue(const ExecPtr& x, int line, const nlohmann::json& value,
                                         nlohmann::json& out) const;
  // The calling thread's Lua state for the run's flow set.
  FlowLua& lua(const std::shared_ptr<const FlowSet>& set) const;

  // ---- sending ----
  // Queues a message to the run's contact in the outbox under an id derived from the run (so
  // a turn handled again after a crash finds it already stored); `done(ok, id or error)`.
  // Each message the bot sends pushes back the contact-idle triggers.
  void send(const ExecPtr& x, std::string type, std::string text, std::string payload_json,
            std::function<void(bool ok, std::string id_or_error)> done);
  // The typing indicator on the message being answered: best effort, nothing waits for it.
  void showTyping(const ExecPtr& x);

  // ---- the contact and the conversation ----
  void updateContact(const EntryPtr& entry, const nlohmann::json& set,
                     const std::vector<std::string>& add, const std::vector<std::string>& remove,
                     std::function<void(bool ok, std::string error)> done);
  // Gives the conversation to a human and says so on the bus (conversation.handoff).
  // `release_after_ms` 0: flows.handoff_release_after.
  void handOff(const ExecPtr& x, const std::string& note, const std::string& team,
               int64_t release_after_ms = 0);
  void publish(const std::string& type, const std::string& conversation,
               const nlohmann::json& payload, const std::string& request_id);

  // ---- timing ----
  Scheduler& scheduler() { return parts_.scheduler; }
  // Plans the timeout of the wait the run now starts at `step` (its timeout, else
  // flows.wait_expiry), then suspends the run.
  void scheduleWaitTimeout(const ExecPtr& x, const flow::Step& step, StepDone done);
  // Plans the run's resumption at `due_at` with `waiting` as what it waits for, then suspends
  // the run; when the job cannot be stored the step fails with `what` in its message.
  void scheduleResume(const ExecPtr& x, const char* waiting, int64_t due_at, const char* what,
                      StepDone done);

  // ---- reaching outside ----
  storage::StorageClient& storage() { return parts_.storage; }
  HttpClient& http() { return parts_.http; }
  ProviderChain& ai() { return parts_.ai; }
  const KnowledgeBases& knowledge() const { return parts_.knowledge; }

 private:
  void armIdleTriggers(const ExecPtr& x);

  Parts parts_;
};

// Whether the run has a contact; if not, fails the step with a message saying so.
bool needsContact(const ExecPtr& x, const flow::Step& step, const StepDone& done);

}  // namespace waflow::core::engine::steps
