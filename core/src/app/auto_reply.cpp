#include "app/auto_reply.h"

#include "app/events.h"
#include "log/log.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace waflow::core::app {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// True when `keyword` is the whole message or one of its words (letters and
// digits; punctuation separates), compared case-insensitively.
bool matchesKeyword(const std::string& message, const std::string& keyword) {
  std::string m = lower(message);
  std::string k = lower(keyword);
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

void AutoReply::attach() {
  bus_.subscribeAsync(
      kMessageReceived,
      [this](const bus::Event& e, bus::Done d) {
        auto shared = std::make_shared<bus::Done>(std::move(d));
        handle(e, [shared] { (*shared)(); });
      },
      "auto-reply");
}

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

void AutoReply::handle(const bus::Event& event, std::function<void()> done) {
  auto job = std::make_shared<Job>();
  if (const ReceivedMessage* received = receivedMessage(event)) {
    job->channel = received->channel;
    job->to = received->message.from;
    job->text = received->message.text;
    job->type = received->message.type;
    job->message_id = received->message.id;
  } else {
    // Published by a plugin: only the JSON form exists.
    auto payload = nlohmann::json::parse(event.payload, nullptr, false);
    if (payload.is_discarded() || !payload.is_object()) {
      done();
      return;
    }
    job->channel = payload.value("channel", "");
    job->to = payload.value("from", "");
    job->text = payload.value("text", "");
    job->type = payload.value("type", "");
    job->message_id = payload.value("id", "");
  }
  job->request_id = event.request_id;
  job->conversation = event.conversation;
  job->done = std::move(done);
  auto it = channels_.find(job->channel);
  if (job->to.empty() || it == channels_.end()) {
    job->done();  // nobody to answer (e.g. a user known only by a business-scoped id)
    return;
  }
  job->channel_instance = it->second;
  // Derived from the message: handling it again (after a crash) finds the
  // reply already in the outbox instead of queueing a second one.
  job->send_id = fmt::format("{}:{}:auto-reply", job->channel,
                             job->message_id.empty() ? log::newRequestId() : job->message_id);
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
      aiFailed(job, outcome.ok() ? "empty reply" : outcome.error);
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

void AutoReply::aiFailed(std::shared_ptr<Job> job, const std::string& error) {
  log::get("auto-reply")
      ->warn("AI provider '{}' failed for message {}: {}", ai_->id(), job->message_id, error);
  metrics_
      .counter("waflow_replies_failed_total", "Auto-replies that could not be produced",
               {{"channel", job->channel}})
      .inc();
  nlohmann::json p = {{"channel", job->channel},
                      {"to", job->to},
                      {"id", job->send_id},
                      {"in_reply_to", job->message_id},
                      {"error", "the AI provider '" + ai_->id() + "' failed: " + error},
                      {"error_code", 0}};
  bus::Event ev;
  ev.type = kMessageFailed;
  ev.payload = p.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ev.request_id = job->request_id;
  bus_.tryPublish(std::move(ev));
  job->done();
}

}  // namespace waflow::core::app
