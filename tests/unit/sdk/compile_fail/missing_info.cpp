// Must not compile: no kInfo.
#include <waflow/sdk/plugin.hpp>
class NoInfo {
 public:
  NoInfo(waflow::Host&, const waflow::Config&) {}
};
WAFLOW_PLUGIN(NoInfo)
