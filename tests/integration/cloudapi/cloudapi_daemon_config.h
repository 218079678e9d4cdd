// The waflow.yaml and secrets the Cloud API end-to-end tests run the daemon with: one
// channel-cloudapi channel "wa" pointed at a FakeGraphApi (which serves media from 127.0.0.1,
// so that is its media host), and the echo auto-reply.
//
// Thread-safety: pure functions.
#pragma once

#include "fake_graph_api.h"

#include <map>
#include <string>

namespace waflow::test {

inline constexpr const char* kSecret = "my_app_secret";
inline constexpr const char* kPhoneNumberId = "1122334455";

// `extra`: more lines of the channel's config block, each indented by six spaces.
inline std::string cloudApiConfig(const FakeGraphApi& fake, const std::string& extra = "") {
  return R"(
log: { level: debug }
channels:
  wa:
    plugin: channel-cloudapi
    config:
      phone_number_id: ")" +
         std::string(kPhoneNumberId) + R"("
      access_token: ${WA_TOKEN}
      app_secret: ${WA_APP_SECRET}
      verify_token: ${WA_VERIFY_TOKEN}
      media_hosts: ["127.0.0.1"]
      base_url: )" +
         fake.baseUrl() + "\n" + extra + R"(
auto_reply: { mode: echo }
)";
}

inline std::map<std::string, std::string> cloudApiSecrets() {
  return {
      {"WA_TOKEN", "test-token"}, {"WA_APP_SECRET", kSecret}, {"WA_VERIFY_TOKEN", "verify-me-123"}};
}

}  // namespace waflow::test
