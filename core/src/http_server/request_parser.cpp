#include "http_server/request_parser.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include "text/ascii.h"

namespace waflow::core::httpd {

namespace bhttp = boost::beast::http;

namespace {

// Beast stores a field's name and value, and the target, with 16-bit offsets (plus CRLF); a
// longer one makes basic_fields throw std::length_error.
constexpr std::size_t kMaxFieldBytes = std::numeric_limits<std::uint16_t>::max() - 2;

// A field on the wire: name, ": ", value, CRLF.
std::size_t fieldBytes(std::string_view name, std::string_view value) {
  return name.size() + value.size() + 4;
}

// The codings of a Transfer-Encoding list, trimmed, empty elements dropped (RFC 9110 §5.6.1).
std::vector<std::string_view> codings(std::string_view list) {
  std::vector<std::string_view> out;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = text::trimSpace(list.substr(0, comma));
    if (!item.empty()) {
      out.push_back(item);
    }
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return out;
}

}  // namespace

RequestParser::RequestParser(std::size_t header_limit, std::size_t body_limit)
    : framing_limit_(header_limit) {
  this->header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(header_limit, std::numeric_limits<std::uint32_t>::max())));
  this->body_limit(body_limit);
}

bool RequestParser::addFramingBytes(std::size_t n) {
  framing_used_ += n;
  return framing_used_ <= framing_limit_;
}

std::size_t RequestParser::framingLeft() const {
  return framing_used_ >= framing_limit_ ? 0 : framing_limit_ - framing_used_;
}

void RequestParser::refuse(Refusal why, std::string detail, error_code& ec) {
  refusal_ = why;
  refusal_detail_ = std::move(detail);
  switch (why) {
    case Refusal::kFramingLimit:
    case Refusal::kFieldTooLarge:
      ec = bhttp::error::header_limit;
      break;
    case Refusal::kAmbiguousFraming:
    case Refusal::kUnsupportedCoding:
    case Refusal::kNone:
      ec = bhttp::error::bad_transfer_encoding;
      break;
  }
}

void RequestParser::on_request_impl(bhttp::verb method, boost::beast::string_view method_str,
                                    boost::beast::string_view target, int version, error_code& ec) {
  if (target.size() > kMaxFieldBytes || method_str.size() > kMaxFieldBytes) {
    refuse(Refusal::kFieldTooLarge, "request target", ec);
    return;
  }
  message_.target(target);
  if (method != bhttp::verb::unknown) {
    message_.method(method);
  } else {
    message_.method_string(method_str);
  }
  message_.version(static_cast<unsigned>(version));
}

void RequestParser::on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                                  boost::beast::string_view value, error_code& ec) {
  if (is_header_done()) {  // a trailer field: counted, then dropped
    if (!addFramingBytes(fieldBytes(name_string, value))) {
      refuse(Refusal::kFramingLimit, "trailer", ec);
    }
    return;
  }
  if (name_string.size() > kMaxFieldBytes || value.size() > kMaxFieldBytes) {
    refuse(Refusal::kFieldTooLarge, std::string(name_string.substr(0, 64)), ec);
    return;
  }
  if (name == bhttp::field::content_length) {
    saw_content_length_ = true;
  } else if (name == bhttp::field::transfer_encoding) {
    saw_transfer_encoding_ = true;
    if (!transfer_encoding_.empty()) {
      transfer_encoding_ += ", ";
    }
    transfer_encoding_.append(value.data(), value.size());
  }
  message_.insert(name, name_string, value);
}

void RequestParser::on_header_impl(error_code& ec) {
  checkFraming(ec);
}

// RFC 9112 §6.1 and §6.3, applied to the request's own Transfer-Encoding fields rather than to
// Beast's reading of them: Beast frames "chunked, identity" or "gzip" as a request without a
// body and keeps the connection, and accepts "gzip" together with Content-Length, so a front
// proxy that frames by the RFC would see a different request boundary.
void RequestParser::checkFraming(error_code& ec) {
  if (!saw_transfer_encoding_) {
    return;
  }
  const std::string shown = "Transfer-Encoding: " + transfer_encoding_.substr(0, 64);
  if (message_.version() < 11) {
    refuse(Refusal::kAmbiguousFraming, shown + " in an HTTP/1.0 request", ec);
    return;
  }
  if (saw_content_length_) {
    refuse(Refusal::kAmbiguousFraming, shown + " together with Content-Length", ec);
    return;
  }
  auto list = codings(transfer_encoding_);
  auto is_chunked = [](std::string_view c) { return boost::beast::iequals(c, "chunked"); };
  if (list.empty() || !is_chunked(list.back())) {
    refuse(Refusal::kAmbiguousFraming, shown + " (the final coding must be chunked)", ec);
    return;
  }
  if (std::count_if(list.begin(), list.end(), is_chunked) > 1) {
    refuse(Refusal::kAmbiguousFraming, shown + " (chunked applied twice)", ec);
    return;
  }
  if (list.size() > 1) {
    refuse(Refusal::kUnsupportedCoding, shown + " (only chunked is supported)", ec);
  }
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code& ec) {
  ec = {};
  if (content_length) {  // never above body_limit: the parser refuses that first
    message_.body().reserve(static_cast<std::size_t>(*content_length));
  }
}

std::size_t RequestParser::on_body_impl(boost::beast::string_view body, error_code& ec) {
  ec = {};
  message_.body().append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t, boost::beast::string_view extensions,
                                         error_code& ec) {
  if (!addFramingBytes(extensions.size())) {
    refuse(Refusal::kFramingLimit, "chunk extensions", ec);
  }
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                              error_code& ec) {
  return on_body_impl(body, ec);
}

}  // namespace waflow::core::httpd
