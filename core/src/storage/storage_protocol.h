// The storage check at start: the daemon asks its storage plugin what it answers
// (storage.describe, <waflow/sdk/storage.hpp>) and refuses one that speaks an older protocol
// or lacks an operation it needs, before any message is accepted, with a message naming the
// plugin, what is missing and what to do. Without it a missing operation would surface only
// when the first customer message needed it, as an error in the middle of the traffic.
//
// What is needed: every operation of the core group; the knowledge group when waflow.yaml
// configures `knowledge:`, the audit group when the admin API is on. The memory, insights and
// usage groups serve AI steps; a store without them is accepted with a warning naming what
// will not work.
//
// Thread-safety: judgeDescription() is a pure function; checkStorage() blocks its caller (the
// daemon's start) until the answer comes or the timeout passes.
#pragma once

#include "plugin/plugin_instance.h"

#include <chrono>
#include <string>
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

// Judges the answer of instance `id` to storage.describe.
StorageVerdict judgeDescription(const std::string& id, const plugin::CallOutcome& answer,
                                const StorageNeeds& needs);

// Asks `storage` to describe itself and judges the answer; a storage that does not answer
// within `timeout` is refused.
StorageVerdict checkStorage(plugin::PluginInstance& storage, const StorageNeeds& needs,
                            std::chrono::milliseconds timeout);

}  // namespace waflow::core::storage
