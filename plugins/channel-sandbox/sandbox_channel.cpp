// channel-sandbox: a local stand-in for WhatsApp, for development and tests
// without a Meta account.
//
// Inbound, it speaks exactly the Cloud API webhook format on the same route a
// real channel uses (POST /webhooks/<id>), so a flow tested against the
// sandbox behaves the same against Meta. Outbound, replies are kept in a
// per-contact mailbox that local listeners read with a long poll:
//
//   GET /webhooks/<id>?replies_for=6281234567890&after=0&wait=25
//   -> {"replies":[{"seq":1,"id":"sandbox.1","to":"...","type":"text","text":"..."}],"next":1,
//       "typing":0}
//
// The typing indicator and read receipts are not replies: "typing" counts the typing
// indicators the contact has been shown. A listener that adds &typing=<the count it saw> is
// answered as soon as a new one is shown, so it can print "typing..." while the bot thinks.
//
// `waflow chat` is such a listener. GET with hub.mode=subscribe answers the
// Cloud API verification handshake with `verify_token`.
//
// Thread-safety: all state is behind one mutex; long polls wait on a Signal.
#include "webhook_parser.h"

#include <waflow/sdk/plugin.hpp>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kSchema = R"({
  "type": "object",
  "properties": {
    "verify_token": {"type": "string", "default": "sandbox",
                     "description": "Token expected in the Cloud API verification GET (hub.verify_token)."},
    "phone_number_id": {"type": "string", "default": "sandbox",
                        "description": "The business number id replies appear to come from."},
    "poll_timeout": {"type": "string", "format": "duration", "default": "25s",
                     "description": "Longest time a reply long-poll waits before answering empty."},
    "mailbox_limit": {"type": "integer", "minimum": 1, "default": 1000,
                      "description": "Replies kept per contact for listeners; older ones are dropped."},
    "max_contacts": {"type": "integer", "minimum": 1, "default": 10000,
                     "description": "Contacts whose mailboxes are kept; the longest-idle one is dropped beyond this."}
  }
})";

class SandboxChannel {
 public:
  static constexpr waflow::PluginInfo kInfo{
      waflow::Kind::kChannel, "channel-sandbox", "0.1.0",
      "Local stand-in for WhatsApp: Cloud API webhooks in, replies to local listeners", kSchema};

  SandboxChannel(waflow::Host& host, const waflow::Config& config)
      : host_(host),
        verify_token_(config.value("verify_token", "sandbox")),
        phone_number_id_(config.value("phone_number_id", "sandbox")),
        poll_timeout_(config.value("poll_timeout", 25000)),
        mailbox_limit_(config.value("mailbox_limit", 1000)),
        max_contacts_(config.value("max_contacts", 10000)) {}

  waflow::Task<waflow::WebhookResponse> handleWebhook(waflow::WebhookRequest request,
                                                      waflow::Webhook webhook) {
    if (request.method == "POST") {
      co_return receive(request, webhook);
    }
    if (auto mode = request.queryParam("hub.mode")) {
      co_return verify(request);
    }
    if (auto contact = request.queryParam("replies_for")) {
      co_return co_await poll(*contact, request);
    }
    co_return waflow::WebhookResponse{200,
                                      "waflow sandbox channel. POST Cloud API webhook JSON here; "
                                      "GET ?replies_for=<wa_id>&after=<seq> reads replies.\n"};
  }

  waflow::Task<waflow::SendResult> send(waflow::OutboundMessage message) {
    if (message.to.empty()) {
      throw waflow::Error(waflow::Rc::kInvalid, "send: the recipient ('to') is empty");
    }
    if (message.type == "typing" || message.type == "mark_read") {
      waflow::Signal wake;
      if (message.type == "typing") {
        std::lock_guard lock(mutex_);
        Mailbox& box = mailbox(message.to);
        ++box.typing;
        wake = box.arrived;
        box.arrived = waflow::Signal();
      }
      wake.notify();  // a listener that passed typing=<count> hears about it at once
      co_return waflow::SendResult{"sandbox." + message.type};
    }
    Json reply = {{"to", message.to}, {"type", message.type}, {"text", message.text}};
    if (!message.reply_to.empty()) {
      reply["reply_to"] = message.reply_to;
    }
    if (!message.payload_json.empty()) {
      reply["payload"] = Json::parse(message.payload_json, nullptr, false);
    }
    std::string id;
    waflow::Signal wake;
    {
      std::lock_guard lock(mutex_);
      Mailbox& box = mailbox(message.to);
      uint64_t seq = ++box.last_seq;
      id = "sandbox." + std::to_string(++sent_);
      reply["seq"] = seq;
      reply["id"] = id;
      box.replies.push_back(std::move(reply));
      while (box.replies.size() > mailbox_limit_) {
        box.replies.pop_front();
      }
      wake = box.arrived;
      box.arrived = waflow::Signal();
    }
    wake.notify();
    host_.debug("reply " + id + " queued for " + message.to);
    co_return waflow::SendResult{id};
  }

 private:
  struct Mailbox {
    std::deque<Json> replies;
    uint64_t last_seq = 0;
    waflow::Signal arrived;  // replaced after each notify
    uint64_t touch = 0;      // key in touched_
    uint64_t typing = 0;     // typing indicators shown so far
  };

  // The contact's mailbox, created on first use; memory stays bounded by
  // dropping the mailbox touched longest ago. Caller holds mutex_.
  Mailbox& mailbox(const std::string& contact) {
    auto it = mailboxes_.find(contact);
    if (it == mailboxes_.end()) {
      while (mailboxes_.size() >= max_contacts_ && !touched_.empty()) {
        auto oldest = touched_.begin();
        mailboxes_.erase(oldest->second);
        touched_.erase(oldest);
      }
      it = mailboxes_.emplace(contact, Mailbox{}).first;
    } else {
      touched_.erase(it->second.touch);
    }
    it->second.touch = ++clock_;
    touched_.emplace(it->second.touch, contact);
    return it->second;
  }

  waflow::WebhookResponse verify(const waflow::WebhookRequest& request) const {
    if (request.queryParam("hub.mode") == "subscribe" &&
        request.queryParam("hub.verify_token") == verify_token_) {
      return {200, request.queryParam("hub.challenge").value_or("")};
    }
    return {403, "Forbidden: hub.verify_token does not match this channel's verify_token\n"};
  }

  waflow::WebhookResponse receive(const waflow::WebhookRequest& request,
                                  const waflow::Webhook& webhook) {
    waflow::cloudapi::ParsedWebhook parsed = parser_.parse(request.body);
    if (!parsed.ok()) {
      return {400, parsed.error + "\n", "text/plain; charset=utf-8", {}};
    }
    for (auto& m : parsed.messages) {
      if (m.recipient.empty()) {
        m.recipient = phone_number_id_;
      }
      webhook.message(m);
    }
    for (const auto& s : parsed.statuses) {
      webhook.status(s);
    }
    return {200, "EVENT_RECEIVED", "text/plain; charset=utf-8", {}};
  }

  waflow::Task<waflow::WebhookResponse> poll(std::string contact,
                                             const waflow::WebhookRequest& request) {
    uint64_t after = std::strtoull(request.queryParam("after").value_or("0").c_str(), nullptr, 10);
    // With typing=<count seen>, a new typing indicator also ends the wait.
    std::optional<uint64_t> typing_seen;
    if (auto t = request.queryParam("typing")) {
      typing_seen = std::strtoull(t->c_str(), nullptr, 10);
    }
    auto wait = std::chrono::milliseconds(
        std::strtoll(request.queryParam("wait").value_or("-1").c_str(), nullptr, 10) * 1000);
    if (wait.count() < 0 || wait > poll_timeout_) {
      wait = poll_timeout_;
    }
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      waflow::Signal arrived;
      Json out = {{"replies", Json::array()}, {"next", after}};
      {
        std::lock_guard lock(mutex_);
        Mailbox& box = mailbox(contact);
        for (const Json& r : box.replies) {
          if (r["seq"].get<uint64_t>() > after) {
            out["replies"].push_back(r);
            out["next"] = r["seq"];
          }
        }
        arrived = box.arrived;
        out["typing"] = box.typing;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      bool typing_news = typing_seen && out["typing"].get<uint64_t>() > *typing_seen;
      if (!out["replies"].empty() || typing_news || left.count() <= 0) {
        co_return waflow::WebhookResponse{200, out.dump(), "application/json"};
      }
      co_await arrived.wait(host_, left);
    }
  }

  waflow::Host& host_;
  const std::string verify_token_;
  const std::string phone_number_id_;
  const std::chrono::milliseconds poll_timeout_;
  const std::size_t mailbox_limit_;
  const std::size_t max_contacts_;
  // The same parser as the real Cloud API channel: the sandbox accepts exactly
  // what Meta sends.
  waflow::cloudapi::WebhookParser parser_;
  std::mutex mutex_;
  std::map<std::string, Mailbox> mailboxes_;
  std::map<uint64_t, std::string> touched_;  // last use -> contact, oldest first
  uint64_t clock_ = 0;
  uint64_t sent_ = 0;
};

}  // namespace

WAFLOW_PLUGIN(SandboxChannel)
