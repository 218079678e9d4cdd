// The `regex` answer: the trimmed message, when the step's RE2 pattern is found in it
// (case-insensitively).
//
// Thread-safety: safe from any thread; compiled patterns are kept in a cache shared by all
// threads and guarded by a mutex.
#include "flow/answer/checks.h"
#include "regex/user_regex.h"

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace waflow::core::flow::answer {
namespace {

// Compiled patterns, shared by all threads: flows use a handful of patterns, so the cache is
// simply emptied if it ever grows large.
std::shared_ptr<const regex::UserRegex> compiledPattern(const std::string& pattern,
                                                        std::string* error) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::shared_ptr<const regex::UserRegex>> cache;
  constexpr size_t kMaxCached = 256;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto found = cache.find(pattern);
    if (found != cache.end()) {
      return found->second;
    }
  }
  regex::RegexError why;
  std::shared_ptr<const regex::UserRegex> compiled =
      regex::UserRegex::compile(pattern, regex::Case::kInsensitive, &why);
  if (!compiled) {
    *error = why.message;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() >= kMaxCached) {
    cache.clear();
  }
  cache.emplace(pattern, compiled);
  return compiled;
}

}  // namespace

std::string expectedMatch(const AnswerRules& rules) {
  return "an answer matching '" + rules.pattern + "'";
}

AnswerCheck checkRegex(const AnswerRules& rules, std::string_view text) {
  const std::string expected = expectedMatch(rules);
  std::string error;
  const std::shared_ptr<const regex::UserRegex> regex = compiledPattern(rules.pattern, &error);
  if (!regex) {
    return reject(expected, "the pattern is not a valid regular expression: " + error);
  }
  if (!regex->search(text)) {
    return reject(expected, "the pattern is not found in the answer");
  }
  return accept(std::string(text));
}

}  // namespace waflow::core::flow::answer
