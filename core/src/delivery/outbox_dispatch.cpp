// A claimed message's way through the outbox: the customer-service window check, the hand-over
// to the Sender (pacing and rate), and its answer recorded: sent, retried with backoff (pausing
// the sender on "too many"), failed, or held in doubt.
#include "delivery/outbox_internal.h"

#include "delivery/events.h"
#include "json/bounded_parse.h"
#include "log/log.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <waflow/sdk/storage.hpp>

#include <cmath>
#include <future>
#include <random>
#include <thread>

#include <fmt/format.h>

namespace waflow::core::delivery {

using namespace outbox_internal;  // NOLINT: the outbox's own helpers and limits

// ---- sending (on strand_) -----------------------------------------------------------------

void Outbox::dispatch(std::shared_ptr<Item> item) {
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
  storage_.execute(waflow::storage::kContactGet, dump(in), [this, item](plugin::CallOutcome o) {
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
  --backlog_;
  fail(std::move(item),
       fmt::format("not sent: {} {}, outside WhatsApp's 24-hour customer-service window, "
                   "where only approved templates may be sent; send a template, or set "
                   "outbox.window_template to send one automatically",
                   m.to, since),
       0);
}

void Outbox::queueForChannel(std::shared_ptr<Item> item) {
  if (sender_.submit(item)) {
    return;
  }
  --backlog_;
  fail(item,
       fmt::format("no channel '{}' is configured (configured: {}); the message cannot be sent",
                   item->m.channel, sender_.channelNames()),
       0);
}

void Outbox::onSendResult(std::shared_ptr<Item> item, plugin::CallOutcome outcome) {
  --backlog_;
  log::RequestScope scope(item->m.request_id);
  const ChannelCounters* counters = countersOf(item->m.channel);
  if (outcome.ok()) {
    counters->sent->inc();
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
    ++backlog_;
    sender_.submit(item, /*first=*/true);
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
    sender_.pauseRecipient(item->m.channel, item->m.to, until);
  } else if (isThroughputLimit(code)) {
    sender_.pauseChannel(item->m.channel, until);
  }
  counters->retries->inc();
  log::get("outbox")->info("sending {} to {} failed ({}); attempt {} of {} in {} ms", item->m.id,
                           item->m.to, outcome.error, item->attempts + 1, config_.max_attempts,
                           delay.count());
  retryLater(item, delay, outcome.error);
}

void Outbox::retryLater(std::shared_ptr<Item> item, std::chrono::milliseconds delay,
                        const std::string& error) {
  ++pending_hint_;
  Json in = {{"id", item->m.id}, {"not_before", nowMs() + delay.count()}, {"error", error}};
  storage_.execute(waflow::storage::kOutboxRetry, dump(in),
                   [this, item, delay](plugin::CallOutcome o) {
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
  if (const ChannelCounters* counters = countersOf(item->m.channel)) {
    counters->failed->inc();
  }
  Json in = {{"id", item->m.id},
             {"error", code != 0 ? fmt::format("({}) {}", code, reason) : reason},
             {"now", nowMs()}};
  storage_.execute(
      waflow::storage::kOutboxFailed, dump(in), [this, id = item->m.id](plugin::CallOutcome o) {
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

}  // namespace waflow::core::delivery
