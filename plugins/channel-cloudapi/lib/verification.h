// Meta's webhook verification handshake: when a callback URL is registered, Meta calls
// `GET ?hub.mode=subscribe&hub.verify_token=<token>&hub.challenge=<random>` and expects 200
// with the challenge as the body when the token is ours, anything else otherwise (we use 403).
//
// Thread-safety: free functions without shared state; safe from any thread.
#pragma once

#include <waflow/sdk/types.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace waflow::cloudapi {

struct VerificationResult {
  int status = 403;  // 200 when verified, else 403
  std::string body;  // the challenge on 200, else what was wrong (plain text)

  bool verified() const noexcept { return status == 200; }
};

// Decides the answer from the three query values (nullopt = parameter absent) and the
// configured verify_token. The tokens are compared in constant time (over their SHA-256, so
// the configured token's length does not leak either).
VerificationResult verifyChallenge(std::optional<std::string_view> mode,
                                   std::optional<std::string_view> verify_token,
                                   std::optional<std::string_view> challenge,
                                   std::string_view configured_token);

// The same for a whole request: reads hub.mode, hub.verify_token and hub.challenge from the
// query string and returns the text/plain response to send.
waflow::WebhookResponse answerVerification(const waflow::WebhookRequest& request,
                                           std::string_view configured_token);

}  // namespace waflow::cloudapi
