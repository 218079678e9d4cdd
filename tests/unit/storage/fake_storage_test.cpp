// The fake storage's shape check against the protocol's table: every row's own documented
// shape fits, and the ways an input can go wrong are each caught. The fake is what the
// delivery, engine and admin unit tests trust to say "this part speaks the protocol".
#include "fake_storage.h"

#include <gtest/gtest.h>

#include <future>

namespace waflow::testing {
namespace {

using nlohmann::json;
using Operation = core::storage::Operation;

// An input holding every field of the row's first form.
json fullInput(const waflow::storage::OperationInfo& row) {
  json input = json::object();
  std::string form = row.input;
  form = form.substr(0, form.find(" | "));
  size_t start = 0;
  while (start < form.size()) {
    size_t comma = form.find(',', start);
    std::string field = form.substr(start, comma - start);
    field.erase(0, field.find_first_not_of(' '));
    start = comma == std::string::npos ? form.size() : comma + 1;
    if (field == "{}") {
      continue;
    }
    if (field.ends_with("?")) {
      field.pop_back();
    }
    bool array = field.ends_with("[]");
    if (array) {
      field.resize(field.size() - 2);
    }
    input[field] = array ? json::array() : json(1);
  }
  return input;
}

// An Operation carries its row of the table, found at compile time (a name the table lacks
// does not compile: Operation("job.claimm") is an error).
static_assert(Operation(waflow::storage::kJobClaim).writes());
static_assert(!Operation("kv.get").writes());
static_assert(Operation("kb.search").group() == waflow::storage::Group::kKnowledge);

TEST(FakeStorageShape, EveryRowAcceptsItsOwnDocumentedShape) {
  for (const auto& row : waflow::storage::kOperations) {
    EXPECT_EQ(checkInputShape(row, fullInput(row)), "") << row.name << ": " << row.input;
  }
}

TEST(FakeStorageShape, CatchesAMissingFieldAnUnknownOneAndANonArray) {
  const Operation attempt = waflow::storage::kInboxAttempt;
  const auto& row = attempt.info();
  json good = {{"messages", json::array()}, {"max_attempts", 3}, {"reason", "r"}};
  EXPECT_EQ(checkInputShape(row, good), "");

  json missing = good;
  missing.erase("reason");
  EXPECT_NE(checkInputShape(row, missing).find("lacks the required field 'reason'"),
            std::string::npos);
  json unknown = good;
  unknown["reasons"] = "typo";
  EXPECT_NE(checkInputShape(row, unknown).find("'reasons'"), std::string::npos);
  json scalar = good;
  scalar["messages"] = "m1";
  EXPECT_NE(checkInputShape(row, scalar).find("not an array"), std::string::npos);
  EXPECT_NE(checkInputShape(row, json::array()), "");
}

TEST(FakeStorageShape, AnInputMayTakeAnyOfTheRowsForms) {
  const Operation cancel = waflow::storage::kJobCancel;
  EXPECT_EQ(checkInputShape(cancel.info(), {{"ids", {"a"}}}), "");
  EXPECT_EQ(checkInputShape(cancel.info(), {{"conversation", "wa:1"}}), "");
  EXPECT_NE(checkInputShape(cancel.info(), {{"ids", {"a"}}, {"conversation", "wa:1"}}), "");
}

TEST(FakeStorage, AnInputOfTheWrongShapeIsRefusedAndRecorded) {
  FakeStorage storage;
  storage.answer(waflow::storage::kKvGet, {{"value", nullptr}});
  std::promise<core::storage::Outcome> answer;

  storage.execute(waflow::storage::kKvGet, R"({"name":"k"})",
                  [&](core::storage::Outcome o) { answer.set_value(std::move(o)); });

  core::storage::Outcome outcome = answer.get_future().get();
  EXPECT_EQ(outcome.rc, waflow::Rc::kInvalid);
  ASSERT_EQ(storage.shapeErrors().size(), 1u);
  EXPECT_NE(storage.shapeErrors()[0].find("kv.get"), std::string::npos);
}

TEST(FakeStorage, AnOperationGivenNoAnswerSaysSo) {
  FakeStorage storage;
  std::promise<core::storage::Outcome> answer;

  storage.call(waflow::storage::kKvGet, {{"key", "k"}},
               [&](const core::storage::Outcome& o, json) { answer.set_value(o); });

  core::storage::Outcome outcome = answer.get_future().get();
  EXPECT_EQ(outcome.rc, waflow::Rc::kUnsupported);
  EXPECT_NE(outcome.error.find("kv.get"), std::string::npos);
}

}  // namespace
}  // namespace waflow::testing
