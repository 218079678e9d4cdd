// The storage conformance suite, continued: poison messages — the attempts a message's
// handling has begun, and the quarantine of one that keeps failing (inbox.attempt,
// inbox.quarantined, inbox.release), checked against every backend of
// storage_conformance_test.cpp through the real loader and host.
#include "storage_conformance.h"
#include "storage_harness.h"

#include <waflow/sdk/storage.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace waflow::test::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Json key(const std::string& id, const std::string& channel = "wa-main") {
  return {{"channel", channel}, {"id", id}};
}

class QuarantineConformance : public StorageConformance {
 protected:
  Json attempt(std::vector<Json> keys, int max_attempts = 3) {
    return ok(waflow::storage::kInboxAttempt, {{"messages", std::move(keys)},
                                               {"max_attempts", max_attempts},
                                               {"reason", "it ended the daemon"}});
  }
  Json quarantined(int limit = 100) {
    return ok(waflow::storage::kInboxQuarantined, {{"limit", limit}});
  }
  Json release(std::vector<Json> keys) {
    return ok(waflow::storage::kInboxRelease, {{"messages", std::move(keys)}});
  }
  static Json result(const char* state, int attempts) {
    return {{"state", state}, {"attempts", attempts}};
  }
};

TEST_P(QuarantineConformance, EachAttemptIsCountedAndTheOnePastTheLimitQuarantines) {
  put({inboxMessage("poison"), inboxMessage("fine")});
  // inbox.put counted the first handling; each replay counts one more.
  EXPECT_EQ(attempt({key("poison")}), Json({{"messages", {result("pending", 2)}}}));
  EXPECT_EQ(attempt({key("poison")}), Json({{"messages", {result("pending", 3)}}}));
  EXPECT_EQ(pending()["messages"][0]["attempts"], 3);
  EXPECT_EQ(attempt({key("poison"), key("fine")}),
            Json({{"messages", {result("quarantined", 4), result("pending", 2)}}}));
  // Quarantined: no longer pending, and listed with what happened.
  EXPECT_THAT(ids(pending()), ElementsAre("fine"));
  Json q = quarantined();
  ASSERT_EQ(q["messages"].size(), 1u);
  const Json& m = q["messages"][0];
  EXPECT_EQ(m["id"], "poison");
  EXPECT_EQ(m["channel"], "wa-main");
  EXPECT_EQ(m["attempts"], 4);
  EXPECT_EQ(m["reason"], "it ended the daemon");
  EXPECT_GT(m["quarantined_at"].get<int64_t>(), 0);
  EXPECT_TRUE(m["event"].is_object());  // what the customer sent is kept
  EXPECT_TRUE(m["seq"].is_number_integer());
  // A further attempt changes nothing.
  EXPECT_EQ(attempt({key("poison")}), Json({{"messages", {result("quarantined", 4)}}}));
}

TEST_P(QuarantineConformance, DoneAndUnknownMessagesAreLeftAsTheyAre) {
  put({inboxMessage("handled")});
  ok("inbox.done", {{"messages", {key("handled")}}});
  EXPECT_EQ(attempt({key("handled"), key("never-stored"), key("handled", "wa-second")}),
            Json({{"messages", {result("done", 1), result("unknown", 0), result("unknown", 0)}}}));
  EXPECT_THAT(quarantined()["messages"], IsEmpty());
}

TEST_P(QuarantineConformance, AReleasedMessageIsPendingAgainAsOnItsFirstAttempt) {
  put({inboxMessage("poison")});
  attempt({key("poison")}, 1);  // 2 > 1: quarantined at once
  EXPECT_EQ(release({key("poison"), key("never-stored")}), Json({{"released", {true, false}}}));
  EXPECT_THAT(ids(pending()), ElementsAre("poison"));
  // The handling it is released for counts as its first attempt.
  EXPECT_EQ(pending()["messages"][0]["attempts"], 1);
  EXPECT_THAT(quarantined()["messages"], IsEmpty());
  // Releasing a pending message does nothing; the next attempt counts 2.
  EXPECT_EQ(release({key("poison")}), Json({{"released", {false}}}));
  EXPECT_EQ(attempt({key("poison")}, 2), Json({{"messages", {result("pending", 2)}}}));
}

TEST_P(QuarantineConformance, TheQuarantineIsListedInStoredOrderInPages) {
  put({inboxMessage("q1"), inboxMessage("ok"), inboxMessage("q2"), inboxMessage("q3")});
  attempt({key("q3"), key("q1"), key("q2")}, 1);
  EXPECT_THAT(ids(quarantined()), ElementsAre("q1", "q2", "q3"));
  Json first = quarantined(2);
  EXPECT_THAT(ids(first), ElementsAre("q1", "q2"));
  Json rest = ok(waflow::storage::kInboxQuarantined,
                 {{"limit", 2}, {"after_seq", first["messages"][1]["seq"]}});
  EXPECT_THAT(ids(rest), ElementsAre("q3"));
}

TEST_P(QuarantineConformance, TheQuarantineSurvivesARestart) {
  put({inboxMessage("poison")});
  attempt({key("poison")}, 1);
  restart();
  EXPECT_THAT(ids(quarantined()), ElementsAre("poison"));
  EXPECT_THAT(pending()["messages"], IsEmpty());
}

TEST_P(QuarantineConformance, MalformedInputNamesTheField) {
  auto o = exec(waflow::storage::kInboxAttempt,
                {{"messages", {key("x")}}, {"max_attempts", 0}, {"reason", ""}});
  EXPECT_FALSE(o.ok());
  EXPECT_THAT(o.error, HasSubstr("max_attempts"));
  o = exec(waflow::storage::kInboxRelease, {{"messages", {{{"channel", "wa-main"}}}}});
  EXPECT_FALSE(o.ok());
  EXPECT_THAT(o.error, HasSubstr("messages[0].id"));
}

INSTANTIATE_TEST_SUITE_P(Backends, QuarantineConformance,
                         ::testing::ValuesIn(conformanceBackends()), backendName);

}  // namespace
}  // namespace waflow::test::storage
