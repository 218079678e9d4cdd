// AutoReply — the built-in behaviour that answers customer messages until
// flows take over: a keyword map first, then echo, a fixed text, or an AI
// provider's reply. Replies go into the outbox (which sends them with rate
// limits and retries) addressed to the channel the message came in on and to
// the contact the inbox stored it under (a phone number, or the business-scoped
// user id of a customer without one).
//
// Only the message types in auto_reply.answer_types are answered: by default
// what a customer says, not reactions, edits, deletions or notices. A message
// that should be answered and cannot be (no sender, an unknown channel, the AI
// failed) is logged and published as message.failed.
//
// It is the last link of the inbound chain (inbound_chain.h), which the bus calls
// asynchronously for message.received, so one conversation's messages are answered one at a
// time and in order, while different conversations proceed in parallel. A message counts as handled
// once its reply is stored in the outbox. The reply's outbox id derives from the message's id, so a
// message handled again after a crash is not answered twice.
//
// Thread-safety: handlers run on bus workers and io threads; state is
// immutable after construction except the metrics' atomics.
#pragma once

#include "bus/event_bus.h"
#include "config/config.h"
#include "delivery/inbound_chain.h"
#include "delivery/outbox.h"
#include "metrics/metrics.h"
#include "plugin/plugin_instance.h"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace waflow::core::delivery {

class AutoReply final : public InboundLink {
 public:
  AutoReply(const config::AutoReplyConfig& config, Outbox& outbox, bus::EventBus& bus,
            metrics::Registry& metrics, std::map<std::string, plugin::PluginInstance*> channels,
            plugin::PluginInstance* ai);

  // Answers one message.received event; `done` once the reply is stored (or there is none).
  // The last link of the inbound chain: it answers everything it is handed (`next` unused).
  void handleInbound(const bus::Event& event, InboundNext next,
                     std::function<void()> done) override;

  // The reply text chosen without AI (keyword, echo or text mode), or "" when
  // the AI decides.
  std::string ruleReply(const std::string& text, const std::string& type) const;

 private:
  struct Job;
  std::shared_ptr<Job> jobFor(const bus::Event& event) const;
  void askAi(std::shared_ptr<Job> job);
  void queueReply(std::shared_ptr<Job> job);
  // No reply: logged, counted and published as message.failed, never silent.
  void fail(std::shared_ptr<Job> job, const std::string& error);

  config::AutoReplyConfig config_;
  Outbox& outbox_;
  bus::EventBus& bus_;
  metrics::Registry& metrics_;
  std::map<std::string, plugin::PluginInstance*> channels_;
  plugin::PluginInstance* ai_;
};

}  // namespace waflow::core::delivery
