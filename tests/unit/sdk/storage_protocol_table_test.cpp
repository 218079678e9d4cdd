// The storage protocol's table (kOperations in <waflow/sdk/storage.hpp>) is the one list of
// operations: these tests hold the header's own documentation and docs/storage.md to it, so an
// operation documented but not in the table (or the reverse) fails here, not in production.
#include <waflow/sdk/storage.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

namespace protocol = waflow::storage;

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> tableNames() {
  std::set<std::string> names;
  for (const protocol::OperationInfo& op : protocol::kOperations) {
    names.insert(op.name);
  }
  return names;
}

TEST(StorageProtocolTable, NamesAreUniqueAndFindable) {
  EXPECT_EQ(tableNames().size(), std::size(protocol::kOperations));
  for (const protocol::OperationInfo& op : protocol::kOperations) {
    EXPECT_EQ(protocol::findOperationInfo(op.name), &op) << op.name;
    EXPECT_STRNE(op.input, "") << op.name;
    EXPECT_STRNE(op.output, "") << op.name;
  }
  EXPECT_EQ(protocol::findOperationInfo("no.such.operation"), nullptr);
}

// Every `inline constexpr const char* kX = "name";` of the header is in the table.
TEST(StorageProtocolTable, EveryOperationConstantOfTheHeaderIsInTheTable) {
  const std::string header =
      readFile(std::filesystem::path(WAFLOW_SOURCE_DIR) / "sdk/include/waflow/sdk/storage.hpp");
  ASSERT_FALSE(header.empty());
  const std::regex constant(R"re(inline constexpr const char\* k\w+ = "([a-z_.]+)";)re");
  std::set<std::string> declared;
  for (std::sregex_iterator it(header.begin(), header.end(), constant), end; it != end; ++it) {
    declared.insert((*it)[1].str());
  }
  EXPECT_EQ(declared, tableNames());
}

// docs/storage.md's table of operations names each one once, with the table's "writes".
TEST(StorageProtocolTable, TheDocsTableNamesEveryOperationWithWhetherItWrites) {
  const std::string docs = readFile(std::filesystem::path(WAFLOW_SOURCE_DIR) / "docs/storage.md");
  ASSERT_FALSE(docs.empty());
  // Rows look like "| `a` / `b` | no / yes | ...".
  const std::regex row(
      R"re(\n\| (`[a-z_.]+`(?: / `[a-z_.]+`)*) \| ((?:yes|no)(?: / (?:yes|no))*) \|)re");
  const std::regex name(R"re(`([a-z_.]+)`)re");
  const std::regex flag(R"(yes|no)");
  std::map<std::string, bool> documented;
  for (std::sregex_iterator it(docs.begin(), docs.end(), row), end; it != end; ++it) {
    const std::string names = (*it)[1].str();
    const std::string flags = (*it)[2].str();
    std::vector<bool> writes;
    for (std::sregex_iterator f(flags.begin(), flags.end(), flag), e; f != e; ++f) {
      writes.push_back(f->str() == "yes");
    }
    std::size_t i = 0;
    for (std::sregex_iterator n(names.begin(), names.end(), name), e; n != e; ++n, ++i) {
      EXPECT_FALSE(documented.count((*n)[1].str())) << (*n)[1].str() << " is documented twice";
      documented[(*n)[1].str()] = writes.size() == 1 ? writes[0] : writes.at(i);
    }
  }
  for (const protocol::OperationInfo& op : protocol::kOperations) {
    auto it = documented.find(op.name);
    if (it == documented.end()) {
      ADD_FAILURE() << op.name << " is missing from docs/storage.md#the-operations";
      continue;
    }
    EXPECT_EQ(it->second, op.writes)
        << op.name << ": docs/storage.md says writes=" << (it->second ? "yes" : "no");
  }
  EXPECT_EQ(documented.size(), std::size(protocol::kOperations));
}

TEST(StorageProtocolTable, OnlyTheCoreGroupIsRequiredOfEveryStoreAndDescribeIsInIt) {
  const protocol::OperationInfo* describe = protocol::findOperationInfo(protocol::kDescribe);
  ASSERT_NE(describe, nullptr);
  EXPECT_EQ(describe->group, protocol::Group::kCore);
  EXPECT_FALSE(describe->writes);
  EXPECT_STREQ(protocol::groupName(protocol::Group::kKnowledge), "knowledge");
  EXPECT_GE(protocol::kProtocolVersion, 1);
}

}  // namespace
