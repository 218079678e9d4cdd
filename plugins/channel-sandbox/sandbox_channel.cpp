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
//       "typing":0,"dropped":0}
//
// "dropped" counts this contact's replies dropped to keep the mailboxes within their limits.
//
// The typing indicator and read receipts are not replies: "typing" counts the typing
// indicators the contact has been shown. A listener that adds &typing=<the count it saw> is
// answered as soon as a new one is shown, so it can print "typing..." while the bot thinks.
//
// `waflow chat` is such a listener. GET with hub.mode=subscribe answers the
// Cloud API verification handshake with `verify_token`.
//
// Whoever reaches the sandbox can write as any contact and read any contact's replies, so on
// an address other machines reach it needs a `token` (the daemon refuses to start otherwise);
// with one, every request must carry it as `Authorization: Bearer <token>` or
// `X-Sandbox-Token: <token>`. Mailboxes are bounded in replies, bytes and contacts
// (mailboxes.h).
//
// Thread-safety: the mailboxes lock internally; long polls wait on a Signal.
#include "mailboxes.h"
#include "poll_request.h"
#include "webhook_parser.h"

#include <waflow/sdk/plugin.hpp>

#include <openssl/crypto.h>

#include <atomic>
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
    "mailbox_bytes": {"type": "string", "format": "size", "default": "1MiB",
                      "description": "Bytes of replies kept per contact; the oldest are dropped first."},
    "total_bytes": {"type": "string", "format": "size", "default": "64MiB",
                    "description": "Bytes of replies kept for all contacts together; the oldest replies of the contact idle longest are dropped first."},
    "max_contacts": {"type": "integer", "minimum": 1, "default": 10000,
                     "description": "Contacts whose mailboxes are kept; the longest-idle one is dropped beyond this."},
    "token": {"type": "string", "default": "", "secret": true,
              "description": "When set (at least 32 characters, e.g. from `openssl rand -hex 32`), every request must carry it as 'Authorization: Bearer <token>' or 'X-Sandbox-Token: <token>'. Required when server.listen is not a loopback address."}
  }
})";

constexpr std::size_t kMinTokenLength = 32;

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
        token_(config.value("token", "")),
        mailboxes_(waflow::sandbox::Mailboxes::Limits{
            config.value("mailbox_limit", std::size_t{1000}),
            config.value("mailbox_bytes", std::size_t{1024 * 1024}),
            config.value("total_bytes", std::size_t{64 * 1024 * 1024}),
            config.value("max_contacts", std::size_t{10000})}) {
    if (!token_.empty() && token_.size() < kMinTokenLength) {
      throw waflow::Error(waflow::Rc::kInvalid,
                          "token has " + std::to_string(token_.size()) + " characters; at least " +
                              std::to_string(kMinTokenLength) +
                              " are needed (make one with `openssl rand -hex 32`)");
    }
    if (!token_.empty()) {
      host.registerSecret(token_);
    }
  }

  waflow::Task<waflow::WebhookResponse> handleWebhook(waflow::WebhookRequest request,
                                                      waflow::Webhook webhook) {
    if (!token_.empty() && !carriesToken(request)) {
      co_return waflow::WebhookResponse{
          401,
          "this sandbox channel needs its token: send 'Authorization: Bearer <token>' or "
          "'X-Sandbox-Token: <token>' (waflow chat --token, or WAFLOW_SANDBOX_TOKEN)\n"};
    }
    if (request.method == "POST") {
      co_return receive(request, webhook);
    }
    if (auto mode = request.queryParam("hub.mode")) {
      co_return verify(request);
    }
    if (request.queryParam("replies_for")) {
      co_return co_await poll(request);
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
      if (message.type == "typing") {
        // A listener that passed typing=<count> hears about it at once.
        mailboxes_.typing(message.to).notify();
      }
      co_return waflow::SendResult{"sandbox." + message.type};
    }
    Json reply = {{"to", message.to}, {"type", message.type}, {"text", message.text}};
    if (!message.reply_to.empty()) {
      reply["reply_to"] = message.reply_to;
    }
    if (!message.payload_json.empty()) {
      reply["payload"] = Json::parse(message.payload_json, nullptr, false);
    }
    std::string id = "sandbox." + std::to_string(++sent_);
    reply["id"] = id;
    uint64_t dropped_before = mailboxes_.droppedTotal();
    mailboxes_.put(message.to, std::move(reply)).notify();
    if (dropped_before == 0 && mailboxes_.droppedTotal() > 0) {
      host_.warn(
          "sandbox mailboxes are full: the oldest replies are being dropped (mailbox_limit, "
          "mailbox_bytes, total_bytes); listeners see a \"dropped\" count");
    }
    host_.debug("reply " + id + " queued for " + message.to);
    co_return waflow::SendResult{id};
  }

 private:
  // Compared in constant time: how much of a guess was right must not show in the timing.
  bool carriesToken(const waflow::WebhookRequest& request) const {
    std::optional<std::string_view> given = request.header("X-Sandbox-Token");
    if (!given) {
      if (auto auth = request.header("Authorization"); auth && auth->starts_with("Bearer ")) {
        given = auth->substr(7);
      }
    }
    return given && given->size() == token_.size() &&
           CRYPTO_memcmp(given->data(), token_.data(), token_.size()) == 0;
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

  waflow::Task<waflow::WebhookResponse> poll(const waflow::WebhookRequest& request) {
    auto parsed = waflow::sandbox::parsePollRequest(request, poll_timeout_);
    if (auto* problem = std::get_if<std::string>(&parsed)) {
      co_return waflow::WebhookResponse{400, *problem};
    }
    const auto& [contact, after, typing_seen, wait] =
        std::get<waflow::sandbox::PollRequest>(parsed);
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      waflow::sandbox::Mailboxes::Read mail = mailboxes_.read(contact, after);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      bool typing_news = typing_seen && mail.typing > *typing_seen;
      if (!mail.replies.empty() || typing_news || left.count() <= 0) {
        Json out = {{"replies", std::move(mail.replies)},
                    {"next", mail.next},
                    {"typing", mail.typing},
                    {"dropped", mail.dropped}};
        co_return waflow::WebhookResponse{
            200, out.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json"};
      }
      co_await mail.arrived.wait(host_, left);
    }
  }

  waflow::Host& host_;
  const std::string verify_token_;
  const std::string phone_number_id_;
  const std::chrono::milliseconds poll_timeout_;
  const std::string token_;  // "" = none (loopback only)
  // The same parser as the real Cloud API channel: the sandbox accepts exactly
  // what Meta sends.
  waflow::cloudapi::WebhookParser parser_;
  waflow::sandbox::Mailboxes mailboxes_;
  std::atomic<uint64_t> sent_{0};
};

}  // namespace

WAFLOW_PLUGIN(SandboxChannel)
