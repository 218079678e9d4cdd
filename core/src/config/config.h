// The core's configuration: the model of waflow.yaml, its schema, and the loaders that turn a
// file into a Config or a complete list of diagnostics. Loaders are thread-safe if the
// EnvLookup is; Config is a plain value (YAML::Node members share their tree: copy before
// mutating).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "config/schema_validator.h"
#include "config/substitution.h"
#include "diag/diagnostic.h"

namespace waflow::core::config {

// One entry of channels / ai / integrations: an instance of a plugin.
struct InstanceConfig {
  std::string id;       // the key, e.g. "toko-utama"; matches kInstanceIdPattern
  std::string section;  // "channels", "ai", "integrations" or "storage"
  std::string plugin;   // plugin name; whether it exists is checked by the plugin loader
  nlohmann::json prices = nlohmann::json::object();  // ai: model -> {input, output, ...}
  YAML::Node config;  // the raw `config:` node (null when absent or empty), not yet
                      // substituted: validate it with validateInstanceConfig()
  std::string file;   // where the instance is defined, for diagnostics
  int line = 0;       // 1-based position of the id key
  int column = 0;
  int config_line = 0;  // 1-based position of the `config:` key; 0 when absent
  int config_column = 0;
};

struct ServerConfig {
  std::string address = "127.0.0.1";  // IPv6 without brackets
  uint16_t port = 8080;
  int threads = 0;  // 0 = one per CPU core
  size_t body_limit = 1024 * 1024;
  size_t header_limit = 16 * 1024;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds shutdown_timeout{30000};
  // server.metrics_listen: when set, /metrics is served on this address only (a private
  // listener for the scraper), no longer on `listen`.
  bool metrics_listen = false;
  std::string metrics_address;
  uint16_t metrics_port = 0;
};

struct LogConfig {
  std::string level = "info";   // trace | debug | info | warn | error
  std::string format = "text";  // text | json
  std::string file;             // "" = stderr
};

struct BusConfig {
  int workers = 0;  // 0 = one per CPU core
  size_t capacity = 65536;
};

struct AutoReplyConfig {
  bool enabled = true;
  std::string mode = "ai";  // ai | echo | text
  std::string text;         // the reply for mode text
  std::string ai;           // ai instance id; the loader fills in the first ai instance
  std::map<std::string, std::string> keywords;  // keyword -> reply, checked first
  std::string system_prompt;
  // The message types answered: what a customer says, never a notice about a message
  // (reaction, edit, revoke), an unsupported one or a system event (core_schema.cpp holds the
  // same list as the schema's default).
  std::set<std::string> answer_types = {"text",     "image",    "video",       "audio",  "document",
                                        "location", "contacts", "interactive", "button", "order"};
};

// The sender: see the `outbox:` keys in core_schema.cpp and docs/reliability.md.
struct OutboxConfig {
  int rate_limit = 80;                             // per channel instance; 0 = unlimited
  std::map<std::string, int> channel_rate_limits;  // channel id -> rate_limit
  int recipient_burst = 5;                         // 0 = no pacing per contact
  std::chrono::milliseconds recipient_interval{6000};
  int max_attempts = 10;
  std::chrono::milliseconds retry_initial{1000};
  std::chrono::milliseconds retry_max{600000};
  std::chrono::milliseconds lease{120000};
  bool resend_in_doubt = true;  // in_doubt: resend | fail
  std::chrono::milliseconds in_doubt_grace{30000};
  bool enforce_window = true;  // customer_window: enforce | off
  // The template sent instead of a free-form message outside the 24-hour window, as the
  // Cloud API template object ({"name", "language": {"code"}, "components"}); null when unset.
  nlohmann::json window_template;
  std::string owner;  // "" = the host name
};

// The inbox: see the `inbox:` keys in core_schema.cpp and docs/reliability.md.
struct InboxConfig {
  // Handlings a message may begin (the first, then one per restart that replays it) before
  // it is quarantined instead of replayed again.
  int max_attempts = 3;
};

// The flow engine: see the `flows:` keys in core_schema.cpp and docs/flows.md.
struct FlowsConfig {
  bool enabled = true;  // false: flows_dir is ignored and auto_reply answers everything
  bool watch = true;    // reload flows and scripts when their files change
  std::chrono::milliseconds watch_interval{2000};
  // A run waiting for an answer (ask) or an event (wait) without its own timeout ends after
  // this long; the step fails and takes its on_error path.
  std::chrono::milliseconds wait_expiry{24 * 3600 * 1000};
  bool run_missed_jobs = true;  // missed_jobs: run | skip
  // A handoff nobody released ends when the customer writes after this long; 0 = never.
  std::chrono::milliseconds handoff_release_after{0};
  std::chrono::milliseconds lua_time_budget{50};
  // How much of a customer's text rules see (regexes, keywords, Lua, answer checks), in
  // characters; the stored message keeps all of it. 4096 is WhatsApp's own text limit.
  size_t max_rule_text = 4096;
  size_t lua_memory_limit = 8 * 1024 * 1024;
  std::string time_zone = "UTC";   // for time helpers given no zone
  size_t cache_contacts = 100000;  // contacts and conversation states kept in memory
  std::string admin_token;         // enables /admin/* and /api/* when set
};

// The embeddings endpoint of a knowledge base: an OpenAI-compatible POST {base_url}/embeddings.
struct EmbeddingsConfig {
  std::string base_url;  // e.g. https://api.openai.com/v1 (no trailing slash)
  std::string model;     // e.g. text-embedding-3-small
  std::string api_key;   // sent as Authorization: Bearer; "" sends none
  int dimensions = 0;    // 0 = the model's default (not sent)
  int batch_size = 64;   // texts per request while indexing
  std::chrono::milliseconds timeout{30000};
};

// One entry of `knowledge:` (docs/knowledge.md): files to index and how to search them.
struct KnowledgeConfig {
  std::string id;                    // the key, e.g. "faq"; matches kInstanceIdPattern
  std::vector<std::string> sources;  // files or folders, resolved against Config::base_dir
  std::size_t chunk_size = 800;      // largest passage, in bytes of UTF-8
  std::optional<EmbeddingsConfig> embeddings;  // unset: BM25 only
  std::string base_dir;  // the config file's directory: passages cite paths relative to it
  std::string file;      // where the entry is defined, for diagnostics
  int line = 0;          // 1-based position of the id key
  int column = 0;
};

struct Config {
  std::string file;      // "" when built-in defaults
  std::string base_dir;  // the config file's directory ("" = current directory): relative
                         // paths below and ${file:} substitutions start here
  ServerConfig server;
  LogConfig log;
  BusConfig bus;
  std::vector<std::string> plugin_paths;                   // resolved against base_dir
  std::string data_dir = "./data";                         // resolved against base_dir
  std::string flows_dir = "./flows";                       // resolved against base_dir
  std::string scripts_dir = "./scripts";                   // resolved against base_dir
  std::vector<InstanceConfig> channels, ai, integrations;  // in file order
  // The storage instance (id "storage"); plugin storage-sqlite unless `storage:` says otherwise.
  InstanceConfig storage;
  AutoReplyConfig auto_reply;
  InboxConfig inbox;
  OutboxConfig outbox;
  FlowsConfig flows;
  std::map<std::string, KnowledgeConfig> knowledge;  // `knowledge:` entries by id
  std::vector<std::string> secrets;                  // values to redact from logs
  YAML::Node root;                                   // the whole parsed file (null for defaults)
};

struct LoadResult {
  std::optional<Config> config;  // set when there is no error (warnings allowed)
  // What could be read despite errors (set unless the YAML itself is broken), so
  // `waflow validate` can still check every plugin block and report all problems.
  std::optional<Config> partial;
  std::vector<diag::Diagnostic> diagnostics;  // sorted by location
};

inline constexpr std::string_view kInstanceIdPattern = "^[a-z0-9][a-z0-9_-]{0,62}$";

// Reads and validates a config file. A missing or unreadable file is an error.
LoadResult loadConfigFile(const std::string& path, const EnvLookup& env = processEnv);

// Validates config text; `file_name` labels diagnostics, `base_dir` anchors relative paths.
LoadResult loadConfigString(std::string_view yaml_text, const std::string& file_name,
                            const std::string& base_dir, const EnvLookup& env = processEnv);

// The schema of waflow.yaml (JSON-Schema subset, see schema_validator.h), with descriptions.
// Instances' `config:` blocks are "x-raw": they are validated against the plugin's schema.
const nlohmann::json& coreConfigSchema();

// Validates `instance.config` against its plugin's schema, with the substitution context of
// the file it came from; diagnostics name "<section>.<id>.config" and point at the block (or at
// the instance when the block is absent). Secrets found are in the result.
ValidationResult validateInstanceConfig(const Config& config, const InstanceConfig& instance,
                                        const nlohmann::json& plugin_schema,
                                        const EnvLookup& env = processEnv);

}  // namespace waflow::core::config
