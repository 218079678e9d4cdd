// Must not compile: the constructor does not take (Host&, const Config&).
#include <waflow/sdk/plugin.hpp>
class WrongCtor {
 public:
  static constexpr waflow::PluginInfo kInfo{waflow::Kind::kAi, "wrong-ctor", "1", "x"};
  explicit WrongCtor(int) {}
  waflow::Task<waflow::AiResult> complete(waflow::AiRequest) { co_return waflow::AiResult{}; }
};
WAFLOW_PLUGIN(WrongCtor)
