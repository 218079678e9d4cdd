// Feeds a fuzzer's input to a RequestReader the way a connection would, and checks the reader's
// promises on every step. Shared by the libFuzzer target (http_request_fuzz.cpp) and the unit
// test that replays its findings (tests/unit/http_server/request_reader_regression_test.cpp).
//
// The input is a list of deliveries, each one socket read's worth of bytes:
//   delivery := kind:u8 len:u8 [count:u16le when kind & 1] bytes[len]
// With kind & 1 the `len` bytes are repeated `count` times, so a few input bytes can say "a
// 70,000-byte trailer field": the limits under test are about size, and plain inputs that large
// are beyond what a fuzzer mutates well. At most kMaxFedBytes are fed per input.
//
// Thread-safety: pure function of its input.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "http_server/request_reader.h"

namespace waflow::test {

namespace httpd = waflow::core::httpd;

struct FeedLimits {
  std::size_t header_limit = 1024;
  std::size_t body_limit = 4096;
};

struct FeedResult {
  int requests = 0;        // complete requests read
  int failure_status = 0;  // the status the reader failed with, 0 if it did not
  std::size_t fed = 0;     // bytes handed to the reader
  std::string violation;   // a broken promise; empty when every check held
};

inline constexpr std::size_t kMaxFedBytes = 4 * 1024 * 1024;

namespace detail {

class Feeder {
 public:
  explicit Feeder(FeedLimits limits)
      : limits_(limits), reader_(limits.header_limit, limits.body_limit) {
    reader_.begin();
  }

  // Hands `count` repetitions of `piece` over in reads as large as the reader offers. False once
  // the connection is over (failure or violation).
  bool deliver(const std::uint8_t* piece, std::size_t len, std::size_t count) {
    const std::size_t total =
        std::min(len * count, kMaxFedBytes - std::min(kMaxFedBytes, result_.fed));
    std::size_t at = 0;
    while (at < total) {
      auto space = reader_.prepare();
      if (space.size() == 0) {
        return violate("prepare() offered no room while the reader needs more bytes");
      }
      auto* out = static_cast<std::uint8_t*>(space.data());
      const std::size_t n = std::min(space.size(), total - at);
      for (std::size_t i = 0; i < n; ++i) {
        out[i] = piece[(at + i) % len];
      }
      reader_.commit(n);
      at += n;
      result_.fed += n;
      if (!parseBuffered()) {
        return false;
      }
    }
    return true;
  }

  FeedResult result() && { return std::move(result_); }

 private:
  bool parseBuffered() {
    for (;;) {
      if (reader_.buffered() > limits_.header_limit + httpd::RequestReader::kReadChunk) {
        return violate("buffer grew past header_limit + one read");
      }
      switch (reader_.parse()) {
        case httpd::RequestReader::Progress::kNeedMore:
          return true;
        case httpd::RequestReader::Progress::kFailed: {
          const int status = reader_.failure().status;
          result_.failure_status = status;
          if (status != 400 && status != 413 && status != 431 && status != 501) {
            return violate("failed with status " + std::to_string(status));
          }
          return false;
        }
        case httpd::RequestReader::Progress::kDone:
          ++result_.requests;
          if (reader_.message().body().size() > limits_.body_limit) {
            return violate("a body over body_limit was accepted");
          }
          reader_.end();
          reader_.begin();
          if (reader_.buffered() == 0) {
            return true;
          }
          break;  // a pipelined request is already buffered
      }
    }
  }

  bool violate(std::string what) {
    result_.violation = std::move(what);
    return false;
  }

  FeedLimits limits_;
  httpd::RequestReader reader_;
  FeedResult result_;
};

}  // namespace detail

inline FeedResult feedRequests(const std::uint8_t* data, std::size_t size, FeedLimits limits = {}) {
  detail::Feeder feeder(limits);
  std::size_t at = 0;
  while (at + 2 <= size) {
    const std::uint8_t kind = data[at];
    const std::size_t len = data[at + 1];
    at += 2;
    std::size_t count = 1;
    if (kind & 1) {
      if (at + 2 > size) {
        break;
      }
      count = static_cast<std::size_t>(data[at]) | (static_cast<std::size_t>(data[at + 1]) << 8);
      at += 2;
    }
    const std::size_t take = std::min(len, size - at);
    if (take == 0 || count == 0) {
      at += take;
      continue;
    }
    if (!feeder.deliver(data + at, take, count)) {
      break;
    }
    at += take;
  }
  return std::move(feeder).result();
}

}  // namespace waflow::test
