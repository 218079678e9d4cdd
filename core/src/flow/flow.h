// The model of a flow file (docs/flows.md): a Flow with its Triggers, Conditions and Steps,
// each kind a struct in a std::variant, every node carrying its 1-based line and column in the
// file. Lua code found in the file (`{{ }}` in texts, `if:`, `lua:` conditions, ask rules, wait
// matches) is kept uncompiled as LuaSnippets with their exact position, for the Lua engine.
// Built by flow_loader.h. Plain values: immutable once loaded, safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "flow/cron.h"
#include "time/civil_time.h"

namespace waflow::core::flow {

// 1-based line and column (bytes) in the flow's file; 0 = unknown.
struct Position {
  int line = 0;
  int column = 0;
};

// A piece of Lua code written in a flow file, not yet compiled.
struct LuaSnippet {
  enum class Kind {
    kExpression,  // a whole value: if:, a lua: condition, ask rule:, wait match:
    kTemplate,    // the inside of {{ ... }} in a text
  };
  Kind kind = Kind::kExpression;
  std::string code;  // the expression itself, without {{ }} and surrounding spaces
  std::string file;
  int line = 0;       // where `code` starts in the file (1-based)
  int column = 0;     // in bytes of that line (1-based)
  std::string where;  // what it belongs to, for messages: "flow 'x', step 'ask_name', if"
};

// A text that may contain {{ expressions }} and {spin|tax}; the engine renders it.
struct Text {
  std::string value;
  Position pos;
  std::vector<LuaSnippet> expressions;  // the {{ }} parts, in order

  bool empty() const { return value.empty(); }
  bool isTemplate() const { return !expressions.empty(); }
};

enum class Mode { kSingle, kRestart, kQueued, kParallel };
std::string_view modeName(Mode mode);

// ---- Triggers ------------------------------------------------------------------------------

struct MessageReceivedTrigger {
  std::vector<std::string> channels;  // empty = any channel
  std::string message_type;           // "" = any type
  std::vector<std::string> keywords;  // any one matches (normalised matching)
  std::string regex;                  // "" = none; RE2 syntax, case-insensitive, searched
  std::vector<std::string> reply_ids;
  bool first_message = false;
};

struct MessageStatusTrigger {
  std::vector<std::string> channels;
  std::string status;  // sent | delivered | read | failed
};

struct ScheduleTrigger {
  std::string cron_text;              // "" when `at` is used
  std::optional<CronSchedule> cron;   // parsed cron_text
  std::optional<time::CivilTime> at;  // a one-off local date and time
  std::string tz;                     // IANA zone name, checked to exist
  std::string tag;                    // "" = run once, with no contact
};

struct ContactIdleTrigger {
  std::vector<std::string> channels;
  int64_t after_ms = 0;
};

struct EventTrigger {
  std::string name;
};

struct Trigger {
  std::string id;    // "" when not given
  Position pos;      // the list item
  std::string kind;  // the `on:` value, e.g. "message.received"
  std::variant<MessageReceivedTrigger, MessageStatusTrigger, ScheduleTrigger, ContactIdleTrigger,
               EventTrigger>
      spec;
};

// ---- Conditions ----------------------------------------------------------------------------

struct KeywordsCondition {
  std::vector<std::string> any;  // at least one present (when not empty)
  std::vector<std::string> all;  // every one present
};

struct RegexCondition {
  std::string pattern;  // RE2 syntax, case-insensitive, searched in the message text
};

struct Holiday {
  int year = 0;  // 0 = every year
  int month = 1;
  int day = 1;
};

struct BusinessHoursCondition {
  uint8_t days = 0;     // bit d set for open weekdays, 0 = Sunday .. 6 = Saturday
  int from_minute = 0;  // minutes after midnight, 0..1439
  int to_minute = 0;    // 1..1440; <= from_minute means the hours cross midnight
  std::string tz;
  std::vector<Holiday> holidays;
  bool when_open = true;  // false: the condition passes outside business hours
};

struct ContactCondition {
  std::vector<std::string> tags;                                   // all present
  std::vector<std::string> not_tags;                               // none present
  std::vector<std::string> has;                                    // attributes set
  std::vector<std::string> missing;                                // attributes not set
  std::vector<std::pair<std::string, nlohmann::json>> attributes;  // exact values
};

struct ConversationCondition {
  std::optional<bool> in_handoff;
  std::optional<bool> in_flow;  // inside any multi-step flow (or not)
  std::string in_flow_id;       // inside this particular flow ("" = see in_flow)
};

struct LuaCondition {
  LuaSnippet expression;
};

struct Condition {
  Position pos;
  std::string kind;  // "keywords", "regex", "business_hours", "contact", "conversation", "lua"
  std::variant<KeywordsCondition, RegexCondition, BusinessHoursCondition, ContactCondition,
               ConversationCondition, LuaCondition>
      spec;
};

// ---- Steps ---------------------------------------------------------------------------------

struct Button {
  std::string id;
  std::string title;
};

struct ListRow {
  std::string id;
  std::string title;
  std::string description;
};

struct ListSection {
  std::string title;
  std::vector<ListRow> rows;
};

struct ListMessage {
  std::string button;
  std::vector<ListSection> sections;
};

struct Media {
  std::string type;  // image | video | audio | document | sticker
  Text url;
  Text caption;
  std::string filename;
};

struct TemplateMessage {
  std::string name;
  std::string language = "id";
  std::vector<Text> params;
};

struct ReplyStep {
  static constexpr std::string_view kKind = "reply";
  Text text;
  Text header;
  Text footer;
  std::optional<Media> media;
  std::vector<Button> buttons;
  std::optional<ListMessage> list;
  std::optional<TemplateMessage> template_message;
};

// What an ai step does when no provider answers, or (grounded) the knowledge base has nothing.
struct AiFallback {
  Text reply;            // sent to the contact; empty = none
  bool handoff = false;  // hand the conversation to a human
  Text note;             // the handoff's note for the agent
};

// One field of a classification: what the model must return for it.
struct ClassifyField {
  std::string name;
  std::string type = "string";      // string | number | integer | boolean
  std::vector<std::string> values;  // allowed values (an enum), empty = any
  std::string description;
};

// A function the AI may call while it answers: a Lua function from scripts/ that gets the
// arguments the model chose as a table and returns what the model is told.
struct AiTool {
  std::string name;                       // as the model sees it
  std::string description;                // when to use it, for the model
  std::vector<ClassifyField> parameters;  // all required
  std::string function;                   // the Lua function; default: name
  Position pos;
};

struct AiStep {
  static constexpr std::string_view kKind = "ai";
  std::vector<std::string> providers;  // tried in order; empty = the default AI instance
  Text prompt;                         // empty = the contact's message(s)
  Text system;
  int history = 10;        // earlier messages of the conversation given to the model
  int history_tokens = 0;  // and at most about this many tokens of them; 0 = no budget
  std::vector<std::string> contact_attributes;  // contact fields given to the model
  int64_t debounce_ms = 0;             // wait this long for more messages and answer them together
  std::vector<std::string> knowledge;  // knowledge bases to search
  int passages = 3;                    // how many passages to give the model
  bool grounded = false;               // answer only from the knowledge base
  int recall = 0;      // earlier messages of this contact found by relevance, beyond `history`
  bool typing = true;  // show the typing indicator while the answer is made
  std::vector<AiTool> tools;  // functions the AI may call before it answers
  std::optional<AiFallback> fallback;
  bool reply = true;
  std::optional<int> max_tokens;
  std::optional<double> temperature;
};

// sentiment (positive, neutral, negative), lead (hot, warm, cold), intent and product: what a
// classify step without categories or fields asks for.
std::vector<ClassifyField> defaultClassifyFields();

struct ClassifyStep {
  static constexpr std::string_view kKind = "classify";
  std::vector<std::string> providers;  // tried in order; empty = the default AI instance
  Text text;                           // empty = the contact's message
  std::vector<std::pair<std::string, std::string>> categories;  // name, description ("" = none)
  std::vector<ClassifyField> fields;  // the schema form; empty with no categories = defaults
  int history = 0;                    // earlier messages given as context
  std::string insight;                // insight kind stored; "" = do not store
  bool save_to_contact = false;       // also store the fields on the contact
  bool background = false;            // do not wait for the answer
};

struct Assignment {
  std::string attribute;
  nlohmann::json value;  // a string, number or boolean
  Text text;             // for strings: the value as a template
};

struct SetStep {
  static constexpr std::string_view kKind = "set";
  std::vector<Assignment> values;
};

struct TagStep {
  static constexpr std::string_view kKind = "tag";
  std::vector<std::string> tags;
};

struct UntagStep {
  static constexpr std::string_view kKind = "untag";
  std::vector<std::string> tags;
};

struct HandoffStep {
  static constexpr std::string_view kKind = "handoff";
  Text note;
  std::string team;
  int64_t release_after_ms = 0;  // 0 = flows.handoff_release_after
};

struct ReleaseStep {
  static constexpr std::string_view kKind = "release";
  Text note;
};

enum class AnswerKind { kText, kName, kNumber, kDate, kEmail, kPhone, kRegex, kLua };
std::string_view answerKindName(AnswerKind kind);

struct AskStep {
  static constexpr std::string_view kKind = "ask";
  Text question;
  std::vector<Button> buttons;
  AnswerKind validate = AnswerKind::kText;
  std::optional<double> min;
  std::optional<double> max;
  std::string pattern;             // validate: regex
  std::optional<LuaSnippet> rule;  // validate: lua (reads `answer`)
  int retries = 2;
  Text reask;           // empty = a default explanation plus the question
  std::string save_as;  // contact attribute, "" = none
};

struct DelayStep {
  static constexpr std::string_view kKind = "delay";
  int64_t duration_ms = 0;
};

struct WaitStep {
  static constexpr std::string_view kKind = "wait";
  std::string event;
  std::optional<LuaSnippet> match;
};

struct ScheduleStep {
  static constexpr std::string_view kKind = "schedule";
  std::optional<int64_t> after_ms;
  Text at;           // a local date-time, or a template producing one
  std::string tz;    // for `at`
  Text reply;        // what to send then, or
  std::string flow;  // the flow to run then
  bool cancel_on_reply = false;
};

struct HttpStep {
  static constexpr std::string_view kKind = "http";
  std::string method = "GET";
  Text url;
  std::vector<std::pair<std::string, Text>> headers;
  // null: no body; a string: sent as is (see body_text); an object or array: sent as JSON, its
  // strings rendered as templates.
  nlohmann::json body;
  Text body_text;
};

struct EmitStep {
  static constexpr std::string_view kKind = "emit";
  std::string event;
  nlohmann::json data = nlohmann::json::object();  // strings are templates
};

struct LuaStep {
  static constexpr std::string_view kKind = "lua";
  std::string function;
  nlohmann::json args = nlohmann::json::object();  // strings are templates
};

struct CallStep {
  static constexpr std::string_view kKind = "call";
  std::string flow;
  nlohmann::json with = nlohmann::json::object();  // strings are templates
};

struct GotoStep {
  static constexpr std::string_view kKind = "goto";
  std::string flow;
};

struct StopStep {
  static constexpr std::string_view kKind = "stop";
  std::string reason;
};

enum class OnErrorAction { kStop, kContinue, kGoto };

struct OnError {
  OnErrorAction action = OnErrorAction::kStop;
  std::string step;  // for kGoto: the target step's id
  Position pos;
};

struct Retry {
  int attempts = 0;           // extra attempts after the first
  int64_t backoff_ms = 1000;  // before the first retry; doubles each time
};

using StepSpec = std::variant<ReplyStep, AiStep, ClassifyStep, SetStep, TagStep, UntagStep,
                              HandoffStep, ReleaseStep, AskStep, DelayStep, WaitStep, ScheduleStep,
                              HttpStep, EmitStep, LuaStep, CallStep, GotoStep, StopStep>;

// StepSpec is the one list of step kinds: each alternative names its key in `kKind`, and
// everything else (stepKinds(), the engine's dispatch, the schema test) is derived from it.

// The step kind keys, in StepSpec's order: "reply", "ai", ..., "stop".
const std::vector<std::string>& stepKinds();

// The key of the kind `spec` holds ("reply" for a ReplyStep).
std::string_view stepKindOf(const StepSpec& spec);

struct Step {
  std::string id;  // "" when not given
  std::string name;
  Position pos;      // the list item
  std::string kind;  // "reply", "ask", ... (see stepKinds())
  std::optional<LuaSnippet> if_expression;
  OnError on_error;
  std::optional<int64_t> timeout_ms;
  Retry retry;
  StepSpec spec;

  // How messages name the step: "'ask_name'" or "#3 (reply)" (1-based) when it has no id.
  std::string label(size_t index) const;
};

struct Flow {
  std::string file;
  Position pos;  // the first key of the file
  std::string id;
  std::string name;
  std::string description;
  Mode mode = Mode::kSingle;
  int max = 10;
  int priority = 0;
  std::vector<Trigger> triggers;
  std::vector<Condition> conditions;
  std::vector<Step> steps;
  // Every Lua snippet of the flow, in file order (the same ones the nodes above hold).
  std::vector<LuaSnippet> snippets;

  // The step with this id, or nullptr.
  const Step* findStep(std::string_view step_id) const;
};

// Precedence between flows matching the same incoming message (docs/flows.md#priority): the
// higher priority first; equal priorities by id, alphabetically. A strict weak order.
bool runsBefore(const Flow& a, const Flow& b);

}  // namespace waflow::core::flow
