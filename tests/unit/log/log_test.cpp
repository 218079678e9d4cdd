#include "log/log.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace waflow::core::log {
namespace {

namespace fs = std::filesystem;

// Each test logs to its own file in a fresh temporary directory and reads it back.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "waflow-log-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    file_ = (dir_ / "waflow.log").string();
  }
  void TearDown() override {
    init(Options{});  // back to stderr, so the directory can go
    fs::remove_all(dir_);
  }

  void configure(const std::string& format, const std::string& level = "info") {
    Options options;
    options.format = format;
    options.level = level;
    options.file = file_;
    init(options);
  }

  std::vector<std::string> lines() const {
    std::ifstream in(file_);
    std::vector<std::string> result;
    for (std::string line; std::getline(in, line);) {
      result.push_back(line);
    }
    return result;
  }

  fs::path dir_;
  std::string file_;
};

TEST_F(LogTest, TextLineShape) {
  configure("text");
  get("http")->info("hello {}", "world");
  {
    RequestScope scope("1a2b3c4d5e6f7a8b");
    get("http")->warn("with id");
  }
  get("http")->error("after");
  const auto got = lines();
  ASSERT_EQ(got.size(), 3u);
  const std::string ts = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";
  EXPECT_TRUE(std::regex_match(got[0], std::regex(ts + R"( info  \[http\] hello world)")))
      << got[0];
  EXPECT_TRUE(std::regex_match(
      got[1], std::regex(ts + R"( warn  \[http\] \[req=1a2b3c4d5e6f7a8b\] with id)")))
      << got[1];
  EXPECT_TRUE(std::regex_match(got[2], std::regex(ts + R"( error \[http\] after)"))) << got[2];
}

TEST_F(LogTest, TextKeepsOneEntryPerLine) {
  configure("text");
  get("http")->info("first\nforged 2026-01-01T00:00:00.000Z error [x] line\rend");
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find("first\\nforged"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("line\\rend"), std::string::npos) << got[0];
}

TEST_F(LogTest, TextEscapesControlCharactersSoCustomerTextCannotDriveTheTerminal) {
  configure("text");
  // ESC [2J clears the screen; BEL, DEL and CSI (U+009B, a C1 control) are controls too; a
  // lone 0x9B byte is the 8-bit form of CSI some terminals obey.
  get("http")->info("{}",
                    "a\x1b[2Jb\tc\x07"
                    "d\x7f e\xc2\x9b[31m f\x9b g \xc3\xa9 \\x1b");
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find("a\\x1b[2Jb\\tc\\x07d\\x7f e\\u009b[31m f\\x9b g \xc3\xa9 \\x1b"),
            std::string::npos)
      << got[0];
  for (const char c : got[0]) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 && byte != 0x7F) << "raw control byte " << int(byte);
  }
  EXPECT_EQ(got[0].find("\xc2\x9b"), std::string::npos);
}

TEST_F(LogTest, JsonEscapesDelAndC1ControlsToo) {
  configure("json");
  get("http")->info("{}", "del\x7f csi\xc2\x9b ok \xc2\xa0");
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find(R"(del\u007f csi\u009b ok )"), std::string::npos) << got[0];
  EXPECT_EQ(nlohmann::json::parse(got[0])["message"], "del\x7f csi\xc2\x9b ok \xc2\xa0");
}

TEST_F(LogTest, JsonLineShapeAndEscaping) {
  configure("json", "debug");
  const std::string message =
      "quote\" backslash\\ newline\n tab\t ctl\x01 utf8 \xc3\xa9 bad\xff end";
  {
    RequestScope scope("00ff00ff00ff00ff");
    get("plugin:sandbox")->debug("{}", message);
  }
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(std::regex_match(
      got[0],
      std::regex(R"(\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"debug",)"
                 R"("logger":"plugin:sandbox","request_id":"00ff00ff00ff00ff","message":".*"\})")))
      << got[0];
  EXPECT_NE(got[0].find(R"(ctl\u0001)"), std::string::npos) << got[0];
  const nlohmann::json parsed = nlohmann::json::parse(got[0]);
  EXPECT_EQ(parsed["level"], "debug");
  EXPECT_EQ(parsed["logger"], "plugin:sandbox");
  EXPECT_EQ(parsed["request_id"], "00ff00ff00ff00ff");
  EXPECT_EQ(parsed["message"],
            "quote\" backslash\\ newline\n tab\t ctl\x01 utf8 \xc3\xa9 bad\xef\xbf\xbd end");
  EXPECT_EQ(parsed.size(), 5u);
}

TEST_F(LogTest, JsonOmitsRequestIdWhenUnset) {
  configure("json");
  get("bus")->info("plain");
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  const nlohmann::json parsed = nlohmann::json::parse(got[0]);
  EXPECT_FALSE(parsed.contains("request_id")) << got[0];
  EXPECT_EQ(parsed["message"], "plain");
}

TEST_F(LogTest, RedactsSecretsInTextAndJsonForEveryLogger) {
  addSecret("EAAG-token-1234");
  addSecret("pa\"ss\\word");  // differs once JSON-escaped
  addSecret("abc");           // too short: ignored
  configure("text");
  get("http")->info("auth=EAAG-token-1234 again EAAG-token-1234 abc");
  get("plugin:ai-openai")->info("key pa\"ss\\word");
  configure("json");
  get("plugin:ai-openai")->info("key pa\"ss\\word and EAAG-token-1234");
  const auto got = lines();
  ASSERT_EQ(got.size(), 3u);
  for (const std::string& line : got) {
    EXPECT_EQ(line.find("EAAG-token-1234"), std::string::npos) << line;
    EXPECT_EQ(line.find("pa\"ss"), std::string::npos) << line;
    EXPECT_EQ(line.find("pa\\\"ss"), std::string::npos) << line;
  }
  EXPECT_NE(got[0].find("auth=*** again *** abc"), std::string::npos) << got[0];
  EXPECT_NE(got[1].find("key ***"), std::string::npos) << got[1];
  EXPECT_EQ(nlohmann::json::parse(got[2])["message"], "key *** and ***");
}

TEST_F(LogTest, SecretsAreRedactedInTheirTextEscapedFormAndFromStoredTexts) {
  addSecret("tab\tsecret\x01x");
  configure("text");
  get("http")->info("{}", "v=tab\tsecret\x01x");
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find("v=***"), std::string::npos) << got[0];
  EXPECT_EQ(redacted("error: tab\tsecret\x01x echoed"), "error: *** echoed");
  EXPECT_EQ(redacted("nothing"), "nothing");
}

TEST_F(LogTest, SecretContainingAnotherIsRedactedWhole) {
  addSecret("inner-secret");
  addSecret("outer-inner-secret-x");
  configure("text");
  get("http")->info("v=outer-inner-secret-x w=inner-secret");
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find("v=*** w=***"), std::string::npos) << got[0];
}

TEST_F(LogTest, LevelAppliesToExistingAndNewLoggers) {
  auto early = get("early");
  configure("text", "warn");
  early->info("hidden");
  get("late")->info("hidden too");
  early->warn("shown");
  configure("text", "debug");
  early->debug("debug now shown");
  const auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].find("[early] shown"), std::string::npos);
  EXPECT_NE(got[1].find("debug now shown"), std::string::npos);
  EXPECT_EQ(get("early").get(), early.get());
}

TEST_F(LogTest, InvalidOptionsThrowAndKeepThePreviousConfiguration) {
  configure("text");
  Options bad;
  bad.level = "loud";
  EXPECT_THROW(init(bad), std::invalid_argument);
  bad = Options{};
  bad.format = "xml";
  EXPECT_THROW(init(bad), std::invalid_argument);
  bad = Options{};
  bad.file = (dir_ / "missing-dir" / "x.log").string();
  try {
    init(bad);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing-dir"), std::string::npos) << e.what();
  }
  get("http")->info("still here");
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find("still here"), std::string::npos);
  EXPECT_EQ(parseLevel("warning"), spdlog::level::warn);
}

TEST_F(LogTest, ConcurrentLinesNeverInterleave) {
  configure("json");
  constexpr int kThreads = 4;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      RequestScope scope("thread-" + std::to_string(t));
      auto logger = get("worker");
      for (int i = 0; i < kLines; ++i) {
        logger->info("thread {} line {} {}", t, i, std::string(200, 'x'));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const auto got = lines();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kThreads * kLines));
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : got) {
    const nlohmann::json parsed = nlohmann::json::parse(line);
    const std::string message = parsed["message"];
    const int t = message[7] - '0';
    ASSERT_EQ(parsed["request_id"], "thread-" + std::to_string(t));
    EXPECT_EQ(
        message.rfind("thread " + std::to_string(t) + " line " + std::to_string(next[t]) + " ", 0),
        0u);
    ++next[t];
  }
}

TEST(RequestIdTest, ScopesNestAndArePerThread) {
  EXPECT_EQ(currentRequestId(), "");
  {
    RequestScope outer("outer");
    EXPECT_EQ(currentRequestId(), "outer");
    {
      RequestScope inner("inner");
      EXPECT_EQ(currentRequestId(), "inner");
      std::string seen_elsewhere = "unset";
      std::thread([&] { seen_elsewhere = std::string(currentRequestId()); }).join();
      EXPECT_EQ(seen_elsewhere, "");
    }
    EXPECT_EQ(currentRequestId(), "outer");
  }
  EXPECT_EQ(currentRequestId(), "");
}

TEST(RequestIdTest, NewIdsAreSixteenLowercaseHexAndDistinct) {
  std::set<std::string> seen;
  const std::regex hex("[0-9a-f]{16}");
  for (int i = 0; i < 2000; ++i) {
    const std::string id = newRequestId();
    ASSERT_TRUE(std::regex_match(id, hex)) << id;
    seen.insert(id);
  }
  std::string from_other_thread;
  std::thread([&] { from_other_thread = newRequestId(); }).join();
  seen.insert(from_other_thread);
  EXPECT_EQ(seen.size(), 2001u);
}

}  // namespace
}  // namespace waflow::core::log
