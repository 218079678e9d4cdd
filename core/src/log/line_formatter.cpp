#include "log/line_formatter.h"

#include <ctime>

#include "log/log.h"

namespace waflow::core::log {
namespace {

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// "2026-11-21T21:03:01.123Z". gmtime_r is slow enough to matter at high line rates, so each
// thread caches the formatted seconds.
void appendTimestamp(std::chrono::system_clock::time_point time, spdlog::memory_buf_t& dest) {
  struct SecondCache {
    std::time_t seconds = -1;
    char text[24] = {};
    std::size_t size = 0;
  };
  thread_local SecondCache cache;

  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  std::time_t whole = static_cast<std::time_t>(seconds.count());
  if (millis < 0) {  // before 1970: keep the millisecond part positive
    millis += 1000;
    --whole;
  }
  if (whole != cache.seconds) {
    std::tm tm{};
    gmtime_r(&whole, &tm);
    cache.size = std::strftime(cache.text, sizeof(cache.text), "%Y-%m-%dT%H:%M:%S", &tm);
    cache.seconds = whole;
  }
  append(dest, std::string_view(cache.text, cache.size));
  const char tail[6] = {'.',
                        static_cast<char>('0' + millis / 100),
                        static_cast<char>('0' + millis / 10 % 10),
                        static_cast<char>('0' + millis % 10),
                        'Z',
                        '\0'};
  append(dest, std::string_view(tail, 5));
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) {
      min_second = 0xA0;
    } else if (lead == 0xED) {
      max_second = 0x9F;
    }
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) {
      min_second = 0x90;
    } else if (lead == 0xF4) {
      max_second = 0x8F;
    }
  } else {
    return 0;
  }
  if (i + length > text.size()) {
    return 0;
  }
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) {
    return 0;
  }
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
      return 0;
    }
  }
  return length;
}

// "\u00XX" for the code point `low` (below U+0100).
void appendU00(spdlog::memory_buf_t& dest, unsigned char low) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char escaped[6] = {'\\', 'u', '0', '0', kHex[low >> 4], kHex[low & 0xF]};
  append(dest, std::string_view(escaped, 6));
}

// True when text[i] starts the UTF-8 form of a C1 control (U+0080-U+009F): valid text, but a
// terminal showing it would obey it.
bool isC1Control(std::string_view text, std::size_t i) {
  return static_cast<unsigned char>(text[i]) == 0xC2 && i + 1 < text.size() &&
         static_cast<unsigned char>(text[i + 1]) < 0xA0;
}

}  // namespace

std::string_view levelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

void appendTextEscaped(std::string_view text, spdlog::memory_buf_t& dest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t start = 0;  // of the run copied unchanged
  std::size_t i = 0;
  auto escape = [&](std::size_t length, std::string_view replacement) {
    append(dest, text.substr(start, i - start));
    append(dest, replacement);
    i += length;
    start = i;
  };
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      ++i;
    } else if (c == '\n') {
      escape(1, "\\n");
    } else if (c == '\r') {
      escape(1, "\\r");
    } else if (c == '\t') {
      escape(1, "\\t");
    } else if (const std::size_t length = c < 0x80 ? 0 : utf8SequenceLength(text, i);
               length == 0) {  // the other C0 controls, DEL, and bytes that are not UTF-8
      const char escaped[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xF]};
      escape(1, std::string_view(escaped, 4));
    } else if (isC1Control(text, i)) {
      append(dest, text.substr(start, i - start));
      appendU00(dest, static_cast<unsigned char>(text[i + 1]));
      i += length;
      start = i;
    } else {
      i += length;
    }
  }
  append(dest, text.substr(start));
}

void appendJsonEscaped(std::string_view text, spdlog::memory_buf_t& dest) {
  std::size_t i = 0;
  while (i < text.size()) {
    // Copy the longest run that needs no escaping in one go.
    std::size_t run = i;
    while (run < text.size()) {
      const auto c = static_cast<unsigned char>(text[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7F) {
        break;
      }
      ++run;
    }
    append(dest, text.substr(i, run - i));
    i = run;
    if (i == text.size()) {
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8SequenceLength(text, i);
      if (length == 0) {
        append(dest, "\\ufffd");
        ++i;
      } else if (isC1Control(text, i)) {
        appendU00(dest, static_cast<unsigned char>(text[i + 1]));
        i += length;
      } else {
        append(dest, text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        append(dest, "\\\"");
        break;
      case '\\':
        append(dest, "\\\\");
        break;
      case '\n':
        append(dest, "\\n");
        break;
      case '\r':
        append(dest, "\\r");
        break;
      case '\t':
        append(dest, "\\t");
        break;
      case '\b':
        append(dest, "\\b");
        break;
      case '\f':
        append(dest, "\\f");
        break;
      default:
        appendU00(dest, c);
    }
    ++i;
  }
}

void LineFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const std::string_view logger(msg.logger_name.data(), msg.logger_name.size());
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  const std::string_view request_id = currentRequestId();
  const std::string_view level = levelName(msg.level);

  if (style_ == Style::kText) {
    appendTimestamp(msg.time, dest);
    dest.push_back(' ');
    append(dest, level);
    for (std::size_t pad = level.size(); pad < 5; ++pad) {
      dest.push_back(' ');
    }
    append(dest, " [");
    append(dest, logger);
    dest.push_back(']');
    if (!request_id.empty()) {
      append(dest, " [req=");
      append(dest, request_id);
      dest.push_back(']');
    }
    dest.push_back(' ');
    appendTextEscaped(payload, dest);
    dest.push_back('\n');
    return;
  }

  append(dest, "{\"time\":\"");
  appendTimestamp(msg.time, dest);
  append(dest, "\",\"level\":\"");
  append(dest, level);
  append(dest, "\",\"logger\":\"");
  appendJsonEscaped(logger, dest);
  if (!request_id.empty()) {
    append(dest, "\",\"request_id\":\"");
    appendJsonEscaped(request_id, dest);
  }
  append(dest, "\",\"message\":\"");
  appendJsonEscaped(payload, dest);
  append(dest, "\"}\n");
}

std::unique_ptr<spdlog::formatter> LineFormatter::clone() const {
  return std::make_unique<LineFormatter>(style_);
}

}  // namespace waflow::core::log
