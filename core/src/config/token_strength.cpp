#include "config/token_strength.h"

#include <set>

namespace waflow::core::config {
namespace {

constexpr std::size_t kMinDistinctCharacters = 10;

// Distinct 3-byte sequences: a word repeated has as many as the word is long, a random token
// about as many as it has characters.
std::size_t distinctTrigrams(std::string_view token) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i + 3 <= token.size(); ++i) {
    seen.insert(token.substr(i, 3));
  }
  return seen.size();
}

}  // namespace

std::optional<std::string> tokenWeakness(std::string_view token) {
  if (token.size() < kMinTokenLength) {
    return "it has " + std::to_string(token.size()) + " characters; at least " +
           std::to_string(kMinTokenLength) + " are needed";
  }
  std::set<char> distinct(token.begin(), token.end());
  if (distinct.size() < kMinDistinctCharacters) {
    return "it uses only " + std::to_string(distinct.size()) + " different characters; at least " +
           std::to_string(kMinDistinctCharacters) + " are needed";
  }
  if (distinctTrigrams(token) * 2 < token.size()) {
    return "it repeats the same few characters over and over";
  }
  return std::nullopt;
}

}  // namespace waflow::core::config
