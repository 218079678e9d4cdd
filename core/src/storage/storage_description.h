// The storage check's verdict on a storage plugin's answer to storage.describe
// (<waflow/sdk/storage.hpp>): whether the daemon may use the store, and what is missing. What
// is needed: every operation of the core group; the knowledge group when waflow.yaml configures
// `knowledge:`, the audit group when the admin API is on. The memory, insights and usage groups
// serve AI steps; a store without them is accepted with a warning naming what will not work.
// storage_protocol.h asks the plugin; this part only judges, so it is tested and fuzzed alone.
//
// Thread-safety: a pure function.
#pragma once

#include <waflow/sdk/types.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::storage {

// The optional groups this configuration uses.
struct StorageNeeds {
  bool knowledge = false;  // waflow.yaml has knowledge: entries
  bool audit = false;      // the admin API is on
};

struct StorageVerdict {
  std::string error;                  // empty when the storage may be used
  std::vector<std::string> warnings;  // optional groups it lacks, and what will not work
  bool ok() const { return error.empty(); }
};

// Judges the answer of storage instance `id` to storage.describe: `rc` and `error` as the call
// ended, `answer` the output JSON text when it succeeded. `answer` is the plugin's: any text.
StorageVerdict judgeDescription(const std::string& id, waflow::Rc rc, const std::string& error,
                                std::string_view answer, const StorageNeeds& needs);

}  // namespace waflow::core::storage
