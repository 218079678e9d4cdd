// Small helpers every part of the flow engine uses: the clock, wait tokens, the "flows" log,
// where-strings for log lines, JSON field reads and publishing an event on the bus.
//
// Thread-safety: all functions are safe to call from any thread.
#pragma once

#include "bus/event_bus.h"
#include "flow/flow.h"

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace waflow::core::engine {

using Json = nlohmann::json;

// Milliseconds since the Unix epoch, by the wall clock (jobs are due at wall-clock times).
int64_t flowNowMs();
// 16 random hex digits: names one wait of a run (its timeout or resume job carries it).
std::string newToken();
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
// Publishes an event of the engine's (conversation.handoff, an emit step's) without waiting;
// when the bus is full the event is dropped and the drop logged.
void publishEvent(bus::EventBus& bus, const std::string& type, const std::string& conversation,
                  const Json& payload, const std::string& request_id);

}  // namespace waflow::core::engine
