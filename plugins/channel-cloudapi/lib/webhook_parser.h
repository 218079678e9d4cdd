// Parses the body of a WhatsApp Cloud API webhook POST (Meta's envelope: entry[] -> changes[]
// -> value{metadata, contacts[], messages[], statuses[], errors[]}) into the SDK's
// InboundMessage and StatusUpdate values, plus value-level errors and the changes of other
// fields (template status, account and quality updates, ...).
//
// Nothing a customer sent is dropped: every entry of messages[] becomes an InboundMessage,
// whatever its type (unknown future types keep their type word and their JSON in raw_json),
// a message without an id gets a stable synthetic one ("nowamid.<hash of its JSON>") so
// retries still deduplicate, and data the parser does not model is passed on as
// other_fields. Shapes it tolerates but finds odd are listed in `warnings` for the log.
//
// How each type fills InboundMessage (raw_json is always the message object, minified):
//   text                      text = text.body
//   image/video/document/     text = caption ("" when none); see mediaOf() in media_ref.h
//     audio/sticker
//   location                  text = "name, address" (whichever exist), else "lat,lng"
//   contacts                  text = the first contact's formatted_name
//   interactive               button_reply / list_reply: text = title, reply_id = id;
//                             nfm_reply (Flows): text = body (response_json stays in raw_json);
//                             other kinds: their title/body/text and id when present
//   button (template quick    text = button.text, reply_id = button.payload
//     reply)
//   reaction                  text = emoji ("" = reaction removed),
//                             context_id = the reacted-to message id
//   order                     text = order.text
//   system                    text = system.body
//   edit                      text = the edited message's text or caption,
//                             context_id = edit.original_message_id
//   revoke                    context_id = revoke.original_message_id
//   request_welcome,          text = ""; errors[] and unsupported.type stay in raw_json
//     unsupported, unknown
//   anything else             text = <type>.body / .text / .caption / .title when present
// context.id (the message replied to) becomes context_id unless the type sets its own;
// forwarded flags, referral (click-to-WhatsApp ads) and identity stay in raw_json.
//
// Thread-safety: WebhookParser keeps a small pool of simdjson parsers behind a mutex;
// parse() may be called from many threads at once.
#pragma once

#include "media_ref.h"

#include <waflow/sdk/types.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace simdjson::dom {
class parser;
}

namespace waflow::cloudapi {

// An entry of changes[].value.errors[]: Meta reporting a problem out of band (e.g. a
// payload it could not deliver to us, code 131000 "Unsupported webhook payload").
struct WebhookError {
  int64_t code = 0;
  std::string title;
  std::string message;
  std::string details;  // error_data.details: the human explanation
  std::string href;
  std::string recipient;  // metadata.phone_number_id of the change it arrived in
  std::string raw_json;   // the error object, minified
};

// A change the parser does not turn into messages or statuses: one whose field is not
// "messages" (message_template_status_update, account_update, phone_number_quality_update,
// ...), or a "messages" change whose value also carries lists the parser does not model
// (e.g. message_echoes); the plugin publishes these as events.
struct FieldChange {
  std::string field;       // changes[].field
  std::string entry_id;    // entry[].id: the WhatsApp Business Account id
  std::string value_json;  // changes[].value, minified; "null" when absent
};

// A "messages" change addressed to another business number than the one parse() was given:
// refused unread (see WebhookParser::parse).
struct ForeignChange {
  std::string phone_number_id;  // its metadata.phone_number_id ("" when absent)
  std::size_t messages = 0;     // how many of each it carried
  std::size_t statuses = 0;
  std::size_t errors = 0;
};

struct ParsedWebhook {
  std::vector<waflow::InboundMessage> messages;  // in body order
  std::vector<waflow::StatusUpdate> statuses;    // in body order
  std::vector<WebhookError> errors;
  std::vector<FieldChange> other_fields;
  std::vector<std::string> warnings;   // tolerated oddities, worth a log line
  std::vector<ForeignChange> foreign;  // refused: addressed to another number
  // Non-empty when the body is not a Cloud API webhook (not JSON, not an object, "object" is
  // not "whatsapp_business_account", "entry" is not an array); everything else is empty then.
  std::string error;

  bool ok() const noexcept { return error.empty(); }
};

class WebhookParser {
 public:
  WebhookParser();
  ~WebhookParser();
  WebhookParser(const WebhookParser&) = delete;
  WebhookParser& operator=(const WebhookParser&) = delete;

  // With `own_phone_number_id`, a "messages" change whose metadata.phone_number_id differs (or
  // is missing) yields no messages, statuses or errors: it is listed in `foreign` instead. One
  // Meta app (one app secret) can serve several numbers, so a valid signature does not prove a
  // notification is for this channel. Empty = accept every number.
  ParsedWebhook parse(std::string_view body, std::string_view own_phone_number_id = {});

 private:
  std::unique_ptr<simdjson::dom::parser> take();
  void give(std::unique_ptr<simdjson::dom::parser> parser);

  std::mutex mutex_;
  std::vector<std::unique_ptr<simdjson::dom::parser>> idle_;
};

}  // namespace waflow::cloudapi
