// Logging for the daemon and its plugins: named spdlog loggers that share one sink, one
// level and one line format (text or JSON), a thread-local request id stamped on every line,
// and the process's secrets: redacted from every formatted line, and (through redacted())
// from every text the daemon stores or publishes that may echo one.
//
// Thread-safety: every function here is thread-safe. init() may be called again at any time
// (e.g. once the config is loaded) and takes effect for all loggers, including those already
// handed out by get(). Lines are written synchronously, one write(2) per line, so nothing is
// lost on a crash and the request id is read on the logging thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/common.h>
#include <spdlog/logger.h>

#include "text/redactor.h"

namespace waflow::core::log {

struct Options {
  std::string level = "info";   // trace | debug | info | warn | error | critical | off
  std::string format = "text";  // text | json (one JSON object per line, for Loki/ELK)
  std::string file;             // "" = stderr; otherwise appended to, created if missing
};

// (Re)configures the shared sink and level. Until the first call: text, info, stderr.
// Throws std::invalid_argument for an unknown level or format and std::runtime_error when the
// file cannot be opened; the previous configuration then stays in force.
void init(const Options& options);

// The logger called `name` ("http", "bus", "plugin:sandbox"), created on first use. Loggers
// are never destroyed, so callers may keep the pointer (or a raw reference) for good.
std::shared_ptr<spdlog::logger> get(const std::string& name);

// From now on every occurrence of `secret` in a line (also in its JSON-escaped form and in
// the escaped form of a text line) is written as "***", and redacted() hides it. Secrets are
// the values of config keys a schema marks secret, ${file:...} values, and what plugins
// register; not every ${ENV} value. Secrets shorter than 4 characters are ignored: redacting
// them would mangle ordinary text.
void addSecret(std::string_view secret);

// The process's redactor, holding every secret added above.
const text::Redactor& redactor();

// `text` with every secret replaced by "***": apply it to text from outside (a provider's
// error, a response body) before it is stored or published on the bus.
std::string redacted(std::string_view text);

// Parses a level name as accepted by Options::level ("warning" is accepted for "warn").
// Throws std::invalid_argument naming the accepted values.
spdlog::level::level_enum parseLevel(std::string_view name);

// Sets the current thread's request id for its lifetime and restores the previous one.
// Not movable: it must live on the stack of the thread it affects.
class RequestScope {
 public:
  explicit RequestScope(std::string_view id);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  std::string previous_;
};

// The current thread's request id; "" when none is set. Valid until the thread's next
// RequestScope change.
std::string_view currentRequestId();

// A fresh random request id: 16 lowercase hex characters (64 bits from a per-thread PRNG).
std::string newRequestId();

}  // namespace waflow::core::log
