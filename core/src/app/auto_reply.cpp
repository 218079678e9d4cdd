#include "app/auto_reply.h"

#include "app/events.h"
#include "log/log.h"

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <random>

#include <fmt/format.h>

namespace waflow::core::app {
namespace {

constexpr int kMaxAttempts = 5;

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

std::string newSendId() {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("out-{}-{}", log::newRequestId(), counter.fetch_add(1));
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
  bus::Done done;
};

AutoReply::AutoReply(const config::AutoReplyConfig& config, boost::asio::io_context& io,
                     bus::EventBus& bus, metrics::Registry& metrics,
                     std::map<std::string, plugin::PluginInstance*> channels,
                     plugin::PluginInstance* ai)
    : config_(config),
      io_(io),
      bus_(bus),
      metrics_(metrics),
      channels_(std::move(channels)),
      ai_(ai) {}

void AutoReply::attach() {
  bus_.subscribeAsync(
      kMessageReceived, [this](const bus::Event& e, bus::Done d) { onMessage(e, std::move(d)); },
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

void AutoReply::onMessage(const bus::Event& event, bus::Done done) {
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
  job->send_id = newSendId();
  job->reply = ruleReply(job->text, job->type);
  if (!job->reply.empty() || config_.mode != "ai" || ai_ == nullptr) {
    if (job->reply.empty()) {
      job->done();
      return;
    }
    sendReply(job, 1);
    return;
  }
  askAi(job);
}

void AutoReply::askAi(std::shared_ptr<Job> job) {
  nlohmann::json request = {{"messages", {{{"role", "user"}, {"content", job->text}}}}};
  if (!config_.system_prompt.empty()) {
    request["system"] = config_.system_prompt;
  }
  waflow::AiRequest r{request.dump(), job->conversation, job->request_id};
  ai_->complete(r, [this, job](plugin::CallOutcome outcome) {
    log::RequestScope scope(job->request_id);
    if (!outcome.ok() || outcome.value.empty()) {
      auto logger = log::get("auto-reply");
      logger->warn("AI provider '{}' failed for message {}: {}", ai_->id(), job->message_id,
                   outcome.ok() ? "empty reply" : outcome.error);
      finish(job, false, outcome.ok() ? "empty AI reply" : outcome.error);
      return;
    }
    job->reply = std::move(outcome.value);
    sendReply(job, 1);
  });
}

void AutoReply::sendReply(std::shared_ptr<Job> job, int attempt) {
  waflow::OutboundMessage m;
  m.id = job->send_id;
  m.to = job->to;
  m.type = "text";
  m.text = job->reply;
  job->channel_instance->send(m, [this, job, attempt](plugin::CallOutcome outcome) {
    log::RequestScope scope(job->request_id);
    if (outcome.ok()) {
      finish(job, true, outcome.value);
      return;
    }
    bool transient = outcome.rc == waflow::Rc::kRetry || outcome.rc == waflow::Rc::kBusy;
    if (!transient || attempt >= kMaxAttempts) {
      finish(job, false, outcome.error);
      return;
    }
    // Exponential backoff with jitter, or exactly what the channel asked for.
    thread_local std::minstd_rand rng{std::random_device{}()};
    auto delay = outcome.retry_after.count() > 0
                     ? outcome.retry_after
                     : std::chrono::milliseconds((250 << attempt) + rng() % 250);
    log::get("auto-reply")
        ->info("send to {} failed ({}); retry {} in {} ms", job->to, outcome.error, attempt + 1,
               delay.count());
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
    timer->async_wait([this, job, attempt, timer](const boost::system::error_code&) {
      sendReply(job, attempt + 1);
    });
  });
}

void AutoReply::finish(std::shared_ptr<Job> job, bool sent, const std::string& detail) {
  nlohmann::json p = {{"channel", job->channel},
                      {"to", job->to},
                      {"id", job->send_id},
                      {"in_reply_to", job->message_id}};
  if (sent) {
    p["provider_message_id"] = detail;
    metrics_
        .counter("waflow_replies_sent_total", "Replies the channel accepted",
                 {{"channel", job->channel}})
        .inc();
    log::get("auto-reply")->debug("replied to {} ({})", job->to, detail);
  } else {
    p["error"] = detail;
    metrics_
        .counter("waflow_replies_failed_total", "Replies that finally failed",
                 {{"channel", job->channel}})
        .inc();
    log::get("auto-reply")->error("reply to {} failed: {}", job->to, detail);
  }
  bus::Event ev;
  ev.type = sent ? kMessageSent : kMessageFailed;
  ev.conversation = "";  // not ordered behind the conversation we are still holding
  ev.payload = p.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ev.request_id = job->request_id;
  bus_.tryPublish(std::move(ev));
  if (job->done) {
    job->done();
  }
}

}  // namespace waflow::core::app
