// The storage conformance suite, continued: the audit log of admin actions (audit.append,
// audit.list), checked against every backend of storage_conformance_test.cpp through the real
// loader and host.
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

class AuditStorageConformance : public StorageConformance {
 protected:
  Json append(const std::string& action, int64_t at, int status = 200,
              const std::string& summary = "") {
    return ok("audit.append", {{"at", at},
                               {"actor", "admin token"},
                               {"action", action},
                               {"summary", summary},
                               {"address", "192.0.2.7"},
                               {"status", status}});
  }
  Json list(Json filters = Json::object()) { return ok("audit.list", filters); }
  static std::vector<std::string> actions(const Json& page) {
    std::vector<std::string> out;
    for (const Json& e : page.at("entries")) {
      out.push_back(e.at("action").get<std::string>());
    }
    return out;
  }
};

TEST_P(AuditStorageConformance, AppendKeepsEveryFieldAndListReturnsEntriesInOrder) {
  Json first = append("POST /admin/reload", kNow, 200, "reloaded: version 2, 3 flows");
  Json second = ok("audit.append", {{"at", kNow + 1},
                                    {"actor", ""},
                                    {"action", "POST /api/events"},
                                    {"summary", ""},
                                    {"address", ""},
                                    {"status", 401}});
  ASSERT_TRUE(first["seq"].is_number_integer());
  EXPECT_GT(second["seq"].get<int64_t>(), first["seq"].get<int64_t>());
  Json page = list();
  ASSERT_EQ(page["entries"].size(), 2u);
  EXPECT_EQ(page["entries"][0], Json({{"seq", first["seq"]},
                                      {"at", kNow},
                                      {"actor", "admin token"},
                                      {"action", "POST /admin/reload"},
                                      {"summary", "reloaded: version 2, 3 flows"},
                                      {"address", "192.0.2.7"},
                                      {"status", 200}}));
  EXPECT_EQ(page["entries"][1]["status"], 401);
  EXPECT_EQ(page["entries"][1]["actor"], "");
  EXPECT_TRUE(page["next"].is_null());
}

TEST_P(AuditStorageConformance, EntriesSurviveARestart) {
  append("POST /admin/reload", kNow);
  restart();
  EXPECT_THAT(actions(list()), ElementsAre("POST /admin/reload"));
}

TEST_P(AuditStorageConformance, ListPagesWithAfterSeqAndFiltersByTime) {
  for (int n = 0; n < 5; ++n) {
    append("GET /api/usage " + std::to_string(n), kNow + n * 1000);
  }
  std::vector<std::string> seen;
  Json filters = {{"limit", 2}};
  for (int pages = 0; pages < 10; ++pages) {
    Json page = list(filters);
    for (const std::string& a : actions(page)) {
      seen.push_back(a);
    }
    if (page["next"].is_null()) {
      break;
    }
    EXPECT_EQ(page["next"], page["entries"].back()["seq"]);
    filters["after_seq"] = page["next"];
  }
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen.front(), "GET /api/usage 0");
  EXPECT_EQ(seen.back(), "GET /api/usage 4");
  EXPECT_THAT(actions(list({{"since", kNow + 1000}, {"until", kNow + 3000}})),
              ElementsAre("GET /api/usage 1", "GET /api/usage 2"));
}

TEST_P(AuditStorageConformance, MalformedInputIsInvalidNamingTheField) {
  const Json good = {{"at", kNow},    {"actor", "admin token"}, {"action", "POST /admin/reload"},
                     {"summary", ""}, {"address", "::1"},       {"status", 200}};
  auto without = [&](const char* key) {
    Json j = good;
    j.erase(key);
    return j;
  };
  auto with = [&](const char* key, Json value) {
    Json j = good;
    j[key] = std::move(value);
    return j;
  };
  expectInvalid({
      {"audit.append", without("at"), "at"},
      {"audit.append", with("action", ""), "action"},
      {"audit.append", with("actor", 7), "actor"},
      {"audit.append", with("summary", Json::array()), "summary"},
      {"audit.append", without("address"), "address"},
      {"audit.append", with("status", 42), "status"},
      {"audit.list", {{"limit", 0}}, "limit"},
      {"audit.list", {{"limit", 1001}}, "limit"},
      {"audit.list", {{"after_seq", "x"}}, "after_seq"},
      {"audit.list", {{"since", "yesterday"}}, "since"},
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditStorageConformance,
                         ::testing::ValuesIn(conformanceBackends()), backendName);

}  // namespace
}  // namespace waflow::test::storage
