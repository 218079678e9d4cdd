// ai-faq: an AI-provider plugin that answers from a FAQ table in its config.
//
// This is the example that docs/plugin-sdk.md walks through, and a template to
// copy: one class, a config schema, and the WAFLOW_PLUGIN line at the end. The
// plugin is built outside the waflow source tree against the installed SDK
// (see CMakeLists.txt next to this file).
//
// On each request it takes the customer's last message and replies with the
// answer of the first FAQ entry that has a keyword in the message, ignoring
// case and matching whole words only ("harga" matches "Berapa HARGA-nya?" but
// not "menghargai"). A keyword can be a phrase ("jam buka"); its words must
// appear together and in that order. If nothing matches, it replies with
// `fallback`. It makes no network calls, so it costs nothing to run and is
// useful in front of (or instead of) a real model for the common questions.
//
// Thread-safety: the daemon may call complete() from several threads at once.
// The FAQ table is built in the constructor and only read after that, so no
// lock is needed. A plugin with mutable state would need its own mutex.
#include <waflow/sdk/plugin.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using Json = nlohmann::json;

// The `config:` block this plugin accepts, as a JSON Schema (the subset listed
// in docs/plugin-sdk.md). The daemon checks the user's waflow.yaml against it
// before the constructor runs, reports mistakes at their line and column, and
// fills in defaults. So the constructor can rely on this shape. The
// descriptions and defaults also appear in `waflow plugins`.
constexpr const char* kConfigSchema = R"({
  "type": "object",
  "properties": {
    "faq": {
      "type": "array",
      "minItems": 1,
      "description": "Entries of {keywords, answer}; the first with a matching keyword answers.",
      "items": {
        "type": "object",
        "properties": {
          "keywords": {
            "type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
            "description": "Words or phrases, matched as whole words, ignoring case."
          },
          "answer": {
            "type": "string", "minLength": 1,
            "description": "The reply when one of the keywords matches."
          }
        },
        "required": ["keywords", "answer"]
      }
    },
    "fallback": {
      "type": "string",
      "default": "Maaf, saya belum bisa menjawab itu. Sorry, I cannot answer that yet.",
      "description": "The reply when no keyword matches; empty = fail so another step answers."
    }
  },
  "required": ["faq"]
})";

// Letters, digits, and every byte of a multi-byte UTF-8 character (so "kafé"
// stays one word) make up words. Everything else separates them.
bool isWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// Splits `text` into words and lower-cases them. Only ASCII letters are
// case-folded, which is enough for the Latin-script keywords a FAQ uses.
std::vector<std::string> splitWords(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (isWordByte(c)) {
      current += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch;
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) {
    words.push_back(std::move(current));
  }
  return words;
}

struct Keyword {
  std::string text;                // as written in the config, for log lines
  std::vector<std::string> words;  // what is matched: one word, or a phrase
};

struct FaqEntry {
  std::vector<Keyword> keywords;
  std::string answer;

  // The first keyword that occurs in `message` (already split into words).
  const Keyword* match(const std::vector<std::string>& message) const {
    for (const Keyword& k : keywords) {
      if (std::search(message.begin(), message.end(), k.words.begin(), k.words.end()) !=
          message.end()) {
        return &k;
      }
    }
    return nullptr;
  }
};

class FaqPlugin {
 public:
  // What `waflow plugins` shows and what `plugin:` in waflow.yaml refers to.
  static constexpr waflow::PluginInfo kInfo{
      waflow::Kind::kAi, "ai-faq", "1.0.0",
      "Answers customers from a keyword FAQ table in the config (no network, no model)",
      kConfigSchema};

  // Runs once per configured instance, with the validated config. Throwing
  // here stops the daemon from starting, and the daemon shows the message
  // together with the instance id.
  FaqPlugin(waflow::Host& host, const waflow::Config& config)
      : host_(host), fallback_(config.at("fallback").get<std::string>()) {
    const Json& faq = config.at("faq");
    for (std::size_t i = 0; i < faq.size(); ++i) {
      FaqEntry entry;
      entry.answer = faq[i].at("answer").get<std::string>();
      for (const Json& keyword : faq[i].at("keywords")) {
        Keyword k{keyword.get<std::string>(), splitWords(keyword.get<std::string>())};
        // The schema checks the shape; this checks the meaning, so a keyword
        // like "?" is reported at startup instead of silently never matching.
        if (k.words.empty()) {
          throw waflow::Error(waflow::Rc::kInvalid,
                              "faq[" + std::to_string(i) + "].keywords: '" + k.text +
                                  "' has no letters or digits, so it can never match");
        }
        entry.keywords.push_back(std::move(k));
      }
      entries_.push_back(std::move(entry));
    }
    host_.info("loaded " + std::to_string(entries_.size()) + " FAQ entries");
  }

  // Called for every AI request routed to this instance. request.request_json
  // looks like {"system": "...", "messages": [{"role": "user", "content": "..."}]}.
  // Take parameters by value: a coroutine outlives its caller's arguments.
  waflow::Task<waflow::AiResult> complete(waflow::AiRequest request) {
    const Json body = Json::parse(request.request_json, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) {
      // waflow::Error chooses the result code the daemon sees; kInvalid means
      // "retrying this exact request will not help".
      throw waflow::Error(waflow::Rc::kInvalid, "request_json is not a JSON object");
    }
    std::string question;  // the customer's last message
    const Json messages = body.value("messages", Json::array());
    for (const Json& m : messages) {
      if (m.is_object() && m.value("role", "") == "user" && m.contains("content") &&
          m["content"].is_string()) {
        question = m["content"].get<std::string>();
      }
    }

    const std::vector<std::string> words = splitWords(question);
    Json result = {
        {"model", "ai-faq"},
        {"finish_reason", "stop"},
        {"usage", {{"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0}}}};
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (const Keyword* k = entries_[i].match(words)) {
        // Host services reach the daemon: this line carries the instance id and
        // the request id of the message being answered (seen with --log-level debug).
        host_.debug("FAQ entry " + std::to_string(i) + " matched on keyword '" + k->text + "'");
        result["faq_entry"] = i;
        co_return waflow::AiResult{entries_[i].answer, result.dump()};
      }
    }
    if (fallback_.empty()) {
      throw waflow::Error(waflow::Rc::kUnsupported,
                          "no FAQ entry matches the message and `fallback` is empty");
    }
    host_.debug("no FAQ entry matched; answering with the fallback");
    // A plugin that calls a remote model would `co_await host_.http(...)` here;
    // this one has everything at hand and returns at once.
    co_return waflow::AiResult{fallback_, result.dump()};
  }

 private:
  waflow::Host& host_;  // valid for the life of the instance
  const std::string fallback_;
  std::vector<FaqEntry> entries_;  // read-only after construction
};

}  // namespace

// Exports the C entry point the daemon looks for. Exactly once per plugin.
WAFLOW_PLUGIN(FaqPlugin)
