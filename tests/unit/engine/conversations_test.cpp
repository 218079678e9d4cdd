// Conversations against a fake storage: an entry is read once (contact and state side by
// side) and then served from memory; what the stored contact says reaches the rules' view;
// a failed read starts empty; state is written only when there is something to keep; contact
// changes send only what changes and show what storage stored.
#include "engine/conversations.h"

#include "fake_storage.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

namespace waflow::core::engine {
namespace {

using nlohmann::json;
using testing::FakeStorage;
using namespace std::chrono_literals;

class ConversationsTest : public ::testing::Test {
 protected:
  EntryPtr entry(const std::string& contact) {
    std::promise<EntryPtr> got;
    conversations_.withEntry("wa", contact, [&](EntryPtr e) { got.set_value(std::move(e)); });
    auto future = got.get_future();
    EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
    return future.get();
  }

  FakeStorage storage_;
  Conversations conversations_{storage_, 3};
};

TEST_F(ConversationsTest, AnEntryIsReadOnceThenServedFromMemory) {
  storage_.answer(waflow::storage::kContactGet, {{"contact",
                                                  {{"name", "Rina"},
                                                   {"phone", "628111"},
                                                   {"attributes", {{"city", "Bandung"}}},
                                                   {"tags", {"vip"}},
                                                   {"first_message_id", "wamid.1"}}}});
  storage_.answer(waflow::storage::kConversationGet,
                  {{"state", {{"handoff", {{"team", "sales"}, {"at", 1700000000000}}}}}});
  EntryPtr first = entry("628111");
  EXPECT_EQ(first->key, "wa:628111");
  EXPECT_EQ(first->contact_json["name"], "Rina");
  EXPECT_EQ(first->contact_json["attributes"]["city"], "Bandung");
  EXPECT_EQ(first->contact_json["tags"], json::array({"vip"}));
  EXPECT_EQ(first->contact_json["phone"], "628111");
  EXPECT_TRUE(first->contact_json["user_id"].is_null());
  EXPECT_EQ(first->first_message_id, "wamid.1");
  EXPECT_TRUE(first->state.handoff);
  EXPECT_TRUE(first->stored);
  json seen = conversationJson(first.get());
  EXPECT_EQ(seen["in_handoff"], true);
  EXPECT_EQ(seen["team"], "sales");

  EntryPtr again = entry("628111");
  EXPECT_EQ(again.get(), first.get());
  EXPECT_EQ(storage_.calls(waflow::storage::kContactGet).size(), 1u);
  EXPECT_EQ(storage_.calls(waflow::storage::kConversationGet).size(), 1u);
  EXPECT_TRUE(storage_.shapeErrors().empty());
}

TEST_F(ConversationsTest, AContactKnownOnlyByItsUserIdHasNoPhone) {
  storage_.answer(waflow::storage::kContactGet,
                  {{"contact", {{"user_id", "ID.abc"}, {"attributes", json::object()}}}});
  storage_.answer(waflow::storage::kConversationGet, json::object());
  EntryPtr e = entry("ID.abc");
  EXPECT_TRUE(e->contact_json["phone"].is_null());
  EXPECT_EQ(e->contact_json["user_id"], "ID.abc");
  EXPECT_FALSE(e->stored);
}

TEST_F(ConversationsTest, AFailedReadStartsEmptyAndStillHandsTheEntryOn) {
  storage_.fail(waflow::storage::kContactGet, waflow::Rc::kBusy, "disk gone");
  storage_.fail(waflow::storage::kConversationGet, waflow::Rc::kBusy, "disk gone");
  EntryPtr e = entry("628222");
  EXPECT_TRUE(e->contact_json["name"].is_null());
  EXPECT_EQ(e->contact_json["tags"], json::array());
  EXPECT_TRUE(e->state.runs.empty());
  EXPECT_FALSE(e->stored);
}

TEST_F(ConversationsTest, AFullCacheStartsOverAndReadsAgain) {
  storage_.answer(waflow::storage::kContactGet, json::object());
  storage_.answer(waflow::storage::kConversationGet, json::object());
  for (const char* contact : {"1", "2", "3", "4"}) {
    entry(contact);
  }
  entry("1");  // dropped when the fourth arrived
  EXPECT_EQ(storage_.calls(waflow::storage::kContactGet).size(), 5u);
}

TEST_F(ConversationsTest, StateIsStoredOnlyWhenThereIsSomethingToKeep) {
  storage_.answer(waflow::storage::kContactGet, json::object());
  storage_.answer(waflow::storage::kConversationGet, json::object());
  storage_.answer(waflow::storage::kConversationPut, json::object());
  EntryPtr e = entry("628333");
  std::promise<void> saved;
  conversations_.saveState(e, [&] { saved.set_value(); });
  ASSERT_EQ(saved.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(storage_.calls(waflow::storage::kConversationPut).empty());

  e->state.handoff = true;
  e->dirty = true;
  std::promise<void> saved_again;
  conversations_.saveState(e, [&] { saved_again.set_value(); });
  ASSERT_EQ(saved_again.get_future().wait_for(5s), std::future_status::ready);
  auto puts = storage_.calls(waflow::storage::kConversationPut);
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0]["channel"], "wa");
  EXPECT_EQ(puts[0]["contact"], "628333");
  EXPECT_TRUE(puts[0]["state"].contains("handoff"));
  EXPECT_TRUE(e->stored);
  EXPECT_FALSE(e->dirty);
  EXPECT_TRUE(storage_.shapeErrors().empty());
}

TEST_F(ConversationsTest, AFailedStateWriteStillFinishesTheTurn) {
  storage_.answer(waflow::storage::kContactGet, json::object());
  storage_.answer(waflow::storage::kConversationGet, json::object());
  storage_.fail(waflow::storage::kConversationPut, waflow::Rc::kBusy, "disk full");
  EntryPtr e = entry("628444");
  e->state.handoff = true;
  std::promise<void> saved;
  conversations_.saveState(e, [&] { saved.set_value(); });
  ASSERT_EQ(saved.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(e->stored);
}

TEST_F(ConversationsTest, AContactUpdateSendsOnlyWhatChangesAndShowsWhatWasStored) {
  storage_.answer(waflow::storage::kContactGet, json::object());
  storage_.answer(waflow::storage::kConversationGet, json::object());
  storage_.answer(waflow::storage::kContactUpdate,
                  {{"contact", {{"attributes", {{"city", "Medan"}}}, {"tags", {"vip", "new"}}}}});
  EntryPtr e = entry("628555");
  std::promise<std::pair<bool, std::string>> done;
  conversations_.updateContact(e, json::object(), {"new"}, {}, [&](bool ok, std::string error) {
    done.set_value({ok, error});
  });
  auto [ok, error] = done.get_future().get();
  EXPECT_TRUE(ok) << error;
  auto updates = storage_.calls(waflow::storage::kContactUpdate);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_FALSE(updates[0].contains("set"));
  EXPECT_FALSE(updates[0].contains("tags_remove"));
  EXPECT_EQ(updates[0]["tags_add"], json::array({"new"}));
  EXPECT_EQ(e->contact_json["attributes"]["city"], "Medan");
  EXPECT_EQ(e->contact_json["tags"], json::array({"vip", "new"}));

  storage_.fail(waflow::storage::kContactUpdate, waflow::Rc::kInvalid, "bad tag");
  std::promise<std::pair<bool, std::string>> failed;
  conversations_.updateContact(e, {{"a", 1}}, {}, {}, [&](bool stored, std::string why) {
    failed.set_value({stored, why});
  });
  auto [ok2, error2] = failed.get_future().get();
  EXPECT_FALSE(ok2);
  EXPECT_EQ(error2, "contact.update failed: bad tag");
  EXPECT_EQ(e->contact_json["tags"], json::array({"vip", "new"}));
}

}  // namespace
}  // namespace waflow::core::engine
