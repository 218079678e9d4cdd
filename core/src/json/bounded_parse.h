// parseBounded(): nlohmann::json parsing for JSON that comes from outside the core (requests,
// webhooks, plugins, AI models, remote servers), bounded in size and nesting depth.
//
// Why: a parsed document is later copied, compared and destroyed by recursive code, so
// 300,000 nested '[' overflow the stack long after the parse succeeded. Refusing depth at
// parse time, with the byte offset of the first container too deep, keeps every later step
// safe and tells the sender exactly where its document went wrong.
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace waflow::core::json_input {

struct JsonLimits {
  std::size_t max_depth = 64;                // nested objects and arrays, the outermost is 1
  std::size_t max_bytes = 16 * 1024 * 1024;  // the whole text
};

struct BoundedJson {
  nlohmann::json value;  // the document; discarded when !ok()
  // Empty on success, else what is wrong and where, e.g. "JSON nested deeper than 64 levels
  // at byte 64" or "not valid JSON at byte 12: syntax error ...".
  std::string error;
  std::size_t offset = 0;  // 0-based byte offset of the problem

  bool ok() const noexcept { return error.empty(); }
};

BoundedJson parseBounded(std::string_view text, const JsonLimits& limits = {});

// The document, or a discarded value (is_discarded(), and neither an object nor an array) when
// the text is not JSON or exceeds `limits`: the drop-in for json::parse(text, nullptr, false)
// where the caller only needs to know that the text is unusable.
nlohmann::json parseOrDiscarded(std::string_view text, const JsonLimits& limits = {});

}  // namespace waflow::core::json_input
