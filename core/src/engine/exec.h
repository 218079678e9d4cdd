// Exec — one execution of a flow run: the run's stored state (FlowRun) plus what this turn
// needs in memory (the message, the flow set it runs on, the conversation, the rules' view).
// It holds its conversation on the bus until the run waits or ends. StepOutcome is how a step
// ends; the engine's run loop applies it.
//
// Thread-safety: an Exec is used by one handler at a time (the bus orders a conversation's
// events); step_mutex guards the trampoline of steps that finish synchronously.
#pragma once

#include "engine/conversations.h"
#include "engine/flow_set.h"
#include "engine/flow_state.h"
#include "lua/sandbox.h"
#include "text/normalize.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace waflow::core::engine {

// A goto loop without a waiting step would otherwise spin forever on one message.
inline constexpr int kMaxStepsPerTurn = 1000;

// How a step ended.
struct StepOutcome {
  enum class Control { kNext, kJumped, kStop, kSuspend };
  bool ok = true;
  std::string error;
  nlohmann::json output;
  Control control = Control::kNext;
  std::string stop_reason;

  static StepOutcome next(nlohmann::json output = nullptr) { return {true, {}, std::move(output)}; }
  static StepOutcome failed(std::string why) { return {false, std::move(why), nullptr}; }
  static StepOutcome suspended() {
    StepOutcome o;
    o.control = Control::kSuspend;
    return o;
  }
  static StepOutcome jumped() {
    StepOutcome o;
    o.control = Control::kJumped;
    return o;
  }
};
using StepDone = std::function<void(StepOutcome)>;

struct Exec {
  std::shared_ptr<const FlowSet> set;
  EntryPtr entry;  // null when the run has no contact
  FlowRun run;
  const flow::Flow* flow = nullptr;
  nlohmann::json message = nlohmann::json::object();  // the message being handled ({} when none)
  std::string request_id;
  nlohmann::json globals = nlohmann::json::object();  // trigger, inputs, event, answer
  int steps_taken = 0;                                // this turn: guards against goto loops
  int step_attempt = 0;                               // retries of the current step
  std::optional<lua::RuleContext> rule_context;       // see ruleContext()
  std::shared_ptr<const text::NormalizedText> words;  // see textWords()
  // Trampoline for steps that finish synchronously (see the run loop's next()).
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

// What rules see for a message, a conversation and globals, with no run's steps yet.
lua::RuleContext baseRuleContext(const nlohmann::json& message, const ConversationEntry* entry,
                                 const nlohmann::json& globals);
// What the run's rules see now. Built once and kept until a step finishes (steps are what
// change outputs, the contact or the conversation), so a row of `if:`s that skip their steps
// shares one.
const lua::RuleContext& ruleContext(Exec& x);
// The message's text normalized for keyword matching, computed once per execution.
const text::NormalizedText& textWords(Exec& x);

}  // namespace waflow::core::engine
