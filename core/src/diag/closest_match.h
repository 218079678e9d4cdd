// closestMatch: "did you mean ...?" suggestions for misspelt keys, enum values and ids.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::diag {

// Optimal-string-alignment (Damerau-Levenshtein) distance: insertions, deletions,
// substitutions and transpositions of adjacent characters each cost 1. Compares bytes,
// ASCII case-insensitively.
size_t editDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, or "" when none is close enough. Close enough means an
// edit distance of at most max(1, longer_length / 3), so short words need near-exact
// matches; an exact case-insensitive match always wins. Ties go to the earlier candidate.
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace waflow::core::diag
