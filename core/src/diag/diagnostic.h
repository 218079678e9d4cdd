// Diagnostic: one problem found in a user-written file (config, flow), located by file, line
// and column, plus DiagnosticList, an ordered collection of them.
// Plain values; DiagnosticList is not thread-safe (build it on one thread, then share it
// read-only).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::diag {

enum class Severity { kError, kWarning };

// "error" / "warning".
std::string_view severityName(Severity severity);

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown (the whole file)
  int column = 0;  // 1-based, in bytes of the line; 0 = unknown
  int length = 0;  // length of the offending token in characters; 0 = unknown
  Severity severity = Severity::kError;
  std::string kind;     // machine-readable category, e.g. "config-schema", "config-yaml"
  std::string message;  // what is wrong, naming the key path
  std::string hint;     // optional: "did you mean 'x'?" or what to do; rendered in parentheses

  // message, followed by " (hint)" when there is a hint: the text shown to people.
  std::string text() const;
};

// Orders by file, then line, then column (unknown positions first); stable otherwise.
bool locationLess(const Diagnostic& a, const Diagnostic& b);

class DiagnosticList {
 public:
  void add(Diagnostic diagnostic);
  void add(std::string file, int line, int column, std::string kind, std::string message,
           std::string hint = {}, Severity severity = Severity::kError);
  void append(const std::vector<Diagnostic>& diagnostics);

  bool hasErrors() const;
  size_t errorCount() const;
  size_t warningCount() const;
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }

  // In insertion order.
  const std::vector<Diagnostic>& items() const { return items_; }
  // Sorted by location (see locationLess).
  std::vector<Diagnostic> sorted() const;
  // Moves the diagnostics out, sorted by location.
  std::vector<Diagnostic> takeSorted();

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace waflow::core::diag
