// Outbox — every message the daemon sends goes through here. It is written to
// storage first (outbox.add) and only then sent, so a reply survives a crash;
// after a restart what was pending goes out once, and a send interrupted in
// the middle ("in doubt") is settled by the provider's status webhook or the
// configured policy (docs/reliability.md).
//
// Claimed messages are checked against the customer-service window and handed
// to the Sender (delivery/sender.h), which keeps a rate limit per channel
// instance and pacing per recipient. The outbox records each answer and keeps
//  - retries of transient failures with exponential backoff and jitter, or the
//    provider's Retry-After; after max_attempts, or on a permanent error, the
//    message is marked failed with its reason and message.failed is published;
//  - per-conversation order through retries: storage lets a conversation's
//    next message be claimed only after the earlier ones are settled;
//  - the 24-hour customer-service window: a free-form message to a contact who
//    has not written for 24 hours is replaced by the configured template or
//    refused before the provider is called.
// Failures that arrive later in a `failed` status are recorded the same way: the outbox learns
// them from the inbox's message.status events on the bus (attach()).
//
// Thread-safety: public methods may be called from any thread; the sender's
// state lives on one strand of the io_context.
#pragma once

#include "bus/event_bus.h"
#include "config/config.h"
#include "delivery/customer_window.h"
#include "delivery/events.h"
#include "delivery/outbox_message.h"
#include "delivery/sender.h"
#include "metrics/metrics.h"
#include "plugin/plugin_instance.h"
#include "storage/storage_batch.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace waflow::core::delivery {

class Outbox {
 public:
  using Message = OutboxMessage;

  // `window` is shared with the inbox, which opens it when a customer writes.
  Outbox(const config::OutboxConfig& config, storage::StorageClient& storage,
         CustomerWindow& window, std::map<std::string, plugin::PluginInstance*> channels,
         bus::EventBus& bus, metrics::Registry& metrics, boost::asio::io_context& io);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Settles sends interrupted by the last stop (in doubt) and starts sending
  // what is due. Call once the io_context runs.
  void start();

  // Stores the message and calls `stored(true)` once it is durable (or was
  // already stored), `stored(false)` when storage failed. Sending follows.
  void enqueue(Message message, std::function<void(bool stored)> stored);

  // Subscribes to the statuses the inbox stores (message.status): a send that failed after
  // the provider took it is recorded and published as message.failed. Call once, before the
  // bus starts.
  void attach();

  // Stops claiming, lets queued sends go out for up to `drain`, hands the rest
  // back to storage as pending, and waits for storage writes. Call before the
  // channel and storage plugins stop.
  void stop(std::chrono::milliseconds drain);

  // This daemon's name on the leases it holds (outbox.owner, else the host name).
  const std::string& owner() const { return owner_; }

  // Messages claimed and not yet answered by the channel.
  std::size_t backlog() const { return backlog_.load(); }

  // The outbox id a status names in its biz_opaque_callback_data, or "".
  static std::string outboxIdOf(const waflow::StatusUpdate& status);

 private:
  using Item = OutboxItem;
  using Clock = std::chrono::steady_clock;
  // Per channel instance, for /metrics.
  struct ChannelCounters {
    metrics::Counter* sent = nullptr;
    metrics::Counter* failed = nullptr;
    metrics::Counter* retries = nullptr;
  };

  void dispatch(std::shared_ptr<Item> item);
  void checkWindow(std::shared_ptr<Item> item);
  void applyWindow(std::shared_ptr<Item> item, int64_t last_inbound_ms);
  void queueForChannel(std::shared_ptr<Item> item);
  void onSendResult(std::shared_ptr<Item> item, plugin::CallOutcome outcome);
  void retryLater(std::shared_ptr<Item> item, std::chrono::milliseconds delay,
                  const std::string& error);
  void fail(std::shared_ptr<Item> item, const std::string& reason, int32_t code);
  void publishOutcome(const Item& item, bool sent, const std::string& detail, int32_t code);
  void requestClaim();
  void claim();
  void scheduleTick(std::chrono::milliseconds after);
  // A send whose outcome is unknown (no answer after the request went out) waits for a status.
  void holdInDoubt(std::shared_ptr<Item> item, const std::string& error);
  void recoverInDoubt(bool at_start, std::function<void()> done = {});
  // After in_doubt_grace: what no status settled is sent again or failed (outbox.in_doubt);
  // `cause` says why they were in doubt, for the log and the row's last error.
  void settleInDoubtLater(std::vector<std::string> ids, std::string cause);
  void settleInDoubt(std::vector<std::string> ids, const std::string& cause);
  metrics::Counter& inDoubtCounter();
  // A status the inbox stored: a failure of one of our sends is recorded.
  void onStatus(const StatusReport& report);
  void sendWindowTemplate(const std::string& outbox_id);
  void release(std::shared_ptr<Item> item);
  std::shared_ptr<Item> itemFromRow(const nlohmann::json& row);
  std::string outboxAddJson(const Item& item) const;
  const ChannelCounters* countersOf(const std::string& channel) const;
  std::size_t claimRoom() const;
  std::chrono::milliseconds backoff(int attempt) const;
  int64_t nowMs() const;

  config::OutboxConfig config_;
  storage::StorageClient& storage_;
  CustomerWindow& window_;  // shared with the inbox
  bus::EventBus& bus_;
  metrics::Registry& metrics_;
  boost::asio::io_context& io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::string owner_;
  std::map<std::string, ChannelCounters> counters_;  // fixed after construction

  storage::StorageBatch adds_;
  storage::StorageBatch sent_marks_;

  // --- on strand_ ---
  Sender sender_;
  boost::asio::steady_timer tick_timer_;
  Clock::time_point tick_at_{Clock::time_point::max()};
  bool claim_in_flight_ = false;
  bool claim_again_ = false;
  bool stopping_ = false;
  int ticks_ = 0;
  // Rows believed pending in storage (added unclaimed, retried, released): while
  // positive, every recorded send is followed by a claim, so a conversation's
  // next message goes out at once rather than at the next tick. Starts positive:
  // the last run may have left some.
  int64_t pending_hint_ = 1;

  // Claimed and not yet answered (waiting for a window check, pacing, a rate token, or the
  // channel): changed on strand_, readable anywhere.
  std::atomic<std::size_t> backlog_{0};
  std::atomic<bool> started_{false};
};

}  // namespace waflow::core::delivery
