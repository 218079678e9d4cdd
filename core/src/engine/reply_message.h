// The outbound message a flow's `reply` (or `ask`) step sends: its type, text and Meta payload
// (docs/channels/cloudapi.md#what-can-be-sent), built from the step and its rendered texts. A
// reply whose texts hold no {{ }} and no {spin|tax} is the same message every time; the flow
// set builds it once when it loads (isFixedReply / fixedReply).
//
// Thread-safety: pure functions.
#pragma once

#include "flow/flow.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace waflow::core::engine {

// The step's texts after {{ }} and spintax.
struct ReplyTexts {
  std::string text;
  std::string header;
  std::string footer;
  std::string url;                  // media
  std::string caption;              // media
  std::vector<std::string> params;  // template
};

struct OutgoingReply {
  std::string type;          // text, image, ..., interactive, template
  std::string text;          // the text (for interactive: the body)
  std::string payload_json;  // Meta's object for the type; "" for text
};

OutgoingReply buildReply(const flow::ReplyStep& step, const ReplyTexts& texts);

// Meta's interactive object: reply buttons when the step has buttons, else its list.
nlohmann::json interactivePayload(const flow::ReplyStep& step, const std::string& body,
                                  const std::string& header, const std::string& footer);

bool isFixedReply(const flow::ReplyStep& step);
// The message of a fixed reply (isFixedReply).
OutgoingReply fixedReply(const flow::ReplyStep& step);

}  // namespace waflow::core::engine
