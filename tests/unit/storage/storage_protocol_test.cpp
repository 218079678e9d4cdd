// The daemon's storage check at start (storage/storage_description.h), on answers to
// storage.describe made up here: no plugin, no SQLite.
#include "storage/storage_description.h"

#include <waflow/sdk/storage.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <string>

namespace waflow::core::storage {
namespace {

namespace protocol = waflow::storage;
using ::testing::AllOf;
using ::testing::HasSubstr;
using Json = nlohmann::json;

// How a storage.describe call ended.
struct Answer {
  waflow::Rc rc = waflow::Rc::kOk;
  std::string error;
  std::string value;
};

StorageVerdict judge(const std::string& id, const Answer& a, const StorageNeeds& needs) {
  return judgeDescription(id, a.rc, a.error, a.value, needs);
}

// An answer naming every operation of the table except `left_out`.
Answer describing(std::set<std::string> left_out = {}, int version = protocol::kProtocolVersion) {
  Json operations = Json::array();
  for (const protocol::OperationInfo& op : protocol::kOperations) {
    if (!left_out.count(op.name)) {
      operations.push_back(op.name);
    }
  }
  Answer answer;
  answer.value = Json{{"protocol", version}, {"operations", operations}}.dump();
  return answer;
}

std::set<std::string> group(protocol::Group g) {
  std::set<std::string> names;
  for (const protocol::OperationInfo& op : protocol::kOperations) {
    if (op.group == g) {
      names.insert(op.name);
    }
  }
  return names;
}

TEST(StorageProtocolCheck, AStoreAnsweringEverythingIsAcceptedWithoutWarnings) {
  StorageVerdict v = judge("db", describing(), {true, true});
  EXPECT_TRUE(v.ok()) << v.error;
  EXPECT_TRUE(v.warnings.empty());
}

TEST(StorageProtocolCheck, AMissingCoreOperationIsRefusedByName) {
  StorageVerdict v = judge("db", describing({"outbox.claim", "job.next"}), {});
  EXPECT_THAT(v.error,
              AllOf(HasSubstr("storage 'db'"), HasSubstr("core"),
                    HasSubstr("job.next, outbox.claim"), HasSubstr("every daemon needs them")));
}

TEST(StorageProtocolCheck, AnOlderProtocolIsRefused) {
  StorageVerdict v = judge("db", describing({}, protocol::kProtocolVersion - 1), {});
  EXPECT_THAT(v.error, AllOf(HasSubstr("speaks storage protocol"), HasSubstr("update the plugin")));
}

TEST(StorageProtocolCheck, ANewerProtocolIsAccepted) {
  EXPECT_TRUE(judge("db", describing({}, protocol::kProtocolVersion + 1), {}).ok());
}

TEST(StorageProtocolCheck, AStoreBuiltBeforeDescribeIsToldToRebuild) {
  Answer unsupported;
  unsupported.rc = waflow::Rc::kUnsupported;
  unsupported.error = "unknown operation 'storage.describe'";
  StorageVerdict v = judge("db", unsupported, {});
  EXPECT_THAT(v.error, AllOf(HasSubstr("does not answer storage.describe"), HasSubstr("rebuild")));
}

TEST(StorageProtocolCheck, AFailedOrMalformedAnswerIsRefused) {
  Answer failed;
  failed.rc = waflow::Rc::kRetry;
  failed.error = "database is locked";
  EXPECT_THAT(judge("db", failed, {}).error, HasSubstr("database is locked"));
  for (const char* text : {"", "[]", R"({"protocol": "1", "operations": []})", R"({"protocol": 1})",
                           "{\"protocol\": 1, \"operations\": {}}"}) {
    Answer odd;
    odd.value = text;
    EXPECT_THAT(judge("db", odd, {}).error, HasSubstr("is not {\"protocol\"")) << text;
  }
}

TEST(StorageProtocolCheck, KnowledgeAndAuditAreNeededOnlyWhenConfigured) {
  const auto no_kb = describing(group(protocol::Group::kKnowledge));
  EXPECT_TRUE(judge("db", no_kb, {}).ok());
  EXPECT_THAT(judge("db", no_kb, {.knowledge = true}).error,
              AllOf(HasSubstr("knowledge"), HasSubstr("kb.search"), HasSubstr("knowledge:")));
  const auto no_audit = describing(group(protocol::Group::kAudit));
  EXPECT_TRUE(judge("db", no_audit, {.knowledge = true}).ok());
  EXPECT_THAT(judge("db", no_audit, {.audit = true}).error,
              AllOf(HasSubstr("audit.append"), HasSubstr("admin API")));
}

TEST(StorageProtocolCheck, MissingAiGroupsAreWarningsThatSayWhatWillNotWork) {
  std::set<std::string> left_out = group(protocol::Group::kUsage);
  left_out.insert("message.history");
  StorageVerdict v = judge("db", describing(left_out), {});
  ASSERT_TRUE(v.ok()) << v.error;
  ASSERT_EQ(v.warnings.size(), 2u);
  EXPECT_THAT(v.warnings[0], AllOf(HasSubstr("memory"), HasSubstr("message.history")));
  EXPECT_THAT(v.warnings[1], AllOf(HasSubstr("usage.add"), HasSubstr("not be recorded")));
}

}  // namespace
}  // namespace waflow::core::storage
