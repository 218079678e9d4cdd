// HttpServer: the daemon's HTTP/1.1 server (Boost.Beast, one strand per connection).
//
// Serves the routes of a Router with keep-alive and in-order pipelining, a body limit (413), a
// header limit (431), a per-request read deadline against slow clients (408), an idle keep-alive
// timeout, a connection cap and graceful shutdown. Handlers run on the io_context threads (the
// context may be run by several threads) and answer through `Respond`, from any thread.
//
// Thread-safety: start(), shutdown(), port() and activeConnections() may be called from any
// thread. The Router and the ServerObserver must stay valid until shutdown's `done` has run (or
// the io_context has stopped); after `done` the server no longer calls the observer. Destroy the
// HttpServer after `done` (its destructor force-closes whatever is left, without waiting).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "http_server/http_types.h"
#include "http_server/router.h"

namespace waflow::core::httpd {

struct ServerOptions {
  std::string address = "127.0.0.1";     // IP literal, or "localhost"
  uint16_t port = 8080;                  // 0 = pick a free port (see HttpServer::port())
  std::size_t body_limit = 1024 * 1024;  // larger body -> 413, connection closed
  std::size_t header_limit = 16 * 1024;  // request line + headers larger -> 431, closed
  // A request's headers and body must arrive within this, counted from its first byte (slowloris
  // defence). On expiry: 408 and the connection is closed.
  std::chrono::milliseconds read_timeout{10000};
  // A keep-alive connection with no request started is closed after this. A new connection must
  // start its first request within min(idle_timeout, read_timeout).
  std::chrono::milliseconds idle_timeout{60000};
  // Writing one response must finish within this (clients that stop reading).
  std::chrono::milliseconds write_timeout{30000};
  // Connections beyond this are accepted and closed at once (no response): cheap under a flood,
  // and the client sees a reset it can retry elsewhere.
  std::size_t max_connections = 10000;
  // The setting that chose address and port, named in start()'s errors.
  std::string listen_setting = "server.listen";
};

// Hooks for metrics and logs; called from server threads, concurrently.
class ServerObserver {
 public:
  virtual ~ServerObserver() = default;
  // Once per response written. `method` is the request's method when it is a standard one, else
  // "OTHER" ("-" when the request line could not be parsed); `route_label` is the matched route's
  // label, Router::kUnmatchedLabel for 404s, or "(invalid)" for requests rejected before routing.
  // `latency` runs from the complete request to the response written.
  virtual void onRequest(std::string_view method, std::string_view route_label, int status,
                         std::chrono::nanoseconds latency) = 0;
  virtual void onConnectionOpened() {}
  virtual void onConnectionClosed() {}
  // A handler threw (the client got 500), or dropped its Respond without calling it.
  virtual void onHandlerError(std::string_view route_label, std::string_view what) {
    (void)route_label;
    (void)what;
  }
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, ServerOptions opts, const Router& router,
             ServerObserver* observer = nullptr);
  // Closes the listener and force-closes remaining connections (without waiting).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens, then accepts on the io_context. Throws std::runtime_error with a message
  // naming the address and what to do, e.g. "cannot listen on 127.0.0.1:8080: Address already in
  // use (is another waflow running? set server.listen)".
  void start();
  // The bound port (after start()).
  uint16_t port() const;
  // Graceful: stops accepting at once (new connections are refused); idle keep-alive connections
  // are closed; a connection with a request in flight finishes it (its Respond is still honoured
  // and written with "Connection: close") and then closes. `done` runs once, on an io_context
  // thread, when every connection is gone, or when `grace` expires and the stragglers are
  // force-closed. Calling it again adds another `done` to run at that same moment (at once when
  // the shutdown has already completed).
  void shutdown(std::chrono::milliseconds grace, std::function<void()> done);
  std::size_t activeConnections() const;

  class Core;  // shared state of the listener and its sessions (implementation detail)

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace waflow::core::httpd
