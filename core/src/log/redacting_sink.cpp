#include "log/redacting_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/pattern_formatter.h>

#include "log/line_formatter.h"

namespace waflow::core::log {
namespace {

// Generations are unique across all sinks, so a per-thread cache can never mistake a new
// sink at a recycled address for the one it cached.
std::atomic<uint64_t> g_next_generation{1};

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

bool redact(std::string_view text, const std::vector<std::string>& secrets, std::string& out) {
  bool changed = false;
  std::string scratch;
  for (const std::string& secret : secrets) {
    const std::string_view current = changed ? std::string_view(out) : text;
    std::size_t pos = current.find(secret);
    if (pos == std::string_view::npos) {
      continue;
    }
    scratch.clear();
    scratch.reserve(current.size());
    std::size_t start = 0;
    while (pos != std::string_view::npos) {
      scratch.append(current.substr(start, pos - start));
      scratch.append("***");
      start = pos + secret.size();
      pos = current.find(secret, start);
    }
    scratch.append(current.substr(start));
    out.swap(scratch);
    changed = true;
  }
  return changed;
}

RedactingSink::RedactingSink(std::unique_ptr<spdlog::formatter> formatter,
                             std::shared_ptr<LogOutput> output) {
  auto config = std::make_shared<Config>();
  config->formatter = makeThreadSafe(std::move(formatter));
  config->output = std::move(output);
  std::lock_guard lock(mu_);
  publishLocked(std::move(config));
}

void RedactingSink::configure(std::unique_ptr<spdlog::formatter> formatter,
                              std::shared_ptr<LogOutput> output) {
  auto shared_formatter = makeThreadSafe(std::move(formatter));
  std::lock_guard lock(mu_);
  auto config = std::make_shared<Config>(*config_);
  config->formatter = std::move(shared_formatter);
  config->output = std::move(output);
  publishLocked(std::move(config));
}

void RedactingSink::addSecret(std::string_view secret) {
  if (secret.size() < 4) {
    return;
  }
  spdlog::memory_buf_t escaped_buf;
  appendJsonEscaped(secret, escaped_buf);
  const std::string escaped(escaped_buf.data(), escaped_buf.size());

  std::lock_guard lock(mu_);
  auto config = std::make_shared<Config>(*config_);
  for (const std::string& form : {std::string(secret), escaped}) {
    if (std::find(config->secrets.begin(), config->secrets.end(), form) == config->secrets.end()) {
      config->secrets.push_back(form);
    }
  }
  std::stable_sort(config->secrets.begin(), config->secrets.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  publishLocked(std::move(config));
}

void RedactingSink::set_pattern_(const std::string& pattern) {
  set_formatter_(std::make_unique<spdlog::pattern_formatter>(pattern));
}

void RedactingSink::set_formatter_(std::unique_ptr<spdlog::formatter> formatter) {
  auto shared_formatter = makeThreadSafe(std::move(formatter));
  std::lock_guard lock(mu_);
  auto config = std::make_shared<Config>(*config_);
  config->formatter = std::move(shared_formatter);
  publishLocked(std::move(config));
}

void RedactingSink::publishLocked(std::shared_ptr<const Config> config) {
  config_ = std::move(config);
  generation_.store(g_next_generation.fetch_add(1, std::memory_order_relaxed),
                    std::memory_order_release);
}

const RedactingSink::Config& RedactingSink::snapshot() const {
  struct Cache {
    uint64_t generation = 0;
    std::shared_ptr<const Config> config;
  };
  thread_local Cache cache;
  const uint64_t current = generation_.load(std::memory_order_acquire);
  if (cache.generation != current || cache.config == nullptr) {
    std::lock_guard lock(mu_);
    cache.config = config_;
    cache.generation = generation_.load(std::memory_order_relaxed);
  }
  return *cache.config;
}

void RedactingSink::sink_it_(const spdlog::details::log_msg& msg) {
  // A reference into the thread's cache: no reference-count traffic on the hot path. It stays
  // valid for this call because only this thread replaces its cache.
  const Config& config = snapshot();
  thread_local spdlog::memory_buf_t line;
  line.clear();
  config.formatter->format(msg, line);
  std::string_view text(line.data(), line.size());
  if (!config.secrets.empty()) {
    thread_local std::string redacted;
    if (redact(text, config.secrets, redacted)) {
      text = redacted;
    }
  }
  config.output->write(text);
}

}  // namespace waflow::core::log
