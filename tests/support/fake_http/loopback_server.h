// LoopbackServer — the part every fake HTTP server in the tests shares: an acceptor on
// 127.0.0.1 at a free port, one coroutine session per accepted connection, and the threads
// that run them. The fake itself owns the protocol: start() is given the object whose
// session(tcp::socket) coroutine serves one connection.
//
// Thread-safety: construct, then start() once; port() from any thread. stop() (also run by
// the destructor) ends the loop and joins the threads, so nothing of the fake is touched after
// it returns. Sessions run on the server's threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace waflow::test {

class LoopbackServer {
 public:
  LoopbackServer() {
    using boost::asio::ip::tcp;
    tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(boost::asio::socket_base::max_listen_connections);
  }
  ~LoopbackServer() { stop(); }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  // Accepts connections (TCP_NODELAY set) and runs `server->session(socket)` for each on
  // `threads` threads; `accepted`, when given, is called for every connection. `server` must
  // outlive stop().
  template <class Server>
  void start(Server* server, int threads, std::function<void()> accepted = {}) {
    boost::asio::co_spawn(ioc_, acceptLoop(server, std::move(accepted)), boost::asio::detached);
    for (int i = 0; i < std::max(1, threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  void stop() {
    ioc_.stop();
    for (auto& t : threads_) {
      t.join();
    }
    threads_.clear();
  }

 private:
  // The session coroutine is created here, inside a coroutine, as the fakes always did: g++ 12
  // warns about a mismatched delete when an awaitable is made in an inlined plain function.
  template <class Server>
  boost::asio::awaitable<void> acceptLoop(Server* server, std::function<void()> accepted) {
    constexpr auto kAwait = boost::asio::as_tuple(boost::asio::use_awaitable);
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kAwait);
      if (ec) {
        if (ec == boost::asio::error::operation_aborted) {
          co_return;
        }
        continue;  // e.g. EMFILE under load: keep serving
      }
      if (accepted) {
        accepted();
      }
      boost::system::error_code ignored;
      socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
      boost::asio::co_spawn(acceptor_.get_executor(), server->session(std::move(socket)),
                            boost::asio::detached);
    }
  }

  boost::asio::io_context ioc_{1};
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  std::vector<std::thread> threads_;
};

}  // namespace waflow::test
