#include "engine/flow_engine.h"

#include "delivery/events.h"
#include "engine/flow_engine_impl.h"
#include "json/bounded_parse.h"
#include "log/log.h"
#include "storage/storage_client.h"
#include "text/utf8.h"
#include "time/time_zone.h"

#include <waflow/sdk/storage.hpp>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <climits>

namespace waflow::core::engine {
namespace {

// The message as the event carries it: id, from, from_user_id, type, text, media, reply_id,
// reply_title, channel, timestamp.
Json messageFields(const bus::Event& event) {
  Json m = Json::object();
  if (const delivery::ReceivedMessage* received = delivery::receivedMessage(event)) {
    const waflow::InboundMessage& in = received->message;
    m = {{"id", in.id},
         {"from", in.from},
         {"from_user_id", in.from_user_id},
         {"type", in.type},
         {"text", in.text},
         {"channel", received->channel},
         {"timestamp", in.timestamp},
         {"name", in.contact_name}};
    if (!in.reply_id.empty()) {
      m["reply_id"] = in.reply_id;
      m["reply_title"] = in.text;
    }
    if (!in.context_id.empty()) {
      m["context_id"] = in.context_id;
    }
    static const std::set<std::string> kMedia = {"image", "audio", "video", "document", "sticker"};
    if (kMedia.count(in.type) != 0 && !in.raw_json.empty()) {
      Json raw = json_input::parseOrDiscarded(in.raw_json);
      if (raw.is_object() && raw.contains(in.type)) {
        m["media"] = raw[in.type];
      }
    }
    return m;
  }
  Json payload = Json::parse(event.payload, nullptr, false);
  if (!payload.is_object()) {
    return m;
  }
  for (const char* key : {"id", "from", "from_user_id", "type", "text", "channel", "reply_id",
                          "reply_title", "timestamp", "media", "name"}) {
    if (auto it = payload.find(key); it != payload.end()) {
      m[key] = *it;
    }
  }
  return m;
}

// The message as rules see it (docs/lua.md): id, from, from_user_id, type, text, media,
// reply_id, reply_title, channel, timestamp. The text is cut to `max_text` characters
// (flows.max_rule_text): everything a flow does with it — regexes, keywords, Lua, answer
// checks — then costs at most that much, whatever a customer sends.
Json messageJson(const bus::Event& event, size_t max_text) {
  Json m = messageFields(event);
  for (const char* key : {"text", "reply_title"}) {
    if (auto it = m.find(key); it != m.end() && it->is_string()) {
      const std::string& whole = it->get_ref<const std::string&>();
      if (const std::string_view cut = text::firstChars(whole, max_text);
          cut.size() < whole.size()) {
        *it = std::string(cut);
      }
    }
  }
  return m;
}

// contact.phone and contact.user_id from the stored contact. A contact known only by its
// business-scoped user id has no phone (nil in Lua); one stored before storage kept the phone
// keeps its key as the phone, as before.
void readIdentifiers(const Json& stored, const std::string& key, Json& contact) {
  const std::string phone = jsonString(stored, "phone");
  const std::string user_id = jsonString(stored, "user_id");
  if (!phone.empty()) {
    contact["phone"] = phone;
  } else if (!user_id.empty() && user_id == key) {
    contact["phone"] = nullptr;
  }
  contact["user_id"] = user_id.empty() ? Json(nullptr) : Json(user_id);
}

}  // namespace

std::shared_ptr<spdlog::logger> flowLogger() {
  return log::get("flows");
}

std::function<void()> shareDone(bus::Done done) {
  auto shared = std::make_shared<bus::Done>(std::move(done));
  return [shared] { (*shared)(); };
}

std::string stepWhere(const flow::Flow& f, const flow::Step* step, size_t index) {
  if (step == nullptr) {
    return fmt::format("flow '{}' ({})", f.id, f.file);
  }
  return fmt::format("flow '{}' step {} ({}:{}:{})", f.id, step->label(index), f.file,
                     step->pos.line, step->pos.column);
}

std::string jsonString(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::pair<std::string, std::string> splitConversationKey(const std::string& key) {
  size_t colon = key.find(':');
  if (colon == std::string::npos) {
    return {"", ""};
  }
  return {key.substr(0, colon), key.substr(colon + 1)};
}

bool runsInHandoff(const flow::Flow& f) {
  for (const auto& c : f.conditions) {
    if (const auto* conv = std::get_if<flow::ConversationCondition>(&c.spec)) {
      if (conv->in_handoff && *conv->in_handoff) {
        return true;
      }
    }
  }
  return false;
}

int64_t flowNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

FlowEngine::Impl::Impl(const config::Config& config, Services services)
    : config_(config),
      services_(std::move(services)),
      scheduler_(services_.storage, services_.io, services_.owner),
      watch_timer_(services_.io),
      usage_timer_(services_.io) {
  lua_options_.limits.time_budget = config_.flows.lua_time_budget;
  lua_options_.limits.memory_limit = config_.flows.lua_memory_limit;
  lua_options_.default_time_zone = config_.flows.time_zone;
  lua_options_.log = [](const lua::LogLine& line) {
    log::get("lua")->info("{}:{}: [{}] {}", line.file, line.line, line.rule, line.text);
  };
  auto& m = services_.metrics;
  runs_started_ = &m.counter("waflow_flow_runs_total", "Flow runs started");
  runs_failed_ =
      &m.counter("waflow_flow_step_failures_total", "Flow steps that failed (after their retries)");
  messages_unhandled_ =
      &m.counter("waflow_flow_unhandled_total", "Messages no flow took and no auto-reply answered");
}

std::shared_ptr<const FlowSet> FlowEngine::Impl::current() const {
  std::lock_guard lock(set_mutex_);
  return set_;
}

FlowLua& FlowEngine::Impl::lua(const std::shared_ptr<const FlowSet>& set) const {
  return FlowLua::forThread(set, lua_options_);
}

// ---- conversations and contacts ---------------------------------------------------------

void FlowEngine::Impl::withEntry(const std::string& channel, const std::string& contact,
                                 std::function<void(std::shared_ptr<ConversationEntry>)> use) {
  std::string key = delivery::conversationKey(channel, contact);
  {
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      auto entry = it->second;
      use(std::move(entry));
      return;
    }
  }
  auto entry = std::make_shared<ConversationEntry>();
  entry->key = key;
  entry->channel = channel;
  entry->contact = contact;
  entry->contact_json = {{"id", contact},
                         {"phone", contact},
                         {"name", nullptr},  // nil in Lua: `contact.name or 'Kak'` works
                         {"attributes", Json::object()},
                         {"tags", Json::array()}};
  // Two reads, joined: whichever finishes second hands the entry on.
  struct Join {
    std::atomic<int> left{2};
    std::function<void(std::shared_ptr<ConversationEntry>)> use;
  };
  auto join = std::make_shared<Join>();
  join->use = std::move(use);
  auto finish = [this, join, entry] {
    if (join->left.fetch_sub(1) != 1) {
      return;
    }
    std::shared_ptr<ConversationEntry> shared;
    {
      std::lock_guard lock(cache_mutex_);
      if (config_.flows.cache_contacts > 0 && cache_.size() >= config_.flows.cache_contacts) {
        cache_.clear();  // storage is the record; a full cache starts over
      }
      shared = cache_.emplace(entry->key, entry).first->second;
    }
    join->use(std::move(shared));
  };
  Json who = {{"channel", channel}, {"contact", contact}};
  services_.storage.call(
      waflow::storage::kContactGet, who,
      [entry, finish](const plugin::CallOutcome& o, const Json& out) {
        if (!o.ok()) {
          flowLogger()->error("contact.get for {} failed: {}", entry->key, o.error);
        } else if (out.contains("contact") && out["contact"].is_object()) {
          const Json& c = out["contact"];
          if (std::string name = c.value("name", ""); !name.empty()) {
            entry->contact_json["name"] = std::move(name);
          }
          entry->contact_json["attributes"] = c.value("attributes", Json::object());
          entry->contact_json["tags"] = c.value("tags", Json::array());
          entry->contact_json["last_inbound_at"] = c.value("last_inbound_at", int64_t{0});
          entry->first_message_id = c.value("first_message_id", "");
          readIdentifiers(c, entry->contact, entry->contact_json);
        }
        finish();
      });
  services_.storage.call(waflow::storage::kConversationGet, who,
                         [entry, finish](const plugin::CallOutcome& o, const Json& out) {
                           if (!o.ok()) {
                             flowLogger()->error("conversation.get for {} failed: {}", entry->key,
                                                 o.error);
                           } else if (out.contains("state") && out["state"].is_object()) {
                             entry->state = ConversationState::fromJson(out["state"]);
                             entry->stored = true;
                           }
                           finish();
                         });
}

void FlowEngine::Impl::saveState(const std::shared_ptr<ConversationEntry>& entry,
                                 std::function<void()> then) {
  entry->dirty = false;
  Json state = entry->state.toJson();
  if (state.empty() && !entry->stored) {
    then();
    return;
  }
  Json in = {{"channel", entry->channel},
             {"contact", entry->contact},
             {"state", state},
             {"waits", entry->state.waits()}};
  bool now_stored = !state.empty();
  services_.storage.call(
      waflow::storage::kConversationPut, in,
      [entry, now_stored, then = std::move(then)](const plugin::CallOutcome& o, const Json&) {
        if (o.ok()) {
          entry->stored = now_stored;
        } else {
          flowLogger()->error(
              "the flow state of {} could not be stored ({}); a run waiting there may "
              "not continue after a restart",
              entry->key, o.error);
        }
        then();
      });
}

void FlowEngine::Impl::updateContact(const std::shared_ptr<ConversationEntry>& entry,
                                     const Json& set, const std::vector<std::string>& add,
                                     const std::vector<std::string>& remove,
                                     std::function<void(bool, std::string)> done) {
  Json in = {{"channel", entry->channel}, {"contact", entry->contact}};
  if (!set.empty()) {
    in["set"] = set;
  }
  if (!add.empty()) {
    in["tags_add"] = add;
  }
  if (!remove.empty()) {
    in["tags_remove"] = remove;
  }
  services_.storage.call(
      waflow::storage::kContactUpdate, in,
      [entry, done = std::move(done)](const plugin::CallOutcome& o, const Json& out) {
        if (!o.ok()) {
          done(false, "contact.update failed: " + o.error);
          return;
        }
        if (out.contains("contact") && out["contact"].is_object()) {
          const Json& c = out["contact"];
          entry->contact_json["attributes"] = c.value("attributes", Json::object());
          entry->contact_json["tags"] = c.value("tags", Json::array());
        }
        done(true, {});
      });
}

Json FlowEngine::Impl::conversationJson(const ConversationEntry* entry) const {
  if (entry == nullptr) {
    return {{"in_handoff", false}, {"in_flow", false}};
  }
  const ConversationState& s = entry->state;
  Json c = {{"in_handoff", s.handoff},
            {"in_flow", !s.runs.empty()},
            {"channel", entry->channel},
            {"contact", entry->contact}};
  if (!s.runs.empty()) {
    c["flow"] = s.runs.front().flow;
    c["waiting"] = s.runs.front().waiting;
  }
  if (s.handoff && !s.handoff_team.empty()) {
    c["team"] = s.handoff_team;
  }
  return c;
}

// ---- events --------------------------------------------------------------------------------

void FlowEngine::Impl::onMessage(const bus::Event& event, delivery::InboundNext rest,
                                 std::function<void()> done) {
  Json message = messageJson(event, config_.flows.max_rule_text);
  std::string channel = jsonString(message, "channel");
  std::string sender = jsonString(message, "from");
  if (sender.empty()) {
    sender = jsonString(message, "from_user_id");  // a customer without a phone number
  }
  // The inbox may have stored the message under the contact its sender was first known as.
  std::string contact = delivery::eventContact(event, channel, sender);
  auto finished = std::move(done);
  auto set = current();
  if (rest && (set->flows.empty() || contact.empty())) {
    // No flows: the rest of the chain (the auto-reply). No sender: no flow can answer; it says
    // why.
    rest(event, std::move(finished));
    return;
  }
  if (contact.empty() || channel.empty()) {
    const std::string id = jsonString(message, "id");
    const std::string why =
        contact.empty() ? delivery::kNoSenderError : "the message names no channel";
    flowLogger()->warn("message {} on {} not answered: {}", id, channel, why);
    services_.bus.tryPublish(
        delivery::replyFailedEvent(channel, "", "", id, why, event.request_id));
    messages_unhandled_->inc();
    finished();
    return;
  }
  withEntry(channel, contact,
            [this, set, message = std::move(message), event, rest,
             finished](std::shared_ptr<ConversationEntry> entry) mutable {
              handleMessage(std::move(set), std::move(entry), std::move(message), std::move(event),
                            rest, std::move(finished));
            });
}

void FlowEngine::Impl::handleMessage(std::shared_ptr<const FlowSet> set,
                                     std::shared_ptr<ConversationEntry> entry, Json message,
                                     bus::Event event, delivery::InboundNext rest,
                                     std::function<void()> done) {
  const std::string id = jsonString(message, "id");
  if (entry->state.wasConsumed(id)) {
    done();  // handled before a restart: its answer is already in the run's state
    return;
  }
  entry->contact_json["last_inbound_at"] = flowNowMs();
  if (std::string name = jsonString(message, "name"); !name.empty()) {
    entry->contact_json["name"] = name;
  }
  if (entry->cancellable_jobs && (set->followups_cancel_on_reply || entry->scheduled_cancellable)) {
    // Follow-ups planned "unless the contact replies" are cancelled by any message.
    scheduler_.cancelOnReply(
        entry->key, [this, set, entry, message = std::move(message), event = std::move(event), rest,
                     done = std::move(done)](bool ok) mutable {
          entry->cancellable_jobs = !ok;
          handleMessage(std::move(set), std::move(entry), std::move(message), std::move(event),
                        rest, std::move(done));
        });
    return;
  }
  ConversationState& state = entry->state;
  if (state.handoff && state.handoff_until > 0 && flowNowMs() >= state.handoff_until) {
    // Nobody released the conversation in time: the bot takes it back for this message.
    state.handoff = false;
    state.handoff_until = 0;
    entry->dirty = true;
    publish("conversation.released", entry->key,
            {{"channel", entry->channel},
             {"contact", entry->contact},
             {"note", "the handoff's release_after passed"},
             {"by", "timeout"}},
            event.request_id);
    flowLogger()->info("{}: back to the bot: nobody released the handoff in time", entry->key);
  }
  FlowRun* asking = state.askingRun();
  int asking_priority = INT_MIN;
  std::string asking_flow;
  if (asking != nullptr) {
    if (const flow::Flow* f = set->find(asking->flow)) {
      asking_priority = f->priority;
      asking_flow = f->id;
    } else {
      flowLogger()->info("{}: the flow '{}' a run was waiting in is gone; the run ends", entry->key,
                         asking->flow);
      state.removeRun(asking->id);
      entry->dirty = true;
      asking = nullptr;
    }
  }
  const std::string channel = entry->channel;
  auto words = std::make_shared<const text::NormalizedText>(jsonString(message, "text"));
  for (size_t fi = 0; fi < set->flows.size(); ++fi) {
    const flow::Flow& f = set->flows[fi];
    if (asking != nullptr && f.priority <= asking_priority &&
        !(f.id == asking_flow && f.mode == flow::Mode::kRestart)) {
      if (f.priority < asking_priority) {
        break;  // the answer goes to the waiting run
      }
      // Equal priority does not take the answer, but the asking flow itself (mode: restart)
      // may still come later: equal priorities are sorted by id.
      continue;
    }
    if (state.handoff && !runsInHandoff(f)) {
      continue;
    }
    for (size_t ti = 0; ti < f.triggers.size(); ++ti) {
      if (f.triggers[ti].kind != "message.received" ||
          !triggerMatches(*set, fi, ti, message, *words, entry.get())) {
        continue;
      }
      Json trigger = {{"id", f.triggers[ti].id}, {"on", "message.received"}, {"flow", f.id}};
      Json globals = {{"trigger", trigger}};
      if (!conditionsPass(set, fi, message, entry.get(), globals)) {
        break;  // the flow's conditions do not depend on which trigger matched
      }
      std::string run_id = fmt::format("{}:{}:{}", channel, id, f.id);
      if (startRun(set, entry, f, run_id, trigger, message, event.request_id, globals, done,
                   words)) {
        return;
      }
      break;
    }
  }
  if (asking != nullptr) {
    std::string run_id = asking->id;
    state.noteConsumed(id);
    auto handle_as_new = [this, set, entry, message, event, rest](std::function<void()> finished) {
      auto& consumed = entry->state.consumed;
      consumed.erase(std::remove(consumed.begin(), consumed.end(), jsonString(message, "id")),
                     consumed.end());
      handleMessage(set, entry, message, event, rest, std::move(finished));
    };
    const bool gathering = asking->waiting == "gather";
    resumeRun(
        entry, run_id, std::move(message), event.request_id,
        [this, handle_as_new, gathering](ExecPtr x) {
          x->handle_as_new = handle_as_new;
          auto step_done = [this, x](StepOutcome o) {
            if (afterStep(x, std::move(o))) {
              next(x);
            }
          };
          if (gathering) {
            return gatherMore(x, std::move(step_done));
          }
          answer(x, [this, x](StepOutcome o) {
            if (afterStep(x, std::move(o))) {
              next(x);
            }
          });
        },
        std::move(done));
    return;
  }
  if (state.handoff) {
    // A human has the conversation: the bot stays quiet.
    if (entry->dirty) {
      saveState(entry, std::move(done));
    } else {
      done();
    }
    return;
  }
  auto fallback = [this, event = std::move(event), rest, done = std::move(done)]() mutable {
    if (rest) {
      rest(event, std::move(done));  // no flow took it: the auto-reply's turn
      return;
    }
    messages_unhandled_->inc();
    done();
  };
  if (entry->dirty) {
    saveState(entry, std::move(fallback));
  } else {
    fallback();
  }
}

// ---- FlowEngine ----------------------------------------------------------------------------

FlowEngine::FlowEngine(const config::Config& config, Services services)
    : impl_(std::make_shared<Impl>(config, std::move(services))) {}

FlowEngine::~FlowEngine() {
  impl_->stopped_ = true;
}

bool FlowEngine::load(std::vector<diag::Diagnostic>* diagnostics) {
  std::lock_guard lock(impl_->reload_mutex_);
  impl_->fingerprint_ = rulesFingerprint(impl_->config_);
  FlowSetLoad loaded = loadFlowSet(impl_->config_, 1);
  *diagnostics = loaded.diagnostics;
  for (const auto& secret : loaded.secrets) {
    log::addSecret(secret);
  }
  if (!loaded.set) {
    return false;
  }
  std::lock_guard set_lock(impl_->set_mutex_);
  impl_->set_ = loaded.set;
  return true;
}

void FlowEngine::handleInbound(const bus::Event& event, delivery::InboundNext next,
                               std::function<void()> done) {
  impl_->onMessage(event, std::move(next), std::move(done));
}

void FlowEngine::attach() {
  auto* impl = impl_.get();
  auto& bus = impl->services_.bus;
  bus.subscribeAsync(
      delivery::kMessageStatus,
      [impl](const bus::Event& e, bus::Done d) { impl->onStatus(e, std::move(d)); },
      "flows-status");
  bus.subscribeAsync(
      kFlowJob, [impl](const bus::Event& e, bus::Done d) { impl->onJob(e, std::move(d)); },
      "flows-jobs");
  bus.subscribeAsync(
      kFlowDispatch,
      [impl](const bus::Event& e, bus::Done d) { impl->onFlowEvent(e, std::move(d)); },
      "flows-dispatch");
  impl->syncEventSubscriptions(*impl->current());
}

void FlowEngine::Impl::syncEventSubscriptions(const FlowSet& set) {
  std::lock_guard lock(subscriptions_mutex_);
  for (auto it = event_subscriptions_.begin(); it != event_subscriptions_.end();) {
    if (set.event_names.count(it->first) == 0) {
      services_.bus.unsubscribe(it->second);
      it = event_subscriptions_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::string& name : set.event_names) {
    if (event_subscriptions_.count(name) == 0) {
      event_subscriptions_[name] = services_.bus.subscribeAsync(
          name, [this](const bus::Event& e, bus::Done d) { onAnyEvent(e, std::move(d)); },
          "flows-events");
    }
  }
}

void FlowEngine::start() {
  auto* impl = impl_.get();
  impl->scheduler_.start([impl](Scheduler::Job job) {
    bus::Event ev;
    ev.type = kFlowJob;
    ev.conversation = job.conversation;
    ev.request_id = job.id;
    ev.payload = "{}";
    ev.native = std::make_shared<const Scheduler::Job>(std::move(job));
    if (impl->services_.bus.tryPublish(std::move(ev)) != bus::EventBus::PublishResult::kAccepted) {
      flowLogger()->warn("the bus is full; a scheduled job waits for its lease to lapse");
    }
  });
  impl->registerSchedules(impl->current());
  impl->watch();
}

void FlowEngine::stop() {
  impl_->stopped_ = true;
  impl_->watch_timer_.cancel();
  impl_->flushUsage();
  impl_->scheduler_.stop();
}

FlowEngine::ReloadResult FlowEngine::reload(const std::string& reason) {
  return impl_->reloadNow(reason);
}

bool FlowEngine::publishEvent(const std::string& name, const Json& data, const std::string& channel,
                              const std::string& contact) {
  Json payload = data.is_object() ? data : Json{{"value", data}};
  if (!channel.empty()) {
    payload["channel"] = channel;
  }
  if (!contact.empty()) {
    payload["contact"] = contact;
  }
  bus::Event ev;
  ev.type = name;
  ev.conversation =
      channel.empty() || contact.empty() ? "" : delivery::conversationKey(channel, contact);
  ev.payload = payload.dump(-1, ' ', false, Json::error_handler_t::replace);
  ev.request_id = log::newRequestId();
  return impl_->services_.bus.tryPublish(std::move(ev)) == bus::EventBus::PublishResult::kAccepted;
}

bool FlowEngine::release(const std::string& channel, const std::string& contact) {
  bus::Event ev;
  ev.type = kFlowDispatch;
  ev.conversation = delivery::conversationKey(channel, contact);
  ev.request_id = log::newRequestId();
  ev.native =
      std::make_shared<const Dispatch>(Dispatch{"release", "", Json::object(), channel, contact});
  return impl_->services_.bus.tryPublish(std::move(ev)) == bus::EventBus::PublishResult::kAccepted;
}

uint64_t FlowEngine::version() const {
  auto set = impl_->current();
  return set ? set->version : 0;
}

}  // namespace waflow::core::engine
