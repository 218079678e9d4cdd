// StorageConformance — the fixture of the storage conformance suite: a fresh
// store of the backend under test per test, and shorthands for the
// operations the tests call. The suite's tests are split by area over
// several files; storage_conformance_test.cpp instantiates them for every
// backend.
//
// Thread-safety: used from the test thread only.
#pragma once

#include "storage_harness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace waflow::test::storage {

using Ops = std::vector<std::pair<std::string, Json>>;

// Every backend the suite runs against (storage_conformance_test.cpp).
std::vector<Backend> conformanceBackends();

// A test name's backend suffix.
inline std::string backendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param.name;
}

constexpr int64_t kNow = 1700000000000;

class StorageConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    harness_ = std::make_unique<StorageHarness>(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    config_ = GetParam().config(harness_->dir());
    harness_->openOrFail(GetParam().plugin, config_);
  }
  void TearDown() override { harness_.reset(); }

  // Stops and destroys the instance, then opens the same store again.
  void restart() {
    harness_->close();
    harness_->openOrFail(GetParam().plugin, config_);
  }

  Json ok(const std::string& op, const Json& input) { return harness_->ok(op, input); }
  CallOutcome exec(const std::string& op, const Json& input) { return harness_->exec(op, input); }

  Json put(std::vector<Json> messages) {
    return ok("inbox.put", {{"messages", std::move(messages)}});
  }
  Json pending(int limit = 1000) { return ok("inbox.pending", {{"limit", limit}}); }
  Json add(std::vector<Json> messages) {
    return ok("outbox.add", {{"messages", std::move(messages)}});
  }
  // outbox.add with "claim": what nothing holds back is leased to `owner` at once.
  Json addClaiming(std::vector<Json> messages, int64_t now, int64_t lease_ms = 30000,
                   const std::string& owner = "worker-1") {
    return ok("outbox.add", {{"messages", std::move(messages)},
                             {"claim", {{"owner", owner}, {"lease_ms", lease_ms}, {"now", now}}}});
  }
  Json claim(int64_t now, int limit = 100, int64_t lease_ms = 30000,
             const std::string& owner = "worker-1") {
    return ok("outbox.claim",
              {{"limit", limit}, {"now", now}, {"lease_ms", lease_ms}, {"owner", owner}});
  }
  Json recover(int64_t now, const std::string& owner = "") {
    Json in = {{"now", now}};
    if (!owner.empty()) {
      in["owner"] = owner;
    }
    return ok("outbox.recover", in);
  }
  // Claims everything due and lets its lease run out: the sends are now in doubt.
  void putInDoubt(int64_t now) {
    claim(now, 100, 1);
    recover(now + 1);
  }
  Json statuses(std::vector<Json> list) {
    return ok("status.put", {{"statuses", std::move(list)}});
  }
  Json get(const std::string& id) { return ok("outbox.get", {{"id", id}})["message"]; }
  void sent(const std::string& id, const std::string& provider_id, int64_t now = kNow) {
    ok("outbox.sent", {{"id", id}, {"provider_message_id", provider_id}, {"now", now}});
  }
  Json stats() { return ok("stats", Json::object()); }

  // Malformed input: each operation fails with Rc::kInvalid, its error naming
  // the operation and the field.
  struct InvalidCase {
    std::string op;
    Json input;
    std::string field;
  };
  void expectInvalid(const std::vector<InvalidCase>& cases) {
    for (const InvalidCase& c : cases) {
      CallOutcome o = exec(c.op, c.input);
      EXPECT_EQ(o.rc, waflow::Rc::kInvalid) << c.op << " " << c.input.dump();
      EXPECT_THAT(o.error, ::testing::HasSubstr(c.field)) << c.op << " " << c.input.dump();
      EXPECT_THAT(o.error, ::testing::HasSubstr(c.op));
    }
  }

  std::unique_ptr<StorageHarness> harness_;
  Json config_;
};

}  // namespace waflow::test::storage
