// HttpClient: the daemon's outbound HTTP(S) client. libcurl's multi socket interface is driven
// by a Boost.Asio io_context (no thread per request): curl tells us which sockets to watch and
// when to wake it, Asio waits, curl does the HTTP. Thousands of requests can be in flight on a
// single loop thread; HTTP/1.1 keep-alive and HTTP/2 multiplexing (https) reuse connections.
//
// Thread-safety: send(), cancel(), shutdown() and stats() may be called from any thread. All
// curl calls run on one strand of the io_context. Callbacks run on that strand (so on a thread
// running the io_context), or on ClientOptions::callbacks_on when it is set, never inline inside
// send()/cancel()/shutdown(); they must not throw, and on the strand they should be short, since
// they hold up other transfers while they run.
//
// Lifetime rule: destroy the client before its io_context, and only while no other thread is
// running the io_context (the loop stopped, or from a handler on the loop's only thread).
// Requests still pending at destruction are dropped WITHOUT calling their callbacks; to have
// every callback called, call shutdown() and let the loop run until they have been delivered.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace waflow::core {

struct ClientRequest {
  std::string method = "GET";  // any token; a body is sent for any method when non-empty
  std::string url;             // http:// or https:// only
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};          // whole request; 0 = no limit
  std::chrono::milliseconds connect_timeout{10000};  // 0 = libcurl's default (300 s)
  bool verify_tls = true;         // peer certificate + host name; off only when explicitly asked
  bool follow_redirects = false;  // API calls never expect redirects; at most 5 when on
  // Non-empty: the body of a 2xx response is streamed into this file (created, or truncated, with
  // mode 0666 & ~umask; never through a symbolic link) instead of ClientResponse::body, so a large
  // download costs no memory. The file exists after the callback only when the transfer succeeded
  // with a 2xx status; on any failure (transport, over the cap, cancel, shutdown, a write error)
  // it is removed. Other statuses' bodies arrive in ClientResponse::body as usual. The file is
  // written on the loop thread (ordinary buffered writes; no fsync).
  std::string response_file;
  // Cap on the body's bytes as they arrive; the transfer aborts with kTooLarge the moment it is
  // exceeded (or at once when Content-Length announces more). 0 = ClientOptions::
  // max_response_bytes. For a body kept in memory the cap is never above the client's own; for a
  // 2xx body streamed into response_file it may be (the memory limit does not apply there).
  std::size_t max_response_bytes = 0;
};

enum class ClientError {
  kNone,
  kTimeout,    // request or connect timeout elapsed
  kConnect,    // could not connect (refused, unreachable)
  kResolve,    // host (or proxy) name did not resolve
  kTls,        // TLS handshake or certificate verification failed
  kTooLarge,   // response body larger than the request's or the client's max_response_bytes
  kCancelled,  // cancel() was called
  kShutdown,   // shutdown() was called (or send() after it)
  kOther,      // anything else, including an invalid request or a response_file that cannot be
               // written; see error_message
};

// "timeout", "connect", ...: stable names for logs and metrics labels.
std::string_view toString(ClientError error);

struct ClientResponse {
  int status = 0;  // HTTP status; 0 when the transfer failed (error != kNone)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case, in order
  std::string body;         // empty when a 2xx body went to ClientRequest::response_file
  uint64_t file_bytes = 0;  // bytes written to ClientRequest::response_file
  ClientError error = ClientError::kNone;
  // curl's message plus context (method and URL without query or credentials); empty on
  // success. Never contains header values, so Authorization tokens cannot leak through it.
  std::string error_message;
  std::chrono::microseconds elapsed{0};  // from send() to completion
  // Whether bytes of the request had reached the connection (libcurl's CURLINFO_REQUEST_SIZE).
  // On a failure, true means the server may have acted on the request although no answer came.
  bool request_sent = false;

  bool ok() const { return error == ClientError::kNone; }
  // First header with that name, compared case-insensitively.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct ClientOptions {
  std::size_t max_connections_per_host = 0;  // 0 = unlimited; CURLMOPT_MAX_HOST_CONNECTIONS
  std::size_t max_total_connections = 0;     // 0 = unlimited; CURLMOPT_MAX_TOTAL_CONNECTIONS
  // Connections kept open for reuse (CURLMOPT_MAXCONNECTS): this many, or as many as requests
  // were ever in flight at once if that is more, so a load above it still reuses connections
  // (libcurl counts the connections in use against this limit). Idle connections close after
  // libcurl's CURLOPT_MAXAGE_CONN (118 s). libcurl's own default (4 x active transfers)
  // collapses whenever a burst of transfers completes at once, so it is set explicitly.
  std::size_t max_cached_connections = 1024;
  std::size_t max_response_bytes = 64 * 1024 * 1024;  // a larger body fails with kTooLarge
  // Independent libcurl multi handles, each on its own strand, that requests are spread over in
  // turn (1 to 16). libcurl scans all of a handle's connections on every request start and
  // completion, so thousands of connections in one handle make that scan the bottleneck of a
  // single thread; several shards split it and use several I/O threads. Connection limits and
  // the connection cache apply per shard (max_* divided between them, rounded up).
  std::size_t shards = 1;
  std::string user_agent = "waflow/0.1";
  // When set, every callback is posted to this context instead of running on the client's
  // strand. The daemon sets its worker context here, so what a caller does with a response
  // (parse it, run a flow's next step) never holds an I/O thread. Must outlive the client's
  // last callback.
  boost::asio::io_context* callbacks_on = nullptr;
};

class HttpClient {
 public:
  using Callback = std::function<void(ClientResponse)>;

  struct Stats {
    uint64_t in_flight = 0;  // sent and not yet called back
    uint64_t completed = 0;  // callbacks delivered, whatever the outcome
    // New connections libcurl made (CURLINFO_NUM_CONNECTS summed over transfers); stays far
    // below `completed` when keep-alive works.
    uint64_t connections_opened = 0;
  };

  explicit HttpClient(boost::asio::io_context& ioc, ClientOptions opts = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts the request; `done` is called exactly once with the outcome. Returns an id for
  // cancel() (never 0). After shutdown() the callback gets kShutdown without any I/O.
  uint64_t send(ClientRequest req, Callback done);
  // Aborts the request: its callback gets kCancelled, unless it has already completed (then
  // this does nothing). Unknown ids are ignored.
  void cancel(uint64_t id);
  // Fails every pending request with kShutdown and makes later send() calls fail fast the
  // same way. Idempotent. The callbacks are delivered on the loop after this returns.
  void shutdown();

  Stats stats() const;

  class Impl;

 private:
  // Each shared with weak references held by its queued Asio handlers. A request id is the
  // shard's own id times kMaxShards plus the shard's index.
  std::vector<std::shared_ptr<Impl>> shards_;
  std::atomic<uint64_t> next_shard_{0};
};

}  // namespace waflow::core
