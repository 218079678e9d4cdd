// Event: what travels on the bus. A plain value type; not thread-safe to mutate concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace waflow::core::bus {

struct Event {
  // "message.received", "message.status", "channel.unhealthy", ...
  std::string type;
  // Ordering key, e.g. "<channel>:<wa_id>": events with the same key are handled one at a
  // time in publish order. Empty = no ordering constraint (may run in parallel with anything).
  std::string conversation;
  // JSON text.
  std::string payload;
  // Set as the log request id (log::RequestScope) while the event's handlers run.
  std::string request_id;
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
  // Optional in-process form of the payload, so core handlers need not parse
  // the JSON again (delivery/events.h says which type each event type carries).
  // Plugins only ever see `payload`.
  std::shared_ptr<const void> native;
};

}  // namespace waflow::core::bus
