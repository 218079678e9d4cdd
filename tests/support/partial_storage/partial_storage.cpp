// storage-partial: a storage plugin for tests that stores nothing and answers only
// storage.describe, the way a store written for another protocol version, or one that leaves
// operations out, would describe itself. Tests use it to prove that the daemon refuses such a
// store at start, naming what is missing. Built into build/tests/plugins only; never installed.
//
// Thread-safety: configuration is immutable after construction.
#include <waflow/sdk/plugin.hpp>
#include <waflow/sdk/storage.hpp>

#include <set>
#include <string>

namespace {

using Json = nlohmann::json;

constexpr const char* kSchema = R"({
  "type": "object",
  "properties": {
    "protocol": {"type": "integer", "default": 1,
                 "description": "The protocol version storage.describe answers."},
    "omit": {"type": "array", "items": {"type": "string"}, "default": [],
             "description": "Operations storage.describe leaves out."},
    "describe": {"type": "boolean", "default": true,
                 "description": "false: storage.describe is unsupported, as in a store built before it."}
  }
})";

class PartialStorage {
 public:
  static constexpr waflow::PluginInfo kInfo{waflow::Kind::kStorage, "storage-partial", "0.1.0",
                                            "Test store that only describes itself", kSchema};

  PartialStorage(waflow::Host&, const waflow::Config& config)
      : protocol_(config.value("protocol", 1)), describe_(config.value("describe", true)) {
    for (const Json& name : config.value("omit", Json::array())) {
      omit_.insert(name.get<std::string>());
    }
  }

  waflow::Task<waflow::CallResult> execute(std::string operation, waflow::Config) {
    if (operation != waflow::storage::kDescribe || !describe_) {
      throw waflow::Error(waflow::Rc::kUnsupported,
                          "storage-partial: unknown operation '" + operation + "'");
    }
    Json operations = Json::array();
    for (const waflow::storage::OperationInfo& op : waflow::storage::kOperations) {
      if (!omit_.count(op.name)) {
        operations.push_back(op.name);
      }
    }
    co_return waflow::CallResult{
        Json{{"protocol", protocol_}, {"operations", std::move(operations)}}.dump()};
  }

 private:
  const int protocol_;
  const bool describe_;
  std::set<std::string> omit_;
};

}  // namespace

WAFLOW_PLUGIN(PartialStorage)
