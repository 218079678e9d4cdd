#include "cloud_webhook.h"

#include <simdjson.h>

#include <cstdlib>
#include <map>

namespace waflow::sandbox {
namespace {

using simdjson::dom::element;

constexpr std::size_t kIdleParsers = 16;

// Lookups go through simdjson_result, which carries a missing key or a wrong
// type along the chain as an error instead of touching an invalid element.
using Lookup = simdjson::simdjson_result<element>;

std::string_view text(Lookup e, const char* key) {
  std::string_view out;
  if (e[key].get(out) == simdjson::SUCCESS) {
    return out;
  }
  return {};
}

Lookup child(Lookup e, const char* key) {
  return e[key];
}

bool has(Lookup e, const char* key) {
  return e[key].error() == simdjson::SUCCESS;
}

int64_t number(Lookup e, const char* key) {
  std::string_view s = text(e, key);  // Meta sends timestamps as strings
  if (!s.empty()) {
    return std::strtoll(std::string(s).c_str(), nullptr, 10);
  }
  int64_t n = 0;
  if (e[key].get(n) == simdjson::SUCCESS) {
    return n;
  }
  return 0;
}

// The same lookups starting from an element that exists.
std::string_view text(element e, const char* key) {
  return text(Lookup(std::move(e)), key);
}
Lookup child(element e, const char* key) {
  return child(Lookup(std::move(e)), key);
}
int64_t number(element e, const char* key) {
  return number(Lookup(std::move(e)), key);
}

// The text a keyword rule reads for each message type, and the id of a tapped
// button or list row.
void readContent(Lookup m, waflow::InboundMessage& in) {
  const std::string& type = in.type;
  if (type == "text") {
    in.text = text(child(m, "text"), "body");
  } else if (type == "interactive") {
    Lookup i = child(m, "interactive");
    for (const char* kind : {"button_reply", "list_reply"}) {
      if (has(i, kind)) {
        in.text = text(child(i, kind), "title");
        in.reply_id = text(child(i, kind), "id");
        return;
      }
    }
    in.text = text(child(i, "nfm_reply"), "body");
  } else if (type == "button") {
    in.text = text(child(m, "button"), "text");
    in.reply_id = text(child(m, "button"), "payload");
  } else if (type == "reaction") {
    in.text = text(child(m, "reaction"), "emoji");
    in.context_id = text(child(m, "reaction"), "message_id");
  } else if (has(m, type.c_str())) {
    in.text = text(child(m, type.c_str()), "caption");
  }
}

}  // namespace

CloudWebhookParser::CloudWebhookParser() = default;
CloudWebhookParser::~CloudWebhookParser() = default;

std::unique_ptr<simdjson::dom::parser> CloudWebhookParser::take() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto p = std::move(idle_.back());
      idle_.pop_back();
      return p;
    }
  }
  return std::make_unique<simdjson::dom::parser>();
}

void CloudWebhookParser::give(std::unique_ptr<simdjson::dom::parser> parser) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < kIdleParsers) {
    idle_.push_back(std::move(parser));
  }
}

ParsedWebhook CloudWebhookParser::parse(std::string_view body, std::string_view default_recipient) {
  ParsedWebhook out;
  auto parser = take();
  element root;
  auto error = parser->parse(body.data(), body.size()).get(root);
  if (error != simdjson::SUCCESS || !root.is_object()) {
    out.error = error != simdjson::SUCCESS
                    ? std::string("body is not JSON (") + simdjson::error_message(error) +
                          "): the sandbox expects a WhatsApp Cloud API webhook"
                    : "body is not a JSON object: the sandbox expects a WhatsApp Cloud API webhook";
    give(std::move(parser));
    return out;
  }
  if (text(root, "object") != "whatsapp_business_account") {
    out.error = "expected \"object\": \"whatsapp_business_account\"";
    give(std::move(parser));
    return out;
  }
  simdjson::dom::array entries;
  if (root["entry"].get(entries) == simdjson::SUCCESS) {
    for (element entry : entries) {
      simdjson::dom::array changes;
      if (entry["changes"].get(changes) != simdjson::SUCCESS) {
        continue;
      }
      for (element change : changes) {
        if (text(change, "field") != "messages") {
          continue;
        }
        Lookup value = child(change, "value");
        std::string_view recipient = text(child(value, "metadata"), "phone_number_id");
        if (recipient.empty()) {
          recipient = default_recipient;
        }
        std::map<std::string_view, std::string_view> names;
        simdjson::dom::array list;
        if (value["contacts"].get(list) == simdjson::SUCCESS) {
          for (element c : list) {
            names[text(c, "wa_id")] = text(child(c, "profile"), "name");
          }
        }
        if (value["messages"].get(list) == simdjson::SUCCESS) {
          for (element m : list) {
            waflow::InboundMessage in;
            in.id = text(m, "id");
            if (in.id.empty()) {
              out.error = "a message has no \"id\"";
              out.messages.clear();
              out.statuses.clear();
              give(std::move(parser));
              return out;
            }
            in.from = text(m, "from");
            in.from_user_id = text(m, "from_user_id");
            if (auto it = names.find(in.from); it != names.end()) {
              in.contact_name = it->second;
            }
            in.type = text(m, "type");
            readContent(Lookup(element(m)), in);
            if (in.context_id.empty()) {
              in.context_id = text(child(m, "context"), "id");
            }
            in.recipient = recipient;
            in.timestamp = number(m, "timestamp");
            in.raw_json = simdjson::minify(m);
            out.messages.push_back(std::move(in));
          }
        }
        if (value["statuses"].get(list) == simdjson::SUCCESS) {
          for (element s : list) {
            waflow::StatusUpdate st;
            st.message_id = text(s, "id");
            st.status = text(s, "status");
            st.recipient = text(s, "recipient_id");
            st.timestamp = number(s, "timestamp");
            simdjson::dom::array errors;
            if (s["errors"].get(errors) == simdjson::SUCCESS && errors.size() > 0) {
              Lookup first = errors.at(0);
              st.error_code = static_cast<int32_t>(number(first, "code"));
              st.error_message = text(first, "message");
            }
            st.raw_json = simdjson::minify(s);
            out.statuses.push_back(std::move(st));
          }
        }
      }
    }
  }
  give(std::move(parser));
  return out;
}

}  // namespace waflow::sandbox
