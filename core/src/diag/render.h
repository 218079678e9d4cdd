// Rendering of diagnostics for people (actionlint-style text with the source line and a
// caret) and for editors and scripts (JSON). Thread-safe as long as each thread passes its
// own SourceCache.
#pragma once

#include <string>
#include <vector>

#include "diag/diagnostic.h"
#include "diag/source_cache.h"

namespace waflow::core::diag {

// One block per diagnostic, in the given order:
//   waflow.yaml:12:5: unknown key 'chanels' (did you mean 'channels'?) [config-schema]
//      |
//   12 |     chanels:
//      |     ^~~~~~~
// Warnings say "warning: " before the message. The caret is followed by '~' up to the
// token's length (Diagnostic::length, or a quoted string's extent read from the source);
// the snippet is left out when the line cannot be read, the caret when the column is 0.
std::string renderText(const std::vector<Diagnostic>& diagnostics, SourceCache& sources);

// A JSON array of {file, line, column, length, severity, kind, message, hint, snippet}
// objects, where snippet is the offending source line ("" when unknown).
std::string renderJson(const std::vector<Diagnostic>& diagnostics, SourceCache& sources);

}  // namespace waflow::core::diag
