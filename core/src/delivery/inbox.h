// Inbox — makes a webhook's contents durable before it is acknowledged.
//
// accept() stores every message (storage operation inbox.put) and status
// (status.put) a channel parsed, and only then reports success, so the daemon
// answers the provider 200 only for what is on disk. A message the storage
// already had (a redelivery, also one from before a restart) is acknowledged
// and not processed again. New messages are then published on the bus.
//
// Each message is stored under the contact its sender was first known as (a phone number, or
// the business-scoped user id of a customer who has none; storage links the two on the contact,
// see inbox.put in <waflow/sdk/storage.hpp>) and published in that contact's conversation.
//
// A message stays "pending" in storage until every message.received handler has run (a
// completion handler the bus runs after all the others marks it done). After a crash,
// recover() publishes what was stored but not finished, after counting the attempt
// (a message whose handling keeps ending the daemon is quarantined instead; see
// quarantine.h). Statuses are published as message.status; the outbox learns of failed
// sends from there. If the bus is full
// when a stored message is to be published, the message is not lost: it stays
// pending and a background replay publishes it once there is room.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include "bus/event_bus.h"
#include "delivery/customer_window.h"
#include "delivery/quarantine.h"
#include "metrics/metrics.h"
#include "plugin/plugin_instance.h"
#include "storage/storage_batch.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace waflow::core::delivery {

class Inbox {
 public:
  // `max_attempts`: handlings a message may begin before it is quarantined (inbox.max_attempts).
  // Every stored message opens its contact's 24-hour `window` (shared with the outbox).
  Inbox(storage::StorageClient& storage, CustomerWindow& window, bus::EventBus& bus,
        metrics::Registry& metrics, boost::asio::io_context& io, int max_attempts);
  ~Inbox();

  // Stores and then publishes. `done(true)` once everything is durable;
  // `done(false)` when storage failed (nothing may be assumed stored: answer
  // non-2xx so the provider redelivers).
  void accept(const std::string& channel, plugin::WebhookOutcome&& outcome,
              const std::string& request_id, std::function<void(bool stored)> done);

  // Subscribes the completion handler: a message is marked handled once every handler of its
  // message.received is done (EventBus::subscribeWhenHandled). Call before the bus starts.
  void attachCompletion();

  // Publishes messages stored but not finished before the last stop, each after counting
  // its attempt; those past the limit are quarantined. Blocks until they are queued (or
  // `timeout`); returns how many were published.
  std::size_t recover(std::chrono::milliseconds timeout);

  // The quarantined messages (the admin API lists them).
  Quarantine& quarantine() { return quarantine_; }
  // Releases a quarantined message and hands it to the flows again; `done(released, error)`.
  void retryQuarantined(const std::string& channel, const std::string& id,
                        Quarantine::ReleaseDone done);

  // Waits until every finished message has been marked done in storage (call
  // after the bus has drained, before storage stops). False on timeout.
  bool flushDone(std::chrono::milliseconds timeout);

  // Stops the background replay. Call while the io_context still runs; destroy
  // the Inbox only after the io_context's threads have ended.
  void stop();

 private:
  struct Batch;
  void publishNew(Batch& batch, const std::vector<bool>& fresh,
                  const std::vector<std::string>& contacts);
  // Publishes one message listed by inbox.pending, unless it is in flight.
  enum class Replayed { kPublished, kInFlight, kBusFull };
  Replayed publishStored(const nlohmann::json& stored);
  void scheduleReplay();
  void markDone(const std::string& channel, const std::string& id);
  void replay();
  std::string keyOf(const std::string& channel, const std::string& id) const;

  storage::StorageClient& storage_;
  Quarantine quarantine_;
  CustomerWindow& window_;
  bus::EventBus& bus_;
  metrics::Registry& metrics_;
  boost::asio::io_context& io_;
  boost::asio::steady_timer replay_timer_;

  std::mutex mutex_;
  std::set<std::string> published_;  // published and not yet done: never replayed twice
  bool replay_scheduled_ = false;
  storage::StorageBatch put_batch_;   // inbox.put of new messages, across webhooks
  storage::StorageBatch done_batch_;  // inbox.done for finished messages
  std::atomic<bool> stopped_{false};
};

}  // namespace waflow::core::delivery
