// The storage protocol itself: storage.describe answers this SDK's protocol version and names
// exactly the operations the store answers, every one of them from the protocol's table
// (<waflow/sdk/storage.hpp>), with stats and storage.describe among them.
#include "storage_conformance.h"

#include <waflow/sdk/storage.hpp>

#include <set>
#include <string>

namespace waflow::test::storage {
namespace {

namespace protocol = waflow::storage;

std::set<std::string> described(const Json& out) {
  std::set<std::string> names;
  for (const Json& name : out.at("operations")) {
    names.insert(name.get<std::string>());
  }
  return names;
}

TEST_P(StorageConformance, DescribeAnswersTheProtocolVersionAndTheCoreOperations) {
  Json out = ok(protocol::kDescribe, Json::object());
  EXPECT_EQ(out.at("protocol"), protocol::kProtocolVersion);
  const std::set<std::string> names = described(out);
  EXPECT_EQ(names.size(), out.at("operations").size()) << "an operation is named twice";
  for (const protocol::OperationInfo& op : protocol::kOperations) {
    if (op.group == protocol::Group::kCore) {
      EXPECT_TRUE(names.count(op.name)) << "the core operation " << op.name << " is not named";
    }
  }
  for (const std::string& name : names) {
    EXPECT_NE(protocol::findOperationInfo(name), nullptr)
        << name << " is not an operation of the protocol";
  }
}

// What a store says it answers, it answers (malformed input is kInvalid, not kUnsupported);
// what it leaves out, it refuses as unsupported.
TEST_P(StorageConformance, EveryDescribedOperationIsAnsweredAndNoOther) {
  const std::set<std::string> names = described(ok(protocol::kDescribe, Json::object()));
  for (const protocol::OperationInfo& op : protocol::kOperations) {
    CallOutcome outcome = exec(op.name, Json{{"not_a_field_of_any_operation", true}});
    if (names.count(op.name)) {
      EXPECT_NE(outcome.rc, Rc::kUnsupported) << op.name << ": " << outcome.error;
    } else {
      EXPECT_EQ(outcome.rc, Rc::kUnsupported) << op.name << " answers but is not described";
    }
  }
  EXPECT_EQ(exec("no.such.operation", Json::object()).rc, Rc::kUnsupported);
}

}  // namespace
}  // namespace waflow::test::storage
