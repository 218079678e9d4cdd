// ai-mock: a deterministic AI provider so everything works offline.
//
// mode echo:     replies "<prefix><the customer's last message>".
// mode scripted: the first rule whose `match` (a case-insensitive RE2 regex,
//                linear in the message's length) finds the last user message
//                gives the reply; else `fallback`.
// `latency` delays each reply (on a host timer, not a thread), which lets
// benchmarks hold thousands of calls in flight.
//
// Thread-safety: configuration is immutable after construction.
#include <waflow/sdk/plugin.hpp>

#include <re2/re2.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace {

using Json = nlohmann::json;

constexpr const char* kSchema = R"({
  "type": "object",
  "properties": {
    "mode": {"type": "string", "enum": ["echo", "scripted"], "default": "echo",
             "description": "echo repeats the customer's message; scripted answers from `replies`."},
    "prefix": {"type": "string", "default": "You said: ",
               "description": "Put before the echoed message."},
    "replies": {"type": "array", "default": [],
                "items": {"type": "object",
                          "properties": {"match": {"type": "string"}, "reply": {"type": "string"}},
                          "required": ["match", "reply"]},
                "description": "Scripted mode: regex -> reply rules, first match wins."},
    "fallback": {"type": "string", "default": "Maaf, saya belum mengerti. Sorry, I did not understand.",
                 "description": "Scripted mode: the reply when no rule matches."},
    "latency": {"type": "string", "format": "duration", "default": "0ms",
                "description": "Artificial delay before each reply."},
    "model": {"type": "string", "default": "mock-1", "description": "Model name reported in results."}
  }
})";

struct Rule {
  std::unique_ptr<re2::RE2> pattern;
  std::string reply;
};

class MockAi {
 public:
  static constexpr waflow::PluginInfo kInfo{waflow::Kind::kAi, "ai-mock", "0.1.0",
                                            "Deterministic offline AI: echo or scripted replies",
                                            kSchema};

  MockAi(waflow::Host& host, const waflow::Config& config)
      : host_(host),
        scripted_(config.value("mode", "echo") == "scripted"),
        prefix_(config.value("prefix", "You said: ")),
        fallback_(config.value("fallback", "")),
        latency_(config.value("latency", 0)),
        model_(config.value("model", "mock-1")) {
    for (const Json& r : config.value("replies", Json::array())) {
      const std::string match = r.at("match").get<std::string>();
      re2::RE2::Options options;
      options.set_case_sensitive(false);
      options.set_log_errors(false);
      auto pattern = std::make_unique<re2::RE2>(match, options);
      if (!pattern->ok()) {
        throw waflow::Error(waflow::Rc::kInvalid,
                            "replies: '" + match + "' is not a valid regex: " + pattern->error() +
                                " (RE2 syntax: no backreferences or lookaround)");
      }
      rules_.push_back({std::move(pattern), r.at("reply").get<std::string>()});
    }
  }

  waflow::Task<waflow::AiResult> complete(waflow::AiRequest request) {
    Json req = Json::parse(request.request_json, nullptr, false);
    if (req.is_discarded()) {
      throw waflow::Error(waflow::Rc::kInvalid, "request_json is not valid JSON");
    }
    std::string last;
    std::size_t prompt_words = 0;
    for (const Json& m : req.value("messages", Json::array())) {
      std::string content = m.value("content", "");
      prompt_words += words(content);
      if (m.value("role", "") == "user") {
        last = content;
      }
    }
    if (latency_.count() > 0) {
      co_await host_.sleep(latency_);
    }
    std::string reply = scripted_ ? answer(last) : prefix_ + last;
    ++calls_;
    Json result = {{"model", req.value("model", model_)},
                   {"finish_reason", "stop"},
                   {"usage",
                    {{"prompt_tokens", prompt_words},
                     {"completion_tokens", words(reply)},
                     {"total_tokens", prompt_words + words(reply)}}}};
    co_return waflow::AiResult{std::move(reply), result.dump()};
  }

 private:
  std::string answer(const std::string& message) const {
    for (const Rule& rule : rules_) {
      if (re2::RE2::PartialMatch(message, *rule.pattern)) {
        return rule.reply;
      }
    }
    return fallback_;
  }

  static std::size_t words(const std::string& s) {
    std::size_t n = 0;
    bool in_word = false;
    for (char c : s) {
      bool space = c == ' ' || c == '\n' || c == '\t';
      n += (!space && !in_word) ? 1 : 0;
      in_word = !space;
    }
    return n;
  }

  waflow::Host& host_;
  const bool scripted_;
  const std::string prefix_;
  const std::string fallback_;
  const std::chrono::milliseconds latency_;
  const std::string model_;
  std::vector<Rule> rules_;
  std::atomic<uint64_t> calls_{0};
};

}  // namespace

WAFLOW_PLUGIN(MockAi)
