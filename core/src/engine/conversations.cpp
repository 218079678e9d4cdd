#include "engine/conversations.h"

#include "delivery/events.h"
#include "engine/basics.h"

#include <waflow/sdk/storage.hpp>

#include <atomic>

namespace waflow::core::engine {
namespace {

// contact.phone and contact.user_id from the stored contact. A contact known only by its
// business-scoped user id has no phone (nil in Lua); one stored before storage kept the phone
// keeps its key as the phone, as before.
void readIdentifiers(const Json& stored, const std::string& key, Json& contact) {
  const std::string phone = jsonString(stored, "phone");
  const std::string user_id = jsonString(stored, "user_id");
  if (!phone.empty()) {
    contact["phone"] = phone;
  } else if (!user_id.empty() && user_id == key) {
    contact["phone"] = nullptr;
  }
  contact["user_id"] = user_id.empty() ? Json(nullptr) : Json(user_id);
}

void readContact(const Json& c, ConversationEntry& entry) {
  if (std::string name = c.value("name", ""); !name.empty()) {
    entry.contact_json["name"] = std::move(name);
  }
  entry.contact_json["attributes"] = c.value("attributes", Json::object());
  entry.contact_json["tags"] = c.value("tags", Json::array());
  entry.contact_json["last_inbound_at"] = c.value("last_inbound_at", int64_t{0});
  entry.first_message_id = c.value("first_message_id", "");
  readIdentifiers(c, entry.contact, entry.contact_json);
}

}  // namespace

Json conversationJson(const ConversationEntry* entry) {
  if (entry == nullptr) {
    return {{"in_handoff", false}, {"in_flow", false}};
  }
  const ConversationState& s = entry->state;
  Json c = {{"in_handoff", s.handoff},
            {"in_flow", !s.runs.empty()},
            {"channel", entry->channel},
            {"contact", entry->contact}};
  if (!s.runs.empty()) {
    c["flow"] = s.runs.front().flow;
    c["waiting"] = s.runs.front().waiting;
  }
  if (s.handoff && !s.handoff_team.empty()) {
    c["team"] = s.handoff_team;
  }
  return c;
}

Conversations::Conversations(storage::StorageClient& storage, size_t cache_limit)
    : storage_(storage), cache_limit_(cache_limit) {}

EntryPtr Conversations::newEntry(const std::string& channel, const std::string& contact) const {
  auto entry = std::make_shared<ConversationEntry>();
  entry->key = delivery::conversationKey(channel, contact);
  entry->channel = channel;
  entry->contact = contact;
  entry->contact_json = {{"id", contact},
                         {"phone", contact},
                         {"name", nullptr},  // nil in Lua: `contact.name or 'Kak'` works
                         {"attributes", Json::object()},
                         {"tags", Json::array()}};
  return entry;
}

EntryPtr Conversations::keep(const EntryPtr& entry) {
  std::lock_guard lock(mutex_);
  if (cache_limit_ > 0 && cache_.size() >= cache_limit_) {
    cache_.clear();  // storage is the record; a full cache starts over
  }
  return cache_.emplace(entry->key, entry).first->second;
}

void Conversations::withEntry(const std::string& channel, const std::string& contact,
                              std::function<void(EntryPtr)> use) {
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(delivery::conversationKey(channel, contact));
    if (it != cache_.end()) {
      auto entry = it->second;
      use(std::move(entry));
      return;
    }
  }
  EntryPtr entry = newEntry(channel, contact);
  // Two reads, joined: whichever finishes second hands the entry on.
  struct Join {
    std::atomic<int> left{2};
    std::function<void(EntryPtr)> use;
  };
  auto join = std::make_shared<Join>();
  join->use = std::move(use);
  auto finish = [this, join, entry] {
    if (join->left.fetch_sub(1) == 1) {
      join->use(keep(entry));
    }
  };
  Json who = {{"channel", channel}, {"contact", contact}};
  storage_.call(waflow::storage::kContactGet, who,
                [entry, finish](const plugin::CallOutcome& o, const Json& out) {
                  if (!o.ok()) {
                    flowLogger()->error("contact.get for {} failed: {}", entry->key, o.error);
                  } else if (out.contains("contact") && out["contact"].is_object()) {
                    readContact(out["contact"], *entry);
                  }
                  finish();
                });
  storage_.call(waflow::storage::kConversationGet, who,
                [entry, finish](const plugin::CallOutcome& o, const Json& out) {
                  if (!o.ok()) {
                    flowLogger()->error("conversation.get for {} failed: {}", entry->key, o.error);
                  } else if (out.contains("state") && out["state"].is_object()) {
                    entry->state = ConversationState::fromJson(out["state"]);
                    entry->stored = true;
                  }
                  finish();
                });
}

void Conversations::saveState(const EntryPtr& entry, std::function<void()> then) {
  entry->dirty = false;
  Json state = entry->state.toJson();
  if (state.empty() && !entry->stored) {
    then();
    return;
  }
  Json in = {{"channel", entry->channel},
             {"contact", entry->contact},
             {"state", state},
             {"waits", entry->state.waits()}};
  bool now_stored = !state.empty();
  storage_.call(
      waflow::storage::kConversationPut, in,
      [entry, now_stored, then = std::move(then)](const plugin::CallOutcome& o, const Json&) {
        if (o.ok()) {
          entry->stored = now_stored;
        } else {
          flowLogger()->error(
              "the flow state of {} could not be stored ({}); a run waiting there may "
              "not continue after a restart",
              entry->key, o.error);
        }
        then();
      });
}

void Conversations::updateContact(const EntryPtr& entry, const Json& set,
                                  const std::vector<std::string>& add,
                                  const std::vector<std::string>& remove,
                                  std::function<void(bool, std::string)> done) {
  Json in = {{"channel", entry->channel}, {"contact", entry->contact}};
  if (!set.empty()) {
    in["set"] = set;
  }
  if (!add.empty()) {
    in["tags_add"] = add;
  }
  if (!remove.empty()) {
    in["tags_remove"] = remove;
  }
  storage_.call(waflow::storage::kContactUpdate, in,
                [entry, done = std::move(done)](const plugin::CallOutcome& o, const Json& out) {
                  if (!o.ok()) {
                    done(false, "contact.update failed: " + o.error);
                    return;
                  }
                  if (out.contains("contact") && out["contact"].is_object()) {
                    const Json& c = out["contact"];
                    entry->contact_json["attributes"] = c.value("attributes", Json::object());
                    entry->contact_json["tags"] = c.value("tags", Json::array());
                  }
                  done(true, {});
                });
}

}  // namespace waflow::core::engine
