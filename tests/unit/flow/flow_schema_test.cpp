// The published schema (docs/schema/flow.schema.json) is the one the loader uses, it covers the
// model's kinds, documents every key, and editors (a real JSON Schema validator) accept the valid
// fixtures and reject the structurally invalid ones, as the loader does.
#include "flow/flow_schema.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "flow/flow.h"
#include "flow_test_support.h"

namespace waflow::core::flow {
namespace {

using nlohmann::json;

std::string readText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> keysOf(const json& object) {
  std::vector<std::string> keys;
  for (auto it = object.begin(); it != object.end(); ++it) {
    keys.push_back(it.key());
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<std::string> sorted(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  return items;
}

TEST(FlowSchemaTest, EmbeddedSchemaIsTheDocsFileByteForByte) {
  EXPECT_EQ(flowSchemaText(),
            readText(std::filesystem::path(WAFLOW_DOCS_DIR) / "schema" / "flow.schema.json"));
}

TEST(FlowSchemaTest, KindsInTheSchemaAreTheKindsOfTheModel) {
  const json& schema = flowSchema();
  const json& step = schema["properties"]["steps"]["items"];
  std::vector<std::string> expected = stepKinds();
  for (const char* common : {"id", "name", "if", "on_error", "timeout", "retry"}) {
    expected.push_back(common);
  }
  EXPECT_EQ(keysOf(step["properties"]), sorted(expected));
  std::vector<std::string> one_of;
  for (const json& option : step["oneOf"]) {
    one_of.push_back(option["required"][0].get<std::string>());
  }
  EXPECT_EQ(one_of, stepKinds());

  const json& trigger = schema["properties"]["triggers"]["items"];
  std::vector<std::string> trigger_kinds;
  for (const json& kind : trigger["properties"]["on"]["enum"]) {
    trigger_kinds.push_back(kind.get<std::string>());
  }
  std::vector<std::string> with_keys;
  for (const auto& [kind, keys] : triggerKeys()) {
    with_keys.push_back(kind);
    for (const std::string& key : keys.allowed) {
      EXPECT_TRUE(trigger["properties"].contains(key)) << kind << " allows unknown key " << key;
    }
  }
  EXPECT_EQ(sorted(trigger_kinds), with_keys);
  EXPECT_EQ(triggerKeys().at("schedule").required, std::vector<std::string>{"tz"});

  EXPECT_EQ(keysOf(schema["properties"]["conditions"]["items"]["properties"]),
            sorted({"keywords", "regex", "business_hours", "contact", "conversation", "lua"}));
}

// Editors show descriptions on hover and completion: every key has one.
void expectDescriptions(const json& node, const std::string& path) {
  if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) {
      expectDescriptions(node[i], path + "[" + std::to_string(i) + "]");
    }
    return;
  }
  if (!node.is_object()) {
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.key() == "if") {
      continue;  // the trigger-kind tests of allOf, not keys anyone writes
    }
    if (it.key() == "properties") {
      for (auto p = it->begin(); p != it->end(); ++p) {
        if (p->is_object()) {
          EXPECT_TRUE(p->contains("description")) << path << "." << p.key();
        }
      }
    }
    expectDescriptions(*it, path + "/" + it.key());
  }
}

TEST(FlowSchemaTest, EveryPropertyHasADescription) {
  expectDescriptions(flowSchema(), "");
}

TEST(FlowSchemaTest, InlineDefinitionsReplacesReferencesKeepingSiblings) {
  const json document = json::parse(R"({
    "properties": {"a": {"$ref": "#/definitions/d", "description": "mine"}},
    "definitions": {"d": {"type": "string", "description": "theirs", "minLength": 1}}})");
  const json inlined = inlineDefinitions(document);
  EXPECT_EQ(inlined["properties"]["a"],
            json::parse(R"({"type": "string", "description": "mine", "minLength": 1})"));
  EXPECT_FALSE(inlined.contains("definitions"));
  EXPECT_THROW(inlineDefinitions(json::parse(R"({"$ref": "#/definitions/missing"})")),
               std::runtime_error);
  EXPECT_THROW(
      inlineDefinitions(json::parse(
          R"({"$ref": "#/definitions/a", "definitions": {"a": {"$ref": "#/definitions/a"}}})")),
      std::runtime_error);
}

std::string dashed(std::string text) {
  std::replace(text.begin(), text.end(), '.', '-');
  std::replace(text.begin(), text.end(), '_', '-');
  return text;
}

TEST(FlowSchemaTest, DocsHaveASectionForEveryKindAndLinkTarget) {
  const std::string docs = readText(std::filesystem::path(WAFLOW_DOCS_DIR) / "flows.md");
  std::vector<std::string> anchors = {"flow-file",  "mode",  "priority",     "triggers",
                                      "conditions", "steps", "step-options", "templates",
                                      "durations",  "regex", "time-zones",   "cron",
                                      "validation", "editor"};
  for (const std::string& kind : stepKinds()) {
    anchors.push_back("step-" + kind);
  }
  for (const auto& [kind, unused] : triggerKeys()) {
    anchors.push_back("trigger-" + dashed(kind));
  }
  for (const auto& [kind, unused] :
       flowSchema()["properties"]["conditions"]["items"]["properties"].items()) {
    anchors.push_back("condition-" + dashed(kind));
  }
  for (const std::string& anchor : anchors) {
    EXPECT_NE(docs.find("<a id=\"" + anchor + "\"></a>"), std::string::npos) << anchor;
  }
  // The modeline the docs recommend points at the published schema.
  EXPECT_NE(docs.find("# yaml-language-server: $schema=../docs/schema/flow.schema.json"),
            std::string::npos);
}

// YAML 1.2 core schema, as yaml-language-server reads files: quoted scalars are text, plain
// ones may be null, booleans or numbers.
json toJson(const YAML::Node& node) {
  if (node.IsMap()) {
    json out = json::object();
    for (auto it = node.begin(); it != node.end(); ++it) {
      out[it->first.Scalar()] = toJson(it->second);
    }
    return out;
  }
  if (node.IsSequence()) {
    json out = json::array();
    for (const YAML::Node& item : node) {
      out.push_back(toJson(item));
    }
    return out;
  }
  if (!node.IsDefined() || node.IsNull()) {
    return nullptr;
  }
  const std::string& text = node.Scalar();
  if (node.Tag() != "?") {
    return text;
  }
  static const std::regex kInt("^[-+]?[0-9]+$");
  static const std::regex kFloat("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");
  if (text == "true" || text == "True" || text == "TRUE") {
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return false;
  }
  if (std::regex_match(text, kInt)) {
    return std::stoll(text);
  }
  if (std::regex_match(text, kFloat)) {
    return std::stod(text);
  }
  return text;
}

TEST(FlowSchemaTest, EditorsAcceptValidFixturesAndRejectStructurallyInvalidOnes) {
  char dir_template[] = "/tmp/waflow-flow-schema-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir = dir_template;

  std::map<std::string, bool> must_accept;  // json file -> accepted?
  auto add = [&](const std::filesystem::path& yaml, bool accept) {
    const std::filesystem::path out = dir / (yaml.stem().string() + ".json");
    std::ofstream(out) << toJson(YAML::LoadFile(yaml.string())).dump(2);
    must_accept[out.string()] = accept;
  };
  for (const auto& file : testing::yamlFiles(testing::fixtures() / "valid")) {
    add(file, true);
  }
  size_t rejected = 0;
  for (const auto& file : testing::yamlFiles(testing::fixtures() / "invalid")) {
    std::filesystem::path expected = file;
    expected.replace_extension(".expected");
    if (readText(expected).find("# schema: reject") != std::string::npos) {
      add(file, false);
      ++rejected;
    }
  }
  ASSERT_GE(rejected, 4u);

  std::string command = std::string("python3 '") + WAFLOW_FLOW_SCHEMA_CHECK + "' '" +
                        WAFLOW_DOCS_DIR + "/schema/flow.schema.json'";
  for (const auto& [file, unused] : must_accept) {
    command += " '" + file + "'";
  }
  command += " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) {
    output.append(buffer, n);
  }
  const int status = pclose(pipe);
  std::filesystem::remove_all(dir);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
    GTEST_SKIP() << "python3 with the jsonschema package is needed for this test: " << output;
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  for (const auto& [file, accept] : must_accept) {
    const bool ok = output.find("ok " + file + "\n") != std::string::npos;
    const bool error = output.find("error " + file + ":") != std::string::npos;
    EXPECT_TRUE(ok || error) << file << " missing from:\n" << output;
    EXPECT_EQ(ok, accept) << file << ":\n" << output;
  }
}

}  // namespace
}  // namespace waflow::core::flow
