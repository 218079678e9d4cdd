// tokenWeakness(): whether a secret token (the admin API's bearer token, the sandbox
// channel's token) is too easy to guess, and why — without ever repeating the token.
//
// A token must have at least 32 characters, at least 10 different ones, and no long
// repetition (a word written over and over): `openssl rand -hex 32` always passes.
//
// Thread-safety: pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace waflow::core::config {

inline constexpr std::size_t kMinTokenLength = 32;

// nullopt when `token` is strong enough; else why it is not, e.g. "it has 13 characters; at
// least 32 are needed". The text never contains the token.
std::optional<std::string> tokenWeakness(std::string_view token);

// What to tell the operator: how to make a strong token.
inline constexpr std::string_view kStrongTokenHint =
    "make one with `openssl rand -hex 32` and pass it through the environment, e.g. "
    "admin_token: ${WAFLOW_ADMIN_TOKEN}";

}  // namespace waflow::core::config
