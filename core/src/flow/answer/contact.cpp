// The answers that are a way to reach the customer: `email` (the one address in the message, its
// domain lower-cased) and `phone` (digits with the country code, E.164 without the "+").
//
// Thread-safety: pure functions.
#include "flow/answer/characters.h"
#include "flow/answer/checks.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace waflow::core::flow::answer {
namespace {

bool validLocalPart(std::string_view local) {
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos) {
    return false;
  }
  static constexpr std::string_view kAllowed = "!#$%&'*+/=?^_`{|}~.-";
  return std::all_of(local.begin(), local.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x80 || isAsciiLetter(c) || isAsciiDigit(c) ||
           kAllowed.find(c) != std::string_view::npos;
  });
}

bool validDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) {
    return false;
  }
  std::vector<std::string_view> labels;
  size_t start = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      labels.push_back(domain.substr(start, i - start));
      start = i + 1;
    }
  }
  if (labels.size() < 2) {
    return false;
  }
  for (std::string_view label : labels) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!(static_cast<unsigned char>(c) >= 0x80 || isAsciiLetter(c) || isAsciiDigit(c) ||
            c == '-')) {
        return false;
      }
    }
  }
  // The top-level domain is letters ("com", "id"), or an internationalised one ("xn--p1ai").
  const std::string tld = lowerAscii(labels.back());
  if (tld.rfind("xn--", 0) == 0) {
    return tld.size() > 4;
  }
  return tld.size() >= 2 &&
         std::none_of(tld.begin(), tld.end(), [](char c) { return isAsciiDigit(c) || c == '-'; });
}

}  // namespace

AnswerCheck checkEmail(std::string_view text) {
  // Forgiving about words around the address ("email saya rina@gmail.com ya"), not about the
  // address itself.
  std::optional<std::string_view> candidate;
  for (std::string_view word : splitOnSpaces(text)) {
    if (word.find('@') == std::string_view::npos) {
      continue;
    }
    if (candidate) {
      return reject(kExpectedEmail, "the answer has more than one '@'");
    }
    candidate = word;
  }
  if (!candidate) {
    return reject(kExpectedEmail, "there is no '@' in the answer");
  }
  std::string_view address = *candidate;
  static constexpr std::string_view kAround = "<>()[]\"',;:.!?";
  while (!address.empty() && kAround.find(address.front()) != std::string_view::npos) {
    address.remove_prefix(1);
  }
  while (!address.empty() && kAround.find(address.back()) != std::string_view::npos) {
    address.remove_suffix(1);
  }
  if (lowerAscii(address.substr(0, 7)) == "mailto:") {
    address.remove_prefix(7);
  }
  const size_t at = address.find('@');
  if (address.find('@', at + 1) != std::string_view::npos) {
    return reject(kExpectedEmail, "the answer has more than one '@'");
  }
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (!validLocalPart(local)) {
    return reject(kExpectedEmail, "the part before '@' is not valid");
  }
  if (!validDomain(domain)) {
    return reject(kExpectedEmail, "'" + std::string(domain) + "' is not a valid domain");
  }
  return accept(std::string(local) + "@" + lowerAscii(domain));
}

AnswerCheck checkPhone(const AnswerRules& rules, std::string_view text) {
  // The number runs from the first '+' or digit to the last digit; words around it ("WA:",
  // "(whatsapp)") are ignored, but nothing else may be inside it.
  const size_t first = text.find_first_of("+0123456789");
  const size_t last = text.find_last_of("0123456789");
  if (first == std::string_view::npos || last == std::string_view::npos || last < first) {
    return reject(kExpectedPhone, "there are no digits in the answer");
  }
  std::string number(text.substr(first, last - first + 1));
  const bool plus = number.front() == '+';
  if (plus) {
    // "+44 (0)20 ..." : the (0) is only dialled inside the country.
    for (size_t pos; (pos = number.find("(0)")) != std::string::npos;) {
      number.erase(pos, 3);
    }
  }
  std::string digits;
  for (size_t i = 0; i < number.size(); ++i) {
    const char c = number[i];
    if (isAsciiDigit(c)) {
      digits += c;
    } else if (c == '+' && i == 0) {
      // the international prefix
    } else if (!(c == ' ' || c == '-' || c == '(' || c == ')' || c == '.')) {
      return reject(kExpectedPhone, "'" + std::string(1, c) + "' is not part of a phone number");
    }
  }
  const std::string& code = rules.country_code;
  if (!plus && digits.rfind("00", 0) == 0) {
    digits.erase(0, 2);  // the international prefix dialled as 00
  } else if (!plus && digits.rfind("0", 0) == 0) {
    digits = code + digits.substr(1);
  } else if (!plus && code == "62" && digits.rfind("8", 0) == 0 && digits.size() >= 9 &&
             digits.size() <= 12) {
    digits = code + digits;  // an Indonesian mobile number written without its 0
  }
  // "+62 0812...": the national 0 written after the country code.
  if (!code.empty() && digits.size() > code.size() && digits.rfind(code, 0) == 0 &&
      digits[code.size()] == '0') {
    digits.erase(code.size(), 1);
  }
  if (digits.size() < 8 || digits.size() > 15) {
    return reject(kExpectedPhone,
                  "a phone number has 8 to 15 digits, this has " + std::to_string(digits.size()));
  }
  return accept(digits);
}

}  // namespace waflow::core::flow::answer
