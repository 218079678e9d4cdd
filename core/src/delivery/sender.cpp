#include "delivery/sender.h"

#include "log/log.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace waflow::core::delivery {
namespace {

// A claimed message holds a lease; never hold more than this many seconds of sending (at the
// channel's rate) in memory, so leases cannot run out in a queue.
constexpr int kBacklogSeconds = 5;
constexpr std::size_t kUnlimitedBacklog = 4096;
// Concurrent requests per channel instance: enough to keep a fast provider busy, few enough
// that a drain of thousands of messages does not open thousands of connections (and their
// buffers) at once.
constexpr std::size_t kMaxInFlightPerChannel = 256;
// Recipients' pacing buckets kept before the idle ones are dropped.
constexpr std::size_t kMaxRecipients = 10000;

std::string recipientKey(const std::string& channel, const std::string& to) {
  return channel + '\n' + to;
}

}  // namespace

Sender::Sender(const config::OutboxConfig& config,
               const std::map<std::string, plugin::PluginInstance*>& channels,
               boost::asio::io_context& io, Strand& strand, Answered answered, Released released)
    : config_(config),
      io_(io),
      strand_(strand),
      answered_(std::move(answered)),
      released_(std::move(released)) {
  for (const auto& [id, instance] : channels) {
    queues_.emplace(id,
                    std::make_unique<ChannelQueue>(io_, instance, static_cast<double>(rateOf(id))));
  }
}

int Sender::rateOf(const std::string& channel) const {
  auto it = config_.channel_rate_limits.find(channel);
  return it != config_.channel_rate_limits.end() ? it->second : config_.rate_limit;
}

bool Sender::knows(const std::string& channel) const {
  return queues_.count(channel) != 0;
}

std::string Sender::channelNames() const {
  std::string names;
  for (const auto& [id, _] : queues_) {
    names += (names.empty() ? "" : ", ") + id;
  }
  return names.empty() ? "none" : names;
}

std::size_t Sender::holdable() const {
  std::size_t room = 0;
  for (const auto& [id, _] : queues_) {
    const int rate = rateOf(id);
    if (rate <= 0) {
      return kUnlimitedBacklog;
    }
    room += static_cast<std::size_t>(rate) * kBacklogSeconds;
  }
  return std::clamp<std::size_t>(room, 64, kUnlimitedBacklog);
}

Sender::ChannelQueue* Sender::queueOf(const std::string& channel) {
  auto it = queues_.find(channel);
  return it == queues_.end() ? nullptr : it->second.get();
}

bool Sender::submit(ItemPtr item, bool first) {
  ChannelQueue* q = queueOf(item->m.channel);
  if (q == nullptr) {
    return false;
  }
  if (first) {
    q->ready.push_front(std::move(item));
  } else {
    q->ready.push_back(std::move(item));
  }
  pump(*q);
  return true;
}

void Sender::pauseRecipient(const std::string& channel, const std::string& to,
                            Clock::time_point until) {
  auto [it, _] = recipients_.try_emplace(
      recipientKey(channel, to),
      1000.0 / static_cast<double>(std::max<int64_t>(1, config_.recipient_interval.count())),
      static_cast<double>(std::max(1, config_.recipient_burst)));
  it->second.pauseUntil(until);
}

void Sender::pauseChannel(const std::string& channel, Clock::time_point until) {
  if (ChannelQueue* q = queueOf(channel)) {
    q->bucket.pauseUntil(until);
  }
}

std::size_t Sender::close() {
  closed_ = true;
  std::size_t n = 0;
  for (auto& [id, q] : queues_) {
    (void)id;
    q->timer.cancel();
    for (auto& item : q->ready) {
      released_(item);
      ++n;
    }
    q->ready.clear();
  }
  return n;
}

void Sender::pump(ChannelQueue& q) {
  while (!q.ready.empty() && q.in_flight < kMaxInFlightPerChannel) {
    const auto now = Clock::now();
    ItemPtr item = q.ready.front();
    if (auto wait = paceRecipient(*item, now); wait > Clock::duration::zero()) {
      // Paced: this conversation waits, the others go on.
      q.ready.pop_front();
      waitForRecipient(std::move(item), wait);
      continue;
    }
    if (auto wait = q.bucket.take(now); wait > Clock::duration::zero()) {
      waitForChannel(q, wait);
      return;
    }
    q.ready.pop_front();
    item->paced = false;
    send(q, std::move(item));
  }
  forgetIdleRecipients();
}

Sender::Clock::duration Sender::paceRecipient(OutboxItem& item, Clock::time_point now) {
  if (config_.recipient_burst <= 0 || item.paced) {
    return Clock::duration::zero();
  }
  auto [it, _] = recipients_.try_emplace(
      recipientKey(item.m.channel, item.m.to),
      1000.0 / static_cast<double>(std::max<int64_t>(1, config_.recipient_interval.count())),
      static_cast<double>(config_.recipient_burst));
  auto wait = it->second.take(now);
  item.paced = wait <= Clock::duration::zero();
  return wait;
}

void Sender::waitForRecipient(ItemPtr item, Clock::duration wait) {
  item->delayed = true;
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, wait);
  timer->async_wait(
      boost::asio::bind_executor(strand_, [this, item, timer](const boost::system::error_code&) {
        item->delayed = false;
        if (closed_) {
          released_(item);
          return;
        }
        if (ChannelQueue* again = queueOf(item->m.channel)) {
          again->ready.push_back(item);
          pump(*again);
        }
      }));
}

void Sender::waitForChannel(ChannelQueue& q, Clock::duration wait) {
  if (q.timer_armed) {
    return;
  }
  q.timer_armed = true;
  q.timer.expires_after(wait);
  q.timer.async_wait(
      boost::asio::bind_executor(strand_, [this, &q](const boost::system::error_code&) {
        q.timer_armed = false;
        if (!closed_) {
          pump(q);
        }
      }));
}

void Sender::send(ChannelQueue& q, ItemPtr item) {
  ++q.in_flight;
  ++item->attempts;
  waflow::OutboundMessage out;
  out.id = item->m.id;
  out.to = item->m.to;
  out.type = item->m.type;
  out.text = item->m.text;
  out.reply_to = item->m.reply_to;
  out.payload_json = item->m.payload_json;
  log::RequestScope scope(item->m.request_id);
  q.instance->send(out, [this, &q, item](plugin::CallOutcome outcome) {
    boost::asio::post(strand_, [this, &q, item, outcome = std::move(outcome)]() mutable {
      if (q.in_flight-- == kMaxInFlightPerChannel && !q.ready.empty()) {
        boost::asio::post(strand_, [this, &q] { pump(q); });  // room for the next one
      }
      answered_(item, std::move(outcome));
    });
  });
}

void Sender::forgetIdleRecipients() {
  if (recipients_.size() <= kMaxRecipients) {
    return;
  }
  const auto now = Clock::now();
  for (auto it = recipients_.begin(); it != recipients_.end();) {
    it = it->second.idle(now) ? recipients_.erase(it) : std::next(it);
  }
}

}  // namespace waflow::core::delivery
