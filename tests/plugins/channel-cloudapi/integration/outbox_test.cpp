// What the durable outbox promises, end to end: the real daemon, channel-cloudapi and
// storage-sqlite, signed webhooks in and sends out to a fake Graph API over real HTTP.
//  - a notification delivered 3 times, also across a restart, is answered once;
//  - kill -9 under load: every acknowledged message gets exactly one reply, none two;
//  - a send whose answer comes after the timeout (Meta accepted it and says so in a status) is
//    held in doubt, never sent twice, and its conversation stays in order, also under load
//    with a kill -9; one that never reached Meta is sent again after the in-doubt grace;
//  - 30% of sends failing with 429/500: every reply arrives, in order per conversation;
//  - the per-number rate limit and the per-recipient pacing hold;
//  - the 24-hour window: a free-form reply to a contact silent for over 24 h is refused, or
//    replaced by the configured template; Meta's later 131047 `failed` status gets the template;
//  - a Graph error that echoes the access token is stored and published with it redacted.
#include "daemon/daemon_process.h"
#include "failure_observer.h"
#include "fake_graph_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kSecret = "outbox_app_secret";
constexpr const char* kPhoneNumberId = "1098765432";

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = std::filesystem::temp_directory_path() /
            ("waflow-outbox-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(data_);
    std::filesystem::create_directories(data_);
  }
  void TearDown() override { std::filesystem::remove_all(data_); }

  // The daemon's config: echo replies through channel `wa`, `outbox` settings as given.
  std::string config(const std::string& outbox, const std::string& auto_reply = "mode: echo",
                     const std::string& level = "info",
                     const std::string& send_timeout = "5s") const {
    return "log: { level: " + level + " }\ndata_dir: " + data_.string() + R"(
channels:
  wa:
    plugin: channel-cloudapi
    config:
      phone_number_id: ")" +
           std::string(kPhoneNumberId) + R"("
      access_token: test-token
      app_secret: )" +
           kSecret + R"(
      verify_token: verify-me
      base_url: )" +
           fake_.baseUrl() + R"(
      timeout: )" +
           send_timeout + R"(
outbox: )" +
           outbox + "\nauto_reply: { " + auto_reply + " }\n";
  }

  std::unique_ptr<DaemonProcess> start(const std::string& yaml) {
    auto d = std::make_unique<DaemonProcess>(yaml);
    EXPECT_TRUE(d->start()) << d->log();
    return d;
  }

  int post(const DaemonProcess& d, const std::string& body) {
    return FakeGraphApi::postWebhook(d.url("/webhooks/wa"), kSecret, body, 10s).status;
  }

  std::string textFrom(const std::string& from, const std::string& text, const std::string& wamid) {
    return fake_.buildTextWebhook(kPhoneNumberId, from, "Pelanggan", text, wamid);
  }

  // Successful sends (answered 200) per text body.
  std::map<std::string, int> deliveredTexts() const {
    std::map<std::string, int> out;
    for (const auto& s : fake_.sends()) {
      if (s.status == 200 && s.type == "text") {
        out[s.body["text"]["body"].get<std::string>()] += 1;
      }
    }
    return out;
  }

  // The texts delivered to `to`, in the order the fake accepted them (repeats included).
  std::vector<std::string> deliveredTo(const std::string& to) const {
    std::vector<std::string> out;
    for (const auto& s : fake_.sendsTo(to)) {
      if (s.status == 200 && s.type == "text") {
        out.push_back(s.body["text"]["body"].get<std::string>());
      }
    }
    return out;
  }

  // Waits until every text in `expected` was delivered at least once.
  bool waitDelivered(const std::set<std::string>& expected, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto got = deliveredTexts();
      bool all = std::all_of(expected.begin(), expected.end(),
                             [&](const std::string& t) { return got.count(t) > 0; });
      if (all) {
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // Runs SQL on the daemon's database (the daemon is not running).
  void sql(const std::string& statement) {
    sqlite3* db = nullptr;
    const std::string path = (data_ / "plugins" / "storage" / "waflow.db").string();
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK) << path;
    char* error = nullptr;
    int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error);
    std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << statement << ": " << message;
  }

  std::filesystem::path data_;
  FakeGraphApi fake_;
};

// The last_error of the outbox's failed messages (the daemon is not running).
std::vector<std::string> storedFailures(const std::filesystem::path& data) {
  sqlite3* db = nullptr;
  const std::string path = (data / "plugins" / "storage" / "waflow.db").string();
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK) << path;
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, "SELECT last_error FROM outbox WHERE state = 'failed'", -1, &statement,
                     nullptr);
  std::vector<std::string> errors;
  while (sqlite3_step(statement) == SQLITE_ROW) {
    errors.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)));
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return errors;
}

TEST_F(OutboxTest, AGraphErrorEchoingTheTokenIsStoredAndPublishedRedacted) {
  // A flow forwards every message.failed event to the fake, so the test can read what was
  // published; the fake answers the echo reply with an error quoting the access token.
  std::filesystem::create_directories(data_ / "flows");
  std::ofstream(data_ / "flows" / "observe.yaml")
      << failureObserverFlow(fake_, kPhoneNumberId, "{{ event.error }}");
  fake_.failNextSends(
      Fault::metaError(400, 100, "Invalid parameter",
                       "(#100) the value 'test-token' in Authorization is not a phone number"));
  auto d = start(config("{}") + "flows_dir: " + (data_ / "flows").string() + "\n");
  EXPECT_EQ(post(*d, textFrom("628561", "halo", "wamid.echoes-token")), 200);
  ASSERT_TRUE(fake_.waitForSends(2, 15s)) << d->log();
  std::string published;
  for (const auto& send : fake_.sends()) {
    if (send.to == "observer") {
      published = send.body["text"]["body"].get<std::string>();
    } else {
      EXPECT_EQ(send.error_code, 100);
    }
  }
  EXPECT_THAT(published, HasSubstr("the value '***' in Authorization")) << d->log();
  EXPECT_THAT(published, ::testing::Not(HasSubstr("test-token")));
  EXPECT_THAT(d->log(), ::testing::Not(HasSubstr("test-token")));
  EXPECT_EQ(d->terminate(), 0);

  const std::vector<std::string> stored = storedFailures(data_);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_THAT(stored[0], HasSubstr("the value '***' in Authorization"));
  EXPECT_THAT(stored[0], ::testing::Not(HasSubstr("test-token")));
}

TEST_F(OutboxTest, ANotificationDeliveredThreeTimesIsAnsweredOnceAlsoAcrossARestart) {
  const std::string body = textFrom("628700", "sekali saja", "wamid.outbox.once");
  {
    auto d = start(config("{}"));
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(post(*d, body), 200);
    }
    ASSERT_TRUE(waitDelivered({"sekali saja"}, 10s)) << d->log();
    EXPECT_EQ(d->terminate(), 0);
  }
  auto again = start(config("{}"));
  EXPECT_EQ(post(*again, body), 200);  // Meta retries days later
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(deliveredTexts()["sekali saja"], 1);
  EXPECT_EQ(fake_.sendCount(), 1u);
  EXPECT_THAT(http("GET", again->url("/metrics")).body,
              HasSubstr("waflow_messages_duplicate_total{channel=\"wa\"} 1"));
  EXPECT_EQ(again->terminate(), 0);
}

TEST_F(OutboxTest, AfterKillNineEveryAcknowledgedMessageGetsExactlyOneReply) {
  // Some answers are slow, so sends are in flight when the daemon dies.
  FaultRates rates;
  rates.slow = 0.3;
  rates.slow_delay = 150ms;
  fake_.setFaultRates(rates);
  const std::string outbox = "{ rate_limit: 0, recipient_burst: 0, in_doubt_grace: 3s }";

  constexpr int kThreads = 6;
  constexpr int kPerThread = 300;
  // Bodies: 120 contacts, several messages each, every text unique.
  std::vector<std::string> bodies, texts;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      std::string text = "pesan-" + std::to_string(t) + "-" + std::to_string(i);
      std::string from = "62811" + std::to_string(t * 20 + i % 20);
      texts.push_back(text);
      bodies.push_back(textFrom(from, text, "wamid.crash." + text));
    }
  }
  std::vector<int> acked(bodies.size(), 0);
  std::atomic<int> acked_count{0};
  auto first = start(config(outbox));
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::size_t n = static_cast<std::size_t>(t * kPerThread + i);
        auto r = FakeGraphApi::postWebhook(first->url("/webhooks/wa"), kSecret, bodies[n], 3s);
        if (r.status == 200) {
          acked[n] = 1;
          acked_count.fetch_add(1);
        }
      }
    });
  }
  while (acked_count.load() < kThreads * kPerThread / 2) {
    std::this_thread::sleep_for(2ms);
  }
  first->kill9();
  for (auto& s : senders) {
    s.join();
  }
  const int acked_before_crash = acked_count.load();
  ASSERT_GT(acked_before_crash, kThreads * kPerThread / 2 - 1);
  ASSERT_LT(acked_before_crash, kThreads * kPerThread) << "the crash came too late to test";
  std::this_thread::sleep_for(300ms);  // slow answers to the dead daemon finish at the fake

  auto second = start(config(outbox));
  // Meta keeps delivering the statuses of what it accepted, and redelivers what was not
  // acknowledged.
  // Newest first (the sends in flight at the crash), in webhooks of 100 statuses as Meta
  // batches them, all well within the in-doubt grace.
  std::vector<std::string> accepted;
  for (const auto& s : fake_.sends()) {
    if (s.status == 200) {
      accepted.insert(accepted.begin(), s.wamid);
    }
  }
  for (std::size_t i = 0; i < accepted.size(); i += 100) {
    std::vector<std::string> chunk(accepted.begin() + i,
                                   accepted.begin() + std::min(accepted.size(), i + 100));
    EXPECT_EQ(post(*second, fake_.buildStatusesWebhook(chunk, "sent")), 200);
  }
  for (std::size_t n = 0; n < bodies.size(); ++n) {
    if (!acked[n] || n % 10 == 0) {
      EXPECT_EQ(post(*second, bodies[n]), 200);
    }
  }
  std::set<std::string> expected(texts.begin(), texts.end());
  ASSERT_TRUE(waitDelivered(expected, 60s)) << second->log();
  std::this_thread::sleep_for(4s);  // past the in-doubt grace: any resend would show now

  auto delivered = deliveredTexts();
  int twice = 0;
  for (const auto& text : texts) {
    EXPECT_EQ(delivered[text], 1) << text << " was delivered " << delivered[text] << " times";
    twice += delivered[text] > 1 ? 1 : 0;
  }
  EXPECT_EQ(twice, 0) << second->log();
  EXPECT_THAT(second->log(), HasSubstr("were interrupted and may or may not have reached"));
  EXPECT_EQ(delivered.size(), texts.size());
  EXPECT_EQ(second->terminate(), 0);
}

// Meta accepted the first reply and said so in a status, but its answer came after the send
// timeout. Retried on the timeout, that reply reached the customer twice, the second copy after
// the conversation had moved on. In doubt, it waits for the status, and nothing is repeated.
TEST_F(OutboxTest, ASendAnsweredAfterItsTimeoutIsHeldInDoubtAndNeverSentTwice) {
  fake_.failNextSends(Fault::slow(2s));
  auto d = start(config("{ rate_limit: 0, recipient_burst: 0, in_doubt_grace: 20s }", "mode: echo",
                        "info", "500ms"));
  // The status comes 6 s after Meta accepted the send: later than a retry would have gone.
  fake_.postSentStatuses(d->url("/webhooks/wa"), kSecret, 6s);
  for (std::string text : {"satu", "dua", "tiga"}) {
    ASSERT_EQ(post(*d, textFrom("6283300001", text, "wamid.doubt." + text)), 200);
  }
  ASSERT_TRUE(waitDelivered({"satu", "dua", "tiga"}, 30s)) << d->log();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(deliveredTo("6283300001"), (std::vector<std::string>{"satu", "dua", "tiga"}))
      << d->log();
  EXPECT_EQ(fake_.sendCount(), 3u);
  EXPECT_THAT(d->log(), HasSubstr("waiting 20000 ms for a status"));
  EXPECT_THAT(http("GET", d->url("/metrics")).body, HasSubstr("waflow_outbox_in_doubt_total 1"));
  EXPECT_EQ(d->terminate(), 0);
}

// The request reached Meta's door but Meta never took it (no wamid, no status): after the
// in-doubt grace it is sent again, once.
TEST_F(OutboxTest, ASendInDoubtWithoutAnyStatusIsSentAgainAfterTheGrace) {
  fake_.failNextSends(Fault::noAnswer());
  auto d = start(config("{ rate_limit: 0, recipient_burst: 0, in_doubt_grace: 1s }", "mode: echo",
                        "info", "300ms"));
  ASSERT_EQ(post(*d, textFrom("6283300002", "halo", "wamid.lost.1")), 200);
  ASSERT_TRUE(waitDelivered({"halo"}, 20s)) << d->log();
  EXPECT_EQ(deliveredTo("6283300002"), (std::vector<std::string>{"halo"}));
  EXPECT_EQ(fake_.sendCount(), 2u);  // the unanswered attempt and the resend
  EXPECT_THAT(d->log(),
              HasSubstr("its send got no answer and no status arrived; sending it again"));
  EXPECT_EQ(d->terminate(), 0);
}

// Answers slower than the send timeout, many conversations at a time, and a kill -9 in the
// middle; Meta posts each `sent` status after the parameter's delay. At once: the status settles
// the row before the send times out. After 6 s: the status arrives after the timeout (0.5 s)
// and after a retry (5 s later, the channel's pause after a transport error) would have sent the
// message again; the in-doubt grace is longer than that, as it is in production (30 s). Per
// message: exactly one send; per conversation: the order the customer wrote in.
class OutboxUnderLoadTest : public OutboxTest,
                            public ::testing::WithParamInterface<std::chrono::milliseconds> {};

INSTANTIATE_TEST_SUITE_P(StatusDelays, OutboxUnderLoadTest, ::testing::Values(0ms, 6000ms),
                         [](const ::testing::TestParamInfo<std::chrono::milliseconds>& delay) {
                           return delay.param.count() == 0
                                      ? std::string("StatusAtOnce")
                                      : std::string("StatusAfterARetryWouldHaveGone");
                         });

TEST_P(OutboxUnderLoadTest, SlowAnswersAndAKillNineRepeatOrReorderNoReply) {
  FaultRates rates;
  rates.slow = 0.25;
  rates.slow_delay = 1500ms;
  fake_.setFaultRates(rates);
  const std::chrono::milliseconds grace = GetParam() + 4s;
  const std::string outbox =
      "{ rate_limit: 0, recipient_burst: 0, in_doubt_grace: " + std::to_string(grace.count()) +
      "ms }";
  constexpr int kContacts = 16;
  constexpr int kMessages = 10;
  auto contact = [](int c) { return "62844" + std::to_string(1000 + c); };
  auto text = [](int c, int m) { return "k" + std::to_string(c) + " m" + std::to_string(m); };
  std::vector<std::vector<int>> acked(kContacts, std::vector<int>(kMessages, 0));
  std::atomic<int> acked_count{0};
  auto first = start(config(outbox, "mode: echo", "info", "500ms"));
  fake_.postSentStatuses(first->url("/webhooks/wa"), kSecret, GetParam());
  std::vector<std::thread> senders;
  for (int c = 0; c < kContacts; ++c) {
    senders.emplace_back([&, c] {
      for (int m = 0; m < kMessages; ++m) {
        auto r = FakeGraphApi::postWebhook(
            first->url("/webhooks/wa"), kSecret,
            textFrom(contact(c), text(c, m), "wamid.load." + text(c, m)), 3s);
        if (r.status != 200) {
          return;  // the daemon is gone: the rest is redelivered after the restart, in order
        }
        acked[c][m] = 1;
        acked_count.fetch_add(1);
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  while (acked_count.load() < kContacts * kMessages / 2) {
    std::this_thread::sleep_for(2ms);
  }
  first->kill9();
  for (auto& s : senders) {
    s.join();
  }
  ASSERT_LT(acked_count.load(), kContacts * kMessages) << "the crash came too late to test";
  std::this_thread::sleep_for(1600ms);  // slow answers to the dead daemon finish at the fake

  auto second = start(config(outbox, "mode: echo", "info", "500ms"));
  fake_.postSentStatuses(second->url("/webhooks/wa"), kSecret, GetParam());
  // Meta redelivers the statuses the dead daemon did not acknowledge, and the messages.
  std::vector<std::string> accepted;
  for (const auto& s : fake_.sends()) {
    if (s.status == 200) {
      accepted.push_back(s.wamid);
    }
  }
  ASSERT_FALSE(accepted.empty());
  EXPECT_EQ(post(*second, fake_.buildStatusesWebhook(accepted, "sent")), 200);
  std::set<std::string> expected;
  for (int c = 0; c < kContacts; ++c) {
    for (int m = 0; m < kMessages; ++m) {
      expected.insert(text(c, m));
      if (!acked[c][m]) {
        EXPECT_EQ(post(*second, textFrom(contact(c), text(c, m), "wamid.load." + text(c, m))), 200);
      }
    }
  }
  ASSERT_TRUE(waitDelivered(expected, 90s)) << second->log();
  std::this_thread::sleep_for(grace + 1s);  // any resend would show now
  int repeated = 0, reordered = 0;
  for (int c = 0; c < kContacts; ++c) {
    std::vector<std::string> want;
    for (int m = 0; m < kMessages; ++m) {
      want.push_back(text(c, m));
    }
    std::vector<std::string> got = deliveredTo(contact(c));
    repeated += static_cast<int>(got.size()) -
                static_cast<int>(std::set<std::string>(got.begin(), got.end()).size());
    reordered += got == want ? 0 : 1;
    EXPECT_EQ(got, want) << "contact " << contact(c);
  }
  EXPECT_EQ(repeated, 0);
  EXPECT_EQ(reordered, 0);
  EXPECT_EQ(second->terminate(), 0);
}

TEST_F(OutboxTest, WithThirtyPercentOfSendsFailingEveryReplyArrivesInOrder) {
  FaultRates rates;
  rates.rate_limited = 0.15;
  rates.server_error = 0.15;
  rates.retry_after_s = 0;
  fake_.setFaultRates(rates);
  auto d =
      start(config("{ rate_limit: 0, recipient_burst: 0, retry_initial: 20ms, retry_max: 200ms, "
                   "max_attempts: 30 }"));
  constexpr int kContacts = 12;
  constexpr int kMessages = 8;
  std::vector<std::thread> senders;
  std::set<std::string> expected;
  for (int c = 0; c < kContacts; ++c) {
    for (int m = 0; m < kMessages; ++m) {
      expected.insert("c" + std::to_string(c) + " m" + std::to_string(m));
    }
    senders.emplace_back([&, c] {
      for (int m = 0; m < kMessages; ++m) {
        std::string text = "c" + std::to_string(c) + " m" + std::to_string(m);
        EXPECT_EQ(post(*d, textFrom("62822" + std::to_string(c), text, "wamid.f." + text)), 200);
      }
    });
  }
  for (auto& s : senders) {
    s.join();
  }
  ASSERT_TRUE(waitDelivered(expected, 60s)) << d->log();
  int failed_attempts = 0;
  for (int c = 0; c < kContacts; ++c) {
    std::vector<std::string> order;
    for (const auto& s : fake_.sendsTo("62822" + std::to_string(c))) {
      if (s.status == 200) {
        order.push_back(s.body["text"]["body"]);
      } else {
        ++failed_attempts;
      }
    }
    ASSERT_EQ(order.size(), static_cast<std::size_t>(kMessages)) << "contact " << c;
    for (int m = 0; m < kMessages; ++m) {
      EXPECT_EQ(order[m], "c" + std::to_string(c) + " m" + std::to_string(m)) << "contact " << c;
    }
  }
  EXPECT_GT(failed_attempts, 5);  // the faults really happened
  EXPECT_THAT(http("GET", d->url("/metrics")).body,
              HasSubstr("waflow_outbox_sent_total{channel=\"wa\"} 96"));
  EXPECT_EQ(d->terminate(), 0);
}

TEST_F(OutboxTest, TheNumbersRateLimitAndTheRecipientPacingHold) {
  auto d = start(config("{ rate_limit: 5, recipient_burst: 2, recipient_interval: 1s }"));
  // 10 contacts at once: a burst of 5, then 5 per second.
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(post(*d, textFrom("62833" + std::to_string(c), "r" + std::to_string(c),
                                "wamid.rate." + std::to_string(c))),
              200);
  }
  ASSERT_TRUE(fake_.waitForSends(10, 10s)) << d->log();
  auto sends = fake_.sends();
  EXPECT_GE(sends[9].received - sends[0].received, 800ms);
  // One contact, 4 messages: 2 at once, then one per second.
  fake_.clearRecords();
  for (int m = 0; m < 4; ++m) {
    EXPECT_EQ(
        post(*d, textFrom("628449", "p" + std::to_string(m), "wamid.pace." + std::to_string(m))),
        200);
  }
  ASSERT_TRUE(fake_.waitForSends(4, 10s)) << d->log();
  sends = fake_.sends();
  EXPECT_GE(sends[2].received - sends[0].received, 700ms);
  EXPECT_GE(sends[3].received - sends[2].received, 800ms);
  EXPECT_EQ(sends[3].body["text"]["body"], "p3");
  EXPECT_EQ(d->terminate(), 0);
}

// Stores a message, then kills the daemon before the reply is produced (the AI takes 10 s),
// and moves the contact's last message 25 hours into the past.
class WindowTest : public OutboxTest {
 protected:
  void leaveAMessageUnansweredForADay(const std::string& from) {
    std::string yaml = "log: { level: info }\ndata_dir: " + data_.string() + R"(
channels:
  wa:
    plugin: channel-cloudapi
    config: { phone_number_id: ")" +
                       std::string(kPhoneNumberId) +
                       R"(", access_token: test-token, app_secret: )" + kSecret +
                       R"(, verify_token: v, base_url: )" + fake_.baseUrl() + R"( }
ai: { slow: { plugin: ai-mock, config: { latency: 10s } } }
auto_reply: { mode: ai, ai: slow }
)";
    auto d = start(yaml);
    EXPECT_EQ(post(*d, textFrom(from, "masih buka?", "wamid.window." + from)), 200);
    std::this_thread::sleep_for(300ms);
    d->kill9();
    sql("UPDATE contacts SET last_inbound_at = " + std::to_string(nowMs() - 25 * 3600 * 1000) +
        " WHERE contact = '" + from + "'");
  }
};

TEST_F(WindowTest, AFreeFormReplyOutsideTheWindowIsRefusedBeforeCallingMeta) {
  leaveAMessageUnansweredForADay("628551");
  auto d = start(config("{}"));
  for (int i = 0;
       i < 100 &&
       http("GET", d->url("/metrics")).body.find("waflow_outbox_failed_total{channel=\"wa\"} 1") ==
           std::string::npos;
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_THAT(http("GET", d->url("/metrics")).body,
              HasSubstr("waflow_outbox_window_total{action=\"refused\",channel=\"wa\"} 1"));
  EXPECT_EQ(fake_.sendCount(), 0u);
  EXPECT_THAT(d->log(), HasSubstr("outside WhatsApp's 24-hour customer-service window"));
  EXPECT_THAT(d->log(), HasSubstr("last wrote 25 h ago"));
  EXPECT_EQ(d->terminate(), 0);
}

TEST_F(WindowTest, AFreeFormReplyOutsideTheWindowIsReplacedByTheTemplate) {
  leaveAMessageUnansweredForADay("628552");
  auto d = start(config("{ window_template: { name: sapaan_kembali, language: id } }"));
  ASSERT_TRUE(fake_.waitForSends(1, 10s)) << d->log();
  auto send = fake_.sends().at(0);
  EXPECT_EQ(send.to, "628552");
  EXPECT_EQ(send.type, "template");
  EXPECT_EQ(send.body["template"]["name"], "sapaan_kembali");
  EXPECT_EQ(send.body["template"]["language"]["code"], "id");
  EXPECT_EQ(d->terminate(), 0);
}

TEST_F(WindowTest, MetasLaterReEngagementFailureSendsTheTemplate) {
  auto d = start(config("{ window_template: { name: sapaan_kembali, language: id } }"));
  EXPECT_EQ(post(*d, textFrom("628553", "halo", "wamid.reengage")), 200);
  ASSERT_TRUE(fake_.waitForSends(1, 10s)) << d->log();
  const std::string wamid = fake_.sends().at(0).wamid;
  // Meta accepted the send, then reports it failed: the window had closed.
  EXPECT_EQ(post(*d, fake_.buildStatusWebhook(wamid, "failed", 131047)), 200);
  ASSERT_TRUE(fake_.waitForSends(2, 10s)) << d->log();
  auto send = fake_.sends().at(1);
  EXPECT_EQ(send.to, "628553");
  EXPECT_EQ(send.type, "template");
  EXPECT_THAT(http("GET", d->url("/metrics")).body,
              HasSubstr("waflow_outbox_failed_total{channel=\"wa\"} 1"));
  EXPECT_THAT(d->log(), HasSubstr("failed after it was sent: (131047)"));
  EXPECT_EQ(d->terminate(), 0);
}

}  // namespace
}  // namespace waflow::test
