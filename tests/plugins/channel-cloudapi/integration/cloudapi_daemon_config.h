// The waflow.yaml and secrets the Cloud API end-to-end tests run the daemon with: one
// channel-cloudapi channel "wa" pointed at a FakeGraphApi (which serves media from 127.0.0.1,
// so that is its media host), and the echo auto-reply. Also a way to reshape the one message of
// a FakeGraphApi::buildTextWebhook body (its sender, its type).
//
// Thread-safety: pure functions.
#pragma once

#include "fake_graph_api.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace waflow::test {

inline constexpr const char* kSecret = "my_app_secret";
inline constexpr const char* kPhoneNumberId = "1122334455";

// `extra`: more lines of the channel's config block, each indented by six spaces;
// `auto_reply`: the auto_reply section as a YAML flow mapping.
inline std::string cloudApiConfig(const FakeGraphApi& fake, const std::string& extra = "",
                                  const std::string& auto_reply = "{ mode: echo }") {
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
         fake.baseUrl() + "\n" + extra + "\nauto_reply: " + auto_reply + "\n";
}

inline std::map<std::string, std::string> cloudApiSecrets() {
  return {
      {"WA_TOKEN", "test-token"}, {"WA_APP_SECRET", kSecret}, {"WA_VERIFY_TOKEN", "verify-me-123"}};
}

// A buildTextWebhook body whose message is changed by `edit(message, contact)`: the message
// object of value.messages[0] and the sender's entry of value.contacts[0].
template <typename Edit>
std::string reshapedWebhook(const std::string& text_webhook, Edit&& edit) {
  nlohmann::json body = nlohmann::json::parse(text_webhook);
  nlohmann::json& value = body["entry"][0]["changes"][0]["value"];
  edit(value["messages"][0], value["contacts"][0]);
  return body.dump();
}

// The same webhook from a customer identified as Meta does since usernames: by a
// business-scoped user id, with the phone number too when Meta shares it ("" = left out).
inline std::string fromUser(const std::string& text_webhook, const std::string& phone,
                            const std::string& user_id) {
  return reshapedWebhook(text_webhook, [&](nlohmann::json& message, nlohmann::json& contact) {
    message.erase("from");
    contact.erase("wa_id");
    if (!phone.empty()) {
      message["from"] = phone;
      contact["wa_id"] = phone;
    }
    message["from_user_id"] = user_id;
    contact["user_id"] = user_id;
  });
}

}  // namespace waflow::test
