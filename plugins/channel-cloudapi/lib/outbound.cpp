#include "outbound.h"

#include <charconv>
#include <cmath>
#include <set>
#include <string>
#include <utility>

namespace waflow::cloudapi {
namespace {

using nlohmann::json;

[[noreturn]] void invalid(const std::string& message) {
  throw waflow::Error(waflow::Rc::kInvalid, message);
}

std::string str(std::size_t n) {
  return std::to_string(n);
}

// The string at obj[key]; "" when absent or null. Any other JSON type is an error naming `field`.
std::string stringAt(const json& obj, const char* key, const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return {};
  }
  if (!it->is_string()) {
    invalid(field + ": must be a string, got " + std::string(it->type_name()));
  }
  return it->get<std::string>();
}

void checkLength(const std::string& field, const std::string& value, std::size_t max,
                 bool required) {
  if (required && value.empty()) {
    invalid(field + ": is required and must not be empty");
  }
  std::size_t n = utf8Length(value);
  if (n > max) {
    invalid(field + ": " + str(n) + " characters, over Meta's limit of " + str(max));
  }
}

bool isHttpUrl(const std::string& url) {
  auto starts = [&](std::string_view p) {
    return url.size() > p.size() && std::equal(p.begin(), p.end(), url.begin(), [](char a, char b) {
             return a == (b >= 'A' && b <= 'Z' ? char(b - 'A' + 'a') : b);
           });
  };
  return starts("https://") || starts("http://");
}

const json& requireObject(const json& parent, const char* key, const std::string& field) {
  auto it = parent.find(key);
  if (it == parent.end() || !it->is_object()) {
    invalid(field + ": is required and must be an object");
  }
  return *it;
}

const json& requireArray(const json& parent, const char* key, const std::string& field) {
  auto it = parent.find(key);
  if (it == parent.end() || !it->is_array()) {
    invalid(field + ": is required and must be an array");
  }
  return *it;
}

// payload_json as JSON: {} when empty; a parse error names the message's type.
json parsePayload(const waflow::OutboundMessage& m) {
  if (m.payload_json.empty()) {
    return json::object();
  }
  json payload = json::parse(m.payload_json, nullptr, false);
  if (payload.is_discarded()) {
    invalid("payload_json: not valid JSON (a '" + m.type + "' message's payload is Meta's '" +
            m.type + "' object)");
  }
  return payload;
}

// Recipient: digits (E.164 without '+') → "to"; a business-scoped user id → "recipient".
void setRecipient(json& body, const std::string& to) {
  std::string_view v = to;
  if (!v.empty() && v.front() == '+') {
    v.remove_prefix(1);
  }
  bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string_view::npos;
  if (digits) {
    body["to"] = std::string(v);
    return;
  }
  // BSUIDs look like "US.13491208655302741918": a country code, a dot, then letters and
  // digits. Only that example is documented (protocols.md §A.4), so further dots are taken too:
  // a parent BSUID shared by several business portfolios reads "US.ENT.11815799212886844830".
  bool bsuid =
      to.size() > 3 && to[0] >= 'A' && to[0] <= 'Z' && to[1] >= 'A' && to[1] <= 'Z' &&
      to[2] == '.' && to.back() != '.' &&
      to.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.", 3) ==
          std::string::npos;
  if (bsuid) {
    body["recipient"] = to;
    return;
  }
  if (to.empty()) {
    invalid(
        "to: is required: the recipient's phone number in international format, digits only "
        "(e.g. 6281234567890)");
  }
  invalid("to: '" + to +
          "' is neither a phone number in international format, digits only (e.g. "
          "6281234567890), nor a business-scoped user id (e.g. US.13491208655302741918)");
}

json buildText(const waflow::OutboundMessage& m, json payload) {
  if (!payload.is_object()) {
    invalid("payload_json: a text message's payload must be an object like {\"preview_url\":true}");
  }
  std::string body = m.text.empty() ? stringAt(payload, "body", "text.body") : m.text;
  checkLength("text.body", body, limits::kTextBody, true);
  payload["body"] = body;
  auto preview = payload.find("preview_url");
  if (preview == payload.end()) {
    payload["preview_url"] = false;
  } else if (!preview->is_boolean()) {
    invalid("text.preview_url: must be true or false");
  }
  return payload;
}

// A media object ({"id"} or {"link"}) at `field`; shared by messages and interactive headers.
void checkMediaSource(const json& media, const std::string& field) {
  std::string id = stringAt(media, "id", field + ".id");
  std::string link = stringAt(media, "link", field + ".link");
  if (id.empty() == link.empty()) {
    invalid(field +
            ": needs exactly one of \"id\" (an uploaded media id) or \"link\" (an "
            "https URL)");
  }
  if (!link.empty() && !isHttpUrl(link)) {
    invalid(field + ".link: '" + link + "' must be an http:// or https:// URL");
  }
}

json buildMedia(const waflow::OutboundMessage& m, json payload) {
  const std::string& type = m.type;
  if (!payload.is_object()) {
    invalid("payload_json: a " + type +
            " message's payload must be an object like {\"link\":"
            "\"https://...\"} or {\"id\":\"<media id>\"}");
  }
  checkMediaSource(payload, type);
  bool takes_caption = type == "image" || type == "video" || type == "document";
  if (takes_caption) {
    if (!m.text.empty() && !payload.contains("caption")) {
      payload["caption"] = m.text;
    }
    checkLength(type + ".caption", stringAt(payload, "caption", type + ".caption"),
                limits::kCaption, false);
  } else {
    if (payload.contains("caption") || !m.text.empty()) {
      invalid(type + ".caption: " + type +
              " messages cannot have a caption; send the text as a "
              "separate text message");
    }
  }
  if (payload.contains("filename")) {
    if (type != "document") {
      invalid(type + ".filename: only document messages take a filename");
    }
    if (stringAt(payload, "filename", "document.filename").empty()) {
      invalid("document.filename: must not be empty when given");
    }
  }
  return payload;
}

void checkLanguage(json& tmpl) {
  auto lang = tmpl.find("language");
  if (lang != tmpl.end() && lang->is_string()) {
    *lang = json{{"code", lang->get<std::string>()}};  // shorthand "id" → {"code":"id"}
  }
  if (lang == tmpl.end() || !lang->is_object() ||
      stringAt(*lang, "code", "template.language.code").empty()) {
    invalid(
        "template.language.code: is required (the template's language as approved, e.g. "
        "\"id\" or \"en_US\")");
  }
}

json buildTemplate(json payload) {
  if (!payload.is_object()) {
    invalid(
        "payload_json: a template message's payload must be an object {\"name\", "
        "\"language\", \"components\"}");
  }
  checkLength("template.name", stringAt(payload, "name", "template.name"), limits::kTemplateName,
              true);
  checkLanguage(payload);
  auto components = payload.find("components");
  if (components == payload.end()) {
    return payload;
  }
  if (!components->is_array()) {
    invalid("template.components: must be an array");
  }
  for (std::size_t i = 0; i < components->size(); ++i) {
    const json& c = (*components)[i];
    std::string field = "template.components[" + str(i) + "]";
    if (!c.is_object()) {
      invalid(field + ": must be an object");
    }
    std::string type = stringAt(c, "type", field + ".type");
    if (type.empty()) {
      invalid(field + ".type: is required (header, body, button, ...)");
    }
    if (type == "button") {
      if (stringAt(c, "sub_type", field + ".sub_type").empty()) {
        invalid(field +
                ".sub_type: is required for a button component (quick_reply, url, "
                "copy_code, flow, ...)");
      }
      auto index = c.find("index");
      if (index == c.end() || !(index->is_number_integer() || index->is_string())) {
        invalid(field +
                ".index: is required for a button component (the button's position, "
                "from 0)");
      }
    }
    auto params = c.find("parameters");
    if (params == c.end()) {
      continue;
    }
    if (!params->is_array()) {
      invalid(field + ".parameters: must be an array");
    }
    for (std::size_t j = 0; j < params->size(); ++j) {
      const json& p = (*params)[j];
      std::string pfield = field + ".parameters[" + str(j) + "]";
      if (!p.is_object() || stringAt(p, "type", pfield + ".type").empty()) {
        invalid(pfield + ": must be an object with a \"type\"");
      }
      std::string ptype = p["type"].get<std::string>();
      if (ptype == "text" && !p.contains("text")) {
        invalid(pfield + ".text: is required for a text parameter");
      }
      if (ptype == "image" || ptype == "video" || ptype == "document") {
        checkMediaSource(requireObject(p, ptype.c_str(), pfield + "." + ptype),
                         pfield + "." + ptype);
      }
    }
  }
  return payload;
}

// header / body / footer of any interactive message.
void checkInteractiveCommon(json& inter, const std::string& type, const waflow::OutboundMessage& m,
                            bool body_required) {
  auto body = inter.find("body");
  if (body == inter.end() && !m.text.empty()) {
    inter["body"] = json{{"text", m.text}};
    body = inter.find("body");
  }
  if (body != inter.end()) {
    if (!body->is_object()) {
      invalid("interactive.body: must be an object {\"text\": ...}");
    }
    checkLength("interactive.body.text", stringAt(*body, "text", "interactive.body.text"),
                limits::kInteractiveBody, body_required);
  } else if (body_required) {
    invalid("interactive.body.text: is required for a '" + type + "' message");
  }
  auto footer = inter.find("footer");
  if (footer != inter.end()) {
    if (!footer->is_object()) {
      invalid("interactive.footer: must be an object {\"text\": ...}");
    }
    checkLength("interactive.footer.text", stringAt(*footer, "text", "interactive.footer.text"),
                limits::kInteractiveFooter, true);
  }
  auto header = inter.find("header");
  if (header == inter.end()) {
    return;
  }
  if (!header->is_object()) {
    invalid("interactive.header: must be an object {\"type\": \"text\", \"text\": ...}");
  }
  std::string htype = stringAt(*header, "type", "interactive.header.type");
  if (htype == "text") {
    checkLength("interactive.header.text", stringAt(*header, "text", "interactive.header.text"),
                limits::kInteractiveHeaderText, true);
  } else if (htype == "image" || htype == "video" || htype == "document") {
    if (type == "list") {
      invalid("interactive.header.type: a list message's header can only be text");
    }
    checkMediaSource(requireObject(*header, htype.c_str(), "interactive.header." + htype),
                     "interactive.header." + htype);
  } else {
    invalid("interactive.header.type: must be text, image, video or document, got '" + htype + "'");
  }
}

void checkReplyButtons(const json& inter) {
  const json& action = requireObject(inter, "action", "interactive.action");
  const json& buttons = requireArray(action, "buttons", "interactive.action.buttons");
  if (buttons.empty() || buttons.size() > limits::kReplyButtonsMax) {
    invalid("interactive.action.buttons: " + str(buttons.size()) +
            " buttons; reply buttons take 1 to " + str(limits::kReplyButtonsMax) +
            " (use a list message for more choices)");
  }
  std::set<std::string> ids;
  for (std::size_t i = 0; i < buttons.size(); ++i) {
    std::string field = "interactive.action.buttons[" + str(i) + "]";
    const json& b = buttons[i];
    if (!b.is_object()) {
      invalid(field + ": must be an object {\"type\":\"reply\",\"reply\":{\"id\",\"title\"}}");
    }
    std::string type = stringAt(b, "type", field + ".type");
    if (type != "reply") {
      invalid(field + ".type: must be \"reply\"");
    }
    const json& reply = requireObject(b, "reply", field + ".reply");
    std::string id = stringAt(reply, "id", field + ".reply.id");
    checkLength(field + ".reply.id", id, limits::kReplyButtonId, true);
    checkLength(field + ".reply.title", stringAt(reply, "title", field + ".reply.title"),
                limits::kReplyButtonTitle, true);
    if (!ids.insert(id).second) {
      invalid(field + ".reply.id: '" + id + "' is used by another button; ids must be unique");
    }
  }
}

void checkList(const json& inter) {
  const json& action = requireObject(inter, "action", "interactive.action");
  checkLength("interactive.action.button", stringAt(action, "button", "interactive.action.button"),
              limits::kListButton, true);
  const json& sections = requireArray(action, "sections", "interactive.action.sections");
  if (sections.empty() || sections.size() > limits::kListSectionsMax) {
    invalid("interactive.action.sections: " + str(sections.size()) +
            " sections; a list takes 1 "
            "to " +
            str(limits::kListSectionsMax));
  }
  std::size_t rows_total = 0;
  std::set<std::string> ids;
  for (std::size_t s = 0; s < sections.size(); ++s) {
    std::string sfield = "interactive.action.sections[" + str(s) + "]";
    const json& section = sections[s];
    if (!section.is_object()) {
      invalid(sfield + ": must be an object {\"title\", \"rows\"}");
    }
    std::string title = stringAt(section, "title", sfield + ".title");
    if (sections.size() > 1 && title.empty()) {
      invalid(sfield + ".title: is required when a list has more than one section");
    }
    checkLength(sfield + ".title", title, limits::kListSectionTitle, false);
    const json& rows = requireArray(section, "rows", sfield + ".rows");
    if (rows.empty()) {
      invalid(sfield + ".rows: a section needs at least one row");
    }
    for (std::size_t r = 0; r < rows.size(); ++r) {
      std::string rfield = sfield + ".rows[" + str(r) + "]";
      const json& row = rows[r];
      if (!row.is_object()) {
        invalid(rfield + ": must be an object {\"id\", \"title\", \"description\"?}");
      }
      std::string id = stringAt(row, "id", rfield + ".id");
      checkLength(rfield + ".id", id, limits::kListRowId, true);
      checkLength(rfield + ".title", stringAt(row, "title", rfield + ".title"),
                  limits::kListRowTitle, true);
      checkLength(rfield + ".description", stringAt(row, "description", rfield + ".description"),
                  limits::kListRowDescription, false);
      if (!ids.insert(id).second) {
        invalid(rfield + ".id: '" + id + "' is used by another row; row ids must be unique");
      }
    }
    rows_total += rows.size();
  }
  if (rows_total > limits::kListRowsMax) {
    invalid("interactive.action.sections: " + str(rows_total) +
            " rows in total, over Meta's limit of " + str(limits::kListRowsMax) +
            " across all sections");
  }
}

void checkCtaUrl(json& inter) {
  auto action = inter.find("action");
  if (action == inter.end() || !action->is_object()) {
    invalid(
        "interactive.action: is required and must be an object {\"name\":\"cta_url\", "
        "\"parameters\":{\"display_text\", \"url\"}}");
  }
  std::string name = stringAt(*action, "name", "interactive.action.name");
  if (name.empty()) {
    (*action)["name"] = "cta_url";
  } else if (name != "cta_url") {
    invalid("interactive.action.name: must be \"cta_url\", got '" + name + "'");
  }
  const json& params = requireObject(*action, "parameters", "interactive.action.parameters");
  checkLength("interactive.action.parameters.display_text",
              stringAt(params, "display_text", "interactive.action.parameters.display_text"),
              limits::kCtaDisplayText, true);
  std::string url = stringAt(params, "url", "interactive.action.parameters.url");
  if (!isHttpUrl(url)) {
    invalid("interactive.action.parameters.url: '" + url + "' must be an http:// or https:// URL");
  }
}

json buildInteractive(const waflow::OutboundMessage& m, json payload) {
  if (!payload.is_object()) {
    invalid(
        "payload_json: an interactive message's payload must be Meta's interactive object "
        "{\"type\", \"body\", \"action\", ...}");
  }
  std::string type = stringAt(payload, "type", "interactive.type");
  if (m.type != "interactive") {  // shorthand: the message type names the interactive type
    if (!type.empty() && type != m.type) {
      invalid("interactive.type: '" + type + "' contradicts the message type '" + m.type + "'");
    }
    type = m.type;
    payload["type"] = type;
  }
  if (type.empty()) {
    invalid("interactive.type: is required (button, list, cta_url, ...)");
  }
  bool known = type == "button" || type == "list" || type == "cta_url";
  checkInteractiveCommon(payload, type, m, known);
  if (type == "button") {
    checkReplyButtons(payload);
  } else if (type == "list") {
    checkList(payload);
  } else if (type == "cta_url") {
    checkCtaUrl(payload);
  }
  return payload;
}

// A latitude/longitude given as a JSON number or a numeric string, within ±range.
void checkCoordinate(const json& loc, const char* key, double range) {
  std::string field = std::string("location.") + key;
  auto it = loc.find(key);
  if (it == loc.end()) {
    invalid(field + ": is required");
  }
  double v = 0;
  if (it->is_number()) {
    v = it->get<double>();
  } else if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
      invalid(field + ": '" + s + "' is not a number");
    }
  } else {
    invalid(field + ": must be a number");
  }
  if (!std::isfinite(v) || v < -range || v > range) {
    invalid(field + ": " + std::to_string(v) + " is outside -" + std::to_string(int(range)) + ".." +
            std::to_string(int(range)));
  }
}

json buildLocation(json payload) {
  if (!payload.is_object()) {
    invalid(
        "payload_json: a location message's payload must be an object {\"latitude\", "
        "\"longitude\", \"name\"?, \"address\"?}");
  }
  checkCoordinate(payload, "latitude", 90);
  checkCoordinate(payload, "longitude", 180);
  stringAt(payload, "name", "location.name");
  stringAt(payload, "address", "location.address");
  return payload;
}

json buildContacts(json payload) {
  if (payload.is_object() && payload.contains("contacts")) {
    payload = payload["contacts"];
  }
  if (!payload.is_array() || payload.empty()) {
    invalid(
        "contacts: payload_json must be Meta's non-empty contacts array (or "
        "{\"contacts\":[...]})");
  }
  for (std::size_t i = 0; i < payload.size(); ++i) {
    std::string field = "contacts[" + str(i) + "]";
    if (!payload[i].is_object()) {
      invalid(field + ": must be an object {\"name\":{\"formatted_name\"}, \"phones\":[...]}");
    }
    const json& name = requireObject(payload[i], "name", field + ".name");
    if (stringAt(name, "formatted_name", field + ".name.formatted_name").empty()) {
      invalid(field + ".name.formatted_name: is required");
    }
  }
  return payload;
}

json buildReaction(const waflow::OutboundMessage& m, json payload) {
  if (!payload.is_object()) {
    invalid("payload_json: a reaction's payload must be an object {\"message_id\", \"emoji\"}");
  }
  if (stringAt(payload, "message_id", "reaction.message_id").empty()) {
    if (m.reply_to.empty()) {
      invalid(
          "reaction.message_id: is required (the wamid of the message to react to; "
          "reply_to is used when the payload has none)");
    }
    payload["message_id"] = m.reply_to;
  }
  if (!payload.contains("emoji")) {
    payload["emoji"] = m.text;  // empty: removes the reaction
  }
  stringAt(payload, "emoji", "reaction.emoji");
  return payload;
}

}  // namespace

std::size_t utf8Length(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

nlohmann::json buildSendBody(const waflow::OutboundMessage& m) {
  json body = {{"messaging_product", "whatsapp"}, {"recipient_type", "individual"}};
  setRecipient(body, m.to);
  json payload = parsePayload(m);

  if (payload.is_object()) {
    auto biz = payload.find("biz_opaque_callback_data");
    if (biz != payload.end()) {
      if (!biz->is_string()) {
        invalid("biz_opaque_callback_data: must be a string");
      }
      checkLength("biz_opaque_callback_data", biz->get<std::string>(),
                  limits::kBizOpaqueCallbackData, false);
      body["biz_opaque_callback_data"] = std::move(*biz);
      payload.erase(biz);
    }
  }
  // Without a value of the flow's own, the outbox id goes along: Meta echoes it in every status
  // of this message, so after a crash the daemon can tell that a send it was unsure about did
  // reach Meta. The id is stable across retries. One over Meta's limit is left out rather than
  // failing the send.
  if (!body.contains("biz_opaque_callback_data") && !m.id.empty() &&
      utf8Length(m.id) <= limits::kBizOpaqueCallbackData) {
    body["biz_opaque_callback_data"] = m.id;
  }

  const std::string& type = m.type;
  std::string wire_type = type;
  json object;
  if (type == "text") {
    object = buildText(m, std::move(payload));
  } else if (type == "image" || type == "video" || type == "document" || type == "audio" ||
             type == "sticker") {
    object = buildMedia(m, std::move(payload));
  } else if (type == "template") {
    object = buildTemplate(std::move(payload));
  } else if (type == "interactive" || type == "button" || type == "list" || type == "cta_url") {
    object = buildInteractive(m, std::move(payload));
    wire_type = "interactive";
  } else if (type == "location") {
    object = buildLocation(std::move(payload));
  } else if (type == "contacts") {
    object = buildContacts(std::move(payload));
  } else if (type == "reaction") {
    object = buildReaction(m, std::move(payload));
  } else if (type.empty()) {
    invalid(
        "type: is required (text, image, audio, video, document, sticker, template, "
        "interactive, location, contacts or reaction)");
  } else {
    throw waflow::Error(waflow::Rc::kUnsupported,
                        "type: the WhatsApp Cloud API channel cannot send '" + type +
                            "' messages; use text, image, audio, video, document, sticker, "
                            "template, interactive (button, list, cta_url), location, contacts "
                            "or reaction");
  }
  body["type"] = wire_type;
  body[wire_type] = std::move(object);
  if (!m.reply_to.empty() && type != "reaction") {
    body["context"] = json{{"message_id", m.reply_to}};
  }
  return body;
}

nlohmann::json buildMarkAsRead(std::string_view message_id, bool typing) {
  if (message_id.empty()) {
    invalid("message_id: is required to mark a message as read");
  }
  json body = {{"messaging_product", "whatsapp"},
               {"status", "read"},
               {"message_id", std::string(message_id)}};
  if (typing) {
    body["typing_indicator"] = json{{"type", "text"}};
  }
  return body;
}

waflow::Task<SendOutcome> postMessages(waflow::Host& host, const ChannelConfig& config,
                                       nlohmann::json body) {
  waflow::HttpRequest req;
  req.method = "POST";
  req.url = config.graphUrl(config.phone_number_id + "/messages");
  req.headers = {{"Authorization", "Bearer " + config.access_token},
                 {"Content-Type", "application/json"}};
  // Invalid UTF-8 from a flow must not throw here: it is replaced (U+FFFD), as Meta would reject
  // it.
  req.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  req.timeout = config.timeout;
  waflow::HttpResponse resp = co_await host.http(std::move(req));
  co_return classifySend(resp);
}

}  // namespace waflow::cloudapi
