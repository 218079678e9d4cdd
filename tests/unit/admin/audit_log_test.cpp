// The audit log against a fake storage: what an admin action writes, how failed logins are
// thinned out without being forgotten, and what GET /api/audit asks of storage and answers.
#include "admin/audit_log.h"

#include "fake_storage.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

namespace waflow::core::admin {
namespace {

using nlohmann::json;
using testing::FakeAnswer;
using testing::FakeStorage;
using namespace std::chrono_literals;

AuditEntry entry(std::string summary, int status = 200) {
  return {"admin token", "POST /admin/reload", std::move(summary), "10.0.0.7", status};
}

httpd::HttpResponse serve(FakeStorage& storage, std::string query) {
  httpd::HttpRequest request;
  request.method = "GET";
  request.path = "/api/audit";
  request.query = std::move(query);
  std::promise<httpd::HttpResponse> answer;
  serveAudit(storage, request, [&](httpd::HttpResponse r) { answer.set_value(std::move(r)); });
  auto future = answer.get_future();
  EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
  return future.get();
}

TEST(AuditLog, AnActionIsWrittenWithEveryFieldAndALongSummaryIsCut) {
  FakeStorage storage;
  storage.answer(waflow::storage::kAuditAppend, {{"seq", 1}});
  AuditLog log(storage);

  log.append(entry("reloaded: version 4"));
  log.append(entry(std::string(2000, 'x')));

  ASSERT_TRUE(storage.waitForCalls(waflow::storage::kAuditAppend, 2, 5s));
  std::vector<json> rows = storage.calls(waflow::storage::kAuditAppend);
  EXPECT_EQ(rows[0]["actor"], "admin token");
  EXPECT_EQ(rows[0]["action"], "POST /admin/reload");
  EXPECT_EQ(rows[0]["summary"], "reloaded: version 4");
  EXPECT_EQ(rows[0]["address"], "10.0.0.7");
  EXPECT_EQ(rows[0]["status"], 200);
  EXPECT_GT(rows[0]["at"].get<int64_t>(), 0);
  EXPECT_LT(rows[1]["summary"].get<std::string>().size(), 1000u);
  EXPECT_TRUE(storage.shapeErrors().empty()) << storage.shapeErrors()[0];
}

TEST(AuditLog, FailuresBeyondTheBurstAreCountedAndNamedInTheNextRowWritten) {
  FakeStorage storage;
  storage.answer(waflow::storage::kAuditAppend, {{"seq", 1}});
  AuditLog log(storage, /*failure_burst=*/1);

  log.appendFailure(entry("bad token", 401));
  log.appendFailure(entry("bad token", 401));  // left out: faster than one a second
  log.appendFailure(entry("bad token", 401));  // left out
  std::this_thread::sleep_for(1100ms);
  log.appendFailure(entry("bad token", 401));

  ASSERT_TRUE(storage.waitForCalls(waflow::storage::kAuditAppend, 2, 5s));
  std::this_thread::sleep_for(50ms);
  std::vector<json> rows = storage.calls(waflow::storage::kAuditAppend);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["summary"], "bad token");
  EXPECT_NE(rows[1]["summary"].get<std::string>().find("2 failed attempt(s) before this one"),
            std::string::npos)
      << rows[1]["summary"];
}

TEST(AuditLog, APageIsAskedOfStorageWithTheProtocolsFieldNames) {
  FakeStorage storage;
  storage.answer(waflow::storage::kAuditList, {{"entries", json::array()}, {"next", nullptr}});

  httpd::HttpResponse response = serve(storage, "after=7&limit=50&since=1000");

  EXPECT_EQ(response.status, 200);
  std::vector<json> calls = storage.calls(waflow::storage::kAuditList);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], (json{{"after_seq", 7}, {"limit", 50}, {"since", 1000}}));
  EXPECT_TRUE(storage.shapeErrors().empty()) << storage.shapeErrors()[0];
}

TEST(AuditLog, ABadParameterIsRefusedBeforeStorageIsAsked) {
  FakeStorage storage;

  EXPECT_EQ(serve(storage, "limit=0").status, 400);
  EXPECT_EQ(serve(storage, "after=-3").status, 400);
  EXPECT_EQ(serve(storage, "since=yesterday").status, 400);
  EXPECT_TRUE(storage.calls(waflow::storage::kAuditList).empty());
}

TEST(AuditLog, StorageThatCannotAnswerIs503AndInvalidInputIs400) {
  FakeStorage storage;
  storage.fail(waflow::storage::kAuditList, waflow::Rc::kBusy, "database is locked");
  EXPECT_EQ(serve(storage, "").status, 503);

  storage.fail(waflow::storage::kAuditList, waflow::Rc::kInvalid, "until: must be >= since");
  httpd::HttpResponse response = serve(storage, "since=5&until=1");
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("until: must be"), std::string::npos);
}

}  // namespace
}  // namespace waflow::core::admin
