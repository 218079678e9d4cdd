// RequestReader: turns the bytes of one connection into HTTP/1.1 requests, one at a time, within
// the server's limits, without sockets (the session does the I/O, the fuzzer feeds it directly).
//
// The reader owns the connection's input buffer. The owner reads into prepare(), commit()s what
// arrived and calls parse(), which answers kNeedMore (read again), kDone (message() holds the
// request; bytes of pipelined requests stay buffered for the next begin()) or kFailed (failure()
// holds the status and text to answer with; the connection must then be closed, because the
// request's end is unknown).
//
// What is bounded, and how:
//   - the request line and header, chunk extensions and the trailer section share one budget,
//     `header_limit` bytes (431); trailer fields are counted and discarded (RequestParser);
//   - the body, `body_limit` bytes (413);
//   - the buffer never holds more than `header_limit` plus one read (kReadChunk), whatever the
//     client sends;
//   - ambiguous framing (Transfer-Encoding not ending in chunked, with Content-Length, differing
//     Content-Lengths) is refused with 400, codings other than chunked with 501;
//   - anything Beast throws while parsing becomes a failure (431 for std::length_error, else 400)
//     instead of escaping into the I/O thread and terminating the process.
//
// Thread-safety: none; one reader per connection, used on its strand.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "http_server/request_parser.h"

namespace waflow::core::httpd {

class RequestReader {
 public:
  using Message = RequestParser::Message;

  // The largest single read; the buffer holds at most header_limit plus this.
  static constexpr std::size_t kReadChunk = 16 * 1024;

  enum class Progress { kNeedMore, kDone, kFailed };

  struct Failure {
    int status = 0;       // 400, 413, 431 or 501
    std::string message;  // for the client, ending in a newline; names the setting to change
  };

  RequestReader(std::size_t header_limit, std::size_t body_limit);

  // Starts reading a new request. Bytes already buffered (a pipelined request) are kept.
  void begin();
  // Space for the next read; non-empty whenever parse() last returned kNeedMore.
  boost::asio::mutable_buffer prepare();
  void commit(std::size_t n);
  std::size_t buffered() const { return buffer_.size(); }
  // Drops whatever is buffered (used while draining a connection that is closing).
  void discardBuffered() { buffer_.clear(); }

  // Feeds the buffered bytes to the request begun last. Requires begin().
  Progress parse();

  // The request begun last: complete after kDone, partial (possibly empty) before or after
  // kFailed. Valid until the next begin() or end().
  bool started() const { return parser_.has_value(); }
  bool headerDone() const { return parser_ && parser_->is_header_done(); }
  Message& message() { return parser_->get(); }
  const Failure& failure() const { return failure_; }
  // Releases the request's parser and body.
  void end() { parser_.reset(); }

 private:
  Progress putBuffered();
  Progress fail(int status, std::string message);
  Progress failFromParser(const boost::system::error_code& ec);
  std::string headerLimitText() const;

  std::size_t header_limit_;
  std::size_t body_limit_;
  boost::beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  Failure failure_;
};

}  // namespace waflow::core::httpd
