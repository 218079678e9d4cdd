// Parsing and printing of durations ("250ms", "1h30m") and sizes ("64KiB", "1MB") as written
// in config files. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace waflow::core::config {

struct ParsedQuantity {
  std::optional<int64_t> value;  // milliseconds or bytes; nullopt on error
  std::string error;             // why the text was rejected
  std::string hint;              // what to write instead
};

// One or more <number><unit> parts (spaces allowed), units ms, s, m, h, d (e.g. 250ms, 30s,
// 1h30m, 1.5h, 2d); "0" alone is allowed. Result in milliseconds, rounded to the nearest one.
ParsedQuantity parseDuration(std::string_view text);

// A number of bytes, optionally followed by a unit: B, KB/MB/GB/TB (powers of 1000) or
// KiB/MiB/GiB/TiB (powers of 1024), case-insensitive, e.g. 512, 64KB, 1MiB, 1.5GB.
ParsedQuantity parseSize(std::string_view text);

// The shortest exact spelling, e.g. 5400000 -> "1h30m", 1500 -> "1s500ms", 0 -> "0s".
std::string formatDuration(int64_t milliseconds);
// The largest unit that divides exactly, e.g. 1048576 -> "1MiB", 64000 -> "64KB", 7 -> "7B".
std::string formatSize(int64_t bytes);

}  // namespace waflow::core::config
