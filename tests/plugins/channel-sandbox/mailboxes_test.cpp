// The sandbox's mailboxes stay within their limits by dropping the oldest replies first, and
// say how many they dropped.
#include "mailboxes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace waflow::sandbox {
namespace {

using Json = nlohmann::json;

Json reply(const std::string& text) {
  return {{"to", "x"}, {"type", "text"}, {"text", text}};
}

// A reply's stored size: its JSON with "seq" (one digit here).
std::size_t sizeOf(const std::string& text) {
  Json r = reply(text);
  r["seq"] = 1;
  return r.dump().size();
}

std::vector<std::string> texts(const Mailboxes::Read& read) {
  std::vector<std::string> out;
  for (const Json& r : read.replies) {
    out.push_back(r["text"].get<std::string>());
  }
  return out;
}

TEST(Mailboxes, ABoxOverItsByteCapDropsItsOldestRepliesFirst) {
  const std::string text(100, 'a');
  Mailboxes boxes({.replies_per_contact = 1000,
                   .bytes_per_contact = 3 * sizeOf(text) + 5,
                   .total_bytes = 1 << 20,
                   .contacts = 10});
  for (char c : std::string("12345")) {
    boxes.put("628100", reply(std::string(99, 'a') + c));
  }
  Mailboxes::Read read = boxes.read("628100", 0);
  EXPECT_EQ(texts(read),
            (std::vector<std::string>{std::string(99, 'a') + '3', std::string(99, 'a') + '4',
                                      std::string(99, 'a') + '5'}));
  EXPECT_EQ(read.dropped, 2u);
  EXPECT_EQ(read.next, 5u) << "seq keeps counting: a listener sees the gap";
  EXPECT_EQ(boxes.droppedTotal(), 2u);
  EXPECT_LE(boxes.totalBytes(), 3 * sizeOf(text) + 5);
}

TEST(Mailboxes, TheNewestReplyIsKeptEvenWhenItAloneIsOverTheCap) {
  Mailboxes boxes(
      {.replies_per_contact = 10, .bytes_per_contact = 10, .total_bytes = 20, .contacts = 10});
  boxes.put("628100", reply("first"));
  boxes.put("628100", reply("second"));
  EXPECT_EQ(texts(boxes.read("628100", 0)), std::vector<std::string>{"second"});
}

TEST(Mailboxes, OverTheTotalTheMailboxIdleLongestLosesItsOldestRepliesFirst) {
  const std::size_t one = sizeOf("r1");
  Mailboxes boxes({.replies_per_contact = 100,
                   .bytes_per_contact = 1 << 20,
                   .total_bytes = 4 * one,
                   .contacts = 10});
  boxes.put("A", reply("a1"));
  boxes.put("A", reply("a2"));
  boxes.put("B", reply("b1"));
  boxes.put("B", reply("b2"));
  boxes.put("B", reply("b3"));  // one over: A, idle longest, loses a1
  EXPECT_EQ(texts(boxes.read("A", 0)), std::vector<std::string>{"a2"});
  EXPECT_EQ(boxes.read("A", 0).dropped, 1u);
  boxes.put("B", reply("b4"));  // A is still the one idle longest: it loses a2
  EXPECT_TRUE(boxes.read("A", 0).replies.empty());
  boxes.put("B", reply("b5"));  // only B has replies left: its oldest goes, never the newest
  EXPECT_EQ(texts(boxes.read("B", 0)), (std::vector<std::string>{"b2", "b3", "b4", "b5"}));
  EXPECT_LE(boxes.totalBytes(), 4 * one);
  EXPECT_EQ(boxes.droppedTotal(), 3u);
}

TEST(Mailboxes, ReplyCountAndMailboxCountStayBounded) {
  Mailboxes boxes({.replies_per_contact = 2,
                   .bytes_per_contact = 1 << 20,
                   .total_bytes = 1 << 20,
                   .contacts = 3});
  for (int i = 0; i < 5; ++i) {
    boxes.put("A", reply("a" + std::to_string(i)));
  }
  EXPECT_EQ(texts(boxes.read("A", 0)), (std::vector<std::string>{"a3", "a4"}));
  for (const char* contact : {"B", "C", "D"}) {
    boxes.put(contact, reply("hi"));
  }
  // A was used longest ago: its mailbox went whole, with its bytes.
  EXPECT_EQ(boxes.totalBytes(), 3 * sizeOf("hi"));
  EXPECT_TRUE(boxes.read("A", 0).replies.empty());
}

// A rule can cut a character in two (string.sub on bytes): the reply is kept, not thrown
// away with an exception in the middle of a send. Found by poll_request_fuzz.
TEST(Mailboxes, AReplyWithInvalidUtf8IsKept) {
  Mailboxes boxes({10, 4096, 65536, 10});
  boxes.put("c", reply("caf\xc3"));
  Mailboxes::Read read = boxes.read("c", 0);
  ASSERT_EQ(read.replies.size(), 1u);
  EXPECT_EQ(read.replies[0]["text"], "caf\xc3");
}

}  // namespace
}  // namespace waflow::sandbox
