#include "engine/basics.h"

#include "log/log.h"

#include <fmt/format.h>

#include <chrono>
#include <random>

namespace waflow::core::engine {

int64_t flowNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string newToken() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

std::shared_ptr<spdlog::logger> flowLogger() {
  return log::get("flows");
}

std::function<void()> shareDone(bus::Done done) {
  auto shared = std::make_shared<bus::Done>(std::move(done));
  return [shared] { (*shared)(); };
}

std::string stepWhere(const flow::Flow& f, const flow::Step* step, size_t index) {
  if (step == nullptr) {
    return fmt::format("flow '{}' ({})", f.id, f.file);
  }
  return fmt::format("flow '{}' step {} ({}:{}:{})", f.id, step->label(index), f.file,
                     step->pos.line, step->pos.column);
}

std::string jsonString(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::pair<std::string, std::string> splitConversationKey(const std::string& key) {
  size_t colon = key.find(':');
  if (colon == std::string::npos) {
    return {"", ""};
  }
  return {key.substr(0, colon), key.substr(colon + 1)};
}

bool runsInHandoff(const flow::Flow& f) {
  for (const auto& c : f.conditions) {
    if (const auto* conv = std::get_if<flow::ConversationCondition>(&c.spec)) {
      if (conv->in_handoff && *conv->in_handoff) {
        return true;
      }
    }
  }
  return false;
}

void publishEvent(bus::EventBus& bus, const std::string& type, const std::string& conversation,
                  const Json& payload, const std::string& request_id) {
  bus::Event ev;
  ev.type = type;
  ev.conversation = conversation;
  ev.payload = payload.dump(-1, ' ', false, Json::error_handler_t::replace);
  ev.request_id = request_id;
  if (bus.tryPublish(std::move(ev)) != bus::EventBus::PublishResult::kAccepted) {
    flowLogger()->error("event {} dropped: the bus is full", type);
  }
}

}  // namespace waflow::core::engine
