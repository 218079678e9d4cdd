// The media descriptor of an inbound Cloud API message (image, video, audio, document,
// sticker): what the media downloader needs to fetch and check the file.
//
// Thread-safety: plain values and a pure function; safe from any thread.
#pragma once

#include <waflow/sdk/types.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace waflow::cloudapi {

struct MediaRef {
  std::string kind;       // "image", "video", "audio", "document" or "sticker"
  std::string id;         // media id for GET /<version>/<id>; expires 7 days after receipt
  std::string mime_type;  // e.g. "audio/ogg; codecs=opus"
  std::string sha256;     // base64 SHA-256 of the file, as Meta sends it ("" when absent)
  std::string filename;   // documents only
  std::string caption;
  std::string url;        // lookaside URL some newer payloads carry ("" when absent)
  bool voice = false;     // audio recorded as a push-to-talk voice note
  bool animated = false;  // animated sticker
};

// The media of a message parsed by WebhookParser (read from its raw_json), or nullopt when
// the message carries none or its raw_json has no media id.
std::optional<MediaRef> mediaOf(const waflow::InboundMessage& message);

// The same from a Cloud API message object's JSON text.
std::optional<MediaRef> mediaOfJson(std::string_view message_json);

}  // namespace waflow::cloudapi
