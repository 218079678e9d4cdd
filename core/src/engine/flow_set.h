// FlowSet: one loaded version of flows_dir and scripts_dir — the validated flows in the order
// they take precedence, the matchers their triggers and conditions use (keyword matchers and
// regexes, built once), and the Lua scripts with the functions each defines. A reload builds a
// new FlowSet; runs keep the one they started with until they suspend.
//
// Thread-safety: immutable once loadFlowSet() returns; share it through shared_ptr.
#pragma once

#include "config/config.h"
#include "diag/diagnostic.h"
#include "engine/fast_rule.h"
#include "engine/reply_message.h"
#include "flow/flow.h"
#include "regex/user_regex.h"
#include "text/normalize.h"
#include "time/business_hours.h"
#include "time/time_zone.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace waflow::core::engine {

// A scripts/*.lua file: `name` is its stem, the name rule errors use.
struct ScriptSource {
  std::string name;
  std::string file;
  std::string text;
};

// What matching a flow's triggers and conditions needs, prepared once per flow.
struct FlowMatchers {
  std::vector<std::optional<text::KeywordMatcher>> trigger_keywords;     // one per trigger
  std::vector<std::shared_ptr<const regex::UserRegex>> trigger_regex;    // one per trigger
  std::vector<std::optional<text::KeywordMatcher>> condition_any;        // one per condition
  std::vector<std::vector<text::KeywordMatcher>> condition_all;          // one matcher per word
  std::vector<std::shared_ptr<const regex::UserRegex>> condition_regex;  // one per condition
  // `business_hours` conditions as the schedule the Lua helper uses too, with their zone.
  std::vector<std::optional<time::BusinessHours>> condition_hours;  // one per condition
  std::vector<const time::TimeZone*> condition_zone;                // one per condition

  // Whether the regex of trigger / condition `index` is found in `text`; false when it has
  // none. Linear in the text's length whatever the pattern (regex/user_regex.h).
  bool triggerRegexFound(size_t index, std::string_view text) const {
    return trigger_regex[index] != nullptr && trigger_regex[index]->search(text);
  }
  bool conditionRegexFound(size_t index, std::string_view text) const {
    return condition_regex[index] != nullptr && condition_regex[index]->search(text);
  }
};

class FlowSet {
 public:
  uint64_t version = 0;
  std::vector<flow::Flow> flows;       // in precedence order (flow::runsBefore)
  std::vector<FlowMatchers> matchers;  // matchers[i] belongs to flows[i]
  std::vector<ScriptSource> scripts;
  std::map<std::string, size_t, std::less<>> function_script;  // function -> scripts index
  // Names of the events flows listen for: `on: event` triggers and `wait` steps.
  std::set<std::string, std::less<>> event_names;
  // Steps' `if:` expressions of the shapes FastRule answers without Lua, by snippet.
  std::unordered_map<const flow::LuaSnippet*, FastRule> fast_rules;
  // Steps' `if:` expressions that read none of message, contact, conversation, steps,
  // trigger, inputs, event, status or answer.
  std::set<const flow::LuaSnippet*> context_free;
  // Replies that are the same message every time, built once.
  std::unordered_map<const flow::ReplyStep*, OutgoingReply> fixed_replies;
  // Some `schedule` step plans follow-ups that a reply cancels.
  bool followups_cancel_on_reply = false;
  bool has_status_triggers = false;  // some flow starts on message.status
  bool has_idle_triggers = false;    // some flow starts on contact.idle

  // The flow with this id, or nullptr; its index in flows when `index` is given.
  const flow::Flow* find(std::string_view id, size_t* index = nullptr) const;
  bool hasTrigger(std::string_view kind) const;
};

struct FlowSetLoad {
  std::shared_ptr<const FlowSet> set;  // null when there are errors
  std::vector<diag::Diagnostic> diagnostics;
  size_t flow_count = 0;             // flow definitions read
  size_t script_count = 0;           // script files read
  std::vector<std::string> secrets;  // found in flow files, also when there are errors
};

// Loads every script in config.scripts_dir (compiled and run once in a sandbox) and every flow
// in config.flows_dir, validated against the config's channels and AI instances and the
// scripts' functions, with each Lua snippet compiled where it stands in its file. A missing
// directory is not an error. `version` numbers the set for logs and per-thread caches.
FlowSetLoad loadFlowSet(const config::Config& config, uint64_t version = 1);

// A digest of the modification times and sizes, and the count, of the .yaml/.yml/.lua files in
// the two directories: a cheap fingerprint for noticing edits.
std::pair<int64_t, size_t> rulesFingerprint(const config::Config& config);

}  // namespace waflow::core::engine
