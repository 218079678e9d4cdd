#include <utility>  // before Asio: g++ 12 coroutine workaround (see design.md)

#include "loopback_server.h"
#include "test_http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <fstream>
#include <map>

namespace waflow::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

std::map<std::string, std::string, std::less<>> parseQuery(std::string_view target) {
  std::map<std::string, std::string, std::less<>> out;
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return out;
  }
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    std::string_view pair = rest.substr(0, rest.find('&'));
    rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
    std::size_t eq = pair.find('=');
    out.emplace(std::string(pair.substr(0, eq)),
                eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
  }
  return out;
}

std::size_t toSize(const std::map<std::string, std::string, std::less<>>& q, std::string_view key) {
  auto it = q.find(key);
  std::size_t v = 0;
  if (it != q.end()) {
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  }
  return v;
}

}  // namespace

struct TestHttpServer::State {
  LoopbackServer server;
  TestHttpServer* owner = nullptr;

  http::response<http::string_body> handle(http::request<http::string_body>& req) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (path.starts_with("http://")) {  // absolute form: we are being used as a proxy
      std::size_t slash = path.find('/', 7);
      path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
    auto query = parseQuery(target);
    http::response<http::string_body> res{http::status::ok, req.version()};
    if (path.starts_with("/echo")) {
      res.set("X-Echo-Method", req.method_string());
      res.set("X-Echo-Target", target);
      res.set("X-Mixed-Case", "yes");
      for (const auto& field : req) {
        std::string name = "X-Req-" + std::string(field.name_string());
        for (char& c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        res.insert(name, field.value());
      }
      res.body() = std::move(req.body());
    } else if (path == "/bytes") {
      std::size_t n = toSize(query, "n");
      std::string body(n, '\0');
      for (std::size_t i = 0; i < n; ++i) {
        body[i] = byteAt(i);
      }
      res.body() = std::move(body);
      if (query.contains("chunked")) {
        res.chunked(true);
      }
    } else if (path == "/status") {
      res.result(static_cast<unsigned>(toSize(query, "code")));
    } else {
      res.result(http::status::not_found);
    }
    res.keep_alive(req.keep_alive() && !query.contains("close"));
    if (!res.chunked()) {
      res.prepare_payload();
    }
    return res;
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(256 * 1024 * 1024);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kAwait);
      if (ec) {
        break;
      }
      owner->requests_.fetch_add(1);
      http::request<http::string_body> req = parser.release();
      auto query = parseQuery(req.target());
      if (std::size_t delay = toSize(query, "delay_ms"); delay > 0) {
        asio::steady_timer timer(stream.get_executor(), std::chrono::milliseconds(delay));
        co_await timer.async_wait(kAwait);
      }
      http::response<http::string_body> res = handle(req);
      auto [wec, written] = co_await http::async_write(stream, res, kAwait);
      if (wec || !res.keep_alive()) {
        break;
      }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
};

TestHttpServer::TestHttpServer(int threads) : state_(std::make_unique<State>()) {
  state_->owner = this;
  port_ = state_->server.port();
  state_->server.start(state_.get(), threads, [this] { accepted_.fetch_add(1); });
}

TestHttpServer::~TestHttpServer() {
  state_->server.stop();
}

std::string TestHttpServer::url(std::string_view target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
}

bool TestHttpServer::waitForRequests(uint64_t n, int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (requests_.load() < n) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

int processThreadCount() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("Threads:")) {
      return std::stoi(line.substr(8));
    }
  }
  return -1;
}

uint16_t unusedLocalPort() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace waflow::test
