// ai-misbehaving: an AI provider for tests that behaves as a broken plugin can — it ends the
// process, or holds the thread that called it — when the customer's message contains a
// configured marker, and otherwise answers "ok: <message>". Tests use it to prove that one
// such message is quarantined and that signals, /healthz and shutdown stay in the daemon's
// hands. Built into build/tests/plugins only; never installed.
//
// Thread-safety: configuration is immutable after construction.
#include <waflow/sdk/plugin.hpp>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

using Json = nlohmann::json;

constexpr const char* kSchema = R"({
  "type": "object",
  "properties": {
    "crash_on": {"type": "string", "default": "",
                 "description": "A message containing this ends the process (abort)."},
    "hang_on": {"type": "string", "default": "",
                "description": "A message containing this holds the calling thread for hang_for."},
    "hang_for": {"type": "string", "format": "duration", "default": "600s",
                 "description": "How long hang_on holds the thread."}
  }
})";

class MisbehavingAi {
 public:
  static constexpr waflow::PluginInfo kInfo{waflow::Kind::kAi, "ai-misbehaving", "0.1.0",
                                            "Test provider that crashes or hangs on a marker",
                                            kSchema};

  MisbehavingAi(waflow::Host&, const waflow::Config& config)
      : crash_on_(config.value("crash_on", "")),
        hang_on_(config.value("hang_on", "")),
        hang_for_(config.value("hang_for", 600000)) {}

  waflow::Task<waflow::AiResult> complete(waflow::AiRequest request) {
    Json req = Json::parse(request.request_json, nullptr, false);
    std::string last;
    for (const Json& m : req.value("messages", Json::array())) {
      if (m.value("role", "") == "user") {
        last = m.value("content", "");
      }
    }
    if (!crash_on_.empty() && last.find(crash_on_) != std::string::npos) {
      std::abort();
    }
    if (!hang_on_.empty() && last.find(hang_on_) != std::string::npos) {
      std::this_thread::sleep_for(hang_for_);  // deliberately blocks the caller's thread
    }
    co_return waflow::AiResult{"ok: " + last, Json{{"model", "misbehaving-1"}}.dump()};
  }

 private:
  const std::string crash_on_;
  const std::string hang_on_;
  const std::chrono::milliseconds hang_for_;
};

}  // namespace

WAFLOW_PLUGIN(MisbehavingAi)
