// Outbox: storing what is to be sent, claiming it back in order, start and stop.
#include "delivery/outbox_internal.h"

#include "delivery/events.h"
#include "json/bounded_parse.h"
#include "log/log.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <waflow/sdk/storage.hpp>

#include <cmath>
#include <future>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>

namespace waflow::core::delivery {

using namespace outbox_internal;  // NOLINT: the outbox's own helpers and limits

Outbox::Outbox(const config::OutboxConfig& config, storage::StorageClient& storage,
               CustomerWindow& window, std::map<std::string, plugin::PluginInstance*> channels,
               bus::EventBus& bus, metrics::Registry& metrics, boost::asio::io_context& io)
    : config_(config),
      storage_(storage),
      window_(window),
      bus_(bus),
      metrics_(metrics),
      io_(io),
      strand_(boost::asio::make_strand(io)),
      owner_(config.owner.empty() ? hostName() : config.owner),
      adds_(storage, waflow::storage::kOutboxAdd, "messages", kMaxBatch,
            [this] {
              // Claim at once what the sender can send within its backlog; the
              // rest stays pending for the claim loop.
              if (!started_.load() || backlog_.load() >= claimRoom()) {
                return std::string();
              }
              return fmt::format(R"(,"claim":{{"owner":{},"lease_ms":{},"now":{}}})",
                                 Json(owner_).dump(), config_.lease.count(), nowMs());
            }),
      sent_marks_(storage, waflow::storage::kOutboxSent, "messages", kMaxBatch,
                  [this] { return fmt::format(R"(,"now":{})", nowMs()); }),
      sender_(
          config_, channels, io, strand_,
          [this](std::shared_ptr<Item> item, plugin::CallOutcome outcome) {
            onSendResult(std::move(item), std::move(outcome));
          },
          [this](std::shared_ptr<Item> item) { release(std::move(item)); }),
      tick_timer_(io) {
  for (const auto& [id, _] : channels) {
    ChannelCounters& c = counters_[id];
    c.sent = &metrics_.counter("waflow_outbox_sent_total", "Messages the channel accepted",
                               {{"channel", id}});
    c.failed = &metrics_.counter("waflow_outbox_failed_total",
                                 "Messages that finally failed (at send or in a later status)",
                                 {{"channel", id}});
    c.retries = &metrics_.counter("waflow_outbox_retries_total",
                                  "Send attempts that failed transiently and were retried",
                                  {{"channel", id}});
  }
}

Outbox::~Outbox() = default;

int64_t Outbox::nowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::size_t Outbox::claimRoom() const {
  return sender_.holdable();
}

const Outbox::ChannelCounters* Outbox::countersOf(const std::string& channel) const {
  auto it = counters_.find(channel);
  return it == counters_.end() ? nullptr : &it->second;
}

std::chrono::milliseconds Outbox::backoff(int attempt) const {
  thread_local std::minstd_rand rng{std::random_device{}()};
  double base =
      static_cast<double>(config_.retry_initial.count()) * std::pow(2.0, std::max(0, attempt - 1));
  base = std::min(base, static_cast<double>(config_.retry_max.count()));
  // "Equal jitter": between half and all of the delay, so retries of many
  // messages spread out without any of them retrying almost at once.
  double jittered = base / 2 + std::uniform_real_distribution<double>(0, base / 2)(rng);
  return std::chrono::milliseconds(static_cast<int64_t>(jittered));
}

std::string Outbox::outboxIdOf(const waflow::StatusUpdate& status) {
  if (status.raw_json.find("biz_opaque_callback_data") == std::string::npos) {
    return {};
  }
  Json raw = json_input::parseOrDiscarded(status.raw_json);
  return raw.is_object() ? str(raw, "biz_opaque_callback_data") : std::string();
}

std::string Outbox::outboxAddJson(const Item& item) const {
  const Message& m = item.m;
  std::string out = "{";
  appendField(out, "id", m.id);
  appendField(out, "channel", m.channel);
  appendField(out, "to", m.to);
  appendField(out, "conversation", m.conversation);
  appendField(out, "type", m.type);
  appendField(out, "text", m.text);
  appendField(out, "reply_to", m.reply_to);
  out += "\"payload\":";
  out += m.payload_json.empty() ? "null" : m.payload_json;
  out += ",\"not_before\":0}";
  return out;
}

void Outbox::enqueue(Message message, std::function<void(bool stored)> stored) {
  if (message.conversation.empty()) {
    message.conversation = conversationKey(message.channel, message.to);
  }
  if (!message.payload_json.empty() &&
      !Json::parse(message.payload_json, nullptr, false).is_object()) {
    log::get("outbox")->error("message {} not queued: its payload is not a JSON object",
                              message.id);
    stored(false);
    return;
  }
  auto item = std::make_shared<Item>();
  item->m = std::move(message);
  std::string json = outboxAddJson(*item);
  adds_.submit(std::move(json),
               [this, item, stored = std::move(stored)](const plugin::CallOutcome& o,
                                                        const Json* output, std::size_t index) {
                 if (!o.ok()) {
                   log::RequestScope scope(item->m.request_id);
                   log::get("outbox")->error("storing message {} for {} failed: {}", item->m.id,
                                             item->m.to, o.error);
                   stored(false);
                   return;
                 }
                 bool added = flagAt(output, "added", index);
                 bool claimed = flagAt(output, "claimed", index);
                 stored(true);
                 if (claimed) {
                   boost::asio::post(strand_, [this, item] { dispatch(item); });
                 } else if (added) {
                   // Waits behind an earlier message of its conversation, or for room.
                   boost::asio::post(strand_, [this] {
                     ++pending_hint_;
                     requestClaim();
                   });
                 }
               });
}

// ---- claiming (on strand_) ------------------------------------------------------------------

void Outbox::requestClaim() {
  boost::asio::post(strand_, [this] {
    if (claim_in_flight_) {
      claim_again_ = true;
      return;
    }
    claim();
  });
}

void Outbox::claim() {
  const std::size_t room = claimRoom() > backlog_.load() ? claimRoom() - backlog_.load() : 0;
  if (stopping_ || !started_.load() || room == 0) {
    return;  // the tick tries again
  }
  claim_in_flight_ = true;
  claim_again_ = false;
  const std::size_t limit = std::min(room, kMaxClaim);
  Json in = {
      {"limit", limit}, {"now", nowMs()}, {"lease_ms", config_.lease.count()}, {"owner", owner_}};
  storage_.execute(waflow::storage::kOutboxClaim, dump(in), [this, limit](plugin::CallOutcome o) {
    boost::asio::post(strand_, [this, limit, o = std::move(o)] {
      claim_in_flight_ = false;
      if (!o.ok()) {
        log::get("outbox")->warn("claiming messages to send failed: {}", o.error);
        return;
      }
      Json out = Json::parse(o.value, nullptr, false);
      std::size_t n = 0;
      if (out.is_object() && out.contains("messages") && out["messages"].is_array()) {
        for (const Json& row : out["messages"]) {
          if (auto item = itemFromRow(row)) {
            dispatch(std::move(item));
            ++n;
          }
        }
      }
      pending_hint_ = std::max<int64_t>(0, pending_hint_ - static_cast<int64_t>(n));
      if (n == 0 && backlog_.load() == 0) {
        pending_hint_ = 0;  // nothing claimable and nothing of ours holding a conversation back
      }
      if (n >= limit || claim_again_) {
        claim();
      }
    });
  });
}

std::shared_ptr<Outbox::Item> Outbox::itemFromRow(const Json& row) {
  if (!row.is_object()) {
    return nullptr;
  }
  auto item = std::make_shared<Item>();
  Message& m = item->m;
  m.id = str(row, "id");
  m.channel = str(row, "channel");
  m.to = str(row, "to");
  m.conversation = str(row, "conversation");
  m.type = str(row, "type");
  m.text = str(row, "text");
  m.reply_to = str(row, "reply_to");
  if (auto p = row.find("payload"); p != row.end() && p->is_object()) {
    m.payload_json = dump(*p);
  }
  item->attempts = row.value("attempts", 0);
  return m.id.empty() ? nullptr : item;
}

void Outbox::scheduleTick(std::chrono::milliseconds after) {
  const auto at = Clock::now() + after;
  if (stopping_ || at >= tick_at_) {
    return;
  }
  tick_at_ = at;
  tick_timer_.expires_at(at);
  tick_timer_.async_wait(
      boost::asio::bind_executor(strand_, [this](const boost::system::error_code& ec) {
        if (ec || stopping_) {
          return;
        }
        tick_at_ = Clock::time_point::max();
        // Leases of other (crashed) daemons sharing the storage run out too.
        if (++ticks_ % std::max<int64_t>(1, config_.lease.count() / 2 / kTick.count()) == 0) {
          recoverInDoubt(false);
        }
        if (claim_in_flight_) {
          claim_again_ = true;
        } else {
          claim();
        }
        scheduleTick(kTick);
      }));
}

// ---- start and stop -----------------------------------------------------------------------

void Outbox::start() {
  // Settle our stale leases before anything new is claimed under our name:
  // recover() would otherwise take this run's fresh claims for the last run's.
  // Shared with the callback: it may run after the wait below has given up.
  auto recovered = std::make_shared<std::promise<void>>();
  auto recovered_future = recovered->get_future();
  recoverInDoubt(true, [recovered] { recovered->set_value(); });
  if (recovered_future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    log::get("outbox")->warn(
        "storage did not answer outbox.recover within 30 s; sends "
        "interrupted by the last stop are settled when it does");
  }
  started_ = true;
  boost::asio::post(strand_, [this] { scheduleTick(std::chrono::milliseconds(0)); });
}

void Outbox::release(std::shared_ptr<Item> item) {
  --backlog_;
  Json in = {{"id", item->m.id}, {"not_before", 0}, {"error", "the daemon stopped first"}};
  storage_.execute(waflow::storage::kOutboxRetry, dump(in), [](plugin::CallOutcome) {});
}

void Outbox::stop(std::chrono::milliseconds drain) {
  started_ = false;  // nothing more is claimed, also not when added
  boost::asio::post(strand_, [this] {
    stopping_ = true;
    tick_timer_.cancel();
  });
  const auto deadline = Clock::now() + drain;
  while (backlog_.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // What is still queued (paced or rate-limited) goes back to pending: it is
  // sent after the next start, not presumed in doubt.
  // Shared with the callback: it may run after the wait below has given up.
  auto released = std::make_shared<std::promise<void>>();
  auto released_future = released->get_future();
  boost::asio::post(strand_, [this, released] {
    const std::size_t n = sender_.close();
    if (n > 0) {
      log::get("outbox")->info("{} queued message(s) will be sent after the next start", n);
    }
    released->set_value();
  });
  released_future.wait_for(std::chrono::seconds(5));
  adds_.waitIdle(std::chrono::seconds(10));
  sent_marks_.waitIdle(std::chrono::seconds(10));
}

}  // namespace waflow::core::delivery
