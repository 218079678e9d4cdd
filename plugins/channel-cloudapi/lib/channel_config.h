// The channel-cloudapi instance's settings: its config schema (what
// `waflow plugins` lists and the daemon validates) and the parsed values.
//
// Thread-safety: an immutable value after parsing.
#pragma once

#include <waflow/sdk/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace waflow::cloudapi {

// JSON Schema (the daemon's subset) of the `config:` block.
inline constexpr char kConfigSchema[] = R"({
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
    "max_media_bytes": {"type": "string", "format": "size", "default": "100MiB", "minimum": 1,
      "description": "Largest media file kept, counted on the bytes actually received: a download is aborted the moment it passes this."},
    "max_concurrent_downloads": {"type": "integer", "default": 4, "minimum": 1, "maximum": 64,
      "description": "Media downloads this channel runs at once; later ones wait their turn, in order."},
    "media_quota": {"type": "string", "format": "size", "default": "5GiB",
      "description": "Total bytes kept in media_dir; when a new file would pass it, the oldest files are deleted first. 0 = no quota."},
    "media_retention": {"type": "string", "format": "duration", "default": "30d",
      "description": "Media files older than this are deleted by a periodic sweep. 0 = keep until the quota needs the room."},
    "media_hosts": {"type": "array", "items": {"type": "string", "minLength": 1},
      "default": ["lookaside.fbsbx.com"],
      "description": "Hosts the access token may be sent to when downloading media (exact names, or *.example.com for its subdomains); https only, except loopback addresses (for tests)."}
  },
  "required": ["phone_number_id", "access_token", "verify_token"]
})";

struct ChannelConfig {
  std::string phone_number_id;   // the business number's id: where sends go
  std::string waba_id;           // WhatsApp Business Account id (optional)
  std::string access_token;      // system-user or app token (Bearer)
  std::string app_secret;        // HMAC key of X-Hub-Signature-256
  std::string verify_token;      // answer to Meta's verification GET
  bool verify_signature = true;  // false only for local experiments: logged as a warning
  std::string graph_api_version = "v23.0";
  std::string base_url = "https://graph.facebook.com";
  std::chrono::milliseconds timeout{30000};
  bool download_media = true;
  std::string media_dir;  // "" = <instance data dir>/media
  uint64_t max_media_bytes = 100ull * 1024 * 1024;
  std::size_t max_concurrent_downloads = 4;
  uint64_t media_quota = 5ull * 1024 * 1024 * 1024;                    // 0 = no quota
  std::chrono::milliseconds media_retention{30ll * 24 * 3600 * 1000};  // 0 = no sweep
  std::vector<std::string> media_hosts{"lookaside.fbsbx.com"};

  // "<base_url>/<version>/<path>", path without a leading slash.
  std::string graphUrl(const std::string& path) const;
};

// Reads the validated config (defaults already filled by the daemon).
// Throws waflow::Error(kInvalid) for combinations the schema cannot express.
ChannelConfig parseConfig(const waflow::Config& config);

}  // namespace waflow::cloudapi
