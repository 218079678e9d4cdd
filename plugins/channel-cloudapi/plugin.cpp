// channel-cloudapi: a WhatsApp Business number connected through Meta's Cloud
// API. docs/channels/cloudapi.md is the operator's guide.
//
// Inbound: GET answers Meta's verification handshake; POST is accepted only
// with a valid X-Hub-Signature-256 over the raw body (checked before anything
// is parsed), then every message and status addressed to this channel's
// phone_number_id is handed to the daemon, which acknowledges once they are
// accepted; those for another number are refused (counted, logged at most once
// a minute, still acknowledged so Meta stops redelivering). Value-level errors
// and non-message notifications (template status, quality updates, ...) become
// bus events; media is downloaded in the background, at most
// max_concurrent_downloads at a time, streamed to disk within max_media_bytes
// and media_quota, and announced as media.downloaded or media.failed.
//
// Outbound: every message type is built and checked against Meta's limits
// before the call; Meta's answer is classified into retry-later, never-retry
// and token-expired (the channel then reports not ready, so /readyz fails, and
// publishes channel.unhealthy).
//
// Thread-safety: the parser is thread-safe, the config immutable, and the
// health state atomic/mutex-protected; all methods may run concurrently.
#include "channel_config.h"
#include "download_slots.h"
#include "graph_errors.h"
#include "log_throttle.h"
#include "media.h"
#include "media_hosts.h"
#include "media_ref.h"
#include "media_store.h"
#include "outbound.h"
#include "signature.h"
#include "verification.h"
#include "webhook_parser.h"

#include <waflow/sdk/log_throttle.hpp>
#include <waflow/sdk/plugin.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

namespace {

using Json = nlohmann::json;
namespace cloudapi = waflow::cloudapi;

// MIME types for uploading a local file when the flow did not say.
std::string mimeForPath(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (auto& c : ext) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  static const std::pair<const char*, const char*> kTypes[] = {
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".png", "image/png"},
      {".webp", "image/webp"},
      {".mp4", "video/mp4"},
      {".3gp", "video/3gpp"},
      {".ogg", "audio/ogg"},
      {".opus", "audio/ogg"},
      {".mp3", "audio/mpeg"},
      {".m4a", "audio/mp4"},
      {".aac", "audio/aac"},
      {".amr", "audio/amr"},
      {".pdf", "application/pdf"},
      {".txt", "text/plain"},
      {".doc", "application/msword"},
      {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {".xls", "application/vnd.ms-excel"},
      {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}};
  for (const auto& [e, mime] : kTypes) {
    if (ext == e) {
      return mime;
    }
  }
  return "application/octet-stream";
}

class CloudApiChannel {
 public:
  static constexpr waflow::PluginInfo kInfo{
      waflow::Kind::kChannel, "channel-cloudapi", "0.1.0",
      "WhatsApp Business number through Meta's Cloud API (Graph API)", cloudapi::kConfigSchema};

  CloudApiChannel(waflow::Host& host, const waflow::Config& config)
      : host_(host),
        config_(completeConfig(cloudapi::parseConfig(config), host)),
        media_store_(config_.media_dir, config_.media_quota, config_.media_retention),
        download_slots_(host_, config_.max_concurrent_downloads) {
    cloudapi::MediaStore::Swept swept = media_store_.load();
    if (swept.partial > 0) {
      host_.info("removed " + std::to_string(swept.partial) +
                 " partial media download(s) left in " + config_.media_dir);
    }
  }

  void stop() {
    stopping_ = true;
    std::lock_guard lock(mutex_);
    if (sweep_timer_ != 0) {
      host_.cancelTimer(sweep_timer_);
      sweep_timer_ = 0;
    }
    download_slots_.close();
  }

  void start() {
    if (config_.media_retention.count() > 0) {
      sweepMedia();
    }
    if (!config_.verify_signature) {
      host_.warn(
          "verify_signature is false: webhooks are accepted WITHOUT checking "
          "X-Hub-Signature-256, so anyone who can reach this URL can forge customer messages. "
          "Use this only for local experiments.");
    }
    host_.info("Cloud API number " + config_.phone_number_id + " via " +
               config_.graphUrl(config_.phone_number_id + "/messages"));
  }

  waflow::Task<waflow::WebhookResponse> handleWebhook(waflow::WebhookRequest request,
                                                      waflow::Webhook webhook) {
    if (request.method == "GET") {
      auto answer = cloudapi::answerVerification(request, config_.verify_token);
      if (answer.status != 200) {
        refuse("bad verification request", request.remote_address,
               "refused a webhook verification request from " + request.remote_address + ": " +
                   answer.body);
      }
      co_return answer;
    }
    if (config_.verify_signature) {
      std::string why;
      if (!cloudapi::verifySignature(config_.app_secret, request.body,
                                     request.header(cloudapi::kSignatureHeader), &why)) {
        const bool missing = !request.header(cloudapi::kSignatureHeader).has_value();
        refuse(missing ? "missing signature" : "bad signature", request.remote_address,
               "rejected a webhook from " + request.remote_address + ": " + why);
        co_return text(missing ? 401 : 403, why);
      }
    }
    cloudapi::ParsedWebhook parsed = parser_.parse(request.body, config_.phone_number_id);
    if (!parsed.ok()) {
      host_.warn("unreadable webhook: " + parsed.error);
      co_return text(400, parsed.error);
    }
    for (const auto& f : parsed.foreign) {
      refuseForeign(f, request.remote_address);
    }
    for (const auto& w : parsed.warnings) {
      host_.warn("webhook: " + w);
    }
    for (const auto& m : parsed.messages) {
      webhook.message(m);
    }
    for (const auto& s : parsed.statuses) {
      webhook.status(s);
      if (s.status == "failed" && s.error_code != 0 &&
          cloudapi::classifyStatusError(s.error_code).rc == waflow::Rc::kAuth) {
        markUnhealthy("a failed status reports Meta error " + std::to_string(s.error_code));
      }
    }
    for (const auto& e : parsed.errors) {
      host_.warn("Meta reported error " + std::to_string(e.code) + " (" + e.title +
                 "): " + (e.details.empty() ? e.message : e.details));
      host_.publish({"channel.error", "", withChannel(e.raw_json), request.request_id});
    }
    for (const auto& f : parsed.other_fields) {
      Json payload = {{"channel", std::string(host_.instanceId())},
                      {"field", f.field},
                      {"entry_id", f.entry_id},
                      {"value", Json::parse(f.value_json, nullptr, false)}};
      host_.publish({"channel.notification", "", payload.dump(), request.request_id});
    }
    if (config_.download_media) {
      for (const auto& m : parsed.messages) {
        if (auto ref = cloudapi::mediaOf(m)) {
          waflow::spawn(fetchMedia(*ref, m.id, m.from, request.request_id),
                        [](std::exception_ptr) noexcept {});
        }
      }
    }
    co_return text(200, "EVENT_RECEIVED");
  }

  waflow::Task<waflow::SendResult> send(waflow::OutboundMessage message) {
    Json body;
    if (message.type == "mark_read" || message.type == "typing") {
      Json p =
          Json::parse(message.payload_json.empty() ? "{}" : message.payload_json, nullptr, false);
      std::string id = p.is_object() ? p.value("message_id", message.reply_to) : message.reply_to;
      if (id.empty()) {
        throw waflow::Error(waflow::Rc::kInvalid,
                            message.type + ": message_id (or reply_to) names the message to mark");
      }
      body = cloudapi::buildMarkAsRead(id, message.type == "typing");
    } else {
      co_await uploadLocalMedia(message);
      body = cloudapi::buildSendBody(message);
    }
    waflow::HttpRequest req;
    req.method = "POST";
    req.url = config_.graphUrl(config_.phone_number_id + "/messages");
    req.headers = {{"Authorization", "Bearer " + config_.access_token},
                   {"Content-Type", "application/json"}};
    req.body = body.dump();
    req.timeout = config_.timeout;
    waflow::HttpResponse response = co_await host_.http(std::move(req));
    // A message sent twice reaches the customer twice; a read receipt or typing indicator
    // repeated does no harm.
    const bool receipt = message.type == "typing" || message.type == "mark_read";
    cloudapi::SendOutcome outcome =
        receipt ? cloudapi::classify(response) : cloudapi::classifySend(response);
    if (outcome.rc == waflow::Rc::kAuth) {
      markUnhealthy(outcome.message);
    }
    if (!outcome.ok()) {
      throw outcome.toError("sending " + message.type + " to " + message.to);
    }
    markHealthy();
    co_return waflow::SendResult{outcome.provider_message_id};
  }

  bool ready(std::string& reason) {
    std::lock_guard lock(mutex_);
    reason = unhealthy_reason_;
    return unhealthy_reason_.empty();
  }

 private:
  // The parsed config with media_dir defaulted, and the checks the schema cannot express.
  static cloudapi::ChannelConfig completeConfig(cloudapi::ChannelConfig config,
                                                const waflow::Host& host) {
    if (config.media_dir.empty()) {
      config.media_dir = std::string(host.dataDir()) + "/media";
    }
    for (std::size_t i = 0; i < config.media_hosts.size(); ++i) {
      if (std::string why = cloudapi::checkMediaHostPattern(config.media_hosts[i]); !why.empty()) {
        throw waflow::Error(waflow::Rc::kInvalid, "media_hosts[" + std::to_string(i) + "]: " + why);
      }
    }
    if (config.media_quota > 0 && config.media_quota < config.max_media_bytes) {
      throw waflow::Error(waflow::Rc::kInvalid,
                          "media_quota (" + std::to_string(config.media_quota) +
                              " bytes) is smaller than max_media_bytes (" +
                              std::to_string(config.max_media_bytes) +
                              "): raise media_quota, lower max_media_bytes, or set media_quota "
                              "to 0 for no quota");
    }
    return config;
  }

  // One Meta app (one app secret) may serve several numbers, so a correctly signed webhook can
  // still be for another number: answering it from this one would reply with the wrong number
  // and token. It is acknowledged (Meta would redeliver it for days) but never stored.
  void refuseForeign(const cloudapi::ForeignChange& f, const std::string& remote_address) {
    std::size_t items = f.messages + f.statuses + f.errors;
    host_.count("foreign_number_refused", items == 0 ? 1 : items);
    if (auto held_back = foreign_log_.allow()) {
      host_.warn(
          "refused a webhook change for phone_number_id '" + f.phone_number_id.substr(0, 64) +
          "' (" + std::to_string(f.messages) + " message(s), " + std::to_string(f.statuses) +
          " status(es)) from " + remote_address + ": this channel is phone_number_id '" +
          config_.phone_number_id +
          "'; give that number its own channel's URL as its callback (docs/channels/cloudapi.md, "
          "Several numbers)" +
          (*held_back > 0
               ? " (" + std::to_string(*held_back) + " more refused since the last such line)"
               : std::string()));
    }
  }

  // Deletes media past media_retention now, then again every retention/24 (1 min to 1 h).
  void sweepMedia() {
    try {
      cloudapi::MediaStore::Swept swept = media_store_.sweep();
      if (swept.expired > 0) {
        host_.count("media_expired", swept.expired);
        host_.info("deleted " + std::to_string(swept.expired) + " media file(s) older than " +
                   "media_retention from " + config_.media_dir);
      }
    } catch (const std::exception& e) {
      host_.warn(std::string("media sweep failed: ") + e.what());
    }
    auto interval = std::clamp<std::chrono::milliseconds>(
        config_.media_retention / 24, std::chrono::minutes(1), std::chrono::hours(1));
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return;
    }
    sweep_timer_ = host_.startTimer(interval, [this](bool cancelled) {
      if (!cancelled && !stopping_) {
        sweepMedia();
      }
    });
  }

  static waflow::WebhookResponse text(int status, std::string body) {
    return {status, std::move(body) + "\n", "text/plain; charset=utf-8", {}};
  }

  std::string withChannel(const std::string& raw) const {
    Json payload = {{"channel", std::string(host_.instanceId())},
                    {"error", Json::parse(raw, nullptr, false)}};
    return payload.dump();
  }

  void markUnhealthy(const std::string& why) {
    {
      std::lock_guard lock(mutex_);
      if (!unhealthy_reason_.empty()) {
        return;
      }
      unhealthy_reason_ =
          "access token rejected (" + why + "): create a new system-user token and restart";
    }
    host_.error("channel unhealthy: " + why);
    Json payload = {{"channel", std::string(host_.instanceId())}, {"reason", why}};
    host_.publish({"channel.unhealthy", "", payload.dump(), ""});
  }

  void markHealthy() {
    std::lock_guard lock(mutex_);
    if (!unhealthy_reason_.empty()) {
      unhealthy_reason_.clear();
      host_.info("channel healthy again: a send succeeded");
    }
  }

  // Media given as a local file ({"path": "..."}) is uploaded first and sent
  // by the id Meta returns.
  waflow::Task<void> uploadLocalMedia(waflow::OutboundMessage& message) {
    static const char* const kMediaTypes[] = {"image", "audio", "video", "document", "sticker"};
    bool media = false;
    for (const char* t : kMediaTypes) {
      media = media || message.type == t;
    }
    if (!media || message.payload_json.empty()) {
      co_return;
    }
    Json payload = Json::parse(message.payload_json, nullptr, false);
    if (!payload.is_object() || !payload.contains("path")) {
      co_return;
    }
    std::string path = payload["path"].get<std::string>();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      throw waflow::Error(waflow::Rc::kInvalid, message.type + ".path: cannot read '" + path + "'");
    }
    std::stringstream bytes;
    bytes << in.rdbuf();
    std::string mime = payload.value("mime_type", mimeForPath(path));
    std::string filename =
        payload.value("filename", std::filesystem::path(path).filename().string());
    std::string id = co_await cloudapi::uploadMedia(host_, config_, bytes.str(), mime, filename);
    payload.erase("path");
    payload.erase("mime_type");
    if (message.type != "document") {
      payload.erase("filename");
    }
    payload["id"] = id;
    message.payload_json = payload.dump();
  }

  waflow::Task<void> fetchMedia(cloudapi::MediaRef ref, std::string message_id, std::string from,
                                std::string request_id) {
    Json payload = {{"channel", std::string(host_.instanceId())},
                    {"message_id", message_id},
                    {"from", from},
                    {"kind", ref.kind},
                    {"media_id", ref.id}};
    std::string reason = "download_failed";
    try {
      cloudapi::DownloadSlots::Permit slot = co_await download_slots_.acquire();
      if (!slot) {
        throw waflow::Error(waflow::Rc::kRetry, "the channel is stopping");
      }
      cloudapi::DownloadedMedia media = co_await cloudapi::downloadMedia(
          host_, config_, media_store_, ref.id, ref.mime_type, ref.sha256);
      payload["path"] = media.path;
      payload["mime_type"] = media.mime_type;
      payload["size"] = media.size;
      payload["sha256"] = media.sha256;
      host_.debug("media " + ref.id + " of message " + message_id + " saved to " + media.path);
      host_.count("media_downloaded");
      if (media.evicted > 0) {
        host_.count("media_evicted", media.evicted);
        host_.info("media_quota: deleted the " + std::to_string(media.evicted) +
                   " oldest media file(s) to make room for " + media.path);
      }
      host_.publish({"media.downloaded", "", payload.dump(), request_id});
      co_return;
    } catch (const cloudapi::MediaRefused& e) {
      reason = e.reason();
      payload["error"] = e.what();
    } catch (const std::exception& e) {
      payload["error"] = e.what();
    }
    // The message itself was delivered already; flows learn here that its media is unavailable.
    payload["reason"] = reason;
    host_.count("media_" + (reason == "download_failed" ? reason : "refused_" + reason));
    host_.warn("media " + ref.id + " of message " + message_id + " not downloaded (" + reason +
               "): " + payload["error"].get<std::string>());
    host_.publish({"media.failed", "", payload.dump(), request_id});
  }

  // Logs a refusal anyone on the internet can cause as a warning, at most once per kind and
  // source every 10 s, with a count of the others (refusals_).
  void refuse(std::string_view kind, std::string_view source, const std::string& message) {
    refusals_.log(kind, source, message, [this](std::string_view line) { host_.warn(line); });
  }

  waflow::Host& host_;
  cloudapi::ChannelConfig config_;
  cloudapi::WebhookParser parser_;
  cloudapi::MediaStore media_store_;
  cloudapi::DownloadSlots download_slots_;
  cloudapi::LogThrottle foreign_log_{std::chrono::minutes(1)};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // unhealthy_reason_, sweep_timer_
  std::string unhealthy_reason_;
  // Forged signatures and wrong verify tokens: anyone on the internet can send thousands a
  // second, so each source's are logged once per 10 s with a count.
  waflow::LogThrottle refusals_;
  uint64_t sweep_timer_ = 0;
};

}  // namespace

WAFLOW_PLUGIN(CloudApiChannel)
