// What an AI step remembers of the conversation: its history from storage within a token
// budget, and older messages recalled by their likeness to the question (BM25 over the stored
// history). A failed read is logged and the AI answers without it.
//
// Thread-safety: safe from any thread; `done` runs on a storage completion thread.
#pragma once

#include "engine/exec.h"
#include "storage/storage_client.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <set>
#include <string>

namespace waflow::core::engine::steps {

// The conversation's last `limit` messages as chat turns, oldest first, within about
// `budget_tokens` (0 = no budget), leaving out the messages in `exclude`. `all` is every
// message read.
void loadHistory(storage::StorageClient& storage, const Exec& x, int limit, int64_t budget_tokens,
                 std::set<std::string> exclude,
                 std::function<void(nlohmann::json messages, nlohmann::json all)> done);
// Up to `count` earlier messages of the contact related to `question`, as a dated list.
void recallHistory(storage::StorageClient& storage, const Exec& x, int count,
                   const std::string& question, std::set<std::string> exclude,
                   std::function<void(std::string block)> done);

}  // namespace waflow::core::engine::steps
