// libFuzzer target: the daemon's verdict on a storage plugin's answer to storage.describe
// (storage/storage_description.h). The first byte picks the outcome of the call (ok,
// unsupported, retry) and the configuration's needs; the rest is the answer's text, which a
// plugin may fill with anything. Promises: no crash, no exception, and a verdict that refuses
// unless every core operation is named.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <waflow/sdk/storage.hpp>

#include "json/bounded_parse.h"
#include "storage/storage_description.h"

#include <nlohmann/json.hpp>
#include <set>

namespace {

namespace storage = waflow::core::storage;

void fail(const char* promise) {
  std::fprintf(stderr, "storage check broke a promise: %s\n", promise);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const uint8_t pick = data[0];
  const waflow::Rc rc = (pick & 3) == 1   ? waflow::Rc::kUnsupported
                        : (pick & 3) == 2 ? waflow::Rc::kRetry
                                          : waflow::Rc::kOk;
  storage::StorageNeeds needs;
  needs.knowledge = (pick & 4) != 0;
  needs.audit = (pick & 8) != 0;
  const std::string_view answer(reinterpret_cast<const char*>(data + 1), size - 1);
  storage::StorageVerdict verdict;
  try {
    verdict = storage::judgeDescription("fuzz", rc, "the call failed", answer, needs);
  } catch (...) {
    fail("judgeDescription threw");
  }
  if (verdict.ok()) {
    if (rc != waflow::Rc::kOk) {
      fail("accepted a store whose describe call failed");
    }
    // What the answer names, read with the same bounded parser the check uses.
    const nlohmann::json out = waflow::core::json_input::parseOrDiscarded(answer);
    std::set<std::string> named;
    if (out.is_object() && out.contains("operations") && out["operations"].is_array()) {
      for (const nlohmann::json& name : out["operations"]) {
        if (name.is_string()) {
          named.insert(name.get<std::string>());
        }
      }
    }
    for (const waflow::storage::OperationInfo& op : waflow::storage::kOperations) {
      if (op.group == waflow::storage::Group::kCore && !named.count(op.name)) {
        fail("accepted a store that does not name a core operation");
      }
    }
  } else if (verdict.error.rfind("storage 'fuzz' cannot be used: ", 0) != 0) {
    fail("a refusal that does not name the storage");
  }
  return 0;
}
