// The step loaders' table (flow/load/steps/load_step.cpp) is built from StepSpec: one loader per
// kind, in the variant's order, and the loader of a key builds that key's alternative.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "flow/flow_loader.h"
#include "flow/load/loaders.h"

namespace waflow::core::flow {
namespace {

TEST(StepLoadersTest, EveryStepKindHasItsOwnLoader) {
  const std::vector<std::string_view> loaders = load::stepLoaderKinds();
  ASSERT_EQ(loaders.size(), stepKinds().size());
  for (size_t i = 0; i < loaders.size(); ++i) {
    EXPECT_EQ(loaders[i], stepKinds()[i]);
  }
}

TEST(StepLoadersTest, EachKeyLoadsItsOwnKind) {
  for (const std::string& kind : stepKinds()) {
    SCOPED_TRACE(kind);
    // The value may be wrong for the kind (reported); the step still holds the kind.
    const std::string text =
        "id: t\ntriggers:\n  - on: event\n    name: x\nsteps:\n  - " + kind + ": {}\n";
    const FlowLoadResult result = loadFlowSources({{"t.yaml", text}});
    ASSERT_EQ(result.flows.size(), 1u);
    ASSERT_EQ(result.flows[0].steps.size(), 1u);
    EXPECT_EQ(result.flows[0].steps[0].kind, kind);
    EXPECT_EQ(stepKindOf(result.flows[0].steps[0].spec), kind);
  }
}

}  // namespace
}  // namespace waflow::core::flow
