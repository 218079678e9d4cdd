// Prometheus metrics: lock-free counters, gauges and fixed-bucket histograms, grouped into
// families by a Registry that renders the text exposition format 0.0.4 for GET /metrics.
//
// Thread-safety: metric updates are lock-free atomics. Registry is thread-safe; it creates a
// series on first request and returns the same object afterwards, so callers look a series
// up once and keep the reference (references stay valid for the registry's lifetime).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace waflow::core::metrics {

// Label name/value pairs. Order does not matter: {a,b} and {b,a} name the same series.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (queue depth, connections, ...).
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets (upper bounds, inclusive) plus an implicit +Inf
// bucket. observe() is a bucket search plus two relaxed atomic adds.
class Histogram {
 public:
  // `bounds` must be finite and strictly increasing (a trailing +Inf is dropped); otherwise
  // throws std::invalid_argument.
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then the +Inf bucket (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // Cumulative counts; `count` always equals the +Inf bucket, even during concurrent updates.
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0.0};
};

// Latency buckets in seconds, 0.5 ms to 10 s.
std::vector<double> defaultLatencyBuckets();

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The series of family `name` with `labels`, created on first use. The first call for a
  // family fixes its type and help text. Throws std::invalid_argument for an invalid metric
  // or label name (metric: [a-zA-Z_:][a-zA-Z0-9_:]*; label: [a-zA-Z_][a-zA-Z0-9_]*, not
  // starting with "__", no duplicates, "le" not allowed on histograms), when `name` already
  // is a family of another type, or when a histogram's buckets differ from the family's.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> buckets, const Labels& labels = {});

  // `refresh` runs at the start of every render() (serialized with other renders), e.g. to
  // set a gauge from a queue depth. Returns an id for removeCollector().
  uint64_t addCollector(std::function<void(Registry&)> refresh);
  // After this returns the collector is not running and never runs again. Must not be
  // called from inside a collector.
  void removeCollector(uint64_t id);

  // The text exposition format: families sorted by name, each with # HELP and # TYPE once,
  // series sorted by labels. A collector that throws is reported as a comment line.
  std::string render();

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    std::string label_text;  // rendered `a="x",b="y"`, sorted by name; "" without labels
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> bounds;            // histograms only
    std::map<std::string, Series> series;  // keyed by label_text
  };

  Series& series(const std::string& name, const std::string& help, Type type,
                 const std::vector<double>* bounds, const Labels& labels);

  std::mutex render_mu_;  // serializes renders and collector removal
  std::mutex collectors_mu_;
  std::map<uint64_t, std::function<void(Registry&)>> collectors_;
  uint64_t next_collector_id_ = 1;
  std::mutex mu_;  // guards families_
  std::map<std::string, Family> families_;
};

}  // namespace waflow::core::metrics
