// AutoReply — the built-in behaviour that answers every customer message until
// flows take over: a keyword map first, then echo, a fixed text, or an AI
// provider's reply. Replies go back through the channel the message came in
// on, with retries (honouring the channel's retry-after) for transient errors.
//
// It subscribes asynchronously to message.received, so one conversation's
// messages are answered one at a time and in order, while different
// conversations proceed in parallel. Outcomes are published as message.sent
// or message.failed.
//
// Thread-safety: handlers run on bus workers and io threads; state is
// immutable after construction except the metrics' atomics.
#pragma once

#include "bus/event_bus.h"
#include "config/config.h"
#include "metrics/metrics.h"
#include "plugin/plugin_instance.h"

#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>
#include <string>

namespace waflow::core::app {

class AutoReply {
 public:
  AutoReply(const config::AutoReplyConfig& config, boost::asio::io_context& io, bus::EventBus& bus,
            metrics::Registry& metrics, std::map<std::string, plugin::PluginInstance*> channels,
            plugin::PluginInstance* ai);

  // Subscribes to message.received. Call once, before the bus starts.
  void attach();

  // The reply text chosen without AI (keyword, echo or text mode), or "" when
  // the AI decides.
  std::string ruleReply(const std::string& text, const std::string& type) const;

 private:
  struct Job;
  void onMessage(const bus::Event& event, bus::Done done);
  void askAi(std::shared_ptr<Job> job);
  void sendReply(std::shared_ptr<Job> job, int attempt);
  void finish(std::shared_ptr<Job> job, bool sent, const std::string& detail);

  config::AutoReplyConfig config_;
  boost::asio::io_context& io_;
  bus::EventBus& bus_;
  metrics::Registry& metrics_;
  std::map<std::string, plugin::PluginInstance*> channels_;
  plugin::PluginInstance* ai_;
};

}  // namespace waflow::core::app
