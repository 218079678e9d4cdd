#include "engine/steps/ai/memory.h"

#include "engine/basics.h"
#include "knowledge/ranker.h"

#include <waflow/sdk/storage.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace waflow::core::engine::steps {

namespace {

// About four bytes of text per token for the Latin-script languages our users write; used only
// to keep history within a budget, never for billing (the provider's usage is).
int64_t estimateTokens(const std::string& text) {
  return static_cast<int64_t>(text.size() + 3) / 4 + 4;
}

}  // namespace

void loadHistory(storage::StorageClient& storage, const Exec& x, int limit, int64_t budget_tokens,
                 std::set<std::string> exclude, std::function<void(Json messages, Json all)> done) {
  if (limit <= 0 || x.entry == nullptr) {
    done(Json::array(), Json::array());
    return;
  }
  Json input = {{"channel", x.entry->channel},
                {"contact", x.entry->contact},
                {"limit", std::min<int64_t>(500, limit + static_cast<int64_t>(exclude.size()))}};
  storage.call(
      waflow::storage::kMessageHistory, input,
      [limit, budget_tokens, exclude = std::move(exclude), where = x.entry->key,
       done = std::move(done)](plugin::CallOutcome o, Json out) {
        if (!o.ok()) {
          flowLogger()->warn(
              "{}: the conversation's history could not be read ({}); the "
              "AI answers without it",
              where, o.error);
          done(Json::array(), Json::array());
          return;
        }
        const Json all = out.value("messages", Json::array());
        std::vector<Json> turns;
        for (const Json& m : all) {
          std::string text = jsonString(m, "text");
          if (text.empty() || exclude.count(jsonString(m, "id")) != 0) {
            continue;
          }
          turns.push_back({{"role", jsonString(m, "direction") == "out" ? "assistant" : "user"},
                           {"content", std::move(text)}});
        }
        // The newest `limit` turns, and of those as many as fit the budget.
        size_t first = turns.size() > static_cast<size_t>(limit)
                           ? turns.size() - static_cast<size_t>(limit)
                           : 0;
        if (budget_tokens > 0) {
          int64_t used = 0;
          size_t keep = turns.size();
          while (keep > first) {
            int64_t t = estimateTokens(turns[keep - 1]["content"].get<std::string>());
            if (used + t > budget_tokens) {
              break;
            }
            used += t;
            --keep;
          }
          first = keep;
        }
        Json messages = Json::array();
        for (size_t i = first; i < turns.size(); ++i) {
          messages.push_back(std::move(turns[i]));
        }
        done(std::move(messages), all);
      });
}

void recallHistory(storage::StorageClient& storage, const Exec& x, int count,
                   const std::string& question, std::set<std::string> exclude,
                   std::function<void(std::string block)> done) {
  if (count <= 0 || x.entry == nullptr) {
    done("");
    return;
  }
  Json input = {{"channel", x.entry->channel}, {"contact", x.entry->contact}, {"limit", 500}};
  storage.call(
      waflow::storage::kMessageHistory, input,
      [count, question, exclude = std::move(exclude), done = std::move(done)](plugin::CallOutcome o,
                                                                              Json out) {
        if (!o.ok()) {
          done("");
          return;
        }
        std::vector<std::string> texts;
        std::vector<int64_t> times;
        for (const Json& m : out.value("messages", Json::array())) {
          if (jsonString(m, "direction") != "in" || exclude.count(jsonString(m, "id")) != 0 ||
              jsonString(m, "text").empty()) {
            continue;
          }
          texts.push_back(jsonString(m, "text"));
          times.push_back(m.value("at", int64_t{0}));
        }
        std::string block;
        for (const auto& hit : knowledge::rankTexts(question, texts, static_cast<size_t>(count))) {
          std::time_t secs = static_cast<std::time_t>(times[hit.index] / 1000);
          std::tm tm{};
          gmtime_r(&secs, &tm);
          char date[16];
          std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
          block += fmt::format("- ({}) {}\n", date, texts[hit.index]);
        }
        done(block);
      });
}
}  // namespace waflow::core::engine::steps
