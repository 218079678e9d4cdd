// A customer message reaching flows: the answer a waiting run expects continues it, else the
// matching flow of highest priority starts, else the message goes on down the inbound chain
// (the auto-reply). Part of FlowEngine::Impl.
#include "delivery/events.h"
#include "engine/flow_engine_impl.h"
#include "engine/steps/run_step.h"
#include "json/bounded_parse.h"
#include "text/utf8.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <set>

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

}  // namespace

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
  conversations_.withEntry(
      channel, contact,
      [this, set, message = std::move(message), event, rest, finished](EntryPtr entry) mutable {
        handleMessage(std::move(set), std::move(entry), std::move(message), std::move(event), rest,
                      std::move(finished));
      });
}

void FlowEngine::Impl::handleMessage(std::shared_ptr<const FlowSet> set, EntryPtr entry,
                                     Json message, bus::Event event, delivery::InboundNext rest,
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
  expireHandoff(entry, event.request_id);
  const FlowRun* asking = askingRun(*set, entry);
  if (startMatchingFlow(set, entry, message, event.request_id, asking, done)) {
    return;
  }
  if (asking != nullptr) {
    entry->state.noteConsumed(id);
    continueAskingRun(std::move(set), std::move(entry), asking->id, std::move(message),
                      std::move(event), std::move(rest), std::move(done));
    return;
  }
  passOn(entry, std::move(event), std::move(rest), std::move(done));
}

void FlowEngine::Impl::expireHandoff(const EntryPtr& entry, const std::string& request_id) {
  ConversationState& state = entry->state;
  if (!state.handoff || state.handoff_until <= 0 || flowNowMs() < state.handoff_until) {
    return;
  }
  // Nobody released the conversation in time: the bot takes it back for this message.
  state.handoff = false;
  state.handoff_until = 0;
  entry->dirty = true;
  publish("conversation.released", entry->key,
          {{"channel", entry->channel},
           {"contact", entry->contact},
           {"note", "the handoff's release_after passed"},
           {"by", "timeout"}},
          request_id);
  flowLogger()->info("{}: back to the bot: nobody released the handoff in time", entry->key);
}

const FlowRun* FlowEngine::Impl::askingRun(const FlowSet& set, const EntryPtr& entry) {
  FlowRun* asking = entry->state.askingRun();
  if (asking != nullptr && set.find(asking->flow) == nullptr) {
    flowLogger()->info("{}: the flow '{}' a run was waiting in is gone; the run ends", entry->key,
                       asking->flow);
    entry->state.removeRun(asking->id);
    entry->dirty = true;
    return nullptr;
  }
  return asking;
}

bool FlowEngine::Impl::startMatchingFlow(const std::shared_ptr<const FlowSet>& set,
                                         const EntryPtr& entry, const Json& message,
                                         const std::string& request_id, const FlowRun* asking,
                                         const std::function<void()>& done) {
  const flow::Flow* asking_flow = asking != nullptr ? set->find(asking->flow) : nullptr;
  const int asking_priority = asking_flow != nullptr ? asking_flow->priority : INT_MIN;
  auto words = std::make_shared<const text::NormalizedText>(jsonString(message, "text"));
  for (size_t fi = 0; fi < set->flows.size(); ++fi) {
    const flow::Flow& f = set->flows[fi];
    if (asking_flow != nullptr && f.priority <= asking_priority &&
        !(f.id == asking_flow->id && f.mode == flow::Mode::kRestart)) {
      if (f.priority < asking_priority) {
        return false;  // the answer goes to the waiting run
      }
      // Equal priority does not take the answer, but the asking flow itself (mode: restart)
      // may still come later: equal priorities are sorted by id.
      continue;
    }
    if (quietForHandoff(f, entry.get())) {
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
      std::string run_id = fmt::format("{}:{}:{}", entry->channel, jsonString(message, "id"), f.id);
      if (startRun(set, entry, f, run_id, trigger, message, request_id, globals, done, words)) {
        return true;
      }
      break;
    }
  }
  return false;
}

void FlowEngine::Impl::continueAskingRun(std::shared_ptr<const FlowSet> set, EntryPtr entry,
                                         std::string run_id, Json message, bus::Event event,
                                         delivery::InboundNext rest, std::function<void()> done) {
  const FlowRun* asking = entry->state.findRun(run_id);
  const bool gathering = asking != nullptr && asking->waiting == "gather";
  const std::string request_id = event.request_id;
  // When the message turns out not to answer an optional question, it is handled again as a
  // new message (see Exec::not_an_answer).
  auto handle_as_new = [this, set, entry, message, event, rest](std::function<void()> finished) {
    auto& consumed = entry->state.consumed;
    consumed.erase(std::remove(consumed.begin(), consumed.end(), jsonString(message, "id")),
                   consumed.end());
    handleMessage(set, entry, message, event, rest, std::move(finished));
  };
  resumeRun(
      entry, run_id, std::move(message), request_id,
      [this, handle_as_new, gathering](ExecPtr x) {
        x->handle_as_new = handle_as_new;
        auto step_done = [this, x](StepOutcome o) {
          if (afterStep(x, std::move(o))) {
            next(x);
          }
        };
        if (gathering) {
          return steps::gatherMore(steps_, x, std::move(step_done));
        }
        steps::answer(steps_, x, std::move(step_done));
      },
      std::move(done));
}

void FlowEngine::Impl::passOn(const EntryPtr& entry, bus::Event event, delivery::InboundNext rest,
                              std::function<void()> done) {
  if (entry->state.handoff) {
    // A human has the conversation: the bot stays quiet.
    if (entry->dirty) {
      conversations_.saveState(entry, std::move(done));
    } else {
      done();
    }
    return;
  }
  auto fallback = [this, event = std::move(event), rest = std::move(rest),
                   done = std::move(done)]() mutable {
    if (rest) {
      rest(event, std::move(done));  // no flow took it: the auto-reply's turn
      return;
    }
    messages_unhandled_->inc();
    done();
  };
  if (entry->dirty) {
    conversations_.saveState(entry, std::move(fallback));
  } else {
    fallback();
  }
}

}  // namespace waflow::core::engine
