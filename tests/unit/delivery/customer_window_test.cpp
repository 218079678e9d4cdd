// CustomerWindow: the 24-hour customer-service window per contact.
#include "delivery/customer_window.h"

#include <gtest/gtest.h>

namespace waflow::core::delivery {
namespace {

constexpr int64_t kHour = 3600 * 1000;

TEST(CustomerWindowTest, OpenForTwentyFourHoursAfterTheContactsLastMessage) {
  const int64_t now = 1'800'000'000'000;
  EXPECT_TRUE(CustomerWindow::isOpen(now - 23 * kHour, now));
  EXPECT_FALSE(CustomerWindow::isOpen(now - 24 * kHour, now));
  EXPECT_FALSE(CustomerWindow::isOpen(0, now));  // never wrote
}

TEST(CustomerWindowTest, RemembersTheLatestMessagePerChannelAndContact) {
  CustomerWindow window;
  EXPECT_FALSE(window.lastInbound("wa", "6281").has_value());
  window.note("wa", "6281", 5000);
  window.note("wa", "6281", 3000);  // an older message arriving late does not shorten it
  EXPECT_EQ(window.lastInbound("wa", "6281"), 5000);
  EXPECT_FALSE(window.lastInbound("other", "6281").has_value());
  window.note("wa", "6281", 0);  // "looked up, never wrote" never replaces a real time
  EXPECT_EQ(window.lastInbound("wa", "6281"), 5000);
}

TEST(CustomerWindowTest, TheProvidersWordClosesTheWindow) {
  CustomerWindow window;
  window.note("wa", "6281", 5000);
  window.close("wa", "6281");
  EXPECT_EQ(window.lastInbound("wa", "6281"), 0);
  window.note("wa", "6281", 9000);  // the contact writes again: open again
  EXPECT_EQ(window.lastInbound("wa", "6281"), 9000);
}

}  // namespace
}  // namespace waflow::core::delivery
