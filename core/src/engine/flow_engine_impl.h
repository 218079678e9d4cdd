// FlowEngine::Impl — the engine behind the facade. It routes messages, statuses, events and
// jobs to runs (flow_messages.cpp, flow_events.cpp, flow_jobs.cpp), matches triggers and
// conditions (flow_matching.cpp), drives runs step by step (flow_runs.cpp), fires schedules
// and reloads the flow set (flow_jobs.cpp); flow_engine.cpp puts it together. It owns its
// parts: the conversations (conversations.h), the scheduler, the AI provider chain and the
// StepContext through which steps/ does each step. Step runners never see this struct. Not
// part of the core's interface.
//
// Thread-safety: see FlowEngine.
#pragma once

#include "engine/basics.h"
#include "engine/conversations.h"
#include "engine/exec.h"
#include "engine/flow_engine.h"
#include "engine/flow_lua.h"
#include "engine/flow_set.h"
#include "engine/flow_state.h"
#include "engine/scheduler.h"
#include "engine/steps/ai/provider_chain.h"
#include "engine/steps/step_context.h"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace waflow::core::engine {

using Json = nlohmann::json;

// Internal bus events: work for one conversation, published with its key so that it is
// handled in order with the conversation's messages.
inline constexpr const char* kFlowJob = "flow.job";            // native: Scheduler::Job
inline constexpr const char* kFlowDispatch = "flow.dispatch";  // native: Dispatch

// A custom event, a wait's event or a release re-published into its conversation.
struct Dispatch {
  std::string kind;  // "event" | "wait" | "release"
  std::string name;  // the event's name
  Json data;
  std::string channel;
  std::string contact;
};

// While a human has the conversation (a handoff) the bot stays quiet: a flow starts there only
// when it asks to run in a handoff. True when `f` must not start in `entry` now.
inline bool quietForHandoff(const flow::Flow& f, const ConversationEntry* entry) {
  return entry != nullptr && entry->state.handoff && !runsInHandoff(f);
}

struct FlowEngine::Impl : std::enable_shared_from_this<FlowEngine::Impl> {
  Impl(const config::Config& config, Services services);

  // ---- customer messages (flow_messages.cpp) ----
  void onMessage(const bus::Event& event, delivery::InboundNext rest, std::function<void()> done);
  void handleMessage(std::shared_ptr<const FlowSet> set, EntryPtr entry, Json message,
                     bus::Event event, delivery::InboundNext rest, std::function<void()> done);
  // A handoff whose release_after passed ends: the bot takes the conversation back.
  void expireHandoff(const EntryPtr& entry, const std::string& request_id);
  // The run waiting for the customer's answer, if any; one whose flow is gone ends.
  const FlowRun* askingRun(const FlowSet& set, const EntryPtr& entry);
  // Starts the first flow (by priority) the message triggers, unless the run that asks takes
  // precedence; true when one started (it calls `done`).
  bool startMatchingFlow(const std::shared_ptr<const FlowSet>& set, const EntryPtr& entry,
                         const Json& message, const std::string& request_id, const FlowRun* asking,
                         const std::function<void()>& done);
  // The message continues the run that waits for it: an ask's answer or an ai step's burst.
  void continueAskingRun(std::shared_ptr<const FlowSet> set, EntryPtr entry, std::string run_id,
                         Json message, bus::Event event, delivery::InboundNext rest,
                         std::function<void()> done);
  // No flow took the message: quiet in a handoff, else the rest of the inbound chain.
  void passOn(const EntryPtr& entry, bus::Event event, delivery::InboundNext rest,
              std::function<void()> done);

  // ---- statuses, events, jobs (flow_events.cpp, flow_jobs.cpp) ----
  void onStatus(const bus::Event& event, bus::Done done);
  void onAnyEvent(const bus::Event& event, bus::Done done);
  void onFlowEvent(const bus::Event& event, bus::Done done);
  void onJob(const bus::Event& event, bus::Done done);
  // A due job, by its kind; `complete` marks it done once its work is durable.
  void handleJob(Scheduler::Job job, EntryPtr entry, std::function<void()> done);
  bool skipsMissed(const Scheduler::Job& job) const;  // missed while stopped, and not to run
  // Starts `f` for a job when the conversation allows it, as a message-started flow would be:
  // not while a human has the conversation (unless the flow runs in a handoff), and only when
  // its conditions pass. False when it did not start (then `finished` is not called).
  bool startIfAllowed(const std::shared_ptr<const FlowSet>& set, const flow::Flow& f,
                      const EntryPtr& entry, std::string run_id, Json trigger,
                      const std::string& request_id, const std::function<void()>& finished);
  // A delay ends, or an ask/wait waited long enough; the run goes on (missed or not).
  void resumeAfterWait(const Scheduler::Job& job, const EntryPtr& entry,
                       std::function<void()> complete);
  // A background classification's fields, stored on the contact in conversation order.
  void saveClassification(const Scheduler::Job& job, const EntryPtr& entry,
                          std::function<void()> complete);
  // A follow-up planned by a schedule step: its text, or its flow started.
  void fireFollowUp(const Scheduler::Job& job, const EntryPtr& entry,
                    std::function<void()> complete);
  // A flow started by a job: its trigger is in the payload.
  void startPlannedFlow(const Scheduler::Job& job, const EntryPtr& entry,
                        std::function<void()> complete);
  // A contact-idle trigger: the flow starts unless the contact wrote since it was armed.
  void startIdleFlow(const Scheduler::Job& job, const EntryPtr& entry,
                     std::function<void()> complete);
  // A schedule trigger fires: its next occurrence is planned first.
  void fireSchedule(const Scheduler::Job& job, const EntryPtr& entry,
                    std::function<void()> complete);
  // Continues runs waiting for this event and starts `on: event` flows.
  void deliverEvent(const std::string& name, const Json& data, EntryPtr entry,
                    const std::string& request_id, std::function<void()> done);
  void runStatusFlows(const Json& status, EntryPtr entry, const std::string& request_id,
                      std::function<void()> done);
  // Starts each of `flows` (indexes into set->flows) in turn, then calls done.
  void startEach(std::shared_ptr<const FlowSet> set, EntryPtr entry, std::vector<size_t> flows,
                 size_t at, std::string run_prefix, Json trigger, Json message, Json globals,
                 std::string request_id, std::function<void()> done);

  // ---- matching ----
  bool triggerMatches(const FlowSet& set, size_t flow_index, size_t trigger_index,
                      const Json& message, const text::NormalizedText& words,
                      const ConversationEntry* entry) const;
  bool conditionsPass(const std::shared_ptr<const FlowSet>& set, size_t flow_index,
                      const Json& message, const ConversationEntry* entry,
                      const Json& globals) const;

  // ---- runs ----
  ExecPtr newExec(std::shared_ptr<const FlowSet> set, EntryPtr entry, const flow::Flow& flow,
                  std::string run_id, Json trigger, Json message, std::string request_id,
                  Json globals, std::shared_ptr<const text::NormalizedText> words = nullptr);
  // Starts `flow` per its mode; false when the mode refuses (single already running, full).
  // `finished` runs once the run waits or ends and its writes are durable.
  bool startRun(std::shared_ptr<const FlowSet> set, EntryPtr entry, const flow::Flow& flow,
                std::string run_id, Json trigger, Json message, std::string request_id,
                Json globals, std::function<void()> finished,
                std::shared_ptr<const text::NormalizedText> words = nullptr);
  void resumeRun(EntryPtr entry, const std::string& run_id, Json message, std::string request_id,
                 std::function<void(ExecPtr)> prepare, std::function<void()> finished);
  void next(ExecPtr x);
  // Applies a step's outcome; true when the run goes on with x->run.step (call next()).
  bool afterStep(ExecPtr x, StepOutcome outcome);
  bool returnFromCall(const ExecPtr& x);
  void stepFailed(ExecPtr x, const std::string& error);
  void endRun(ExecPtr x, const std::string& why);
  void suspend(ExecPtr x);
  void finishTurn(ExecPtr x);

  FlowLua& lua(const std::shared_ptr<const FlowSet>& set) const;
  void publish(const std::string& type, const std::string& conversation, const Json& payload,
               const std::string& request_id);

  // ---- jobs, schedules, reload ----
  void registerSchedules(const std::shared_ptr<const FlowSet>& set);
  std::optional<int64_t> nextFire(const flow::ScheduleTrigger& trigger, int64_t after_ms) const;
  void fanOut(const std::shared_ptr<const FlowSet>& set, const flow::Flow& flow,
              size_t trigger_index, const std::string& job_id, const std::string& tag,
              std::string after, std::function<void()> done);
  void watch();
  ReloadResult reloadNow(const std::string& reason);
  // Subscribes to the event names `set` listens for (and drops the others), so events no
  // flow waits for (message.sent, for one) are not even built (see EventBus::hasSubscribers).
  void syncEventSubscriptions(const FlowSet& set);

  std::shared_ptr<const FlowSet> current() const;

  config::Config config_;
  Services services_;
  Scheduler scheduler_;
  lua::SandboxOptions lua_options_;
  Conversations conversations_;
  std::shared_ptr<steps::ProviderChain> ai_;
  steps::StepContext steps_;  // what step runners may use
  mutable std::mutex set_mutex_;
  std::shared_ptr<const FlowSet> set_;
  std::mutex reload_mutex_;
  std::pair<int64_t, size_t> fingerprint_{0, 0};
  boost::asio::steady_timer watch_timer_;
  std::atomic<bool> stopped_{false};

  std::mutex subscriptions_mutex_;
  std::map<std::string, uint64_t, std::less<>> event_subscriptions_;  // name -> bus id

  metrics::Counter* runs_started_;
  metrics::Counter* runs_failed_;
  metrics::Counter* messages_unhandled_;
};

}  // namespace waflow::core::engine
