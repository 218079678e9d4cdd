// The storage conformance suite, continued: the operations AI steps use
// (message.history over the inbox and outbox, insights, token usage),
// checked against every backend of storage_conformance_test.cpp through the
// real loader and host.
#include "storage_conformance.h"
#include "storage_harness.h"

#include <waflow/sdk/storage.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace waflow::test::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A wall-clock time later than every time read before the call. The storage
// stamps outbound messages with its own clock, so inbound ones are given
// times from this to fall strictly between them.
int64_t tick() {
  int64_t before = wallMs();
  while (wallMs() <= before) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return wallMs();
}

// "<direction>:<id>" of each message of a message.history output, in order.
std::vector<std::string> history(const Json& out) {
  std::vector<std::string> entries;
  for (const Json& m : out.at("messages")) {
    entries.push_back(m.at("direction").get<std::string>() + ":" + m.at("id").get<std::string>());
  }
  return entries;
}

// A usage record with the fields the tests vary.
Json usage(const std::string& flow, const std::string& contact, const std::string& provider,
           const std::string& model, int64_t at, int64_t prompt, int64_t completion,
           Json cost = nullptr, bool ok = true) {
  Json r = {{"channel", "wa-main"},
            {"contact", contact},
            {"flow", flow},
            {"step", "classify"},
            {"provider", provider},
            {"model", model},
            {"prompt_tokens", prompt},
            {"completion_tokens", completion},
            {"cached_tokens", prompt / 2},
            {"reasoning_tokens", completion / 4},
            {"cost", cost},
            {"ok", ok},
            {"latency_ms", 850},
            {"at", at}};
  if (contact.empty()) {
    r.erase("channel");
    r.erase("contact");
  }
  return r;
}

class AiStorageConformance : public StorageConformance {
 protected:
  Json historyOf(const std::string& contact, Json extra = Json::object(),
                 const std::string& channel = "wa-main") {
    extra["channel"] = channel;
    extra["contact"] = contact;
    return ok("message.history", extra);
  }
  // An inbound message of the conversation wa-main:<contact>.
  Json inbound(const std::string& id, const std::string& contact, int64_t at,
               const std::string& type = "text", const Json& text = "hi") {
    Json m = inboxMessage(id, contact, at);
    m["type"] = type;
    m["event"]["type"] = type;
    if (text.is_null()) {
      m["event"].erase("text");
    } else {
      m["event"]["text"] = text;
    }
    return m;
  }
  // An outbound message to wa-main:<contact>.
  Json outbound(const std::string& id, const std::string& contact, const std::string& text,
                const std::string& type = "text", const Json& payload = nullptr) {
    Json m = outboxMessage(id, "wa-main:" + contact);
    m["to"] = contact;
    m["text"] = text;
    m["type"] = type;
    m["payload"] = payload;
    return m;
  }
  // Queues the message and records it sent, as the daemon's sender does.
  void send(const Json& message) {
    EXPECT_EQ(addClaiming({message}, wallMs()), Json({{"added", {true}}, {"claimed", {true}}}));
    sent(message["id"].get<std::string>(), "wamid." + message["id"].get<std::string>());
  }
  // Queues the message and gives up on it.
  void fail(const Json& message) {
    addClaiming({message}, wallMs());
    ok("outbox.failed", {{"id", message["id"]}, {"error", "131026 undeliverable"}, {"now", kNow}});
  }

  Json putInsight(Json insight) { return ok("insight.put", insight); }
  Json listInsights(Json filters = Json::object()) { return ok("insight.list", filters); }
  // The data.n of each insight of an insight.list output, in order.
  static std::vector<int> numbers(const Json& list) {
    std::vector<int> out;
    for (const Json& i : list.at("insights")) {
      out.push_back(i.at("data").at("n").get<int>());
    }
    return out;
  }

  Json summary(const std::string& group_by, Json filters = Json::object()) {
    filters["group_by"] = group_by;
    return ok("usage.summary", filters)["rows"];
  }
  // The keys of usage.summary rows, in order.
  static std::vector<std::string> keys(const Json& rows) {
    std::vector<std::string> out;
    for (const Json& r : rows) {
      out.push_back(r.at("key").get<std::string>());
    }
    return out;
  }
};

// ---- message.history ------------------------------------------------------------------

TEST_P(AiStorageConformance, HistoryMergesReceivedAndSentMessagesInTimeOrder) {
  const std::string c = "6281200000001";
  put({inbound("in-1", c, tick(), "text", "Halo, ada kaos ukuran L?")});
  send(outbound("out-1", c, "Ada kak, mau warna apa?"));
  // The event as the daemon sends it: the object serialised in a string.
  Json image = inbound("in-2", c, tick(), "image", "yang ini");
  image["event"] = image["event"].dump();
  put({image});
  Json buttons = {{"type", "button"},
                  {"body", {{"text", "Pilih ukuran"}}},
                  {"action", {{"buttons", Json::array()}}}};
  send(outbound("out-2", c, "", "interactive", buttons));
  // Not in the history: a send that failed and what is not a message.
  fail(outbound("out-failed", c, "this never arrived"));
  put({inbound("in-3", c, tick(), "button", "Merah")});
  Json order_template = {
      {"name", "order_update"}, {"language", {{"code", "id"}}}, {"components", Json::array()}};
  send(outbound("out-3", c, "", "template", order_template));
  put({inbound("in-4", c, tick(), "sticker", nullptr)});
  Json caption = {{"link", "https://example.com/kaos.jpg"}, {"caption", "Kaos merah L"}};
  send(outbound("out-4", c, "", "image", caption));
  add({outbound("out-read", c, "", "mark_read", {{"message_id", "wamid.in-4"}})});
  // Other conversations: another contact, and the same number on another channel.
  put({inbound("other-contact", "6281200000002", tick())});
  Json other_channel = inbound("other-channel", c, tick());
  other_channel["channel"] = "wa-second";
  other_channel["conversation"] = "wa-second:" + c;
  put({other_channel});

  Json out = historyOf(c);
  EXPECT_THAT(history(out), ElementsAre("in:in-1", "out:out-1", "in:in-2", "out:out-2", "in:in-3",
                                        "out:out-3", "in:in-4", "out:out-4"));
  EXPECT_EQ(out["next"], nullptr);
  std::vector<std::string> texts;
  std::vector<std::string> types;
  int64_t previous_at = 0;
  for (const Json& m : out["messages"]) {
    texts.push_back(m["text"].get<std::string>());
    types.push_back(m["type"].get<std::string>());
    EXPECT_GE(m["at"].get<int64_t>(), previous_at) << m.dump();
    previous_at = m["at"].get<int64_t>();
    EXPECT_TRUE(m["seq"].is_number_integer()) << m.dump();
  }
  EXPECT_THAT(texts, ElementsAre("Halo, ada kaos ukuran L?", "Ada kak, mau warna apa?", "yang ini",
                                 "Pilih ukuran", "Merah", "", "", "Kaos merah L"));
  EXPECT_THAT(types, ElementsAre("text", "text", "image", "interactive", "button", "template",
                                 "sticker", "image"));
  EXPECT_THAT(history(historyOf(c, {}, "wa-second")), ElementsAre("in:other-channel"));
  EXPECT_THAT(history(historyOf("6281200000002")), ElementsAre("in:other-contact"));
}

// The provider's timestamp has seconds and its own clock: a reply sent within the second of the
// message it answers would sort before it. History is in the order storage took messages in.
TEST_P(AiStorageConformance, HistoryFollowsTheOrderMessagesWereStoredNotTheProvidersClock) {
  const std::string c = "6281200000001";
  int64_t now = wallMs();
  put({inbound("question", c, now + 60000)});  // stamped a minute ahead by the provider
  send(outbound("reply", c, "ok"));
  put({inbound("follow-up", c, now - 3600000)});  // stamped an hour back
  Json out = historyOf(c);
  ASSERT_THAT(history(out), ElementsAre("in:question", "out:reply", "in:follow-up"));
  // Times are the storage's own, in milliseconds, and never go back.
  int64_t previous = 0;
  for (const Json& m : out["messages"]) {
    EXPECT_GE(m["at"].get<int64_t>(), now);
    EXPECT_LE(m["at"].get<int64_t>(), wallMs());
    EXPECT_GE(m["at"].get<int64_t>(), previous);
    previous = m["at"].get<int64_t>();
  }
}

TEST_P(AiStorageConformance, HistoryOfALongConversationIsOnlyItsLastMessages) {
  const std::string c = "6281200000001";
  std::vector<Json> batch;
  for (int i = 0; i < 1000; ++i) {
    batch.push_back(
        inbound("m" + std::to_string(i), c, kNow + i * 1000, "text", "pesan " + std::to_string(i)));
    if (batch.size() == 250) {
      put(batch);
      batch.clear();
    }
  }
  // Sent now, after every received message (stamped in 2023).
  send(outbound("r1", c, "balasan 1"));
  send(outbound("r2", c, "balasan 2"));

  std::vector<std::string> last20;
  for (int i = 982; i < 1000; ++i) {
    last20.push_back("in:m" + std::to_string(i));
  }
  last20.push_back("out:r1");
  last20.push_back("out:r2");
  Json out = historyOf(c);  // limit 20 by default
  EXPECT_THAT(history(out), ElementsAreArray(last20));
  EXPECT_EQ(out["messages"][0]["text"], "pesan 982");
  EXPECT_TRUE(out["next"].is_string()) << out.dump();
  EXPECT_THAT(history(historyOf(c, {{"limit", 1}})), ElementsAre("out:r2"));
  Json most = historyOf(c, {{"limit", 500}});
  ASSERT_EQ(most["messages"].size(), 500u);
  EXPECT_EQ(most["messages"][0]["id"], "m502");
  EXPECT_EQ(most["messages"][499]["id"], "r2");
}

TEST_P(AiStorageConformance, HistoryPagesBackVisitingEveryMessageOnce) {
  const std::string c = "6281200000001";
  std::vector<std::string> expected;
  for (int round = 0; round < 6; ++round) {
    std::string n = std::to_string(round);
    put({inbound("q" + n + "a", c, tick()), inbound("q" + n + "b", c, tick())});
    expected.push_back("in:q" + n + "a");
    expected.push_back("in:q" + n + "b");
    send(outbound("a" + n, c, "jawaban " + n));
    expected.push_back("out:a" + n);
    if (round % 2 == 0) {
      fail(outbound("lost" + n, c, "gagal"));
    }
  }
  // Pages of 4 from the newest back; each page oldest first.
  std::vector<std::vector<std::string>> pages;
  Json in = {{"limit", 4}};
  for (int n = 0; n < 100; ++n) {
    Json page = historyOf(c, in);
    pages.push_back(history(page));
    EXPECT_LE(page["messages"].size(), 4u);
    if (page["next"].is_null()) {
      break;
    }
    in["before"] = page["next"];
  }
  ASSERT_EQ(pages.size(), 5u);  // 18 messages
  std::vector<std::string> all;
  for (auto it = pages.rbegin(); it != pages.rend(); ++it) {
    all.insert(all.end(), it->begin(), it->end());
  }
  EXPECT_THAT(all, ElementsAreArray(expected));
  EXPECT_THAT(pages[0], ElementsAre("out:a4", "in:q5a", "in:q5b", "out:a5"));
  EXPECT_THAT(pages.back(), ElementsAre("in:q0a", "in:q0b"));
  // A message arriving meanwhile does not disturb the older pages.
  put({inbound("newer", c, tick())});
  Json second = historyOf(c, {{"limit", 4}, {"before", historyOf(c, {{"limit", 5}})["next"]}});
  EXPECT_THAT(history(second), ElementsAre("in:q3b", "out:a3", "in:q4a", "in:q4b"));
}

TEST_P(AiStorageConformance, HistoryOfAConversationWithoutMessagesIsEmpty) {
  EXPECT_EQ(historyOf("6281299999999"), Json({{"messages", Json::array()}, {"next", nullptr}}));
}

// ---- insights ---------------------------------------------------------------------------

TEST_P(AiStorageConformance, InsightPutKeepsEveryFieldAndListReturnsThemInStoredOrder) {
  Json first = putInsight({{"channel", "wa-main"},
                           {"contact", "6281200000001"},
                           {"kind", "order_intent"},
                           {"data", {{"n", 1}, {"product", "kaos"}, {"size", "L"}}},
                           {"flow", "sales"},
                           {"step", "classify"},
                           {"source", "openai:gpt-4o-mini"},
                           {"at", kNow}});
  ASSERT_TRUE(first["seq"].is_number_integer()) << first.dump();
  int64_t before = wallMs();
  Json second = putInsight({{"channel", "wa-main"},
                            {"contact", "6281200000002"},
                            {"kind", "sentiment"},
                            {"data", {{"n", 2}}}});
  int64_t after = wallMs();
  EXPECT_GT(second["seq"].get<int64_t>(), first["seq"].get<int64_t>());

  Json list = listInsights();
  ASSERT_EQ(list["insights"].size(), 2u);
  EXPECT_EQ(list["insights"][0], Json({{"seq", first["seq"]},
                                       {"channel", "wa-main"},
                                       {"contact", "6281200000001"},
                                       {"kind", "order_intent"},
                                       {"flow", "sales"},
                                       {"step", "classify"},
                                       {"source", "openai:gpt-4o-mini"},
                                       {"data", {{"n", 1}, {"product", "kaos"}, {"size", "L"}}},
                                       {"at", kNow}}));
  const Json& defaults = list["insights"][1];
  EXPECT_EQ(defaults["seq"], second["seq"]);
  EXPECT_EQ(defaults["flow"], "");
  EXPECT_EQ(defaults["step"], "");
  EXPECT_EQ(defaults["source"], "");
  EXPECT_GE(defaults["at"].get<int64_t>(), before);  // at defaults to now
  EXPECT_LE(defaults["at"].get<int64_t>(), after);
  EXPECT_EQ(list["next"], nullptr);
  restart();
  EXPECT_EQ(listInsights(), list);
}

TEST_P(AiStorageConformance, InsightListFiltersByEveryFieldGiven) {
  // n: channel, contact, kind, flow, at
  struct Row {
    const char* channel;
    const char* contact;
    const char* kind;
    const char* flow;
    int64_t at;
  };
  std::vector<Row> rows = {
      {"wa-main", "A", "intent", "sales", kNow},          // 0
      {"wa-main", "A", "sentiment", "sales", kNow + 10},  // 1
      {"wa-main", "B", "intent", "support", kNow + 20},   // 2
      {"wa-second", "A", "intent", "sales", kNow + 30},   // 3
      {"wa-main", "A", "intent", "", kNow + 40},          // 4
      {"wa-main", "A", "intent", "sales", kNow - 50},     // 5: stored last, dated earliest
  };
  for (std::size_t n = 0; n < rows.size(); ++n) {
    const Row& r = rows[n];
    putInsight({{"channel", r.channel},
                {"contact", r.contact},
                {"kind", r.kind},
                {"flow", r.flow},
                {"data", {{"n", n}}},
                {"at", r.at}});
  }
  EXPECT_THAT(numbers(listInsights()), ElementsAre(0, 1, 2, 3, 4, 5));
  EXPECT_THAT(numbers(listInsights({{"channel", "wa-main"}, {"contact", "A"}})),
              ElementsAre(0, 1, 4, 5));
  EXPECT_THAT(numbers(listInsights({{"channel", "wa-main"}, {"contact", "A"}, {"kind", "intent"}})),
              ElementsAre(0, 4, 5));
  EXPECT_THAT(numbers(listInsights({{"contact", "A"}})), ElementsAre(0, 1, 3, 4, 5));
  EXPECT_THAT(numbers(listInsights({{"channel", "wa-second"}})), ElementsAre(3));
  EXPECT_THAT(numbers(listInsights({{"kind", "intent"}})), ElementsAre(0, 2, 3, 4, 5));
  EXPECT_THAT(numbers(listInsights({{"flow", "sales"}})), ElementsAre(0, 1, 3, 5));
  EXPECT_THAT(numbers(listInsights({{"flow", ""}})), ElementsAre(4));
  // since <= at < until.
  EXPECT_THAT(numbers(listInsights({{"since", kNow + 10}, {"until", kNow + 40}})),
              ElementsAre(1, 2, 3));
  EXPECT_THAT(numbers(listInsights({{"until", kNow}})), ElementsAre(5));
  EXPECT_THAT(numbers(listInsights({{"channel", "wa-main"},
                                    {"contact", "A"},
                                    {"flow", "sales"},
                                    {"since", kNow - 100},
                                    {"until", kNow + 5}})),
              ElementsAre(0, 5));
  EXPECT_THAT(numbers(listInsights({{"kind", "unknown"}})), IsEmpty());
}

TEST_P(AiStorageConformance, InsightListPagesWithAfterSeq) {
  for (int n = 0; n < 7; ++n) {
    putInsight({{"channel", "wa-main"},
                {"contact", n % 2 == 0 ? "A" : "B"},
                {"kind", "intent"},
                {"data", {{"n", n}}}});
  }
  std::vector<int> seen;
  Json filters = {{"channel", "wa-main"}, {"contact", "A"}, {"limit", 2}};
  int pages = 0;
  for (; pages < 10; ++pages) {
    Json page = listInsights(filters);
    for (int n : numbers(page)) {
      seen.push_back(n);
    }
    if (page["next"].is_null()) {
      break;
    }
    EXPECT_EQ(page["next"], page["insights"].back()["seq"]);
    filters["after_seq"] = page["next"];
  }
  EXPECT_THAT(seen, ElementsAre(0, 2, 4, 6));
  EXPECT_EQ(pages, 1);  // two pages: the second is the last
  // The default limit is 100, the largest 1000.
  for (int n = 7; n < 130; ++n) {
    putInsight({{"channel", "wa-main"}, {"contact", "C"}, {"kind", "k"}, {"data", {{"n", n}}}});
  }
  Json first = listInsights();
  EXPECT_EQ(first["insights"].size(), 100u);
  EXPECT_EQ(listInsights({{"after_seq", first["next"]}, {"limit", 1000}})["insights"].size(), 30u);
}

// ---- token usage ------------------------------------------------------------------------

TEST_P(AiStorageConformance, UsageSummaryTotalsPerKey) {
  const int64_t day2 = kNow + 2 * 3600 * 1000;  // kNow is 2023-11-14 22:13:20 UTC
  EXPECT_EQ(ok("usage.add",
               {{"records",
                 {usage("sales", "A", "openai", "gpt-4o-mini", kNow, 100, 20, 0.25),
                  usage("sales", "B", "openai", "gpt-4o-mini", kNow, 200, 40, 0.5),
                  usage("support", "A", "anthropic", "claude", day2, 1000, 400, nullptr),
                  usage("support", "A", "anthropic", "claude", day2, 10, 0, 0.125, false)}}}),
            Json({{"added", 4}}));
  // A record with only the provider: every other field takes its default.
  EXPECT_EQ(ok("usage.add", {{"records", {{{"provider", "deepseek"}}}}}), Json({{"added", 1}}));

  Json by_flow = summary("flow");
  EXPECT_THAT(keys(by_flow), ElementsAre("", "sales", "support"));
  EXPECT_EQ(by_flow[1], Json({{"key", "sales"},
                              {"calls", 2},
                              {"failures", 0},
                              {"prompt_tokens", 300},
                              {"completion_tokens", 60},
                              {"cached_tokens", 150},
                              {"reasoning_tokens", 15},
                              {"cost", 0.75},
                              {"cost_unknown_calls", 0}}));
  EXPECT_EQ(by_flow[2], Json({{"key", "support"},
                              {"calls", 2},
                              {"failures", 1},
                              {"prompt_tokens", 1010},
                              {"completion_tokens", 400},
                              {"cached_tokens", 505},
                              {"reasoning_tokens", 100},
                              {"cost", 0.125},
                              {"cost_unknown_calls", 1}}));
  EXPECT_EQ(by_flow[0], Json({{"key", ""},
                              {"calls", 1},
                              {"failures", 0},
                              {"prompt_tokens", 0},
                              {"completion_tokens", 0},
                              {"cached_tokens", 0},
                              {"reasoning_tokens", 0},
                              {"cost", nullptr},
                              {"cost_unknown_calls", 1}}));

  EXPECT_THAT(keys(summary("contact")), ElementsAre("", "wa-main:A", "wa-main:B"));
  EXPECT_EQ(summary("contact")[1]["calls"], 3);
  EXPECT_THAT(keys(summary("provider")), ElementsAre("anthropic", "deepseek", "openai"));
  EXPECT_THAT(keys(summary("model")), ElementsAre("", "claude", "gpt-4o-mini"));
  Json by_day = summary("day", {{"until", kNow + 3 * 3600 * 1000}});
  EXPECT_THAT(keys(by_day), ElementsAre("2023-11-14", "2023-11-15"));
  EXPECT_EQ(by_day[0]["prompt_tokens"], 300);
  EXPECT_EQ(by_day[1]["prompt_tokens"], 1010);
  Json all = summary("none");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["key"], "");
  EXPECT_EQ(all[0]["calls"], 5);
  EXPECT_EQ(all[0]["failures"], 1);
  EXPECT_DOUBLE_EQ(all[0]["cost"].get<double>(), 0.875);
  EXPECT_EQ(all[0]["cost_unknown_calls"], 2);
}

TEST_P(AiStorageConformance, UsageSummaryFiltersByTimeContactAndFlow) {
  ok("usage.add", {{"records",
                    {usage("sales", "A", "openai", "m", kNow, 1, 0, 1),
                     usage("sales", "A", "openai", "m", kNow + 100, 2, 0, 2),
                     usage("support", "A", "openai", "m", kNow + 200, 4, 0, 4),
                     usage("sales", "B", "openai", "m", kNow + 300, 8, 0, 8)}}});
  auto prompt = [&](Json filters) {
    Json rows = summary("none", std::move(filters));
    return rows.empty() ? 0 : rows[0]["prompt_tokens"].get<int64_t>();
  };
  EXPECT_EQ(prompt({}), 15);
  EXPECT_EQ(prompt({{"since", kNow + 100}}), 14);
  EXPECT_EQ(prompt({{"until", kNow + 100}}), 1);  // until is exclusive
  EXPECT_EQ(prompt({{"since", kNow + 100}, {"until", kNow + 300}}), 6);
  EXPECT_EQ(prompt({{"channel", "wa-main"}, {"contact", "A"}}), 7);
  EXPECT_EQ(prompt({{"contact", "B"}}), 8);
  EXPECT_EQ(prompt({{"channel", "wa-main"}}), 15);
  EXPECT_EQ(prompt({{"channel", "wa-second"}}), 0);
  EXPECT_EQ(prompt({{"flow", "sales"}}), 11);
  EXPECT_EQ(prompt({{"channel", "wa-main"}, {"contact", "A"}, {"flow", "sales"}, {"since", kNow}}),
            3);
  // Nothing matches: no rows, whatever the grouping.
  EXPECT_EQ(summary("flow", {{"since", kNow + 1000}}), Json::array());
  EXPECT_EQ(summary("none", {{"flow", "nope"}}), Json::array());
}

// ---- validation ---------------------------------------------------------------------------

TEST_P(AiStorageConformance, MalformedInputIsInvalidNamingTheField) {
  Json base_insight = {
      {"channel", "wa-main"}, {"contact", "A"}, {"kind", "intent"}, {"data", Json::object()}};
  auto insight = [&](const char* key, Json value) {
    Json i = base_insight;
    if (value.is_discarded()) {
      i.erase(key);
    } else {
      i[key] = std::move(value);
    }
    return i;
  };
  Json gone(Json::value_t::discarded);
  auto record = [](const char* key, Json value) {
    Json r = {{"provider", "openai"}};
    r[key] = std::move(value);
    return Json{{"records", {{{"provider", "openai"}}, r}}};
  };
  expectInvalid({
      {"message.history", {{"contact", "A"}}, "channel"},
      {"message.history", {{"channel", "wa-main"}, {"contact", ""}}, "contact"},
      {"message.history", {{"channel", "wa-main"}, {"contact", "A"}, {"limit", 0}}, "limit"},
      {"message.history", {{"channel", "wa-main"}, {"contact", "A"}, {"limit", 501}}, "limit"},
      {"message.history", {{"channel", "wa-main"}, {"contact", "A"}, {"before", 12}}, "before"},
      {"message.history", {{"channel", "wa-main"}, {"contact", "A"}, {"before", "12"}}, "before"},
      {"insight.put", insight("channel", gone), "channel"},
      {"insight.put", insight("contact", ""), "contact"},
      {"insight.put", insight("kind", gone), "kind"},
      {"insight.put", insight("data", "{}"), "data"},
      {"insight.put", insight("data", gone), "data"},
      {"insight.put", insight("flow", 3), "flow"},
      {"insight.put", insight("step", true), "step"},
      {"insight.put", insight("source", Json::object()), "source"},
      {"insight.put", insight("at", "now"), "at"},
      {"insight.list", {{"limit", 1001}}, "limit"},
      {"insight.list", {{"limit", 0}}, "limit"},
      {"insight.list", {{"after_seq", "5"}}, "after_seq"},
      {"insight.list", {{"since", 1.5}}, "since"},
      {"insight.list", {{"until", "tomorrow"}}, "until"},
      {"insight.list", {{"kind", ""}}, "kind"},
      {"insight.list", {{"channel", 1}}, "channel"},
      {"usage.add", Json::object(), "records"},
      {"usage.add", {{"records", {{{"model", "m"}}}}}, "records[0].provider"},
      {"usage.add", record("cost", "0.1"), "records[1].cost"},
      {"usage.add", record("cost", -1), "records[1].cost"},
      {"usage.add", record("prompt_tokens", -1), "records[1].prompt_tokens"},
      {"usage.add", record("completion_tokens", 1.5), "records[1].completion_tokens"},
      {"usage.add", record("ok", "yes"), "records[1].ok"},
      {"usage.add", record("at", "now"), "records[1].at"},
      {"usage.add", record("flow", 7), "records[1].flow"},
      {"usage.summary", Json::object(), "group_by"},
      {"usage.summary", {{"group_by", "week"}}, "group_by"},
      {"usage.summary", {{"group_by", "flow"}, {"since", "x"}}, "since"},
      {"usage.summary", {{"group_by", "flow"}, {"contact", ""}}, "contact"},
  });
  // Nothing of a rejected operation was stored.
  EXPECT_EQ(listInsights()["insights"], Json::array());
  EXPECT_EQ(summary("none"), Json::array());
}

}  // namespace

// Instantiated for every backend of the suite.
INSTANTIATE_TEST_SUITE_P(Backends, AiStorageConformance, ::testing::ValuesIn(conformanceBackends()),
                         backendName);

}  // namespace waflow::test::storage
