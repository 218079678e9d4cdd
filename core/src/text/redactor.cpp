#include "text/redactor.h"

#include <algorithm>

namespace waflow::core::text {
namespace {

bool overlaps(const std::vector<Redactor::Span>& spans, std::size_t begin, std::size_t end) {
  return std::any_of(spans.begin(), spans.end(),
                     [&](const Redactor::Span& s) { return begin < s.end && s.begin < end; });
}

}  // namespace

Redactor::Redactor() : secrets_(std::make_shared<const Secrets>()) {}

void Redactor::add(std::string_view secret) {
  if (secret.size() < kMinLength) {
    return;
  }
  secrets_.update([secret](Secrets& secrets) {
    if (std::find(secrets.begin(), secrets.end(), secret) != secrets.end()) {
      return;
    }
    secrets.emplace_back(secret);
    std::stable_sort(
        secrets.begin(), secrets.end(),
        [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  });
}

std::vector<Redactor::Span> Redactor::find(std::string_view text) const {
  std::vector<Span> spans;
  for (const std::string& secret : secrets_.local()) {
    for (std::size_t pos = text.find(secret); pos != std::string_view::npos;
         pos = text.find(secret, pos + 1)) {
      if (!overlaps(spans, pos, pos + secret.size())) {
        spans.push_back({pos, pos + secret.size()});
      }
    }
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  return spans;
}

bool Redactor::redact(std::string_view text, std::string& out) const {
  const std::vector<Span> spans = find(text);
  if (spans.empty()) {
    return false;
  }
  out.clear();
  std::size_t start = 0;
  for (const Span& span : spans) {
    out.append(text.substr(start, span.begin - start));
    out.append(kMask);
    start = span.end;
  }
  out.append(text.substr(start));
  return true;
}

std::string Redactor::redacted(std::string_view text) const {
  std::string out;
  if (!redact(text, out)) {
    out.assign(text);
  }
  return out;
}

}  // namespace waflow::core::text
