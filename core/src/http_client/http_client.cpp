// libcurl multi-socket driven by Asio, modelled on curl's asiohiper example: curl reports the
// sockets it wants watched (CURLMOPT_SOCKETFUNCTION) and when it wants a wake-up
// (CURLMOPT_TIMERFUNCTION); Asio waits and calls curl_multi_socket_action back on one strand.
//
// Socket ownership: connection sockets are created by Asio inside CURLOPT_OPENSOCKETFUNCTION and
// closed by Asio inside CURLOPT_CLOSESOCKETFUNCTION, so the reactor always deregisters an fd
// before it is closed and a reused fd number can never inherit a stale registration. Sockets that
// curl creates itself (the threaded resolver's wake-up socketpair) are watched through a
// non-owning stream_descriptor that is release()d, never closed, on CURL_POLL_REMOVE (curl
// reports the removal before it closes such a socket).
#include <utility>

#include "http_client/http_client.h"
#include "http_client/response_file.h"
#include "text/ascii.h"

#include <curl/curl.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <unordered_map>

namespace waflow::core {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Idle easy handles kept for reuse; beyond this, finished handles are freed. Connections live in
// the multi handle's cache, not in easy handles, so the pool only saves allocations.
constexpr std::size_t kMaxPooledEasyHandles = 256;
constexpr long kMaxRedirects = 5;
// Content-Length is only a hint for reserve(): a server announcing a huge body must not make us
// allocate it up front.
constexpr std::size_t kMaxBodyReserve = 4 * 1024 * 1024;

void initCurlOnce() {
  // curl_global_init is not thread-safe on every build; a function-local static runs it exactly
  // once. It is never paired with curl_global_cleanup: other clients may exist until exit.
  static const CURLcode kInit = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (kInit != CURLE_OK) {
    throw std::runtime_error(std::string("HttpClient: curl_global_init failed: ") +
                             curl_easy_strerror(kInit));
  }
}

using text::lowerAscii;

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lowerAscii(x) == lowerAscii(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 9110 token characters: what method and header names may contain.
bool isToken(std::string_view s) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

bool isPrintable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// scheme://host[:port]/path: drops user-info, query and fragment, which may carry credentials
// (e.g. ?key=...), so the result is safe for error messages and logs.
std::string redactUrl(std::string_view url) {
  std::size_t scheme_end = url.find("://");
  std::size_t authority_begin = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  std::size_t authority_end = url.find_first_of("/?#", authority_begin);
  if (authority_end == std::string_view::npos) {
    authority_end = url.size();
  }
  std::string_view authority = url.substr(authority_begin, authority_end - authority_begin);
  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view rest = url.substr(authority_end);
  rest = rest.substr(0, rest.find_first_of("?#"));
  std::string out(url.substr(0, authority_begin));
  out += authority;
  out += rest;
  return out;
}

ClientError mapCurlError(CURLcode rc) {
  switch (rc) {
    case CURLE_OK:
      return ClientError::kNone;
    case CURLE_OPERATION_TIMEDOUT:
      return ClientError::kTimeout;
    case CURLE_COULDNT_CONNECT:
      return ClientError::kConnect;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return ClientError::kResolve;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
      return ClientError::kTls;
    case CURLE_FILESIZE_EXCEEDED:
      return ClientError::kTooLarge;
    default:
      return ClientError::kOther;
  }
}

// One request from send() to its callback. Owned by the send() caller until posted, then by
// Impl::transfers_ while curl works on it.
struct Transfer {
  uint64_t id = 0;
  ClientRequest req;
  HttpClient::Callback done;
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list{nullptr,
                                                                          &curl_slist_free_all};
  CURL* easy = nullptr;
  ClientResponse resp;
  std::size_t max_bytes = 0;       // cap on the body kept in memory
  std::size_t max_file_bytes = 0;  // cap on a 2xx body streamed into `file`
  ResponseFile file;               // wanted() when req.response_file is set
  enum class Sink { kUndecided, kMemory, kFile } sink = Sink::kUndecided;
  std::size_t received = 0;  // body bytes of the final response so far
  bool too_large = false;
  Clock::time_point start;
  char errbuf[CURL_ERROR_SIZE] = {};

  std::string context() const { return req.method + " " + redactUrl(req.url); }
};

// A socket curl asked us to create or to watch.
struct SocketState {
  explicit SocketState(curl_socket_t f) : fd(f) {}
  curl_socket_t fd;
  std::optional<asio::generic::stream_protocol::socket> owned;  // we close it
  std::optional<asio::posix::stream_descriptor> foreign;        // curl closes it
  int want = 0;                      // CURL_POLL_IN / CURL_POLL_OUT bits curl asked for
  bool pending[2] = {false, false};  // an async_wait is outstanding: [0] read, [1] write
  bool closed = false;               // closed or released: handlers must not touch it
};

constexpr int kRead = 0;
constexpr int kWrite = 1;

}  // namespace

std::string_view toString(ClientError error) {
  switch (error) {
    case ClientError::kNone:
      return "none";
    case ClientError::kTimeout:
      return "timeout";
    case ClientError::kConnect:
      return "connect";
    case ClientError::kResolve:
      return "resolve";
    case ClientError::kTls:
      return "tls";
    case ClientError::kTooLarge:
      return "too_large";
    case ClientError::kCancelled:
      return "cancelled";
    case ClientError::kShutdown:
      return "shutdown";
    case ClientError::kOther:
      return "other";
  }
  return "other";
}

std::optional<std::string_view> ClientResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

class HttpClient::Impl : public std::enable_shared_from_this<HttpClient::Impl> {
 public:
  Impl(asio::io_context& ioc, ClientOptions opts)
      : ioc_(ioc), strand_(asio::make_strand(ioc)), timer_(ioc), opts_(std::move(opts)) {
    initCurlOnce();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) {
      throw std::runtime_error("HttpClient: curl_multi_init failed (out of memory?)");
    }
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::onCurlSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::onCurlTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                      static_cast<long>(opts_.max_connections_per_host));
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      static_cast<long>(opts_.max_total_connections));
    cache_limit_ = std::max<std::size_t>(opts_.max_cached_connections, 1);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(cache_limit_));
  }

  ~Impl() { destroy(); }

  uint64_t send(ClientRequest req, Callback done) {
    auto t = std::make_unique<Transfer>();
    t->id = next_id_.fetch_add(1, std::memory_order_relaxed);
    t->start = Clock::now();
    t->req = std::move(req);
    t->done = std::move(done);
    setLimits(*t);
    uint64_t id = t->id;
    in_flight_.fetch_add(1, std::memory_order_relaxed);

    if (stopping_.load(std::memory_order_acquire)) {
      postFailure(std::move(t), ClientError::kShutdown, "client is shut down");
      return id;
    }
    // Building the header list here spreads that work over the callers' threads.
    if (std::string problem = prepare(*t); !problem.empty()) {
      postFailure(std::move(t), ClientError::kOther, "invalid request: " + problem);
      return id;
    }
    asio::post(strand_, [weak = weak_from_this(), t = std::move(t)]() mutable {
      if (auto self = weak.lock()) {
        self->start(std::move(t));
      }
    });
    return id;
  }

  void cancel(uint64_t id) {
    asio::post(strand_, [weak = weak_from_this(), id] {
      if (auto self = weak.lock()) {
        self->doCancel(id);
      }
    });
  }

  void shutdown() {
    if (stopping_.exchange(true, std::memory_order_acq_rel)) {
      return;
    }
    asio::post(strand_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->applyShutdown();
      }
    });
  }

  Stats stats() const {
    return Stats{in_flight_.load(std::memory_order_relaxed),
                 completed_.load(std::memory_order_relaxed),
                 connections_opened_.load(std::memory_order_relaxed)};
  }

  // Synchronous teardown; see the lifetime rule in the header. Safe to call twice.
  void destroy() {
    if (destroyed_) {
      return;
    }
    destroyed_ = true;
    stopping_.store(true, std::memory_order_release);
    for (auto& [id, t] : transfers_) {
      curl_multi_remove_handle(multi_, t->easy);
      curl_easy_cleanup(t->easy);
      t->easy = nullptr;
    }
    transfers_.clear();
    // Closes the cached connections through onCloseSocket, which closes their Asio sockets.
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
    for (auto& [fd, st] : sockets_) {
      forgetSocket(*st);
    }
    sockets_.clear();
    timer_.cancel();
    for (CURL* easy : idle_easy_) {
      curl_easy_cleanup(easy);
    }
    idle_easy_.clear();
  }

 private:
  // ---- request setup -------------------------------------------------------------------------

  // A request may lower the client's memory cap for its body, and set any cap for a body streamed
  // to a file (which costs no memory).
  void setLimits(Transfer& t) const {
    std::size_t asked = t.req.max_response_bytes;
    t.max_bytes = asked == 0 ? opts_.max_response_bytes : std::min(asked, opts_.max_response_bytes);
    t.max_file_bytes = asked == 0 ? opts_.max_response_bytes : asked;
    t.file.setPath(t.req.response_file);
  }

  // Validates the request and builds its curl header list; returns a problem description (never
  // containing header values) or "".
  static std::string prepare(Transfer& t) {
    const ClientRequest& req = t.req;
    if (req.url.empty()) {
      return "url is empty";
    }
    if (!isToken(req.method)) {
      return isPrintable(req.method) ? "method '" + req.method + "' is not a valid HTTP method"
                                     : "method is not a valid HTTP method";
    }
    if (req.timeout.count() < 0 || req.connect_timeout.count() < 0) {
      return "timeouts must not be negative (0 means no limit)";
    }
    bool has_expect = false;
    bool has_content_type = false;
    // t.header_list owns the list from the first successful append (curl_slist_append returns
    // the unchanged head afterwards).
    auto append = [&](const std::string& line) {
      curl_slist* head = curl_slist_append(t.header_list.get(), line.c_str());
      if (head == nullptr) {
        return false;
      }
      if (t.header_list == nullptr) {
        t.header_list.reset(head);
      }
      return true;
    };
    for (std::size_t i = 0; i < req.headers.size(); ++i) {
      const auto& [name, value] = req.headers[i];
      if (!isToken(name)) {
        return isPrintable(name) ? "header name '" + name + "' is not a valid HTTP token"
                                 : "header #" + std::to_string(i) + " has an invalid name";
      }
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        return "value of header '" + name + "' contains CR, LF or NUL";
      }
      has_expect = has_expect || equalsIgnoreCase(name, "expect");
      has_content_type = has_content_type || equalsIgnoreCase(name, "content-type");
      // "Name;" is curl's spelling for a header with an empty value ("Name:" would remove it).
      if (!append(value.empty() ? name + ";" : name + ": " + value)) {
        return "out of memory building headers";
      }
    }
    // No "Expect: 100-continue" round trip (curl adds it to large bodies; API servers answer
    // straight away), and no made-up form content type for bodies: callers set their own.
    if (!has_expect && !append("Expect:")) {
      return "out of memory building headers";
    }
    if (!has_content_type && !append("Content-Type:")) {
      return "out of memory building headers";
    }
    return {};
  }

  CURLcode configure(CURL* easy, Transfer& t) {
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, option, value);
      }
    };
    const ClientRequest& req = t.req;
    set(CURLOPT_URL, req.url.c_str());
    set(CURLOPT_PRIVATE, static_cast<void*>(&t));
    set(CURLOPT_ERRORBUFFER, t.errbuf);
    // No signals: curl runs inside a multi-threaded daemon.
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
    set(CURLOPT_SSL_VERIFYPEER, req.verify_tls ? 1L : 0L);
    set(CURLOPT_SSL_VERIFYHOST, req.verify_tls ? 2L : 0L);
    set(CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
    set(CURLOPT_MAXREDIRS, kMaxRedirects);
    set(CURLOPT_TCP_KEEPALIVE, 1L);
    set(CURLOPT_USERAGENT, opts_.user_agent.c_str());
    // Proxies: CURLOPT_PROXY / CURLOPT_NOPROXY are deliberately never set, so libcurl keeps
    // honouring http_proxy / https_proxy / no_proxy from the environment.
    // Accept-Encoding is left off: bodies arrive byte-exact and max_response_bytes counts wire
    // bytes. HTTP/2 over TLS (with multiplexing) is libcurl's default and stays on.
    set(CURLOPT_HTTPHEADER, t.header_list.get());
    const std::string& method = req.method;
    if (method == "HEAD") {
      set(CURLOPT_NOBODY, 1L);
    } else if (!req.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      // Size before data: setting the size afterwards would make curl drop the pointer.
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      set(CURLOPT_POSTFIELDS, req.body.data());
      if (method != "POST") {
        set(CURLOPT_CUSTOMREQUEST, method.c_str());
      }
    } else if (method != "GET") {
      set(CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    // With a response file the Content-Length check is ours (onCurlHeader): curl's own would apply
    // one cap to 2xx and error bodies alike.
    if (!t.file.wanted()) {
      set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t.max_bytes));
    }
    set(CURLOPT_WRITEFUNCTION, &Impl::onCurlWrite);
    set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
    set(CURLOPT_HEADERFUNCTION, &Impl::onCurlHeader);
    set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
    set(CURLOPT_OPENSOCKETFUNCTION, &Impl::onOpenSocket);
    set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(this));
    set(CURLOPT_CLOSESOCKETFUNCTION, &Impl::onCloseSocket);
    set(CURLOPT_CLOSESOCKETDATA, static_cast<void*>(this));
    return rc;
  }

  CURL* acquireEasy() {
    if (!idle_easy_.empty()) {
      CURL* easy = idle_easy_.back();
      idle_easy_.pop_back();
      return easy;
    }
    return curl_easy_init();
  }

  void releaseEasy(CURL* easy) {
    if (easy == nullptr) {
      return;
    }
    if (idle_easy_.size() < kMaxPooledEasyHandles && !destroyed_) {
      curl_easy_reset(easy);  // drops pointers into the finished Transfer
      idle_easy_.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  // ---- strand-side operations ----------------------------------------------------------------

  void start(std::unique_ptr<Transfer> t) {
    if (destroyed_) {
      return;
    }
    if (shutdown_applied_) {
      fail(*t, ClientError::kShutdown, "client is shut down");
      deliverReady();
      return;
    }
    CURL* easy = acquireEasy();
    if (easy == nullptr) {
      fail(*t, ClientError::kOther, "curl_easy_init failed (out of memory?)");
      deliverReady();
      return;
    }
    if (CURLcode rc = configure(easy, *t); rc != CURLE_OK) {
      releaseEasy(easy);
      fail(*t, ClientError::kOther,
           std::string("cannot set up request: ") + curl_easy_strerror(rc) + " (" + t->context() +
               ")");
      deliverReady();
      return;
    }
    t->easy = easy;
    if (CURLMcode mc = curl_multi_add_handle(multi_, easy); mc != CURLM_OK) {
      t->easy = nullptr;
      releaseEasy(easy);
      fail(*t, ClientError::kOther,
           std::string("cannot start request: ") + curl_multi_strerror(mc) + " (" + t->context() +
               ")");
      deliverReady();
      return;
    }
    uint64_t id = t->id;
    transfers_.emplace(id, std::move(t));
    growCache();
  }

  // libcurl's cache holds the connections in use too: with more transfers in flight than
  // CURLMOPT_MAXCONNECTS, every completion makes libcurl scan its whole cache for the oldest
  // idle connection (O(connections)) and close the one just freed, so the next request opens a
  // new one. Keeping the limit at or above the most transfers ever in flight at once keeps
  // those connections for reuse; idle ones are closed after libcurl's CURLOPT_MAXAGE_CONN.
  void growCache() {
    if (transfers_.size() > cache_limit_) {
      cache_limit_ = transfers_.size();
      curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(cache_limit_));
    }
  }

  void doCancel(uint64_t id) {
    if (destroyed_) {
      return;
    }
    auto it = transfers_.find(id);
    if (it == transfers_.end()) {
      return;  // already completed (its callback ran or is queued): nothing to cancel
    }
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    abortTransfer(*t, ClientError::kCancelled, "request cancelled");
    deliverReady();
  }

  void applyShutdown() {
    if (destroyed_ || shutdown_applied_) {
      return;
    }
    shutdown_applied_ = true;
    auto transfers = std::move(transfers_);
    transfers_.clear();
    for (auto& [id, t] : transfers) {
      abortTransfer(*t, ClientError::kShutdown, "client shut down while the request was in flight");
    }
    // Stop watching idle keep-alive sockets too, so the client no longer keeps the loop busy.
    for (auto& [fd, st] : sockets_) {
      st->want = 0;
      boost::system::error_code ec;
      if (st->owned) {
        st->owned->cancel(ec);
      } else if (st->foreign) {
        st->foreign->cancel(ec);
      }
    }
    timer_armed_ = false;
    ++timer_gen_;
    timer_.cancel();
    deliverReady();
  }

  // Whether bytes of the request reached the connection: libcurl counts the request header as
  // it sends it, so 0 means the server never saw this request (connect failed or timed out).
  static bool requestSent(CURL* easy) {
    long request_bytes = 0;
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_bytes);
    return request_bytes > 0;
  }

  // Removes an active transfer from curl and queues its callback with `error`.
  void abortTransfer(Transfer& t, ClientError error, std::string_view why) {
    if (t.easy != nullptr) {
      long connects = 0;
      curl_easy_getinfo(t.easy, CURLINFO_NUM_CONNECTS, &connects);
      t.resp.request_sent = requestSent(t.easy);
      connections_opened_.fetch_add(static_cast<uint64_t>(connects), std::memory_order_relaxed);
      curl_multi_remove_handle(multi_, t.easy);
      releaseEasy(t.easy);
      t.easy = nullptr;
    }
    fail(t, error, std::string(why) + " (" + t.context() + ")");
  }

  void fail(Transfer& t, ClientError error, std::string message) {
    t.file.discard();
    t.resp.file_bytes = 0;
    t.resp.status = 0;
    t.resp.headers.clear();
    t.resp.body.clear();
    t.resp.error = error;
    t.resp.error_message = std::move(message);
    queue(t);
  }

  void queue(Transfer& t) {
    t.resp.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t.start);
    ready_.emplace_back(std::move(t.done), std::move(t.resp));
  }

  // A transfer curl reported done.
  void complete(Transfer& t, CURLcode rc) {
    long status = 0;
    long connects = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t.easy, CURLINFO_NUM_CONNECTS, &connects);
    connections_opened_.fetch_add(static_cast<uint64_t>(connects), std::memory_order_relaxed);
    t.resp.request_sent = requestSent(t.easy);
    curl_multi_remove_handle(multi_, t.easy);
    releaseEasy(t.easy);
    t.easy = nullptr;
    if (rc == CURLE_OK && t.file.wanted() && status >= 200 && status < 300 && !t.file.commit()) {
      fail(t, ClientError::kOther, t.file.error() + " (" + t.context() + ")");
      return;
    }
    if (rc == CURLE_OK) {
      t.resp.status = static_cast<int>(status);
      t.resp.error = ClientError::kNone;
      t.resp.file_bytes = t.file.bytes();
      queue(t);
      return;
    }
    ClientError error = mapCurlError(rc);
    std::string message;
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      error = ClientError::kTooLarge;
      std::size_t cap = t.sink == Transfer::Sink::kFile ? t.max_file_bytes : t.max_bytes;
      message = "response body exceeds max_response_bytes (" + std::to_string(cap) + " bytes)";
    } else if (!t.file.error().empty()) {
      error = ClientError::kOther;
      message = t.file.error();
    } else {
      message = curl_easy_strerror(rc);
      if (t.errbuf[0] != '\0') {
        message += ": ";
        message += t.errbuf;
      }
    }
    fail(t, error, message + " (" + t.context() + ")");
  }

  void processCompletions() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      CURL* easy = msg->easy_handle;  // msg dies with curl_multi_remove_handle
      CURLcode rc = msg->data.result;
      void* priv = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
      auto it = transfers_.find(static_cast<Transfer*>(priv)->id);
      if (it == transfers_.end()) {
        curl_multi_remove_handle(multi_, easy);  // cannot happen; never leave it running
        continue;
      }
      std::unique_ptr<Transfer> t = std::move(it->second);
      transfers_.erase(it);
      complete(*t, rc);
    }
    deliverReady();
  }

  void invoke(Callback& done, ClientResponse resp) noexcept {
    if (!done) {
      return;
    }
    if (opts_.callbacks_on != nullptr) {
      asio::post(*opts_.callbacks_on, [done = std::move(done), resp = std::move(resp)]() mutable {
        done(std::move(resp));
      });
      return;
    }
    done(std::move(resp));
  }

  // Runs queued callbacks. A callback may destroy the client (see destroy()); the batch is moved
  // out first so that is safe, and callers check destroyed_ afterwards.
  void deliverReady() {
    if (ready_.empty()) {
      return;
    }
    auto batch = std::move(ready_);
    ready_.clear();
    for (auto& [done, resp] : batch) {
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      completed_.fetch_add(1, std::memory_order_relaxed);
      invoke(done, std::move(resp));
    }
  }

  void postFailure(std::unique_ptr<Transfer> t, ClientError error, std::string message) {
    asio::post(strand_, [weak = weak_from_this(), t = std::move(t), error,
                         message = std::move(message)]() mutable {
      if (auto self = weak.lock()) {
        self->fail(*t, error, std::move(message));
        self->deliverReady();
      }
    });
  }

  // ---- curl <-> Asio plumbing ----------------------------------------------------------------

  void socketAction(curl_socket_t fd, int flags) {
    int running = 0;
    curl_multi_socket_action(multi_, fd, flags, &running);
  }

  void armWait(const std::shared_ptr<SocketState>& st, int dir) {
    st->pending[dir] = true;
    auto handler = asio::bind_executor(
        strand_, [weak = weak_from_this(), st, dir](const boost::system::error_code& ec) {
          if (auto self = weak.lock()) {
            self->onSocketReady(st, dir, ec);
          }
        });
    if (st->owned) {
      st->owned->async_wait(
          dir == kRead ? asio::socket_base::wait_read : asio::socket_base::wait_write,
          std::move(handler));
    } else {
      st->foreign->async_wait(dir == kRead ? asio::posix::descriptor_base::wait_read
                                           : asio::posix::descriptor_base::wait_write,
                              std::move(handler));
    }
  }

  void onSocketReady(const std::shared_ptr<SocketState>& st, int dir,
                     const boost::system::error_code& ec) {
    st->pending[dir] = false;
    if (st->closed || destroyed_) {
      return;
    }
    const int mask = dir == kRead ? CURL_POLL_IN : CURL_POLL_OUT;
    if (ec != asio::error::operation_aborted && (st->want & mask) != 0) {
      int flags = dir == kRead ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
      if (ec) {
        flags |= CURL_CSELECT_ERR;
      }
      socketAction(st->fd, flags);
      processCompletions();
      if (destroyed_) {
        return;
      }
    }
    // curl may have re-armed this direction from inside socketAction (pending is true then).
    if (!st->closed && (st->want & mask) != 0 && !st->pending[dir]) {
      armWait(st, dir);
    }
  }

  static int onCurlSocket(CURL* /*easy*/, curl_socket_t fd, int what, void* userp,
                          void* /*socketp*/) {
    static_cast<Impl*>(userp)->watchSocket(fd, what);
    return 0;
  }

  void watchSocket(curl_socket_t fd, int what) {
    auto it = sockets_.find(fd);
    if (what == CURL_POLL_REMOVE) {
      if (it == sockets_.end()) {
        return;
      }
      SocketState& st = *it->second;
      st.want = 0;
      if (st.foreign) {
        // curl is about to close it: deregister from the reactor without closing.
        forgetSocket(st);
        sockets_.erase(it);
      } else {
        // A keep-alive connection going idle: stop waiting on it, keep it open.
        boost::system::error_code ec;
        st.owned->cancel(ec);
      }
      return;
    }
    std::shared_ptr<SocketState> st;
    if (it != sockets_.end()) {
      st = it->second;
    } else {
      st = std::make_shared<SocketState>(fd);
      st->foreign.emplace(ioc_);
      boost::system::error_code ec;
      st->foreign->assign(fd, ec);
      if (ec) {
        // Cannot watch it; the transfer then fails on its timeout instead of hanging forever.
        return;
      }
      sockets_.emplace(fd, st);
    }
    st->want = what;
    if ((what & CURL_POLL_IN) != 0 && !st->pending[kRead]) {
      armWait(st, kRead);
    }
    if ((what & CURL_POLL_OUT) != 0 && !st->pending[kWrite]) {
      armWait(st, kWrite);
    }
  }

  // Closes an owned socket or releases a foreign one; pending waits complete as aborted.
  static void forgetSocket(SocketState& st) {
    if (st.closed) {
      return;
    }
    st.closed = true;
    st.want = 0;
    boost::system::error_code ec;
    if (st.owned) {
      st.owned->close(ec);
    } else if (st.foreign) {
      st.foreign->release();
    }
  }

  static curl_socket_t onOpenSocket(void* clientp, curlsocktype purpose,
                                    struct curl_sockaddr* address) {
    auto* self = static_cast<Impl*>(clientp);
    if (purpose != CURLSOCKTYPE_IPCXN || address->socktype != SOCK_STREAM) {
      return CURL_SOCKET_BAD;  // only TCP (http/https) is enabled
    }
    auto st = std::make_shared<SocketState>(CURL_SOCKET_BAD);
    st->owned.emplace(self->ioc_);
    boost::system::error_code ec;
    st->owned->open(asio::generic::stream_protocol(address->family, address->protocol), ec);
    if (ec) {
      return CURL_SOCKET_BAD;
    }
    st->fd = st->owned->native_handle();
    if (auto it = self->sockets_.find(st->fd); it != self->sockets_.end()) {
      // A stale entry for a number the kernel reused; it is certainly dead now.
      forgetSocket(*it->second);
      self->sockets_.erase(it);
    }
    self->sockets_.emplace(st->fd, st);
    return st->fd;
  }

  static int onCloseSocket(void* clientp, curl_socket_t fd) {
    auto* self = static_cast<Impl*>(clientp);
    auto it = self->sockets_.find(fd);
    if (it == self->sockets_.end() || !it->second->owned) {
      return ::close(fd);  // not one of ours; curl expects it closed
    }
    forgetSocket(*it->second);
    self->sockets_.erase(it);
    return 0;
  }

  static int onCurlTimer(CURLM* /*multi*/, long timeout_ms, void* userp) {
    static_cast<Impl*>(userp)->setTimer(timeout_ms);
    return 0;
  }

  void setTimer(long timeout_ms) {
    if (timeout_ms < 0) {
      if (timer_armed_) {
        timer_armed_ = false;
        ++timer_gen_;
        timer_.cancel();
      }
      return;
    }
    Clock::time_point now = Clock::now();
    // Adding many handles at once asks for "now" once per handle; one wake-up serves them all.
    if (timeout_ms == 0 && timer_armed_ && timer_deadline_ <= now) {
      return;
    }
    timer_deadline_ = now + std::chrono::milliseconds(timeout_ms);
    timer_armed_ = true;
    uint64_t gen = ++timer_gen_;
    timer_.expires_at(timer_deadline_);
    timer_.async_wait(
        asio::bind_executor(strand_, [weak = weak_from_this(), gen](boost::system::error_code ec) {
          if (auto self = weak.lock()) {
            self->onTimer(gen, ec);
          }
        }));
  }

  void onTimer(uint64_t gen, boost::system::error_code ec) {
    // A stale wait (re-armed since) is ignored: the newer wait is still pending.
    if (ec == asio::error::operation_aborted || gen != timer_gen_ || destroyed_) {
      return;
    }
    timer_armed_ = false;
    socketAction(CURL_SOCKET_TIMEOUT, 0);
    processCompletions();
  }

  // Where the final response's body goes: a 2xx body to the response file when one is wanted,
  // everything else to memory.
  static Transfer::Sink chooseSink(const Transfer& t) {
    if (!t.file.wanted()) {
      return Transfer::Sink::kMemory;
    }
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    return status >= 200 && status < 300 ? Transfer::Sink::kFile : Transfer::Sink::kMemory;
  }

  // Returning anything but `bytes` aborts the transfer (CURLE_WRITE_ERROR).
  static size_t onCurlWrite(char* data, size_t size, size_t count, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t bytes = size * count;
    if (t->sink == Transfer::Sink::kUndecided) {
      t->sink = chooseSink(*t);
    }
    bool to_file = t->sink == Transfer::Sink::kFile;
    if (t->received + bytes > (to_file ? t->max_file_bytes : t->max_bytes)) {
      t->too_large = true;
      return 0;
    }
    t->received += bytes;
    if (to_file) {
      return t->file.write(data, bytes) ? bytes : 0;
    }
    t->resp.body.append(data, bytes);
    return bytes;
  }

  static size_t onCurlHeader(char* data, size_t size, size_t count, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t bytes = size * count;
    std::string_view line(data, bytes);
    auto& headers = t->resp.headers;
    if (line.starts_with("HTTP/")) {
      headers.clear();  // a new response (after 1xx or a followed redirect) starts here
      t->sink = Transfer::Sink::kUndecided;
      t->received = 0;
      return bytes;
    }
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      if (!headers.empty() && !trim(line).empty()) {  // obsolete line folding
        headers.back().second += ' ';
        headers.back().second += trim(line);
      }
      return bytes;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return bytes;  // the blank line ending the block
    }
    std::string name = lowerAscii(trim(line.substr(0, colon)));
    std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length" && t->resp.body.empty()) {
      std::size_t length = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      bool to_file = chooseSink(*t) == Transfer::Sink::kFile;
      if (ec == std::errc() && to_file && length > t->max_file_bytes) {
        t->sink = Transfer::Sink::kFile;  // names the file cap in the error
        t->too_large = true;
        return 0;  // refused before a byte of the body arrives
      }
      if (ec == std::errc() && !to_file && length <= t->max_bytes) {
        t->resp.body.reserve(std::min(length, kMaxBodyReserve));
      }
    }
    headers.emplace_back(std::move(name), std::string(value));
    return bytes;
  }

  asio::io_context& ioc_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  const ClientOptions opts_;
  CURLM* multi_ = nullptr;

  // Strand-only state.
  std::unordered_map<uint64_t, std::unique_ptr<Transfer>> transfers_;
  std::unordered_map<curl_socket_t, std::shared_ptr<SocketState>> sockets_;
  std::vector<CURL*> idle_easy_;
  std::vector<std::pair<Callback, ClientResponse>> ready_;
  Clock::time_point timer_deadline_;
  uint64_t timer_gen_ = 0;
  bool timer_armed_ = false;
  std::size_t cache_limit_ = 0;  // current CURLMOPT_MAXCONNECTS; see growCache()
  bool shutdown_applied_ = false;
  bool destroyed_ = false;

  // Any thread.
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> connections_opened_{0};
};

namespace {

constexpr uint64_t kMaxShards = 16;

std::size_t perShard(std::size_t limit, std::size_t shards) {
  return limit == 0 ? 0 : (limit + shards - 1) / shards;
}

}  // namespace

HttpClient::HttpClient(boost::asio::io_context& ioc, ClientOptions opts) {
  const std::size_t shards = std::clamp<std::size_t>(opts.shards, 1, kMaxShards);
  opts.max_connections_per_host = perShard(opts.max_connections_per_host, shards);
  opts.max_total_connections = perShard(opts.max_total_connections, shards);
  opts.max_cached_connections = perShard(opts.max_cached_connections, shards);
  for (std::size_t i = 0; i < shards; ++i) {
    shards_.push_back(std::make_shared<Impl>(ioc, opts));
  }
}

HttpClient::~HttpClient() {
  // Tear down now, while the io_context surely exists; queued handlers only hold weak
  // references and become no-ops.
  for (auto& shard : shards_) {
    shard->destroy();
  }
}

uint64_t HttpClient::send(ClientRequest req, Callback done) {
  const uint64_t index = next_shard_.fetch_add(1, std::memory_order_relaxed) % shards_.size();
  return shards_[index]->send(std::move(req), std::move(done)) * kMaxShards + index;
}

void HttpClient::cancel(uint64_t id) {
  const uint64_t index = id % kMaxShards;
  if (index < shards_.size()) {
    shards_[index]->cancel(id / kMaxShards);
  }
}

void HttpClient::shutdown() {
  for (auto& shard : shards_) {
    shard->shutdown();
  }
}

HttpClient::Stats HttpClient::stats() const {
  Stats total;
  for (const auto& shard : shards_) {
    Stats s = shard->stats();
    total.in_flight += s.in_flight;
    total.completed += s.completed;
    total.connections_opened += s.connections_opened;
  }
  return total;
}

}  // namespace waflow::core
