// Schema validation of YAML nodes: converts a YAML subtree to JSON as a JSON-Schema subset
// directs, collecting every problem as a diagnostic with its exact line and column. Used for
// the core's waflow.yaml and for each plugin's `config:` block (plugins declare their config
// as such a schema). Stateless functions; thread-safe if the SubstitutionContext's EnvLookup
// is.
//
// Supported keywords: type (object, array, string, integer, number, boolean, or a list of
// them), properties, required, additionalProperties (false by default when properties is
// given; a schema gives map semantics), items, enum, default, minimum, maximum, minLength,
// maxLength, pattern (RE2 syntax, unanchored search), minItems, maxItems, description
// (ignored). Extensions:
//   "format": "duration"  "30s", "1h30m", "250ms" -> integer milliseconds
//   "format": "size"      "512", "64KB", "1MiB"   -> integer bytes
//   "secret": true        the value is reported in ValidationResult::secrets, and a warning
//                         suggests ${ENV} or ${file:} when it is written in plain text
//   "x-secret-substitutions": true
//                         every ${...} value inside the node is a secret (a flow's HTTP
//                         headers: `Authorization: "Bearer ${TOKEN}"`); literal text is not
//   "x-raw": true         the node is type-checked only: neither descended into nor
//                         substituted (it is validated later, e.g. against a plugin's schema)
// Other keywords are ignored. String scalars get ${...} substitution (see substitution.h)
// before conversion. Secrets are the values of "secret" keys, ${file:...} values and the
// ${...} values under "x-secret-substitutions" (the last two unless the schema gives the value
// an enum, a format or a non-string type); other ${ENV} values are not, so a path or a URL
// from the environment stays readable in logs. Diagnostics never quote a ${...} value or a
// secret (they name the expression instead), and the literal value of a mistyped or
// duplicated secret key is reported in `secrets` too, so the renderer can mask it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "config/substitution.h"
#include "diag/diagnostic.h"

namespace waflow::core::config {

struct ValidationResult {
  nlohmann::json value;  // the converted value with defaults filled; partial when !ok()
  std::vector<diag::Diagnostic> diagnostics;  // sorted by location
  std::vector<std::string> secrets;           // values logs, stored texts and diagnostics must hide
  bool ok() const;                            // no error (warnings allowed)
};

struct ValidateOptions {
  // Diagnostic kinds are "<prefix>-schema", "<prefix>-yaml", "<prefix>-env", "<prefix>-file",
  // "<prefix>-secret"; flow files use their own prefix.
  std::string kind_prefix = "config";
  // Where to point when `node` itself has no position (e.g. an absent `config:` block).
  int fallback_line = 0;  // 1-based
  int fallback_column = 0;
};

// Validates and converts `node` (which may be undefined or null: an absent block) against
// `schema`. `path` names the node in messages ("channels.toko.config"; "" for a file's top
// level); `file` is copied into every diagnostic.
ValidationResult validateNode(const YAML::Node& node, const nlohmann::json& schema,
                              const SubstitutionContext& subst, std::string_view file,
                              std::string_view path, const ValidateOptions& options = {});

}  // namespace waflow::core::config
