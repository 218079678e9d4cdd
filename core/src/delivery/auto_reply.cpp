#include "delivery/auto_reply.h"

#include "delivery/events.h"
#include "log/log.h"
#include "text/ascii.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace waflow::core::delivery {
namespace {

using text::lowerAscii;

// True when `keyword` is the whole message or one of its words (letters and
// digits; punctuation separates), compared case-insensitively.
bool matchesKeyword(const std::string& message, const std::string& keyword) {
  std::string m = lowerAscii(message);
  std::string k = lowerAscii(keyword);
  if (k.empty()) {
    return false;
  }
  std::size_t pos = 0;
  while ((pos = m.find(k, pos)) != std::string::npos) {
    auto word_char = [](unsigned char c) { return std::isalnum(c) || c >= 0x80; };
    bool starts = pos == 0 || !word_char(m[pos - 1]);
    bool ends = pos + k.size() == m.size() || !word_char(m[pos + k.size()]);
    if (starts && ends) {
      return true;
    }
    pos += 1;
  }
  return false;
}

}  // namespace

struct AutoReply::Job {
  std::string channel;
  std::string to;
  std::string text;
  std::string type;
  std::string message_id;
  std::string request_id;
  std::string conversation;
  std::string reply;
  std::string send_id;
  plugin::PluginInstance* channel_instance = nullptr;
  std::function<void()> done;
};

AutoReply::AutoReply(const config::AutoReplyConfig& config, Outbox& outbox, bus::EventBus& bus,
                     metrics::Registry& metrics,
                     std::map<std::string, plugin::PluginInstance*> channels,
                     plugin::PluginInstance* ai)
    : config_(config),
      outbox_(outbox),
      bus_(bus),
      metrics_(metrics),
      channels_(std::move(channels)),
      ai_(ai) {}

std::string AutoReply::ruleReply(const std::string& text, const std::string& type) const {
  for (const auto& [keyword, reply] : config_.keywords) {
    if (matchesKeyword(text, keyword)) {
      return reply;
    }
  }
  if (config_.mode == "text") {
    return config_.text;
  }
  if (config_.mode == "echo") {
    return text.empty() ? fmt::format("[{} received]", type) : text;
  }
  return "";
}

// The job for a message.received event, without `done`; null when the event carries no message.
std::shared_ptr<AutoReply::Job> AutoReply::jobFor(const bus::Event& event) const {
  auto job = std::make_shared<Job>();
  std::string sender;
  if (const ReceivedMessage* received = receivedMessage(event)) {
    job->channel = received->channel;
    sender = senderContact(received->message);
    job->text = received->message.text;
    job->type = received->message.type;
    job->message_id = received->message.id;
  } else {
    // Published by a plugin: only the JSON form exists.
    auto payload = nlohmann::json::parse(event.payload, nullptr, false);
    if (payload.is_discarded() || !payload.is_object()) {
      return nullptr;
    }
    job->channel = payload.value("channel", "");
    sender = payload.value("from", "");
    if (sender.empty()) {
      sender = payload.value("from_user_id", "");
    }
    job->text = payload.value("text", "");
    job->type = payload.value("type", "");
    job->message_id = payload.value("id", "");
  }
  // Answered where the inbox stored it: the contact the customer was first known as.
  job->to = eventContact(event, job->channel, sender);
  job->request_id = event.request_id;
  job->conversation = event.conversation;
  // Derived from the message: handling it again (after a crash) finds the
  // reply already in the outbox instead of queueing a second one.
  job->send_id = fmt::format("{}:{}:auto-reply", job->channel,
                             job->message_id.empty() ? log::newRequestId() : job->message_id);
  return job;
}

void AutoReply::handleInbound(const bus::Event& event, InboundNext /*next*/,
                              std::function<void()> done) {
  std::shared_ptr<Job> job = jobFor(event);
  if (job == nullptr) {
    done();
    return;
  }
  job->done = std::move(done);
  if (config_.answer_types.count(job->type) == 0) {
    // A reaction, an edit, a notice: nothing the customer expects an answer to.
    log::get("auto-reply")
        ->debug("message {} ({}) on {} left unanswered: auto_reply.answer_types does not list '{}'",
                job->message_id, job->type, job->channel, job->type);
    job->done();
    return;
  }
  auto it = channels_.find(job->channel);
  if (job->to.empty() || it == channels_.end()) {
    fail(job, job->to.empty() ? std::string(kNoSenderError)
                              : "the channel '" + job->channel + "' is not configured");
    return;
  }
  job->channel_instance = it->second;
  job->reply = ruleReply(job->text, job->type);
  if (!job->reply.empty() || config_.mode != "ai" || ai_ == nullptr) {
    if (job->reply.empty()) {
      job->done();
      return;
    }
    queueReply(job);
    return;
  }
  askAi(job);
}

void AutoReply::askAi(std::shared_ptr<Job> job) {
  nlohmann::json request = {{"messages", {{{"role", "user"}, {"content", job->text}}}}};
  if (!config_.system_prompt.empty()) {
    request["system"] = config_.system_prompt;
  }
  waflow::AiRequest r{request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                      job->conversation, job->request_id};
  ai_->complete(r, [this, job](plugin::CallOutcome outcome) {
    log::RequestScope scope(job->request_id);
    if (!outcome.ok() || outcome.value.empty()) {
      fail(job, "the AI provider '" + ai_->id() +
                    "' failed: " + (outcome.ok() ? "empty reply" : outcome.error));
      return;
    }
    job->reply = std::move(outcome.value);
    queueReply(job);
  });
}

void AutoReply::queueReply(std::shared_ptr<Job> job) {
  Outbox::Message m;
  m.id = job->send_id;
  m.channel = job->channel;
  m.to = job->to;
  m.conversation = job->conversation;
  m.type = "text";
  m.text = job->reply;
  m.request_id = job->request_id;
  outbox_.enqueue(std::move(m), [this, job](bool stored) {
    if (!stored) {
      // Not handled: the message stays pending in the inbox and is answered
      // after the next start (its reply id is the same, so never twice).
      log::get("auto-reply")
          ->error(
              "the reply to {} could not be stored; it is retried at the next "
              "start",
              job->message_id);
    } else {
      metrics_
          .counter("waflow_replies_queued_total", "Auto-replies stored in the outbox",
                   {{"channel", job->channel}})
          .inc();
    }
    job->done();
  });
}

void AutoReply::fail(std::shared_ptr<Job> job, const std::string& error) {
  log::get("auto-reply")
      ->warn("message {} on {} not answered: {}", job->message_id, job->channel, error);
  metrics_
      .counter("waflow_replies_failed_total", "Auto-replies that could not be produced",
               {{"channel", job->channel}})
      .inc();
  bus_.tryPublish(replyFailedEvent(job->channel, job->to, job->send_id, job->message_id, error,
                                   job->request_id));
  job->done();
}

}  // namespace waflow::core::delivery
