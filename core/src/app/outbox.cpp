#include "app/outbox.h"

#include "app/events.h"
#include "json/bounded_parse.h"
#include "log/log.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <waflow/sdk/storage.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <random>
#include <thread>

#include <fmt/format.h>

namespace waflow::core::app {
namespace {

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
bool isThroughputLimit(int32_t code) {
  return code == 130429 || code == 80007 || code == 4;
}
constexpr int32_t kPairRateLimit = 131056;
constexpr int32_t kReEngagement = 131047;

std::string hostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return "waflow";
  }
  return name;
}

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flagAt(const Json* output, const char* key, std::size_t index) {
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

}  // namespace

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

Outbox::Outbox(const config::OutboxConfig& config, plugin::PluginInstance& storage,
               std::map<std::string, plugin::PluginInstance*> channels, bus::EventBus& bus,
               metrics::Registry& metrics, boost::asio::io_context& io)
    : config_(config),
      storage_(storage),
      bus_(bus),
      metrics_(metrics),
      io_(io),
      strand_(boost::asio::make_strand(io)),
      owner_(config.owner.empty() ? hostName() : config.owner),
      adds_(storage, storage::kOutboxAdd, "messages", kMaxBatch,
            [this] {
              // Claim at once what the sender can send within its backlog; the
              // rest stays pending for the claim loop.
              if (!started_.load() || backlog_.load() >= claimRoom()) {
                return std::string();
              }
              return fmt::format(R"(,"claim":{{"owner":{},"lease_ms":{},"now":{}}})",
                                 Json(owner_).dump(), config_.lease.count(), nowMs());
            }),
      sent_marks_(storage, storage::kOutboxSent, "messages", kMaxBatch,
                  [this] { return fmt::format(R"(,"now":{})", nowMs()); }),
      tick_timer_(io) {
  for (auto& [id, instance] : channels) {
    int rate = config_.rate_limit;
    if (auto it = config_.channel_rate_limits.find(id); it != config_.channel_rate_limits.end()) {
      rate = it->second;
    }
    auto q = std::make_unique<ChannelQueue>(io_, instance, static_cast<double>(rate));
    q->sent = &metrics_.counter("waflow_outbox_sent_total", "Messages the channel accepted",
                                {{"channel", id}});
    q->failed = &metrics_.counter("waflow_outbox_failed_total",
                                  "Messages that finally failed (at send or in a later status)",
                                  {{"channel", id}});
    q->retries = &metrics_.counter("waflow_outbox_retries_total",
                                   "Send attempts that failed transiently and were retried",
                                   {{"channel", id}});
    queues_.emplace(id, std::move(q));
  }
}

Outbox::~Outbox() = default;

int64_t Outbox::nowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::size_t Outbox::claimRoom() const {
  std::size_t room = 0;
  for (const auto& [id, q] : queues_) {
    (void)q;
    int rate = config_.rate_limit;
    if (auto it = config_.channel_rate_limits.find(id); it != config_.channel_rate_limits.end()) {
      rate = it->second;
    }
    if (rate <= 0) {
      return kUnlimitedBacklog;
    }
    room += static_cast<std::size_t>(rate) * kBacklogSeconds;
  }
  return std::clamp<std::size_t>(room, 64, kUnlimitedBacklog);
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

void Outbox::noteInbound(const std::string& channel, const std::string& contact, int64_t at_ms) {
  window_.note(channel, contact, at_ms);
}

// ---- sending (on strand_) -----------------------------------------------------------------

void Outbox::dispatch(std::shared_ptr<Item> item) {
  ++queued_;
  ++backlog_;
  checkWindow(std::move(item));
}

void Outbox::checkWindow(std::shared_ptr<Item> item) {
  const Message& m = item->m;
  if (!config_.enforce_window || m.type == "template") {
    queueForChannel(std::move(item));
    return;
  }

  if (auto last = window_.lastInbound(m.channel, m.to)) {
    applyWindow(std::move(item), *last);
    return;
  }
  Json in = {{"channel", m.channel}, {"contact", m.to}};
  storage_.execute(storage::kContactGet, dump(in), [this, item](plugin::CallOutcome o) {
    int64_t last = 0;
    if (o.ok()) {
      Json out = Json::parse(o.value, nullptr, false);
      if (out.is_object() && out.contains("contact") && out["contact"].is_object()) {
        last = out["contact"].value("last_inbound_at", int64_t{0});
      }
      window_.note(item->m.channel, item->m.to, last);
    } else {
      log::get("outbox")->warn(
          "looking up {} for the 24-hour window failed ({}); assuming it is "
          "open",
          item->m.to, o.error);
      last = nowMs();
    }
    boost::asio::post(strand_, [this, item, last] { applyWindow(item, last); });
  });
}

void Outbox::applyWindow(std::shared_ptr<Item> item, int64_t last) {
  if (CustomerWindow::isOpen(last, nowMs())) {
    queueForChannel(std::move(item));
    return;
  }
  Message& m = item->m;
  log::RequestScope scope(m.request_id);
  std::string since = last > 0 ? fmt::format("last wrote {} h ago", (nowMs() - last) / 3600000)
                               : std::string("has never written");
  if (!config_.window_template.is_null()) {
    log::get("outbox")->info(
        "{} {} on {}: outside the 24-hour window, sending template '{}' instead of message {}",
        m.to, since, m.channel, config_.window_template.value("name", ""), m.id);
    metrics_
        .counter("waflow_outbox_window_total", "Messages outside the 24-hour window",
                 {{"channel", m.channel}, {"action", "template"}})
        .inc();
    m.type = "template";
    m.text.clear();
    m.payload_json = dump(config_.window_template);
    queueForChannel(std::move(item));
    return;
  }
  metrics_
      .counter("waflow_outbox_window_total", "Messages outside the 24-hour window",
               {{"channel", m.channel}, {"action", "refused"}})
      .inc();
  --queued_;
  --backlog_;
  fail(std::move(item),
       fmt::format("not sent: {} {}, outside WhatsApp's 24-hour customer-service window, "
                   "where only approved templates may be sent; send a template, or set "
                   "outbox.window_template to send one automatically",
                   m.to, since),
       0);
}

Outbox::ChannelQueue* Outbox::queueOf(const std::string& channel) {
  auto it = queues_.find(channel);
  return it == queues_.end() ? nullptr : it->second.get();
}

void Outbox::queueForChannel(std::shared_ptr<Item> item) {
  ChannelQueue* q = queueOf(item->m.channel);
  if (q == nullptr) {
    --queued_;
    --backlog_;
    std::string known;
    for (const auto& [id, _] : queues_) {
      known += (known.empty() ? "" : ", ") + id;
    }
    fail(item,
         fmt::format("no channel '{}' is configured (configured: {}); the message cannot be sent",
                     item->m.channel, known.empty() ? "none" : known),
         0);
    return;
  }
  q->ready.push_back(std::move(item));
  pump(*q);
}

void Outbox::pump(ChannelQueue& q) {
  while (!q.ready.empty() && q.in_flight < kMaxInFlightPerChannel) {
    const auto now = Clock::now();
    std::shared_ptr<Item> item = q.ready.front();
    if (config_.recipient_burst > 0 && !item->paced) {
      auto [it, _] = recipients_.try_emplace(
          item->m.channel + '\n' + item->m.to,
          1000.0 / static_cast<double>(std::max<int64_t>(1, config_.recipient_interval.count())),
          static_cast<double>(config_.recipient_burst));
      auto wait = it->second.take(now);
      if (wait > Clock::duration::zero()) {
        // Paced: this conversation waits, the others go on.
        q.ready.pop_front();
        item->delayed = true;
        auto timer = std::make_shared<boost::asio::steady_timer>(io_, wait);
        timer->async_wait(boost::asio::bind_executor(
            strand_, [this, item, timer](const boost::system::error_code&) {
              item->delayed = false;
              if (released_) {
                release(item);
                return;
              }
              if (ChannelQueue* again = queueOf(item->m.channel)) {
                again->ready.push_back(item);
                pump(*again);
              }
            }));
        continue;
      }
      item->paced = true;
    }
    auto wait = q.bucket.take(now);
    if (wait > Clock::duration::zero()) {
      if (!q.timer_armed) {
        q.timer_armed = true;
        q.timer.expires_after(wait);
        q.timer.async_wait(
            boost::asio::bind_executor(strand_, [this, &q](const boost::system::error_code&) {
              q.timer_armed = false;
              if (!released_) {
                pump(q);
              }
            }));
      }
      return;
    }
    q.ready.pop_front();
    item->paced = false;
    --queued_;
    ++in_flight_;
    ++q.in_flight;
    send(std::move(item));
  }
  if (recipients_.size() > 10000) {
    const auto now = Clock::now();
    for (auto it = recipients_.begin(); it != recipients_.end();) {
      it = it->second.idle(now) ? recipients_.erase(it) : std::next(it);
    }
  }
}

void Outbox::send(std::shared_ptr<Item> item) {
  ChannelQueue* q = queueOf(item->m.channel);
  ++item->attempts;
  waflow::OutboundMessage out;
  out.id = item->m.id;
  out.to = item->m.to;
  out.type = item->m.type;
  out.text = item->m.text;
  out.reply_to = item->m.reply_to;
  out.payload_json = item->m.payload_json;
  log::RequestScope scope(item->m.request_id);
  q->instance->send(out, [this, item](plugin::CallOutcome outcome) {
    boost::asio::post(strand_, [this, item, outcome = std::move(outcome)]() mutable {
      onSendResult(item, std::move(outcome));
    });
  });
}

void Outbox::onSendResult(std::shared_ptr<Item> item, plugin::CallOutcome outcome) {
  --in_flight_;
  --backlog_;
  log::RequestScope scope(item->m.request_id);
  ChannelQueue* q = queueOf(item->m.channel);
  if (q->in_flight-- == kMaxInFlightPerChannel && !q->ready.empty()) {
    boost::asio::post(strand_, [this, q] { pump(*q); });  // room for the next one
  }
  if (outcome.ok()) {
    q->sent->inc();
    Json mark = {{"id", item->m.id}, {"provider_message_id", outcome.value}};
    sent_marks_.submit(dump(mark), [this, id = item->m.id](const plugin::CallOutcome& o,
                                                           const Json*, std::size_t index) {
      if (index == 0) {
        // The conversation's next message is claimable once this commit is in.
        boost::asio::post(strand_, [this] {
          if (pending_hint_ > 0) {
            requestClaim();
          }
        });
      }
      if (!o.ok()) {
        // The row stays "sending": after its lease it is in doubt, and the
        // provider's status settles it without a second send.
        log::get("outbox")->warn("recording message {} as sent failed: {}", id, o.error);
      }
    });
    log::get("outbox")->debug("sent {} to {} ({})", item->m.id, item->m.to, outcome.value);
    publishOutcome(*item, true, outcome.value, 0);
    return;
  }
  const int32_t code = outcome.provider_error_code;
  if (code == kReEngagement && !config_.window_template.is_null() && item->m.type != "template") {
    // The provider says the window is closed even though we thought it open.
    window_.close(item->m.channel, item->m.to);
    log::get("outbox")->info(
        "{}: the provider reports the 24-hour window closed; sending the "
        "window template instead",
        item->m.to);
    item->m.type = "template";
    item->m.text.clear();
    item->m.payload_json = dump(config_.window_template);
    ++queued_;
    ++backlog_;
    q->ready.push_front(item);
    pump(*q);
    return;
  }
  if (outcome.rc == waflow::Rc::kInDoubt) {
    // Sending it again now could deliver it twice: only a status, or its absence after the
    // grace period, tells.
    holdInDoubt(item, outcome.error);
    return;
  }
  const bool transient = outcome.rc == waflow::Rc::kRetry || outcome.rc == waflow::Rc::kBusy ||
                         outcome.rc == waflow::Rc::kAuth;
  if (!transient) {
    fail(item, outcome.error, code);
    return;
  }
  if (item->attempts >= config_.max_attempts) {
    fail(item,
         fmt::format("gave up after {} attempts; last error: {}", item->attempts, outcome.error),
         code);
    return;
  }
  auto delay = outcome.retry_after.count() > 0 ? outcome.retry_after : backoff(item->attempts);
  if (outcome.rc == waflow::Rc::kAuth) {
    delay = std::max(delay, std::chrono::milliseconds(60000));  // until the token is fixed
  }
  delay = std::min(delay, config_.retry_max);
  const auto until = Clock::now() + delay;
  if (code == kPairRateLimit) {
    auto [it, _] = recipients_.try_emplace(
        item->m.channel + '\n' + item->m.to,
        1000.0 / static_cast<double>(std::max<int64_t>(1, config_.recipient_interval.count())),
        static_cast<double>(std::max(1, config_.recipient_burst)));
    it->second.pauseUntil(until);
  } else if (isThroughputLimit(code)) {
    q->bucket.pauseUntil(until);
  }
  q->retries->inc();
  log::get("outbox")->info("sending {} to {} failed ({}); attempt {} of {} in {} ms", item->m.id,
                           item->m.to, outcome.error, item->attempts + 1, config_.max_attempts,
                           delay.count());
  retryLater(item, delay, outcome.error);
}

void Outbox::retryLater(std::shared_ptr<Item> item, std::chrono::milliseconds delay,
                        const std::string& error) {
  ++pending_hint_;
  Json in = {{"id", item->m.id}, {"not_before", nowMs() + delay.count()}, {"error", error}};
  storage_.execute(storage::kOutboxRetry, dump(in), [this, item, delay](plugin::CallOutcome o) {
    if (!o.ok()) {
      log::get("outbox")->warn(
          "recording the retry of {} failed ({}); it is retried after its "
          "lease runs out",
          item->m.id, o.error);
      return;
    }
    boost::asio::post(strand_, [this, delay] { scheduleTick(delay); });
  });
}

void Outbox::fail(std::shared_ptr<Item> item, const std::string& reason, int32_t code) {
  log::RequestScope scope(item->m.request_id);
  log::get("outbox")->error("message {} to {} failed: {}", item->m.id, item->m.to, reason);
  if (ChannelQueue* q = queueOf(item->m.channel)) {
    q->failed->inc();
  }
  Json in = {{"id", item->m.id},
             {"error", code != 0 ? fmt::format("({}) {}", code, reason) : reason},
             {"now", nowMs()}};
  storage_.execute(
      storage::kOutboxFailed, dump(in), [this, id = item->m.id](plugin::CallOutcome o) {
        if (!o.ok()) {
          log::get("outbox")->warn("recording message {} as failed did not work: {}", id, o.error);
        }
        requestClaim();  // the conversation's next message may go now
      });
  publishOutcome(*item, false, reason, code);
}

void Outbox::publishOutcome(const Item& item, bool sent, const std::string& detail, int32_t code) {
  Json p = {{"id", item.m.id},     {"channel", item.m.channel},
            {"to", item.m.to},     {"conversation", item.m.conversation},
            {"type", item.m.type}, {"attempts", item.attempts}};
  if (sent) {
    p["provider_message_id"] = detail;
  } else {
    p["error"] = detail;
    p["error_code"] = code;
  }
  bus::Event ev;
  ev.type = sent ? kMessageSent : kMessageFailed;
  ev.payload = dump(p);
  ev.request_id = item.m.request_id;
  bus_.tryPublish(std::move(ev));
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
  storage_.execute(storage::kOutboxClaim, dump(in), [this, limit](plugin::CallOutcome o) {
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
      if (n == 0 && queued_ == 0 && in_flight_ == 0) {
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

// ---- crash recovery -----------------------------------------------------------------------

void Outbox::start() {
  // Settle our stale leases before anything new is claimed under our name:
  // recover() would otherwise take this run's fresh claims for the last run's.
  std::promise<void> recovered;
  auto recovered_future = recovered.get_future();
  recoverInDoubt(true, [&recovered] { recovered.set_value(); });
  if (recovered_future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    log::get("outbox")->warn(
        "storage did not answer outbox.recover within 30 s; sends "
        "interrupted by the last stop are settled when it does");
  }
  started_ = true;
  boost::asio::post(strand_, [this] { scheduleTick(std::chrono::milliseconds(0)); });
}

void Outbox::recoverInDoubt(bool at_start, std::function<void()> done) {
  Json in = {{"now", nowMs()}};
  if (at_start) {
    in["owner"] = owner_;  // a new incarnation: every lease held under our name is stale
  }
  storage_.execute(storage::kOutboxRecover, dump(in), [this, done](plugin::CallOutcome o) {
    struct Finally {
      std::function<void()> f;
      ~Finally() {
        if (f) {
          f();
        }
      }
    } finally{done};
    if (!o.ok()) {
      log::get("outbox")->error("looking for sends interrupted by the last stop failed: {}",
                                o.error);
      return;
    }
    Json out = Json::parse(o.value, nullptr, false);
    std::vector<std::string> ids;
    if (out.is_object() && out.contains("in_doubt") && out["in_doubt"].is_array()) {
      for (const Json& row : out["in_doubt"]) {
        ids.push_back(str(row, "id"));
      }
    }
    if (ids.empty()) {
      return;
    }
    inDoubtCounter().inc(ids.size());
    log::get("outbox")->warn(
        "{} send(s) were interrupted and may or may not have reached the provider; waiting "
        "{} ms for their status webhooks, then {}",
        ids.size(), config_.in_doubt_grace.count(),
        config_.resend_in_doubt ? "sending again those without one"
                                : "marking failed those without one");
    settleInDoubtLater(std::move(ids), "interrupted by a restart");
  });
}

metrics::Counter& Outbox::inDoubtCounter() {
  return metrics_.counter(
      "waflow_outbox_in_doubt_total",
      "Sends whose outcome was unknown (interrupted by a crash, or no answer after the request "
      "went out), held until a status settles them");
}

void Outbox::holdInDoubt(std::shared_ptr<Item> item, const std::string& error) {
  Json in = {{"id", item->m.id}, {"error", error}, {"now", nowMs()}};
  storage_.execute(storage::kOutboxInDoubt, dump(in), [this, item, error](plugin::CallOutcome o) {
    log::RequestScope scope(item->m.request_id);
    if (!o.ok()) {
      // It stays `sending`: when its lease runs out, recovery holds it in doubt all the same.
      log::get("outbox")->warn("recording message {} as in doubt failed: {}", item->m.id, o.error);
      return;
    }
    Json out = Json::parse(o.value, nullptr, false);
    if (!out.is_object() || !out.value("changed", false)) {
      // A status settled it while the answer was awaited: it did arrive.
      log::get("outbox")->info("sending {} to {}: {}; a status had already shown it arrived",
                               item->m.id, item->m.to, error);
      requestClaim();
      return;
    }
    inDoubtCounter().inc();
    log::get("outbox")->warn("sending {} to {}: {}; waiting {} ms for a status before {}",
                             item->m.id, item->m.to, error, config_.in_doubt_grace.count(),
                             config_.resend_in_doubt ? "sending it again" : "marking it failed");
    settleInDoubtLater({item->m.id}, "its send got no answer");
  });
}

void Outbox::settleInDoubtLater(std::vector<std::string> ids, std::string cause) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, config_.in_doubt_grace);
  timer->async_wait([this, timer, ids = std::move(ids),
                     cause = std::move(cause)](const boost::system::error_code& ec) {
    if (!ec) {
      settleInDoubt(ids, cause);
    }
  });
}

void Outbox::settleInDoubt(std::vector<std::string> ids, const std::string& cause) {
  for (const std::string& id : ids) {
    storage_.execute(
        storage::kOutboxGet, dump(Json{{"id", id}}), [this, id, cause](plugin::CallOutcome o) {
          Json out = o.ok() ? Json::parse(o.value, nullptr, false) : Json();
          if (!out.is_object() || !out.contains("message") || !out["message"].is_object()) {
            log::get("outbox")->warn("message {} in doubt could not be read back: {}", id,
                                     o.ok() ? "not found" : o.error);
            return;
          }
          const Json& row = out["message"];
          const std::string state = str(row, "state");
          if (state != "in_doubt") {
            log::get("outbox")->info("message {} in doubt is settled: {} (a status arrived)", id,
                                     state);
            requestClaim();
            return;
          }
          const int64_t attempts = row.value("attempts", int64_t{0});
          if (config_.resend_in_doubt && attempts < config_.max_attempts) {
            log::get("outbox")->warn("message {} to {}: {} and no status arrived; sending it again",
                                     id, str(row, "to"), cause);
            Json in = {{"id", id},
                       {"not_before", nowMs()},
                       {"error", cause + "; no status from the provider"}};
            storage_.execute(storage::kOutboxRetry, dump(in), [this](plugin::CallOutcome) {
              boost::asio::post(strand_, [this] {
                ++pending_hint_;
                requestClaim();
              });
            });
            return;
          }
          auto item = itemFromRow(row);
          if (item) {
            fail(item,
                 config_.resend_in_doubt
                     ? fmt::format("gave up after {} attempts; the last one: {} and no status "
                                   "showed it arrived",
                                   attempts, cause)
                     : cause +
                           " and no status from the provider showed it arrived "
                           "(outbox.in_doubt: fail)",
                 0);
          }
        });
  }
}

// ---- statuses -----------------------------------------------------------------------------

void Outbox::onStatuses(const std::string& channel,
                        const std::vector<waflow::StatusUpdate>& statuses,
                        const std::vector<std::string>& outbox_ids) {
  for (std::size_t i = 0; i < statuses.size() && i < outbox_ids.size(); ++i) {
    const waflow::StatusUpdate& s = statuses[i];
    if (s.status != "failed" || outbox_ids[i].empty()) {
      continue;
    }
    const std::string& id = outbox_ids[i];
    log::get("outbox")->error("message {} to {} failed after it was sent: ({}) {}", id, s.recipient,
                              s.error_code, s.error_message);
    if (ChannelQueue* q = queueOf(channel)) {
      q->failed->inc();
    }
    Json p = {{"id", id},
              {"channel", channel},
              {"to", s.recipient},
              {"provider_message_id", s.message_id},
              {"error", s.error_message},
              {"error_code", s.error_code},
              {"reported_by", "status"}};
    bus::Event ev;
    ev.type = kMessageFailed;
    ev.payload = dump(p);
    bus_.tryPublish(std::move(ev));
    if (s.error_code == kReEngagement && !config_.window_template.is_null()) {
      window_.close(channel, s.recipient);
      sendWindowTemplate(id);
    }
  }
}

void Outbox::sendWindowTemplate(const std::string& outbox_id) {
  const std::string suffix = ":window-template";
  if (outbox_id.size() >= suffix.size() &&
      outbox_id.compare(outbox_id.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return;
  }
  storage_.execute(storage::kOutboxGet, dump(Json{{"id", outbox_id}}),
                   [this, outbox_id, suffix](plugin::CallOutcome o) {
                     Json out = o.ok() ? Json::parse(o.value, nullptr, false) : Json();
                     if (!out.is_object() || !out["message"].is_object()) {
                       return;
                     }
                     auto item = itemFromRow(out["message"]);
                     if (!item) {
                       return;
                     }
                     Message m = item->m;
                     m.id = outbox_id + suffix;
                     m.type = "template";
                     m.text.clear();
                     m.payload_json = dump(config_.window_template);
                     enqueue(std::move(m), [](bool) {});
                   });
}

// ---- stop ---------------------------------------------------------------------------------

void Outbox::release(std::shared_ptr<Item> item) {
  --queued_;
  --backlog_;
  Json in = {{"id", item->m.id}, {"not_before", 0}, {"error", "the daemon stopped first"}};
  storage_.execute(storage::kOutboxRetry, dump(in), [](plugin::CallOutcome) {});
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
  std::promise<void> released;
  auto released_future = released.get_future();
  boost::asio::post(strand_, [this, &released] {
    released_ = true;
    std::size_t n = 0;
    for (auto& [id, q] : queues_) {
      (void)id;
      q->timer.cancel();
      for (auto& item : q->ready) {
        release(item);
        ++n;
      }
      q->ready.clear();
    }
    if (n > 0) {
      log::get("outbox")->info("{} queued message(s) will be sent after the next start", n);
    }
    released.set_value();
  });
  released_future.wait_for(std::chrono::seconds(5));
  adds_.waitIdle(std::chrono::seconds(10));
  sent_marks_.waitIdle(std::chrono::seconds(10));
}

}  // namespace waflow::core::app
