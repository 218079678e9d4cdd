// `waflow validate` over a project with flows and Lua scripts: the real binary checks the
// config, every flow in flows_dir (schema, references to channels, AI instances and script
// functions, each Lua expression compiled where it stands) and every script in scripts_dir.
#include "daemon_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class ValidateFlowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("waflow-validate-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "flows");
    fs::create_directories(dir_ / "scripts");
    write("waflow.yaml", R"(
channels: { toko-utama: { plugin: channel-sandbox } }
ai: { bot: { plugin: ai-mock }, backup: { plugin: ai-mock } }
knowledge:
  faq: { sources: [faq.csv] }
  policies: { sources: [policies.md] }
)");
    write("faq.csv", "question,answer\nJam buka?,Setiap hari 08.00-20.00\n");
    write("policies.md", "# Returns\n\nWithin 7 days.\n");
    // The issue's example flows, exactly as the flow tests check them.
    for (const auto& entry :
         fs::directory_iterator(fs::path(WAFLOW_SOURCE_DIR) / "tests/flows/valid")) {
      fs::copy_file(entry.path(), dir_ / "flows" / entry.path().filename());
    }
    write("scripts/rules.lua", R"(
function count_unhelpful(contact_id)
  return 0
end

function score_lead(guests, event_date)
  if tonumber(guests) and tonumber(guests) >= 500 then return "hot" end
  return "warm"
end
)");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }

  CommandResult validate(const std::string& format = "text") {
    std::string waflow = std::string(std::getenv("WAFLOW_BUILD_DIR")) + "/bin/waflow";
    return runCommand(
        {waflow, "validate", "-c", (dir_ / "waflow.yaml").string(), "--format", format}, "", dir_);
  }

  fs::path dir_;
};

TEST_F(ValidateFlowsTest, TheExampleFlowsAndTheirScriptsAreValid) {
  CommandResult r = validate();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("flow(s), 1 script(s)"));
}

TEST_F(ValidateFlowsTest, ALuaSyntaxErrorInAFlowIsReportedWhereItStands) {
  write("flows/broken.yaml", R"(id: rusak
triggers:
  - on: message.received
    keywords: [tes]
steps:
  - id: jawab
    if: "contact.tags.vip and and"
    reply: "Halo"
)");
  CommandResult r = validate();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // Line 7; the expression starts after `    if: "` (column 10).
  EXPECT_THAT(r.out + r.err, HasSubstr("broken.yaml:7:"));
  EXPECT_THAT(r.out + r.err, HasSubstr("lua-syntax"));
}

TEST_F(ValidateFlowsTest, AScriptThatDoesNotLoadAndAMissingFunctionAreBothReported) {
  write("scripts/rules.lua",
        "function count_unhelpful(id)\n  return 0\nend\n\nfunction score_lead(\n");
  CommandResult r = validate("json");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("rules.lua"));
  // The flow calling score_lead now names a function no script defines.
  EXPECT_THAT(r.out, HasSubstr("score_lead"));
}

}  // namespace
}  // namespace waflow::test
