// ConversationState: what the flow engine stores per conversation survives a round trip
// through JSON (storage), and its bookkeeping keeps its bounds.
#include "engine/flow_state.h"

#include <gtest/gtest.h>

namespace waflow::core::engine {
namespace {

using Json = nlohmann::json;

FlowRun waitingRun() {
  FlowRun r;
  r.id = "wa:m1:lead";
  r.flow = "promo";
  r.step = 3;
  r.waiting = "wait";
  r.wait_event = "payment.paid";
  r.token = "abc";
  r.attempts = 1;
  r.sends = 4;
  r.steps = {{"ask_name", {{"output", {{"answer", "Rina"}}}}}};
  r.trigger = {{"id", "t"}, {"on", "message.received"}, {"flow", "lead"}};
  r.inputs = {{"discount", 20}};
  r.calls.push_back(CallFrame{"lead", 5, {{"x", {{"output", 1}}}}, Json::object(), "helper"});
  r.started_at = 10;
  r.updated_at = 20;
  return r;
}

TEST(ConversationStateTest, ARoundTripThroughJsonKeepsEverything) {
  ConversationState s;
  s.handoff = true;
  s.handoff_team = "cs";
  s.handoff_at = 99;
  s.runs.push_back(waitingRun());
  s.queued.push_back(
      QueuedRun{"wa:m2:lead", "lead", {{"on", "message.received"}}, {{"text", "hi"}}});
  s.noteConsumed("m1");
  Json stored = s.toJson();
  ConversationState back = ConversationState::fromJson(Json::parse(stored.dump()));
  EXPECT_EQ(back.toJson(), stored);
  ASSERT_EQ(back.runs.size(), 1u);
  const FlowRun& r = back.runs[0];
  EXPECT_EQ(r.step, 3u);
  EXPECT_EQ(r.sends, 4);
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].call_step_id, "helper");
  EXPECT_TRUE(back.handoff);
  EXPECT_EQ(back.handoff_team, "cs");
  EXPECT_TRUE(back.wasConsumed("m1"));
}

TEST(ConversationStateTest, AnEmptyStateIsAnEmptyObjectAndOldOrForeignFieldsAreIgnored) {
  EXPECT_EQ(ConversationState().toJson(), Json::object());
  EXPECT_TRUE(ConversationState().empty());
  ConversationState s = ConversationState::fromJson({{"runs", "not a list"}, {"future", 1}});
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(ConversationState::fromJson(nullptr).empty());
}

TEST(ConversationStateTest, FindsTheAskingRunCountsRunsPerFlowAndListsWaitedEvents) {
  ConversationState s;
  s.runs.push_back(waitingRun());
  FlowRun ask;
  ask.id = "wa:m3:order";
  ask.flow = "order";
  ask.waiting = "ask";
  ask.trigger = {{"flow", "order"}};
  s.runs.push_back(ask);
  EXPECT_EQ(s.askingRun()->id, "wa:m3:order");
  // A run that called another flow still counts for the flow it started as.
  EXPECT_EQ(s.runsOf("lead"), 1u);
  EXPECT_EQ(s.runsOf("promo"), 1u);
  EXPECT_EQ(s.runsOf("order"), 1u);
  EXPECT_EQ(s.waits(), std::vector<std::string>{"payment.paid"});
  EXPECT_TRUE(s.removeRun("wa:m3:order"));
  EXPECT_FALSE(s.removeRun("wa:m3:order"));
  EXPECT_EQ(s.askingRun(), nullptr);
}

TEST(ConversationStateTest, RemembersOnlyTheLastSixteenConsumedMessages) {
  ConversationState s;
  for (int i = 0; i < 20; ++i) {
    s.noteConsumed("m" + std::to_string(i));
  }
  s.noteConsumed("m19");  // no duplicates
  EXPECT_EQ(s.consumed.size(), 16u);
  EXPECT_FALSE(s.wasConsumed("m3"));
  EXPECT_TRUE(s.wasConsumed("m4"));
  EXPECT_TRUE(s.wasConsumed("m19"));
  EXPECT_FALSE(s.wasConsumed(""));
}

}  // namespace
}  // namespace waflow::core::engine
