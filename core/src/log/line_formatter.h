// LineFormatter: the spdlog formatter behind every waflow log line, in text or JSON style.
//   text: 2026-11-21T21:03:01.123Z info  [http] [req=1a2b3c4d5e6f7a8b] message
//         (control characters in the message escaped, so one entry is always one line and a
//         customer's text cannot drive the operator's terminal)
//   json: {"time":"...","level":"info","logger":"http","request_id":"...","message":"..."}
// The request id comes from log::currentRequestId() of the calling thread and is omitted when
// empty. Thread-safe: format() keeps no shared state, so one instance serves all threads
// concurrently (unlike spdlog's pattern_formatter).
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/formatter.h>

namespace waflow::core::log {

class LineFormatter final : public spdlog::formatter {
 public:
  enum class Style { kText, kJson };

  explicit LineFormatter(Style style) : style_(style) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

  Style style() const { return style_; }

 private:
  Style style_;
};

// Appends `text` JSON-escaped (without quotes): quotes, backslashes and control characters
// (C0, DEL and C1, which a terminal showing the line would obey) escaped, invalid UTF-8 replaced by
// U+FFFD so every line stays parseable.
void appendJsonEscaped(std::string_view text, spdlog::memory_buf_t& dest);

// Appends `text` for a text-format line: \n, \r and \t as those two characters, the other C0
// controls, DEL and bytes that are not valid UTF-8 as \xNN, and the C1 controls
// (U+0080-U+009F) as \u0080-\u009f; everything else, backslashes included, unchanged.
void appendTextEscaped(std::string_view text, spdlog::memory_buf_t& dest);

// The short level name used in both styles: trace, debug, info, warn, error, critical, off.
std::string_view levelName(spdlog::level::level_enum level);

}  // namespace waflow::core::log
