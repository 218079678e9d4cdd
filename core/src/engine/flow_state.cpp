#include "engine/flow_state.h"

#include <algorithm>

namespace waflow::core::engine {
namespace {

using nlohmann::json;

constexpr size_t kConsumedKept = 16;

json frameToJson(const CallFrame& f) {
  return {{"flow", f.flow},
          {"step", f.step},
          {"steps", f.steps},
          {"inputs", f.inputs},
          {"call_step_id", f.call_step_id}};
}

CallFrame frameFromJson(const json& j) {
  CallFrame f;
  f.flow = j.value("flow", "");
  f.step = j.value("step", size_t{0});
  f.steps = j.value("steps", json::object());
  f.inputs = j.value("inputs", json::object());
  f.call_step_id = j.value("call_step_id", "");
  return f;
}

json runToJson(const FlowRun& r) {
  json calls = json::array();
  for (const auto& f : r.calls) {
    calls.push_back(frameToJson(f));
  }
  json out = {{"id", r.id},
              {"flow", r.flow},
              {"step", r.step},
              {"waiting", r.waiting},
              {"wait_event", r.wait_event},
              {"token", r.token},
              {"attempts", r.attempts},
              {"sends", r.sends},
              {"steps", r.steps},
              {"trigger", r.trigger},
              {"inputs", r.inputs},
              {"calls", calls},
              {"started_at", r.started_at},
              {"updated_at", r.updated_at}};
  if (!r.gathered.empty()) {
    out["gathered"] = r.gathered;
  }
  return out;
}

FlowRun runFromJson(const json& j) {
  FlowRun r;
  r.id = j.value("id", "");
  r.flow = j.value("flow", "");
  r.step = j.value("step", size_t{0});
  r.waiting = j.value("waiting", "");
  r.wait_event = j.value("wait_event", "");
  r.token = j.value("token", "");
  r.attempts = j.value("attempts", 0);
  r.sends = j.value("sends", 0);
  r.steps = j.value("steps", json::object());
  r.trigger = j.value("trigger", json::object());
  r.inputs = j.value("inputs", json::object());
  if (auto calls = j.find("calls"); calls != j.end() && calls->is_array()) {
    for (const auto& f : *calls) {
      r.calls.push_back(frameFromJson(f));
    }
  }
  r.started_at = j.value("started_at", int64_t{0});
  r.updated_at = j.value("updated_at", int64_t{0});
  r.gathered = j.value("gathered", json::array());
  return r;
}

}  // namespace

FlowRun* ConversationState::askingRun() {
  for (auto& r : runs) {
    if (r.waiting == "ask" || r.waiting == "gather") {
      return &r;
    }
  }
  return nullptr;
}

FlowRun* ConversationState::findRun(const std::string& id) {
  for (auto& r : runs) {
    if (r.id == id) {
      return &r;
    }
  }
  return nullptr;
}

bool ConversationState::removeRun(const std::string& id) {
  auto it = std::find_if(runs.begin(), runs.end(), [&](const FlowRun& r) { return r.id == id; });
  if (it == runs.end()) {
    return false;
  }
  runs.erase(it);
  return true;
}

size_t ConversationState::runsOf(const std::string& flow) const {
  size_t n = 0;
  for (const auto& r : runs) {
    // A run that called or went to another flow still counts for the flow it started as.
    if (r.flow == flow || r.trigger.value("flow", "") == flow) {
      ++n;
    }
  }
  return n;
}

std::vector<std::string> ConversationState::waits() const {
  std::vector<std::string> out;
  for (const auto& r : runs) {
    if (r.waiting == "wait" && std::find(out.begin(), out.end(), r.wait_event) == out.end()) {
      out.push_back(r.wait_event);
    }
  }
  return out;
}

bool ConversationState::wasConsumed(const std::string& message_id) const {
  return !message_id.empty() &&
         std::find(consumed.begin(), consumed.end(), message_id) != consumed.end();
}

void ConversationState::noteConsumed(const std::string& message_id) {
  if (message_id.empty() || wasConsumed(message_id)) {
    return;
  }
  consumed.push_back(message_id);
  if (consumed.size() > kConsumedKept) {
    consumed.erase(consumed.begin());
  }
}

json ConversationState::toJson() const {
  json j = json::object();
  if (handoff) {
    j["handoff"] = {{"team", handoff_team}, {"at", handoff_at}};
    if (handoff_until > 0) {
      j["handoff"]["until"] = handoff_until;
    }
  }
  if (!runs.empty()) {
    json list = json::array();
    for (const auto& r : runs) {
      list.push_back(runToJson(r));
    }
    j["runs"] = std::move(list);
  }
  if (!queued.empty()) {
    json list = json::array();
    for (const auto& q : queued) {
      list.push_back(
          {{"id", q.id}, {"flow", q.flow}, {"trigger", q.trigger}, {"message", q.message}});
    }
    j["queued"] = std::move(list);
  }
  if (!consumed.empty()) {
    j["consumed"] = consumed;
  }
  return j;
}

ConversationState ConversationState::fromJson(const json& j) {
  ConversationState s;
  if (!j.is_object()) {
    return s;
  }
  if (auto h = j.find("handoff"); h != j.end() && h->is_object()) {
    s.handoff = true;
    s.handoff_team = h->value("team", "");
    s.handoff_at = h->value("at", int64_t{0});
    s.handoff_until = h->value("until", int64_t{0});
  }
  if (auto runs = j.find("runs"); runs != j.end() && runs->is_array()) {
    for (const auto& r : *runs) {
      s.runs.push_back(runFromJson(r));
    }
  }
  if (auto queued = j.find("queued"); queued != j.end() && queued->is_array()) {
    for (const auto& q : *queued) {
      s.queued.push_back(QueuedRun{q.value("id", ""), q.value("flow", ""),
                                   q.value("trigger", json::object()),
                                   q.value("message", json::object())});
    }
  }
  if (auto c = j.find("consumed"); c != j.end() && c->is_array()) {
    for (const auto& id : *c) {
      if (id.is_string()) {
        s.consumed.push_back(id.get<std::string>());
      }
    }
  }
  return s;
}

}  // namespace waflow::core::engine
