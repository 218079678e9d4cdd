#include "config/config.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "config/sandbox_exposure.h"
#include "config/token_strength.h"
#include "config/yaml_documents.h"
#include "diag/closest_match.h"
#include "diag/source_cache.h"
#include "diag/text_encoding.h"
#include "text/ascii.h"
#include "text/names.h"

namespace waflow::core::config {
namespace {

using nlohmann::json;

constexpr const char* kSections[] = {"channels", "ai", "integrations"};

diag::Diagnostic makeError(const std::string& file, int line, int column, int length,
                           std::string kind, std::string message, std::string hint = {}) {
  diag::Diagnostic d;
  d.file = file;
  d.line = line;
  d.column = column;
  d.length = length;
  d.kind = std::move(kind);
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

std::string quote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

// A key and its value in a mapping (the first occurrence, as yaml-cpp's lookup sees it).
struct Entry {
  YAML::Node key;
  YAML::Node value;
  bool found = false;
};

Entry findEntry(const YAML::Node& map, std::string_view name) {
  Entry entry;
  if (!map.IsDefined() || !map.IsMap()) {
    return entry;
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == name) {
      entry.key = it->first;
      entry.value = it->second;
      entry.found = true;
      return entry;
    }
  }
  return entry;
}

int lengthOf(const YAML::Node& scalar) {
  if (!scalar.IsScalar() || scalar.Tag() != "?" ||
      scalar.Scalar().find('\n') != std::string::npos) {
    return 0;
  }
  int n = 0;
  for (char c : scalar.Scalar()) {
    n += (static_cast<unsigned char>(c) & 0xC0) == 0x80 ? 0 : 1;
  }
  return n;
}

// Turns yaml-cpp's terse parser messages into what an operator can act on.
std::pair<std::string, std::string> explainYamlError(const std::string& msg) {
  if (msg == "illegal map value") {
    return {"unexpected ':' here",
            "a value cannot start a new mapping on the same line; check the indentation, or put "
            "the value in quotes if it contains ': '"};
  }
  if (msg == "end of map not found") {
    return {"this line's indentation does not match the lines above",
            "keys of the same mapping must start in the same column; indent with spaces"};
  }
  if (msg == "end of sequence not found") {
    return {"this line's indentation does not match the list above",
            "items of the same list must start in the same column; indent with spaces"};
  }
  if (msg == "end of map flow not found") {
    return {"'{' is not closed by '}'", "close the mapping, or put the text in quotes"};
  }
  if (msg == "end of sequence flow not found") {
    return {"'[' is not closed by ']'", "close the list, or put the text in quotes"};
  }
  if (msg == "illegal EOF in scalar") {
    return {"quoted text is not closed before the end of the file", "add the closing quote"};
  }
  if (msg == "illegal block entry") {
    return {"unexpected list item '- ' here",
            "a list must start on the line after its key, indented; a key cannot have both a "
            "value and a list"};
  }
  if (msg == "illegal map key") {
    return {"unexpected key here", "check the indentation of this line and the one above"};
  }
  if (msg == "illegal tab when looking for indentation") {
    return {"tab character in indentation", "YAML indents with spaces only"};
  }
  if (msg.rfind("unknown escape character", 0) == 0) {
    return {msg, "in double quotes write \\\\ for a backslash, or use single quotes"};
  }
  if (msg == "the referenced anchor is not defined") {
    return {"alias '*' refers to an anchor ('&name') that is not defined", ""};
  }
  return {msg, ""};
}

// Tabs in indentation are the most common cause of confusing parser errors; point at the tab.
std::optional<diag::Diagnostic> findIndentationTab(std::string_view text, const std::string& file,
                                                   int last_line) {
  const std::vector<std::string> lines = diag::splitLines(text);
  for (size_t i = 0; i < lines.size() && static_cast<int>(i) < last_line; ++i) {
    const std::string& line = lines[i];
    for (size_t col = 0; col < line.size() && (line[col] == ' ' || line[col] == '\t'); ++col) {
      if (line[col] == '\t') {
        return makeError(file, static_cast<int>(i) + 1, static_cast<int>(col) + 1, 1, "config-yaml",
                         "tab character in indentation",
                         "YAML indents with spaces only; replace the tab with spaces");
      }
    }
  }
  return std::nullopt;
}

// yaml-cpp reports an unclosed '[' or '{' at the end of the file; the opening bracket is what
// the operator needs to see. Finds the innermost unclosed one, skipping quoted text and comments;
// a bracket only opens a flow collection where a value starts.
std::optional<std::pair<int, int>> findUnclosedFlow(std::string_view text) {
  std::vector<std::pair<int, int>> open;  // 1-based line, column
  int line = 1;
  int column = 0;
  char previous = '\n';  // last non-blank character, '\n' at a line start
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      previous = '\n';
      continue;
    }
    if (c == ' ' || c == '\t') {
      continue;
    }
    if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n')) {
      while (i + 1 < text.size() && text[i + 1] != '\n') {
        ++i;
      }
      continue;
    }
    const bool value_start = previous == '\n' || previous == ':' || previous == '-' ||
                             previous == ',' || previous == '[' || previous == '{';
    if ((c == '"' || c == '\'') && value_start) {
      // Skip the quoted text, keeping line and column in step.
      for (++i; i < text.size(); ++i) {
        ++column;
        if (text[i] == '\n') {
          ++line;
          column = 0;
        } else if (c == '"' && text[i] == '\\') {
          ++i;
          ++column;
        } else if (text[i] == c) {
          if (c == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
            ++i;
            ++column;
            continue;
          }
          break;
        }
      }
      previous = c;
      continue;
    }
    if ((c == '[' || c == '{') && value_start) {
      open.emplace_back(line, column);
    } else if ((c == ']' || c == '}') && !open.empty()) {
      open.pop_back();
    }
    previous = c;
  }
  if (open.empty()) {
    return std::nullopt;
  }
  return open.back();
}

std::string resolvePath(const std::string& base_dir, const std::string& path) {
  if (base_dir.empty() || path.empty() || std::filesystem::path(path).is_absolute()) {
    return path;
  }
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

// A suggestion for an invalid id: lower-cased, other characters turned into '-'.
std::string suggestId(std::string_view id) {
  std::string out;
  for (char c : id) {
    char lc = text::lowerAscii(c);
    const bool ok = (lc >= 'a' && lc <= 'z') || (lc >= '0' && lc <= '9') || lc == '_' || lc == '-';
    if (!ok) {
      lc = '-';
    }
    if (lc == '-' && (out.empty() || out.back() == '-')) {
      continue;
    }
    out += lc;
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '_')) {
    out.pop_back();
  }
  while (!out.empty() && (out.front() == '_')) {
    out.erase(out.begin());
  }
  return out.substr(0, 63);
}

struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

// Parses host:port, [v6]:port or :port. On error sets message/hint and the byte range of
// the offending part within `text`.
std::optional<ListenAddress> parseListen(std::string_view text, std::string& message,
                                         std::string& hint, size_t& offset, size_t& length) {
  offset = 0;
  length = text.size();
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      message = quote(text) + " is not host:port";
      hint = "write IPv6 addresses as [::1]:8080";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    offset = close + 2;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      message = quote(text) + " has no port";
      hint =
          "write host:port: 127.0.0.1:8080 for this machine only, 0.0.0.0:8080 for all "
          "interfaces";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    offset = colon + 1;
    if (host.find(':') != std::string_view::npos) {
      message = quote(text) + " is not host:port";
      hint = "write IPv6 addresses in brackets, e.g. [::1]:8080";
      offset = 0;
      return std::nullopt;
    }
    if (host.empty()) {
      host = "0.0.0.0";
    }
  }
  length = port.size();
  if (host.empty() || host.find_first_of(" \t/") != std::string_view::npos) {
    message = "host " + quote(host) + " is not valid";
    hint = "write an IP address or a host name, e.g. 127.0.0.1 or 0.0.0.0";
    offset = 0;
    length = text.size();
    return std::nullopt;
  }
  if (port.empty() || port.size() > 9 ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    message = "port " + quote(port) + " is not a number";
    hint = "write a port between 0 and 65535, e.g. 8080";
    return std::nullopt;
  }
  const long value = std::stol(std::string(port));
  if (value > 65535) {
    message = "port " + std::string(port) + " is above the maximum 65535";
    hint = "ports range from 0 to 65535; 0 picks a free port";
    return std::nullopt;
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(value)};
}

class Loader {
 public:
  Loader(std::string file, std::string base_dir, const EnvLookup& env)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), env_(env) {}

  LoadResult load(std::string_view text);

 private:
  // An error when the stream is not one document the parser read to its end.
  std::optional<diag::Diagnostic> checkDocuments(const YamlDocuments& documents) const;
  void error(const YAML::Node& at, std::string message, std::string hint = {}) {
    const YAML::Mark mark = at.Mark();
    diagnostics_.add(makeError(file_, mark.is_null() ? 0 : mark.line + 1,
                               mark.is_null() ? 0 : mark.column + 1, lengthOf(at), "config-schema",
                               std::move(message), std::move(hint)));
  }

  void checkListen(const json& value, Config& config);
  std::optional<ListenAddress> readListen(const json& value, const char* key, bool optional);
  void collectInstances(const json& value, Config& config);
  void checkAutoReply(const json& value, Config& config);
  // Reads the text into root_; false, with the diagnostic in `result`, when it is not one
  // YAML mapping.
  bool parseYaml(std::string_view text, LoadResult& result);
  // The sections read as they are: server, inbox, log, bus, plugins and the directories.
  void readPlainSections(const json& value, Config& config);
  void readOutbox(const json& value, Config& config);
  void readFlows(const json& value, Config& config);
  void collectStorage(const json& value, Config& config);
  void readKnowledge(const json& value, Config& config);

  std::string file_;
  std::string base_dir_;
  const EnvLookup& env_;
  YAML::Node root_;
  diag::DiagnosticList diagnostics_;
};

void Loader::checkListen(const json& value, Config& config) {
  if (auto address = readListen(value, "listen", false)) {
    config.server.address = address->host;
    config.server.port = address->port;
  }
  if (auto address = readListen(value, "metrics_listen", true)) {
    config.server.metrics_listen = true;
    config.server.metrics_address = address->host;
    config.server.metrics_port = address->port;
  }
}

// server.<key> as host:port; nullopt when absent, wrong (reported), or empty and `optional`.
std::optional<ListenAddress> Loader::readListen(const json& value, const char* key, bool optional) {
  const json* listen = nullptr;
  if (auto server = value.find("server"); server != value.end() && server->is_object()) {
    if (auto it = server->find(key); it != server->end() && it->is_string()) {
      listen = &*it;
    }
  }
  if (listen == nullptr || (optional && listen->get_ref<const std::string&>().empty())) {
    return std::nullopt;  // absent, unset, or a wrong type (reported by the schema)
  }
  const std::string text = listen->get<std::string>();
  std::string message;
  std::string hint;
  size_t offset = 0;
  size_t length = 0;
  std::optional<ListenAddress> address = parseListen(text, message, hint, offset, length);
  if (address) {
    return address;
  }
  const YAML::Node node = findEntry(findEntry(root_, "server").value, key).value;
  int line = 0;
  int column = 0;
  int token = 0;
  if (node.IsDefined() && !node.Mark().is_null()) {
    line = node.Mark().line + 1;
    column = node.Mark().column + 1;
    token = lengthOf(node);
    // A plain scalar's text is the source text: point at the faulty part itself.
    if (token > 0 && node.Scalar() == text) {
      column += static_cast<int>(offset);
      token = static_cast<int>(length);
    }
  }
  diagnostics_.add(makeError(file_, line, column, token, "config-schema",
                             "server." + std::string(key) + ": " + message, hint));
  return std::nullopt;
}

void Loader::collectInstances(const json& value, Config& config) {
  for (const char* section : kSections) {
    const YAML::Node map = findEntry(root_, section).value;
    if (!map.IsDefined() || !map.IsMap()) {
      continue;
    }
    std::vector<InstanceConfig>& out = std::string_view(section) == "channels" ? config.channels
                                       : std::string_view(section) == "ai"     ? config.ai
                                                                           : config.integrations;
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar() || !seen.insert(it->first.Scalar()).second) {
        continue;  // reported by the schema
      }
      const std::string id = it->first.Scalar();
      if (!text::isInstanceId(id)) {
        std::string hint =
            "ids may use lower-case letters, digits, '-' and '_', start with a "
            "letter or digit, and have at most 63 characters; they appear in "
            "URLs like /webhooks/<id>";
        if (std::string suggestion = suggestId(id); !suggestion.empty() && suggestion != id) {
          hint += "; e.g. " + quote(suggestion);
        }
        error(it->first,
              std::string(section) + ": instance id " + quote(id) + " does not match " +
                  std::string(kInstanceIdPattern),
              hint);
        continue;
      }
      InstanceConfig instance;
      instance.id = id;
      instance.section = section;
      instance.file = file_;
      instance.line = it->first.Mark().line + 1;
      instance.column = it->first.Mark().column + 1;
      const json* converted = nullptr;
      if (auto s = value.find(section); s != value.end() && s->is_object()) {
        if (auto i = s->find(id); i != s->end() && i->is_object()) {
          converted = &*i;
        }
      }
      if (converted != nullptr && converted->contains("plugin") &&
          (*converted)["plugin"].is_string()) {
        instance.plugin = (*converted)["plugin"].get<std::string>();
      }
      if (converted != nullptr && converted->contains("prices") &&
          (*converted)["prices"].is_object()) {
        instance.prices = (*converted)["prices"];
      }
      const Entry config_entry = findEntry(it->second, "config");
      if (config_entry.found) {
        instance.config = config_entry.value;
        instance.config_line = config_entry.key.Mark().line + 1;
        instance.config_column = config_entry.key.Mark().column + 1;
      }
      out.push_back(std::move(instance));
    }
  }
}

void Loader::collectStorage(const json& value, Config& config) {
  InstanceConfig& storage = config.storage;
  storage.id = "storage";
  storage.section = "storage";
  storage.file = file_;
  storage.plugin = "storage-sqlite";
  if (auto s = value.find("storage"); s != value.end() && s->is_object()) {
    storage.plugin = s->value("plugin", storage.plugin);
  }
  const Entry section = findEntry(root_, "storage");
  if (section.found) {
    storage.line = section.key.Mark().line + 1;
    storage.column = section.key.Mark().column + 1;
    const Entry config_entry = findEntry(section.value, "config");
    if (config_entry.found) {
      storage.config = config_entry.value;
      storage.config_line = config_entry.key.Mark().line + 1;
      storage.config_column = config_entry.key.Mark().column + 1;
    }
  }
}

void Loader::checkAutoReply(const json& value, Config& config) {
  auto section = value.find("auto_reply");
  if (section == value.end() || !section->is_object()) {
    return;
  }
  AutoReplyConfig& reply = config.auto_reply;
  reply.enabled = section->value("enabled", reply.enabled);
  reply.mode = section->value("mode", reply.mode);
  reply.text = section->value("text", reply.text);
  reply.ai = section->value("ai", reply.ai);
  reply.system_prompt = section->value("system_prompt", reply.system_prompt);
  if (auto keywords = section->find("keywords"); keywords != section->end()) {
    for (const auto& [keyword, text] : keywords->items()) {
      if (text.is_string()) {
        reply.keywords[keyword] = text.get<std::string>();
      }
    }
  }
  if (auto types = section->find("answer_types"); types != section->end() && types->is_array()) {
    reply.answer_types.clear();
    for (const json& type : *types) {
      if (type.is_string()) {  // anything else was reported by the schema
        reply.answer_types.insert(type.get<std::string>());
      }
    }
  }

  const Entry yaml_section = findEntry(root_, "auto_reply");
  if (reply.mode == "text" && reply.text.empty()) {
    // Point at the empty text if written, else at the mode that asks for it.
    const Entry text = findEntry(yaml_section.value, "text");
    const YAML::Node at = text.found ? text.key : findEntry(yaml_section.value, "mode").value;
    error(at, "auto_reply.text: required when mode is 'text'",
          "write the reply, e.g. text: \"Terima kasih, pesan Anda sudah kami terima.\"");
  }
  std::vector<std::string> ai_ids;
  for (const InstanceConfig& instance : config.ai) {
    ai_ids.push_back(instance.id);
  }
  if (!reply.ai.empty()) {
    if (std::find(ai_ids.begin(), ai_ids.end(), reply.ai) == ai_ids.end()) {
      std::string hint;
      if (std::string match = diag::closestMatch(reply.ai, ai_ids); !match.empty()) {
        hint = "did you mean " + quote(match) + "?";
      } else if (ai_ids.empty()) {
        hint = "no ai instances are defined; add one under 'ai:'";
      } else {
        hint = "defined ai instances: ";
        for (size_t i = 0; i < ai_ids.size(); ++i) {
          hint += (i > 0 ? ", " : "") + ai_ids[i];
        }
      }
      error(findEntry(yaml_section.value, "ai").value,
            "auto_reply.ai: " + quote(reply.ai) + " is not an ai instance", hint);
    }
  } else if (!ai_ids.empty()) {
    reply.ai = ai_ids.front();
  }
}

void Loader::readFlows(const json& value, Config& config) {
  auto section = value.find("flows");
  if (section == value.end() || !section->is_object()) {
    return;
  }
  FlowsConfig& f = config.flows;
  auto ms = [&](const char* key, std::chrono::milliseconds fallback) {
    return std::chrono::milliseconds(section->value(key, int64_t{fallback.count()}));
  };
  f.enabled = section->value("enabled", f.enabled);
  f.watch = section->value("watch", f.watch);
  f.watch_interval = ms("watch_interval", f.watch_interval);
  f.wait_expiry = ms("wait_expiry", f.wait_expiry);
  f.run_missed_jobs = section->value("missed_jobs", std::string("run")) == "run";
  f.handoff_release_after = ms("handoff_release_after", f.handoff_release_after);
  f.lua_time_budget = ms("lua_time_budget", f.lua_time_budget);
  f.max_rule_text = section->value("max_rule_text", f.max_rule_text);
  f.lua_memory_limit = section->value("lua_memory_limit", f.lua_memory_limit);
  f.time_zone = section->value("time_zone", f.time_zone);
  f.cache_contacts = section->value("cache_contacts", f.cache_contacts);
  f.admin_token = section->value("admin_token", f.admin_token);
  if (!f.admin_token.empty()) {
    config.secrets.push_back(f.admin_token);  // redacted even when written out in the file
    if (std::optional<std::string> weakness = tokenWeakness(f.admin_token)) {
      // Never the value itself: only why it is weak and where it was written.
      error(findEntry(findEntry(root_, "flows").value, "admin_token").value,
            "flows.admin_token: the admin token is too easy to guess: " + *weakness,
            std::string(kStrongTokenHint));
    }
  }
}

void Loader::readOutbox(const json& value, Config& config) {
  auto section = value.find("outbox");
  if (section == value.end() || !section->is_object()) {
    return;
  }
  OutboxConfig& o = config.outbox;
  auto ms = [&](const char* key, std::chrono::milliseconds fallback) {
    return std::chrono::milliseconds(section->value(key, int64_t{fallback.count()}));
  };
  o.rate_limit = section->value("rate_limit", o.rate_limit);
  if (auto limits = section->find("channel_rate_limits"); limits != section->end()) {
    for (const auto& [id, rate] : limits->items()) {
      if (rate.is_number_integer()) {
        o.channel_rate_limits[id] = rate.get<int>();
      }
    }
  }
  o.recipient_burst = section->value("recipient_burst", o.recipient_burst);
  o.recipient_interval = ms("recipient_interval", o.recipient_interval);
  o.max_attempts = section->value("max_attempts", o.max_attempts);
  o.retry_initial = ms("retry_initial", o.retry_initial);
  o.retry_max = ms("retry_max", o.retry_max);
  o.lease = ms("lease", o.lease);
  o.resend_in_doubt = section->value("in_doubt", std::string("resend")) == "resend";
  o.in_doubt_grace = ms("in_doubt_grace", o.in_doubt_grace);
  o.enforce_window = section->value("customer_window", std::string("enforce")) == "enforce";
  o.owner = section->value("owner", o.owner);
  if (auto t = section->find("window_template"); t != section->end() && t->is_object()) {
    o.window_template = {{"name", t->value("name", "")},
                         {"language", {{"code", t->value("language", "en_US")}}}};
    if (auto c = t->find("components"); c != t->end() && c->is_array() && !c->empty()) {
      o.window_template["components"] = *c;
    }
  }

  const Entry yaml_section = findEntry(root_, "outbox");
  const Entry limits = findEntry(yaml_section.value, "channel_rate_limits");
  if (limits.found && limits.value.IsMap()) {
    std::vector<std::string> ids;
    for (const InstanceConfig& c : config.channels) {
      ids.push_back(c.id);
    }
    for (auto it = limits.value.begin(); it != limits.value.end(); ++it) {
      const std::string id = it->first.as<std::string>("");
      if (std::find(ids.begin(), ids.end(), id) != ids.end()) {
        continue;
      }
      std::string match = diag::closestMatch(id, ids);
      error(it->first, "outbox.channel_rate_limits: " + quote(id) + " is not a channel instance",
            match.empty() ? "the keys are ids of instances under 'channels:'"
                          : "did you mean " + quote(match) + "?");
    }
  }
  if (o.retry_max < o.retry_initial) {
    error(findEntry(yaml_section.value, "retry_max").key,
          "outbox.retry_max: shorter than retry_initial",
          "retry_max caps the growing delay between attempts; make it at least retry_initial");
  }
}

void Loader::readKnowledge(const json& value, Config& config) {
  auto section = value.find("knowledge");
  const YAML::Node map = findEntry(root_, "knowledge").value;
  if (section == value.end() || !section->is_object() || !map.IsDefined() || !map.IsMap()) {
    return;  // absent, or wrongly typed (reported by the schema)
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) {
      continue;
    }
    const std::string id = it->first.Scalar();
    auto entry = section->find(id);
    if (entry == section->end() || !entry->is_object() || config.knowledge.contains(id)) {
      continue;  // reported by the schema
    }
    if (!text::isInstanceId(id)) {
      error(it->first,
            "knowledge: id " + quote(id) + " does not match " + std::string(kInstanceIdPattern),
            "ids may use lower-case letters, digits, '-' and '_' and have at most 63 "
            "characters; flows name them in `knowledge:` of an ai step");
      continue;
    }
    KnowledgeConfig k;
    k.id = id;
    k.base_dir = base_dir_;
    k.file = file_;
    k.line = it->first.Mark().line + 1;
    k.column = it->first.Mark().column + 1;
    k.chunk_size = entry->value("chunk_size", k.chunk_size);
    const YAML::Node sources = findEntry(it->second, "sources").value;
    if (auto list = entry->find("sources"); list != entry->end() && list->is_array()) {
      for (std::size_t i = 0; i < list->size(); ++i) {
        if (!(*list)[i].is_string()) {
          continue;
        }
        const std::string written = (*list)[i].get<std::string>();
        const std::string path = resolvePath(base_dir_, written);
        std::error_code ec;
        const std::filesystem::file_status status = std::filesystem::status(path, ec);
        const YAML::Node at = sources.IsSequence() && i < sources.size() ? sources[i] : it->first;
        const std::string where = "knowledge." + id + ".sources[" + std::to_string(i) + "]: ";
        if (!std::filesystem::exists(status)) {
          error(at, where + quote(written) + " does not exist",
                "paths are relative to the config file's directory" +
                    (base_dir_.empty() ? std::string() : " (" + base_dir_ + ")"));
          continue;
        }
        if (!std::filesystem::is_directory(status)) {
          const std::string ext =
              text::lowerAscii(std::filesystem::path(path).extension().string());
          if (ext != ".md" && ext != ".markdown" && ext != ".txt" && ext != ".csv") {
            error(at, where + quote(written) + " is not a .md, .markdown, .txt or .csv file",
                  "give Markdown, text or CSV FAQ files, or a folder holding them");
            continue;
          }
        }
        k.sources.push_back(path);
      }
    }
    if (auto e = entry->find("embeddings"); e != entry->end() && e->is_object()) {
      EmbeddingsConfig embeddings;
      embeddings.base_url = e->value("base_url", "");
      while (!embeddings.base_url.empty() && embeddings.base_url.back() == '/') {
        embeddings.base_url.pop_back();
      }
      embeddings.model = e->value("model", "");
      embeddings.api_key = e->value("api_key", "");
      embeddings.dimensions = e->value("dimensions", 0);
      embeddings.batch_size = e->value("batch_size", embeddings.batch_size);
      embeddings.timeout = std::chrono::milliseconds(e->value("timeout", int64_t{30000}));
      if (!embeddings.api_key.empty()) {
        config.secrets.push_back(embeddings.api_key);  // redacted even when written in the file
      }
      k.embeddings = std::move(embeddings);
    }
    config.knowledge.emplace(id, std::move(k));
  }
}

std::optional<diag::Diagnostic> Loader::checkDocuments(const YamlDocuments& documents) const {
  if (documents.stuck_at) {
    return makeError(file_, documents.stuck_at->line + 1, documents.stuck_at->column + 1, 1,
                     "config-yaml", describeStuckToken(documents),
                     "the file is a mapping of keys like 'server:'; quote any text that starts "
                     "with a sign such as ',' or '['");
  }
  if (documents.starts.size() > 1) {
    // yaml-cpp would read the first document and drop the rest without a word.
    return makeError(file_, documents.starts[1].line + 1, documents.starts[1].column + 1, 0,
                     "config-yaml", "waflow.yaml holds one document; this is a second one",
                     "remove the '---' line before it so its keys join the first document");
  }
  return std::nullopt;
}

bool Loader::parseYaml(std::string_view text, LoadResult& result) {
  if (std::optional<diag::Diagnostic> encoding = diag::checkUtf8(text, file_, "config-yaml")) {
    result.diagnostics.push_back(std::move(*encoding));
    return false;
  }
  YamlDocuments documents;
  try {
    std::string owned(text);
    documents = scanYamlDocuments(owned, 2);
    if (!documents.stuck_at) {
      root_ = YAML::Load(owned);
    }
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    std::optional<diag::Diagnostic> tab = findIndentationTab(text, file_, line);
    if (tab) {
      result.diagnostics.push_back(*tab);
      return false;
    }
    auto [message, hint] = explainYamlError(e.msg);
    int column = e.mark.is_null() ? 0 : e.mark.column + 1;
    if (e.msg == "end of sequence flow not found" || e.msg == "end of map flow not found") {
      if (std::optional<std::pair<int, int>> bracket = findUnclosedFlow(text)) {
        std::tie(line, column) = *bracket;
      }
    }
    result.diagnostics.push_back(makeError(file_, line, column, 1, "config-yaml", message, hint));
    return false;
  }
  if (std::optional<diag::Diagnostic> shape = checkDocuments(documents)) {
    result.diagnostics.push_back(std::move(*shape));
    return false;
  }
  if (root_.IsNull()) {
    root_ = YAML::Node(YAML::NodeType::Map);  // an empty file means all defaults
  }
  if (!root_.IsMap()) {
    diagnostics_.add(makeError(file_, root_.Mark().line + 1, root_.Mark().column + 1, 0,
                               "config-schema",
                               "the top level must be a mapping of keys like 'server:' and "
                               "'channels:'",
                               "see docs/configuration.md for the file's layout"));
    result.diagnostics = diagnostics_.takeSorted();
    return false;
  }
  return true;
}

void Loader::readPlainSections(const json& value, Config& config) {
  if (auto server = value.find("server"); server != value.end() && server->is_object()) {
    config.server.threads = server->value("threads", config.server.threads);
    config.server.body_limit = server->value("body_limit", config.server.body_limit);
    config.server.header_limit = server->value("header_limit", config.server.header_limit);
    config.server.read_timeout =
        std::chrono::milliseconds(server->value("read_timeout", int64_t{10000}));
    config.server.idle_timeout =
        std::chrono::milliseconds(server->value("idle_timeout", int64_t{60000}));
    config.server.shutdown_timeout =
        std::chrono::milliseconds(server->value("shutdown_timeout", int64_t{30000}));
  }
  if (auto inbox = value.find("inbox"); inbox != value.end() && inbox->is_object()) {
    config.inbox.max_attempts = inbox->value("max_attempts", config.inbox.max_attempts);
  }
  if (auto log = value.find("log"); log != value.end() && log->is_object()) {
    config.log.level = log->value("level", config.log.level);
    config.log.format = log->value("format", config.log.format);
    config.log.file = resolvePath(base_dir_, log->value("file", config.log.file));
  }
  if (auto bus = value.find("bus"); bus != value.end() && bus->is_object()) {
    config.bus.workers = bus->value("workers", config.bus.workers);
    config.bus.capacity = bus->value("capacity", config.bus.capacity);
  }
  if (auto plugins = value.find("plugins"); plugins != value.end() && plugins->is_object()) {
    if (auto paths = plugins->find("paths"); paths != plugins->end() && paths->is_array()) {
      for (const json& path : *paths) {
        if (path.is_string()) {
          config.plugin_paths.push_back(resolvePath(base_dir_, path.get<std::string>()));
        }
      }
    }
  }
  config.data_dir = resolvePath(base_dir_, value.value("data_dir", config.data_dir));
  config.flows_dir = resolvePath(base_dir_, value.value("flows_dir", config.flows_dir));
  config.scripts_dir = resolvePath(base_dir_, value.value("scripts_dir", config.scripts_dir));
}

LoadResult Loader::load(std::string_view text) {
  LoadResult result;
  if (!parseYaml(text, result)) {
    return result;
  }
  SubstitutionContext subst;
  subst.base_dir = base_dir_;
  subst.env = env_;
  ValidationResult validated = validateNode(root_, coreConfigSchema(), subst, file_, "");
  diagnostics_.append(validated.diagnostics);
  const json& value = validated.value.is_object() ? validated.value : json::object();

  Config config;
  config.file = file_;
  config.base_dir = base_dir_;
  config.root = root_;
  config.secrets = std::move(validated.secrets);
  checkListen(value, config);
  collectInstances(value, config);
  collectStorage(value, config);
  checkAutoReply(value, config);
  if (auto exposed = exposedSandboxChannels(config, writesSandboxToken); !exposed.empty()) {
    diagnostics_.add(sandboxExposure(config, exposed, diag::Severity::kWarning));
  }

  readPlainSections(value, config);
  readOutbox(value, config);
  readFlows(value, config);
  readKnowledge(value, config);

  result.diagnostics = diagnostics_.takeSorted();
  const bool has_error =
      std::any_of(result.diagnostics.begin(), result.diagnostics.end(),
                  [](const diag::Diagnostic& d) { return d.severity == diag::Severity::kError; });
  if (!has_error) {
    result.config = std::move(config);
  } else {
    result.partial = std::move(config);
  }
  return result;
}

}  // namespace

LoadResult loadConfigString(std::string_view yaml_text, const std::string& file_name,
                            const std::string& base_dir, const EnvLookup& env) {
  Loader loader(file_name, base_dir, env);
  try {
    return loader.load(yaml_text);
  } catch (const std::exception& e) {
    // A shape the schema check let through and the loader did not expect: an error naming the
    // file, never an exception out of `waflow validate` or `waflow run`.
    LoadResult result;
    result.diagnostics.push_back(makeError(
        file_name, 0, 0, 0, "config-internal",
        "the configuration could not be read (" + std::string(e.what()) + ")",
        "check the file against docs/configuration.md; if it looks right, please report this "
        "as a bug with the file"));
    return result;
  }
}

LoadResult loadConfigFile(const std::string& path, const EnvLookup& env) {
  LoadResult result;
  auto fail = [&](std::string message, std::string hint) {
    result.diagnostics.push_back(
        makeError(path, 0, 0, 0, "config-file", std::move(message), std::move(hint)));
    return result;
  };
  if (path.empty()) {
    return fail("config file '' not found: the path is empty",
                "give the path of a waflow.yaml, or none to use the built-in defaults");
  }
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    return fail("config file " + quote(path) + " not found",
                "check the path; relative paths start at the current directory");
  }
  if (std::filesystem::is_directory(status)) {
    return fail("config file " + quote(path) + " is a directory",
                "give the path of the file, e.g. " +
                    (std::filesystem::path(path) / "waflow.yaml").string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read config file " + quote(path) + ": " + std::strerror(errno),
                "check the file's permissions");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return loadConfigString(buffer.str(), path, std::filesystem::path(path).parent_path().string(),
                          env);
}

ValidationResult validateInstanceConfig(const Config& config, const InstanceConfig& instance,
                                        const nlohmann::json& plugin_schema, const EnvLookup& env) {
  SubstitutionContext subst;
  subst.base_dir = config.base_dir;
  subst.env = env;
  ValidateOptions options;
  options.fallback_line = instance.config_line > 0 ? instance.config_line : instance.line;
  options.fallback_column = instance.config_line > 0 ? instance.config_column : instance.column;
  // "channels.toko.config", or "storage.config" for the single storage instance.
  const std::string path = instance.section == "storage"
                               ? std::string("storage.config")
                               : instance.section + "." + instance.id + ".config";
  return validateNode(instance.config, plugin_schema, subst, instance.file, path, options);
}

}  // namespace waflow::core::config
