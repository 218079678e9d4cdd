// TestHttpServer: an in-process HTTP/1.1 keep-alive server on 127.0.0.1 (ephemeral port) for
// exercising HttpClient against real sockets. Asynchronous (Beast + Asio coroutines) on its own
// threads, so thousands of connections cost no extra threads. Routes:
//   /echo...             200; body = request body; X-Echo-Method, X-Echo-Target, and every request
//                        header echoed as "X-Req-<lower-case name>"; also "X-Mixed-Case: yes"
//   /bytes?n=N           200 with N bytes of byteAt(i); add &chunked=1 for chunked encoding
//   /status?code=N       that status, empty body
// Absolute-form targets (proxy requests) are routed by their path; X-Echo-Target shows them whole.
// Any route takes ?delay_ms=N (wait before answering) and &close=1 (Connection: close).
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::test {

class TestHttpServer {
 public:
  explicit TestHttpServer(int threads = 1);
  ~TestHttpServer();  // stops the loop, drops open connections and joins the threads
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>" + target
  std::string url(std::string_view target) const;

  uint64_t connectionsAccepted() const { return accepted_.load(); }
  uint64_t requestsReceived() const { return requests_.load(); }
  // Blocks until at least n requests have been read (true) or `timeout_ms` passed (false).
  bool waitForRequests(uint64_t n, int timeout_ms = 10000) const;

  static char byteAt(std::size_t i) { return static_cast<char>('a' + i % 23); }

  struct State;

 private:
  std::unique_ptr<State> state_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> requests_{0};
};

// Number of threads in this process, from /proc/self/status.
int processThreadCount();

// A port on 127.0.0.1 that nothing listens on (bound then closed), for "connection refused".
uint16_t unusedLocalPort();

}  // namespace waflow::test
