#include "http_server/http_server.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "http_server/request_reader.h"
#include "http_server/request_target.h"

namespace waflow::core::httpd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kInvalidLabel = "(invalid)";
// After the last response of a closing connection we half-close and drain what the client still
// sends for at most this long: closing with unread data makes the kernel send RST, which can
// destroy the response (e.g. a 413) before the client has read it.
constexpr std::chrono::milliseconds kLingerTimeout{1000};
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool iequals(std::string_view a, std::string_view b) {
  return beast::iequals(a, b);
}

bool isValidHeader(std::string_view name, std::string_view value) {
  return !name.empty() && name.find_first_of(":\r\n \t") == std::string_view::npos &&
         value.find_first_of("\r\n") == std::string_view::npos;
}

std::string_view methodLabel(const bhttp::request<bhttp::string_body>& msg) {
  if (msg.method_string().empty()) {
    return "-";
  }
  if (msg.method() == bhttp::verb::unknown) {
    return "OTHER";
  }
  return bhttp::to_string(msg.method());
}

std::string endpointText(const std::string& address, uint16_t port) {
  if (address.find(':') != std::string::npos) {
    return "[" + address + "]:" + std::to_string(port);
  }
  return address + ":" + std::to_string(port);
}

class Session;

}  // namespace

class HttpServer::Core : public std::enable_shared_from_this<HttpServer::Core> {
 public:
  Core(asio::io_context& ioc, ServerOptions opts, const Router& router, ServerObserver* observer)
      : ioc_(ioc),
        opts_(std::move(opts)),
        router_(router),
        observer_(observer),
        strand_(asio::make_strand(ioc)),
        acceptor_(strand_),
        retry_timer_(strand_),
        grace_timer_(strand_) {}

  void start();
  void beginShutdown(std::chrono::milliseconds grace, std::function<void()> done);
  void detachFromOwner();

  bool registerSession(const std::shared_ptr<Session>& session);
  void unregisterSession(Session* session);

  ServerObserver* observer() const { return observer_.load(std::memory_order_acquire); }
  const ServerOptions& options() const { return opts_; }
  const Router& router() const { return router_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  bool detached() const { return detached_.load(std::memory_order_acquire); }
  uint16_t port() const { return port_.load(std::memory_order_acquire); }
  std::size_t active() const { return active_.load(std::memory_order_relaxed); }

 private:
  void doAccept();
  void onAccept(error_code ec, tcp::socket socket);
  void closeAcceptor();
  void onGraceExpired();
  std::vector<std::shared_ptr<Session>> snapshotLocked();
  void runDone(std::vector<std::function<void()>> callbacks);

  asio::io_context& ioc_;
  const ServerOptions opts_;
  const Router& router_;
  std::atomic<ServerObserver*> observer_;
  asio::strand<asio::io_context::executor_type> strand_;  // acceptor and timers
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  asio::steady_timer grace_timer_;
  std::atomic<uint16_t> port_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> detached_{false};
  std::atomic<std::size_t> active_{0};
  bool started_ = false;

  // Touched on connect/disconnect and shutdown only, never per request.
  std::mutex mu_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  std::vector<std::function<void()>> done_callbacks_;
  bool shutdown_requested_ = false;
  bool done_fired_ = false;
};

namespace {

// One connection. Everything runs on the connection's strand except deliverFromAnyThread(),
// which hops onto it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<HttpServer::Core> core)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        core_(std::move(core)),
        reader_(core_->options().header_limit, core_->options().body_limit) {}

  ~Session() {
    if (registered_ && !finished_) {
      core_->unregisterSession(this);
    }
  }

  void markRegistered() { registered_ = true; }

  void run() {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      error_code ec;
      auto endpoint = self->socket_.remote_endpoint(ec);
      if (!ec) {
        self->remote_address_ = endpoint.address().to_string();
      }
      self->waitForRequest();
    });
  }

  void postToStrand(void (Session::*fn)()) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), fn] { ((*self).*fn)(); });
  }

  // Shutdown began: an idle connection closes now; others close after their current response,
  // which carries "Connection: close" because core_->stopping() is set.
  void onShutdown() {
    if (!finished_ && phase_ == Phase::kIdle) {
      finish();
    }
  }

  void forceClose() { finish(); }

  // Called by the Respond slot from any thread.
  void deliverFromAnyThread(HttpResponse&& response, std::string handler_error) {
    asio::dispatch(socket_.get_executor(),
                   [self = shared_from_this(), response = std::move(response),
                    handler_error = std::move(handler_error)]() mutable {
                     self->deliver(std::move(response), std::move(handler_error));
                   });
  }

 private:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kClosing, kClosed };

  void waitForRequest();
  void onIdleRead(error_code ec, std::size_t n);
  void readRequest();
  void continueReading();
  void onRead(error_code ec, std::size_t n);
  void onContinueWritten(error_code ec, std::size_t n);
  void handleReadError(error_code ec);
  void dispatchRequest();
  void deliver(HttpResponse&& response, std::string handler_error);
  void sendError(int status, std::string body);
  void sendReadFailure();
  void writeResponse(HttpResponse&& response, bool force_close);
  void onWrite(error_code ec, std::size_t n);
  void lingerClose();
  void onLingerRead(error_code ec, std::size_t n);
  void finish();
  void setRequestIdFrom(const bhttp::request<bhttp::string_body>& msg);

  void setDeadline(std::chrono::milliseconds timeout);
  void clearDeadline() { deadline_ = Clock::time_point::max(); }
  void armTimer(Clock::time_point when);
  void onTimer(error_code ec);

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<HttpServer::Core> core_;
  RequestReader reader_;
  bhttp::response<bhttp::string_body> res_;
  std::string remote_address_;

  Phase phase_ = Phase::kIdle;
  bool registered_ = false;
  bool finished_ = false;
  bool timed_out_ = false;
  bool sent_continue_ = false;
  bool close_after_write_ = false;
  bool served_any_ = false;

  // The deadline is a plain member so that moving it later costs nothing; the timer is re-armed
  // only when the deadline moves earlier, and re-arms itself when it fires early.
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point timer_expiry_{};
  bool timer_armed_ = false;

  // The request in progress (valid from dispatch to the end of its write).
  std::string_view method_label_ = "-";
  std::string_view route_label_ = kInvalidLabel;
  std::string request_id_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool is_head_ = false;
  int status_ = 0;
  Clock::time_point started_{};
};

// Shared by every copy of a Respond: the first call wins; if the last copy dies uncalled, the
// client gets a 500 instead of a hung connection.
class ResponseSlot {
 public:
  explicit ResponseSlot(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  ResponseSlot(const ResponseSlot&) = delete;
  ResponseSlot& operator=(const ResponseSlot&) = delete;
  ~ResponseSlot() {
    if (!called_.exchange(true, std::memory_order_acq_rel)) {
      session_->deliverFromAnyThread(
          HttpResponse::text(500, "internal server error: the handler did not respond\n"),
          "handler dropped its Respond without calling it");
    }
  }

  bool respond(HttpResponse&& response, std::string handler_error = {}) {
    if (called_.exchange(true, std::memory_order_acq_rel)) {
      return false;
    }
    session_->deliverFromAnyThread(std::move(response), std::move(handler_error));
    return true;
  }

 private:
  std::shared_ptr<Session> session_;
  std::atomic<bool> called_{false};
};

}  // namespace

// ---- Session: reading ----

void Session::waitForRequest() {
  if (core_->stopping()) {
    lingerClose();
    return;
  }
  if (reader_.buffered() > 0) {  // pipelined request already buffered
    readRequest();
    return;
  }
  phase_ = Phase::kIdle;
  // A fresh connection gets only read_timeout to start its first request, so connections that
  // never send anything cannot pin sockets for the whole keep-alive idle time.
  const auto& opts = core_->options();
  setDeadline(served_any_ ? opts.idle_timeout : std::min(opts.idle_timeout, opts.read_timeout));
  socket_.async_read_some(reader_.prepare(),
                          beast::bind_front_handler(&Session::onIdleRead, shared_from_this()));
}

void Session::onIdleRead(error_code ec, std::size_t n) {
  if (finished_) {
    return;
  }
  if (ec) {  // EOF, idle timeout, shutdown or a network error: nothing started, just close
    finish();
    return;
  }
  reader_.commit(n);
  readRequest();
}

void Session::readRequest() {
  phase_ = Phase::kReading;
  timed_out_ = false;
  sent_continue_ = false;
  reader_.begin();
  setDeadline(core_->options().read_timeout);
  continueReading();
}

// Parses what is buffered, and reads more only when the request is not complete yet.
void Session::continueReading() {
  switch (reader_.parse()) {
    case RequestReader::Progress::kDone:
      dispatchRequest();
      return;
    case RequestReader::Progress::kFailed:
      sendReadFailure();
      return;
    case RequestReader::Progress::kNeedMore:
      break;
  }
  if (timed_out_) {  // the deadline passed while a completed read was already queued
    handleReadError(asio::error::timed_out);
    return;
  }
  if (reader_.headerDone() && !sent_continue_) {
    sent_continue_ = true;
    auto expect = reader_.message()[bhttp::field::expect];
    if (iequals(expect, "100-continue")) {
      asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                        beast::bind_front_handler(&Session::onContinueWritten, shared_from_this()));
      return;
    }
  }
  socket_.async_read_some(reader_.prepare(),
                          beast::bind_front_handler(&Session::onRead, shared_from_this()));
}

void Session::onRead(error_code ec, std::size_t n) {
  if (finished_) {
    return;
  }
  if (ec) {
    handleReadError(ec);
    return;
  }
  reader_.commit(n);
  continueReading();
}

void Session::onContinueWritten(error_code ec, std::size_t) {
  if (finished_) {
    return;
  }
  if (ec) {
    handleReadError(ec);
    return;
  }
  continueReading();
}

// A read failed: the deadline passed (408), or the client went away mid-request (EOF, reset)
// or we are shutting down, and there is nobody to answer.
void Session::handleReadError(error_code) {
  if (timed_out_) {
    sendError(408, "request not completed within " +
                       std::to_string(core_->options().read_timeout.count()) +
                       " ms (server.read_timeout)\n");
    return;
  }
  finish();
}

void Session::sendReadFailure() {
  const auto& failure = reader_.failure();
  sendError(failure.status, failure.message);
}

void Session::setRequestIdFrom(const bhttp::request<bhttp::string_body>& msg) {
  auto it = msg.find("X-Request-Id");
  if (it != msg.end() && isSaneRequestId(it->value())) {
    request_id_.assign(it->value().data(), it->value().size());
  } else {
    request_id_ = generateRequestId();
  }
}

// ---- Session: handling ----

void Session::dispatchRequest() {
  clearDeadline();
  phase_ = Phase::kHandling;
  started_ = Clock::now();
  auto& msg = reader_.message();
  method_label_ = methodLabel(msg);
  route_label_ = kInvalidLabel;
  version_ = msg.version();
  keep_alive_ = msg.keep_alive();
  is_head_ = msg.method() == bhttp::verb::head;
  setRequestIdFrom(msg);

  if (core_->detached()) {  // the HttpServer object is gone; its router may be too
    writeResponse(HttpResponse::text(503, "server shutting down\n"), true);
    return;
  }

  std::string_view target = msg.target();
  RequestTarget parsed = parseRequestTarget(target);
  if (!parsed.ok) {  // the framing was fine: the connection stays usable
    writeResponse(HttpResponse::text(400, std::move(parsed.error)), false);
    return;
  }
  HttpRequest req;
  req.path = std::move(parsed.path);
  req.query = std::move(parsed.query);
  req.method.assign(msg.method_string().data(), msg.method_string().size());
  req.target.assign(target.data(), target.size());
  req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& field : msg) {
    req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  req.body = std::move(msg.body());
  req.remote_address = remote_address_;
  req.request_id = request_id_;
  reader_.end();

  auto match = core_->router().match(req.method, req.path);
  route_label_ = match.route_label;
  if (match.handler == nullptr) {
    if (match.status == 405) {
      HttpResponse r =
          HttpResponse::text(405, "method " + req.method + " not allowed on " + req.path +
                                      " (allowed: " + std::string(match.allow) + ")\n");
      r.headers.emplace_back("Allow", std::string(match.allow));
      writeResponse(std::move(r), false);
    } else {
      writeResponse(HttpResponse::text(404, "no route for " + req.path + "\n"), false);
    }
    return;
  }

  // A synchronous Respond runs deliver() inline (we are on the strand); it starts the write, and
  // nothing below touches the session afterwards.
  auto slot = std::make_shared<ResponseSlot>(shared_from_this());
  try {
    (*match.handler)(std::move(req),
                     [slot](HttpResponse response) { slot->respond(std::move(response)); });
  } catch (const std::exception& e) {
    slot->respond(HttpResponse::text(500, "internal server error\n"), e.what());
  } catch (...) {
    slot->respond(HttpResponse::text(500, "internal server error\n"), "unknown exception");
  }
}

void Session::deliver(HttpResponse&& response, std::string handler_error) {
  if (finished_ || phase_ != Phase::kHandling) {
    return;
  }
  if (!handler_error.empty()) {
    if (auto* observer = core_->observer()) {
      observer->onHandlerError(route_label_, handler_error);
    }
  }
  writeResponse(std::move(response), false);
}

// ---- Session: writing ----

void Session::sendError(int status, std::string body) {
  const auto& msg = reader_.message();
  method_label_ = methodLabel(msg);
  route_label_ = kInvalidLabel;
  version_ = msg.version() == 10 ? 10 : 11;
  is_head_ = false;
  started_ = Clock::now();
  setRequestIdFrom(msg);
  reader_.end();
  writeResponse(HttpResponse::text(status, std::move(body)), true);
}

void Session::writeResponse(HttpResponse&& response, bool force_close) {
  phase_ = Phase::kWriting;
  bool close = force_close || !keep_alive_ || core_->stopping();
  if (response.status < 200 || response.status > 999) {
    response = HttpResponse::text(500, "internal server error: handler returned invalid status " +
                                           std::to_string(response.status) + "\n");
  }
  status_ = response.status;

  res_ = {};
  res_.version(version_);
  res_.result(static_cast<unsigned>(response.status));
  if (!response.content_type.empty()) {
    res_.set(bhttp::field::content_type, response.content_type);
  }
  for (auto& [name, value] : response.headers) {
    if (!isValidHeader(name, value)) {
      continue;  // never let a handler split the response
    }
    if (iequals(name, "Connection")) {
      close = close || iequals(value, "close");
      continue;
    }
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
        iequals(name, "X-Request-Id")) {
      continue;  // framing and the request id belong to the server
    }
    res_.insert(name, value);
  }
  res_.set("X-Request-Id", request_id_);
  const bool no_body = is_head_ || response.status == 204 || response.status == 304;
  if (no_body) {
    if (is_head_) {
      res_.content_length(response.body.size());
    }
  } else {
    res_.body() = std::move(response.body);
    res_.content_length(res_.body().size());
  }
  res_.keep_alive(!close);
  close_after_write_ = close;
  setDeadline(core_->options().write_timeout);
  bhttp::async_write(socket_, res_,
                     beast::bind_front_handler(&Session::onWrite, shared_from_this()));
}

void Session::onWrite(error_code ec, std::size_t) {
  if (finished_) {
    return;
  }
  if (auto* observer = core_->observer()) {
    observer->onRequest(method_label_, route_label_, status_, Clock::now() - started_);
  }
  res_ = {};
  if (ec) {
    finish();
    return;
  }
  served_any_ = true;
  if (close_after_write_) {
    lingerClose();
    return;
  }
  waitForRequest();
}

// ---- Session: closing ----

void Session::lingerClose() {
  phase_ = Phase::kClosing;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  reader_.discardBuffered();
  setDeadline(std::min<std::chrono::milliseconds>(kLingerTimeout, core_->options().read_timeout));
  socket_.async_read_some(reader_.prepare(),
                          beast::bind_front_handler(&Session::onLingerRead, shared_from_this()));
}

void Session::onLingerRead(error_code ec, std::size_t) {
  if (finished_) {
    return;
  }
  if (ec) {
    finish();
    return;
  }
  socket_.async_read_some(reader_.prepare(),
                          beast::bind_front_handler(&Session::onLingerRead, shared_from_this()));
}

void Session::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  phase_ = Phase::kClosed;
  error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  if (registered_) {
    core_->unregisterSession(this);
  }
}

// ---- Session: deadlines ----

void Session::setDeadline(std::chrono::milliseconds timeout) {
  auto when = Clock::now() + timeout;
  deadline_ = when;
  if (!timer_armed_ || when < timer_expiry_) {
    armTimer(when);
  }
}

void Session::armTimer(Clock::time_point when) {
  timer_expiry_ = when;
  timer_armed_ = true;
  timer_.expires_at(when);  // cancels a pending wait, whose handler sees operation_aborted
  timer_.async_wait(beast::bind_front_handler(&Session::onTimer, shared_from_this()));
}

void Session::onTimer(error_code ec) {
  if (ec == asio::error::operation_aborted || finished_) {
    return;
  }
  timer_armed_ = false;
  if (deadline_ == Clock::time_point::max()) {
    return;
  }
  if (Clock::now() < deadline_) {
    armTimer(deadline_);
    return;
  }
  clearDeadline();
  switch (phase_) {
    case Phase::kReading: {
      // Cancel (not close) so the read handler can still send a 408.
      timed_out_ = true;
      error_code ignored;
      socket_.cancel(ignored);
      break;
    }
    case Phase::kHandling:
      break;
    case Phase::kIdle:
    case Phase::kWriting:
    case Phase::kClosing:
    case Phase::kClosed:
      finish();
      break;
  }
}

// ---- Core ----

void HttpServer::Core::start() {
  if (started_) {
    throw std::logic_error("HttpServer::start() called twice");
  }
  started_ = true;
  error_code ec;
  std::string host = opts_.address == "localhost" ? "127.0.0.1" : opts_.address;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    throw std::runtime_error("invalid listen address '" + opts_.address +
                             "': expected an IP address such as 127.0.0.1, 0.0.0.0 or :: "
                             "(set " +
                             opts_.listen_setting + ")");
  }
  tcp::endpoint endpoint(address, opts_.port);
  auto fail = [&](const char* step) {
    std::string hint;
    if (ec == asio::error::address_in_use) {
      hint = " (is another waflow running? set " + opts_.listen_setting + ")";
    } else if (ec == asio::error::access_denied) {
      hint =
          " (ports below 1024 need root or CAP_NET_BIND_SERVICE; set " + opts_.listen_setting + ")";
    } else if (ec == std::errc::address_not_available) {
      hint = " (no network interface has this address; set " + opts_.listen_setting + ")";
    }
    error_code ignored;
    acceptor_.close(ignored);
    throw std::runtime_error("cannot listen on " + endpointText(opts_.address, opts_.port) + ": " +
                             ec.message() + hint + " [" + step + "]");
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) {
    fail("socket");
  }
  // Lets a restarted daemon bind while old connections sit in TIME_WAIT; on Linux it does not
  // let two listeners share the port.
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) {
    fail("setsockopt");
  }
  acceptor_.bind(endpoint, ec);
  if (ec) {
    fail("bind");
  }
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    fail("listen");
  }
  port_.store(acceptor_.local_endpoint().port(), std::memory_order_release);
  asio::dispatch(strand_, [self = shared_from_this()] { self->doAccept(); });
}

void HttpServer::Core::doAccept() {
  if (!acceptor_.is_open()) {
    return;
  }
  acceptor_.async_accept(asio::make_strand(ioc_),
                         beast::bind_front_handler(&Core::onAccept, shared_from_this()));
}

void HttpServer::Core::onAccept(error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
      return;
    }
    // e.g. EMFILE: retrying at once would spin; back off briefly.
    retry_timer_.expires_after(kAcceptRetryDelay);
    retry_timer_.async_wait([self = shared_from_this()](error_code wait_ec) {
      if (!wait_ec) {
        self->doAccept();
      }
    });
    return;
  }
  if (active() >= opts_.max_connections) {
    error_code ignored;
    socket.close(ignored);
  } else {
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(std::move(socket), shared_from_this());
    if (registerSession(session)) {
      session->run();
    }
  }
  doAccept();
}

bool HttpServer::Core::registerSession(const std::shared_ptr<Session>& session) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load(std::memory_order_relaxed)) {
      return false;
    }
    sessions_.emplace(session.get(), session);
    active_.store(sessions_.size(), std::memory_order_relaxed);
    session->markRegistered();
  }
  if (auto* o = observer()) {
    o->onConnectionOpened();
  }
  return true;
}

void HttpServer::Core::unregisterSession(Session* session) {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(session);
    active_.store(sessions_.size(), std::memory_order_relaxed);
    if (shutdown_requested_ && sessions_.empty() && !done_fired_) {
      done_fired_ = true;
      callbacks = std::move(done_callbacks_);
      done_callbacks_.clear();
    }
  }
  if (auto* o = observer()) {
    o->onConnectionClosed();
  }
  if (!callbacks.empty()) {
    runDone(std::move(callbacks));
  }
}

std::vector<std::shared_ptr<Session>> HttpServer::Core::snapshotLocked() {
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(sessions_.size());
  for (auto& [ptr, weak] : sessions_) {
    if (auto s = weak.lock()) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

void HttpServer::Core::closeAcceptor() {
  error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
}

void HttpServer::Core::beginShutdown(std::chrono::milliseconds grace, std::function<void()> done) {
  std::vector<std::shared_ptr<Session>> sessions;
  std::vector<std::function<void()>> callbacks;
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_fired_) {
      callbacks.push_back(std::move(done));
    } else {
      done_callbacks_.push_back(std::move(done));
      if (!shutdown_requested_) {
        first = true;
        shutdown_requested_ = true;
        stopping_.store(true, std::memory_order_release);
        sessions = snapshotLocked();
        if (sessions_.empty()) {
          done_fired_ = true;
          callbacks = std::move(done_callbacks_);
          done_callbacks_.clear();
        }
      }
    }
  }
  if (first) {
    bool need_grace = callbacks.empty();
    asio::dispatch(strand_, [self = shared_from_this(), grace, need_grace] {
      self->closeAcceptor();
      if (need_grace) {
        self->grace_timer_.expires_after(grace);
        self->grace_timer_.async_wait([self](error_code ec) {
          if (!ec) {
            self->onGraceExpired();
          }
        });
      }
    });
    for (auto& s : sessions) {
      s->postToStrand(&Session::onShutdown);
    }
  }
  if (!callbacks.empty()) {
    asio::post(strand_, [self = shared_from_this(), callbacks = std::move(callbacks)]() mutable {
      self->runDone(std::move(callbacks));
    });
  }
}

void HttpServer::Core::onGraceExpired() {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions = snapshotLocked();
  }
  // Each force-close unregisters its session; the last one runs the done callbacks.
  for (auto& s : sessions) {
    s->postToStrand(&Session::forceClose);
  }
}

void HttpServer::Core::runDone(std::vector<std::function<void()>> callbacks) {
  observer_.store(nullptr, std::memory_order_release);
  asio::post(strand_, [self = shared_from_this()] { self->grace_timer_.cancel(); });
  for (auto& cb : callbacks) {
    if (cb) {
      cb();
    }
  }
}

void HttpServer::Core::detachFromOwner() {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true, std::memory_order_release);
    sessions = snapshotLocked();
  }
  detached_.store(true, std::memory_order_release);
  observer_.store(nullptr, std::memory_order_release);
  asio::dispatch(strand_, [self = shared_from_this()] {
    self->closeAcceptor();
    self->grace_timer_.cancel();
  });
  for (auto& s : sessions) {
    s->postToStrand(&Session::forceClose);
  }
}

// ---- HttpServer ----

HttpServer::HttpServer(asio::io_context& ioc, ServerOptions opts, const Router& router,
                       ServerObserver* observer)
    : core_(std::make_shared<Core>(ioc, std::move(opts), router, observer)) {}

HttpServer::~HttpServer() {
  core_->detachFromOwner();
}

void HttpServer::start() {
  core_->start();
}

uint16_t HttpServer::port() const {
  return core_->port();
}

void HttpServer::shutdown(std::chrono::milliseconds grace, std::function<void()> done) {
  core_->beginShutdown(grace, std::move(done));
}

std::size_t HttpServer::activeConnections() const {
  return core_->active();
}

}  // namespace waflow::core::httpd
