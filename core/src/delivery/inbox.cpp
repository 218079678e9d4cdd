#include "delivery/inbox.h"

#include "delivery/events.h"
#include "delivery/outbox.h"
#include "json/bounded_parse.h"
#include "log/log.h"

#include <waflow/sdk/storage.hpp>

#include <boost/asio/post.hpp>

#include <nlohmann/json.hpp>

#include <future>
#include <memory>

#include <fmt/format.h>

namespace waflow::core::delivery {
namespace {

using Json = nlohmann::json;

constexpr std::chrono::milliseconds kReplayInterval{500};
constexpr int kReplayBatch = 1000;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One inbox.put item, assembled as text so the event payload (already JSON) is
// spliced in without a parse.
std::string inboxPutItem(const bus::Event& event, int64_t now) {
  const ReceivedMessage& r = *receivedMessage(event);
  const waflow::InboundMessage& m = r.message;
  std::string in = "{";
  in.reserve(256 + event.payload.size() + event.payload.size() / 8);
  appendField(in, "channel", r.channel);
  appendField(in, "id", m.id);
  appendField(in, "contact", senderContact(m));
  appendField(in, "contact_name", m.contact_name);
  // Both of the sender's identifiers: storage keeps them on the contact and finds the contact
  // the sender was first known as by either.
  appendField(in, "phone", m.from);
  appendField(in, "user_id", m.from_user_id);
  appendField(in, "conversation", event.conversation);
  appendField(in, "type", m.type);
  appendNumber(in, "received_at", now);
  // The event as text: storage keeps it as given, and nobody builds a DOM for it.
  in += "\"event\":";
  appendJsonString(in, event.payload);
  in += '}';
  return in;
}

// The contact inbox.put stored item `index` under ("" when the storage does not say).
std::string storedContact(const Json& output, std::size_t index) {
  auto it = output.find("contacts");
  if (it == output.end() || !it->is_array() || index >= it->size() || !(*it)[index].is_string()) {
    return {};
  }
  return (*it)[index].get<std::string>();
}

std::vector<bool> newFlags(const std::string& output, std::size_t expected) {
  Json out = Json::parse(output, nullptr, false);
  std::vector<bool> flags;
  if (out.is_object() && out.contains("new") && out["new"].is_array()) {
    for (const Json& f : out["new"]) {
      flags.push_back(f.is_boolean() && f.get<bool>());
    }
  }
  if (flags.size() != expected) {
    throw std::runtime_error(
        fmt::format("storage answered {} flags for {} items", flags.size(), expected));
  }
  return flags;
}

}  // namespace

struct Inbox::Batch {
  std::string channel;
  std::vector<bus::Event> events;  // message.received, not yet published
  std::vector<waflow::StatusUpdate> statuses;
  std::vector<std::string> keys;  // channel/id of each event
  std::function<void(bool)> done;
  std::mutex mutex;
  int remaining = 0;
  bool failed = false;
};

Inbox::Inbox(storage::StorageClient& storage, CustomerWindow& window, bus::EventBus& bus,
             metrics::Registry& metrics, boost::asio::io_context& io, int max_attempts)
    : storage_(storage),
      quarantine_(storage, bus, metrics, max_attempts),
      window_(window),
      bus_(bus),
      metrics_(metrics),
      io_(io),
      replay_timer_(io),
      put_batch_(storage, waflow::storage::kInboxPut, "messages", 1000),
      done_batch_(storage, waflow::storage::kInboxDone, "messages", 1000) {}

Inbox::~Inbox() = default;

std::string Inbox::keyOf(const std::string& channel, const std::string& id) const {
  return channel + "\n" + id;
}

void Inbox::accept(const std::string& channel, plugin::WebhookOutcome&& outcome,
                   const std::string& request_id, std::function<void(bool stored)> done) {
  auto batch = std::make_shared<Batch>();
  batch->channel = channel;
  batch->done = std::move(done);
  for (auto& m : outcome.messages) {
    batch->keys.push_back(keyOf(channel, m.id));
    batch->events.push_back(messageReceivedEvent(channel, std::move(m), request_id));
  }
  batch->statuses = std::move(outcome.statuses);
  batch->remaining = (batch->events.empty() ? 0 : 1) + (batch->statuses.empty() ? 0 : 1);
  if (batch->remaining == 0) {
    batch->done(true);
    return;
  }
  // Claimed by this request: the replay must not publish them meanwhile.
  {
    std::lock_guard lock(mutex_);
    published_.insert(batch->keys.begin(), batch->keys.end());
  }
  auto finishOne = [this, batch, request_id](bool ok) {
    bool last = false;
    {
      std::lock_guard lock(batch->mutex);
      batch->failed = batch->failed || !ok;
      last = --batch->remaining == 0;
    }
    if (!last) {
      return;
    }
    if (batch->failed) {
      std::lock_guard lock(mutex_);
      for (const auto& k : batch->keys) {
        published_.erase(k);
      }
    }
    batch->done(!batch->failed);
  };

  if (!batch->events.empty()) {
    // Each message joins the next inbox.put, shared with other webhooks: one
    // storage call (and one commit) for everything that arrived meanwhile.
    struct Puts {
      std::mutex mutex;
      std::vector<bool> fresh;
      std::vector<std::string> contacts;  // the contact storage stored each message under
      std::size_t remaining;
      std::string error;
    };
    auto puts = std::make_shared<Puts>();
    puts->fresh.assign(batch->events.size(), false);
    puts->contacts.resize(batch->events.size());
    puts->remaining = batch->events.size();
    auto stored = [this, batch, request_id, finishOne](const Puts& result) {
      log::RequestScope scope(request_id);
      if (!result.error.empty()) {
        log::get("inbox")->error("storing {} message(s) from {} failed: {}", batch->events.size(),
                                 batch->channel, result.error);
        finishOne(false);
        return;
      }
      publishNew(*batch, result.fresh, result.contacts);
      finishOne(true);
    };
    const int64_t now = nowMs();
    for (std::size_t i = 0; i < batch->events.size(); ++i) {
      put_batch_.submit(
          inboxPutItem(batch->events[i], now),
          [puts, i, stored](const plugin::CallOutcome& o, const Json* output, std::size_t index) {
            bool last = false;
            {
              std::lock_guard lock(puts->mutex);
              if (!o.ok()) {
                puts->error = o.error;
              } else if (auto it = output->find("new"); it == output->end() || !it->is_array() ||
                                                        index >= it->size() ||
                                                        !(*it)[index].is_boolean()) {
                puts->error = "storage answered inbox.put without a \"new\" flag";
              } else {
                puts->fresh[i] = (*it)[index].get<bool>();
                puts->contacts[i] = storedContact(*output, index);
              }
              last = --puts->remaining == 0;
            }
            if (last) {
              stored(*puts);
            }
          });
    }
  }

  if (!batch->statuses.empty()) {
    Json in = {{"statuses", Json::array()}};
    for (const auto& s : batch->statuses) {
      Json raw = json_input::parseOrDiscarded(s.raw_json);
      Json status = {{"channel", channel},
                     {"message_id", s.message_id},
                     {"status", s.status},
                     {"timestamp", s.timestamp},
                     {"error_code", s.error_code},
                     {"error_message", s.error_message},
                     {"raw", raw.is_discarded() ? Json(nullptr) : std::move(raw)}};
      // The channel echoes the outbox id (biz_opaque_callback_data): it lets a
      // status settle a send that was interrupted before its id was known.
      if (std::string outbox_id = Outbox::outboxIdOf(s); !outbox_id.empty()) {
        status["outbox_id"] = std::move(outbox_id);
      }
      in["statuses"].push_back(std::move(status));
    }
    storage_.execute(
        waflow::storage::kStatusPut, in.dump(-1, ' ', false, Json::error_handler_t::replace),
        [this, batch, request_id, finishOne](plugin::CallOutcome o) {
          log::RequestScope scope(request_id);
          if (!o.ok()) {
            log::get("inbox")->error("storing statuses failed: {}", o.error);
            finishOne(false);
            return;
          }
          std::vector<bool> fresh;
          try {
            fresh = newFlags(o.value, batch->statuses.size());
          } catch (const std::exception&) {
            fresh.assign(batch->statuses.size(), true);
          }
          std::vector<std::string> outbox_ids(batch->statuses.size());
          Json out = Json::parse(o.value, nullptr, false);
          if (out.is_object() && out.contains("outbox_ids") && out["outbox_ids"].is_array()) {
            for (std::size_t i = 0; i < outbox_ids.size() && i < out["outbox_ids"].size(); ++i) {
              if (out["outbox_ids"][i].is_string()) {
                outbox_ids[i] = out["outbox_ids"][i].get<std::string>();
              }
            }
          }
          // The outbox and the flows learn of each new status from the bus.
          for (std::size_t i = 0; i < fresh.size(); ++i) {
            if (fresh[i]) {
              bus_.tryPublish(messageStatusEvent(batch->channel, batch->statuses[i], request_id,
                                                 outbox_ids[i]));
            }
          }
          finishOne(true);
        });
  }
}

// Publishes the messages stored for the first time, each in the conversation of the contact
// storage stored it under (redeliveries are only counted).
void Inbox::publishNew(Batch& batch, const std::vector<bool>& fresh,
                       const std::vector<std::string>& contacts) {
  auto& duplicates =
      metrics_.counter("waflow_messages_duplicate_total",
                       "Redelivered messages recognised and skipped", {{"channel", batch.channel}});
  auto& received =
      metrics_.counter("waflow_messages_received_total", "Customer messages stored from channels",
                       {{"channel", batch.channel}});
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    const auto& m = receivedMessage(batch.events[i])->message;
    if (!fresh[i]) {
      duplicates.inc();
      log::get("inbox")->debug("message {} from {} was already stored; not processing it again",
                               m.id, senderContact(m));
      std::lock_guard lock(mutex_);
      published_.erase(batch.keys[i]);
      continue;
    }
    received.inc();
    const std::string contact = contacts[i].empty() ? senderContact(m) : contacts[i];
    if (contact != senderContact(m)) {
      batch.events[i].conversation = conversationKey(batch.channel, contact);
    }
    window_.note(batch.channel, contact, nowMs());
    log::get("inbox")->debug("message {} ({}) from {} on {} stored", m.id, m.type, contact,
                             batch.channel);
    if (bus_.tryPublish(std::move(batch.events[i])) != bus::EventBus::PublishResult::kAccepted) {
      // Durable but not yet queued: the replay publishes it when there is room.
      {
        std::lock_guard lock(mutex_);
        published_.erase(batch.keys[i]);
      }
      scheduleReplay();
    }
  }
}

void Inbox::attachCompletion() {
  bus_.subscribeWhenHandled(
      kMessageReceived,
      [this](const bus::Event& event) {
        std::string channel;
        std::string id;
        if (const ReceivedMessage* r = receivedMessage(event)) {
          channel = r->channel;
          id = r->message.id;
        } else {
          Json p = Json::parse(event.payload, nullptr, false);
          if (!p.is_object()) {
            return;
          }
          channel = p.value("channel", "");
          id = p.value("id", "");
        }
        markDone(channel, id);
      },
      "inbox-done");
}

// Joins the next inbox.done: under load, one write marks hundreds of messages.
void Inbox::markDone(const std::string& channel, const std::string& id) {
  std::string item = "{";
  appendField(item, "channel", channel);
  item += "\"id\":";
  appendJsonString(item, id);
  item += '}';
  done_batch_.submit(std::move(item), [this, key = keyOf(channel, id)](const plugin::CallOutcome& o,
                                                                       const Json*, std::size_t) {
    if (!o.ok()) {
      log::get("inbox")->warn(
          "marking message done failed ({}); it will be handled again "
          "after a restart",
          o.error);
    }
    std::lock_guard lock(mutex_);
    published_.erase(key);
  });
}

bool Inbox::flushDone(std::chrono::milliseconds timeout) {
  return done_batch_.waitIdle(timeout);
}

std::size_t Inbox::recover(std::chrono::milliseconds timeout) {
  // Shared with the callback: it may run after the wait below has given up.
  auto answer = std::make_shared<std::promise<plugin::CallOutcome>>();
  auto future = answer->get_future();
  storage_.execute(waflow::storage::kInboxPending, Json{{"limit", 100000}}.dump(),
                   [answer](plugin::CallOutcome o) { answer->set_value(std::move(o)); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    log::get("inbox")->error("storage did not list pending messages within {} ms", timeout.count());
    return 0;
  }
  plugin::CallOutcome o = future.get();
  if (!o.ok()) {
    log::get("inbox")->error("listing pending messages failed: {}", o.error);
    return 0;
  }
  Json out = Json::parse(o.value, nullptr, false);
  std::vector<Json> stored;
  if (out.is_object() && out.contains("messages") && out["messages"].is_array()) {
    stored = out["messages"].get<std::vector<Json>>();
  }
  std::size_t published = 0;
  for (const Json& m : quarantine_.admit(std::move(stored), timeout)) {
    Replayed r = publishStored(m);
    published += r == Replayed::kPublished ? 1 : 0;
    if (r == Replayed::kBusFull) {
      scheduleReplay();
      break;
    }
  }
  return published;
}

Inbox::Replayed Inbox::publishStored(const nlohmann::json& m) {
  std::string key = keyOf(m.value("channel", ""), m.value("id", ""));
  {
    std::lock_guard lock(mutex_);
    if (!published_.insert(key).second) {
      return Replayed::kInFlight;
    }
  }
  bus::Event ev;
  ev.type = kMessageReceived;
  ev.conversation = m.value("conversation", "");
  ev.payload =
      m.value("event", Json::object()).dump(-1, ' ', false, Json::error_handler_t::replace);
  ev.request_id = log::newRequestId();
  if (bus_.tryPublish(std::move(ev)) == bus::EventBus::PublishResult::kAccepted) {
    return Replayed::kPublished;
  }
  std::lock_guard lock(mutex_);
  published_.erase(key);
  return Replayed::kBusFull;
}

void Inbox::scheduleReplay() {
  std::lock_guard lock(mutex_);
  if (replay_scheduled_ || stopped_) {
    return;
  }
  replay_scheduled_ = true;
  replay_timer_.expires_after(kReplayInterval);
  replay_timer_.async_wait([this](const boost::system::error_code& ec) {
    {
      std::lock_guard l(mutex_);
      replay_scheduled_ = false;
    }
    if (!ec && !stopped_) {
      replay();
    }
  });
}

void Inbox::replay() {
  storage_.execute(waflow::storage::kInboxPending, Json{{"limit", kReplayBatch}}.dump(),
                   [this](plugin::CallOutcome o) {
                     if (!o.ok() || stopped_) {
                       scheduleReplay();
                       return;
                     }
                     Json out = Json::parse(o.value, nullptr, false);
                     bool full = false;
                     for (const Json& m : out.value("messages", Json::array())) {
                       if (publishStored(m) == Replayed::kBusFull) {
                         full = true;
                         break;
                       }
                     }
                     if (full) {
                       scheduleReplay();
                     }
                   });
}

void Inbox::retryQuarantined(const std::string& channel, const std::string& id,
                             Quarantine::ReleaseDone done) {
  quarantine_.release(channel, id,
                      [this, done = std::move(done)](bool released, const std::string& error) {
                        if (released && !stopped_) {
                          replay();  // publishes it, as any pending message not in flight
                        }
                        done(released, error);
                      });
}

void Inbox::stop() {
  stopped_ = true;
  boost::asio::post(io_, [this] { replay_timer_.cancel(); });
}

}  // namespace waflow::core::delivery
