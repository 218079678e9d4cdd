// Internals of FlowEngine shared by its parts: flow_engine.cpp (the facade and reload),
// flow_events.cpp, flow_matching.cpp, flow_runs.cpp, flow_jobs.cpp, and steps/ (what each step
// kind does, one file per family). Not part of the core's interface.
#pragma once

#include "engine/flow_engine.h"
#include "engine/flow_lua.h"
#include "engine/flow_set.h"
#include "engine/flow_state.h"
#include "engine/scheduler.h"
#include "log/log.h"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

namespace waflow::core::engine {

using Json = nlohmann::json;

int64_t flowNowMs();
// 16 random hex digits: names one wait of a run (its timeout or resume job carries it).
std::string newToken();

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

// A goto loop without a waiting step would otherwise spin forever on one message.
inline constexpr int kMaxStepsPerTurn = 1000;

std::shared_ptr<spdlog::logger> flowLogger();
// A bus::Done as a copyable callable (std::function needs one).
std::function<void()> shareDone(bus::Done done);
// "flow 'x' step 'y' (file:line:col)", for log lines.
std::string stepWhere(const flow::Flow& f, const flow::Step* step, size_t index);
// j[key] when it is a string, else "".
std::string jsonString(const Json& j, const char* key);
// Splits "<channel>:<contact>".
std::pair<std::string, std::string> splitConversationKey(const std::string& key);
// Whether a flow may run while a human has the conversation: only when it asks for that.
bool runsInHandoff(const flow::Flow& f);

// What the engine knows of one conversation: the contact as flows see it and the flow state.
// Loaded from storage on first use, then kept in memory (this daemon is the only writer).
struct ConversationEntry {
  std::string key;  // "<channel>:<contact>"
  std::string channel;
  std::string contact;
  Json contact_json = Json::object();  // {id, phone, name, attributes, tags}
  std::string first_message_id;
  ConversationState state;
  bool stored = false;  // storage holds a state row for it
  // Whether follow-ups cancelled by a reply may exist (unknown after a load: true).
  bool cancellable_jobs = true;
  bool scheduled_cancellable = false;  // this daemon planned one since
  bool dirty = false;                  // state changed since it was stored
};

// How a step ended.
struct StepOutcome {
  enum class Control { kNext, kJumped, kStop, kSuspend };
  bool ok = true;
  std::string error;
  Json output;
  Control control = Control::kNext;
  std::string stop_reason;

  static StepOutcome next(Json output = nullptr) { return {true, {}, std::move(output)}; }
  static StepOutcome failed(std::string why) { return {false, std::move(why), nullptr}; }
};
using StepDone = std::function<void(StepOutcome)>;

// One execution of a run: holds its conversation on the bus until the run waits or ends.
struct Exec {
  std::shared_ptr<const FlowSet> set;
  std::shared_ptr<ConversationEntry> entry;  // null when the run has no contact
  FlowRun run;
  const flow::Flow* flow = nullptr;
  Json message = Json::object();  // the message being handled ({} when none)
  std::string request_id;
  Json globals = Json::object();                      // trigger, inputs, event, answer
  int steps_taken = 0;                                // this turn: guards against goto loops
  int step_attempt = 0;                               // retries of the current step
  std::optional<lua::RuleContext> rule_context;       // see Impl::context()
  std::shared_ptr<const text::NormalizedText> words;  // see Impl::textWords()
  // Trampoline for steps that finish synchronously (see Impl::next).
  std::mutex step_mutex;
  bool in_step = false;
  std::optional<StepOutcome> pending;
  std::function<void()> finished;  // once: the turn is over and its writes are durable
  // Set when an optional question (ask with retries: 0) got something that is not an
  // answer: once the turn is over, the message is handled as if nobody had asked.
  bool not_an_answer = false;
  std::function<void(std::function<void()> finished)> handle_as_new;
  // The run's debounce wait is over: its ai step answers the gathered messages now.
  bool gathered_done = false;
};
using ExecPtr = std::shared_ptr<Exec>;

struct FlowEngine::Impl : std::enable_shared_from_this<FlowEngine::Impl> {
  Impl(const config::Config& config, Services services);

  // ---- events (flow_engine.cpp) ----
  void onMessage(const bus::Event& event, delivery::InboundNext rest, std::function<void()> done);
  void onStatus(const bus::Event& event, bus::Done done);
  void onAnyEvent(const bus::Event& event, bus::Done done);
  void onFlowEvent(const bus::Event& event, bus::Done done);
  void onJob(const bus::Event& event, bus::Done done);
  void handleJob(Scheduler::Job job, std::shared_ptr<ConversationEntry> entry,
                 std::function<void()> done);
  void handleMessage(std::shared_ptr<const FlowSet> set, std::shared_ptr<ConversationEntry> entry,
                     Json message, bus::Event event, delivery::InboundNext rest,
                     std::function<void()> done);
  // Continues runs waiting for this event and starts `on: event` flows.
  void deliverEvent(const std::string& name, const Json& data,
                    std::shared_ptr<ConversationEntry> entry, const std::string& request_id,
                    std::function<void()> done);
  void runStatusFlows(const Json& status, std::shared_ptr<ConversationEntry> entry,
                      const std::string& request_id, std::function<void()> done);
  // Starts each of `flows` (indexes into set->flows) in turn, then calls done.
  void startEach(std::shared_ptr<const FlowSet> set, std::shared_ptr<ConversationEntry> entry,
                 std::vector<size_t> flows, size_t at, std::string run_prefix, Json trigger,
                 Json message, Json globals, std::string request_id, std::function<void()> done);

  // ---- conversations and contacts ----
  void withEntry(const std::string& channel, const std::string& contact,
                 std::function<void(std::shared_ptr<ConversationEntry>)> use);
  void saveState(const std::shared_ptr<ConversationEntry>& entry, std::function<void()> then);
  void updateContact(const std::shared_ptr<ConversationEntry>& entry, const Json& set,
                     const std::vector<std::string>& add, const std::vector<std::string>& remove,
                     std::function<void(bool ok, std::string error)> done);
  Json conversationJson(const ConversationEntry* entry) const;

  // ---- matching ----
  bool triggerMatches(const FlowSet& set, size_t flow_index, size_t trigger_index,
                      const Json& message, const text::NormalizedText& words,
                      const ConversationEntry* entry) const;
  bool conditionsPass(const std::shared_ptr<const FlowSet>& set, size_t flow_index,
                      const Json& message, const ConversationEntry* entry,
                      const Json& globals) const;
  // What the run's rules see now. Built once and kept until a step finishes (steps are what
  // change outputs, the contact or the conversation), so a row of `if:`s that skip their
  // steps shares one.
  const lua::RuleContext& context(Exec& x) const;
  lua::RuleContext baseContext(const Json& message, const ConversationEntry* entry,
                               const Json& globals) const;

  // ---- runs ----
  ExecPtr newExec(std::shared_ptr<const FlowSet> set, std::shared_ptr<ConversationEntry> entry,
                  const flow::Flow& flow, std::string run_id, Json trigger, Json message,
                  std::string request_id, Json globals,
                  std::shared_ptr<const text::NormalizedText> words = nullptr);
  // Starts `flow` per its mode; false when the mode refuses (single already running, full).
  // `finished` runs once the run waits or ends and its writes are durable.
  bool startRun(std::shared_ptr<const FlowSet> set, std::shared_ptr<ConversationEntry> entry,
                const flow::Flow& flow, std::string run_id, Json trigger, Json message,
                std::string request_id, Json globals, std::function<void()> finished,
                std::shared_ptr<const text::NormalizedText> words = nullptr);
  // The message's text normalized for keyword matching, computed once per execution.
  const text::NormalizedText& textWords(Exec& x) const;
  void resumeRun(std::shared_ptr<ConversationEntry> entry, const std::string& run_id, Json message,
                 std::string request_id, std::function<void(ExecPtr)> prepare,
                 std::function<void()> finished);
  void next(ExecPtr x);
  // Applies a step's outcome; true when the run goes on with x->run.step (call next()).
  bool afterStep(ExecPtr x, StepOutcome outcome);
  bool returnFromCall(const ExecPtr& x);
  void stepFailed(ExecPtr x, const std::string& error);
  void endRun(ExecPtr x, const std::string& why);
  void suspend(ExecPtr x);
  void finishTurn(ExecPtr x);

  // ---- steps (steps/run_step.cpp: dispatch and what every step kind uses) ----
  void runStep(ExecPtr x, const flow::Step& step, StepDone done);
  // Whether the run has a contact; if not, fails the step with a message saying so.
  bool needsContact(const ExecPtr& x, const flow::Step& step, const StepDone& done);
  // One runner per step kind, in its family's file under steps/.
  void run(ExecPtr x, const flow::Step& step, const flow::ReplyStep& r,
           StepDone done);  // messaging
  void run(ExecPtr x, const flow::Step& step, const flow::AskStep& a, StepDone done);
  void answer(ExecPtr x, StepDone done);  // the message answers the ask the run waits at
  void run(ExecPtr x, const flow::Step& step, const flow::SetStep& s, StepDone done);  // contact
  void run(ExecPtr x, const flow::Step& step, const flow::TagStep& t, StepDone done);
  void run(ExecPtr x, const flow::Step& step, const flow::UntagStep& u, StepDone done);
  void changeTags(ExecPtr x, const flow::Step& step, const std::vector<std::string>& raw,
                  bool adding, StepDone done);
  void run(ExecPtr x, const flow::Step& step, const flow::HandoffStep& h, StepDone done);
  void run(ExecPtr x, const flow::Step& step, const flow::ReleaseStep& r, StepDone done);
  void run(ExecPtr x, const flow::Step& step, const flow::DelayStep& d, StepDone done);  // timing
  void run(ExecPtr x, const flow::Step& step, const flow::WaitStep& w, StepDone done);
  void run(ExecPtr x, const flow::Step& step, const flow::ScheduleStep& s, StepDone done);
  void run(ExecPtr x, const flow::Step& step, const flow::HttpStep& h, StepDone done);  // calls
  void run(ExecPtr x, const flow::Step& step, const flow::EmitStep& e, StepDone done);
  void run(ExecPtr x, const flow::Step& step, const flow::LuaStep& l, StepDone done);
  void run(ExecPtr x, const flow::Step& step, const flow::CallStep& c, StepDone done);  // control
  void run(ExecPtr x, const flow::Step& step, const flow::GotoStep& g, StepDone done);
  void run(ExecPtr x, const flow::Step& step, const flow::StopStep& s, StepDone done);
  void send(ExecPtr x, std::string type, std::string text, std::string payload_json,
            std::function<void(bool ok, std::string id)> done);
  void armIdleTriggers(const ExecPtr& x);

  // ---- AI steps (steps/ai/) ----
  // One AI request and where it comes from: token usage is recorded against these.
  struct AiCall {
    std::vector<std::string> chain;  // AI instances, tried in order until one answers
    Json request;                    // waflow_ai_request's request_json
    std::optional<int64_t> timeout_ms;
    std::string channel, contact, conversation, flow, step, where, request_id;
    std::string errors;  // of the instances tried so far
  };
  struct AiAnswer {
    plugin::CallOutcome outcome;  // the last instance's; error lists every instance's
    std::string provider;         // the instance that answered (or failed last)
    Json usage = Json::object();  // {provider, model, prompt_tokens, completion_tokens, cost}
  };
  // An ai step between its reads (memory, recall, knowledge) and its answer.
  struct AiStepState {
    const flow::Step* step = nullptr;
    const flow::AiStep* spec = nullptr;
    std::string prompt, system, recalled;
    std::set<std::string> exclude;  // message ids already in the prompt
    Json history = Json::array();
    Json passages = Json::array();
    Json tools_used = Json::array();  // {name, arguments, result} of each tool call
    std::shared_ptr<AiCall> call;
    StepDone done;
  };
  // A classification: copied out of the flow, since a background one outlives its turn.
  struct ClassifyJob {
    std::vector<std::pair<std::string, std::string>> categories;
    std::vector<flow::ClassifyField> fields;
    std::string insight;
    bool save_to_contact = false;
    bool background = false;
    std::string text;
    std::shared_ptr<AiCall> call;
  };
  void run(ExecPtr x, const flow::Step& step, const flow::AiStep& a, StepDone done);  // ai/
  void run(ExecPtr x, const flow::Step& step, const flow::ClassifyStep& c, StepDone done);
  plugin::PluginInstance* aiInstance(const std::string& id) const;
  // The instances a step names, else the default one (auto_reply.ai, or the only instance).
  std::vector<std::string> aiChain(const std::vector<std::string>& named) const;
  std::shared_ptr<AiCall> newAiCall(const ExecPtr& x, const flow::Step& step,
                                    const std::vector<std::string>& providers);
  void callAiChain(std::shared_ptr<AiCall> call, size_t index, std::function<void(AiAnswer)> done);
  // Stores the call's usage (usage.add) with its cost from the instance's price table, counts
  // it in /metrics, and returns its summary.
  Json recordUsage(const AiCall& call, const std::string& provider, const plugin::CallOutcome& o,
                   int64_t latency_ms);
  // The conversation's last `limit` messages as chat turns, oldest first, within about
  // `budget_tokens` (0 = no budget), leaving out the messages in `exclude`.
  void loadHistory(const ExecPtr& x, int limit, int64_t budget_tokens,
                   std::set<std::string> exclude,
                   std::function<void(Json messages, Json all)> done);
  // Up to `count` earlier messages of the contact related to `question`, as a dated list.
  void recallHistory(const ExecPtr& x, int count, const std::string& question,
                     std::set<std::string> exclude, std::function<void(std::string block)> done);
  void searchKnowledge(const std::vector<std::string>& bases, const std::string& question,
                       int limit, std::function<void(Json passages)> done);
  void showTyping(const ExecPtr& x);
  // `release_after_ms` 0: flows.handoff_release_after.
  void handOff(const ExecPtr& x, const std::string& note, const std::string& team,
               int64_t release_after_ms = 0);
  void gatherUntilQuiet(ExecPtr x, int64_t quiet_ms, StepDone done);
  void gatherMore(ExecPtr x, StepDone done);  // the message joins the burst the run gathers
  void askAi(ExecPtr x, std::shared_ptr<AiStepState> state);
  // One request of the answer; when the AI calls tools, they run and the next round asks again.
  void askAiRound(ExecPtr x, std::shared_ptr<AiStepState> state, int round);
  // Runs one tool call of the AI (OpenAI's tool_calls shape); its result, or {"error"}.
  // Runs the tool the AI called; what it asks to change on the contact joins `changes`.
  Json runTool(const ExecPtr& x, const flow::AiStep& a, const Json& call,
               lua::ContactChanges& changes);
  void aiFallback(ExecPtr x, std::shared_ptr<AiStepState> state, const std::string& why);
  void classifyAndStore(std::shared_ptr<ClassifyJob> job, int attempt, StepDone done);
  std::optional<std::string> render(const ExecPtr& x, const flow::Text& text, bool spin,
                                    std::string& out);
  std::optional<std::string> renderValue(const ExecPtr& x, int line, const Json& value, Json& out);
  FlowLua& lua(const std::shared_ptr<const FlowSet>& set) const;
  void scheduleWaitTimeout(ExecPtr x, const flow::Step& step, StepDone done);
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
  mutable std::mutex set_mutex_;
  std::shared_ptr<const FlowSet> set_;
  std::mutex reload_mutex_;
  std::pair<int64_t, size_t> fingerprint_{0, 0};
  boost::asio::steady_timer watch_timer_;
  std::atomic<bool> stopped_{false};

  // Token usage waits here and is stored in batches (one usage.add per kUsageBatch records or
  // per kUsageFlushDelay): a write per AI call cost as much as the rest of the call.
  void queueUsage(Json record);
  void flushUsage();
  std::mutex usage_mutex_;
  std::vector<Json> pending_usage_;
  bool usage_flush_armed_ = false;
  boost::asio::steady_timer usage_timer_;

  std::mutex subscriptions_mutex_;
  std::map<std::string, uint64_t, std::less<>> event_subscriptions_;  // name -> bus id

  std::mutex cache_mutex_;
  std::unordered_map<std::string, std::shared_ptr<ConversationEntry>> cache_;

  metrics::Counter* runs_started_;
  metrics::Counter* runs_failed_;
  metrics::Counter* messages_unhandled_;
};

}  // namespace waflow::core::engine
