// Rendering of diagnostics for people (actionlint-style text with the source line and a
// caret) and for editors and scripts (JSON). Thread-safe as long as each thread passes its
// own SourceCache.
#pragma once

#include <string>
#include <vector>

#include "diag/diagnostic.h"
#include "diag/source_cache.h"
#include "text/redactor.h"

namespace waflow::core::diag {

// One block per diagnostic, in the given order:
//   waflow.yaml:12:5: unknown key 'chanels' (did you mean 'channels'?) [config-schema]
//      |
//   12 |     chanels:
//      |     ^~~~~~~
// Warnings say "warning: " before the message. The caret is followed by '~' up to the
// token's length (Diagnostic::length, or a quoted string's extent read from the source);
// the snippet is left out when the line cannot be read, the caret when the column is 0.
// With `secrets`, every secret in the message, the hint and the snippet is shown as "***"; the
// caret still points at the same token of the masked line (and at "***" when the token was
// the secret).
std::string renderText(const std::vector<Diagnostic>& diagnostics, SourceCache& sources,
                       const text::Redactor* secrets = nullptr);

// A JSON array of {file, line, column, length, severity, kind, message, hint, snippet}
// objects, where snippet is the offending source line ("" when unknown), masked like the
// text (line and column keep pointing into the file).
std::string renderJson(const std::vector<Diagnostic>& diagnostics, SourceCache& sources,
                       const text::Redactor* secrets = nullptr);

}  // namespace waflow::core::diag
