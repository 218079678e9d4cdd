#include "diag/closest_match.h"

#include <algorithm>
#include <limits>

namespace waflow::core::diag {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

size_t editDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  // Three rows suffice for the transposition lookback.
  std::vector<size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  size_t best = std::numeric_limits<size_t>::max();
  const std::string* best_candidate = nullptr;
  for (const std::string& candidate : candidates) {
    const size_t distance = editDistance(word, candidate);
    const size_t longer = std::max(word.size(), candidate.size());
    const size_t threshold = std::max<size_t>(1, longer / 3);
    if (distance <= threshold && distance < best) {
      best = distance;
      best_candidate = &candidate;
    }
  }
  return best_candidate != nullptr ? *best_candidate : std::string();
}

}  // namespace waflow::core::diag
