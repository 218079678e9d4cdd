// PluginCounters: what host->count() accepts, so a plugin cannot flood /metrics.
#include "plugin/plugin_counters.h"

#include <gtest/gtest.h>

namespace waflow::core::plugin {
namespace {

TEST(PluginCounters, AddsUpValidNames) {
  PluginCounters counters;
  EXPECT_TRUE(counters.add("foreign_number_refused", 2));
  EXPECT_TRUE(counters.add("foreign_number_refused", 3));
  EXPECT_TRUE(counters.add("media_downloaded", 1));
  auto snapshot = counters.snapshot();
  EXPECT_EQ(snapshot.at("foreign_number_refused"), 5u);
  EXPECT_EQ(snapshot.at("media_downloaded"), 1u);
}

TEST(PluginCounters, RefusesBadNamesAndTooManyNames) {
  PluginCounters counters;
  for (const char* bad : {"", "Upper", "with space", "quote\"", "label}", "dash-ed"}) {
    EXPECT_FALSE(counters.add(bad, 1)) << bad;
  }
  EXPECT_FALSE(counters.add(std::string(65, 'a'), 1));
  for (std::size_t i = 0; i < PluginCounters::kMaxNames; ++i) {
    EXPECT_TRUE(counters.add("event_" + std::to_string(i), 1));
  }
  EXPECT_FALSE(counters.add("one_too_many", 1));
  EXPECT_TRUE(counters.add("event_0", 1));  // existing names keep counting
  EXPECT_EQ(counters.snapshot().size(), PluginCounters::kMaxNames);
}

}  // namespace
}  // namespace waflow::core::plugin
