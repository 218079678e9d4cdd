// Test helpers for rules a budget must stop: withinCap() fails instead of hanging when the budget
// does not stop them, evaluateWithinCap() runs a rule that way, and expectStoppedIn() checks the
// stop was reported as a budget overrun inside a given C function.
//
// Thread-safety: call from the test's thread.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>

#include <gtest/gtest.h>

#include "lua/sandbox.h"

namespace waflow::core::lua {

// Runs `body` on its own thread. A body still running after `cap` fails the test and ends the
// process, so a regression fails instead of hanging the suite. The cap is minutes above any
// budget: it is not a speed assertion.
template <class Body>
auto withinCap(Body body, std::chrono::seconds cap = std::chrono::seconds(120)) {
  auto future = std::async(std::launch::async, std::move(body));
  if (future.wait_for(cap) == std::future_status::timeout) {
    ADD_FAILURE() << "still running after " << cap.count() << " s: the budget did not stop it";
    std::fflush(nullptr);
    std::_Exit(1);
  }
  return future.get();
}

// Compiles `code` as rule 'rule' at `where` and evaluates it, within the cap.
inline CallResult evaluateWithinCap(LuaSandbox& sandbox, const std::string& code,
                                    const SourcePosition& where = {}) {
  CompileResult compiled = sandbox.compile("rule", code, where);
  EXPECT_TRUE(compiled.ok()) << compiled.error->text();
  return withinCap([&] { return sandbox.evaluate(compiled.snippet, RuleContext{}); });
}

// `result` is a stop by a budget of `budget_ms` inside `function` (e.g. "string.find").
inline void expectStoppedIn(const CallResult& result, const std::string& function,
                            int budget_ms = 20) {
  ASSERT_FALSE(result.ok()) << result.value.dump();
  EXPECT_EQ(result.error->kind, ErrorKind::kTimeout) << result.error->text();
  EXPECT_EQ(result.error->message, "exceeded its " + std::to_string(budget_ms) +
                                       " ms time budget in " + function + " and was stopped");
}

}  // namespace waflow::core::lua
