#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "diag/render.h"
#include "regressions.h"

namespace waflow::core::config {
namespace {

using nlohmann::json;
using Lines = std::vector<std::string>;

EnvLookup fakeEnv(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

LoadResult load(const std::string& text, std::map<std::string, std::string> env = {}) {
  return loadConfigString(text, "waflow.yaml", "", fakeEnv(std::move(env)));
}

Lines describe(const std::vector<diag::Diagnostic>& diagnostics) {
  Lines out;
  for (const diag::Diagnostic& d : diagnostics) {
    out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.text() + " [" +
                  d.kind + "]");
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/waflow_config_XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string full = path_ + "/" + name;
    std::ofstream(full, std::ios::binary) << content;
    return full;
  }

 private:
  std::string path_;
};

const char* kFullExample = R"(server:
  listen: 0.0.0.0:9090
  threads: 4
  body_limit: 2MiB
  read_timeout: 5s
  idle_timeout: 2m
  shutdown_timeout: 1m30s
log:
  level: debug
  format: json
  file: logs/waflow.log
bus:
  workers: 2
  capacity: 1024
plugins:
  paths: [./my-plugins, /opt/waflow/plugins]
data_dir: ./state
channels:
  toko-utama:
    plugin: channel-sandbox
    config: { token: "${SANDBOX_TOKEN}" }
  cabang_2:
    plugin: channel-cloudapi
    config:
      token: ${WA_TOKEN}
ai:
  mock: { plugin: ai-mock }
  gpt:
    plugin: ai-openai
integrations: {}
auto_reply:
  enabled: false
  mode: text
  text: Terima kasih!
  system_prompt: Kamu asisten toko.
  keywords:
    harga: Daftar harga ada di katalog.
    Jam Buka: 08.00-20.00
  answer_types: [text, reaction, request_welcome]
)";

TEST(LoadConfig, EmptyTextGivesBuiltInDefaults) {
  LoadResult r = load("");
  ASSERT_TRUE(r.config.has_value()) << ::testing::PrintToString(describe(r.diagnostics));
  EXPECT_TRUE(r.diagnostics.empty());
  const Config& c = *r.config;
  const Config defaults;
  EXPECT_EQ(c.server.address, defaults.server.address);
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.threads, 0);
  EXPECT_EQ(c.server.body_limit, 1024u * 1024u);
  EXPECT_EQ(c.server.read_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.server.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.server.shutdown_timeout, std::chrono::seconds(30));
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.log.file, "");
  EXPECT_EQ(c.bus.workers, 0);
  EXPECT_EQ(c.bus.capacity, 65536u);
  EXPECT_TRUE(c.plugin_paths.empty());
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_TRUE(c.channels.empty());
  EXPECT_TRUE(c.ai.empty());
  EXPECT_TRUE(c.auto_reply.enabled);
  EXPECT_EQ(c.auto_reply.mode, "ai");
  EXPECT_EQ(c.auto_reply.ai, "");
  EXPECT_EQ(c.auto_reply.answer_types,
            (std::set<std::string>{"text", "image", "video", "audio", "document", "location",
                                   "contacts", "interactive", "button", "order"}));
  EXPECT_EQ(c.file, "waflow.yaml");
}

// The default list lives in AutoReplyConfig and, for editors and docs, in the schema.
TEST(CoreConfigSchema, AnswerTypesDefaultIsTheConfigsDefault) {
  const json& schema = coreConfigSchema()["properties"]["auto_reply"]["properties"]["answer_types"];
  EXPECT_EQ(schema["default"].get<std::set<std::string>>(), AutoReplyConfig{}.answer_types);
  EXPECT_EQ(schema["default"].size(), AutoReplyConfig{}.answer_types.size());
}

TEST(LoadConfig, FullExampleConvertsEveryKey) {
  LoadResult r = loadConfigString(kFullExample, "/etc/waflow/waflow.yaml", "/etc/waflow",
                                  fakeEnv({{"WA_TOKEN", "EAAG-token"}}));
  ASSERT_TRUE(r.config.has_value()) << ::testing::PrintToString(describe(r.diagnostics));
  EXPECT_TRUE(r.diagnostics.empty()) << ::testing::PrintToString(describe(r.diagnostics));
  const Config& c = *r.config;
  EXPECT_EQ(c.server.address, "0.0.0.0");
  EXPECT_EQ(c.server.port, 9090);
  EXPECT_EQ(c.server.threads, 4);
  EXPECT_EQ(c.server.body_limit, 2u * 1024u * 1024u);
  EXPECT_EQ(c.server.read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.server.idle_timeout, std::chrono::minutes(2));
  EXPECT_EQ(c.server.shutdown_timeout, std::chrono::seconds(90));
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.log.file, "/etc/waflow/logs/waflow.log");
  EXPECT_EQ(c.bus.workers, 2);
  EXPECT_EQ(c.bus.capacity, 1024u);
  EXPECT_EQ(c.plugin_paths, (Lines{"/etc/waflow/my-plugins", "/opt/waflow/plugins"}));
  EXPECT_EQ(c.data_dir, "/etc/waflow/state");
  EXPECT_EQ(c.base_dir, "/etc/waflow");

  ASSERT_EQ(c.channels.size(), 2u);
  EXPECT_EQ(c.channels[0].id, "toko-utama");  // file order, not alphabetical
  EXPECT_EQ(c.channels[0].plugin, "channel-sandbox");
  EXPECT_EQ(c.channels[0].section, "channels");
  EXPECT_EQ(c.channels[0].line, 19);
  EXPECT_EQ(c.channels[0].column, 3);
  EXPECT_TRUE(c.channels[0].config.IsMap());
  EXPECT_EQ(c.channels[1].id, "cabang_2");
  EXPECT_EQ(c.channels[1].config_line, 24);
  EXPECT_EQ(c.channels[1].config_column, 5);
  // The raw block is kept unsubstituted for the plugin's schema.
  EXPECT_EQ(c.channels[1].config["token"].Scalar(), "${WA_TOKEN}");
  ASSERT_EQ(c.ai.size(), 2u);
  EXPECT_EQ(c.ai[0].id, "mock");
  EXPECT_EQ(c.ai[0].plugin, "ai-mock");
  EXPECT_TRUE(c.ai[0].config.IsNull());
  EXPECT_EQ(c.ai[0].config_line, 0);
  EXPECT_EQ(c.ai[1].plugin, "ai-openai");
  EXPECT_TRUE(c.integrations.empty());

  EXPECT_FALSE(c.auto_reply.enabled);
  EXPECT_EQ(c.auto_reply.mode, "text");
  EXPECT_EQ(c.auto_reply.text, "Terima kasih!");
  EXPECT_EQ(c.auto_reply.ai, "mock");  // the first ai instance
  EXPECT_EQ(c.auto_reply.system_prompt, "Kamu asisten toko.");
  EXPECT_EQ(c.auto_reply.keywords,
            (std::map<std::string, std::string>{{"harga", "Daftar harga ada di katalog."},
                                                {"Jam Buka", "08.00-20.00"}}));
  EXPECT_EQ(c.auto_reply.answer_types,
            (std::set<std::string>{"text", "reaction", "request_welcome"}));
  EXPECT_TRUE(c.root.IsMap());
  // Secrets of instance blocks are found when the plugin's schema is applied, not here.
  EXPECT_TRUE(c.secrets.empty());
}

// A ${...} value is not checked for UTF-8 like the file (it may be a binary secret), so a
// message that shows it must not throw: found by config_fuzz.
TEST(LoadConfig, AnInvalidUtf8ValueFromTheEnvironmentIsReportedNotThrown) {
  LoadResult r = load("bus:\n  workers:\n    - \"${BAD}\"\n", {{"BAD", "\xff\xfe"}});
  EXPECT_FALSE(r.config.has_value());
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_NE(r.diagnostics[0].message.find("bus.workers"), std::string::npos)
      << r.diagnostics[0].message;
}

// Every input the fuzzer once crashed on loads without an exception and is refused.
TEST(LoadConfig, FuzzerFindingsStayFixed) {
  const auto findings = test::fuzzRegressions(WAFLOW_SOURCE_DIR, "config");
  for (const test::FuzzRegression& finding : findings) {
    LoadResult r;
    ASSERT_NO_THROW(r = load(finding.bytes)) << finding.path;
    EXPECT_FALSE(r.config.has_value()) << finding.path;
  }
  EXPECT_GE(findings.size(), 1u);
}

// yaml-cpp 0.7 reads a file that starts with ',' as an empty document; that would have run
// the daemon on defaults with the operator's settings ignored.
TEST(LoadConfig, ATokenTheParserCannotPassIsAnError) {
  LoadResult r = load(",server:\n  listen: :0\n");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 1);
  EXPECT_EQ(r.diagnostics[0].column, 1);
  EXPECT_EQ(r.diagnostics[0].message, "invalid YAML: unexpected ',' here");
}

// A second document used to be dropped without a word, and its settings with it.
TEST(LoadConfig, ASecondDocumentIsAnError) {
  LoadResult r = load("server:\n  listen: :0\n---\nlog:\n  level: debug\n");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 4);
  EXPECT_THAT(r.diagnostics[0].message, ::testing::HasSubstr("one document"));
  LoadResult leading = load("---\nserver:\n  listen: :0\n");
  EXPECT_TRUE(leading.config.has_value());
}

TEST(LoadConfig, IPv6AndAllInterfacesListen) {
  LoadResult v6 = load("server:\n  listen: \"[::1]:8443\"\n");
  ASSERT_TRUE(v6.config);
  EXPECT_EQ(v6.config->server.address, "::1");
  EXPECT_EQ(v6.config->server.port, 8443);
  LoadResult any = load("server:\n  listen: :0\n");
  ASSERT_TRUE(any.config);
  EXPECT_EQ(any.config->server.address, "0.0.0.0");
  EXPECT_EQ(any.config->server.port, 0);
}

TEST(LoadConfig, MetricsListenAndHeaderLimit) {
  LoadResult none = load("server:\n  listen: :0\n");
  ASSERT_TRUE(none.config);
  EXPECT_FALSE(none.config->server.metrics_listen);
  EXPECT_EQ(none.config->server.header_limit, 16u * 1024);
  LoadResult set = load("server:\n  metrics_listen: 127.0.0.1:9464\n  header_limit: 32KiB\n");
  ASSERT_TRUE(set.config);
  EXPECT_TRUE(set.config->server.metrics_listen);
  EXPECT_EQ(set.config->server.metrics_address, "127.0.0.1");
  EXPECT_EQ(set.config->server.metrics_port, 9464);
  EXPECT_EQ(set.config->server.header_limit, 32u * 1024);
}

struct ErrorCase {
  const char* name;
  const char* yaml;
  const char* expected;  // "line:col: text [kind]"
};

class LoadConfigError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoadConfigError, ReportsExactPositionAndMessage) {
  LoadResult r = load(GetParam().yaml);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(describe(r.diagnostics), (Lines{GetParam().expected}));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LoadConfigError,
    ::testing::Values(
        ErrorCase{"UnknownKey", "server:\n  threads: 2\nchanels:\n  a: {plugin: x}\n",
                  "3:1: unknown key 'chanels' (did you mean 'channels'?) [config-schema]"},
        ErrorCase{"WrongType", "bus:\n  workers: many\n",
                  "2:12: bus.workers: expected an integer, got 'many' [config-schema]"},
        ErrorCase{"EnumViolation", "log:\n  level: verbose\n",
                  "2:10: log.level: 'verbose' is not one of: trace, debug, info, warn, error "
                  "[config-schema]"},
        ErrorCase{"MissingPlugin", "channels:\n  toko:\n    config: {}\n",
                  "3:5: channels.toko.plugin: required key 'plugin' is missing [config-schema]"},
        ErrorCase{"BadDuration", "server:\n  read_timeout: 10 seconds\n",
                  "2:17: server.read_timeout: '10 seconds' has an unknown unit 'seconds' (write "
                  "a number with a unit: 250ms, 30s, 5m, 1h, 1h30m or 2d) [config-schema]"},
        ErrorCase{"BadSize", "server:\n  body_limit: 1M\n",
                  "2:15: server.body_limit: '1M' has an ambiguous unit 'M' (write KB/MB/GB for "
                  "powers of 1000, KiB/MiB/GiB for powers of 1024) [config-schema]"},
        ErrorCase{"PortOutOfRange", "server:\n  listen: 0.0.0.0:70000\n",
                  "2:19: server.listen: port 70000 is above the maximum 65535 (ports range from "
                  "0 to 65535; 0 picks a free port) [config-schema]"},
        ErrorCase{"ListenWithoutHost", "server:\n  listen: 8080\n",
                  "2:11: server.listen: '8080' has no port (write host:port: 127.0.0.1:8080 "
                  "for this machine only, 0.0.0.0:8080 for all interfaces) [config-schema]"},
        ErrorCase{"MetricsListenWithoutPort", "server:\n  metrics_listen: 127.0.0.1\n",
                  "2:19: server.metrics_listen: '127.0.0.1' has no port (write host:port: "
                  "127.0.0.1:8080 for this machine only, 0.0.0.0:8080 for all interfaces) "
                  "[config-schema]"},
        // Saved by an editor set to Windows-1252: caught before the YAML, at the byte (it used
        // to throw out of the validator's messages and end `waflow validate` and `waflow run`).
        ErrorCase{"NotUtf8", "auto_reply:\n  text: \"Selamat datang di caf\xe9\"\n",
                  "2:31: the file is not UTF-8: byte 0xE9 here is not a character (save the "
                  "file as UTF-8 (an editor set to Windows-1252 or Latin-1 writes letters such "
                  "as '\xc3\xa9' this way)) [config-yaml]"},
        ErrorCase{"DuplicateKey", "log:\n  level: info\n  level: debug\n",
                  "3:3: log: duplicate key 'level' (it is already defined at line 2; keep only "
                  "one of them) [config-yaml]"},
        ErrorCase{"YamlSyntax", "server:\n  listen: a: b\n",
                  "2:12: unexpected ':' here (a value cannot start a new mapping on the same "
                  "line; check the indentation, or put the value in quotes if it contains ': ') "
                  "[config-yaml]"},
        ErrorCase{"YamlUnclosedFlow", "plugins:\n  paths: [a, \"]\", b # ]\n",
                  "2:10: '[' is not closed by ']' (close the list, or put the text in quotes) "
                  "[config-yaml]"},
        ErrorCase{"TabIndentation", "server:\n\tthreads: 2\n",
                  "2:1: tab character in indentation (YAML indents with spaces only; replace the "
                  "tab with spaces) [config-yaml]"},
        ErrorCase{"BadInstanceId", "channels:\n  Toko Utama:\n    plugin: channel-sandbox\n",
                  "2:3: channels: instance id 'Toko Utama' does not match "
                  "^[a-z0-9][a-z0-9_-]{0,62}$ (ids may use lower-case letters, digits, '-' and "
                  "'_', start with a letter or digit, and have at most 63 characters; they "
                  "appear in URLs like /webhooks/<id>; e.g. 'toko-utama') [config-schema]"},
        ErrorCase{"YamlUnclosedFlowMap", "ai:\n  mock: {plugin: ai-mock\nlog: {level: info}\n",
                  "2:9: '{' is not closed by '}' (close the mapping, or put the text in quotes) "
                  "[config-yaml]"},
        ErrorCase{"BooleanYes", "auto_reply:\n  enabled: yes\n",
                  "2:12: auto_reply.enabled: expected true or false, got 'yes' (write true or "
                  "false; yes/no/on/off are not accepted) [config-schema]"},
        ErrorCase{"CapacityTooSmall", "bus:\n  capacity: 8\n",
                  "2:13: bus.capacity: 8 is below the minimum 16 [config-schema]"},
        ErrorCase{"TextModeWithoutText", "auto_reply:\n  enabled: true\n  mode: text\n",
                  "3:9: auto_reply.text: required when mode is 'text' (write the reply, e.g. "
                  "text: \"Terima kasih, pesan Anda sudah kami terima.\") [config-schema]"},
        ErrorCase{"TextModeWithEmptyText", "auto_reply:\n  mode: text\n  text: \"\"\n",
                  "3:3: auto_reply.text: required when mode is 'text' (write the reply, e.g. "
                  "text: \"Terima kasih, pesan Anda sudah kami terima.\") [config-schema]"},
        ErrorCase{"ChannelsAsList", "channels:\n  - plugin: channel-sandbox\n",
                  "1:1: channels: expected a mapping (key: value lines), got a list (write the "
                  "keys on the following lines, indented, or as { key: value }) [config-schema]"},
        ErrorCase{"UnknownAiInstance", "ai:\n  mock: {plugin: ai-mock}\nauto_reply:\n  ai: mok\n",
                  "4:7: auto_reply.ai: 'mok' is not an ai instance (did you mean 'mock'?) "
                  "[config-schema]"},
        ErrorCase{"UnknownAnswerType", "auto_reply:\n  answer_types: [text, reactions]\n",
                  "2:24: auto_reply.answer_types[1]: 'reactions' is not one of: text, image, "
                  "video, audio, document, sticker, location, contacts, interactive, button, "
                  "order, reaction, edit, revoke, request_welcome, system, unsupported, unknown "
                  "(did you mean 'reaction'?) [config-schema]"},
        ErrorCase{"TopLevelList", "- server\n",
                  "1:1: the top level must be a mapping of keys like 'server:' and 'channels:' "
                  "(see docs/configuration.md for the file's layout) [config-schema]"},
        ErrorCase{"UnsetEnv", "log:\n  file: ${LOG_FILE}\n",
                  "2:9: log.file: environment variable LOG_FILE is not set (export it or use "
                  "${LOG_FILE:-default}) [config-env]"}),
    [](const ::testing::TestParamInfo<ErrorCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(LoadConfig, AllErrorsOfAFileAreReportedSorted) {
  const char* text =
      "auto_reply:\n"           // 1
      "  ai: gpt\n"             // 2
      "server:\n"               // 3
      "  listen: host:99999\n"  // 4
      "  threads: -1\n"         // 5
      "log:\n"                  // 6
      "  level: loud\n"         // 7
      "channels:\n"             // 8
      "  BAD:\n"                // 9
      "    plugin: x\n"         // 10
      "  ok:\n"                 // 11
      "    pluginn: x\n"        // 12
      "chanels: {}\n";          // 13
  LoadResult r = load(text);
  EXPECT_FALSE(r.config);
  const Lines lines = describe(r.diagnostics);
  ASSERT_EQ(lines.size(), 8u) << ::testing::PrintToString(lines);
  const Lines positions = [&] {
    Lines out;
    for (const diag::Diagnostic& d : r.diagnostics) {
      out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column));
    }
    return out;
  }();
  EXPECT_EQ(positions, (Lines{"2:7", "4:16", "5:12", "7:10", "9:3", "12:5", "12:5", "13:1"}));
  EXPECT_EQ(lines[0],
            "2:7: auto_reply.ai: 'gpt' is not an ai instance (no ai instances are defined; add "
            "one under 'ai:') [config-schema]");
}

TEST(LoadConfig, EnvSubstitutionSetsValuesButOnlySecretKeysHoldSecrets) {
  LoadResult r = load(
      "server:\n  listen: ${LISTEN:-127.0.0.1:7070}\nlog:\n  level: ${LOG_LEVEL:-warn}\n"
      "auto_reply:\n  system_prompt: ${PROMPT}\nflows_dir: ${FLOWS_DIR:-./flows}\n",
      {{"PROMPT", "Jawab singkat."}});
  ASSERT_TRUE(r.config) << ::testing::PrintToString(describe(r.diagnostics));
  EXPECT_EQ(r.config->server.port, 7070);
  EXPECT_EQ(r.config->log.level, "warn");
  EXPECT_EQ(r.config->auto_reply.system_prompt, "Jawab singkat.");
  // None is a secret: redacting every ${...} value would turn every flow path in the logs into
  // ***. Keys the schema marks secret and ${file:} values are (tests below and in
  // schema_validator_test).
  EXPECT_TRUE(r.config->secrets.empty()) << ::testing::PrintToString(r.config->secrets);
}

TEST(LoadConfigFile, MissingAndEmptyPathsAreErrors) {
  LoadResult missing = loadConfigFile("/nonexistent/waflow.yaml", fakeEnv());
  EXPECT_FALSE(missing.config);
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  EXPECT_EQ(missing.diagnostics[0].message, "config file '/nonexistent/waflow.yaml' not found");
  EXPECT_EQ(missing.diagnostics[0].kind, "config-file");
  EXPECT_EQ(missing.diagnostics[0].line, 0);
  LoadResult empty = loadConfigFile("", fakeEnv());
  EXPECT_FALSE(empty.config);
  ASSERT_EQ(empty.diagnostics.size(), 1u);
  EXPECT_EQ(empty.diagnostics[0].kind, "config-file");
  TempDir dir;
  LoadResult directory = loadConfigFile(dir.path(), fakeEnv());
  ASSERT_EQ(directory.diagnostics.size(), 1u);
  EXPECT_EQ(directory.diagnostics[0].message, "config file '" + dir.path() + "' is a directory");
}

TEST(LoadConfigFile, FileSubstitutionIsRelativeToTheConfigFile) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/secrets");
  dir.write("secrets/prompt.txt", "Halo dari file\n");
  const std::string path =
      dir.write("waflow.yaml", "auto_reply:\n  system_prompt: ${file:secrets/prompt.txt}\n");
  LoadResult r = loadConfigFile(path, fakeEnv());
  ASSERT_TRUE(r.config) << ::testing::PrintToString(describe(r.diagnostics));
  EXPECT_EQ(r.config->auto_reply.system_prompt, "Halo dari file");
  EXPECT_EQ(r.config->secrets, (Lines{"Halo dari file"}));
  EXPECT_EQ(r.config->file, path);
  EXPECT_EQ(r.config->data_dir, dir.path() + "/data");

  const std::string bad = dir.write("bad.yaml", "log:\n  file: ${file:nope.txt}\n");
  LoadResult missing = loadConfigFile(bad, fakeEnv());
  EXPECT_FALSE(missing.config);
  EXPECT_EQ(describe(missing.diagnostics),
            (Lines{"2:9: log.file: cannot read file 'nope.txt' (" + dir.path() +
                   "/nope.txt): No such file or directory (relative paths start at the config "
                   "file's directory) [config-file]"}));
}

TEST(LoadConfigFile, RendersLikeActionlint) {
  TempDir dir;
  const std::string path = dir.write("waflow.yaml", "log:\n  levle: debug\n");
  LoadResult r = loadConfigFile(path, fakeEnv());
  diag::SourceCache sources;
  EXPECT_EQ(diag::renderText(r.diagnostics, sources),
            path +
                ":2:3: unknown key 'levle' in 'log' (did you mean 'level'?) [config-schema]\n"
                "  |\n"
                "2 |   levle: debug\n"
                "  |   ^~~~~\n");
}

TEST(ValidateInstanceConfig, UsesPluginSchemaPathAndPosition) {
  const char* text =
      "channels:\n"
      "  toko:\n"
      "    plugin: channel-cloudapi\n"
      "    config:\n"
      "      verify_token: ${VERIFY}\n"
      "      port: x\n"
      "  kosong:\n"
      "    plugin: channel-cloudapi\n";
  LoadResult r = load(text);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(describe(r.diagnostics));
  const json schema = json::parse(R"({"type": "object", "properties": {
      "verify_token": {"type": "string", "secret": true},
      "port": {"type": "integer", "default": 1}}, "required": ["verify_token"]})");
  ValidationResult toko = validateInstanceConfig(*r.config, r.config->channels[0], schema,
                                                 fakeEnv({{"VERIFY", "v-123"}}));
  EXPECT_EQ(describe(toko.diagnostics),
            (Lines{"6:13: channels.toko.config.port: expected an integer, got 'x' "
                   "[config-schema]"}));
  EXPECT_NE(std::find(toko.secrets.begin(), toko.secrets.end(), "v-123"), toko.secrets.end());

  // No config block: errors point at the instance.
  ValidationResult kosong =
      validateInstanceConfig(*r.config, r.config->channels[1], schema, fakeEnv());
  EXPECT_EQ(describe(kosong.diagnostics),
            (Lines{"7:3: channels.kosong.config.verify_token: required key 'verify_token' is "
                   "missing [config-schema]"}));
}

// docs/configuration.md must document every key of the schema.
void collectKeys(const json& schema, const std::string& path, Lines& out) {
  if (!schema.is_object()) {
    return;
  }
  if (auto props = schema.find("properties"); props != schema.end()) {
    for (const auto& [name, child] : props->items()) {
      const std::string child_path = path.empty() ? name : path + "." + name;
      out.push_back(child_path);
      collectKeys(child, child_path, out);
    }
  }
}

TEST(CoreConfigSchema, EveryKeyHasADescriptionAndIsDocumented) {
  Lines keys;
  collectKeys(coreConfigSchema(), "", keys);
  ASSERT_GT(keys.size(), 25u);
  std::ifstream in(std::string(WAFLOW_DOCS_DIR) + "/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md missing";
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string docs = buffer.str();
  for (const std::string& key : keys) {
    EXPECT_NE(docs.find("`" + key + "`"), std::string::npos) << key << " is not documented";
  }
}

TEST(CoreConfigSchema, EveryPropertyIsDescribed) {
  std::function<void(const json&, const std::string&)> check = [&](const json& schema,
                                                                   const std::string& path) {
    if (auto props = schema.find("properties"); props != schema.end()) {
      for (const auto& [name, child] : props->items()) {
        EXPECT_TRUE(child.contains("description")) << path << name;
        check(child, path + name + ".");
      }
    }
    if (auto extra = schema.find("additionalProperties");
        extra != schema.end() && extra->is_object()) {
      check(*extra, path + "*.");
    }
  };
  check(coreConfigSchema(), "");
}

}  // namespace
}  // namespace waflow::core::config
