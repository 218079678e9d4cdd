// The state the flow engine keeps per conversation, in storage (conversation.get/put) and in
// memory: whether a human has the conversation (handoff), the flow runs waiting in it (for an
// answer, an event or the end of a delay) with everything needed to continue them after a
// restart, runs queued behind them (mode: queued), and the ids of the last messages a waiting
// run consumed, so a message redelivered after a crash is not taken as a second answer.
//
// Thread-safety: plain values; the engine touches a conversation's state only while it holds
// that conversation on the bus.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace waflow::core::engine {

// A flow's place in a flow that called it (`call:`), to come back to.
struct CallFrame {
  std::string flow;
  size_t step = 0;  // the step after the call
  nlohmann::json steps = nlohmann::json::object();
  nlohmann::json inputs = nlohmann::json::object();
  std::string call_step_id;  // receives the called flow's outputs
};

// One run of a flow in one conversation.
struct FlowRun {
  std::string id;    // unique and derived from what started the run (outbox ids build on it)
  std::string flow;  // the flow now running (after call/goto, not the first one)
  size_t step = 0;   // the step running or waited at
  // "" while running; "ask" (an answer), "wait" (wait_event), "delay" (a timer), "gather"
  // (an ai step's debounce: more messages of a burst, until the contact is quiet).
  std::string waiting;
  std::string wait_event;
  std::string token;  // names the current wait; its timeout job carries it
  int attempts = 0;   // ask: invalid answers so far; step retries otherwise
  int sends = 0;      // messages this run sent: the n-th has outbox id "<id>:<n>"
  nlohmann::json steps = nlohmann::json::object();    // step id -> {"output": value}
  nlohmann::json trigger = nlohmann::json::object();  // {"id", "on", ...}
  nlohmann::json inputs = nlohmann::json::object();   // `with:` values of a call
  nlohmann::json gathered = nlohmann::json::array();  // "gather": the burst's messages
  std::vector<CallFrame> calls;
  int64_t started_at = 0;
  int64_t updated_at = 0;
};

// A trigger that waits for the run of its flow to finish (mode: queued).
struct QueuedRun {
  std::string id;
  std::string flow;
  nlohmann::json trigger = nlohmann::json::object();
  nlohmann::json message = nlohmann::json::object();
};

struct ConversationState {
  bool handoff = false;
  std::string handoff_team;
  int64_t handoff_at = 0;
  int64_t handoff_until =
      0;  // the bot takes the conversation back when the contact writes after this; 0 = never
  std::vector<FlowRun> runs;  // waiting runs, oldest first
  std::vector<QueuedRun> queued;
  std::vector<std::string> consumed;  // last message ids taken as answers (at most 16)

  bool empty() const { return !handoff && runs.empty() && queued.empty(); }
  // The run waiting for the contact's next message (ask, or gathering a burst), or nullptr.
  FlowRun* askingRun();
  FlowRun* findRun(const std::string& id);
  bool removeRun(const std::string& id);
  size_t runsOf(const std::string& flow) const;
  // The events waiting runs wait for (conversation.put's `waits`).
  std::vector<std::string> waits() const;
  bool wasConsumed(const std::string& message_id) const;
  void noteConsumed(const std::string& message_id);

  nlohmann::json toJson() const;
  // A state stored by this or an older version; unknown fields are ignored.
  static ConversationState fromJson(const nlohmann::json& j);
};

}  // namespace waflow::core::engine
