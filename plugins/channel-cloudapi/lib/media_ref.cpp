#include "media_ref.h"

#include <nlohmann/json.hpp>

namespace waflow::cloudapi {
namespace {

bool isMediaKind(std::string_view type) {
  return type == "image" || type == "video" || type == "audio" || type == "document" ||
         type == "sticker";
}

std::string stringAt(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it != object.end() && it->is_string()) {
    return it->get<std::string>();
  }
  return {};
}

bool boolAt(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

std::optional<MediaRef> mediaOfJson(std::string_view message_json) {
  nlohmann::json message = nlohmann::json::parse(message_json, nullptr, /*allow_exceptions=*/false);
  if (!message.is_object()) {
    return std::nullopt;
  }
  std::string type = stringAt(message, "type");
  if (!isMediaKind(type)) {
    return std::nullopt;
  }
  auto payload = message.find(type);
  if (payload == message.end() || !payload->is_object()) {
    return std::nullopt;
  }
  MediaRef ref;
  ref.kind = type;
  ref.id = stringAt(*payload, "id");
  if (ref.id.empty()) {
    return std::nullopt;
  }
  ref.mime_type = stringAt(*payload, "mime_type");
  ref.sha256 = stringAt(*payload, "sha256");
  ref.filename = stringAt(*payload, "filename");
  ref.caption = stringAt(*payload, "caption");
  ref.url = stringAt(*payload, "url");
  ref.voice = boolAt(*payload, "voice");
  ref.animated = boolAt(*payload, "animated");
  return ref;
}

std::optional<MediaRef> mediaOf(const waflow::InboundMessage& message) {
  // Most messages are text: skip the JSON parse for them.
  if (!isMediaKind(message.type)) {
    return std::nullopt;
  }
  return mediaOfJson(message.raw_json);
}

}  // namespace waflow::cloudapi
