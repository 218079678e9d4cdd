// The core's bus event types and their JSON payloads: the contract between
// channels, the auto-reply, flows and integration plugins. docs/architecture.md
// lists them.
//
// Thread-safety: pure functions.
#pragma once

#include "bus/event.h"

#include <waflow/sdk/types.hpp>

#include <string>

namespace waflow::core::app {

inline constexpr const char* kMessageReceived = "message.received";
inline constexpr const char* kMessageStatus = "message.status";
inline constexpr const char* kMessageSent = "message.sent";
inline constexpr const char* kMessageFailed = "message.failed";

// "<channel>:<contact>": the ordering key of one conversation.
std::string conversationKey(const std::string& channel, const std::string& contact);

bus::Event messageReceivedEvent(const std::string& channel, const waflow::InboundMessage& m,
                                const std::string& request_id);
bus::Event messageStatusEvent(const std::string& channel, const waflow::StatusUpdate& s,
                              const std::string& request_id);

}  // namespace waflow::core::app
