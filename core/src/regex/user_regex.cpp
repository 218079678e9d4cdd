#include "regex/user_regex.h"

#include <re2/re2.h>

namespace waflow::core::regex {

UserRegex::UserRegex(std::unique_ptr<re2::RE2> re) : re_(std::move(re)) {}

UserRegex::~UserRegex() = default;

std::shared_ptr<const UserRegex> UserRegex::compile(std::string_view pattern, Case letter_case,
                                                    RegexError* error) {
  re2::RE2::Options options;
  options.set_log_errors(false);  // the caller reports the error where the pattern was written
  options.set_max_mem(kMaxMemory);
  options.set_case_sensitive(letter_case == Case::kSensitive);
  auto re = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (re->ok()) {
    return std::shared_ptr<const UserRegex>(new UserRegex(std::move(re)));
  }
  if (error != nullptr) {
    error->message = re->error();
    error->fragment = re->error_arg();
    const size_t at =
        error->fragment.empty() ? std::string_view::npos : pattern.find(error->fragment);
    error->offset = at == std::string_view::npos ? 0 : at;
    switch (re->error_code()) {
      case re2::RE2::ErrorPatternTooLarge:
        error->hint =
            "the compiled pattern needs more than 2 MiB: shorten it, or lower counted repeats "
            "such as {1000}";
        break;
      case re2::RE2::ErrorRepeatSize:
        error->hint = "a counted repeat such as {2,5} goes up to 1000";
        break;
      default:
        error->hint = std::string(kSyntaxHint);
    }
  }
  return nullptr;
}

bool UserRegex::search(std::string_view text) const {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

const std::string& UserRegex::pattern() const {
  return re_->pattern();
}

}  // namespace waflow::core::regex
