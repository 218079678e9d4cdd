// Checks for the names people give things in waflow's files — instance ids, attribute and
// field names, event names, HTTP header names — as plain character loops: they run on every
// load and must stay linear in the name's length whatever it holds.
//
// Thread-safety: pure functions.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace waflow::core::text {

inline bool isAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

inline bool isAsciiDigit(char c) {
  return c >= '0' && c <= '9';
}

// An instance or plugin id (config::kInstanceIdPattern, ^[a-z0-9][a-z0-9_-]{0,62}$): lower-case
// letters, digits, '-' and '_', starting with a letter or digit, at most 63 characters.
inline bool isInstanceId(std::string_view id) {
  auto lowerOrDigit = [](char c) { return (c >= 'a' && c <= 'z') || isAsciiDigit(c); };
  if (id.empty() || id.size() > 63 || !lowerOrDigit(id.front())) {
    return false;
  }
  return std::all_of(id.begin(), id.end(),
                     [&](char c) { return lowerOrDigit(c) || c == '-' || c == '_'; });
}

// A name Lua and templates can use: a letter or '_', then letters, digits and '_'.
inline bool isIdentifier(std::string_view name) {
  if (name.empty() || isAsciiDigit(name.front())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return isAsciiLetter(c) || isAsciiDigit(c) || c == '_'; });
}

// An event name such as payment.paid: letters, digits and . _ : -, starting with a letter,
// a digit or '_'.
inline bool isEventName(std::string_view name) {
  auto plain = [](char c) { return isAsciiLetter(c) || isAsciiDigit(c) || c == '_'; };
  if (name.empty() || !plain(name.front())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return plain(c) || c == '.' || c == ':' || c == '-'; });
}

// An HTTP header name: a token of RFC 9110 section 5.6.2.
inline bool isHeaderToken(std::string_view name) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return isAsciiLetter(c) || isAsciiDigit(c) || kSymbols.find(c) != std::string_view::npos;
  });
}

}  // namespace waflow::core::text
