// Loading the messaging steps: reply (text, media, buttons, lists, templates, and which of them
// WhatsApp accepts together) and ask (a question, its buttons and how its answer is validated).
//
// Thread-safety: see step_loaders.h.
#include <map>
#include <set>

#include "flow/load/steps/step_loaders.h"

namespace waflow::core::flow::load {
namespace {

void checkButtons(LoadContext& ctx, const YAML::Node& node, const std::vector<Button>& buttons,
                  std::string_view anchor) {
  std::set<std::string> ids;
  for (size_t i = 0; i < buttons.size(); ++i) {
    if (!ids.insert(buttons[i].id).second) {
      const YAML::Node item = node.IsSequence() && i < node.size() ? node[i] : node;
      ctx.reportAt(child(item, "id").IsDefined() ? child(item, "id") : item, "flow-ids",
                   "two buttons have the id " + quote(buttons[i].id),
                   "give each button its own id: the flow tells them apart by it", anchor);
    }
  }
}

// The buttons of a reply or an ask; their ids must differ (both link to step-reply).
std::vector<Button> loadButtons(LoadContext& ctx, const YAML::Node& node, const json& value) {
  std::vector<Button> buttons;
  if (!value.is_array()) {
    return buttons;
  }
  for (const json& item : value) {
    buttons.push_back({str(item, "id"), str(item, "title")});
  }
  checkButtons(ctx, node, buttons, "step-reply");
  return buttons;
}

Media loadMedia(LoadContext& ctx, const YAML::Node& media_node, const json& value,
                const std::string& where) {
  Media media;
  media.type = str(value, "type");
  if (value.contains("url")) {
    media.url = ctx.makeText(child(media_node, "url"), value["url"], where + ".media.url");
  }
  if (value.contains("caption")) {
    media.caption =
        ctx.makeText(child(media_node, "caption"), value["caption"], where + ".media.caption");
  }
  media.filename = str(value, "filename");
  return media;
}

// list: its sections and rows; row ids unique, at most 10 rows, titles when several sections.
ListMessage loadList(LoadContext& ctx, const YAML::Node& node, const json& list,
                     const std::string& where, const std::string& anchor) {
  ListMessage message;
  message.button = str(list, "button");
  std::set<std::string> row_ids;
  size_t rows = 0;
  const YAML::Node sections_node = child(child(node, "list"), "sections");
  for (size_t s = 0; list.contains("sections") && s < list["sections"].size(); ++s) {
    const json& section = list["sections"][s];
    ListSection out;
    out.title = str(section, "title");
    const YAML::Node section_node =
        sections_node.IsSequence() && s < sections_node.size() ? sections_node[s] : YAML::Node();
    const YAML::Node rows_node = child(section_node, "rows");
    for (size_t r = 0; section.contains("rows") && r < section["rows"].size(); ++r) {
      const json& row = section["rows"][r];
      out.rows.push_back({str(row, "id"), str(row, "title"), str(row, "description")});
      const YAML::Node row_node =
          rows_node.IsSequence() && r < rows_node.size() ? rows_node[r] : rows_node;
      if (!row_ids.insert(str(row, "id")).second) {
        ctx.reportAt(child(row_node, "id"), "flow-ids",
                     where + ".list: two rows have the id " + quote(str(row, "id")),
                     "give each row its own id", anchor);
      }
      if (++rows == 11) {
        ctx.reportAt(row_node, "flow-value", where + ".list: more than 10 rows",
                     "WhatsApp shows at most 10 rows in a list message, over all sections", anchor);
      }
    }
    if (list["sections"].size() > 1 && out.title.empty()) {
      ctx.reportAt(section_node, "flow-value",
                   where + ".list.sections[" + std::to_string(s) + "]: needs a title",
                   "when a list has several sections, each one needs a title", anchor);
    }
    message.sections.push_back(std::move(out));
  }
  return message;
}

TemplateMessage loadTemplateMessage(LoadContext& ctx, const YAML::Node& node, const json& value,
                                    const std::string& where) {
  TemplateMessage message;
  message.name = str(value, "name");
  message.language = value.value("language", std::string("id"));
  const YAML::Node params = child(child(node, "template"), "params");
  if (value.contains("params")) {
    const json& list = value["params"];
    for (size_t i = 0; i < list.size(); ++i) {
      message.params.push_back(
          ctx.makeText(params.IsSequence() && i < params.size() ? params[i] : params, list[i],
                       where + ".template.params[" + std::to_string(i) + "]"));
    }
  }
  return message;
}

// What WhatsApp accepts together.
void checkReplyParts(LoadContext& ctx, const StepInput& in, const ReplyStep& reply) {
  const auto& [node, value, where, anchor] = in;
  if (reply.template_message &&
      (value.contains("text") || reply.media || !reply.buttons.empty() || reply.list)) {
    ctx.reportAt(keyNode(node, "template"), "flow-value",
                 where + ": a template message cannot have text, media, buttons or list beside it",
                 "the template's own content is sent; put values in params", anchor);
  } else if (!reply.template_message && !value.contains("text") && !reply.media &&
             reply.buttons.empty() && !reply.list) {
    ctx.reportAt(node, "flow-value", where + ": needs text, media or template",
                 "e.g. reply: { text: \"Halo!\" }", anchor);
  }
  if (!reply.buttons.empty() && reply.list) {
    ctx.reportAt(keyNode(node, "list"), "flow-value",
                 where + ": buttons and list cannot be combined",
                 "use buttons for up to 3 choices, a list for up to 10", anchor);
  }
  if ((!reply.buttons.empty() || reply.list) && !value.contains("text")) {
    ctx.reportAt(keyNode(node, reply.list ? "list" : "buttons"), "flow-value",
                 where + ": a " + (reply.list ? std::string("list") : std::string("buttons")) +
                     " message needs text",
                 "add text: the message shown above the " +
                     (reply.list ? std::string("list button") : std::string("buttons")),
                 anchor);
  }
  if (reply.media && (!reply.buttons.empty() || reply.list)) {
    ctx.reportAt(keyNode(node, "media"), "flow-value",
                 where + ": media cannot be combined with buttons or list",
                 "send the media in its own reply step first", anchor);
  }
  if ((value.contains("header") || value.contains("footer")) && reply.buttons.empty() &&
      !reply.list) {
    ctx.reportAt(keyNode(node, value.contains("header") ? "header" : "footer"), "flow-value",
                 where + ": header and footer only apply to buttons and list messages",
                 "put the line into text instead", anchor, diag::Severity::kWarning);
  }
}

// ask's min and max (validate: number) and pattern (validate: regex).
void loadAnswerLimits(LoadContext& ctx, const StepInput& in, AskStep& step) {
  const auto& [node, value, where, anchor] = in;
  if (value.contains("min") && value["min"].is_number()) {
    step.min = value["min"].get<double>();
  }
  if (value.contains("max") && value["max"].is_number()) {
    step.max = value["max"].get<double>();
  }
  if ((step.min || step.max) && step.validate != AnswerKind::kNumber) {
    ctx.reportAt(keyNode(node, step.min ? "min" : "max"), "flow-value",
                 where + ": min and max only apply to validate: number",
                 "add validate: number, or remove them", anchor);
  }
  if (step.min && step.max && *step.min > *step.max) {
    ctx.reportAt(child(node, "min"), "flow-value", where + ": min is larger than max", "", anchor);
  }
  step.pattern = str(value, "pattern");
  if (step.validate == AnswerKind::kRegex && step.pattern.empty()) {
    ctx.reportAt(child(node, "validate"), "flow-value", where + ": validate: regex needs pattern",
                 "e.g. pattern: \"^[0-9]{5}$\" for a postcode", anchor);
  } else if (step.validate != AnswerKind::kRegex && value.contains("pattern")) {
    ctx.reportAt(keyNode(node, "pattern"), "flow-value",
                 where + ": pattern only applies to validate: regex", "", anchor);
  }
  if (!step.pattern.empty()) {
    ctx.checkRegex(child(node, "pattern"), step.pattern, where + ".pattern", "regex");
  }
}

// ask's rule (validate: lua), a Lua expression.
void loadAnswerRule(LoadContext& ctx, const StepInput& in, AskStep& step) {
  const auto& [node, value, where, anchor] = in;
  if (value.contains("rule") && value["rule"].is_string()) {
    step.rule = ctx.makeExpression(child(node, "rule"), value["rule"], where + ".rule");
    if (step.validate != AnswerKind::kLua) {
      ctx.reportAt(keyNode(node, "rule"), "flow-value",
                   where + ": rule only applies to validate: lua", "", anchor);
    }
  } else if (step.validate == AnswerKind::kLua) {
    ctx.reportAt(child(node, "validate"), "flow-value", where + ": validate: lua needs rule",
                 "e.g. rule: \"#answer == 5\"", anchor);
  }
}

}  // namespace

ReplyStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<ReplyStep>) {
  const auto& [node, value, where, anchor] = in;
  ReplyStep reply;
  if (value.is_string()) {
    reply.text = ctx.makeText(node, value, where);
    if (reply.text.empty()) {
      ctx.reportAt(node, "flow-value", where + ": the reply text is empty", "", anchor);
    }
    return reply;
  }
  if (!value.is_object()) {
    return reply;
  }
  if (value.contains("text")) {
    reply.text = ctx.makeText(child(node, "text"), value["text"], where + ".text");
  }
  if (value.contains("header")) {
    reply.header = ctx.makeText(child(node, "header"), value["header"], where + ".header");
  }
  if (value.contains("footer")) {
    reply.footer = ctx.makeText(child(node, "footer"), value["footer"], where + ".footer");
  }
  if (value.contains("media") && value["media"].is_object()) {
    reply.media = loadMedia(ctx, child(node, "media"), value["media"], where);
  }
  if (value.contains("buttons")) {
    reply.buttons = loadButtons(ctx, child(node, "buttons"), value["buttons"]);
  }
  if (value.contains("list") && value["list"].is_object()) {
    reply.list = loadList(ctx, node, value["list"], where, anchor);
  }
  if (value.contains("template") && value["template"].is_object()) {
    reply.template_message = loadTemplateMessage(ctx, node, value["template"], where);
  }
  checkReplyParts(ctx, in, reply);
  return reply;
}

AskStep loadSpec(LoadContext& ctx, const StepInput& in, std::type_identity<AskStep>) {
  const auto& [node, value, where, anchor] = in;
  AskStep step;
  if (!value.is_object()) {
    return step;
  }
  if (value.contains("question")) {
    step.question = ctx.makeText(child(node, "question"), value["question"], where + ".question");
  }
  if (value.contains("buttons")) {
    step.buttons = loadButtons(ctx, child(node, "buttons"), value["buttons"]);
  }
  const std::string validate = value.value("validate", std::string("text"));
  static const std::map<std::string, AnswerKind> kKinds = {
      {"text", AnswerKind::kText},   {"name", AnswerKind::kName},   {"number", AnswerKind::kNumber},
      {"date", AnswerKind::kDate},   {"email", AnswerKind::kEmail}, {"phone", AnswerKind::kPhone},
      {"regex", AnswerKind::kRegex}, {"lua", AnswerKind::kLua}};
  if (auto it = kKinds.find(validate); it != kKinds.end()) {
    step.validate = it->second;
  }
  loadAnswerLimits(ctx, in, step);
  loadAnswerRule(ctx, in, step);
  step.retries = value.value("retries", 2);
  if (value.contains("reask")) {
    step.reask = ctx.makeText(child(node, "reask"), value["reask"], where + ".reask");
  }
  step.save_as = str(value, "save_as");
  return step;
}

}  // namespace waflow::core::flow::load
