// RedactingSink: the one spdlog sink behind every waflow logger. It formats each message with
// its formatter, runs the process's Redactor over the final line (every secret becomes "***")
// and writes the line to its output (stderr or a file) with one write(2).
//
// Thread-safety: all public members are thread-safe. Formatting and redaction run on the
// logging thread without locks: the configuration is an immutable snapshot that each thread
// caches and re-reads only after a change (concurrency::Published: one atomic load per line). Only
// the write itself is serialized, so concurrent lines never interleave. A thread that has not
// logged since a reconfiguration keeps the previous output open until its next line.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include "concurrency/published.h"
#include "text/redactor.h"

namespace waflow::core::log {

// A file descriptor that receives whole lines. Thread-safe.
class LogOutput {
 public:
  static std::shared_ptr<LogOutput> standardError();
  // Opens `path` for appending, creating it (mode 0640) if needed. Throws std::runtime_error
  // naming the path and the reason.
  static std::shared_ptr<LogOutput> openFile(const std::string& path);

  LogOutput(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~LogOutput();
  LogOutput(const LogOutput&) = delete;
  LogOutput& operator=(const LogOutput&) = delete;

  // Writes all of `line`, retrying short writes; a failing descriptor drops the line (there
  // is nowhere left to report it).
  void write(std::string_view line);

 private:
  int fd_;
  bool owned_;
  std::mutex mu_;
};

class RedactingSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  // `redactor` must outlive the sink.
  RedactingSink(std::unique_ptr<spdlog::formatter> formatter, std::shared_ptr<LogOutput> output,
                const text::Redactor& redactor);

  // Replaces formatter and output together, so no line mixes old and new settings.
  void configure(std::unique_ptr<spdlog::formatter> formatter, std::shared_ptr<LogOutput> output);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}
  void set_pattern_(const std::string& pattern) override;
  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override;

 private:
  struct Config {
    std::shared_ptr<spdlog::formatter> formatter;  // thread-safe (see set_formatter_)
    std::shared_ptr<LogOutput> output;
  };

  static std::shared_ptr<const Config> makeConfig(std::unique_ptr<spdlog::formatter> formatter,
                                                  std::shared_ptr<LogOutput> output);

  const text::Redactor& redactor_;
  concurrency::Published<Config> config_;
};

}  // namespace waflow::core::log
