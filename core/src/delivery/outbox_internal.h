// Internals of Outbox shared by its files: outbox.cpp (queueing, claiming, start and stop),
// outbox_dispatch.cpp (a claimed message's way: the window check, the sender, its answer
// recorded) and outbox_recovery.cpp (sends in doubt, statuses). Not part of the core's
// interface.
//
// Thread-safety: as Outbox.
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

}  // namespace waflow::core::delivery
