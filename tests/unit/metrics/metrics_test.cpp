#include "metrics/metrics.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace waflow::core::metrics {
namespace {

TEST(MetricsTest, CounterRendersWithSortedEscapedLabels) {
  Registry registry;
  Counter& counter = registry.counter("waflow_http_requests_total", "Requests \\ handled\nby route",
                                      {{"route", "/a\"b\\c\nd"}, {"code", "200"}});
  counter.inc();
  counter.inc(2);
  EXPECT_EQ(counter.value(), 3u);
  EXPECT_EQ(registry.render(),
            "# HELP waflow_http_requests_total Requests \\\\ handled\\nby route\n"
            "# TYPE waflow_http_requests_total counter\n"
            "waflow_http_requests_total{code=\"200\",route=\"/a\\\"b\\\\c\\nd\"} 3\n");
}

TEST(MetricsTest, SameLabelsInAnyOrderNameTheSameSeries) {
  Registry registry;
  Counter& a = registry.counter("c_total", "h", {{"x", "1"}, {"y", "2"}});
  Counter& b = registry.counter("c_total", "h", {{"y", "2"}, {"x", "1"}});
  Counter& other = registry.counter("c_total", "h", {{"x", "1"}, {"y", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
}

TEST(MetricsTest, GaugeRendersSetAndAddedValues) {
  Registry registry;
  Gauge& depth = registry.gauge("queue_depth", "Depth.");
  depth.set(2);
  depth.add(0.5);
  Gauge& temp = registry.gauge("temp", "Temperature.", {{"room", "a"}});
  temp.set(-1.25);
  Gauge& inf = registry.gauge("temp", "Temperature.", {{"room", "b"}});
  inf.set(std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(depth.value(), 2.5);
  EXPECT_EQ(registry.render(),
            "# HELP queue_depth Depth.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 2.5\n"
            "# HELP temp Temperature.\n"
            "# TYPE temp gauge\n"
            "temp{room=\"a\"} -1.25\n"
            "temp{room=\"b\"} +Inf\n");
}

TEST(MetricsTest, HistogramRendersCumulativeBucketsSumAndCount) {
  Registry registry;
  Histogram& h =
      registry.histogram("latency_seconds", "Latency.", {0.25, 0.5, 1}, {{"route", "/x"}});
  h.observe(0.125);
  h.observe(0.25);  // bounds are inclusive
  h.observe(0.5);
  h.observe(2);
  EXPECT_EQ(registry.render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"/x\",le=\"0.25\"} 2\n"
            "latency_seconds_bucket{route=\"/x\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{route=\"/x\"} 2.875\n"
            "latency_seconds_count{route=\"/x\"} 4\n");
}

TEST(MetricsTest, HistogramWithoutLabelsAndTrailingInfBound) {
  Registry registry;
  Histogram& h = registry.histogram("h", "H.", {0.0005, std::numeric_limits<double>::infinity()});
  h.observe(0.0001);
  h.observe(std::nan(""));  // counted in +Inf, never in a finite bucket
  const std::string text = registry.render();
  EXPECT_NE(text.find("h_bucket{le=\"0.0005\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_bucket{le=\"+Inf\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_count 2\n"), std::string::npos) << text;
}

TEST(MetricsTest, HelpAndTypeAppearOncePerFamily) {
  Registry registry;
  registry.counter("b_total", "B.", {{"k", "1"}}).inc();
  registry.counter("b_total", "B.", {{"k", "2"}}).inc(5);
  registry.counter("a_total", "A.");
  EXPECT_EQ(registry.render(),
            "# HELP a_total A.\n"
            "# TYPE a_total counter\n"
            "a_total 0\n"
            "# HELP b_total B.\n"
            "# TYPE b_total counter\n"
            "b_total{k=\"1\"} 1\n"
            "b_total{k=\"2\"} 5\n");
}

TEST(MetricsTest, RejectsInvalidNamesAndConflicts) {
  Registry registry;
  EXPECT_THROW(registry.counter("1abc", "h"), std::invalid_argument);
  EXPECT_THROW(registry.counter("a-b", "h"), std::invalid_argument);
  EXPECT_THROW(registry.counter("", "h"), std::invalid_argument);
  EXPECT_NO_THROW(registry.counter("ns:sub_total", "h"));
  EXPECT_THROW(registry.counter("x_total", "h", {{"bad-label", "v"}}), std::invalid_argument);
  EXPECT_THROW(registry.counter("x_total", "h", {{"__reserved", "v"}}), std::invalid_argument);
  EXPECT_THROW(registry.counter("x_total", "h", {{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  EXPECT_THROW(registry.counter("x_total", "h", {{"a:b", "1"}}), std::invalid_argument);

  registry.counter("shared", "h");
  EXPECT_THROW(registry.gauge("shared", "h"), std::invalid_argument);
  EXPECT_THROW(registry.histogram("shared", "h", {1}), std::invalid_argument);

  registry.histogram("hist", "h", {1, 2});
  EXPECT_THROW(registry.histogram("hist", "h", {1, 3}), std::invalid_argument);
  EXPECT_NO_THROW(registry.histogram("hist", "h", {1, 2}, {{"k", "v"}}));
  EXPECT_THROW(registry.histogram("hist", "h", {1, 2}, {{"le", "v"}}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("bad", "h", {2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("bad", "h", {1, 1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("bad", "h", {std::nan("")}), std::invalid_argument);
}

TEST(MetricsTest, CollectorsRunBeforeRenderUntilRemoved) {
  Registry registry;
  int runs = 0;
  const uint64_t id = registry.addCollector([&runs](Registry& r) {
    ++runs;
    r.gauge("depth", "Depth.").set(runs * 10);
  });
  EXPECT_NE(registry.render().find("depth 10\n"), std::string::npos);
  EXPECT_NE(registry.render().find("depth 20\n"), std::string::npos);
  registry.removeCollector(id);
  EXPECT_NE(registry.render().find("depth 20\n"), std::string::npos);
  EXPECT_EQ(runs, 2);
}

TEST(MetricsTest, ThrowingCollectorBecomesACommentLine) {
  Registry registry;
  registry.addCollector([](Registry&) { throw std::runtime_error("db\ngone"); });
  registry.counter("ok_total", "h").inc();
  const std::string text = registry.render();
  EXPECT_EQ(text.rfind("# collector failed: db\\ngone\n", 0), 0u) << text;
  EXPECT_NE(text.find("ok_total 1\n"), std::string::npos);
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  Registry registry;
  Counter& counter = registry.counter("n_total", "h");
  Histogram& hist = registry.histogram("d", "h", defaultLatencyBuckets());
  Gauge& gauge = registry.gauge("g", "h");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.inc();
        hist.observe(0.001);
        gauge.add(1);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(counter.value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(hist.snapshot().count, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(hist.snapshot().cumulative[1], uint64_t{kThreads} * kPerThread);  // le=0.001
  EXPECT_EQ(hist.snapshot().cumulative[0], 0u);
  EXPECT_DOUBLE_EQ(gauge.value(), double{kThreads} * kPerThread);
}

TEST(MetricsTest, DefaultLatencyBucketsSpanHalfAMillisecondToTenSeconds) {
  const std::vector<double> buckets = defaultLatencyBuckets();
  ASSERT_FALSE(buckets.empty());
  EXPECT_DOUBLE_EQ(buckets.front(), 0.0005);
  EXPECT_DOUBLE_EQ(buckets.back(), 10);
  EXPECT_NO_THROW(Histogram{buckets});
}

}  // namespace
}  // namespace waflow::core::metrics
