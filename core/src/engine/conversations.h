// Conversations — what the engine knows of each conversation: the contact as flows see it
// (id, phone, name, attributes, tags) and the flow state (runs, waits, handoff). An entry is
// read from storage on first use (contact.get and conversation.get, side by side) and then
// kept in memory, since this daemon is the only writer; writes go to storage first and change
// the entry once stored.
//
// Thread-safety: all methods may be called from any thread. An entry itself is used by one
// handler at a time: the bus orders a conversation's events.
#pragma once

#include "engine/flow_state.h"
#include "storage/storage_client.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace waflow::core::engine {

struct ConversationEntry {
  std::string key;  // "<channel>:<contact>"
  std::string channel;
  std::string contact;
  nlohmann::json contact_json = nlohmann::json::object();  // {id, phone, name, attributes, tags}
  std::string first_message_id;
  ConversationState state;
  bool stored = false;  // storage holds a state row for it
  // Whether follow-ups cancelled by a reply may exist (unknown after a load: true).
  bool cancellable_jobs = true;
  bool scheduled_cancellable = false;  // this daemon planned one since
  bool dirty = false;                  // state changed since it was stored
};
using EntryPtr = std::shared_ptr<ConversationEntry>;

// The conversation as rules see it (docs/lua.md): in_handoff, in_flow, channel, contact, and
// the first run's flow and what it waits for.
nlohmann::json conversationJson(const ConversationEntry* entry);

class Conversations {
 public:
  // `cache_limit`: entries kept in memory (flows.cache_contacts); a full cache starts over.
  Conversations(storage::StorageClient& storage, size_t cache_limit);
  Conversations(const Conversations&) = delete;
  Conversations& operator=(const Conversations&) = delete;

  // Calls `use` with the conversation's entry, read from storage first when it is not cached.
  // A failed read is logged and the entry starts empty.
  void withEntry(const std::string& channel, const std::string& contact,
                 std::function<void(EntryPtr)> use);
  // Stores the entry's flow state (conversation.put), then calls `then`. A failure is logged:
  // a run waiting there may not continue after a restart.
  void saveState(const EntryPtr& entry, std::function<void()> then);
  // Sets attributes and adds or removes tags (contact.update); the entry sees the stored result.
  void updateContact(const EntryPtr& entry, const nlohmann::json& set,
                     const std::vector<std::string>& add, const std::vector<std::string>& remove,
                     std::function<void(bool ok, std::string error)> done);

 private:
  EntryPtr newEntry(const std::string& channel, const std::string& contact) const;
  EntryPtr keep(const EntryPtr& entry);

  storage::StorageClient& storage_;
  const size_t cache_limit_;
  std::mutex mutex_;
  std::unordered_map<std::string, EntryPtr> cache_;
};

}  // namespace waflow::core::engine
