// Internals of Outbox shared by its files: outbox.cpp (queueing, claiming, start and stop),
// outbox_sending.cpp (the sender: window, pacing, rate, retries) and outbox_recovery.cpp (sends
// in doubt, statuses). Not part of the core's interface.
//
// Thread-safety: as Outbox; Item and ChannelQueue live on the outbox's strand.
#pragma once

#include "delivery/outbox.h"

#include <unistd.h>

#include <algorithm>
#include <string>

namespace waflow::core::delivery {
namespace outbox_internal {

using Json = nlohmann::json;

constexpr std::chrono::milliseconds kTick{1000};
constexpr std::size_t kMaxClaim = 500;
constexpr std::size_t kMaxBatch = 1000;
// A claimed message holds a lease; never hold more than this many seconds of
// sending (at the channel's rate) in memory, so leases cannot run out in a queue.
constexpr int kBacklogSeconds = 5;
constexpr std::size_t kUnlimitedBacklog = 4096;
// Concurrent requests per channel instance: enough to keep a fast provider busy,
// few enough that a drain of thousands of messages does not open thousands of
// connections (and their buffers) at once.
constexpr std::size_t kMaxInFlightPerChannel = 256;

// Meta's codes that mean "the number is sending too fast" (protocols.md A.9).
inline bool isThroughputLimit(int32_t code) {
  return code == 130429 || code == 80007 || code == 4;
}
constexpr int32_t kPairRateLimit = 131056;
constexpr int32_t kReEngagement = 131047;

inline std::string hostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return "waflow";
  }
  return name;
}

inline std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

inline std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline bool flagAt(const Json* output, const char* key, std::size_t index) {
  if (output == nullptr) {
    return false;
  }
  auto it = output->find(key);
  if (it == output->end() || !it->is_array() || index >= it->size()) {
    return false;
  }
  const Json& f = (*it)[index];
  return f.is_boolean() && f.get<bool>();
}

}  // namespace outbox_internal

struct Outbox::Item {
  Message m;
  int attempts = 0;      // attempts made, this one included once sent
  bool paced = false;    // holds its recipient token
  bool delayed = false;  // waiting on a pacing timer, outside the channel queue
};

struct Outbox::ChannelQueue {
  ChannelQueue(boost::asio::io_context& io, plugin::PluginInstance* i, double rate)
      : instance(i), bucket(rate, std::max(1.0, rate)), timer(io) {}
  plugin::PluginInstance* instance;
  TokenBucket bucket;
  std::deque<std::shared_ptr<Item>> ready;
  boost::asio::steady_timer timer;
  bool timer_armed = false;
  std::size_t in_flight = 0;  // sends handed to the channel, not yet answered
  metrics::Counter* sent = nullptr;
  metrics::Counter* failed = nullptr;
  metrics::Counter* retries = nullptr;
};

}  // namespace waflow::core::delivery
