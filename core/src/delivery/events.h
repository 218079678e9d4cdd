// The core's bus event types and their JSON payloads: the contract between
// channels, the auto-reply, flows and integration plugins. docs/architecture.md
// lists them.
//
// Thread-safety: pure functions.
#pragma once

#include "bus/event.h"

#include <waflow/sdk/types.hpp>

#include <string>
#include <string_view>

namespace waflow::core::delivery {

inline constexpr const char* kMessageReceived = "message.received";
inline constexpr const char* kMessageStatus = "message.status";
inline constexpr const char* kMessageSent = "message.sent";
inline constexpr const char* kMessageFailed = "message.failed";

// The native form of a message.received event.
struct ReceivedMessage {
  std::string channel;
  waflow::InboundMessage message;
};
// The ReceivedMessage carried by a message.received event, or null.
const ReceivedMessage* receivedMessage(const bus::Event& event);

// The native form of a message.status event the inbox stored: only the inbox's own events
// carry it, so a part that acts on statuses (the outbox) cannot be driven by a plugin's
// hand-made event.
struct StatusReport {
  std::string channel;
  waflow::StatusUpdate status;
  std::string outbox_id;  // the outbox message the status is about; "" when unknown
};
// The StatusReport carried by a message.status event, or null.
const StatusReport* statusReport(const bus::Event& event);

// Appends `s` as a JSON string literal (quotes included) to `out`.
void appendJsonString(std::string& out, std::string_view s);

// Append `"key":<value>,` — the pieces of the JSON objects the core assembles as
// text: payloads splice the provider's raw JSON in as it came, never parsed and
// re-serialised (on the webhook path that round trip cost more than everything
// else together). The caller writes the last member and the closing brace.
void appendField(std::string& out, std::string_view key, std::string_view value);
void appendNumber(std::string& out, std::string_view key, int64_t value);

// "<channel>:<contact>": the ordering key of one conversation.
std::string conversationKey(const std::string& channel, const std::string& contact);

// The contact a message's sender is first known as: their phone number, or their
// business-scoped user id when the message has no phone number (a WhatsApp user with a
// username); "" when it names neither.
const std::string& senderContact(const waflow::InboundMessage& m);

// The contact a message.received event is about: the contact of its conversation key (the
// inbox stores a message under the contact its sender was first known as, which may be their
// other identifier), else `sender` (senderContact of the message).
std::string eventContact(const bus::Event& event, const std::string& channel,
                         const std::string& sender);

// Why a message without sender gets no reply (message.failed's error).
inline constexpr const char* kNoSenderError =
    "the message names no sender (neither a phone number nor a business-scoped user id), so "
    "there is no one to answer";

// message.failed for a reply that was never sent: `id` is the reply's own id, `in_reply_to`
// the customer message it answers, `error` why it was not sent.
bus::Event replyFailedEvent(const std::string& channel, const std::string& to,
                            const std::string& id, const std::string& in_reply_to,
                            const std::string& error, const std::string& request_id);

// Takes the message: it becomes the event's native ReceivedMessage.
bus::Event messageReceivedEvent(const std::string& channel, waflow::InboundMessage&& m,
                                const std::string& request_id);
// `outbox_id`: the outbox message the status is about, "" when unknown.
bus::Event messageStatusEvent(const std::string& channel, const waflow::StatusUpdate& s,
                              const std::string& request_id, const std::string& outbox_id = {});

}  // namespace waflow::core::delivery
