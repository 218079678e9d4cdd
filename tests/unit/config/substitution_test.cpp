#include "config/substitution.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace waflow::core::config {
namespace {

SubstitutionContext withEnv(std::map<std::string, std::string> vars, std::string base_dir = {}) {
  SubstitutionContext context;
  context.base_dir = std::move(base_dir);
  context.env = [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
  return context;
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/waflow_subst_XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ + "/" + name, std::ios::binary) << content;
  }

 private:
  std::string path_;
};

TEST(Substitute, LeavesTextWithoutExpressionsAlone) {
  SubstitutionResult r = substitute("cost $5, {braces} and $HOME", withEnv({{"HOME", "/x"}}));
  EXPECT_EQ(r.value, "cost $5, {braces} and $HOME");
  EXPECT_FALSE(r.substituted);
  EXPECT_TRUE(r.errors.empty());
}

TEST(Substitute, ReplacesSetVariables) {
  SubstitutionResult r = substitute("Bearer ${WA_TOKEN}/${WA_PHONE}",
                                    withEnv({{"WA_TOKEN", "t0k"}, {"WA_PHONE", "62"}}));
  EXPECT_EQ(r.value, "Bearer t0k/62");
  EXPECT_TRUE(r.substituted);
  EXPECT_EQ(r.inserted, (std::vector<std::string>{"t0k", "62"}));
  EXPECT_TRUE(r.errors.empty());
}

TEST(Substitute, UnsetVariableIsAnErrorWithAdvice) {
  SubstitutionResult r = substitute("x ${WA_TOKEN} y", withEnv({}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].kind, "env");
  EXPECT_EQ(r.errors[0].message, "environment variable WA_TOKEN is not set");
  EXPECT_EQ(r.errors[0].hint, "export it or use ${WA_TOKEN:-default}");
  EXPECT_EQ(r.errors[0].offset, 2u);
  EXPECT_EQ(r.errors[0].length, 11u);
}

TEST(Substitute, DefaultAppliesWhenUnsetOrEmpty) {
  EXPECT_EQ(substitute("${LEVEL:-info}", withEnv({})).value, "info");
  EXPECT_EQ(substitute("${LEVEL:-info}", withEnv({{"LEVEL", ""}})).value, "info");
  EXPECT_EQ(substitute("${LEVEL:-info}", withEnv({{"LEVEL", "debug"}})).value, "debug");
  SubstitutionResult empty_default = substitute("[${LEVEL:-}]", withEnv({}));
  EXPECT_EQ(empty_default.value, "[]");
  EXPECT_TRUE(empty_default.substituted);
  EXPECT_TRUE(empty_default.inserted.empty());
  EXPECT_TRUE(empty_default.errors.empty());
  // Without ":-", a set-but-empty variable stays empty.
  EXPECT_EQ(substitute("[${LEVEL}]", withEnv({{"LEVEL", ""}})).value, "[]");
}

TEST(Substitute, DollarDollarBraceIsALiteral) {
  SubstitutionResult r = substitute("$${HOME} and $${file:x}", withEnv({{"HOME", "/root"}}));
  EXPECT_EQ(r.value, "${HOME} and ${file:x}");
  EXPECT_FALSE(r.substituted);
  EXPECT_TRUE(r.errors.empty());
}

TEST(Substitute, MalformedExpressionsAreErrors) {
  SubstitutionResult unterminated = substitute("abc ${TOKEN", withEnv({{"TOKEN", "x"}}));
  ASSERT_EQ(unterminated.errors.size(), 1u);
  EXPECT_EQ(unterminated.errors[0].message, "'${' is not closed by '}'");
  EXPECT_EQ(unterminated.errors[0].offset, 4u);

  SubstitutionResult bad_name = substitute("${WA TOKEN}", withEnv({}));
  ASSERT_EQ(bad_name.errors.size(), 1u);
  EXPECT_EQ(bad_name.errors[0].message, "'${WA TOKEN}' is not a valid substitution");

  SubstitutionResult posix_default = substitute("${A-b}", withEnv({}));
  ASSERT_EQ(posix_default.errors.size(), 1u);
  EXPECT_NE(posix_default.errors[0].hint.find("${NAME:-default}"), std::string::npos);
}

TEST(Substitute, FileContentRelativeToBaseDirWithOneNewlineStripped) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/secrets");
  dir.write("secrets/token.txt", "s3cret\n");
  dir.write("two.txt", "a\n\n");
  dir.write("crlf.txt", "w1n\r\n");
  SubstitutionContext context = withEnv({}, dir.path());
  SubstitutionResult r = substitute("${file:secrets/token.txt}", context);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.value, "s3cret");
  EXPECT_EQ(r.inserted, (std::vector<std::string>{"s3cret"}));
  EXPECT_EQ(substitute("${file:two.txt}", context).value, "a\n");
  EXPECT_EQ(substitute("${file:crlf.txt}", context).value, "w1n");
  // Absolute paths ignore the base directory.
  EXPECT_EQ(substitute("${file:" + dir.path() + "/two.txt}", withEnv({}, "/nonexistent")).value,
            "a\n");
}

TEST(Substitute, UnreadableFileIsAnErrorNamingThePath) {
  TempDir dir;
  SubstitutionResult r = substitute("${file:missing.txt}", withEnv({}, dir.path()));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].kind, "file");
  EXPECT_EQ(r.errors[0].message, "cannot read file 'missing.txt' (" + dir.path() +
                                     "/missing.txt): No such file or directory");
  SubstitutionResult directory = substitute("${file:.}", withEnv({}, dir.path()));
  ASSERT_EQ(directory.errors.size(), 1u);
  EXPECT_NE(directory.errors[0].message.find("it is a directory"), std::string::npos);
}

// A device or a FIFO would never end (/dev/zero) or never answer (/dev/stdin, a pipe with no
// writer): the config load used to hang or exhaust memory on them.
TEST(Substitute, DevicesAndPipesAreRefusedWithoutBeingRead) {
  TempDir dir;
  const std::string fifo = dir.path() + "/pipe";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {std::string("/dev/zero"), fifo}) {
    SubstitutionResult r = substitute("${file:" + path + "}", withEnv({}));
    ASSERT_EQ(r.errors.size(), 1u) << path;
    EXPECT_NE(r.errors[0].message.find("not a regular file"), std::string::npos)
        << r.errors[0].message;
  }
}

TEST(Substitute, AFileLargerThanOneMebibyteIsRefused) {
  TempDir dir;
  dir.write("big.txt", std::string(1024 * 1024 + 1, 'x'));
  dir.write("limit.txt", std::string(1024 * 1024, 'y'));
  SubstitutionResult big = substitute("${file:big.txt}", withEnv({}, dir.path()));
  ASSERT_EQ(big.errors.size(), 1u);
  EXPECT_NE(big.errors[0].message.find("larger than 1 MiB"), std::string::npos);
  SubstitutionResult limit = substitute("${file:limit.txt}", withEnv({}, dir.path()));
  EXPECT_TRUE(limit.errors.empty());
  EXPECT_EQ(limit.value.size(), 1024u * 1024u);
}

TEST(ProcessEnv, ReadsTheRealEnvironment) {
  setenv("WAFLOW_SUBST_TEST_VAR", "v", 1);
  EXPECT_EQ(processEnv("WAFLOW_SUBST_TEST_VAR"), std::optional<std::string>("v"));
  unsetenv("WAFLOW_SUBST_TEST_VAR");
  EXPECT_EQ(processEnv("WAFLOW_SUBST_TEST_VAR"), std::nullopt);
}

}  // namespace
}  // namespace waflow::core::config
