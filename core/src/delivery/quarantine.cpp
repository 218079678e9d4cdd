#include "delivery/quarantine.h"

#include "delivery/events.h"
#include "log/log.h"
#include "storage/storage_client.h"

#include <waflow/sdk/storage.hpp>

#include <fmt/format.h>

#include <future>
#include <memory>

namespace waflow::core::delivery {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kAttemptBatch = 1000;

std::string reasonFor(int max_attempts) {
  return fmt::format(
      "its handling began {} time(s) and never finished: each time the daemon stopped before it "
      "did (a crash, a kill, or a shutdown that had to be cut short)",
      max_attempts);
}

Json keyOf(const Json& m) {
  return {{"channel", m.value("channel", "")}, {"id", m.value("id", "")}};
}

}  // namespace

Quarantine::Quarantine(storage::StorageClient& storage, bus::EventBus& bus,
                       metrics::Registry& metrics, int max_attempts)
    : storage_(storage), bus_(bus), metrics_(metrics), max_attempts_(max_attempts) {}

std::vector<Json> Quarantine::admit(std::vector<Json> stored, std::chrono::milliseconds timeout) {
  std::vector<Json> admitted;
  admitted.reserve(stored.size());
  for (std::size_t start = 0; start < stored.size(); start += kAttemptBatch) {
    std::size_t end = std::min(stored.size(), start + kAttemptBatch);
    Json keys = Json::array();
    for (std::size_t i = start; i < end; ++i) {
      keys.push_back(keyOf(stored[i]));
    }
    // Shared with the callback: an answer that comes after the timeout must still find it.
    auto answer = std::make_shared<std::promise<std::pair<plugin::CallOutcome, Json>>>();
    auto future = answer->get_future();
    storage_.call(waflow::storage::kInboxAttempt,
                  {{"messages", std::move(keys)},
                   {"max_attempts", max_attempts_},
                   {"reason", reasonFor(max_attempts_)}},
                  [answer](const plugin::CallOutcome& o, Json out) {
                    answer->set_value({o, std::move(out)});
                  });
    const Json* results = nullptr;
    std::pair<plugin::CallOutcome, Json> outcome;
    if (future.wait_for(timeout) == std::future_status::ready) {
      outcome = future.get();
      if (outcome.first.ok() && outcome.second.contains("messages") &&
          outcome.second["messages"].is_array() &&
          outcome.second["messages"].size() == end - start) {
        results = &outcome.second["messages"];
      }
    }
    if (results == nullptr) {
      log::get("inbox")->warn(
          "could not count handling attempts of {} stored message(s) ({}); handling them "
          "without counting",
          end - start,
          outcome.first.error.empty() ? "storage did not answer in time" : outcome.first.error);
      for (std::size_t i = start; i < end; ++i) {
        admitted.push_back(std::move(stored[i]));
      }
      continue;
    }
    for (std::size_t i = start; i < end; ++i) {
      const Json& r = (*results)[i - start];
      std::string state = r.value("state", "");
      if (state == "pending") {
        admitted.push_back(std::move(stored[i]));
      } else if (state == "quarantined") {
        report(stored[i], r.value("attempts", int64_t{0}));
      }
    }
  }
  return admitted;
}

void Quarantine::report(const Json& message, int64_t attempts) {
  const std::string channel = message.value("channel", "");
  const std::string id = message.value("id", "");
  const std::string contact = message.value("contact", "");
  log::get("inbox")->error(
      "message {} from {} on channel '{}' is quarantined: {}. Other messages go on. List it with "
      "GET /api/quarantine; after a fix, POST /api/quarantine/retry hands it to the flows again",
      id, contact, channel, reasonFor(max_attempts_));
  metrics_
      .counter("waflow_messages_quarantined_total",
               "Messages set aside after their handling kept ending the daemon",
               {{"channel", channel}})
      .inc();
  Json payload = {{"channel", channel},
                  {"contact", contact},
                  {"id", id},
                  {"attempts", attempts},
                  {"reason", reasonFor(max_attempts_)},
                  {"message", message.value("event", Json::object())}};
  bus::Event ev;
  ev.type = kMessageQuarantined;
  ev.conversation = message.value("conversation", "");
  ev.payload = payload.dump(-1, ' ', false, Json::error_handler_t::replace);
  ev.request_id = log::newRequestId();
  bus_.tryPublish(std::move(ev));
}

void Quarantine::list(int limit, int64_t after_seq, ListDone done) {
  storage_.call(waflow::storage::kInboxQuarantined, {{"limit", limit}, {"after_seq", after_seq}},
                std::move(done));
}

void Quarantine::release(const std::string& channel, const std::string& id, ReleaseDone done) {
  storage_.call(
      waflow::storage::kInboxRelease, {{"messages", {{{"channel", channel}, {"id", id}}}}},
      [done = std::move(done)](const plugin::CallOutcome& o, Json out) {
        if (!o.ok()) {
          done(false, o.error);
          return;
        }
        const Json& flags = out.is_object() ? out.value("released", Json::array()) : Json::array();
        done(flags.size() == 1 && flags[0].is_boolean() && flags[0].get<bool>(), "");
      });
}

}  // namespace waflow::core::delivery
