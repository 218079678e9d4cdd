// A small blocking HTTP/1.1 test client over a raw TCP socket, with a timeout on every
// operation so a misbehaving server fails the test instead of hanging it.
//
// Thread-safety: one instance per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

namespace waflow::test {

using Response = boost::beast::http::response<boost::beast::http::string_body>;

// Builds a raw request. Content-Length is added when `body` is non-empty or the method is POST.
inline std::string rawRequest(std::string_view method, std::string_view target,
                              const std::vector<std::pair<std::string, std::string>>& headers = {},
                              std::string_view body = {}, std::string_view version = "HTTP/1.1") {
  std::string out;
  out.append(method).append(" ").append(target).append(" ").append(version).append("\r\n");
  out.append("Host: 127.0.0.1\r\n");
  for (const auto& [name, value] : headers) {
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!body.empty() || method == "POST") {
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n").append(body);
  return out;
}

class TestClient {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{5000};

  TestClient() : socket_(ioc_) {}

  // True on success; the error is in lastError() otherwise.
  bool connect(uint16_t port) {
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    socket_.connect(ep, last_error_);
    if (!last_error_) {
      socket_.set_option(boost::asio::ip::tcp::no_delay(true), last_error_);
    }
    return !last_error_;
  }

  bool send(std::string_view data, std::chrono::milliseconds timeout = kDefaultTimeout) {
    return run(
        [&](auto handler) {
          boost::asio::async_write(socket_, boost::asio::buffer(data.data(), data.size()), handler);
        },
        timeout);
  }

  // Reads one response (an interim 1xx counts as one). nullopt on EOF, error or timeout.
  std::optional<Response> read(std::chrono::milliseconds timeout = kDefaultTimeout,
                               bool head_request = false) {
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.skip(head_request);
    bool ok = run(
        [&](auto handler) { boost::beast::http::async_read(socket_, buffer_, parser, handler); },
        timeout);
    if (!ok) {
      return std::nullopt;
    }
    return parser.release();
  }

  std::optional<Response> roundTrip(std::string_view raw,
                                    std::chrono::milliseconds timeout = kDefaultTimeout) {
    if (!send(raw, timeout)) {
      return std::nullopt;
    }
    return read(timeout);
  }

  // True when the server closes the connection (EOF or reset) within `timeout`, discarding
  // anything it sends first; `received` collects those bytes.
  bool waitClosed(std::chrono::milliseconds timeout = kDefaultTimeout,
                  std::string* received = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    if (received != nullptr) {
      auto pending = buffer_.data();
      received->append(static_cast<const char*>(pending.data()), pending.size());
    }
    buffer_.clear();
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return false;
      }
      std::size_t n = 0;
      char chunk[4096];
      bool ok = run(
          [&](auto handler) {
            socket_.async_read_some(boost::asio::buffer(chunk),
                                    [handler, &n](boost::system::error_code ec, std::size_t k) {
                                      n = k;
                                      handler(ec, k);
                                    });
          },
          left);
      if (!ok) {
        return !timed_out_;
      }
      if (received != nullptr) {
        received->append(chunk, n);
      }
    }
  }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  const boost::system::error_code& lastError() const { return last_error_; }
  bool timedOut() const { return timed_out_; }

 private:
  // Runs one async operation on the private io_context for at most `timeout`.
  template <class Start>
  bool run(Start&& start, std::chrono::milliseconds timeout) {
    bool completed = false;
    boost::system::error_code ec;
    timed_out_ = false;
    ioc_.restart();
    start([&completed, &ec](boost::system::error_code e, std::size_t) {
      ec = e;
      completed = true;
    });
    ioc_.run_for(timeout);
    if (!completed) {
      timed_out_ = true;
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      ioc_.restart();
      ioc_.run();
      last_error_ = boost::asio::error::timed_out;
      return false;
    }
    last_error_ = ec;
    return !ec;
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  boost::system::error_code last_error_;
  bool timed_out_ = false;
};

}  // namespace waflow::test
