// Outbound message bodies for the WhatsApp Cloud API: turns a waflow::OutboundMessage into the
// JSON of `POST /<version>/<phone-number-id>/messages`, after checking Meta's limits so a bad
// message fails here with a message naming the field instead of costing a round trip and an
// opaque error 131009. protocols.md §A.7 describes the wire format.
//
// How an OutboundMessage carries each type (`payload_json` is optional unless stated; it is the
// type object in Meta's own shape, and unknown keys in it are passed through untouched):
//
//   type          text / payload_json
//   ------------  ----------------------------------------------------------------------------
//   text          text = the body. payload_json may hold {"preview_url": true} (default false).
//   image, video, payload_json = {"id": "<media id>"} or {"link": "https://..."}, plus
//   document      "caption" and (document only) "filename". A non-empty `text` is the caption
//                 when the payload has none.
//   audio,        payload_json = {"id"} or {"link"}; no caption, so `text` must be empty.
//   sticker
//   template      payload_json = {"name", "language": {"code": "id"} (or just "id"),
//                 "components": [...]}; components are passed as given (header/body/button
//                 parameters; button index as an int or a string).
//   interactive   payload_json = Meta's interactive object: {"type": "button" | "list" |
//                 "cta_url" | <any other Meta type, passed through>, "header", "body",
//                 "footer", "action"}. A non-empty `text` is the body when the payload has none.
//   button, list, shorthand for interactive: payload_json is the same interactive object and its
//   cta_url       "type" may be left out.
//   location      payload_json = {"latitude", "longitude", "name"?, "address"?}; numbers or
//                 numeric strings, sent as given.
//   contacts      payload_json = Meta's contacts array, or {"contacts": [...]}.
//   reaction      payload_json = {"message_id"?, "emoji"?}: message_id defaults to `reply_to`,
//                 emoji to `text`; an empty emoji removes our reaction.
//
// Every type: `to` is the recipient's phone number, digits only (a leading '+' is dropped), or a
// business-scoped user id such as "US.13491208655302741918" or a parent one such as
// "US.ENT.11815799212886844830" (sent as "recipient", without "to"). `reply_to`
// becomes context.message_id (a quoted reply), except for reactions. A top-level
// "biz_opaque_callback_data" string in payload_json (an object) is lifted out of the type object
// and sent at the top level; Meta echoes it in status webhooks. Without one, the message's `id`
// (the daemon's outbox id, stable across retries) is sent as biz_opaque_callback_data when it is
// non-empty and within Meta's 512-character limit.
//
// Violations throw waflow::Error(Rc::kInvalid, "<field>: <what is wrong> (limit N)"); a type the
// channel cannot send throws Rc::kUnsupported. Lengths count Unicode code points.
//
// Thread-safety: pure functions.
#pragma once

#include "channel_config.h"
#include "graph_errors.h"

#include <waflow/sdk/host.hpp>
#include <waflow/sdk/task.hpp>
#include <waflow/sdk/types.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace waflow::cloudapi {

// Meta's documented limits. protocols.md §A.7 gives most of them (pywa docstrings); the caption,
// template-name and contact figures are Meta's reference-page values, not re-verified there.
namespace limits {
inline constexpr std::size_t kTextBody = 4096;
inline constexpr std::size_t kCaption = 1024;  // Meta media-message reference; not in §A.7
inline constexpr std::size_t kBizOpaqueCallbackData = 512;
inline constexpr std::size_t kInteractiveBody = 1024;
inline constexpr std::size_t kInteractiveHeaderText = 60;
inline constexpr std::size_t kInteractiveFooter = 60;
inline constexpr std::size_t kReplyButtonsMax = 3;
inline constexpr std::size_t kReplyButtonTitle = 20;
inline constexpr std::size_t kReplyButtonId = 256;
inline constexpr std::size_t kListButton = 20;
inline constexpr std::size_t kListSectionsMax = 10;
inline constexpr std::size_t kListRowsMax = 10;  // across all sections
inline constexpr std::size_t kListSectionTitle = 24;
inline constexpr std::size_t kListRowTitle = 24;
inline constexpr std::size_t kListRowId = 200;
inline constexpr std::size_t kListRowDescription = 72;
inline constexpr std::size_t kCtaDisplayText = 20;
inline constexpr std::size_t kTemplateName = 512;  // Meta template-management reference
}  // namespace limits

// The body of POST /messages for `m`. Throws waflow::Error as described above.
nlohmann::json buildSendBody(const waflow::OutboundMessage& m);

// Mark an inbound message read (which also marks earlier ones read); with `typing`, also show
// the typing indicator for up to 25 s or until we reply. Throws kInvalid on an empty id.
nlohmann::json buildMarkAsRead(std::string_view message_id, bool typing = false);

// POSTs `body` (from buildSendBody or buildMarkAsRead) to <graph>/<phone_number_id>/messages
// with the access token and returns the classified answer; never throws for HTTP errors. A
// typical send: `auto o = co_await postMessages(host, config, buildSendBody(m)); if (!o.ok())
// throw o.toError("sending to " + m.to);` then return o.provider_message_id.
waflow::Task<SendOutcome> postMessages(waflow::Host& host, const ChannelConfig& config,
                                       nlohmann::json body);

// Number of Unicode code points in UTF-8 text (each byte that does not continue a sequence).
std::size_t utf8Length(std::string_view text);

}  // namespace waflow::cloudapi
