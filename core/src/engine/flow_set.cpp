#include "engine/flow_set.h"

#include "flow/flow_loader.h"
#include "lua/sandbox.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace waflow::core::engine {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> filesWithExtension(const std::string& dir,
                                         std::initializer_list<std::string_view> extensions) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string ext = entry.path().extension().string();
    if (entry.is_regular_file(ec) && !entry.path().filename().string().starts_with(".") &&
        std::find(extensions.begin(), extensions.end(), ext) != extensions.end()) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A flow's pattern, checked when the flow loaded: null only if that check was bypassed, and
// then the trigger or condition never matches.
std::shared_ptr<const regex::UserRegex> searchRegex(const std::string& pattern) {
  return regex::UserRegex::compile(pattern, regex::Case::kInsensitive, nullptr);
}

// Whether Lua `code` may read one of the context tables a flow run provides: any of their
// names as a word outside string literals (`_G` and `_ENV` can reach them too). Erring towards
// true only costs building the context.
bool readsContext(std::string_view code) {
  static const std::set<std::string_view> kNames = {"message", "contact", "conversation", "steps",
                                                    "trigger", "inputs",  "event",        "status",
                                                    "answer",  "_G",      "_ENV"};
  size_t i = 0;
  while (i < code.size()) {
    char c = code[i];
    if (c == '\'' || c == '"') {
      for (++i; i < code.size() && code[i] != c; ++i) {
        i += code[i] == '\\' ? 1 : 0;
      }
      ++i;
      continue;
    }
    if (c == '[' && i + 1 < code.size() && (code[i + 1] == '[' || code[i + 1] == '=')) {
      return true;  // a long string: not worth parsing here
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = i;
      while (i < code.size() &&
             (std::isalnum(static_cast<unsigned char>(code[i])) || code[i] == '_')) {
        ++i;
      }
      bool field = start > 0 && code[start - 1] == '.';  // x.message is not the global
      if (!field && kNames.count(code.substr(start, i - start)) != 0) {
        return true;
      }
      continue;
    }
    ++i;
  }
  return false;
}

std::string clock(int minutes) {
  return fmt::format("{:02}:{:02}", minutes / 60, minutes % 60);
}

// A `business_hours` condition (checked when the flow loaded) as time::BusinessHours, the
// schedule `time.in_business_hours` uses, so both read hours and holidays the same way.
std::optional<time::BusinessHours> businessHours(const flow::BusinessHoursCondition& c) {
  static const char* const kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  nlohmann::json spec = {{"tz", c.tz}};
  for (int day = 0; day < 7; ++day) {
    spec[kDays[day]] = (c.days & (1u << day)) != 0 ? clock(c.from_minute) + "-" + clock(c.to_minute)
                                                   : std::string("closed");
  }
  nlohmann::json holidays = nlohmann::json::array();
  for (const auto& h : c.holidays) {
    holidays.push_back(h.year == 0 ? fmt::format("{:02}-{:02}", h.month, h.day)
                                   : fmt::format("{:04}-{:02}-{:02}", h.year, h.month, h.day));
  }
  spec["holidays"] = std::move(holidays);
  std::string error;
  return time::BusinessHours::parse(spec, &error);
}

FlowMatchers buildMatchers(const flow::Flow& f) {
  FlowMatchers m;
  for (const auto& trigger : f.triggers) {
    const auto* received = std::get_if<flow::MessageReceivedTrigger>(&trigger.spec);
    m.trigger_keywords.emplace_back();
    m.trigger_regex.emplace_back();
    if (received != nullptr && !received->keywords.empty()) {
      m.trigger_keywords.back().emplace(received->keywords);
    }
    if (received != nullptr && !received->regex.empty()) {
      m.trigger_regex.back() = searchRegex(received->regex);
    }
  }
  for (const auto& condition : f.conditions) {
    m.condition_any.emplace_back();
    m.condition_all.emplace_back();
    m.condition_regex.emplace_back();
    m.condition_hours.emplace_back();
    m.condition_zone.push_back(nullptr);
    if (const auto* b = std::get_if<flow::BusinessHoursCondition>(&condition.spec)) {
      m.condition_hours.back() = businessHours(*b);
      std::string error;
      m.condition_zone.back() = time::TimeZone::locate(b->tz, &error);  // checked when loading
    }
    if (const auto* k = std::get_if<flow::KeywordsCondition>(&condition.spec)) {
      if (!k->any.empty()) {
        m.condition_any.back().emplace(k->any);
      }
      for (const auto& word : k->all) {
        m.condition_all.back().emplace_back(std::vector<std::string>{word});
      }
    } else if (const auto* r = std::get_if<flow::RegexCondition>(&condition.spec)) {
      m.condition_regex.back() = searchRegex(r->pattern);
    }
  }
  return m;
}

}  // namespace

const flow::Flow* FlowSet::find(std::string_view id, size_t* index) const {
  for (size_t i = 0; i < flows.size(); ++i) {
    if (flows[i].id == id) {
      if (index != nullptr) {
        *index = i;
      }
      return &flows[i];
    }
  }
  return nullptr;
}

bool FlowSet::hasTrigger(std::string_view kind) const {
  for (const auto& f : flows) {
    for (const auto& t : f.triggers) {
      if (t.kind == kind) {
        return true;
      }
    }
  }
  return false;
}

namespace {

// Loads scripts/*.lua into `set` (the first script defining a function provides it); returns
// the functions they define, for the flows' references.
std::set<std::string> loadScripts(const config::Config& config, lua::LuaSandbox& sandbox,
                                  FlowSet& set, FlowSetLoad& out) {
  std::set<std::string> functions;
  std::error_code ec;
  if (!fs::is_directory(config.scripts_dir, ec)) {
    return functions;
  }
  for (const fs::path& file : filesWithExtension(config.scripts_dir, {".lua"})) {
    ++out.script_count;
    ScriptSource script{file.stem().string(), file.string(), readFile(file)};
    lua::CompileResult loaded = sandbox.loadScript(script.name, script.text, {script.file});
    if (!loaded.ok()) {
      out.diagnostics.push_back(loaded.error->toDiagnostic());
      continue;
    }
    for (const std::string& name : sandbox.functions(loaded.snippet)) {
      functions.insert(name);
      set.function_script.emplace(name, set.scripts.size());
    }
    set.scripts.push_back(std::move(script));
  }
  return functions;
}

// What flows may name: the configured channels, AI instances, knowledge bases and the
// scripts' functions; and how their Lua is checked (compiled in `sandbox`).
flow::FlowLoadOptions loadOptions(const config::Config& config, lua::LuaSandbox& sandbox,
                                  std::set<std::string> functions) {
  flow::FlowLoadOptions options;
  std::set<std::string> channels, ai, knowledge;
  for (const auto& c : config.channels) {
    channels.insert(c.id);
  }
  for (const auto& a : config.ai) {
    ai.insert(a.id);
  }
  for (const auto& [id, _] : config.knowledge) {
    knowledge.insert(id);
  }
  options.context.channels = std::move(channels);
  options.context.ai = std::move(ai);
  options.context.knowledge = std::move(knowledge);
  options.context.script_functions = std::move(functions);
  options.subst.base_dir = config.base_dir;
  options.check_lua = [&sandbox](const flow::LuaSnippet& s) -> std::optional<diag::Diagnostic> {
    lua::CompileResult compiled = sandbox.compile(s.where, s.code, {s.file, s.line, s.column});
    if (compiled.ok()) {
      sandbox.release(compiled.snippet);
      return std::nullopt;
    }
    return compiled.error->toDiagnostic();
  };
  return options;
}

// What the engine precomputes for one flow's triggers and steps: event names, fast rules and
// context-free conditions, fixed replies, and whether any follow-up is cancelled by a reply.
void index(const flow::Flow& f, FlowSet& set) {
  set.matchers.push_back(buildMatchers(f));
  for (const auto& t : f.triggers) {
    if (const auto* e = std::get_if<flow::EventTrigger>(&t.spec)) {
      set.event_names.insert(e->name);
    }
    set.has_status_triggers |= std::holds_alternative<flow::MessageStatusTrigger>(t.spec);
    set.has_idle_triggers |= std::holds_alternative<flow::ContactIdleTrigger>(t.spec);
  }
  for (const auto& s : f.steps) {
    if (s.if_expression) {
      if (auto fast = FastRule::parse(s.if_expression->code)) {
        set.fast_rules.emplace(&*s.if_expression, std::move(*fast));
      } else if (!readsContext(s.if_expression->code)) {
        set.context_free.insert(&*s.if_expression);
      }
    }
    if (const auto* r = std::get_if<flow::ReplyStep>(&s.spec); r && isFixedReply(*r)) {
      set.fixed_replies.emplace(r, fixedReply(*r));
    }
    if (const auto* w = std::get_if<flow::WaitStep>(&s.spec)) {
      set.event_names.insert(w->event);
    }
    if (const auto* p = std::get_if<flow::ScheduleStep>(&s.spec); p && p->cancel_on_reply) {
      set.followups_cancel_on_reply = true;
    }
  }
}

}  // namespace

FlowSetLoad loadFlowSet(const config::Config& config, uint64_t version) {
  FlowSetLoad out;
  auto set = std::make_shared<FlowSet>();
  set->version = version;
  lua::LuaSandbox sandbox;
  std::set<std::string> functions = loadScripts(config, sandbox, *set, out);
  std::error_code ec;
  if (fs::is_directory(config.flows_dir, ec)) {
    flow::FlowLoadResult loaded =
        flow::loadFlows(config.flows_dir, loadOptions(config, sandbox, std::move(functions)));
    out.flow_count = loaded.flows.size();
    out.diagnostics.insert(out.diagnostics.end(), loaded.diagnostics.begin(),
                           loaded.diagnostics.end());
    set->flows = std::move(loaded.flows);
    out.secrets = std::move(loaded.secrets);
  }
  for (const auto& d : out.diagnostics) {
    if (d.severity == diag::Severity::kError) {
      return out;
    }
  }
  std::stable_sort(set->flows.begin(), set->flows.end(), flow::runsBefore);
  for (const auto& f : set->flows) {
    index(f, *set);
  }
  out.set = std::move(set);
  return out;
}

std::pair<int64_t, size_t> rulesFingerprint(const config::Config& config) {
  // A sum over every file's modification time and size changes when any file does (the
  // newest time alone would miss an older file restored from a backup).
  uint64_t sum = 0;
  size_t count = 0;
  std::error_code ec;
  for (const std::string& dir : {config.flows_dir, config.scripts_dir}) {
    for (const fs::path& file : filesWithExtension(dir, {".yaml", ".yml", ".lua"})) {
      auto time = fs::last_write_time(file, ec);
      if (!ec) {
        sum = sum * 31 + static_cast<uint64_t>(time.time_since_epoch().count());
      }
      auto size = fs::file_size(file, ec);
      if (!ec) {
        sum = sum * 31 + size;
      }
      ++count;
    }
  }
  return {static_cast<int64_t>(sum), count};
}

}  // namespace waflow::core::engine
