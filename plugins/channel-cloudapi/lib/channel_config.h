// The channel-cloudapi instance's settings: its config schema (what
// `waflow plugins` lists and the daemon validates) and the parsed values.
//
// Thread-safety: an immutable value after parsing.
#pragma once

#include <waflow/sdk/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace waflow::cloudapi {

// JSON Schema (the daemon's subset) of the `config:` block.
extern const char* const kConfigSchema;

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
  std::string media_dir;          // "" = <instance data dir>/media
  uint64_t max_media_bytes = 100ull * 1024 * 1024;

  // "<base_url>/<version>/<path>", path without a leading slash.
  std::string graphUrl(const std::string& path) const;
};

// Reads the validated config (defaults already filled by the daemon).
// Throws waflow::Error(kInvalid) for combinations the schema cannot express.
ChannelConfig parseConfig(const waflow::Config& config);

}  // namespace waflow::cloudapi
