// PlainSession and PlainListener: the bare Boost.Beast server shape shared by the benchmarks'
// reference servers (waflow-minimal-server, waflow-floor-server). One strand per connection,
// keep-alive, no timeouts, limits or routing: beast::tcp_stream's per-operation timer alone
// costs ~40% of throughput, so these are the upper bound of what Beast can do here.
//
// Thread-safety: a session's handlers run on its own strand; respond() must be called there
// (post to executor() from other threads). The listener accepts on a strand of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace waflow::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Reads requests one after another; Derived::onRequest() answers each with respond().
template <class Derived>
class PlainSession : public std::enable_shared_from_this<Derived> {
 public:
  explicit PlainSession(tcp::socket&& socket) : socket_(std::move(socket)) {}

  void run() {
    asio::dispatch(socket_.get_executor(),
                   beast::bind_front_handler(&PlainSession::doRead, this->shared_from_this()));
  }

  tcp::socket::executor_type executor() { return socket_.get_executor(); }

 protected:
  http::request<http::string_body>& request() { return req_; }

  void respond(std::string body) {
    res_ = {};
    res_.version(req_.version());
    res_.result(http::status::ok);
    res_.set(http::field::content_type, "text/plain");
    res_.body() = std::move(body);
    res_.keep_alive(req_.keep_alive());
    res_.prepare_payload();
    http::async_write(socket_, res_,
                      beast::bind_front_handler(&PlainSession::onWrite, this->shared_from_this()));
  }

 private:
  void doRead() {
    req_ = {};
    http::async_read(socket_, buffer_, req_,
                     beast::bind_front_handler(&PlainSession::onRead, this->shared_from_this()));
  }

  void onRead(beast::error_code ec, std::size_t) {
    if (ec) {
      beast::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    static_cast<Derived*>(this)->onRequest();
  }

  void onWrite(beast::error_code ec, std::size_t) {
    if (ec) {
      return;
    }
    if (!res_.keep_alive()) {
      beast::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    doRead();
  }

  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

// Accepts connections and hands each socket (TCP_NODELAY set) to `start`.
class PlainListener : public std::enable_shared_from_this<PlainListener> {
 public:
  using Start = std::function<void(tcp::socket&&)>;

  PlainListener(asio::io_context& ioc, const tcp::endpoint& endpoint, Start start)
      : ioc_(ioc), acceptor_(asio::make_strand(ioc)), start_(std::move(start)) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void run() { doAccept(); }

 private:
  void doAccept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&PlainListener::onAccept, shared_from_this()));
  }

  void onAccept(beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      start_(std::move(socket));
    }
    doAccept();
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  Start start_;
};

}  // namespace waflow::bench
