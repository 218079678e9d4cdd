#include "app/events.h"

#include <nlohmann/json.hpp>

namespace waflow::core::app {
namespace {

nlohmann::json rawOrNull(const std::string& raw) {
  if (raw.empty()) {
    return nullptr;
  }
  auto parsed = nlohmann::json::parse(raw, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json(raw) : parsed;
}

}  // namespace

std::string conversationKey(const std::string& channel, const std::string& contact) {
  return channel + ":" + contact;
}

bus::Event messageReceivedEvent(const std::string& channel, const waflow::InboundMessage& m,
                                const std::string& request_id) {
  nlohmann::json p = {{"channel", channel},
                      {"id", m.id},
                      {"from", m.from},
                      {"from_user_id", m.from_user_id},
                      {"contact_name", m.contact_name},
                      {"type", m.type},
                      {"text", m.text},
                      {"reply_id", m.reply_id},
                      {"context_id", m.context_id},
                      {"recipient", m.recipient},
                      {"timestamp", m.timestamp},
                      {"raw", rawOrNull(m.raw_json)}};
  bus::Event ev;
  ev.type = kMessageReceived;
  ev.conversation = conversationKey(channel, m.from.empty() ? m.from_user_id : m.from);
  ev.payload = p.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ev.request_id = request_id;
  return ev;
}

bus::Event messageStatusEvent(const std::string& channel, const waflow::StatusUpdate& s,
                              const std::string& request_id) {
  nlohmann::json p = {{"channel", channel},
                      {"message_id", s.message_id},
                      {"status", s.status},
                      {"recipient", s.recipient},
                      {"timestamp", s.timestamp},
                      {"error_code", s.error_code},
                      {"error_message", s.error_message},
                      {"raw", rawOrNull(s.raw_json)}};
  bus::Event ev;
  ev.type = kMessageStatus;
  ev.conversation = conversationKey(channel, s.recipient);
  ev.payload = p.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ev.request_id = request_id;
  return ev;
}

}  // namespace waflow::core::app
