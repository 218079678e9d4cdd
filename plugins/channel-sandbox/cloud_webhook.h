// Parses a WhatsApp Cloud API webhook body (Meta's envelope: entry[] ->
// changes[] -> value{metadata, contacts[], messages[], statuses[]}) into the
// SDK's InboundMessage and StatusUpdate values, with each message's own JSON
// kept in raw_json.
//
// simdjson's DOM parser does the work: the webhook path is the hottest code in
// the daemon, and it parses a typical 1 KB body in about a microsecond, several
// times faster than building a nlohmann::json tree.
//
// Thread-safety: CloudWebhookParser keeps a small pool of parsers behind a
// mutex; parse() may be called from many threads at once.
#pragma once

#include <waflow/sdk/types.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace simdjson::dom {
class parser;
}

namespace waflow::sandbox {

struct ParsedWebhook {
  std::vector<waflow::InboundMessage> messages;
  std::vector<waflow::StatusUpdate> statuses;
  std::string error;  // non-empty when the body is not a Cloud API webhook
};

class CloudWebhookParser {
 public:
  CloudWebhookParser();
  ~CloudWebhookParser();

  // `default_recipient` is used when metadata.phone_number_id is absent.
  ParsedWebhook parse(std::string_view body, std::string_view default_recipient);

 private:
  std::unique_ptr<simdjson::dom::parser> take();
  void give(std::unique_ptr<simdjson::dom::parser> parser);

  std::mutex mutex_;
  std::vector<std::unique_ptr<simdjson::dom::parser>> idle_;
};

}  // namespace waflow::sandbox
