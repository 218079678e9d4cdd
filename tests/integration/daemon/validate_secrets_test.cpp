// `waflow validate` never prints a secret: not in a snippet under a config-secret warning, not
// for a mistyped or duplicated secret key, not in an error about a typed value that came from
// ${TOKEN}; in text and in --format json. The real binary, on a config full of such mistakes.
#include "daemon_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <fstream>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const char* const kSecrets[] = {"EAAG-literal-access-1", "EAAG-mistyped-value-2",
                                "EAAG-duplicate-value-3", "EAAG-env-token-4", "file-app-secret-5"};

class ValidateSecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("waflow-validate-secrets-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "app_secret.txt") << "file-app-secret-5\n";
    std::ofstream(dir_ / "waflow.yaml") << R"(server:
  shutdown_timeout: ${WA_TOKEN}
channels:
  toko:
    plugin: channel-cloudapi
    config:
      phone_number_id: "123"
      access_token: EAAG-literal-access-1
      acces_token: EAAG-mistyped-value-2
      verify_token: ${WA_TOKEN}
      verify_token: EAAG-duplicate-value-3
      app_secret: ${file:app_secret.txt}
      timeout: ${file:app_secret.txt}
      base_url: ${WA_TOKEN}
ai:
  bot:
    plugin: ai-openai
    config: { model: m, api_key: "${WA_TOKEN}", base_url: "x${WA_TOKEN}" }
)";
    ::setenv("WA_TOKEN", "EAAG-env-token-4", 1);
  }
  void TearDown() override {
    ::unsetenv("WA_TOKEN");
    fs::remove_all(dir_);
  }

  CommandResult validate(const std::string& format) {
    return runCommand({waflowBinary().string(), "validate", "-c", (dir_ / "waflow.yaml").string(),
                       "--format", format},
                      "", dir_);
  }

  fs::path dir_;
};

TEST_F(ValidateSecretsTest, TextOutputShowsEveryProblemButNoSecret) {
  const CommandResult r = validate("text");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string all = r.out + r.err;
  for (const char* secret : kSecrets) {
    EXPECT_THAT(all, ::testing::Not(HasSubstr(secret))) << all;
  }
  // Every mistake is still reported, at its place, with the secret masked in the snippet.
  EXPECT_THAT(all, HasSubstr("server.shutdown_timeout: the value of '${WA_TOKEN}' is not a "
                             "valid duration"));
  EXPECT_THAT(all, HasSubstr("access_token: secret written in the file in plain text"));
  EXPECT_THAT(all, HasSubstr("8 |       access_token: ***\n"));
  EXPECT_THAT(all, HasSubstr("unknown key 'acces_token'"));
  EXPECT_THAT(all, HasSubstr("9 |       acces_token: ***\n"));
  EXPECT_THAT(all, HasSubstr("duplicate key 'verify_token'"));
  EXPECT_THAT(all, HasSubstr("11 |       verify_token: ***\n"));
  EXPECT_THAT(all, HasSubstr("the value of '${file:app_secret.txt}' is not a valid duration"));
  EXPECT_THAT(all, HasSubstr("the value of '${WA_TOKEN}' does not match the pattern"));
  EXPECT_THAT(all, HasSubstr("the value of 'x${WA_TOKEN}' does not match the pattern"));
}

TEST_F(ValidateSecretsTest, JsonOutputShowsNoSecretEither) {
  const CommandResult r = validate("json");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  for (const char* secret : kSecrets) {
    EXPECT_THAT(r.out + r.err, ::testing::Not(HasSubstr(secret))) << r.out;
  }
  EXPECT_THAT(r.out, HasSubstr("\"snippet\": \"      access_token: ***\""));
}

}  // namespace
}  // namespace waflow::test
