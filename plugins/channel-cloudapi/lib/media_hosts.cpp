#include "media_hosts.h"

#include <algorithm>

namespace waflow::cloudapi {
namespace {

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
  return out;
}

bool isHostName(std::string_view host) {
  return !host.empty() && host.front() != '.' && host.back() != '.' &&
         host.find("..") == std::string_view::npos &&
         std::all_of(host.begin(), host.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
         });
}

bool isLoopback(std::string_view host) {
  if (host == "localhost" || host == "[::1]") {
    return true;
  }
  // 127.0.0.0/8 as a dotted quad.
  if (!host.starts_with("127.")) {
    return false;
  }
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

bool matches(std::string_view host, std::string_view pattern) {
  if (pattern.starts_with("*.")) {
    std::string_view domain = pattern.substr(1);  // ".example.com"
    return host.size() > domain.size() && host.ends_with(domain);
  }
  return host == pattern;
}

}  // namespace

std::string checkMediaHostPattern(std::string_view pattern) {
  std::string_view host = pattern.starts_with("*.") ? pattern.substr(2) : pattern;
  if (!isHostName(lowerAscii(host)) && lowerAscii(pattern) != "[::1]") {
    return "'" + std::string(pattern) +
           "' is not a host name or a *.domain pattern (letters, digits, '-' and '.')";
  }
  return {};
}

std::string refuseMediaUrl(std::string_view url, const std::vector<std::string>& allowed_hosts) {
  std::string lowered = lowerAscii(url);
  bool https = lowered.starts_with("https://");
  if (!https && !lowered.starts_with("http://")) {
    return "the media URL is not http(s)";
  }
  std::string_view rest = std::string_view(lowered).substr(https ? 8 : 7);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find_first_of("@\\ %\t") != std::string_view::npos) {
    return "the media URL's address is malformed (user-info, escapes or spaces)";
  }
  std::string_view host = authority;
  if (host.starts_with("[")) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (!isHostName(host) && host != "[::1]") {
    return "the media URL's host is malformed";
  }
  bool allowed = std::any_of(allowed_hosts.begin(), allowed_hosts.end(),
                             [&](const std::string& p) { return matches(host, lowerAscii(p)); });
  if (!allowed) {
    return "the media URL's host '" + std::string(host) +
           "' is not in media_hosts, so the access token is not sent there (add it to "
           "media_hosts if it is really Meta's)";
  }
  if (!https && !isLoopback(host)) {
    return "the media URL for '" + std::string(host) +
           "' is plain http; the access token is only sent over https (plain http only to "
           "loopback addresses)";
  }
  return {};
}

}  // namespace waflow::cloudapi
