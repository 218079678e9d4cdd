// The storage check at start: the daemon asks its storage plugin what it answers
// (storage.describe, <waflow/sdk/storage.hpp>) and refuses one that speaks an older protocol
// or lacks an operation it needs (storage_description.h says which), before any message is
// accepted, with a message naming the plugin, what is missing and what to do. Without it a
// missing operation would surface only when the first customer message needed it, as an error
// in the middle of the traffic.
//
// Thread-safety: checkStorage() blocks its caller (the daemon's start) until the answer comes
// or the timeout passes.
#pragma once

#include "storage/storage_client.h"
#include "storage/storage_description.h"

#include <chrono>

namespace waflow::core::storage {

// Asks `storage` to describe itself and judges the answer; a storage that does not answer
// within `timeout` is refused.
StorageVerdict checkStorage(StorageClient& storage, const StorageNeeds& needs,
                            std::chrono::milliseconds timeout);

}  // namespace waflow::core::storage
