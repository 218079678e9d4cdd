// RedactingSink: the one spdlog sink behind every waflow logger. It formats each message with
// its formatter, replaces every registered secret in the final line with "***" and writes the
// line to its output (stderr or a file) with one write(2).
//
// Thread-safety: all public members are thread-safe. Formatting and redaction run on the
// logging thread without locks: the configuration is an immutable snapshot that each thread
// caches and re-reads only after a change (one relaxed-cost atomic load per line). Only the
// write itself is serialized, so concurrent lines never interleave. A thread that has not
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
  RedactingSink(std::unique_ptr<spdlog::formatter> formatter, std::shared_ptr<LogOutput> output);

  // Replaces formatter and output together, so no line mixes old and new settings.
  void configure(std::unique_ptr<spdlog::formatter> formatter, std::shared_ptr<LogOutput> output);
  // See log::addSecret(); registers `secret` and its JSON-escaped form.
  void addSecret(std::string_view secret);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}
  void set_pattern_(const std::string& pattern) override;
  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override;

 private:
  struct Config {
    std::shared_ptr<spdlog::formatter> formatter;  // thread-safe (see set_formatter_)
    std::shared_ptr<LogOutput> output;
    std::vector<std::string> secrets;  // longest first, so a secret containing another wins
  };

  const Config& snapshot() const;  // the calling thread's cached copy of config_
  void publishLocked(std::shared_ptr<const Config> config);

  mutable std::mutex mu_;  // guards config_ and serializes writers of generation_
  std::shared_ptr<const Config> config_;
  std::atomic<uint64_t> generation_{0};  // globally unique id of config_
};

// Replaces every occurrence of each secret in `text` by "***". Returns false (and leaves `out`
// alone) when nothing matched. `secrets` must be ordered longest first.
bool redact(std::string_view text, const std::vector<std::string>& secrets, std::string& out);

}  // namespace waflow::core::log
