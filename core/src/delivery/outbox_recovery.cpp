// Sends in doubt (interrupted by a stop or with no answer from the provider), settled by the
// provider's statuses or, after a grace period, by the configured policy; and the statuses
// themselves.
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

// ---- crash recovery -----------------------------------------------------------------------

void Outbox::recoverInDoubt(bool at_start, std::function<void()> done) {
  Json in = {{"now", nowMs()}};
  if (at_start) {
    in["owner"] = owner_;  // a new incarnation: every lease held under our name is stale
  }
  storage_.execute(waflow::storage::kOutboxRecover, dump(in), [this, done](plugin::CallOutcome o) {
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
  storage_.execute(
      waflow::storage::kOutboxInDoubt, dump(in), [this, item, error](plugin::CallOutcome o) {
        log::RequestScope scope(item->m.request_id);
        if (!o.ok()) {
          // It stays `sending`: when its lease runs out, recovery holds it in doubt all the same.
          log::get("outbox")->warn("recording message {} as in doubt failed: {}", item->m.id,
                                   o.error);
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
        log::get("outbox")->warn(
            "sending {} to {}: {}; waiting {} ms for a status before {}", item->m.id, item->m.to,
            error, config_.in_doubt_grace.count(),
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
        waflow::storage::kOutboxGet, dump(Json{{"id", id}}),
        [this, id, cause](plugin::CallOutcome o) {
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
            storage_.execute(waflow::storage::kOutboxRetry, dump(in), [this](plugin::CallOutcome) {
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

void Outbox::attach() {
  bus_.subscribe(
      kMessageStatus,
      [this](const bus::Event& event) {
        if (const StatusReport* report = statusReport(event)) {
          onStatus(*report);
        }
      },
      "outbox-statuses");
}

void Outbox::onStatus(const StatusReport& report) {
  const waflow::StatusUpdate& s = report.status;
  const std::string& channel = report.channel;
  const std::string& id = report.outbox_id;
  if (s.status != "failed" || id.empty()) {
    return;
  }
  log::get("outbox")->error("message {} to {} failed after it was sent: ({}) {}", id, s.recipient,
                            s.error_code, s.error_message);
  if (const ChannelCounters* counters = countersOf(channel)) {
    counters->failed->inc();
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

void Outbox::sendWindowTemplate(const std::string& outbox_id) {
  const std::string suffix = ":window-template";
  if (outbox_id.size() >= suffix.size() &&
      outbox_id.compare(outbox_id.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return;
  }
  storage_.execute(waflow::storage::kOutboxGet, dump(Json{{"id", outbox_id}}),
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

}  // namespace waflow::core::delivery
