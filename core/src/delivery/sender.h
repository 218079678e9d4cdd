// Sender — the outbox's sending half. Claimed messages wait here for their channel instance's
// rate (a token bucket: a WhatsApp number's messages per second) and their recipient's pacing
// (Meta's pair rate limit), at most kMaxInFlightPerChannel at once per channel, then go to the
// channel plugin; each answer is handed back to the outbox, which records it (sent, retried,
// failed, in doubt). A "too many" answer pauses the channel or the recipient.
//
// The outbox decides what is sent and what an answer means; the sender decides only when each
// message may go.
//
// Thread-safety: knows() and holdable() may be called from any thread (the channels are fixed
// at construction). Everything else, and the handlers it is given, runs on the outbox's strand.
#pragma once

#include "config/config.h"
#include "delivery/outbox_message.h"
#include "delivery/token_bucket.h"
#include "plugin/plugin_instance.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

namespace waflow::core::delivery {

class Sender {
 public:
  using ItemPtr = std::shared_ptr<OutboxItem>;
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  using Clock = std::chrono::steady_clock;
  // The channel's answer to one attempt.
  using Answered = std::function<void(ItemPtr, plugin::CallOutcome)>;
  // A message the sender still held when it closed: it goes back to storage.
  using Released = std::function<void(ItemPtr)>;

  Sender(const config::OutboxConfig& config,
         const std::map<std::string, plugin::PluginInstance*>& channels,
         boost::asio::io_context& io, Strand& strand, Answered answered, Released released);
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Whether a channel instance of that name is configured.
  bool knows(const std::string& channel) const;
  // The configured channel instances, "a, b", or "none".
  std::string channelNames() const;
  // How many claimed messages may wait here: about kBacklogSeconds of sending at the channels'
  // rates, so no lease runs out in a queue (64 to 4096).
  std::size_t holdable() const;

  // Queues the message for its channel; `first`: ahead of the others (a resend of the same
  // message as a template). False, and nothing queued, when its channel is not configured.
  bool submit(ItemPtr item, bool first = false);
  // The provider said "too many" for this recipient, or for the whole channel.
  void pauseRecipient(const std::string& channel, const std::string& to, Clock::time_point until);
  void pauseChannel(const std::string& channel, Clock::time_point until);
  // Stops sending: what waits is handed to `released` (now, or when its pacing timer fires).
  // Returns how many were waiting in the channel queues.
  std::size_t close();

 private:
  struct ChannelQueue {
    ChannelQueue(boost::asio::io_context& io, plugin::PluginInstance* i, double rate)
        : instance(i), bucket(rate, std::max(1.0, rate)), timer(io) {}
    plugin::PluginInstance* instance;
    TokenBucket bucket;
    std::deque<ItemPtr> ready;
    boost::asio::steady_timer timer;
    bool timer_armed = false;
    std::size_t in_flight = 0;  // sends handed to the channel, not yet answered
  };

  ChannelQueue* queueOf(const std::string& channel);
  int rateOf(const std::string& channel) const;
  void pump(ChannelQueue& queue);
  // The recipient's pacing: zero when the message may go now (it then holds its token).
  Clock::duration paceRecipient(OutboxItem& item, Clock::time_point now);
  void waitForRecipient(ItemPtr item, Clock::duration wait);
  void waitForChannel(ChannelQueue& queue, Clock::duration wait);
  void send(ChannelQueue& queue, ItemPtr item);
  void forgetIdleRecipients();

  const config::OutboxConfig& config_;
  boost::asio::io_context& io_;
  Strand& strand_;
  Answered answered_;
  Released released_;
  std::map<std::string, std::unique_ptr<ChannelQueue>> queues_;  // fixed after construction
  std::unordered_map<std::string, TokenBucket> recipients_;      // "<channel>\n<to>"
  bool closed_ = false;
};

}  // namespace waflow::core::delivery
