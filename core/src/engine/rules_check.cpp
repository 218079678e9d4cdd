#include "engine/rules_check.h"

#include "engine/flow_set.h"

namespace waflow::core::engine {

RulesCheck checkFlowsAndScripts(const config::Config& config) {
  FlowSetLoad loaded = loadFlowSet(config);
  return RulesCheck{std::move(loaded.diagnostics), loaded.flow_count, loaded.script_count,
                    std::move(loaded.secrets)};
}

}  // namespace waflow::core::engine
