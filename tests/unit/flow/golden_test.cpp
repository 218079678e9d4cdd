// Golden tests: every tests/flows/invalid/*.yaml is loaded together with the valid fixtures,
// and its diagnostics must be exactly those listed in the .expected file beside it, one per
// line as `line:col: text [kind]`, where text is a substring of "message (hint)". Lines
// starting with '#' are comments. WAFLOW_FLOW_GOLDEN_PRINT=1 prints the actual diagnostics.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "flow_test_support.h"

namespace waflow::core::flow {
namespace {

using testing::fixtureOptions;
using testing::fixtures;
using testing::yamlFiles;

struct Expected {
  int line = 0;
  int column = 0;
  std::string text;  // a substring of "message (hint)"
  std::string kind;  // from a trailing " [kind]"; "" = any
};

std::vector<Expected> readExpected(const std::filesystem::path& path) {
  std::vector<Expected> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    Expected e;
    const size_t first = line.find(':');
    const size_t second = line.find(':', first + 1);
    e.line = std::stoi(line.substr(0, first));
    e.column = std::stoi(line.substr(first + 1, second - first - 1));
    e.text = line.substr(second + 1);
    e.text.erase(0, e.text.find_first_not_of(' '));
    if (!e.text.empty() && e.text.back() == ']') {
      const size_t open = e.text.rfind(" [");
      e.kind = e.text.substr(open + 2, e.text.size() - open - 3);
      e.text.erase(open);
    }
    out.push_back(e);
  }
  return out;
}

std::string shown(const diag::Diagnostic& d) {
  return std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.text() + " [" + d.kind +
         "]";
}

std::vector<FlowSource> validSources() {
  std::vector<FlowSource> sources;
  for (const auto& file : yamlFiles(fixtures() / "valid")) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    sources.push_back({file.string(), text.str()});
  }
  return sources;
}

TEST(FlowGoldenTest, ValidFixturesLoadWithoutDiagnostics) {
  const FlowLoadResult result = loadFlows(fixtures() / "valid", fixtureOptions());
  for (const diag::Diagnostic& d : result.diagnostics) {
    ADD_FAILURE() << d.file << ":" << shown(d);
  }
  EXPECT_EQ(result.flows.size(), yamlFiles(fixtures() / "valid").size());
  EXPECT_TRUE(result.ok());
}

// The loader reads a step's kind from its key and builds the StepSpec alternative for it; every
// step of the valid fixtures (which use every kind) holds the alternative its key names, and
// every kind appears.
TEST(FlowGoldenTest, EveryStepHoldsTheKindItsKeyNames) {
  const FlowLoadResult result = loadFlows(fixtures() / "valid", fixtureOptions());
  std::set<std::string, std::less<>> seen;
  for (const Flow& f : result.flows) {
    for (const Step& step : f.steps) {
      EXPECT_EQ(step.kind, stepKindOf(step.spec)) << f.file << ":" << step.pos.line;
      seen.insert(std::string(stepKindOf(step.spec)));
    }
  }
  for (const std::string& kind : stepKinds()) {
    EXPECT_TRUE(seen.count(kind)) << "no valid fixture has a '" << kind << "' step";
  }
}

TEST(FlowGoldenTest, InvalidFixturesGiveExactlyTheExpectedDiagnostics) {
  std::ifstream docs_in(std::filesystem::path(WAFLOW_DOCS_DIR) / "flows.md");
  std::stringstream docs_text;
  docs_text << docs_in.rdbuf();
  const std::string docs = docs_text.str();
  const std::vector<std::filesystem::path> files = yamlFiles(fixtures() / "invalid");
  ASSERT_GE(files.size(), 10u);
  for (const std::filesystem::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::filesystem::path expected_path = file;
    expected_path.replace_extension(".expected");
    ASSERT_TRUE(std::filesystem::exists(expected_path)) << expected_path;
    const std::vector<Expected> expected = readExpected(expected_path);
    ASSERT_FALSE(expected.empty()) << "an invalid fixture must expect at least one diagnostic";

    std::vector<FlowSource> sources = validSources();
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    sources.push_back({file.string(), text.str()});
    const FlowLoadResult result = loadFlowSources(sources, fixtureOptions());

    std::vector<diag::Diagnostic> mine;
    for (const diag::Diagnostic& d : result.diagnostics) {
      if (d.file == file.string()) {
        mine.push_back(d);
      } else {
        ADD_FAILURE() << "unexpected diagnostic in another file: " << d.file << ":" << shown(d);
      }
    }
    if (std::getenv("WAFLOW_FLOW_GOLDEN_PRINT") != nullptr) {
      // To write a new .expected file: print what the loader says, then review every line.
      for (const diag::Diagnostic& d : mine) {
        std::cout << file.filename().string() << " " << shown(d) << "\n";
      }
    }
    std::vector<bool> used(mine.size(), false);
    for (const Expected& e : expected) {
      bool found = false;
      for (size_t i = 0; i < mine.size() && !found; ++i) {
        if (!used[i] && mine[i].line == e.line && mine[i].column == e.column &&
            (e.kind.empty() || mine[i].kind == e.kind) &&
            mine[i].text().find(e.text) != std::string::npos) {
          used[i] = found = true;
        }
      }
      EXPECT_TRUE(found) << "expected " << e.line << ":" << e.column << ": " << e.text << " ["
                         << e.kind << "]";
    }
    for (size_t i = 0; i < mine.size(); ++i) {
      EXPECT_TRUE(used[i]) << "unexpected " << shown(mine[i]);
      // Every diagnostic of the loader links to the docs section that explains it (the fake
      // Lua checker's are its own).
      if (mine[i].kind != "flow-lua") {
        const size_t link = mine[i].hint.find("see docs/flows.md#");
        ASSERT_NE(link, std::string::npos) << shown(mine[i]);
        const std::string anchor = mine[i].hint.substr(link + 18);
        EXPECT_NE(docs.find("<a id=\"" + anchor + "\"></a>"), std::string::npos)
            << "docs/flows.md has no section #" << anchor;
      }
    }
  }
}

}  // namespace
}  // namespace waflow::core::flow
