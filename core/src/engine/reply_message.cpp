#include "engine/reply_message.h"

namespace waflow::core::engine {
namespace {

using Json = nlohmann::json;

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// No {{ }} and no '{' at all: spintax could be anywhere a brace is.
bool fixedText(const flow::Text& text) {
  return !text.isTemplate() && text.value.find('{') == std::string::npos;
}

}  // namespace

Json interactivePayload(const flow::ReplyStep& r, const std::string& body,
                        const std::string& header, const std::string& footer) {
  Json i = {{"body", {{"text", body}}}};
  if (!header.empty()) {
    i["header"] = {{"type", "text"}, {"text", header}};
  }
  if (!footer.empty()) {
    i["footer"] = {{"text", footer}};
  }
  if (!r.buttons.empty()) {
    i["type"] = "button";
    Json buttons = Json::array();
    for (const auto& b : r.buttons) {
      buttons.push_back({{"type", "reply"}, {"reply", {{"id", b.id}, {"title", b.title}}}});
    }
    i["action"] = {{"buttons", buttons}};
    return i;
  }
  i["type"] = "list";
  Json sections = Json::array();
  if (r.list) {
    for (const auto& s : r.list->sections) {
      Json rows = Json::array();
      for (const auto& row : s.rows) {
        Json jr = {{"id", row.id}, {"title", row.title}};
        if (!row.description.empty()) {
          jr["description"] = row.description;
        }
        rows.push_back(std::move(jr));
      }
      Json js = {{"rows", rows}};
      if (!s.title.empty()) {
        js["title"] = s.title;
      }
      sections.push_back(std::move(js));
    }
    i["action"] = {{"button", r.list->button}, {"sections", sections}};
  }
  return i;
}

OutgoingReply buildReply(const flow::ReplyStep& r, const ReplyTexts& t) {
  if (r.template_message) {
    Json params = Json::array();
    for (const auto& p : t.params) {
      params.push_back({{"type", "text"}, {"text", p}});
    }
    Json payload = {{"name", r.template_message->name},
                    {"language", {{"code", r.template_message->language}}}};
    if (!params.empty()) {
      payload["components"] = Json::array({{{"type", "body"}, {"parameters", params}}});
    }
    return {"template", "", dump(payload)};
  }
  if (r.media) {
    // WhatsApp shows one text under a picture: the caption, else the reply's text.
    const std::string& caption = t.caption.empty() ? t.text : t.caption;
    Json payload = Json::object();
    payload[t.url.starts_with("http://") || t.url.starts_with("https://") ? "link" : "path"] =
        t.url;
    if (!caption.empty() && r.media->type != "audio" && r.media->type != "sticker") {
      payload["caption"] = caption;
    }
    if (!r.media->filename.empty()) {
      payload["filename"] = r.media->filename;
    }
    return {r.media->type, "", dump(payload)};
  }
  if (!r.buttons.empty() || r.list) {
    return {"interactive", t.text, dump(interactivePayload(r, t.text, t.header, t.footer))};
  }
  return {"text", t.text, ""};
}

bool isFixedReply(const flow::ReplyStep& r) {
  if (!fixedText(r.text) || !fixedText(r.header) || !fixedText(r.footer)) {
    return false;
  }
  if (r.media && (!fixedText(r.media->url) || !fixedText(r.media->caption))) {
    return false;
  }
  if (r.template_message) {
    for (const auto& p : r.template_message->params) {
      if (!fixedText(p)) {
        return false;
      }
    }
  }
  return true;
}

OutgoingReply fixedReply(const flow::ReplyStep& r) {
  ReplyTexts t;
  t.text = r.text.value;
  t.header = r.header.value;
  t.footer = r.footer.value;
  if (r.media) {
    t.url = r.media->url.value;
    t.caption = r.media->caption.value;
  }
  if (r.template_message) {
    for (const auto& p : r.template_message->params) {
      t.params.push_back(p.value);
    }
  }
  return buildReply(r, t);
}

}  // namespace waflow::core::engine
