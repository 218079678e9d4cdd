// The sandbox exposure check: which hosts count as loopback, and which sandbox channels a
// public listen exposes.
#include "config/sandbox_exposure.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace waflow::core::config {
namespace {

using ::testing::HasSubstr;

TEST(SandboxExposure, LoopbackHosts) {
  for (const char* host : {"127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1", "localhost"}) {
    EXPECT_TRUE(isLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "2001:db8::1",
                           "example.com", "::ffff:10.0.0.1", ""}) {
    EXPECT_FALSE(isLoopbackHost(host)) << host;
  }
}

LoadResult load(const std::string& yaml) {
  return loadConfigString(
      yaml, "waflow.yaml", "",
      [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
}

TEST(SandboxExposure, APublicListenWithATokenlessSandboxIsAWarningAtTheListenLine) {
  LoadResult r = load(R"(server:
  listen: 0.0.0.0:8080
channels:
  a: { plugin: channel-sandbox }
  b: { plugin: channel-sandbox, config: { token: "${SANDBOX_TOKEN}" } }
  c: { plugin: channel-sandbox, config: { token: short } }
)");
  ASSERT_TRUE(r.config);  // a warning only
  ASSERT_EQ(r.diagnostics.size(), 1u);
  const diag::Diagnostic& d = r.diagnostics[0];
  EXPECT_EQ(d.severity, diag::Severity::kWarning);
  EXPECT_EQ(d.kind, "sandbox-exposed");
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.column, 11);
  EXPECT_THAT(d.message, HasSubstr("the sandbox channel 'a', 'c' has no token"));
  EXPECT_THAT(d.hint, HasSubstr("channels.a.config.token"));
}

TEST(SandboxExposure, LoopbackOrNoSandboxIsFine) {
  EXPECT_TRUE(load("server: { listen: 127.0.0.1:8080 }\nchannels: { a: { plugin: "
                   "channel-sandbox } }\n")
                  .diagnostics.empty());
  EXPECT_TRUE(load("server: { listen: 0.0.0.0:8080 }\n").diagnostics.empty());
}

}  // namespace
}  // namespace waflow::core::config
