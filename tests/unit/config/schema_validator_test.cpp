#include "config/schema_validator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>

namespace waflow::core::config {
namespace {

using nlohmann::json;

SubstitutionContext envContext(std::map<std::string, std::string> vars = {}) {
  SubstitutionContext context;
  context.env = [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
  return context;
}

ValidationResult run(const std::string& yaml, const json& schema,
                     std::map<std::string, std::string> env = {}, std::string_view path = "") {
  return validateNode(YAML::Load(yaml), schema, envContext(std::move(env)), "t.yaml", path);
}

// "line:col: message (hint) [kind]" for compact, exact assertions.
std::vector<std::string> describe(const ValidationResult& result) {
  std::vector<std::string> out;
  for (const diag::Diagnostic& d : result.diagnostics) {
    EXPECT_EQ(d.file, "t.yaml");
    out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.text() + " [" +
                  d.kind + "]");
  }
  return out;
}

using Lines = std::vector<std::string>;

// A file with `content`, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string pattern = "/tmp/waflow-validator-XXXXXX";
    const int fd = mkstemp(pattern.data());
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = pattern;
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const json kServerSchema = json::parse(R"({
  "type": "object",
  "properties": {
    "server": {
      "type": "object",
      "properties": {
        "port": {"type": "integer", "minimum": 0, "maximum": 65535, "default": 8080},
        "host": {"type": "string", "default": "127.0.0.1"},
        "threads": {"type": "integer", "default": 0},
        "debug": {"type": "boolean", "default": false},
        "timeout": {"type": "string", "format": "duration", "minimum": 1000, "default": "10s"},
        "limit": {"type": ["string", "integer"], "format": "size", "default": "1MiB"}
      }
    },
    "log": {
      "type": "object",
      "properties": {
        "level": {"type": "string", "enum": ["trace", "debug", "info", "warn", "error"],
                  "default": "info"}
      }
    },
    "channels": {"type": "object", "default": {}}
  }
})");

TEST(ValidateNode, ConvertsScalarsAsTheSchemaSays) {
  const json schema = json::parse(R"({"type": "object", "properties": {
      "as_text": {"type": "string"}, "as_int": {"type": "integer"}, "as_num": {"type": "number"},
      "quoted_int": {"type": "integer"}, "as_bool": {"type": "boolean"},
      "either": {"type": ["integer", "string"]}, "either_quoted": {"type": ["integer", "string"]}}})");
  ValidationResult r =
      run("as_text: 8080\nas_int: 8080\nas_num: 2.5\nquoted_int: \"42\"\nas_bool: true\n"
          "either: 7\neither_quoted: \"7\"\n",
          schema);
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(describe(r));
  EXPECT_EQ(r.value["as_text"], "8080");
  EXPECT_EQ(r.value["as_int"], 8080);
  EXPECT_TRUE(r.value["as_int"].is_number_integer());
  EXPECT_EQ(r.value["as_num"], 2.5);
  EXPECT_EQ(r.value["quoted_int"], 42);
  EXPECT_EQ(r.value["as_bool"], true);
  EXPECT_EQ(r.value["either"], 7);
  EXPECT_EQ(r.value["either_quoted"], "7");
}

TEST(ValidateNode, UntypedValuesConvertNaturally) {
  ValidationResult r =
      run("a: 1\nb: 2.5\nc: true\nd: \"true\"\ne: hello\nf: ~\ng: [1, x]\n"
          "h: {k: v}\ni: yes\n",
          json::object());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value, json::parse(R"({"a": 1, "b": 2.5, "c": true, "d": "true", "e": "hello",
                                     "f": null, "g": [1, "x"], "h": {"k": "v"}, "i": "yes"})"));
}

TEST(ValidateNode, WrongTypeNamesPathExpectationAndValue) {
  ValidationResult r = run("server:\n  port: abc\n  threads: 1.5\n", kServerSchema);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(describe(r), (Lines{"2:9: server.port: expected an integer, got 'abc' [config-schema]",
                                "3:12: server.threads: expected an integer, got '1.5' "
                                "[config-schema]"}));
  EXPECT_EQ(r.diagnostics[0].length, 3);
}

TEST(ValidateNode, WrongCollectionTypePointsAtTheKey) {
  ValidationResult r = run("server:\n  - port: 1\nlog: quiet\n", kServerSchema);
  EXPECT_EQ(describe(r),
            (Lines{"1:1: server: expected a mapping (key: value lines), got a list (write the keys "
                   "on the following lines, indented, or as { key: value }) [config-schema]",
                   "3:6: log: expected a mapping (key: value lines), got 'quiet' (write the keys "
                   "on the following lines, indented, or as { key: value }) [config-schema]"}));
}

TEST(ValidateNode, BooleansAreOnlyTrueOrFalse) {
  ValidationResult r = run("server:\n  debug: yes\n", kServerSchema);
  EXPECT_EQ(describe(r), (Lines{"2:10: server.debug: expected true or false, got 'yes' (write "
                                "true or false; yes/no/on/off are not accepted) [config-schema]"}));
  EXPECT_TRUE(run("server:\n  debug: False\n", kServerSchema).ok());
}

TEST(ValidateNode, EnumViolationListsOptionsAndSuggests) {
  EXPECT_EQ(describe(run("log:\n  level: verbose\n", kServerSchema)),
            (Lines{"2:10: log.level: 'verbose' is not one of: trace, debug, info, warn, error "
                   "[config-schema]"}));
  EXPECT_EQ(describe(run("log:\n  level: inof\n", kServerSchema)),
            (Lines{"2:10: log.level: 'inof' is not one of: trace, debug, info, warn, error (did "
                   "you mean 'info'?) [config-schema]"}));
}

TEST(ValidateNode, UnknownKeyPointsAtTheKeyWithSuggestion) {
  ValidationResult r =
      run("server:\n  port: 1\n  prot: 2\n  wibble: 3\nchanels: {}\n", kServerSchema);
  EXPECT_EQ(describe(r),
            (Lines{"3:3: unknown key 'prot' in 'server' (did you mean 'port'?) [config-schema]",
                   "4:3: unknown key 'wibble' in 'server' (known keys: debug, host, limit, port, "
                   "threads, timeout) [config-schema]",
                   "5:1: unknown key 'chanels' (did you mean 'channels'?) [config-schema]"}));
  EXPECT_EQ(r.diagnostics[2].length, 7);
  // The valid sibling still converts.
  EXPECT_EQ(r.value["server"]["port"], 1);
}

TEST(ValidateNode, MergeKeysGetAnExplanation) {
  EXPECT_EQ(describe(run("server:\n  <<: {port: 1}\n", kServerSchema)),
            (Lines{"2:3: unknown key '<<' in 'server' (YAML merge keys are not supported; repeat "
                   "the keys instead) [config-schema]"}));
}

TEST(ValidateNode, MissingRequiredKeyPointsAtTheParentMapping) {
  const json schema = json::parse(R"({"type": "object", "properties": {
      "a": {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "string"}},
            "required": ["x", "y"]}}})");
  EXPECT_EQ(describe(run("a:\n    y: 1\n", schema)),
            (Lines{"2:5: a.x: required key 'x' is missing [config-schema]"}));
  // Flow mapping: at its '{'.
  EXPECT_EQ(describe(run("a: {y: 1}\n", schema)),
            (Lines{"1:4: a.x: required key 'x' is missing [config-schema]"}));
  // Empty value: at the key, since yaml-cpp has no position for an empty value.
  EXPECT_EQ(describe(run("a:\nb: 1\n", json::parse(R"({"properties": {"b": {},
      "a": {"type": "object", "properties": {"x": {}}, "required": ["x"]}}})"))),
            (Lines{"1:1: a.x: required key 'x' is missing [config-schema]"}));
}

TEST(ValidateNode, DuplicateKeysAreErrorsAndTheFirstValueWins) {
  ValidationResult r = run("server:\n  port: 1\n  host: h\n  port: 2\n", kServerSchema);
  EXPECT_EQ(describe(r), (Lines{"4:3: server: duplicate key 'port' (it is already defined at line "
                                "2; keep only one of them) [config-yaml]"}));
  EXPECT_EQ(r.value["server"]["port"], 1);
  // Also inside untyped blocks.
  EXPECT_EQ(describe(run("channels:\n  a: 1\n  a: 2\n", kServerSchema)).size(), 1u);
}

TEST(ValidateNode, DefaultsAreFilledIncludingInAbsentBlocks) {
  ValidationResult r = run("server:\n  port: 9000\n  host:\n", kServerSchema);
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(describe(r));
  EXPECT_EQ(r.value["server"]["port"], 9000);
  EXPECT_EQ(r.value["server"]["host"], "127.0.0.1");  // empty value takes the default
  EXPECT_EQ(r.value["server"]["threads"], 0);
  EXPECT_EQ(r.value["server"]["timeout"], 10'000);  // default converted like a value
  EXPECT_EQ(r.value["server"]["limit"], 1'048'576);
  EXPECT_EQ(r.value["log"]["level"], "info");  // absent block, members' defaults
  EXPECT_EQ(r.value["channels"], json::object());
  ValidationResult empty = run("", kServerSchema);
  EXPECT_TRUE(empty.ok());
  EXPECT_EQ(empty.value["server"]["port"], 8080);
}

TEST(ValidateNode, DurationsAndSizesConvertToMillisecondsAndBytes) {
  ValidationResult r = run("server:\n  timeout: 1h30m\n  limit: 64KiB\n", kServerSchema);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value["server"]["timeout"], 5'400'000);
  EXPECT_EQ(r.value["server"]["limit"], 65'536);
  EXPECT_EQ(run("server:\n  limit: 4096\n", kServerSchema).value["server"]["limit"], 4096);
}

TEST(ValidateNode, BadDurationAndSizeAreReportedAtTheValue) {
  ValidationResult r = run("server:\n  timeout: 30\n  limit: 1M\n", kServerSchema);
  EXPECT_EQ(describe(r),
            (Lines{"2:12: server.timeout: '30' has no unit (write a number with a unit: 250ms, "
                   "30s, 5m, 1h, 1h30m or 2d) [config-schema]",
                   "3:10: server.limit: '1M' has an ambiguous unit 'M' (write KB/MB/GB for powers "
                   "of 1000, KiB/MiB/GiB for powers of 1024) [config-schema]"}));
}

TEST(ValidateNode, RangeErrorsUseTheValuesUnits) {
  EXPECT_EQ(describe(run("server:\n  port: 70000\n", kServerSchema)),
            (Lines{"2:9: server.port: 70000 is above the maximum 65535 [config-schema]"}));
  EXPECT_EQ(describe(run("server:\n  port: -1\n", kServerSchema)),
            (Lines{"2:9: server.port: -1 is below the minimum 0 [config-schema]"}));
  EXPECT_EQ(describe(run("server:\n  timeout: 500ms\n", kServerSchema)),
            (Lines{"2:12: server.timeout: '500ms' is below the minimum 1s [config-schema]"}));
}

TEST(ValidateNode, StringAndArrayConstraints) {
  const json schema = json::parse(R"({"type": "object", "properties": {
      "id": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 5},
      "tags": {"type": "array", "items": {"type": "string", "minLength": 1},
               "minItems": 1, "maxItems": 2}}})");
  EXPECT_EQ(describe(run("id: Toko\n", schema)),
            (Lines{"1:5: id: 'Toko' does not match the pattern ^[a-z]+$ [config-schema]"}));
  EXPECT_EQ(describe(run("id: a\n", schema)),
            (Lines{"1:5: id: must be at least 2 characters long, got 1 [config-schema]"}));
  EXPECT_EQ(describe(run("id: abcdef\n", schema)),
            (Lines{"1:5: id: must be at most 5 characters long, got 6 [config-schema]"}));
  EXPECT_EQ(describe(run("tags: []\n", schema)),
            (Lines{"1:1: tags: has 0 items; at least 1 are required [config-schema]"}));
  EXPECT_EQ(describe(run("tags:\n  - a\n  - b\n  - c\n", schema)),
            (Lines{"1:1: tags: has 3 items; at most 2 are allowed [config-schema]"}));
  EXPECT_EQ(describe(run("tags:\n  - a\n  - [x]\n  - \"\"\n", schema)),
            (Lines{"3:5: tags[1]: expected a text, got a list [config-schema]",
                   "4:5: tags[2]: must not be empty [config-schema]"}));
}

TEST(ValidateNode, AdditionalPropertiesSchemaGivesMapSemantics) {
  const json schema = json::parse(R"({"type": "object", "properties": {
      "channels": {"type": "object", "additionalProperties": {
          "type": "object", "properties": {"plugin": {"type": "string"}}, "required": ["plugin"]}}}})");
  ValidationResult r = run("channels:\n  a:\n    plugin: p\n  b:\n    plugn: p\n", schema);
  EXPECT_EQ(describe(r),
            (Lines{"5:5: unknown key 'plugn' in 'channels.b' (did you mean 'plugin'?) "
                   "[config-schema]",
                   "5:5: channels.b.plugin: required key 'plugin' is missing [config-schema]"}));
  EXPECT_EQ(r.value["channels"]["a"]["plugin"], "p");
}

TEST(ValidateNode, SeveralErrorsAreAllReportedSortedByPosition) {
  ValidationResult r =
      run("log:\n  level: loud\nserver:\n  threads: x\n  port: 99999\n  debug: on\nextra: 1\n",
          kServerSchema);
  const Lines lines = describe(r);
  ASSERT_EQ(lines.size(), 5u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0].substr(0, 5), "2:10:");
  EXPECT_EQ(lines[1].substr(0, 5), "4:12:");
  EXPECT_EQ(lines[2].substr(0, 4), "5:9:");
  EXPECT_EQ(lines[3].substr(0, 5), "6:10:");
  EXPECT_EQ(lines[4].substr(0, 4), "7:1:");
}

TEST(ValidateNode, SubstitutionErrorsPointAtTheExpression) {
  const json schema = json::parse(R"({"properties": {"token": {"type": "string"}}})");
  EXPECT_EQ(describe(run("token: Bearer ${WA_TOKEN}\n", schema)),
            (Lines{"1:15: token: environment variable WA_TOKEN is not set (export it or use "
                   "${WA_TOKEN:-default}) [config-env]"}));
  ValidationResult r = run("token: Bearer ${WA_TOKEN}\n", schema);
  EXPECT_EQ(r.diagnostics[0].length, 11);
  // Quoted scalars: at the scalar, whose source text differs from its value.
  EXPECT_EQ(describe(run("token: \"Bearer ${WA_TOKEN}\"\n", schema)),
            (Lines{"1:8: token: environment variable WA_TOKEN is not set (export it or use "
                   "${WA_TOKEN:-default}) [config-env]"}));
}

TEST(ValidateNode, SubstitutedValuesAreSecretsOnlyUnderSecretKeysOrFromFiles) {
  const json schema = json::parse(R"({"properties": {
      "token": {"type": "string"}, "port": {"type": "integer"},
      "level": {"type": "string", "enum": ["info", "debug"]},
      "literal": {"type": "string"}, "raw": {},
      "key": {"type": "string", "secret": true},
      "headers": {"type": "object", "additionalProperties": {"type": "string"},
                  "x-secret-substitutions": true}}})");
  ValidationResult r =
      run("token: Bearer ${WA_TOKEN}\nport: ${PORT:-8080}\nlevel: ${LEVEL:-info}\n"
          "literal: $${NOT_ENV}\nraw: ${RAW}\nkey: ${KEY}\n"
          "headers: {Authorization: 'Bearer ${PAY}', Accept: application/json}\n",
          schema, {{"WA_TOKEN", "abc123"}, {"RAW", "r4w"}, {"KEY", "k3y-value"}, {"PAY", "p4y"}});
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(describe(r));
  EXPECT_EQ(r.value["token"], "Bearer abc123");
  EXPECT_EQ(r.value["port"], 8080);
  EXPECT_EQ(r.value["level"], "info");
  EXPECT_EQ(r.value["literal"], "${NOT_ENV}");
  EXPECT_EQ(r.value["raw"], "r4w");  // substituted values stay text in untyped places
  EXPECT_EQ(r.value["headers"]["Authorization"], "Bearer p4y");
  // The secret key's value and the ${...} value under x-secret-substitutions; not the literal
  // header, and not the ${ENV} values of ordinary keys.
  EXPECT_EQ(r.secrets, (std::vector<std::string>{"k3y-value", "p4y"}));
}

TEST(ValidateNode, FileSubstitutionsAreSecretsAnywhere) {
  TempFile file("from-a-file\n");
  const json schema = json::parse(R"({"properties": {"prompt": {"type": "string"}}})");
  ValidationResult r = run("prompt: x ${file:" + file.path() + "}\n", schema);
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(describe(r));
  EXPECT_EQ(r.secrets, (std::vector<std::string>{"from-a-file"}));
}

TEST(ValidateNode, SubstitutedValuesAreNeverQuotedInMessages) {
  const json schema = json::parse(R"({"properties": {"port": {"type": "integer",
      "maximum": 65535}, "key": {"type": "string", "minLength": 10, "secret": true},
      "timeout": {"type": "string", "format": "duration"},
      "level": {"type": "string", "enum": ["info", "debug"]},
      "name": {"type": "string", "pattern": "^[a-z]+$"}}})");
  EXPECT_EQ(describe(run("port: ${PORT}\n", schema, {{"PORT", "80a"}})),
            (Lines{"1:7: port: expected an integer, got the value of '${PORT}' "
                   "[config-schema]"}));
  ValidationResult r = run("key: ${KEY}\n", schema, {{"KEY", "short"}});
  EXPECT_EQ(describe(r),
            (Lines{"1:6: key: must be at least 10 characters long, got 5 [config-schema]"}));
  // A token pointed at by mistake from a typed setting: named, never shown.
  const std::map<std::string, std::string> env = {{"WA_TOKEN", "EAAGsecret99999"}};
  for (const char* yaml :
       {"timeout: ${WA_TOKEN}\n", "port: ${WA_TOKEN}\n", "level: ${WA_TOKEN}\n",
        "name: ${WA_TOKEN}\n", "port: 9${WA_TOKEN:-}99999\n"}) {
    ValidationResult bad = run(yaml, schema, env);
    ASSERT_FALSE(bad.ok()) << yaml;
    for (const std::string& line : describe(bad)) {
      EXPECT_EQ(line.find("EAAGsecret99999"), std::string::npos) << line;
      EXPECT_NE(line.find("the value of '"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(describe(run("timeout: ${WA_TOKEN}\n", schema, env)),
            (Lines{"1:10: timeout: the value of '${WA_TOKEN}' is not a valid duration (write a "
                   "number with a unit: 250ms, 30s, 5m, 1h, 1h30m or 2d) [config-schema]"}));
  EXPECT_EQ(describe(run("port: ${BIG}\n", schema, {{"BIG", "99999"}})),
            (Lines{"1:7: port: the value of '${BIG}' is above the maximum 65535 "
                   "[config-schema]"}));
}

TEST(ValidateNode, MistypedOrDuplicatedSecretKeysKeepTheirValuesHidden) {
  const json schema = json::parse(R"({"properties": {
      "access_token": {"type": "string", "secret": true}, "name": {"type": "string"}}})");
  ValidationResult mistyped = run("acces_token: EAAG-typo-value\nnam: visible\n", schema);
  EXPECT_FALSE(mistyped.ok());
  // Reported for the renderer to mask; an ordinary key's value is not.
  EXPECT_EQ(mistyped.secrets, (std::vector<std::string>{"EAAG-typo-value"}));

  ValidationResult duplicated =
      run("access_token: ${TOKEN}\naccess_token: EAAG-second-value\nname: a\nname: b\n"
          "my_password: hunter22\nmy_password: hunter33\n",
          json::parse(R"({"properties": {"access_token": {"type": "string", "secret": true},
                      "name": {"type": "string"}, "my_password": {"type": "string"}}})"),
          {{"TOKEN", "EAAG-first-value"}});
  EXPECT_FALSE(duplicated.ok());
  EXPECT_EQ(duplicated.secrets,
            (std::vector<std::string>{"EAAG-first-value", "EAAG-second-value", "hunter33"}));
}

TEST(ValidateNode, SecretKeywordCollectsValueAndWarnsWhenWrittenInPlainText) {
  const json schema = json::parse(R"({"properties": {"key": {"type": "string", "secret": true}}})");
  ValidationResult plain = run("key: hunter2\n", schema);
  EXPECT_TRUE(plain.ok());  // a warning, not an error
  EXPECT_EQ(plain.secrets, (std::vector<std::string>{"hunter2"}));
  EXPECT_EQ(describe(plain),
            (Lines{"1:6: key: secret written in the file in plain text (put it in an environment "
                   "variable and write ${NAME}, or in a file and write ${file:path}) "
                   "[config-secret]"}));
  EXPECT_EQ(plain.diagnostics[0].severity, diag::Severity::kWarning);
  ValidationResult from_env = run("key: ${KEY}\n", schema, {{"KEY", "hunter2"}});
  EXPECT_TRUE(from_env.diagnostics.empty());
  EXPECT_NE(std::find(from_env.secrets.begin(), from_env.secrets.end(), "hunter2"),
            from_env.secrets.end());
}

TEST(ValidateNode, PluginSchemaValidatesANestedConfigBlockInPlace) {
  const std::string file =
      "channels:\n"
      "  toko:\n"
      "    plugin: channel-cloudapi\n"
      "    config:\n"
      "      port: nine\n"
      "      verfy_token: x\n";
  const json plugin_schema = json::parse(R"({"type": "object", "properties": {
      "verify_token": {"type": "string", "secret": true},
      "port": {"type": "integer", "default": 1}}, "required": ["verify_token"]})");
  const YAML::Node root = YAML::Load(file);
  ValidationResult r = validateNode(root["channels"]["toko"]["config"], plugin_schema, envContext(),
                                    "t.yaml", "channels.toko.config");
  EXPECT_EQ(describe(r),
            (Lines{"5:7: channels.toko.config.verify_token: required key 'verify_token' is "
                   "missing [config-schema]",
                   "5:13: channels.toko.config.port: expected an integer, got 'nine' "
                   "[config-schema]",
                   "6:7: unknown key 'verfy_token' in 'channels.toko.config' (did you mean "
                   "'verify_token'?) [config-schema]"}));

  ValidationResult good =
      validateNode(YAML::Load("config:\n  verify_token: ${VT}\n")["config"], plugin_schema,
                   envContext({{"VT", "tok"}}), "t.yaml", "channels.toko.config");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value, json::parse(R"({"verify_token": "tok", "port": 1})"));
  EXPECT_EQ(good.secrets, (std::vector<std::string>{"tok"}));
}

TEST(ValidateNode, AbsentNodeUsesTheFallbackPosition) {
  const json schema = json::parse(R"({"type": "object", "properties": {"x": {"type": "string"}},
                                      "required": ["x"]})");
  ValidateOptions options;
  options.fallback_line = 7;
  options.fallback_column = 3;
  options.kind_prefix = "flow";
  ValidationResult r =
      validateNode(YAML::Node(), schema, envContext(), "t.yaml", "a.config", options);
  EXPECT_EQ(describe(r), (Lines{"7:3: a.config.x: required key 'x' is missing [flow-schema]"}));
  // A missing key looked up on a const node is a "zombie" node: handled the same way.
  const YAML::Node root = YAML::Load("a: 1\n");
  ValidationResult zombie =
      validateNode(root["missing"], schema, envContext(), "t.yaml", "m", options);
  EXPECT_EQ(describe(zombie), (Lines{"7:3: m.x: required key 'x' is missing [flow-schema]"}));
}

TEST(ValidateNode, RawBlocksAreNeitherDescendedNorSubstituted) {
  const json schema =
      json::parse(R"({"properties": {"config": {"type": "object", "x-raw": true}}})");
  ValidationResult r = run("config:\n  token: ${UNSET}\n  n: 5\n", schema);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.value["config"], json::parse(R"({"token": "${UNSET}", "n": 5})"));
  EXPECT_TRUE(r.secrets.empty());
  EXPECT_EQ(describe(run("config: 5\n", schema)),
            (Lines{"1:9: config: expected a mapping (key: value lines) (write the keys on the "
                   "following lines, indented, or as { key: value }) [config-schema]"}));
}

TEST(ValidateNode, EmptyValueWhereTextIsExpected) {
  const json schema = json::parse(R"({"properties": {"name": {"type": "string"}}})");
  EXPECT_EQ(describe(run("name:\n", schema)),
            (Lines{"1:1: name: has no value; expected a text (write \"\" for an empty text) "
                   "[config-schema]"}));
}

TEST(ValidateNode, InvalidSchemaPatternIsReportedAsASchemaBug) {
  const json schema =
      json::parse(R"({"properties": {"name": {"type": "string", "pattern": "(["}}})");
  ValidationResult r = run("name: x\n", schema);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].hint,
            "this is a bug in the schema (core or plugin), not in your file");
}

}  // namespace
}  // namespace waflow::core::config
