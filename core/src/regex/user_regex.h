// UserRegex: a regular expression written by someone other than waflow's developers — a
// flow's `regex:` trigger or condition, an ask step's `validate: regex`, a config schema's
// `pattern` — compiled and searched with RE2. RE2 runs in time linear in the text and never
// recurses on it, so no text a customer sends can make a search overflow the stack or run for
// minutes (std::regex did both: `\d+` on 40,000 characters crashed the daemon). Each pattern's
// memory is capped by kMaxMemory.
//
// RE2's syntax is Perl's without backreferences (\1) and lookaround ((?=...), (?!...),
// (?<=...)); see docs/flows.md#regex.
//
// Thread-safety: a compiled UserRegex is immutable; search() may be called from any number of
// threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace waflow::core::regex {

// Why a pattern did not compile, in RE2's own words.
struct RegexError {
  std::string message;   // RE2's text, e.g. "invalid perl operator: (?="
  std::string fragment;  // the part of the pattern it is about ("(?="), "" when none
  size_t offset = 0;     // where `fragment` starts in the pattern (0 when unknown)
  std::string hint;      // what to do, for a diagnostic
};

enum class Case { kSensitive, kInsensitive };

class UserRegex {
 public:
  // Memory one compiled pattern may use (RE2's max_mem); a bigger one fails to compile with
  // "pattern too large". Searches that would need more fall back to RE2's slower, still linear,
  // matcher rather than grow.
  static constexpr int64_t kMaxMemory = int64_t{2} << 20;

  // The compiled pattern, or null with `error` filled in.
  static std::shared_ptr<const UserRegex> compile(std::string_view pattern, Case letter_case,
                                                  RegexError* error);

  ~UserRegex();
  UserRegex(const UserRegex&) = delete;
  UserRegex& operator=(const UserRegex&) = delete;

  // Whether the pattern occurs anywhere in `text` (a search, not a whole-text match; anchor
  // with ^ and $ for that).
  bool search(std::string_view text) const;

  const std::string& pattern() const;

 private:
  explicit UserRegex(std::unique_ptr<re2::RE2> re);
  std::unique_ptr<re2::RE2> re_;
};

// The hint shown under a pattern RE2 rejects for its syntax (flow diagnostics add the link to
// docs/flows.md#regex).
inline constexpr std::string_view kSyntaxHint = "RE2 syntax: no backreferences or lookaround";

}  // namespace waflow::core::regex
