// Must not compile: complete() returns a plain string instead of Task<AiResult>.
#include <waflow/sdk/plugin.hpp>
#include <string>
class WrongReturn {
 public:
  static constexpr waflow::PluginInfo kInfo{waflow::Kind::kAi, "wrong-return", "1", "x"};
  WrongReturn(waflow::Host&, const waflow::Config&) {}
  std::string complete(waflow::AiRequest) { return "hi"; }
};
WAFLOW_PLUGIN(WrongReturn)
