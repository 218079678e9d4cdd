#include "http_server/request_reader.h"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <utility>

#include <boost/beast/http/error.hpp>

namespace waflow::core::httpd {

namespace bhttp = boost::beast::http;

RequestReader::RequestReader(std::size_t header_limit, std::size_t body_limit)
    : header_limit_(header_limit), body_limit_(body_limit), buffer_(header_limit + kReadChunk) {}

void RequestReader::begin() {
  failure_ = {};
  parser_.emplace(header_limit_, body_limit_);
}

boost::asio::mutable_buffer RequestReader::prepare() {
  const std::size_t room = buffer_.max_size() - std::min(buffer_.size(), buffer_.max_size());
  return buffer_.prepare(std::min(kReadChunk, room));
}

void RequestReader::commit(std::size_t n) {
  buffer_.commit(n);
}

RequestReader::Progress RequestReader::parse() {
  try {
    return putBuffered();
  } catch (const std::length_error& e) {
    return fail(431,
                "request too large to parse (" + std::string(e.what()) + "); " + headerLimitText());
  } catch (const std::exception& e) {
    return fail(400, "malformed HTTP request (" + std::string(e.what()) + ")\n");
  }
}

// Feeds buffered bytes without an I/O round-trip (usually the whole request came in one read).
// Beast parses one element (header, chunk line, chunk data, trailer) per put(), so the bytes a
// put() consumes before the header is done are exactly the header's.
RequestReader::Progress RequestReader::putBuffered() {
  boost::system::error_code ec;
  while (buffer_.size() > 0 && !parser_->is_done()) {
    const bool in_header = !parser_->is_header_done();
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (in_header) {
      parser_->addFramingBytes(used);
    }
    if (ec == bhttp::error::need_more) {
      break;
    }
    if (ec) {
      return failFromParser(ec);
    }
  }
  if (parser_->is_done()) {
    return Progress::kDone;
  }
  // What stays buffered is an incomplete header, chunk line or trailer section (chunk data is
  // always consumed): it counts against the framing budget before it is complete, so a trailer
  // that never ends cannot fill memory.
  if (parser_->is_header_done() && buffer_.size() > parser_->framingLeft()) {
    return fail(431, "request header, chunk extensions and trailer exceed " + headerLimitText());
  }
  if (buffer_.size() >= buffer_.max_size()) {  // unreachable while the limits above hold
    return fail(431, "request element larger than the read buffer; " + headerLimitText());
  }
  return Progress::kNeedMore;
}

RequestReader::Progress RequestReader::failFromParser(const boost::system::error_code& ec) {
  switch (parser_->refusal()) {
    case RequestParser::Refusal::kFramingLimit:
      return fail(431, "request header, chunk extensions and trailer exceed " + headerLimitText());
    case RequestParser::Refusal::kFieldTooLarge:
      return fail(431, "request field '" + parser_->refusalDetail() +
                           "' is longer than 65,535 bytes, the most a field may have\n");
    case RequestParser::Refusal::kAmbiguousFraming:
      return fail(400, "ambiguous request framing refused: " + parser_->refusalDetail() + "\n");
    case RequestParser::Refusal::kUnsupportedCoding:
      // RFC 9112 §6.1: a coding the server does not decode is answered 501 (Not Implemented).
      return fail(501, "transfer coding refused: " + parser_->refusalDetail() +
                           "; send the body as-is with Content-Length, or chunked alone\n");
    case RequestParser::Refusal::kNone:
      break;
  }
  if (ec == bhttp::error::body_limit) {
    return fail(413, "request body exceeds the " + std::to_string(body_limit_) +
                         "-byte limit (server.body_limit)\n");
  }
  if (ec == bhttp::error::header_limit) {
    return fail(431, "request headers exceed " + headerLimitText());
  }
  return fail(400, "malformed HTTP request: " + ec.message() + "\n");
}

RequestReader::Progress RequestReader::fail(int status, std::string message) {
  failure_ = {status, std::move(message)};
  return Progress::kFailed;
}

std::string RequestReader::headerLimitText() const {
  return "the " + std::to_string(header_limit_) + "-byte limit (server.header_limit)\n";
}

}  // namespace waflow::core::httpd
