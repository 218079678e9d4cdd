#include "log/log.h"

#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "log/line_formatter.h"
#include "log/redacting_sink.h"

namespace waflow::core::log {
namespace {

// Process-wide logging state. Deliberately never destroyed: threads and static destructors
// may still log during shutdown.
struct Core {
  text::Redactor redactor;
  std::shared_ptr<RedactingSink> sink =
      std::make_shared<RedactingSink>(std::make_unique<LineFormatter>(LineFormatter::Style::kText),
                                      LogOutput::standardError(), redactor);
  std::mutex mu;  // guards loggers and level changes
  std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers;
  spdlog::level::level_enum level = spdlog::level::info;
};

Core& core() {
  static Core* const instance = new Core();
  return *instance;
}

thread_local std::string t_request_id;

}  // namespace

spdlog::level::level_enum parseLevel(std::string_view name) {
  if (name == "trace") {
    return spdlog::level::trace;
  }
  if (name == "debug") {
    return spdlog::level::debug;
  }
  if (name == "info") {
    return spdlog::level::info;
  }
  if (name == "warn" || name == "warning") {
    return spdlog::level::warn;
  }
  if (name == "error") {
    return spdlog::level::err;
  }
  if (name == "critical") {
    return spdlog::level::critical;
  }
  if (name == "off") {
    return spdlog::level::off;
  }
  throw std::invalid_argument("unknown log level '" + std::string(name) +
                              "': use one of trace, debug, info, warn, error, critical, off");
}

void init(const Options& options) {
  // Validate everything before changing anything, so a bad config leaves logging working.
  const spdlog::level::level_enum level = parseLevel(options.level);
  LineFormatter::Style style;
  if (options.format == "text") {
    style = LineFormatter::Style::kText;
  } else if (options.format == "json") {
    style = LineFormatter::Style::kJson;
  } else {
    throw std::invalid_argument("unknown log format '" + options.format +
                                "': use 'text' or 'json'");
  }
  std::shared_ptr<LogOutput> output =
      options.file.empty() ? LogOutput::standardError() : LogOutput::openFile(options.file);

  Core& c = core();
  c.sink->configure(std::make_unique<LineFormatter>(style), std::move(output));
  std::lock_guard lock(c.mu);
  c.level = level;
  for (auto& [name, logger] : c.loggers) {
    logger->set_level(level);
  }
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  Core& c = core();
  std::lock_guard lock(c.mu);
  auto it = c.loggers.find(name);
  if (it != c.loggers.end()) {
    return it->second;
  }
  auto logger = std::make_shared<spdlog::logger>(name, c.sink);
  logger->set_level(c.level);
  // Lines are written unbuffered by the sink; nothing to flush.
  logger->flush_on(spdlog::level::off);
  c.loggers.emplace(name, logger);
  return logger;
}

void addSecret(std::string_view secret) {
  if (secret.size() < text::Redactor::kMinLength) {
    return;
  }
  text::Redactor& redactor = core().redactor;
  redactor.add(secret);
  // How the two line formats write it when it holds quotes, backslashes or control characters.
  for (auto append : {&appendJsonEscaped, &appendTextEscaped}) {
    spdlog::memory_buf_t escaped;
    append(secret, escaped);
    redactor.add(std::string_view(escaped.data(), escaped.size()));
  }
}

const text::Redactor& redactor() {
  return core().redactor;
}

std::string redacted(std::string_view text) {
  return core().redactor.redacted(text);
}

RequestScope::RequestScope(std::string_view id) : previous_(t_request_id) {
  t_request_id.assign(id.data(), id.size());
}

RequestScope::~RequestScope() {
  t_request_id.swap(previous_);
}

std::string_view currentRequestId() {
  return t_request_id;
}

std::string newRequestId() {
  // splitmix64: tiny state, good statistical quality; request ids need uniqueness, not secrecy.
  thread_local uint64_t state = [] {
    std::random_device device;
    const uint64_t seed = (static_cast<uint64_t>(device()) << 32) ^ device();
    return seed ^ static_cast<uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  }();
  state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;

  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kHex[z & 0xF];
    z >>= 4;
  }
  return id;
}

}  // namespace waflow::core::log
