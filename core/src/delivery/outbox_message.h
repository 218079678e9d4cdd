// What the outbox sends: a message as it is stored (OutboxMessage), and one claimed for
// sending with its attempts so far (OutboxItem).
//
// Thread-safety: plain data. An OutboxItem lives on the outbox's strand.
#pragma once

#include <string>

namespace waflow::core::delivery {

// One message to send. `id` is unique and stable: adding the same id twice stores and sends
// it once (a reply to a message handled again after a restart is recognised this way).
struct OutboxMessage {
  std::string id;
  std::string channel;
  std::string to;
  std::string conversation;  // ordering key; "" = "<channel>:<to>"
  std::string type = "text";
  std::string text;
  std::string reply_to;      // the customer message quoted, or ""
  std::string payload_json;  // a JSON object for non-text types, or ""
  std::string request_id;    // for log lines about this send
};

// A claimed message on its way to the channel.
struct OutboxItem {
  OutboxMessage m;
  int attempts = 0;      // attempts made, this one included once sent
  bool paced = false;    // holds its recipient token
  bool delayed = false;  // waiting on a pacing timer, outside the channel queue
};

}  // namespace waflow::core::delivery
