// Redactor: replaces every registered secret in a text by "***". The daemon has one
// (log::redactor()): the log sink runs it over every line, and the boundaries where text from
// outside is stored or published (errors from plugins, flow step errors, the outbox's error
// column, message.failed events) run it over that text. `waflow validate` uses it to keep
// secrets out of diagnostics, snippets included.
//
// Thread-safety: every member is thread-safe. add() publishes a new immutable set of secrets
// (concurrency::Published), so redacting takes no lock on the hot path (one atomic load).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "concurrency/published.h"

namespace waflow::core::text {

class Redactor {
 public:
  // Shorter secrets are ignored: redacting "abc" would mangle ordinary text.
  static constexpr std::size_t kMinLength = 4;
  static constexpr std::string_view kMask = "***";

  // A byte range [begin, end) of a text holding a secret.
  struct Span {
    std::size_t begin = 0;
    std::size_t end = 0;
  };

  Redactor();
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;

  // From now on `secret` is redacted (exactly these bytes; callers add encoded forms, such as
  // the JSON-escaped one, as secrets of their own).
  void add(std::string_view secret);

  // `text` with each secret replaced by kMask into `out`; false (and `out` untouched) when no
  // secret occurs, so the common case copies nothing.
  bool redact(std::string_view text, std::string& out) const;
  std::string redacted(std::string_view text) const;

  // Where secrets occur in `text`: sorted, not overlapping; where two overlap the longer wins.
  std::vector<Span> find(std::string_view text) const;

 private:
  using Secrets = std::vector<std::string>;  // longest first
  concurrency::Published<Secrets> secrets_;
};

}  // namespace waflow::core::text
