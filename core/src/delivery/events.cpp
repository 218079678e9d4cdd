#include "delivery/events.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace waflow::core::delivery {
namespace {

void appendRaw(std::string& out, std::string_view raw) {
  out += "\"raw\":";
  out += raw.empty() ? std::string_view("null") : raw;
  out += '}';
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void appendField(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":";
  appendJsonString(out, value);
  out += ',';
}

void appendNumber(std::string& out, std::string_view key, int64_t value) {
  out += '"';
  out += key;
  out += "\":";
  out += std::to_string(value);
  out += ',';
}

const ReceivedMessage* receivedMessage(const bus::Event& event) {
  if (event.type != kMessageReceived || !event.native) {
    return nullptr;
  }
  return static_cast<const ReceivedMessage*>(event.native.get());
}

const StatusReport* statusReport(const bus::Event& event) {
  if (event.type != kMessageStatus || !event.native) {
    return nullptr;
  }
  return static_cast<const StatusReport*>(event.native.get());
}

std::string conversationKey(const std::string& channel, const std::string& contact) {
  return channel + ":" + contact;
}

const std::string& senderContact(const waflow::InboundMessage& m) {
  return m.from.empty() ? m.from_user_id : m.from;
}

std::string eventContact(const bus::Event& event, const std::string& channel,
                         const std::string& sender) {
  const std::string& key = event.conversation;
  if (key.size() > channel.size() + 1 && key.compare(0, channel.size(), channel) == 0 &&
      key[channel.size()] == ':') {
    return key.substr(channel.size() + 1);
  }
  return sender;
}

bus::Event replyFailedEvent(const std::string& channel, const std::string& to,
                            const std::string& id, const std::string& in_reply_to,
                            const std::string& error, const std::string& request_id) {
  nlohmann::json p = {{"channel", channel},         {"to", to},       {"id", id},
                      {"in_reply_to", in_reply_to}, {"error", error}, {"error_code", 0}};
  bus::Event ev;
  ev.type = kMessageFailed;
  // An AI provider's error text may hold anything: bytes that are not UTF-8 are replaced.
  ev.payload = p.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ev.request_id = request_id;
  return ev;
}

bus::Event messageReceivedEvent(const std::string& channel, waflow::InboundMessage&& m,
                                const std::string& request_id) {
  std::string p;
  p.reserve(256 + m.raw_json.size() + m.text.size());
  p += '{';
  appendField(p, "channel", channel);
  appendField(p, "id", m.id);
  appendField(p, "from", m.from);
  appendField(p, "from_user_id", m.from_user_id);
  appendField(p, "contact_name", m.contact_name);
  appendField(p, "type", m.type);
  appendField(p, "text", m.text);
  appendField(p, "reply_id", m.reply_id);
  appendField(p, "context_id", m.context_id);
  appendField(p, "recipient", m.recipient);
  appendNumber(p, "timestamp", m.timestamp);
  appendRaw(p, m.raw_json);
  bus::Event ev;
  ev.type = kMessageReceived;
  ev.conversation = conversationKey(channel, senderContact(m));
  ev.payload = std::move(p);
  ev.request_id = request_id;
  ev.native = std::make_shared<const ReceivedMessage>(ReceivedMessage{channel, std::move(m)});
  return ev;
}

bus::Event messageStatusEvent(const std::string& channel, const waflow::StatusUpdate& s,
                              const std::string& request_id, const std::string& outbox_id) {
  std::string p;
  p.reserve(256 + s.raw_json.size());
  p += '{';
  appendField(p, "channel", channel);
  appendField(p, "message_id", s.message_id);
  appendField(p, "status", s.status);
  appendField(p, "recipient", s.recipient);
  appendNumber(p, "timestamp", s.timestamp);
  appendNumber(p, "error_code", s.error_code);
  appendField(p, "error_message", s.error_message);
  appendField(p, "outbox_id", outbox_id);
  appendRaw(p, s.raw_json);
  bus::Event ev;
  ev.type = kMessageStatus;
  ev.conversation = conversationKey(channel, s.recipient);
  ev.payload = std::move(p);
  ev.request_id = request_id;
  ev.native = std::make_shared<const StatusReport>(StatusReport{channel, s, outbox_id});
  return ev;
}

}  // namespace waflow::core::delivery
