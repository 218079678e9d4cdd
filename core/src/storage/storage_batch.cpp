#include "storage/storage_batch.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace waflow::core::storage {

StorageBatch::StorageBatch(StorageClient& storage, Operation operation, std::string array_key,
                           std::size_t max_items, ExtraFields extra)
    : storage_(storage),
      operation_(operation),
      array_key_(std::move(array_key)),
      max_items_(std::max<std::size_t>(1, max_items)),
      extra_(std::move(extra)) {}

void StorageBatch::submit(std::string item_json, ItemDone done) {
  std::vector<Pending> batch;
  {
    std::lock_guard lock(mutex_);
    waiting_.push_back(Pending{std::move(item_json), std::move(done)});
    if (in_flight_) {
      return;  // goes out with the next call, when the current one returns
    }
    in_flight_ = true;
    batch.swap(waiting_);
  }
  send(std::move(batch));
}

void StorageBatch::send(std::vector<Pending> items) {
  // A backlog larger than one call allows is split; the rest waits its turn.
  if (items.size() > max_items_) {
    std::lock_guard lock(mutex_);
    waiting_.insert(waiting_.begin(), std::make_move_iterator(items.begin() + max_items_),
                    std::make_move_iterator(items.end()));
    items.resize(max_items_);
  }
  std::string in = "{\"" + array_key_ + "\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      in += ',';
    }
    in += items[i].json;
  }
  in += ']';
  if (extra_) {
    in += extra_();
  }
  in += '}';
  storage_.execute(operation_, std::move(in), [this, items = std::move(items)](Outcome o) {
    nlohmann::json output;
    if (o.ok()) {
      output = nlohmann::json::parse(o.value, nullptr, false);
      if (!output.is_object()) {
        o.rc = waflow::Rc::kError;
        o.error = "storage answered " + std::string(operation_.name()) +
                  " with something other than a JSON object";
      }
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      items[i].done(o, o.ok() ? &output : nullptr, i);
    }
    std::vector<Pending> next;
    {
      std::lock_guard lock(mutex_);
      if (waiting_.empty()) {
        in_flight_ = false;
        idle_.notify_all();
        return;
      }
      next.swap(waiting_);
    }
    send(std::move(next));
  });
}

bool StorageBatch::waitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return !in_flight_ && waiting_.empty(); });
}

}  // namespace waflow::core::storage
