// waflow-minimal-server: the baseline for HTTP benchmarks. A bare Boost.Beast server in the same
// async pattern as the daemon (listener + session with shared_from_this, one strand per
// connection, multi-threaded io_context) that answers every request with 200 "OK". Benchmarks
// compare the daemon's requests/s against this. It deliberately has no timeouts, limits or
// routing (beast::tcp_stream's per-operation timer alone costs ~40% of throughput), so it is the
// upper bound of what Beast can do here, not a strawman.
//
// Usage: waflow-minimal-server [--port N] [--threads N] [--address A]
// Prints the bound port alone on the first stdout line, then serves until SIGINT/SIGTERM.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket&& socket) : socket_(std::move(socket)) {}

  void run() {
    asio::dispatch(socket_.get_executor(),
                   beast::bind_front_handler(&Session::doRead, shared_from_this()));
  }

 private:
  void doRead() {
    req_ = {};
    http::async_read(socket_, buffer_, req_,
                     beast::bind_front_handler(&Session::onRead, shared_from_this()));
  }

  void onRead(beast::error_code ec, std::size_t) {
    if (ec) {
      beast::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    res_ = {};
    res_.version(req_.version());
    res_.result(http::status::ok);
    res_.set(http::field::content_type, "text/plain");
    res_.body() = "OK";
    res_.keep_alive(req_.keep_alive());
    res_.prepare_payload();
    http::async_write(socket_, res_,
                      beast::bind_front_handler(&Session::onWrite, shared_from_this()));
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

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, const tcp::endpoint& endpoint)
      : ioc_(ioc), acceptor_(asio::make_strand(ioc)) {
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
                           beast::bind_front_handler(&Listener::onAccept, shared_from_this()));
  }

  void onAccept(beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket))->run();
    }
    doAccept();
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
};

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "waflow-minimal-server: " << error << "\n"
            << "usage: waflow-minimal-server [--port N] [--threads N] [--address A]\n";
  std::exit(2);
}

long parseNumber(std::string_view flag, const char* text, long min, long max) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < min || v > max) {
    usage(std::string(flag) + " expects a number between " + std::to_string(min) + " and " +
          std::to_string(max) + ", got '" + text + "'");
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1";
  long port = 0;
  long threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) {
      usage("missing value after " + std::string(arg));
    }
    if (arg == "--port") {
      port = parseNumber(arg, argv[++i], 0, 65535);
    } else if (arg == "--threads") {
      threads = parseNumber(arg, argv[++i], 1, 256);
    } else if (arg == "--address") {
      address = argv[++i];
    } else {
      usage("unknown option " + std::string(arg));
    }
  }

  try {
    asio::io_context ioc(static_cast<int>(threads));
    tcp::endpoint endpoint(asio::ip::make_address(address), static_cast<uint16_t>(port));
    auto listener = std::make_shared<Listener>(ioc, endpoint);
    std::cout << listener->port() << std::endl;
    listener->run();

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });

    std::vector<std::thread> pool;
    for (long i = 1; i < threads; ++i) {
      pool.emplace_back([&ioc] { ioc.run(); });
    }
    ioc.run();
    for (auto& t : pool) {
      t.join();
    }
  } catch (const std::exception& e) {
    std::cerr << "waflow-minimal-server: cannot serve on " << address << ":" << port << ": "
              << e.what() << "\n";
    return 1;
  }
  return 0;
}
