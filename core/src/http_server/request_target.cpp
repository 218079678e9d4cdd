#include "http_server/request_target.h"

#include <boost/url/parse.hpp>

namespace waflow::core::httpd {

namespace {

// Why a decoded path segment is refused, or nullptr. The URL grammar admits '/', '%', '\' and
// control characters in a segment only percent-encoded, so finding one after decoding means
// the client encoded it.
const char* segmentProblem(std::string_view segment) {
  if (segment == "." || segment == "..") {
    return "a '.' or '..' segment";
  }
  for (char c : segment) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '/') {
      return "an encoded '/' (%2F)";
    }
    if (c == '\\') {
      return "an encoded '\\' (%5C)";
    }
    if (c == '%') {
      return "an encoded '%' (%25, double encoding)";
    }
    if (byte < 0x20 || byte == 0x7F) {
      return "an encoded control character";
    }
  }
  return nullptr;
}

RequestTarget refuse(std::string why) {
  RequestTarget out;
  out.error = "request target refused: " + why + "\n";
  return out;
}

}  // namespace

RequestTarget parseRequestTarget(std::string_view target) {
  if (target == "*") {
    return RequestTarget{true, "*", {}, {}};
  }
  auto url = (!target.empty() && target.front() == '/') ? boost::urls::parse_origin_form(target)
                                                        : boost::urls::parse_absolute_uri(target);
  if (!url) {
    return refuse("malformed");
  }
  for (std::string segment : url->segments()) {  // each one decoded
    if (const char* why = segmentProblem(segment)) {
      return refuse(std::string("the path contains ") + why);
    }
  }
  RequestTarget out;
  out.ok = true;
  out.path = url->path();
  if (out.path.empty()) {
    out.path = "/";
  }
  auto query = url->encoded_query();
  out.query.assign(query.data(), query.size());
  return out;
}

}  // namespace waflow::core::httpd
