// Must not compile: a storage plugin without execute().
#include <waflow/sdk/plugin.hpp>
class NoExecute {
 public:
  static constexpr waflow::PluginInfo kInfo{waflow::Kind::kStorage, "no-execute", "1", "x"};
  NoExecute(waflow::Host&, const waflow::Config&) {}
};
WAFLOW_PLUGIN(NoExecute)
