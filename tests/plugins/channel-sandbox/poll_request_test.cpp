// A listener's long poll is read strictly: numbers are digits only, and a huge `wait` is
// clamped to poll_timeout instead of overflowing (it used to be multiplied by 1000 as a signed
// 64-bit number: undefined behaviour, and a negative or endless wait in practice).
#include "poll_request.h"

#include <gtest/gtest.h>

#include <string>

namespace waflow::sandbox {
namespace {

using namespace std::chrono_literals;

waflow::WebhookRequest get(std::string query) {
  waflow::WebhookRequest request;
  request.method = "GET";
  request.query = std::move(query);
  return request;
}

PollRequest pollOf(const std::string& query, std::chrono::milliseconds timeout = 25s) {
  auto parsed = parsePollRequest(get(query), timeout);
  EXPECT_TRUE(std::holds_alternative<PollRequest>(parsed)) << query;
  return std::get<PollRequest>(parsed);
}

TEST(PollRequestTest, ReadsEveryParameter) {
  PollRequest poll = pollOf("replies_for=6281234&after=7&wait=3&typing=2");
  EXPECT_EQ(poll.contact, "6281234");
  EXPECT_EQ(poll.after, 7u);
  EXPECT_EQ(poll.wait, 3s);
  ASSERT_TRUE(poll.typing_seen.has_value());
  EXPECT_EQ(*poll.typing_seen, 2u);
}

TEST(PollRequestTest, DefaultsWhenParametersAreAbsent) {
  PollRequest poll = pollOf("replies_for=62812", 25s);
  EXPECT_EQ(poll.after, 0u);
  EXPECT_EQ(poll.wait, 25s);
  EXPECT_FALSE(poll.typing_seen.has_value());
}

TEST(PollRequestTest, AZeroWaitAnswersAtOnce) {
  EXPECT_EQ(pollOf("replies_for=1&wait=0").wait, 0ms);
}

TEST(PollRequestTest, AHugeWaitIsClampedWithoutOverflow) {
  // 9223372036854775807 * 1000 overflowed a signed 64-bit number before.
  EXPECT_EQ(pollOf("replies_for=1&wait=9223372036854775807", 25s).wait, 25s);
  EXPECT_EQ(pollOf("replies_for=1&wait=18446744073709551615", 25s).wait, 25s);
  EXPECT_EQ(pollOf("replies_for=1&wait=99999999999999999999999", 25s).wait, 25s);
  EXPECT_EQ(pollOf("replies_for=1&wait=26", 25s).wait, 25s);
}

TEST(PollRequestTest, NegativeOrUnreadableNumbersTakeTheirDefaults) {
  EXPECT_EQ(pollOf("replies_for=1&wait=-5", 10s).wait, 10s);
  EXPECT_EQ(pollOf("replies_for=1&wait=3s", 10s).wait, 10s);
  EXPECT_EQ(pollOf("replies_for=1&after=-1").after, 0u);
  EXPECT_EQ(pollOf("replies_for=1&after=12abc").after, 0u);
  EXPECT_EQ(*pollOf("replies_for=1&typing=x").typing_seen, 0u);
}

TEST(PollRequestTest, AnEmptyOrOverlongContactIsRefused) {
  for (const std::string& query :
       {std::string("replies_for="), "replies_for=" + std::string(65, '6')}) {
    auto parsed = parsePollRequest(get(query), 25s);
    ASSERT_TRUE(std::holds_alternative<std::string>(parsed)) << query;
    EXPECT_NE(std::get<std::string>(parsed).find("replies_for"), std::string::npos);
  }
}

TEST(PollRequestTest, TheContactIsPercentDecoded) {
  EXPECT_EQ(pollOf("replies_for=%2B62%20812").contact, "+62 812");
}

}  // namespace
}  // namespace waflow::sandbox
