// Quarantine — keeps a message that keeps ending the daemon from being replayed forever.
//
// A message is stored before it is handled, so one whose handling crashes the process (or
// freezes it until someone kills it) would be replayed at every start and end it again: one
// customer message would stop the bot for everyone. Storage counts every handling begun:
// inbox.put counts the first, and admit() counts each replay after a restart, before it is
// handled. Past `max_attempts` the message is quarantined instead: kept in storage with the
// reason, logged as an error, counted in waflow_messages_quarantined_total, published as a
// `message.quarantined` event (flows and plugins can alert the owner), and listed by the
// admin API, which can release it for another try. Everything else goes on.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include "bus/event_bus.h"
#include "metrics/metrics.h"
#include "plugin/plugin_instance.h"
#include "storage/storage_client.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace waflow::core::delivery {

inline constexpr const char* kMessageQuarantined = "message.quarantined";

class Quarantine {
 public:
  Quarantine(storage::StorageClient& storage, bus::EventBus& bus, metrics::Registry& metrics,
             int max_attempts);

  // Counts one more attempt for each message of inbox.pending that a new start is about to
  // handle again, and returns those to handle, in order. The ones past the limit are
  // quarantined and reported. Blocks up to `timeout`; when storage cannot count in time, every
  // message is returned (handled without counting) and a warning says so: a broken storage
  // must not keep acknowledged messages from their answer.
  std::vector<nlohmann::json> admit(std::vector<nlohmann::json> stored,
                                    std::chrono::milliseconds timeout);

  // inbox.quarantined: a page of quarantined messages (oldest first).
  using ListDone = std::function<void(const plugin::CallOutcome&, nlohmann::json output)>;
  void list(int limit, int64_t after_seq, ListDone done);

  // inbox.release: the message becomes pending again; `done(released, error)`. The caller
  // replays it.
  using ReleaseDone = std::function<void(bool released, const std::string& error)>;
  void release(const std::string& channel, const std::string& id, ReleaseDone done);

  int maxAttempts() const { return max_attempts_; }

 private:
  void report(const nlohmann::json& message, int64_t attempts);

  storage::StorageClient& storage_;
  bus::EventBus& bus_;
  metrics::Registry& metrics_;
  const int max_attempts_;
};

}  // namespace waflow::core::delivery
