// AuthFailureLimiter — counts failed admin-API authentications per client address and locks
// out an address that fails too often, so the admin token cannot be guessed at network speed.
//
// An address that fails `max_failures` times within `window` is refused (429) for `lockout`,
// whatever token it sends then: answering a right guess differently during the lockout would
// keep the guessing going. Addresses that never fail are never looked up beyond one hash
// probe, so successful requests are not slowed. The table holds at most `max_addresses`
// entries; beyond that the address that failed longest ago is forgotten first.
//
// The address is the socket's peer: behind a reverse proxy every client shares the proxy's
// address (X-Forwarded-For is not trusted, as any client can write it).
//
// Thread-safety: all methods may be called from any thread (one mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace waflow::core::admin {

class AuthFailureLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    int max_failures = 10;
    Clock::duration window = std::chrono::minutes(1);
    Clock::duration lockout = std::chrono::minutes(1);
    std::size_t max_addresses = 10000;
  };

  struct Failure {
    int count = 0;            // failures of this address within the current window
    bool locked_out = false;  // this failure started a lockout
  };

  AuthFailureLimiter() : AuthFailureLimiter(Options{}) {}
  explicit AuthFailureLimiter(Options options) : options_(options) {}

  // Zero when `key` may try now; else how long its lockout lasts.
  Clock::duration lockedFor(const std::string& key, Clock::time_point now);
  Failure recordFailure(const std::string& key, Clock::time_point now);
  std::size_t size() const;
  const Options& options() const { return options_; }

  // The key an address is counted under: IPv4 as written (also when mapped into IPv6), IPv6
  // by its /64 prefix, which one client usually holds whole.
  static std::string clientKey(std::string_view remote_address);

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point window_start;
    Clock::time_point locked_until;
    std::list<std::string>::iterator recency;  // position in recent_
  };

  Options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> recent_;  // keys, the one that failed last first
};

}  // namespace waflow::core::admin
