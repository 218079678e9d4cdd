#include "storage/storage_description.h"

#include "json/bounded_parse.h"

#include <waflow/sdk/storage.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>
#include <string_view>

namespace waflow::core::storage {
namespace {

namespace protocol = waflow::storage;
using Json = nlohmann::json;

bool needed(protocol::Group group, const StorageNeeds& needs) {
  switch (group) {
    case protocol::Group::kCore:
      return true;
    case protocol::Group::kKnowledge:
      return needs.knowledge;
    case protocol::Group::kAudit:
      return needs.audit;
    default:
      return false;
  }
}

// What a missing optional group stops from working.
const char* withoutGroup(protocol::Group group) {
  switch (group) {
    case protocol::Group::kMemory:
      return "ai steps with memory will fail";
    case protocol::Group::kInsights:
      return "classify steps cannot store insights";
    case protocol::Group::kUsage:
      return "AI token usage will not be recorded";
    default:
      return "";
  }
}

// The operations of the table `answered` lacks, by group (in the enum's order), each list in
// the table's order.
std::map<protocol::Group, std::vector<std::string>> missingByGroup(
    const std::set<std::string, std::less<>>& answered) {
  std::map<protocol::Group, std::vector<std::string>> missing;
  for (const protocol::OperationInfo& op : protocol::kOperations) {
    if (answered.count(std::string_view(op.name)) == 0) {
      missing[op.group].push_back(op.name);
    }
  }
  return missing;
}

StorageVerdict refused(const std::string& id, const std::string& why) {
  return {fmt::format("storage '{}' cannot be used: {}", id, why), {}};
}

}  // namespace

StorageVerdict judgeDescription(const std::string& id, waflow::Rc rc, const std::string& error,
                                std::string_view answer, const StorageNeeds& needs) {
  if (rc == waflow::Rc::kUnsupported) {
    return refused(id, fmt::format("it does not answer {} (it was built before the storage "
                                   "protocol had a version); rebuild it against this waflow's "
                                   "SDK, storage protocol {}",
                                   protocol::kDescribe, protocol::kProtocolVersion));
  }
  if (rc != waflow::Rc::kOk) {
    return refused(id, fmt::format("{} failed: {}", protocol::kDescribe, error));
  }
  Json out = json_input::parseOrDiscarded(answer);
  if (!out.is_object() || !out.contains("protocol") || !out["protocol"].is_number_integer() ||
      !out.contains("operations") || !out["operations"].is_array()) {
    return refused(id, fmt::format("its answer to {} is not {{\"protocol\": n, \"operations\": "
                                   "[...]}}",
                                   protocol::kDescribe));
  }
  const int64_t version = out["protocol"].get<int64_t>();
  if (version < protocol::kProtocolVersion) {
    return refused(id, fmt::format("it speaks storage protocol {}, and this waflow needs {} or "
                                   "newer; update the plugin",
                                   version, protocol::kProtocolVersion));
  }
  std::set<std::string, std::less<>> answered;
  for (const Json& name : out["operations"]) {
    if (name.is_string()) {
      answered.insert(name.get<std::string>());
    }
  }
  StorageVerdict verdict;
  for (const auto& [group, names] : missingByGroup(answered)) {
    const std::string list = fmt::format("{}", fmt::join(names, ", "));
    if (needed(group, needs)) {
      const char* why = group == protocol::Group::kCore ? "every daemon needs them"
                        : group == protocol::Group::kKnowledge
                            ? "waflow.yaml configures knowledge:"
                            : "the admin API is on, and its actions are audited";
      return refused(id, fmt::format("it lacks the {} operation(s) {} ({}); use a storage "
                                     "plugin that answers them",
                                     protocol::groupName(group), list, why));
    }
    if (*withoutGroup(group) != '\0') {
      verdict.warnings.push_back(fmt::format("storage '{}' lacks the {} operation(s) {}: {}", id,
                                             protocol::groupName(group), list,
                                             withoutGroup(group)));
    }
  }
  return verdict;
}

}  // namespace waflow::core::storage
