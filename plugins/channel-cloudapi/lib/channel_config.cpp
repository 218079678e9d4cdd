#include "channel_config.h"

namespace waflow::cloudapi {

const char* const kConfigSchema = R"({
  "type": "object",
  "properties": {
    "phone_number_id": {"type": "string", "minLength": 1,
      "description": "The business phone number's id (WhatsApp Manager > API Setup). Sends go to /<version>/<phone_number_id>/messages."},
    "waba_id": {"type": "string", "default": "",
      "description": "WhatsApp Business Account id, for logs and template management."},
    "access_token": {"type": "string", "minLength": 1, "secret": true,
      "description": "A permanent system-user access token with whatsapp_business_messaging. Use ${ENV} or ${file:...}."},
    "app_secret": {"type": "string", "default": "", "secret": true,
      "description": "The Meta app's secret: the key of X-Hub-Signature-256. Required unless verify_signature is false."},
    "verify_token": {"type": "string", "minLength": 1, "secret": true,
      "description": "Any string you choose; Meta sends it back when you register the webhook URL."},
    "verify_signature": {"type": "boolean", "default": true,
      "description": "Check X-Hub-Signature-256 on every POST. Turning it off lets anyone forge messages; a warning is logged."},
    "graph_api_version": {"type": "string", "pattern": "^v[0-9]+\\.[0-9]+$", "default": "v23.0",
      "description": "Graph API version used in every URL, e.g. v23.0."},
    "base_url": {"type": "string", "pattern": "^https?://", "default": "https://graph.facebook.com",
      "description": "Graph API base URL; tests point it at a local fake."},
    "timeout": {"type": "string", "format": "duration", "default": "30s",
      "description": "Time limit of each call to the Graph API."},
    "download_media": {"type": "boolean", "default": true,
      "description": "Download inbound images, audio, video, documents and stickers to media_dir."},
    "media_dir": {"type": "string", "default": "",
      "description": "Where downloaded media is kept; empty = <data_dir>/plugins/<channel id>/media."},
    "max_media_bytes": {"type": "string", "format": "size", "default": "100MiB",
      "description": "Largest media file downloaded."}
  },
  "required": ["phone_number_id", "access_token", "verify_token"]
})";

std::string ChannelConfig::graphUrl(const std::string& path) const {
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  return url + "/" + graph_api_version + "/" + path;
}

ChannelConfig parseConfig(const waflow::Config& config) {
  ChannelConfig c;
  c.phone_number_id = config.value("phone_number_id", "");
  c.waba_id = config.value("waba_id", "");
  c.access_token = config.value("access_token", "");
  c.app_secret = config.value("app_secret", "");
  c.verify_token = config.value("verify_token", "");
  c.verify_signature = config.value("verify_signature", true);
  c.graph_api_version = config.value("graph_api_version", c.graph_api_version);
  c.base_url = config.value("base_url", c.base_url);
  c.timeout = std::chrono::milliseconds(config.value("timeout", int64_t{30000}));
  c.download_media = config.value("download_media", true);
  c.media_dir = config.value("media_dir", "");
  c.max_media_bytes = config.value("max_media_bytes", c.max_media_bytes);
  if (c.verify_signature && c.app_secret.empty()) {
    throw waflow::Error(waflow::Rc::kInvalid,
                        "app_secret is required to verify X-Hub-Signature-256 (set it from the "
                        "Meta app's Basic settings, or set verify_signature: false for local "
                        "experiments only)");
  }
  return c;
}

}  // namespace waflow::cloudapi
