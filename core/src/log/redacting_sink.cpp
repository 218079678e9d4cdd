#include "log/redacting_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/pattern_formatter.h>

#include "log/line_formatter.h"

namespace waflow::core::log {
namespace {

// spdlog's own formatters (set_pattern, foreign set_formatter) cache state in format() and
// must not run concurrently; this wrapper serializes them. LineFormatter needs no wrapper.
class SerializedFormatter final : public spdlog::formatter {
 public:
  explicit SerializedFormatter(std::unique_ptr<spdlog::formatter> inner)
      : inner_(std::move(inner)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::lock_guard lock(mu_);
    inner_->format(msg, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    std::lock_guard lock(mu_);
    return std::make_unique<SerializedFormatter>(inner_->clone());
  }

 private:
  mutable std::mutex mu_;
  std::unique_ptr<spdlog::formatter> inner_;
};

std::shared_ptr<spdlog::formatter> makeThreadSafe(std::unique_ptr<spdlog::formatter> formatter) {
  if (dynamic_cast<LineFormatter*>(formatter.get()) != nullptr) {
    return formatter;
  }
  return std::make_shared<SerializedFormatter>(std::move(formatter));
}

}  // namespace

std::shared_ptr<LogOutput> LogOutput::standardError() {
  return std::make_shared<LogOutput>(STDERR_FILENO, false);
}

std::shared_ptr<LogOutput> LogOutput::openFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    throw std::runtime_error("cannot open log file '" + path + "': " + std::strerror(errno) +
                             " (check that the directory exists and is writable, or set an "
                             "empty log file to log to stderr)");
  }
  return std::make_shared<LogOutput>(fd, true);
}

LogOutput::~LogOutput() {
  if (owned_) {
    ::close(fd_);
  }
}

void LogOutput::write(std::string_view line) {
  std::lock_guard lock(mu_);
  while (!line.empty()) {
    const ssize_t written = ::write(fd_, line.data(), line.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    line.remove_prefix(static_cast<std::size_t>(written));
  }
}

std::shared_ptr<const RedactingSink::Config> RedactingSink::makeConfig(
    std::unique_ptr<spdlog::formatter> formatter, std::shared_ptr<LogOutput> output) {
  auto config = std::make_shared<Config>();
  config->formatter = makeThreadSafe(std::move(formatter));
  config->output = std::move(output);
  return config;
}

RedactingSink::RedactingSink(std::unique_ptr<spdlog::formatter> formatter,
                             std::shared_ptr<LogOutput> output, const text::Redactor& redactor)
    : redactor_(redactor), config_(makeConfig(std::move(formatter), std::move(output))) {}

void RedactingSink::configure(std::unique_ptr<spdlog::formatter> formatter,
                              std::shared_ptr<LogOutput> output) {
  config_.publish(makeConfig(std::move(formatter), std::move(output)));
}

void RedactingSink::set_pattern_(const std::string& pattern) {
  set_formatter_(std::make_unique<spdlog::pattern_formatter>(pattern));
}

void RedactingSink::set_formatter_(std::unique_ptr<spdlog::formatter> formatter) {
  std::shared_ptr<spdlog::formatter> shared_formatter = makeThreadSafe(std::move(formatter));
  config_.update([&](Config& config) { config.formatter = std::move(shared_formatter); });
}

void RedactingSink::sink_it_(const spdlog::details::log_msg& msg) {
  const Config& config = config_.local();
  thread_local spdlog::memory_buf_t line;
  line.clear();
  config.formatter->format(msg, line);
  std::string_view text(line.data(), line.size());
  thread_local std::string redacted;
  if (redactor_.redact(text, redacted)) {
    text = redacted;
  }
  config.output->write(text);
}

}  // namespace waflow::core::log
