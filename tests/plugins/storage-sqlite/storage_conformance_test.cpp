// The storage conformance suite: the contract of <waflow/sdk/storage.hpp>,
// checked against every storage plugin through the real loader and host. Each
// backend is one entry of conformanceBackends() at the bottom; the flow
// engine's operations are tested in flow_conformance_test.cpp.
#include "storage_conformance.h"
#include "sqlite_backend.h"
#include "storage_harness.h"

#include <waflow/sdk/storage.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace waflow::test::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kBudi = "6281200000001";  // inboxMessage's default contact

// ---- inbox ----------------------------------------------------------------------

TEST_P(StorageConformance, InboxPutStoresMessagesAsGivenAndReportsThemNew) {
  Json a = inboxMessage("wamid.A1");
  Json b = inboxMessage("wamid.B2", "6281200000002", kNow + 5, "");
  EXPECT_EQ(put({a, b}),
            Json({{"new", {true, true}}, {"contacts", {"6281200000001", "6281200000002"}}}));
  Json out = pending();
  ASSERT_EQ(out["messages"].size(), 2u);
  // Every field, the event object included, as given; and the handling about to begin is
  // counted as the first attempt (poison messages, inbox.attempt).
  a["attempts"] = 1;
  b["attempts"] = 1;
  EXPECT_EQ(out["messages"][0], a);
  EXPECT_EQ(out["messages"][1], b);
  // Only (channel, id) must be non-empty; a message the channel could not fully
  // describe is still stored, not refused.
  Json sparse = inboxMessage("wamid.C3", "", kNow, "");
  sparse["type"] = "";
  sparse["conversation"] = "";
  EXPECT_EQ(put({sparse}), Json({{"new", {true}}, {"contacts", {""}}}));
  sparse["attempts"] = 1;
  EXPECT_EQ(pending()["messages"][2], sparse);
}

TEST_P(StorageConformance, RedeliveryIsNotNewAndLeavesTheStoredRowAlone) {
  Json original = inboxMessage("wamid.R1");
  put({original});
  Json again = original;
  again["type"] = "image";
  again["event"]["text"] = "something else";
  EXPECT_EQ(put({again, inboxMessage("wamid.R2")})["new"], Json({false, true}));
  // The same id twice in one call: only the first is new.
  EXPECT_EQ(put({inboxMessage("wamid.R3"), inboxMessage("wamid.R3")}),
            Json({{"new", {true, false}}, {"contacts", {kBudi, kBudi}}}));
  // (channel, id) is the key: the same id on another channel is another message.
  Json other = inboxMessage("wamid.R1");
  other["channel"] = "wa-second";
  EXPECT_EQ(put({other})["new"], Json({true}));
  Json out = pending();
  ASSERT_EQ(out["messages"].size(), 4u);
  original["attempts"] = 1;
  EXPECT_EQ(out["messages"][0], original);
}

TEST_P(StorageConformance, InboxPendingReturnsUndoneMessagesInStoredOrder) {
  put({inboxMessage("m1"), inboxMessage("m2")});
  put({inboxMessage("m3")});
  put({inboxMessage("m4"), inboxMessage("m5")});
  EXPECT_EQ(ok("inbox.done", {{"messages",
                               {{{"channel", "wa-main"}, {"id", "m2"}},
                                {{"channel", "wa-main"}, {"id", "m4"}},
                                {{"channel", "wa-main"}, {"id", "never-stored"}}}}}),
            Json::object());
  EXPECT_THAT(ids(pending()), ElementsAre("m1", "m3", "m5"));
  EXPECT_THAT(ids(pending(2)), ElementsAre("m1", "m3"));
  // Done is per channel.
  ok("inbox.done", {{"messages", {{{"channel", "wa-second"}, {"id", "m1"}}}}});
  EXPECT_THAT(ids(pending()), ElementsAre("m1", "m3", "m5"));
  // A redelivery of a handled message does not make it pending again.
  EXPECT_EQ(put({inboxMessage("m2")}), Json({{"new", {false}}, {"contacts", {kBudi}}}));
  EXPECT_THAT(ids(pending()), ElementsAre("m1", "m3", "m5"));
}

TEST_P(StorageConformance, ConcurrentPutsWithOverlappingIdsAreNewExactlyOnce) {
  constexpr int kCallers = 200;
  constexpr int kIds = 60;
  Ops calls;
  for (int i = 0; i < kCallers; ++i) {
    Json messages = Json::array();
    for (int k : {i % kIds, (i * 7 + 3) % kIds, (i * 13 + 5) % kIds}) {
      messages.push_back(
          inboxMessage("wamid.C" + std::to_string(k), "62812000000" + std::to_string(k % 10)));
    }
    calls.emplace_back("inbox.put", Json{{"messages", messages}});
  }
  std::vector<CallOutcome> outcomes = harness_->start(calls, 8).wait();
  std::map<std::string, int> new_count;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    ASSERT_TRUE(outcomes[i].ok()) << outcomes[i].error;
    Json flags = Json::parse(outcomes[i].value)["new"];
    const Json& sent_messages = calls[i].second["messages"];
    ASSERT_EQ(flags.size(), sent_messages.size());
    for (std::size_t k = 0; k < flags.size(); ++k) {
      new_count[sent_messages[k]["id"]] += flags[k].get<bool>() ? 1 : 0;
    }
  }
  ASSERT_EQ(new_count.size(), static_cast<std::size_t>(kIds));
  for (const auto& [id, count] : new_count) {
    EXPECT_EQ(count, 1) << id;
  }
  EXPECT_EQ(pending()["messages"].size(), static_cast<std::size_t>(kIds));
}

// ---- contacts ----------------------------------------------------------------------

TEST_P(StorageConformance, InboxPutUpsertsTheContact) {
  EXPECT_EQ(ok("contact.get", {{"channel", "wa-main"}, {"contact", "6281299999999"}}),
            Json({{"contact", nullptr}}));
  const std::string who = "6281211112222";
  auto contact = [&] {
    return ok("contact.get", {{"channel", "wa-main"}, {"contact", who}})["contact"];
  };
  put({inboxMessage("c1", who, kNow + 2000, "Budi")});
  EXPECT_EQ(contact(), Json({{"channel", "wa-main"},
                             {"contact", who},
                             {"name", "Budi"},
                             {"last_inbound_at", kNow + 2000},
                             {"attributes", Json::object()},
                             {"tags", Json::array()},
                             {"opted_in", false},
                             {"first_message_id", "c1"},
                             {"phone", ""},
                             {"user_id", ""}}));
  // An older message does not move last_inbound_at back; an empty name keeps the name.
  put({inboxMessage("c2", who, kNow + 1000, "")});
  EXPECT_EQ(contact()["last_inbound_at"], kNow + 2000);
  EXPECT_EQ(contact()["name"], "Budi");
  put({inboxMessage("c3", who, kNow + 3000, "")});
  EXPECT_EQ(contact()["last_inbound_at"], kNow + 3000);
  EXPECT_EQ(contact()["name"], "Budi");
  put({inboxMessage("c4", who, kNow + 4000, "Budi Santoso")});
  EXPECT_EQ(contact()["name"], "Budi Santoso");
  EXPECT_EQ(contact()["last_inbound_at"], kNow + 4000);
  EXPECT_EQ(contact()["first_message_id"], "c1");  // the first message stays the first
  // Contacts are per channel.
  EXPECT_EQ(ok("contact.get", {{"channel", "wa-second"}, {"contact", who}})["contact"], nullptr);
}

// A message from `phone` and / or `user_id` (either may be ""), going by the phone when it
// has one, as the daemon sends it.
Json fromPerson(const std::string& id, const std::string& phone, const std::string& user_id,
                int64_t received_at = kNow) {
  Json m = inboxMessage(id, phone.empty() ? user_id : phone, received_at, "Budi");
  m["phone"] = phone;
  m["user_id"] = user_id;
  return m;
}

TEST_P(StorageConformance, TheContactKeepsBothIdentifiersOfItsSender) {
  const std::string phone = "6281255556666";
  const std::string user = "ID.1349120865530274191";
  EXPECT_EQ(put({fromPerson("b1", phone, user)}), Json({{"new", {true}}, {"contacts", {phone}}}));
  Json contact = ok("contact.get", {{"channel", "wa-main"}, {"contact", phone}})["contact"];
  EXPECT_EQ(contact["phone"], phone);
  EXPECT_EQ(contact["user_id"], user);
  // The user id alone names no contact of its own.
  EXPECT_EQ(ok("contact.get", {{"channel", "wa-main"}, {"contact", user}})["contact"], nullptr);
}

TEST_P(StorageConformance, AMessageWithOnlyTheUserIdIsStoredUnderTheContactKnownByPhone) {
  const std::string phone = "6281255556666";
  const std::string user = "ID.1349120865530274191";
  put({fromPerson("b1", phone, user)});
  // The same person writes again, Meta leaving the phone number out (a username).
  EXPECT_EQ(put({fromPerson("b2", "", user, kNow + 1000)}),
            Json({{"new", {true}}, {"contacts", {phone}}}));
  Json stored = pending()["messages"][1];
  EXPECT_EQ(stored["contact"], phone);
  EXPECT_EQ(stored["conversation"], "wa-main:" + phone);
  Json contact = ok("contact.get", {{"channel", "wa-main"}, {"contact", phone}})["contact"];
  EXPECT_EQ(contact["last_inbound_at"], kNow + 1000);
  EXPECT_EQ(ok("contact.get", {{"channel", "wa-main"}, {"contact", user}})["contact"], nullptr);
  // A redelivery names the contact its message was stored under.
  EXPECT_EQ(put({fromPerson("b2", "", user)})["contacts"], Json({phone}));
  // Links are per channel.
  Json elsewhere = fromPerson("b3", "", user);
  elsewhere["channel"] = "wa-second";
  EXPECT_EQ(put({elsewhere})["contacts"], Json({user}));
}

TEST_P(StorageConformance, APhoneLearntLaterJoinsTheContactKnownByUserId) {
  const std::string phone = "6281255556666";
  const std::string user = "ID.1349120865530274191";
  EXPECT_EQ(put({fromPerson("u1", "", user)})["contacts"], Json({user}));
  // Now the message carries the phone number too: still the same contact, which learns it.
  EXPECT_EQ(put({fromPerson("u2", phone, user)})["contacts"], Json({user}));
  EXPECT_EQ(pending()["messages"][1]["conversation"], "wa-main:" + user);
  Json contact = ok("contact.get", {{"channel", "wa-main"}, {"contact", user}})["contact"];
  EXPECT_EQ(contact["phone"], phone);
  EXPECT_EQ(contact["user_id"], user);
  EXPECT_EQ(contact["first_message_id"], "u1");
  EXPECT_EQ(ok("contact.get", {{"channel", "wa-main"}, {"contact", phone}})["contact"], nullptr);
  // A message with the phone alone is that contact too.
  EXPECT_EQ(put({fromPerson("u3", phone, "")})["contacts"], Json({user}));
}

TEST_P(StorageConformance, AContactThatExistsKeepsItsMessages) {
  // Two contacts of one person made before they were linked (e.g. by contact.update): each
  // keeps the messages that name it, and a message naming neither goes to the phone's.
  const std::string phone = "6281255556666";
  const std::string user = "ID.1349120865530274191";
  ok("contact.update", {{"channel", "wa-main"}, {"contact", user}, {"name", "Budi"}});
  ok("contact.update", {{"channel", "wa-main"}, {"contact", phone}, {"name", "Budi"}});
  EXPECT_EQ(put({fromPerson("k1", "", user)})["contacts"], Json({user}));
  EXPECT_EQ(put({fromPerson("k2", phone, user)})["contacts"], Json({phone}));
  // Messages without phone or user_id are never moved.
  EXPECT_EQ(put({inboxMessage("k3", "6281277778888")})["contacts"], Json({"6281277778888"}));
}

// ---- outbox ------------------------------------------------------------------------

TEST_P(StorageConformance, OutboxAddKeepsTheFirstMessageForAnId) {
  Json m1 = outboxMessage("out-1", "wa-main:1");
  Json m2 = outboxMessage("out-2", "wa-main:1", kNow + 60000);
  m2["type"] = "interactive";
  m2["reply_to"] = "wamid.IN";
  m2["payload"] = {{"buttons", {{{"id", "yes"}, {"title", "Ya"}}}}};
  EXPECT_EQ(add({m1}), Json({{"added", {true}}}));
  Json changed = m1;
  changed["text"] = "another text";
  EXPECT_EQ(add({changed, m2, m2}), Json({{"added", {false, true, false}}}));

  Json expected = m1;
  expected["attempts"] = 0;
  expected["state"] = "pending";
  expected["provider_message_id"] = nullptr;
  expected["last_error"] = "";
  expected["statuses"] = Json::array();
  EXPECT_EQ(get("out-1"), expected);
  Json got2 = get("out-2");
  EXPECT_EQ(got2["payload"], m2["payload"]);
  EXPECT_EQ(got2["reply_to"], "wamid.IN");
  EXPECT_EQ(got2["not_before"], kNow + 60000);
  EXPECT_EQ(get("no-such-id"), nullptr);
}

TEST_P(StorageConformance, ClaimKeepsEachConversationInOrderThroughRetriesAndFailures) {
  add({outboxMessage("a1", "A"), outboxMessage("a2", "A"), outboxMessage("b1", "B"),
       outboxMessage("a3", "A")});
  Json first = claim(kNow);
  // a2 and a3 wait behind a1, which is now being sent.
  ASSERT_THAT(ids(first), ElementsAre("a1", "b1"));
  Json expected = outboxMessage("a1", "A");
  expected["attempts"] = 0;
  expected["state"] = "sending";
  EXPECT_EQ(first["messages"][0], expected);
  EXPECT_EQ(get("a1")["state"], "sending");

  // A retry later: a1 is not due, and still holds a2 back.
  ok("outbox.retry", {{"id", "a1"}, {"not_before", kNow + 1000}, {"error", "timeout"}});
  EXPECT_THAT(ids(claim(kNow + 999)), IsEmpty());
  Json retried = claim(kNow + 1000);
  ASSERT_THAT(ids(retried), ElementsAre("a1"));
  EXPECT_EQ(retried["messages"][0]["attempts"], 1);
  EXPECT_EQ(retried["messages"][0]["not_before"], kNow + 1000);
  EXPECT_EQ(get("a1")["last_error"], "timeout");

  // A failure releases the conversation: a2 is next, then a3 after a2 is sent.
  ok("outbox.failed", {{"id", "a1"}, {"error", "131026 undeliverable"}, {"now", kNow + 1100}});
  EXPECT_THAT(ids(claim(kNow + 1100)), ElementsAre("a2"));
  EXPECT_THAT(ids(claim(kNow + 1100)), IsEmpty());
  sent("a2", "wamid.OUT.a2");
  EXPECT_THAT(ids(claim(kNow + 1200)), ElementsAre("a3"));

  Json a1 = get("a1");
  EXPECT_EQ(a1["state"], "failed");
  EXPECT_EQ(a1["last_error"], "131026 undeliverable");
  Json a2 = get("a2");
  EXPECT_EQ(a2["state"], "sent");
  EXPECT_EQ(a2["provider_message_id"], "wamid.OUT.a2");
}

TEST_P(StorageConformance, ClaimTakesDueMessagesOldestFirstUpToTheLimit) {
  add({outboxMessage("c1", "C"), outboxMessage("d1", "D"), outboxMessage("e1", "E", kNow + 5000),
       outboxMessage("f1", "F")});
  add({outboxMessage("g1", "G")});
  EXPECT_THAT(ids(claim(kNow, 2)), ElementsAre("c1", "d1"));
  EXPECT_THAT(ids(claim(kNow, 2)), ElementsAre("f1", "g1"));
  EXPECT_THAT(ids(claim(kNow, 2)), IsEmpty());
  EXPECT_THAT(ids(claim(kNow + 5000, 2)), ElementsAre("e1"));
}

TEST_P(StorageConformance, ALeaseKeepsAMessageUntilRecoverMarksItInDoubt) {
  add({outboxMessage("l1", "L"), outboxMessage("l2", "M")});
  ASSERT_THAT(ids(claim(kNow, 100, 1000)), ElementsAre("l1", "l2"));
  sent("l2", "wamid.OUT.l2");
  // Not claimed again by anyone while the lease runs.
  EXPECT_THAT(ids(claim(kNow + 999)), IsEmpty());
  EXPECT_EQ(ok("outbox.recover", {{"now", kNow + 999}}), Json({{"in_doubt", Json::array()}}));
  // Expired: it may or may not have reached the provider.
  Json recovered = ok("outbox.recover", {{"now", kNow + 1000}});
  ASSERT_THAT(ids(recovered, "in_doubt"), ElementsAre("l1"));
  Json expected = outboxMessage("l1", "L");
  expected["attempts"] = 0;
  expected["state"] = "in_doubt";
  EXPECT_EQ(recovered["in_doubt"][0], expected);
  EXPECT_EQ(get("l1")["state"], "in_doubt");
  EXPECT_EQ(get("l2")["state"], "sent");  // a sent message is never in doubt
  EXPECT_THAT(ids(ok("outbox.recover", {{"now", kNow + 5000}}), "in_doubt"), IsEmpty());
  EXPECT_THAT(ids(claim(kNow + 5000)), IsEmpty());
  // The daemon's decision goes through the usual operations.
  ok("outbox.retry", {{"id", "l1"}, {"not_before", kNow + 5000}, {"error", "in doubt"}});
  EXPECT_THAT(ids(claim(kNow + 5000)), ElementsAre("l1"));
}

TEST_P(StorageConformance, UpdatesOfAnUnknownOutboxIdAreInvalid) {
  CallOutcome s = exec("outbox.sent", {{"id", "ghost"}, {"provider_message_id", "w"}, {"now", 1}});
  EXPECT_EQ(s.rc, waflow::Rc::kInvalid);
  EXPECT_THAT(s.error, HasSubstr("ghost"));
  EXPECT_EQ(exec("outbox.retry", {{"id", "ghost"}, {"not_before", 1}, {"error", ""}}).rc,
            waflow::Rc::kInvalid);
  EXPECT_EQ(exec("outbox.failed", {{"id", "ghost"}, {"error", ""}, {"now", 1}}).rc,
            waflow::Rc::kInvalid);
  EXPECT_EQ(get("ghost"), nullptr);
}

TEST_P(StorageConformance, OutboxAddWithClaimLeasesAtOnceWhatNothingHoldsBack) {
  // Conversations in every state that matters: P has a pending message (not
  // due yet), S one being sent, D one in doubt, F only finished ones.
  add({outboxMessage("d0", "D")});
  putInDoubt(kNow);
  add({outboxMessage("p0", "P", kNow + 60000), outboxMessage("s0", "S"), outboxMessage("f0", "F")});
  ASSERT_THAT(ids(claim(kNow)), ElementsAre("s0", "f0"));
  sent("f0", "wamid.OUT.f0");

  Json out =
      addClaiming({outboxMessage("p1", "P"), outboxMessage("s1", "S"), outboxMessage("d1", "D"),
                   outboxMessage("f1", "F"), outboxMessage("n1", "N"), outboxMessage("n2", "N"),
                   outboxMessage("later", "L", kNow + 60000), outboxMessage("p0", "Q")},
                  kNow, 5000, "worker-9");
  // Only f1 and n1 have nothing unfinished before them; n2 waits behind n1 of
  // the same call, `later` is not due, and p0 was already there.
  EXPECT_EQ(out, Json({{"added", {true, true, true, true, true, true, true, false}},
                       {"claimed", {false, false, false, true, true, false, false, false}}}));
  Json f1 = get("f1");
  EXPECT_EQ(f1["state"], "sending");
  EXPECT_EQ(f1["attempts"], 0);
  for (const char* id : {"p1", "s1", "d1", "n2", "later"}) {
    EXPECT_EQ(get(id)["state"], "pending") << id;
  }
  EXPECT_EQ(get("p0")["conversation"], "P");  // the existing row was left as it was
  // Claimed means leased: nobody claims them again, and the rest still waits.
  EXPECT_THAT(ids(claim(kNow + 4999, 100, 30000, "worker-2")), IsEmpty());
  // Without "claim" nothing is claimed and the output has no "claimed".
  EXPECT_EQ(add({outboxMessage("z1", "Z")}), Json({{"added", {true}}}));
  EXPECT_EQ(get("z1")["state"], "pending");
}

TEST_P(StorageConformance, AMessageClaimedByAddHoldsALeaseLikeAClaimedOne) {
  ASSERT_EQ(addClaiming({outboxMessage("a1", "A"), outboxMessage("a2", "A")}, kNow, 1000),
            Json({{"added", {true, true}}, {"claimed", {true, false}}}));
  EXPECT_THAT(ids(claim(kNow + 999)), IsEmpty());
  EXPECT_THAT(ids(recover(kNow + 999), "in_doubt"), IsEmpty());
  Json recovered = recover(kNow + 1000);
  ASSERT_THAT(ids(recovered, "in_doubt"), ElementsAre("a1"));
  Json expected = outboxMessage("a1", "A");
  expected["attempts"] = 0;
  expected["state"] = "in_doubt";
  EXPECT_EQ(recovered["in_doubt"][0], expected);
  // Sent at once, it needs no claim: outbox.sent settles it and releases a2.
  ASSERT_EQ(addClaiming({outboxMessage("b1", "B")}, kNow, 1000)["claimed"], Json({true}));
  sent("b1", "wamid.OUT.b1");
  EXPECT_EQ(get("b1")["state"], "sent");
  EXPECT_EQ(get("b1")["provider_message_id"], "wamid.OUT.b1");
}

TEST_P(StorageConformance, ASendInDoubtHoldsBackItsConversationUntilResolved) {
  add({outboxMessage("a1", "A"), outboxMessage("a2", "A"), outboxMessage("b1", "B"),
       outboxMessage("b2", "B")});
  putInDoubt(kNow);
  ASSERT_EQ(get("a1")["state"], "in_doubt");
  ASSERT_EQ(get("b1")["state"], "in_doubt");
  // Nothing of A or B goes while its first send's outcome is unknown.
  EXPECT_THAT(ids(claim(kNow + 5000)), IsEmpty());
  EXPECT_EQ(addClaiming({outboxMessage("a3", "A")}, kNow + 5000)["claimed"], Json({false}));
  // Given up: the conversation moves on. Sent again: it keeps its place first.
  ok("outbox.failed", {{"id", "a1"}, {"error", "no status after a restart"}, {"now", kNow}});
  ok("outbox.retry", {{"id", "b1"}, {"not_before", kNow + 5000}, {"error", "in doubt"}});
  EXPECT_THAT(ids(claim(kNow + 5000)), ElementsAre("a2", "b1"));
}

// A send whose answer never came (a timeout after the request went out) may have reached the
// provider: it is held in doubt, never put back to pending where it would be sent again blindly.
TEST_P(StorageConformance, ASendWithoutAnAnswerIsHeldInDoubtUntilAStatusOrAResolution) {
  ASSERT_EQ(
      addClaiming({outboxMessage("t1", "T"), outboxMessage("t2", "T"), outboxMessage("u1", "U")},
                  kNow)["claimed"],
      Json({true, false, true}));
  EXPECT_EQ(ok("outbox.in_doubt", {{"id", "t1"}, {"error", "timeout"}, {"now", kNow + 1}}),
            Json({{"changed", true}}));
  Json t1 = get("t1");
  EXPECT_EQ(t1["state"], "in_doubt");
  EXPECT_EQ(t1["attempts"], 1);
  EXPECT_EQ(t1["last_error"], "timeout");
  // It holds its conversation, and is not claimed again by itself.
  EXPECT_THAT(ids(claim(kNow + 60000)), IsEmpty());
  // Its status (with the outbox id the channel echoes) settles it; the conversation moves on.
  Json st = status("wamid.OUT.t1", "sent", kNow + 2);
  st["outbox_id"] = "t1";
  statuses({st});
  EXPECT_EQ(get("t1")["state"], "sent");
  EXPECT_THAT(ids(claim(kNow + 60000)), ElementsAre("t2"));
  // Only a send under way can become in doubt: a settled one is left alone, an unknown id is
  // invalid.
  EXPECT_EQ(ok("outbox.in_doubt", {{"id", "t1"}, {"error", "late"}, {"now", kNow + 3}}),
            Json({{"changed", false}}));
  EXPECT_EQ(get("t1")["state"], "sent");
  EXPECT_EQ(exec("outbox.in_doubt", {{"id", "ghost"}, {"error", ""}, {"now", kNow}}).rc,
            waflow::Rc::kInvalid);
  // Without a status, the daemon resolves it like a send interrupted by a crash.
  ok("outbox.in_doubt", {{"id", "u1"}, {"error", "reset"}, {"now", kNow + 4}});
  ok("outbox.retry", {{"id", "u1"}, {"not_before", kNow}, {"error", "no status"}});
  EXPECT_THAT(ids(claim(kNow + 60000)), ElementsAre("u1"));
}

TEST_P(StorageConformance, RecoverWithAnOwnerTakesBackEveryLeaseOfThatOwner) {
  add({outboxMessage("x1", "X"), outboxMessage("x2", "X2")});
  add({outboxMessage("y1", "Y")});
  add({outboxMessage("z1", "Z")});
  ASSERT_THAT(ids(claim(kNow, 2, 60000, "host-a")), ElementsAre("x1", "x2"));
  ASSERT_THAT(ids(claim(kNow, 1, 60000, "host-b")), ElementsAre("y1"));
  ASSERT_THAT(ids(claim(kNow, 1, 10, "host-c")), ElementsAre("z1"));
  sent("x2", "wamid.OUT.x2");
  // host-a restarted: its leases are void whatever their time; host-c's lease
  // expired; host-b's still runs.
  EXPECT_THAT(ids(recover(kNow + 10, "host-a"), "in_doubt"), ElementsAre("x1", "z1"));
  EXPECT_EQ(get("x1")["state"], "in_doubt");
  EXPECT_EQ(get("x2")["state"], "sent");
  EXPECT_EQ(get("y1")["state"], "sending");
  // Without an owner only expired leases count.
  EXPECT_THAT(ids(recover(kNow + 59999), "in_doubt"), IsEmpty());
  EXPECT_THAT(ids(recover(kNow + 60000), "in_doubt"), ElementsAre("y1"));
  // host-a restarts again before it resolved them: what is still in doubt comes back, so no
  // send stays in doubt (holding its conversation) for ever.
  EXPECT_THAT(ids(recover(kNow + 60010, "host-a"), "in_doubt"), ElementsAre("x1", "y1", "z1"));
  ok("outbox.retry", {{"id", "x1"}, {"not_before", kNow}, {"error", "no status"}});
  ok("outbox.failed", {{"id", "y1"}, {"error", "no status"}, {"now", kNow}});
  ok("outbox.failed", {{"id", "z1"}, {"error", "no status"}, {"now", kNow}});
  EXPECT_THAT(ids(recover(kNow + 60020, "host-a"), "in_doubt"), IsEmpty());
}

TEST_P(StorageConformance, RetryAndFailedSettleOnlySendsUnderWayOrInDoubt) {
  add({outboxMessage("s1", "S1"), outboxMessage("s2", "S2"), outboxMessage("d1", "D1"),
       outboxMessage("d2", "D2")});
  putInDoubt(kNow);
  ASSERT_THAT(ids(claim(kNow + 10)), IsEmpty());
  add({outboxMessage("s3", "S3"), outboxMessage("s4", "S4")});
  ASSERT_THAT(ids(claim(kNow + 10)), ElementsAre("s3", "s4"));
  // Sending and in doubt: both settle.
  EXPECT_EQ(ok("outbox.retry", {{"id", "s3"}, {"not_before", kNow + 100}, {"error", "503"}}),
            Json({{"changed", true}}));
  EXPECT_EQ(ok("outbox.failed", {{"id", "s4"}, {"error", "(131026) undeliverable"}, {"now", kNow}}),
            Json({{"changed", true}}));
  EXPECT_EQ(ok("outbox.retry", {{"id", "d1"}, {"not_before", kNow + 100}, {"error", "in doubt"}}),
            Json({{"changed", true}}));
  EXPECT_EQ(ok("outbox.failed", {{"id", "d2"}, {"error", "gave up"}, {"now", kNow}}),
            Json({{"changed", true}}));
  Json s3 = get("s3");
  EXPECT_EQ(s3["state"], "pending");
  EXPECT_EQ(s3["attempts"], 1);
  EXPECT_EQ(s3["last_error"], "503");
  EXPECT_EQ(get("s4")["state"], "failed");
  EXPECT_EQ(get("d1")["state"], "pending");
  Json d2 = get("d2");
  EXPECT_EQ(d2["state"], "failed");
  EXPECT_EQ(d2["last_error"], "gave up");
  // Anything else is left alone: a retry must never resend a message already
  // sent (a status settled it meanwhile) nor revive a failed one.
  ok("outbox.retry", {{"id", "s1"}, {"not_before", kNow}, {"error", ""}});  // in doubt: settles
  ASSERT_THAT(ids(claim(kNow + 100)), ElementsAre("s1", "d1", "s3"));
  sent("s1", "wamid.OUT.s1");
  EXPECT_EQ(ok("outbox.retry", {{"id", "s1"}, {"not_before", kNow}, {"error", "late"}}),
            Json({{"changed", false}}));
  EXPECT_EQ(ok("outbox.failed", {{"id", "s1"}, {"error", "late"}, {"now", kNow}}),
            Json({{"changed", false}}));
  EXPECT_EQ(ok("outbox.retry", {{"id", "d2"}, {"not_before", kNow}, {"error", "again"}}),
            Json({{"changed", false}}));
  Json s1 = get("s1");
  EXPECT_EQ(s1["state"], "sent");
  EXPECT_EQ(s1["attempts"], 1);  // its one retry above, not these
  EXPECT_EQ(s1["last_error"], "");
  EXPECT_EQ(get("d2")["state"], "failed");
  EXPECT_EQ(get("d2")["last_error"], "gave up");
  add({outboxMessage("p1", "P1", kNow + 60000)});
  EXPECT_EQ(ok("outbox.failed", {{"id", "p1"}, {"error", "x"}, {"now", kNow}}),
            Json({{"changed", false}}));
  EXPECT_EQ(get("p1")["state"], "pending");
}

TEST_P(StorageConformance, OutboxSentInABatchMarksEachAndNamesTheUnknown) {
  add({outboxMessage("m1", "M1"), outboxMessage("m2", "M2"), outboxMessage("m3", "M3")});
  claim(kNow);
  Json out = ok("outbox.sent", {{"messages",
                                 {{{"id", "m1"}, {"provider_message_id", "wamid.OUT.m1"}},
                                  {{"id", "ghost"}, {"provider_message_id", "wamid.OUT.g"}},
                                  {{"id", "m3"}, {"provider_message_id", "wamid.OUT.m3"}}}},
                                {"now", kNow + 5}});
  EXPECT_EQ(out, Json({{"unknown", {"ghost"}}}));
  EXPECT_EQ(get("m1")["state"], "sent");
  EXPECT_EQ(get("m1")["provider_message_id"], "wamid.OUT.m1");
  EXPECT_EQ(get("m2")["state"], "sending");
  EXPECT_EQ(get("m3")["provider_message_id"], "wamid.OUT.m3");
  EXPECT_EQ(ok("outbox.sent", {{"messages", Json::array()}, {"now", kNow}}),
            Json({{"unknown", Json::array()}}));
  // One malformed entry refuses the whole batch.
  CallOutcome bad =
      exec("outbox.sent",
           {{"messages", {{{"id", "m2"}, {"provider_message_id", "wamid.OUT.m2"}}, {{"id", "m3"}}}},
            {"now", kNow}});
  EXPECT_EQ(bad.rc, waflow::Rc::kInvalid);
  EXPECT_EQ(get("m2")["state"], "sending");
  // Statuses find the rows by the recorded provider ids.
  EXPECT_EQ(statuses({status("wamid.OUT.m3", "delivered", kNow + 9)})["outbox_ids"], Json({"m3"}));
}

// ---- statuses -------------------------------------------------------------------------

TEST_P(StorageConformance, AStatusWithTheOutboxIdSettlesASendInDoubt) {
  add({outboxMessage("d1", "D"), outboxMessage("d2", "D"), outboxMessage("e1", "E")});
  putInDoubt(kNow);
  ASSERT_EQ(get("d1")["state"], "in_doubt");
  // The crash came after the provider accepted d1: its status, carrying the
  // outbox id the channel echoes, shows it was delivered.
  Json st = status("wamid.OUT.d1", "delivered", kNow + 50);
  st["outbox_id"] = "d1";
  EXPECT_EQ(statuses({st}), Json({{"new", {true}}, {"outbox_ids", {"d1"}}}));
  Json d1 = get("d1");
  EXPECT_EQ(d1["state"], "sent");
  EXPECT_EQ(d1["provider_message_id"], "wamid.OUT.d1");
  ASSERT_EQ(d1["statuses"].size(), 1u);
  EXPECT_EQ(d1["statuses"][0]["status"], "delivered");
  // The conversation moves on; d1 is not sent again.
  EXPECT_THAT(ids(claim(kNow + 100)), ElementsAre("d2"));
  // A repeat still names the row.
  EXPECT_EQ(statuses({st}), Json({{"new", {false}}, {"outbox_ids", {"d1"}}}));
  // A failed one ends a send in doubt with the provider's reason.
  Json failed = status("wamid.OUT.e1", "failed", kNow + 60, 131049);
  failed["error_message"] = "Message not delivered to maintain healthy ecosystem";
  failed["outbox_id"] = "e1";
  EXPECT_EQ(statuses({failed})["outbox_ids"], Json({"e1"}));
  Json e1 = get("e1");
  EXPECT_EQ(e1["state"], "failed");
  EXPECT_EQ(e1["last_error"], "131049 Message not delivered to maintain healthy ecosystem");
}

TEST_P(StorageConformance, AStatusSettlesASendUnderWayBeforeItsAnswerIsRecorded) {
  ASSERT_EQ(addClaiming({outboxMessage("w1", "W"), outboxMessage("w2", "W")}, kNow)["claimed"],
            Json({true, false}));
  // First without the outbox id: nothing knows wamid.OUT.w1 yet. Its
  // redelivery with the id is a repeat, and still settles the row.
  Json st = status("wamid.OUT.w1", "sent", kNow + 5);
  EXPECT_EQ(statuses({st}), Json({{"new", {true}}, {"outbox_ids", {nullptr}}}));
  EXPECT_EQ(get("w1")["state"], "sending");
  st["outbox_id"] = "w1";
  EXPECT_EQ(statuses({st}), Json({{"new", {false}}, {"outbox_ids", {"w1"}}}));
  EXPECT_EQ(get("w1")["state"], "sent");
  EXPECT_THAT(ids(claim(kNow + 10)), ElementsAre("w2"));
  // The send's answer arrives after: it agrees and changes nothing else.
  sent("w1", "wamid.OUT.w1", kNow + 20);
  Json w1 = get("w1");
  EXPECT_EQ(w1["state"], "sent");
  EXPECT_EQ(w1["provider_message_id"], "wamid.OUT.w1");
  ASSERT_EQ(w1["statuses"].size(), 1u);
}

TEST_P(StorageConformance, AFailedMessageStaysFailedWhateverArrivesLater) {
  add({outboxMessage("f1", "F"), outboxMessage("f2", "G")});
  claim(kNow);
  // The failure is reported before the send's answer is recorded, and without
  // an outbox id: it is applied when outbox.sent makes the provider id known.
  statuses({status("wamid.OUT.f1", "failed", kNow + 10, 131026)});
  sent("f1", "wamid.OUT.f1", kNow + 20);
  Json f1 = get("f1");
  EXPECT_EQ(f1["state"], "failed");
  EXPECT_EQ(f1["last_error"], "131026 Message undeliverable");
  // Late good news does not undo it.
  Json late = status("wamid.OUT.f1", "delivered", kNow + 30);
  late["outbox_id"] = "f1";
  EXPECT_EQ(statuses({late})["outbox_ids"], Json({"f1"}));
  EXPECT_EQ(get("f1")["state"], "failed");
  EXPECT_EQ(get("f1")["last_error"], "131026 Message undeliverable");
  // Nor does a send's answer arriving after a failed status settled the row.
  Json failed = status("wamid.OUT.f2", "failed", kNow + 40, 470);
  failed["outbox_id"] = "f2";
  statuses({failed});
  sent("f2", "wamid.OUT.f2", kNow + 50);
  Json f2 = get("f2");
  EXPECT_EQ(f2["state"], "failed");
  EXPECT_EQ(f2["last_error"], "470 Message undeliverable");
  EXPECT_EQ(f2["provider_message_id"], "wamid.OUT.f2");
}

TEST_P(StorageConformance, AStatusMatchesByProviderIdFirstAndByOutboxIdOnItsChannelOnly) {
  add({outboxMessage("a1", "A"), outboxMessage("b1", "B"), outboxMessage("c1", "C")});
  claim(kNow);
  sent("a1", "wamid.OUT.a1");
  // The provider id wins over an outbox id naming another message.
  Json both = status("wamid.OUT.a1", "read", kNow + 10);
  both["outbox_id"] = "b1";
  // An outbox id is looked up on the status' own channel only.
  Json elsewhere = status("wamid.OTHER.c1", "sent", kNow + 10);
  elsewhere["channel"] = "wa-second";
  elsewhere["outbox_id"] = "c1";
  // An empty or null outbox id is no outbox id.
  Json empty = status("wamid.OUT.x", "sent", kNow + 10);
  empty["outbox_id"] = "";
  Json null_id = status("wamid.OUT.y", "sent", kNow + 10);
  null_id["outbox_id"] = nullptr;
  EXPECT_EQ(
      statuses({both, elsewhere, empty, null_id}),
      Json({{"new", {true, true, true, true}}, {"outbox_ids", {"a1", nullptr, nullptr, nullptr}}}));
  EXPECT_EQ(get("b1")["state"], "sending");
  EXPECT_EQ(get("c1")["state"], "sending");
  // A row that has a provider id keeps it when a status names it by outbox id.
  Json by_outbox_id = status("wamid.OUT.a1-second", "delivered", kNow + 20);
  by_outbox_id["outbox_id"] = "a1";
  EXPECT_EQ(statuses({by_outbox_id})["outbox_ids"], Json({"a1"}));
  EXPECT_EQ(get("a1")["provider_message_id"], "wamid.OUT.a1");
}

TEST_P(StorageConformance, StatusPutDedupsAndKeepsTheHistoryOfASentMessage) {
  add({outboxMessage("s1", "S")});
  claim(kNow);
  sent("s1", "wamid.OUT.s1");
  EXPECT_EQ(ok("status.put", {{"statuses",
                               {status("wamid.OUT.s1", "sent", kNow + 1000),
                                status("wamid.OUT.s1", "delivered", kNow + 2000),
                                status("wamid.OUT.s1", "delivered", kNow + 2000)}}}),
            Json({{"new", {true, true, false}}, {"outbox_ids", {"s1", "s1", "s1"}}}));
  EXPECT_EQ(ok("status.put", {{"statuses",
                               {status("wamid.OUT.s1", "read", kNow + 3000),
                                status("wamid.OUT.s1", "sent", kNow + 1000)}}}),
            Json({{"new", {true, false}}, {"outbox_ids", {"s1", "s1"}}}));
  Json s1 = get("s1");
  EXPECT_EQ(s1["state"], "sent");
  EXPECT_EQ(s1["statuses"],
            Json::parse(R"([{"status":"sent","timestamp":1700000001000,"error_code":0},
                            {"status":"delivered","timestamp":1700000002000,"error_code":0},
                            {"status":"read","timestamp":1700000003000,"error_code":0}])"));
}

TEST_P(StorageConformance, AStatusThatArrivesBeforeTheSendIsRecordedStillCounts) {
  add({outboxMessage("s2", "S2")});
  claim(kNow);
  // The provider's webhook can beat the answer to our send request.
  EXPECT_EQ(ok("status.put", {{"statuses", {status("wamid.OUT.s2", "sent", kNow + 10)}}}),
            Json({{"new", {true}}, {"outbox_ids", {nullptr}}}));
  sent("s2", "wamid.OUT.s2", kNow + 20);
  EXPECT_EQ(get("s2")["state"], "sent");
  // A failed status ends a sent message, with the provider's reason.
  EXPECT_EQ(ok("status.put", {{"statuses", {status("wamid.OUT.s2", "failed", kNow + 30, 131026)}}}),
            Json({{"new", {true}}, {"outbox_ids", {"s2"}}}));
  Json s2 = get("s2");
  EXPECT_EQ(s2["state"], "failed");
  EXPECT_EQ(s2["last_error"], "131026 Message undeliverable");
  ASSERT_EQ(s2["statuses"].size(), 2u);
  EXPECT_EQ(s2["statuses"][0]["status"], "sent");
  EXPECT_EQ(s2["statuses"][1],
            Json({{"status", "failed"}, {"timestamp", kNow + 30}, {"error_code", 131026}}));
  // Statuses of messages the outbox never had are kept too, and still deduplicated.
  EXPECT_EQ(
      ok("status.put",
         {{"statuses",
           {status("wamid.elsewhere", "read", kNow), status("wamid.elsewhere", "read", kNow)}}}),
      Json({{"new", {true, false}}, {"outbox_ids", {nullptr, nullptr}}}));
}

// ---- key-value -------------------------------------------------------------------------

TEST_P(StorageConformance, KeyValueGetPutDelete) {
  EXPECT_EQ(ok("kv.get", {{"key", "cursor"}}), Json({{"value", nullptr}}));
  EXPECT_EQ(ok("kv.put", {{"key", "cursor"}, {"value", "41"}}), Json::object());
  EXPECT_EQ(ok("kv.put", {{"key", "cursor"}, {"value", "42"}}), Json::object());
  ok("kv.put", {{"key", "empty"}, {"value", ""}});
  EXPECT_EQ(ok("kv.get", {{"key", "cursor"}}), Json({{"value", "42"}}));
  EXPECT_EQ(ok("kv.get", {{"key", "empty"}}), Json({{"value", ""}}));
  EXPECT_EQ(ok("kv.delete", {{"key", "cursor"}}), Json({{"deleted", true}}));
  EXPECT_EQ(ok("kv.delete", {{"key", "cursor"}}), Json({{"deleted", false}}));
  EXPECT_EQ(ok("kv.get", {{"key", "cursor"}}), Json({{"value", nullptr}}));
}

// ---- errors ----------------------------------------------------------------------------

TEST_P(StorageConformance, AnUnknownOperationIsUnsupported) {
  CallOutcome o = exec("inbox.purge", Json::object());
  EXPECT_EQ(o.rc, waflow::Rc::kUnsupported);
  EXPECT_THAT(o.error, HasSubstr("inbox.purge"));
}

TEST_P(StorageConformance, MalformedInputIsInvalidAndNamesTheField) {
  Json no_time = inboxMessage("x1");
  no_time.erase("received_at");
  Json bad_time = inboxMessage("x2");
  bad_time["received_at"] = "yesterday";
  Json bad_event = inboxMessage("x3");
  bad_event["event"] = "text";
  Json bad_raw = status("w", "read", 1);
  bad_raw["raw"] = "raw";
  Json no_conversation = outboxMessage("o", "");
  Json bad_outbox_id = status("w", "read", 1);
  bad_outbox_id["outbox_id"] = 5;
  expectInvalid({
      {"inbox.put", Json::object(), "messages"},
      {"inbox.put", {{"messages", "m"}}, "messages"},
      {"inbox.put", {{"messages", {no_time}}}, "messages[0].received_at"},
      {"inbox.put", {{"messages", {inboxMessage("ok"), bad_time}}}, "messages[1].received_at"},
      {"inbox.put", {{"messages", {bad_event}}}, "messages[0].event"},
      {"inbox.pending", {{"limit", 0}}, "limit"},
      {"inbox.done", {{"messages", {{{"channel", "wa-main"}}}}}, "messages[0].id"},
      {"status.put", {{"statuses", {bad_raw}}}, "statuses[0].raw"},
      {"status.put",
       {{"statuses", {status("w", "read", 1), bad_outbox_id}}},
       "statuses[1].outbox_id"},
      {"contact.get", {{"channel", "wa-main"}}, "contact"},
      {"outbox.add", {{"messages", {no_conversation}}}, "messages[0].conversation"},
      {"outbox.add",
       {{"messages", Json::array()}, {"claim", {{"lease_ms", 10}, {"now", 1}}}},
       "claim.owner"},
      {"outbox.add",
       {{"messages", Json::array()}, {"claim", {{"owner", "w"}, {"lease_ms", 0}, {"now", 1}}}},
       "claim.lease_ms"},
      {"outbox.add", {{"messages", Json::array()}, {"claim", "w"}}, "claim"},
      {"outbox.claim", {{"limit", 1}, {"now", 1}, {"lease_ms", 0}, {"owner", "w"}}, "lease_ms"},
      {"outbox.claim", {{"limit", 1}, {"now", 1}, {"lease_ms", 10}}, "owner"},
      {"outbox.claim", {{"limit", 1.5}, {"now", 1}, {"lease_ms", 10}, {"owner", "w"}}, "limit"},
      {"outbox.sent", {{"id", "x"}, {"now", 1}}, "provider_message_id"},
      {"outbox.sent",
       {{"messages", {{{"id", "x"}, {"provider_message_id", "w"}}, {{"id", "y"}}}}, {"now", 1}},
       "messages[1].provider_message_id"},
      {"outbox.sent", {{"messages", {{{"id", "x"}, {"provider_message_id", "w"}}}}}, "now"},
      {"outbox.retry", {{"id", "x"}, {"error", ""}}, "not_before"},
      {"outbox.failed", {{"id", 5}, {"error", ""}, {"now", 1}}, "id"},
      {"outbox.recover", Json::object(), "now"},
      {"outbox.recover", {{"now", 1}, {"owner", 5}}, "owner"},
      {"outbox.get", {{"id", ""}}, "id"},
      {"kv.put", {{"key", "k"}, {"value", 3}}, "value"},
      {"kv.get", Json::object(), "key"},
      {"kv.delete", {{"key", nullptr}}, "key"},
  });
  // An operation is all-or-nothing: the valid message of a rejected put was not stored.
  EXPECT_THAT(ids(pending()), IsEmpty());
}

// ---- group commit, batches, shutdown ----------------------------------------------------

TEST_P(StorageConformance, ConcurrentWritesShareCommits) {
  constexpr int kPuts = 500;
  Json before = stats();
  for (const char* key : {"writes", "commits", "batches_max"}) {
    ASSERT_TRUE(before[key].is_number_unsigned()) << before.dump();
  }
  Ops calls;
  for (int i = 0; i < kPuts; ++i) {
    calls.emplace_back("inbox.put",
                       Json{{"messages", {inboxMessage("wamid.G" + std::to_string(i))}}});
  }
  // With the backend's write lock held, every put is queued before the first commit.
  std::shared_ptr<void> blocked =
      GetParam().block_writes ? GetParam().block_writes(config_) : nullptr;
  Calls running = harness_->start(calls, 4);
  blocked.reset();
  for (const CallOutcome& o : running.wait()) {
    ASSERT_TRUE(o.ok()) << o.error;
    EXPECT_EQ(Json::parse(o.value)["new"], Json({true}));
  }
  Json after = stats();
  uint64_t writes = after["writes"].get<uint64_t>() - before["writes"].get<uint64_t>();
  uint64_t commits = after["commits"].get<uint64_t>() - before["commits"].get<uint64_t>();
  EXPECT_EQ(writes, static_cast<uint64_t>(kPuts));
  EXPECT_LT(commits, writes);
  if (GetParam().block_writes) {
    EXPECT_LE(commits, 3u) << after.dump();
    EXPECT_GE(after["batches_max"].get<uint64_t>(), static_cast<uint64_t>(kPuts / 2));
  }
  EXPECT_EQ(pending()["messages"].size(), static_cast<std::size_t>(kPuts));
}

TEST_P(StorageConformance, AFailingOperationInABatchFailsAlone) {
  if (!GetParam().block_writes) {
    GTEST_SKIP() << "the backend cannot hold its writes to form one batch";
  }
  Json before = stats();
  std::shared_ptr<void> blocked = GetParam().block_writes(config_);
  Calls running = harness_->start(
      {{"inbox.put", {{"messages", {inboxMessage("wamid.ok1")}}}},
       {"outbox.sent", {{"id", "ghost"}, {"provider_message_id", "w"}, {"now", kNow}}},
       {"inbox.put", {{"messages", {inboxMessage("wamid.ok2")}}}},
       {"kv.put", {{"key", "k"}, {"value", "v"}}},
       {"outbox.failed", {{"id", "ghost"}, {"error", "e"}, {"now", kNow}}}},
      1);
  blocked.reset();
  std::vector<CallOutcome> o = running.wait();
  EXPECT_TRUE(o[0].ok()) << o[0].error;
  EXPECT_EQ(o[1].rc, waflow::Rc::kInvalid);
  EXPECT_TRUE(o[2].ok()) << o[2].error;
  EXPECT_TRUE(o[3].ok()) << o[3].error;
  EXPECT_EQ(o[4].rc, waflow::Rc::kInvalid);
  Json after = stats();
  EXPECT_LE(after["commits"].get<uint64_t>() - before["commits"].get<uint64_t>(), 2u);
  EXPECT_THAT(ids(pending()), ElementsAre("wamid.ok1", "wamid.ok2"));
  EXPECT_EQ(ok("kv.get", {{"key", "k"}}), Json({{"value", "v"}}));
}

TEST_P(StorageConformance, StopAnswersEverythingQueuedFirst) {
  Ops calls;
  for (int i = 0; i < 100; ++i) {
    calls.emplace_back("inbox.put",
                       Json{{"messages", {inboxMessage("wamid.S" + std::to_string(i))}}});
  }
  Calls running = harness_->start(calls, 2);
  harness_->close();
  for (const CallOutcome& o : running.wait()) {
    EXPECT_TRUE(o.ok()) << o.error;
  }
  restart();
  EXPECT_EQ(pending()["messages"].size(), 100u);
}

TEST_P(StorageConformance, EverythingSurvivesARestart) {
  put({inboxMessage("i1"), inboxMessage("i2"), inboxMessage("i3", "6281233334444", kNow, "Sari")});
  ok("inbox.done", {{"messages", {{{"channel", "wa-main"}, {"id", "i2"}}}}});
  add({outboxMessage("o1", "R"), outboxMessage("o2", "R"), outboxMessage("o3", "Q")});
  claim(kNow);
  sent("o1", "wamid.OUT.o1");
  ok("status.put", {{"statuses", {status("wamid.OUT.o1", "delivered", kNow + 1)}}});
  ok("kv.put", {{"key", "cursor"}, {"value", "7"}});

  restart();

  EXPECT_THAT(ids(pending()), ElementsAre("i1", "i3"));  // still pending, still in order
  EXPECT_EQ(put({inboxMessage("i2")})["new"], Json({false}));
  EXPECT_EQ(
      ok("contact.get", {{"channel", "wa-main"}, {"contact", "6281233334444"}})["contact"]["name"],
      "Sari");
  Json o1 = get("o1");
  EXPECT_EQ(o1["state"], "sent");
  EXPECT_EQ(o1["provider_message_id"], "wamid.OUT.o1");
  ASSERT_EQ(o1["statuses"].size(), 1u);
  EXPECT_EQ(o1["statuses"][0]["status"], "delivered");
  EXPECT_EQ(get("o3")["state"], "sending");
  EXPECT_THAT(ids(claim(kNow)), ElementsAre("o2"));
  EXPECT_EQ(ok("kv.get", {{"key", "cursor"}}), Json({{"value", "7"}}));
}

// ---- schema ------------------------------------------------------------------------------

TEST_P(StorageConformance, AFreshStoreIsAtTheCurrentSchemaVersion) {
  int64_t current = stats()["schema_version"].get<int64_t>();
  EXPECT_GE(current, 1);
  if (GetParam().schema_version) {
    EXPECT_EQ(GetParam().schema_version(config_), current);
  }
  restart();  // opening an up-to-date store changes nothing
  EXPECT_EQ(stats()["schema_version"].get<int64_t>(), current);
}

TEST_P(StorageConformance, AStoreFromANewerSchemaIsRefused) {
  if (!GetParam().set_schema_version) {
    GTEST_SKIP() << "the backend cannot set its schema version from outside";
  }
  put({inboxMessage("kept")});
  int64_t current = stats()["schema_version"].get<int64_t>();
  harness_->close();
  GetParam().set_schema_version(config_, current + 1);
  std::string error;
  EXPECT_FALSE(harness_->open(GetParam().plugin, config_, &error));
  EXPECT_THAT(error, HasSubstr("schema version " + std::to_string(current + 1)));
  EXPECT_THAT(error, HasSubstr("schema version " + std::to_string(current)));
  EXPECT_THAT(error, HasSubstr("newer"));
  // Refusing touched nothing: back at its version the store opens with its data.
  GetParam().set_schema_version(config_, current);
  harness_->openOrFail(GetParam().plugin, config_);
  EXPECT_THAT(ids(pending()), ElementsAre("kept"));
}

}  // namespace

// One line per storage plugin.
std::vector<Backend> conformanceBackends() {
  return {sqliteBackend()};
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageConformance, ::testing::ValuesIn(conformanceBackends()),
                         backendName);

}  // namespace waflow::test::storage
