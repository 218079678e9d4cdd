#include "diag/diagnostic.h"

#include <algorithm>
#include <tuple>

namespace waflow::core::diag {

std::string_view severityName(Severity severity) {
  return severity == Severity::kError ? "error" : "warning";
}

std::string Diagnostic::text() const {
  if (hint.empty()) {
    return message;
  }
  return message + " (" + hint + ")";
}

bool locationLess(const Diagnostic& a, const Diagnostic& b) {
  return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
}

void DiagnosticList::add(Diagnostic diagnostic) {
  items_.push_back(std::move(diagnostic));
}

void DiagnosticList::add(std::string file, int line, int column, std::string kind,
                         std::string message, std::string hint, Severity severity) {
  Diagnostic d;
  d.file = std::move(file);
  d.line = line;
  d.column = column;
  d.severity = severity;
  d.kind = std::move(kind);
  d.message = std::move(message);
  d.hint = std::move(hint);
  items_.push_back(std::move(d));
}

void DiagnosticList::append(const std::vector<Diagnostic>& diagnostics) {
  items_.insert(items_.end(), diagnostics.begin(), diagnostics.end());
}

bool DiagnosticList::hasErrors() const {
  return errorCount() > 0;
}

size_t DiagnosticList::errorCount() const {
  return static_cast<size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::kError;
  }));
}

size_t DiagnosticList::warningCount() const {
  return items_.size() - errorCount();
}

std::vector<Diagnostic> DiagnosticList::sorted() const {
  std::vector<Diagnostic> out = items_;
  std::stable_sort(out.begin(), out.end(), locationLess);
  return out;
}

std::vector<Diagnostic> DiagnosticList::takeSorted() {
  std::vector<Diagnostic> out = std::move(items_);
  items_.clear();
  std::stable_sort(out.begin(), out.end(), locationLess);
  return out;
}

}  // namespace waflow::core::diag
