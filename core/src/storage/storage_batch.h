// StorageBatch — coalesces many small writes of one storage operation into one
// call. While a call is in flight, new items wait; when it returns, everything
// that arrived meanwhile goes out as the next call. An idle system pays no
// delay, and a busy one writes hundreds of items per transaction (and per
// fsync), which is what keeps the durable outbox cheap under load.
//
// The operation must take {"<array_key>": [item...], <extra fields>} and answer
// per-item results in arrays of the same order (or nothing per item).
//
// Thread-safety: submit() and waitIdle() may be called from any thread. Item
// callbacks run on the storage plugin's completion thread, one batch at a time.
#pragma once

#include "storage/storage_client.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace waflow::core::storage {

class StorageBatch {
 public:
  // `output` is the parsed answer of the call the item went out in (null when
  // the call failed); `index` is the item's position in that call.
  using ItemDone =
      std::function<void(const Outcome& outcome, const nlohmann::json* output, std::size_t index)>;
  // Returns the fields written beside the array (",\"now\":123"), evaluated
  // per call; may be empty.
  using ExtraFields = std::function<std::string()>;

  StorageBatch(StorageClient& storage, Operation operation, std::string array_key,
               std::size_t max_items, ExtraFields extra = {});

  // `item_json` is one serialised JSON object.
  void submit(std::string item_json, ItemDone done);

  // Blocks until no call is in flight and nothing waits (true), or `timeout`.
  bool waitIdle(std::chrono::milliseconds timeout);

 private:
  struct Pending {
    std::string json;
    ItemDone done;
  };
  void send(std::vector<Pending> items);

  StorageClient& storage_;
  const Operation operation_;
  const std::string array_key_;
  const std::size_t max_items_;
  const ExtraFields extra_;

  std::mutex mutex_;
  std::condition_variable idle_;
  std::vector<Pending> waiting_;
  bool in_flight_ = false;
};

}  // namespace waflow::core::storage
