// waflow-bench-lua: how many keyword rules the Lua sandbox evaluates per second on one thread,
// beside, in the same run, a trivial Lua expression (the fixed cost of a sandboxed call: fresh
// environment, read-only message and contact tables, budget hook) and the same keyword match
// in C++ without Lua (what a flow's `keywords:` trigger costs).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lua/sandbox.h"
#include "text/normalize.h"

namespace {

using waflow::core::lua::LuaSandbox;
using waflow::core::lua::RuleContext;
using waflow::core::text::KeywordMatcher;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kTexts = {"berapa harganya kak?",
                                         "Hargaa paket A",
                                         "HARGA?",
                                         "halo, masih buka?",
                                         "minta pricelist dong",
                                         "mau pesan 2 porsi",
                                         "alamat tokonya di mana ya",
                                         "Terima kasih banyak!",
                                         "ada promo hari ini?",
                                         "kirim katalog"};

RuleContext contextFor(const std::string& text, size_t i) {
  RuleContext ctx;
  ctx.message = {{"id", "wamid." + std::to_string(i)},
                 {"from", "62812" + std::to_string(1000000 + i)},
                 {"type", "text"},
                 {"text", text}};
  ctx.contact = {{"name", "Budi"}, {"attributes", {{"city", "Bandung"}}}, {"tags", {"vip"}}};
  return ctx;
}

struct Figure {
  double per_second;
  double micros;
  size_t matched;
};

template <typename Fn>
Figure measure(size_t n, Fn&& fn) {
  size_t matched = 0;
  auto start = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    matched += fn(i) ? 1 : 0;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {static_cast<double>(n) / seconds, seconds * 1e6 / static_cast<double>(n), matched};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lua keyword-rule evaluations/s through the sandbox"};
  size_t evaluations = 200000;
  app.add_option("--evaluations", evaluations, "evaluations per measurement")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  LuaSandbox sandbox;
  auto keyword_rule = sandbox.compile(
      "keywords", "text.match_keyword(message.text, 'harga', 'price', 'pricelist', 'katalog')",
      {"flows/bench.yaml", 1, 1, 0});
  auto trivial_rule = sandbox.compile("trivial", "message.type == 'text'", {});
  if (!keyword_rule.ok() || !trivial_rule.ok()) {
    std::fprintf(stderr, "compile failed\n");
    return 1;
  }
  std::vector<RuleContext> contexts;
  for (size_t i = 0; i < 1000; ++i) {
    contexts.push_back(contextFor(kTexts[i % kTexts.size()], i));
  }
  KeywordMatcher native({"harga", "price", "pricelist", "katalog"});

  // Warm up, then measure each in turn.
  for (size_t i = 0; i < 10000; ++i) {
    sandbox.evaluate(keyword_rule.snippet, contexts[i % contexts.size()]);
  }
  bool failed = false;
  Figure lua = measure(evaluations, [&](size_t i) {
    auto r = sandbox.evaluate(keyword_rule.snippet, contexts[i % contexts.size()]);
    failed = failed || !r.ok();
    return r.truthy();
  });
  Figure trivial = measure(evaluations, [&](size_t i) {
    auto r = sandbox.evaluate(trivial_rule.snippet, contexts[i % contexts.size()]);
    failed = failed || !r.ok();
    return r.truthy();
  });
  Figure cpp = measure(evaluations, [&](size_t i) {
    return native.match(contexts[i % contexts.size()].message["text"].get_ref<const std::string&>())
        .has_value();
  });
  if (failed) {
    std::fprintf(stderr, "an evaluation failed\n");
    return 1;
  }
  std::printf("%-40s %14s %10s %8s\n", "one thread, 4 keywords, 10 texts", "evaluations/s",
              "us/eval", "matched");
  std::printf("%-40s %14.0f %10.2f %8zu\n", "lua keyword rule (text.match_keyword)", lua.per_second,
              lua.micros, lua.matched);
  std::printf("%-40s %14.0f %10.2f %8zu\n", "lua trivial rule (message.type == ...)",
              trivial.per_second, trivial.micros, trivial.matched);
  std::printf("%-40s %14.0f %10.2f %8zu\n", "c++ KeywordMatcher (no Lua)", cpp.per_second,
              cpp.micros, cpp.matched);
  std::printf("state memory after the run: %zu KiB\n", sandbox.memoryUsed() / 1024);
  return 0;
}
