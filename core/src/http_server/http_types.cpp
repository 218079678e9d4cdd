#include "http_server/http_types.h"

#include <array>
#include <cstdint>
#include <random>

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

namespace waflow::core::httpd {

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

std::optional<std::string> HttpRequest::queryParam(std::string_view name) const {
  if (!boost::urls::parse_query(query)) {  // validate first: params_view throws on bad input
    return std::nullopt;
  }
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  boost::urls::params_view params(query, opts);
  for (auto param : params) {
    if (param.key == name) {
      return std::move(param.value);
    }
  }
  return std::nullopt;
}

bool isSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string generateRequestId() {
  // One generator per thread: no locking on the request path, and random_device is only read
  // once per thread.
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::uint64_t v = rng();
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[v & 0xF];
    v >>= 4;
  }
  return out;
}

}  // namespace waflow::core::httpd
