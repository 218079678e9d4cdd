// checkFlowsAndScripts — what `waflow validate` adds to the config check: every
// Lua script in scripts_dir is loaded in the rule sandbox (syntax and top-level
// errors at file:line:col), then every flow in flows_dir is validated against
// the flow schema, the config's channel and AI ids, the scripts' functions, and
// each Lua snippet in it is compiled where it stands in its file.
//
// Thread-safety: a pure function (it builds its own sandbox).
#pragma once

#include "config/config.h"
#include "diag/diagnostic.h"

#include <cstddef>
#include <string>
#include <vector>

namespace waflow::core::engine {

struct RulesCheck {
  std::vector<diag::Diagnostic> diagnostics;
  std::size_t flows = 0;             // flow definitions read
  std::size_t scripts = 0;           // script files read
  std::vector<std::string> secrets;  // found in flow files: diagnostics must not show them
};

// A missing flows_dir or scripts_dir is not an error (a daemon may run on auto_reply alone).
RulesCheck checkFlowsAndScripts(const config::Config& config);

}  // namespace waflow::core::engine
