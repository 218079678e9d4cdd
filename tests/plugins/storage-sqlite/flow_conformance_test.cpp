// The storage conformance suite, continued: the operations the flow engine
// uses (contact.update / contact.list, conversation state and waits,
// scheduled jobs), checked against every backend of
// storage_conformance_test.cpp through the real loader and host.
#include "storage_conformance.h"
#include "storage_harness.h"

#include <waflow/sdk/storage.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace waflow::test::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A scheduled job as job.add takes it.
Json job(const std::string& id, int64_t due_at, const std::string& conversation = "",
         bool cancel_on_reply = false) {
  Json j = {{"id", id},
            {"kind", "follow_up"},
            {"due_at", due_at},
            {"payload", {{"flow", "order_status"}, {"step", "remind"}, {"id", id}}}};
  if (!conversation.empty()) {
    j["conversation"] = conversation;
  }
  if (cancel_on_reply) {
    j["cancel_on_reply"] = true;
  }
  return j;
}

// "<channel>:<contact>" of each contact of a contact.list output, in order.
std::vector<std::string> keys(const Json& list) {
  std::vector<std::string> out;
  for (const Json& c : list.at("contacts")) {
    out.push_back(c.at("channel").get<std::string>() + ":" + c.at("contact").get<std::string>());
  }
  return out;
}

class FlowStorageConformance : public StorageConformance {
 protected:
  Json updateContact(const std::string& contact, Json fields,
                     const std::string& channel = "wa-main") {
    fields["channel"] = channel;
    fields["contact"] = contact;
    return ok("contact.update", fields)["contact"];
  }
  Json getContact(const std::string& contact, const std::string& channel = "wa-main") {
    return ok("contact.get", {{"channel", channel}, {"contact", contact}})["contact"];
  }
  // Every page of contact.list with `filters`, `limit` at a time: the keys in
  // order, and how many pages it took.
  std::vector<std::string> listAll(Json filters, int limit, int* pages = nullptr) {
    std::vector<std::string> all;
    filters["limit"] = limit;
    int n = 0;
    for (;;) {
      Json page = ok("contact.list", filters);
      ++n;
      EXPECT_LE(page["contacts"].size(), static_cast<std::size_t>(limit));
      for (const std::string& key : keys(page)) {
        all.push_back(key);
      }
      if (page["next"].is_null()) {
        break;
      }
      EXPECT_TRUE(page["next"].is_string()) << page.dump();
      filters["after"] = page["next"];
      if (n > 1000) {
        ADD_FAILURE() << "contact.list does not end";
        break;
      }
    }
    if (pages != nullptr) {
      *pages = n;
    }
    return all;
  }

  Json state(const std::string& contact, const std::string& channel = "wa-main") {
    return ok("conversation.get", {{"channel", channel}, {"contact", contact}})["state"];
  }
  void putState(const std::string& contact, const Json& state, const Json& waits = nullptr,
                const std::string& channel = "wa-main") {
    Json in = {{"channel", channel}, {"contact", contact}, {"state", state}};
    if (!waits.is_null()) {
      in["waits"] = waits;
    }
    EXPECT_EQ(ok("conversation.put", in), Json::object());
  }
  // "<channel>:<contact>" of the conversations waiting for `event`, in order.
  std::vector<std::string> waiting(const std::string& event) {
    std::vector<std::string> out;
    Json answer = ok("conversation.waiting", {{"event", event}});
    for (const Json& c : answer["conversations"]) {
      out.push_back(c.at("channel").get<std::string>() + ":" + c.at("contact").get<std::string>());
    }
    return out;
  }

  Json addJobs(std::vector<Json> jobs, bool replace = false) {
    Json in = {{"jobs", std::move(jobs)}};
    if (replace) {
      in["replace"] = true;
    }
    return ok("job.add", in);
  }
  Json claimJobs(int64_t now, int limit = 100, int64_t lease_ms = 30000,
                 const std::string& owner = "flows-1") {
    return ok("job.claim",
              {{"owner", owner}, {"lease_ms", lease_ms}, {"now", now}, {"limit", limit}});
  }
  Json getJob(const std::string& id) { return ok("job.get", {{"id", id}})["job"]; }
  Json nextDue() { return ok("job.next", Json::object())["due_at"]; }
};

// ---- contacts ------------------------------------------------------------------------

TEST_P(FlowStorageConformance, ContactUpdateCreatesTheContactAndReturnsItAsContactGetDoes) {
  Json out = ok("contact.update", {{"channel", "wa-main"},
                                   {"contact", "6281200000001"},
                                   {"name", "Budi"},
                                   {"set", {{"city", "Bandung"}, {"orders", 3}, {"vip", true}}},
                                   {"tags_add", {"lead", "bandung", "lead"}}});
  Json expected = {{"channel", "wa-main"},
                   {"contact", "6281200000001"},
                   {"name", "Budi"},
                   {"last_inbound_at", 0},
                   {"attributes", {{"city", "Bandung"}, {"orders", 3}, {"vip", true}}},
                   {"tags", {"bandung", "lead"}},  // a set, sorted
                   {"opted_in", false},
                   {"first_message_id", ""},
                   {"phone", ""},
                   {"user_id", ""}};
  EXPECT_EQ(out, Json({{"contact", expected}}));
  EXPECT_EQ(getContact("6281200000001"), expected);
  // Only that key: other contacts and channels are untouched.
  EXPECT_EQ(getContact("6281200000001", "wa-second"), nullptr);
  EXPECT_EQ(getContact("6281200000002"), nullptr);
}

TEST_P(FlowStorageConformance, ContactUpdateMergesAndApplyingItTwiceChangesNothing) {
  put({inboxMessage("m1", "6281200000001", kNow, "Budi")});
  Json update = {
      {"name", ""},
      {"set",
       {{"city", "Jakarta"}, {"plan", {{"tier", "gold"}, {"seats", 2}}}, {"orders", nullptr}}},
      {"tags_add", {"vip", "b2b"}},
      {"tags_remove", {"lead", "never-there"}}};
  updateContact("6281200000001",
                {{"set", {{"orders", 3}, {"city", "Bandung"}}}, {"tags_add", {"lead", "a-first"}}});
  Json once = updateContact("6281200000001", update);
  Json twice = updateContact("6281200000001", update);
  EXPECT_EQ(once, twice);
  EXPECT_EQ(twice, getContact("6281200000001"));
  // An empty name keeps the stored one; what inbox.put recorded stays.
  EXPECT_EQ(twice["name"], "Budi");
  EXPECT_EQ(twice["last_inbound_at"], kNow);
  // set overwrites, adds JSON values of any kind, and null removes.
  EXPECT_EQ(twice["attributes"],
            Json({{"city", "Jakarta"}, {"plan", {{"tier", "gold"}, {"seats", 2}}}}));
  EXPECT_EQ(twice["tags"], Json({"a-first", "b2b", "vip"}));
  // A tag both added and removed ends up removed; a non-empty name is taken.
  Json after = updateContact(
      "6281200000001",
      {{"name", "Budi Santoso"}, {"tags_add", {"vip", "zeta"}}, {"tags_remove", {"vip"}}});
  EXPECT_EQ(after["tags"], Json({"a-first", "b2b", "zeta"}));
  EXPECT_EQ(after["name"], "Budi Santoso");
  // Nothing to change is still an answer with the contact.
  EXPECT_EQ(updateContact("6281200000001", Json::object()), after);
}

TEST_P(FlowStorageConformance, ContactListPagesInKeyOrderVisitingEachContactOnce) {
  std::vector<std::string> expected;
  for (const char* channel : {"wa-b", "wa-a"}) {
    for (int i = 0; i < 7; ++i) {
      std::string contact = "62812000000" + std::to_string(10 + (i * 5) % 7);
      updateContact(contact, {{"tags_add", {i % 2 == 0 ? "vip" : "vip2"}}}, channel);
      expected.push_back(std::string(channel) + ":" + contact);
    }
  }
  std::sort(expected.begin(), expected.end());

  Json first = ok("contact.list", {{"limit", 1000}});
  EXPECT_EQ(keys(first), expected);
  EXPECT_EQ(first["next"], nullptr);
  EXPECT_EQ(first["contacts"][0],
            getContact(first["contacts"][0]["contact"].get<std::string>(), "wa-a"));
  int pages = 0;
  EXPECT_EQ(listAll(Json::object(), 3, &pages), expected);
  EXPECT_EQ(pages, 5);  // 14 contacts: 3+3+3+3+2
  EXPECT_EQ(listAll(Json::object(), 7, &pages), expected);
  EXPECT_EQ(pages, 2);  // an exact multiple ends without an empty page

  // A channel; a tag (exactly that tag, not one it is a prefix of); both.
  std::vector<std::string> b(expected.begin() + 7, expected.end());
  EXPECT_EQ(listAll({{"channel", "wa-b"}}, 2), b);
  std::vector<std::string> vip = listAll({{"tag", "vip"}}, 2);
  EXPECT_EQ(vip.size(), 8u);
  for (const std::string& key : vip) {
    std::size_t colon = key.find(':');
    Json c = getContact(key.substr(colon + 1), key.substr(0, colon));
    EXPECT_THAT(c["tags"], ::testing::Contains("vip")) << key;
  }
  std::vector<std::string> b_vip2 = listAll({{"channel", "wa-b"}, {"tag", "vip2"}}, 1);
  EXPECT_EQ(b_vip2.size(), 3u);
  for (const std::string& key : b_vip2) {
    EXPECT_EQ(key.rfind("wa-b:", 0), 0u) << key;
  }
  EXPECT_THAT(keys(ok("contact.list", {{"tag", "vi"}, {"limit", 10}})), IsEmpty());
  EXPECT_THAT(keys(ok("contact.list", {{"channel", "wa-c"}, {"limit", 10}})), IsEmpty());
}

TEST_P(FlowStorageConformance, ContactListPagingSurvivesContactsAddedBetweenPages) {
  for (const char* contact : {"62811", "62813", "62815", "62817"}) {
    updateContact(contact, Json::object());
  }
  Json page = ok("contact.list", {{"channel", "wa-main"}, {"limit", 2}});
  ASSERT_EQ(keys(page), std::vector<std::string>({"wa-main:62811", "wa-main:62813"}));
  // Added behind the cursor: not visited; ahead of it: visited once.
  updateContact("62810", Json::object());
  updateContact("62812", Json::object());
  updateContact("62814", Json::object());
  std::vector<std::string> rest;
  Json filters = {{"channel", "wa-main"}, {"limit", 2}, {"after", page["next"]}};
  for (;;) {
    page = ok("contact.list", filters);
    for (const std::string& key : keys(page)) {
      rest.push_back(key);
    }
    if (page["next"].is_null()) {
      break;
    }
    filters["after"] = page["next"];
  }
  EXPECT_EQ(rest, std::vector<std::string>({"wa-main:62814", "wa-main:62815", "wa-main:62817"}));
}

// ---- conversations -------------------------------------------------------------------

TEST_P(FlowStorageConformance, ConversationPutReplacesTheStateAndAnEmptyOneDeletesIt) {
  EXPECT_EQ(ok("conversation.get", {{"channel", "wa-main"}, {"contact", "62811"}}),
            Json({{"state", nullptr}}));
  Json s1 = {{"flow", "order_status"}, {"step", "ask_order_id"}, {"vars", {{"tries", 1}}}};
  putState("62811", s1);
  EXPECT_EQ(state("62811"), s1);
  Json s2 = {{"flow", "order_status"}, {"step", "done"}};
  putState("62811", s2);
  EXPECT_EQ(state("62811"), s2);  // replaced, not merged
  EXPECT_EQ(state("62811", "wa-second"), nullptr);
  putState("62811", Json::object());
  EXPECT_EQ(state("62811"), nullptr);
  // An empty state that waits for something is kept.
  putState("62812", Json::object(), {"reply"});
  EXPECT_EQ(state("62812"), Json::object());
  EXPECT_THAT(waiting("reply"), ElementsAre("wa-main:62812"));
  putState("62812", Json::object(), Json::array());
  EXPECT_EQ(state("62812"), nullptr);
  EXPECT_THAT(waiting("reply"), IsEmpty());
}

TEST_P(FlowStorageConformance, ConversationWaitingFindsExactlyTheConversationsWaitingForAnEvent) {
  putState("62813", {{"step", "a"}}, {"reply", "timer:remind"});
  putState("62811", {{"step", "b"}}, {"reply", "reply"});
  putState("62812", {{"step", "c"}}, {"replyx"});
  putState("62811", {{"step", "d"}}, {"reply"}, "wa-second");
  putState("62814", {{"step", "e"}});
  Json out = ok("conversation.waiting", {{"event", "reply"}});
  EXPECT_EQ(
      out,
      Json({{"conversations",
             {{{"channel", "wa-main"}, {"contact", "62811"}, {"state", {{"step", "b"}}}},
              {{"channel", "wa-main"}, {"contact", "62813"}, {"state", {{"step", "a"}}}},
              {{"channel", "wa-second"}, {"contact", "62811"}, {"state", {{"step", "d"}}}}}}}));
  // Exact names: neither a prefix nor a longer name matches.
  EXPECT_THAT(waiting("repl"), IsEmpty());
  EXPECT_THAT(waiting("replyx"), ElementsAre("wa-main:62812"));
  EXPECT_THAT(waiting("timer:remind"), ElementsAre("wa-main:62813"));
  EXPECT_THAT(waiting("timer"), IsEmpty());
  // The last put decides: no waits given means waiting for nothing.
  putState("62813", {{"step", "a2"}}, {"timer:remind"});
  putState("62811", {{"step", "b2"}});
  EXPECT_THAT(waiting("reply"), ElementsAre("wa-second:62811"));
  EXPECT_EQ(ok("conversation.waiting", {{"event", "timer:remind"}})["conversations"][0]["state"],
            Json({{"step", "a2"}}));
}

// ---- scheduled jobs --------------------------------------------------------------------

TEST_P(FlowStorageConformance, JobAddKeepsAnExistingJobUnlessReplaceAndGetShowsIt) {
  EXPECT_EQ(ok("job.get", {{"id", "none"}}), Json({{"job", nullptr}}));
  EXPECT_EQ(addJobs({job("j1", kNow + 1000, "wa-main:62811", true), job("j2", kNow + 2000)}),
            Json({{"added", {true, true}}}));
  Json expected = job("j1", kNow + 1000, "wa-main:62811", true);
  expected["attempts"] = 0;
  expected["state"] = "pending";
  EXPECT_EQ(getJob("j1"), expected);
  Json j2 = getJob("j2");
  EXPECT_EQ(j2["conversation"], "");  // the defaults
  EXPECT_EQ(j2["cancel_on_reply"], false);

  Json changed = job("j1", kNow + 5000, "wa-main:62899");
  changed["kind"] = "broadcast";
  changed["payload"] = {{"text", "changed"}};
  EXPECT_EQ(addJobs({changed, job("j3", kNow)}), Json({{"added", {false, true}}}));
  EXPECT_EQ(getJob("j1"), expected);  // left as it was

  // With replace: a job not running takes what is given, attempts start over.
  ASSERT_EQ(ids(claimJobs(kNow + 1000), "jobs"), std::vector<std::string>({"j3", "j1"}));
  ok("job.recover", {{"owner", "flows-1"}});
  ASSERT_EQ(getJob("j1")["attempts"], 1);
  EXPECT_EQ(addJobs({changed}, true), Json({{"added", {true}}}));
  Json replaced = changed;
  replaced["attempts"] = 0;
  replaced["state"] = "pending";
  replaced["cancel_on_reply"] = false;
  EXPECT_EQ(getJob("j1"), replaced);
  // A running job is left alone even with replace; a new id is added.
  ASSERT_EQ(ids(claimJobs(kNow + 2000), "jobs"), std::vector<std::string>({"j3", "j2"}));
  EXPECT_EQ(addJobs({job("j2", kNow + 9000), job("j4", kNow)}, true),
            Json({{"added", {false, true}}}));
  EXPECT_EQ(getJob("j2")["due_at"], kNow + 2000);
  EXPECT_EQ(getJob("j2")["state"], "running");
}

TEST_P(FlowStorageConformance, JobClaimTakesDueJobsOldestFirstUnderALease) {
  addJobs({job("late", kNow + 500), job("b", kNow - 10), job("a", kNow - 10),
           job("first", kNow - 20), job("future", kNow + 60000)});
  Json out = claimJobs(kNow, 2, 1000, "flows-1");
  Json expected = job("first", kNow - 20);
  expected["conversation"] = "";
  expected["attempts"] = 1;
  ASSERT_EQ(out["jobs"].size(), 2u);
  EXPECT_EQ(out["jobs"][0], expected);
  EXPECT_EQ(ids(out, "jobs"), std::vector<std::string>({"first", "a"}));  // ties by id
  EXPECT_EQ(getJob("first")["state"], "running");
  EXPECT_THAT(ids(claimJobs(kNow, 10, 1000, "flows-2"), "jobs"), ElementsAre("b"));
  EXPECT_THAT(ids(claimJobs(kNow + 499, 10), "jobs"), IsEmpty());
  EXPECT_THAT(ids(claimJobs(kNow + 500, 10, 1000, "flows-2"), "jobs"), ElementsAre("late"));
  // A lease expires only after lease_until: then the job is claimed again, by anyone.
  EXPECT_THAT(ids(claimJobs(kNow + 1000, 10), "jobs"), IsEmpty());
  Json again = claimJobs(kNow + 1001, 10, 5000, "flows-3");
  EXPECT_EQ(ids(again, "jobs"), std::vector<std::string>({"first", "a", "b"}));
  EXPECT_EQ(again["jobs"][0]["attempts"], 2);
  EXPECT_THAT(ids(claimJobs(kNow + 1501, 10), "jobs"), ElementsAre("late"));
  EXPECT_EQ(getJob("late")["attempts"], 2);
  EXPECT_EQ(getJob("future")["state"], "pending");
}

TEST_P(FlowStorageConformance, ConcurrentClaimsTakeEachJobOnce) {
  std::vector<Json> jobs;
  for (int i = 0; i < 60; ++i) {
    jobs.push_back(job("c" + std::to_string(i), kNow - i));
  }
  addJobs(jobs);
  Ops calls;
  for (int i = 0; i < 20; ++i) {
    calls.emplace_back("job.claim", Json{{"owner", "flows-" + std::to_string(i)},
                                         {"lease_ms", 60000},
                                         {"now", kNow},
                                         {"limit", 4}});
  }
  std::map<std::string, int> claimed;
  for (const CallOutcome& o : harness_->start(calls, 4).wait()) {
    ASSERT_TRUE(o.ok()) << o.error;
    for (const std::string& id : ids(Json::parse(o.value), "jobs")) {
      ++claimed[id];
    }
  }
  EXPECT_EQ(claimed.size(), 60u);
  for (const auto& [id, count] : claimed) {
    EXPECT_EQ(count, 1) << id;
  }
}

TEST_P(FlowStorageConformance, JobDoneDeletesJobsInAnyState) {
  addJobs({job("d1", kNow), job("d2", kNow + 60000), job("d3", kNow)});
  claimJobs(kNow, 1);
  ASSERT_EQ(getJob("d1")["state"], "running");
  EXPECT_EQ(ok("job.done", {{"ids", {"d1", "d2", "ghost"}}}), Json({{"done", 2}}));
  EXPECT_EQ(getJob("d1"), nullptr);
  EXPECT_EQ(getJob("d2"), nullptr);
  EXPECT_EQ(ok("job.done", {{"ids", {"d1"}}}), Json({{"done", 0}}));
  EXPECT_EQ(ok("job.done", {{"ids", Json::array()}}), Json({{"done", 0}}));
  // A finished id can be used again.
  EXPECT_EQ(addJobs({job("d1", kNow)}), Json({{"added", {true}}}));
  EXPECT_THAT(ids(claimJobs(kNow), "jobs"), ElementsAre("d1", "d3"));
}

TEST_P(FlowStorageConformance, JobCancelDeletesPendingJobsByIdOrConversation) {
  addJobs({job("r1", kNow + 100, "wa-main:62811", true), job("r2", kNow + 200, "wa-main:62811"),
           job("r3", kNow, "wa-main:62811", true), job("o1", kNow + 100, "wa-main:62812", true),
           job("x1", kNow + 100)});
  claimJobs(kNow);  // r3 is running: left to finish
  EXPECT_EQ(ok("job.cancel", {{"conversation", "wa-main:62811"}, {"only_cancel_on_reply", true}}),
            Json({{"cancelled", 1}}));
  EXPECT_EQ(getJob("r1"), nullptr);
  EXPECT_NE(getJob("r2"), nullptr);
  EXPECT_EQ(getJob("r3")["state"], "running");
  EXPECT_EQ(ok("job.cancel", {{"conversation", "wa-main:62811"}}), Json({{"cancelled", 1}}));
  EXPECT_EQ(getJob("r2"), nullptr);
  EXPECT_EQ(ok("job.cancel", {{"conversation", "wa-main:62811"}, {"only_cancel_on_reply", false}}),
            Json({{"cancelled", 0}}));
  EXPECT_EQ(getJob("r3")["state"], "running");
  EXPECT_NE(getJob("o1"), nullptr);  // another conversation
  EXPECT_EQ(ok("job.cancel", {{"ids", {"x1", "r3", "ghost"}}}), Json({{"cancelled", 1}}));
  EXPECT_EQ(getJob("x1"), nullptr);
  EXPECT_EQ(getJob("r3")["state"], "running");
  EXPECT_EQ(nextDue(), kNow + 100);  // o1
}

TEST_P(FlowStorageConformance, JobRecoverReturnsTheLeasesOfARestartedOwner) {
  addJobs({job("a1", kNow), job("a2", kNow + 1), job("b1", kNow + 2), job("p1", kNow + 60000)});
  claimJobs(kNow + 1, 10, 60000, "host-a");
  claimJobs(kNow + 2, 10, 60000, "host-b");
  EXPECT_EQ(ok("job.recover", {{"owner", "host-a"}}), Json({{"recovered", 2}}));
  EXPECT_EQ(getJob("a1")["state"], "pending");
  EXPECT_EQ(getJob("a1")["attempts"], 1);  // kept: recovery is not a fresh start
  EXPECT_EQ(getJob("b1")["state"], "running");
  EXPECT_EQ(ok("job.recover", {{"owner", "host-a"}}), Json({{"recovered", 0}}));
  // Pending again, they are claimable at once, lease or no lease.
  Json again = claimJobs(kNow + 3, 10, 60000, "host-a2");
  EXPECT_EQ(ids(again, "jobs"), std::vector<std::string>({"a1", "a2"}));
  EXPECT_EQ(again["jobs"][0]["attempts"], 2);
}

TEST_P(FlowStorageConformance, JobNextIsTheEarliestDueTimeOfAPendingJob) {
  EXPECT_EQ(ok("job.next", Json::object()), Json({{"due_at", nullptr}}));
  addJobs({job("n1", kNow + 300), job("n2", kNow + 100), job("n3", kNow + 200)});
  EXPECT_EQ(nextDue(), kNow + 100);
  claimJobs(kNow + 100);  // n2 runs: no longer pending
  EXPECT_EQ(nextDue(), kNow + 200);
  ok("job.cancel", {{"ids", {"n3"}}});
  EXPECT_EQ(nextDue(), kNow + 300);
  ok("job.done", {{"ids", {"n1", "n2"}}});
  EXPECT_EQ(nextDue(), nullptr);
}

// ---- durability, errors -------------------------------------------------------------------

TEST_P(FlowStorageConformance, FlowStateSurvivesARestart) {
  Json contact = updateContact(
      "62811", {{"name", "Sari"}, {"set", {{"order", "A-17"}}}, {"tags_add", {"vip"}}});
  putState("62811", {{"flow", "order_status"}, {"step", "wait_reply"}}, {"reply"});
  addJobs({job("p1", kNow + 100, "wa-main:62811", true), job("r1", kNow)});
  claimJobs(kNow, 10, 600000, "flows-old");

  restart();

  EXPECT_EQ(getContact("62811"), contact);
  EXPECT_EQ(keys(ok("contact.list", {{"tag", "vip"}, {"limit", 10}})),
            std::vector<std::string>({"wa-main:62811"}));
  EXPECT_EQ(state("62811"), Json({{"flow", "order_status"}, {"step", "wait_reply"}}));
  EXPECT_THAT(waiting("reply"), ElementsAre("wa-main:62811"));
  EXPECT_EQ(getJob("p1")["cancel_on_reply"], true);
  EXPECT_EQ(getJob("r1")["state"], "running");
  EXPECT_EQ(nextDue(), kNow + 100);
  // The restarted daemon takes back what its previous run held.
  EXPECT_EQ(ok("job.recover", {{"owner", "flows-old"}}), Json({{"recovered", 1}}));
  EXPECT_THAT(ids(claimJobs(kNow + 100), "jobs"), ElementsAre("r1", "p1"));
}

TEST_P(FlowStorageConformance, MalformedFlowInputIsInvalidAndNamesTheField) {
  Json no_due = job("j", kNow);
  no_due.erase("due_at");
  Json bad_payload = job("j", kNow);
  bad_payload["payload"] = "text";
  Json bad_flag = job("j", kNow);
  bad_flag["cancel_on_reply"] = "yes";
  Json bad_conversation = job("j", kNow);
  bad_conversation["conversation"] = 7;
  expectInvalid({
      {"contact.update", {{"channel", "wa-main"}}, "contact"},
      {"contact.update", {{"channel", "wa-main"}, {"contact", "1"}, {"name", 3}}, "name"},
      {"contact.update", {{"channel", "wa-main"}, {"contact", "1"}, {"set", {1, 2}}}, "set"},
      {"contact.update",
       {{"channel", "wa-main"}, {"contact", "1"}, {"tags_add", {"ok", 5}}},
       "tags_add[1]"},
      {"contact.update",
       {{"channel", "wa-main"}, {"contact", "1"}, {"tags_remove", "vip"}},
       "tags_remove"},
      {"contact.list", Json::object(), "limit"},
      {"contact.list", {{"limit", 1001}}, "limit"},
      {"contact.list", {{"limit", 0}}, "limit"},
      {"contact.list", {{"limit", 10}, {"after", "page-2"}}, "after"},
      {"contact.list", {{"limit", 10}, {"after", "[\"wa-main\"]"}}, "after"},
      {"contact.list", {{"limit", 10}, {"tag", 3}}, "tag"},
      {"contact.list", {{"limit", 10}, {"channel", ""}}, "channel"},
      {"conversation.get", {{"contact", "1"}}, "channel"},
      {"conversation.put", {{"channel", "wa-main"}, {"contact", "1"}}, "state"},
      {"conversation.put", {{"channel", "wa-main"}, {"contact", "1"}, {"state", "{}"}}, "state"},
      {"conversation.put",
       {{"channel", "wa-main"}, {"contact", "1"}, {"state", Json::object()}, {"waits", {"a", ""}}},
       "waits[1]"},
      {"conversation.waiting", Json::object(), "event"},
      {"job.add", Json::object(), "jobs"},
      {"job.add", {{"jobs", {job("ok", kNow), no_due}}}, "jobs[1].due_at"},
      {"job.add", {{"jobs", {bad_payload}}}, "jobs[0].payload"},
      {"job.add", {{"jobs", {bad_flag}}}, "jobs[0].cancel_on_reply"},
      {"job.add", {{"jobs", {bad_conversation}}}, "jobs[0].conversation"},
      {"job.add", {{"jobs", {job("ok", kNow)}}, {"replace", 1}}, "replace"},
      {"job.claim", {{"owner", "w"}, {"lease_ms", 0}, {"now", kNow}, {"limit", 1}}, "lease_ms"},
      {"job.claim", {{"lease_ms", 10}, {"now", kNow}, {"limit", 1}}, "owner"},
      {"job.claim", {{"owner", "w"}, {"lease_ms", 10}, {"limit", 1}}, "now"},
      {"job.claim", {{"owner", "w"}, {"lease_ms", 10}, {"now", kNow}, {"limit", 0}}, "limit"},
      {"job.done", {{"ids", "j1"}}, "ids"},
      {"job.done", {{"ids", {"j1", 2}}}, "ids[1]"},
      {"job.cancel", Json::object(), "ids"},
      {"job.cancel", {{"ids", {"j1"}}, {"conversation", "wa-main:1"}}, "conversation"},
      {"job.cancel", {{"conversation", ""}}, "conversation"},
      {"job.cancel",
       {{"conversation", "wa-main:1"}, {"only_cancel_on_reply", "true"}},
       "only_cancel_on_reply"},
      {"job.recover", Json::object(), "owner"},
      {"job.get", {{"id", 1}}, "id"},
  });
  EXPECT_EQ(exec("job.next", Json::array()).rc, waflow::Rc::kInvalid);
  // Nothing of a rejected operation was stored.
  EXPECT_EQ(getJob("ok"), nullptr);
  EXPECT_EQ(getContact("1"), nullptr);
  EXPECT_EQ(state("1"), nullptr);
}

}  // namespace

// Instantiated for every backend of the suite.
INSTANTIATE_TEST_SUITE_P(Backends, FlowStorageConformance,
                         ::testing::ValuesIn(conformanceBackends()), backendName);

}  // namespace waflow::test::storage
