#include "channel_config.h"

namespace waflow::cloudapi {

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
  c.max_concurrent_downloads = config.value("max_concurrent_downloads", c.max_concurrent_downloads);
  c.media_quota = config.value("media_quota", c.media_quota);
  c.media_retention =
      std::chrono::milliseconds(config.value("media_retention", c.media_retention.count()));
  c.media_hosts = config.value("media_hosts", c.media_hosts);
  if (c.verify_signature && c.app_secret.empty()) {
    throw waflow::Error(waflow::Rc::kInvalid,
                        "app_secret is required to verify X-Hub-Signature-256 (set it from the "
                        "Meta app's Basic settings, or set verify_signature: false for local "
                        "experiments only)");
  }
  return c;
}

}  // namespace waflow::cloudapi
