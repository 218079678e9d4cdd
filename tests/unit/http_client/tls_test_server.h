// TlsTestServer: a minimal HTTPS endpoint on 127.0.0.1 with a self-signed certificate generated
// at start-up, for checking certificate verification. Serves one connection at a time on its own
// thread and answers every request with "200 ok" and Connection: close.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace waflow::test {

class TlsTestServer {
 public:
  TlsTestServer();
  ~TlsTestServer();
  TlsTestServer(const TlsTestServer&) = delete;
  TlsTestServer& operator=(const TlsTestServer&) = delete;

  uint16_t port() const { return port_; }
  // Connections whose TLS handshake succeeded.
  uint64_t handshakes() const { return handshakes_.load(); }

 private:
  void serve();

  void* ctx_ = nullptr;  // SSL_CTX*
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> handshakes_{0};
  std::thread thread_;
};

}  // namespace waflow::test
