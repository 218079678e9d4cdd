#include "verification.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>

namespace waflow::cloudapi {
namespace {

using Sha256 = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

Sha256 sha256(std::string_view s) {
  Sha256 out{};
  static const unsigned char kEmpty = 0;
  SHA256(s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data()), s.size(),
         out.data());
  return out;
}

bool sameToken(std::string_view a, std::string_view b) {
  Sha256 x = sha256(a);
  Sha256 y = sha256(b);
  return CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

VerificationResult refuse(std::string body) {
  return VerificationResult{403, std::move(body)};
}

}  // namespace

VerificationResult verifyChallenge(std::optional<std::string_view> mode,
                                   std::optional<std::string_view> verify_token,
                                   std::optional<std::string_view> challenge,
                                   std::string_view configured_token) {
  if (configured_token.empty()) {
    return refuse(
        "Forbidden: this channel has no verify_token configured; set verify_token in its "
        "config and enter the same value in the Meta app's webhook settings");
  }
  if (!mode.has_value() || *mode != "subscribe") {
    return refuse(
        "Forbidden: expected hub.mode=subscribe (this URL answers Meta's webhook verification)");
  }
  if (!verify_token.has_value() || !sameToken(*verify_token, configured_token)) {
    return refuse(
        "Forbidden: hub.verify_token does not match this channel's verify_token; enter the "
        "configured value in the Meta app's webhook settings");
  }
  if (!challenge.has_value() || challenge->empty()) {
    return refuse("Forbidden: hub.challenge is missing; Meta sends one with every verification");
  }
  return VerificationResult{200, std::string(*challenge)};
}

waflow::WebhookResponse answerVerification(const waflow::WebhookRequest& request,
                                           std::string_view configured_token) {
  std::optional<std::string> mode = request.queryParam("hub.mode");
  std::optional<std::string> token = request.queryParam("hub.verify_token");
  std::optional<std::string> challenge = request.queryParam("hub.challenge");
  auto view = [](const std::optional<std::string>& s) -> std::optional<std::string_view> {
    if (!s.has_value()) {
      return std::nullopt;
    }
    return std::string_view(*s);
  };
  VerificationResult result =
      verifyChallenge(view(mode), view(token), view(challenge), configured_token);
  waflow::WebhookResponse response;
  response.status = result.status;
  response.body = std::move(result.body);
  response.content_type = "text/plain; charset=utf-8";
  return response;
}

}  // namespace waflow::cloudapi
