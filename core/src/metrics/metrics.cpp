#include "metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace waflow::core::metrics {
namespace {

bool isValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) {
      return false;
    }
  }
  return true;
}

std::vector<double> normalizeBounds(std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      throw std::invalid_argument(
          "histogram bucket bounds must be finite numbers (+Inf is "
          "implicit); got " +
          fmt::format("{}", bounds[i]));
    }
    if (i > 0 && bounds[i] <= bounds[i - 1]) {
      throw std::invalid_argument(
          fmt::format("histogram bucket bounds must be strictly increasing; {} follows {}",
                      bounds[i], bounds[i - 1]));
    }
  }
  return bounds;
}

// Prometheus number syntax: shortest round-trip decimal, +Inf/-Inf/NaN spelled out.
void appendNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", value);
  }
}

void appendEscaped(std::string& out, std::string_view text, bool escape_quotes) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `a="x",b="y"` sorted by label name, after validating the names.
std::string labelText(const std::string& metric, Labels labels, bool histogram) {
  std::sort(labels.begin(), labels.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string text;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& name = labels[i].first;
    if (!isValidName(name, false) || name.starts_with("__")) {
      throw std::invalid_argument("metric '" + metric + "': invalid label name '" + name +
                                  "' (use [a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
    }
    if (i > 0 && labels[i - 1].first == name) {
      throw std::invalid_argument("metric '" + metric + "': label '" + name + "' given twice");
    }
    if (histogram && name == "le") {
      throw std::invalid_argument("histogram '" + metric +
                                  "': label 'le' is reserved for bucket bounds");
    }
    if (i > 0) {
      text += ',';
    }
    text += name;
    text += "=\"";
    appendEscaped(text, labels[i].second, true);
    text += '"';
  }
  return text;
}

void appendSample(std::string& out, const std::string& name, std::string_view suffix,
                  const std::string& labels, std::string_view extra_label, double value) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra_label.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra_label.empty()) {
      out += ',';
    }
    out += extra_label;
    out += '}';
  }
  out += ' ';
  appendNumber(out, value);
  out += '\n';
}

void appendSample(std::string& out, const std::string& name, std::string_view suffix,
                  const std::string& labels, std::string_view extra_label, uint64_t value) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra_label.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra_label.empty()) {
      out += ',';
    }
    out += extra_label;
    out += '}';
  }
  fmt::format_to(std::back_inserter(out), " {}\n", value);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(normalizeBounds(std::move(bounds))),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) {
  // lower_bound: the first bound >= value, since bounds are inclusive ("le"). NaN compares
  // false with everything and would land in the first bucket, so it goes to +Inf instead.
  std::size_t index = bounds_.size();
  if (!std::isnan(value)) {
    index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                     bounds_.begin());
  }
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.bounds = bounds_;
  snap.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snap.cumulative[i] = running;
  }
  snap.count = running;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

std::vector<double> defaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Series& Registry::series(const std::string& name, const std::string& help, Type type,
                                   const std::vector<double>* bounds, const Labels& labels) {
  if (!isValidName(name, true)) {
    throw std::invalid_argument(
        "invalid metric name '" + name +
        "' (use [a-zA-Z_:][a-zA-Z0-9_:]*, e.g. waflow_http_requests_total)");
  }
  std::string label_text = labelText(name, labels, type == Type::kHistogram);

  std::lock_guard lock(mu_);
  auto [family_it, created] = families_.try_emplace(name);
  Family& family = family_it->second;
  if (created) {
    family.type = type;
    family.help = help;
    if (bounds != nullptr) {
      family.bounds = *bounds;
    }
  } else if (family.type != type) {
    static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
    throw std::invalid_argument("metric '" + name + "' is already registered as a " +
                                kTypeNames[static_cast<int>(family.type)] + ", not a " +
                                kTypeNames[static_cast<int>(type)]);
  } else if (bounds != nullptr && family.bounds != *bounds) {
    throw std::invalid_argument("histogram '" + name +
                                "' is already registered with different buckets");
  }

  auto [series_it, new_series] = family.series.try_emplace(label_text);
  Series& s = series_it->second;
  if (new_series) {
    s.label_text = std::move(label_text);
    switch (type) {
      case Type::kCounter:
        s.counter = std::make_unique<Counter>();
        break;
      case Type::kGauge:
        s.gauge = std::make_unique<Gauge>();
        break;
      case Type::kHistogram:
        s.histogram = std::make_unique<Histogram>(family.bounds);
        break;
    }
  }
  return s;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  return *series(name, help, Type::kCounter, nullptr, labels).counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  return *series(name, help, Type::kGauge, nullptr, labels).gauge;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               std::vector<double> buckets, const Labels& labels) {
  const std::vector<double> bounds = normalizeBounds(std::move(buckets));
  return *series(name, help, Type::kHistogram, &bounds, labels).histogram;
}

uint64_t Registry::addCollector(std::function<void(Registry&)> refresh) {
  std::lock_guard lock(collectors_mu_);
  const uint64_t id = next_collector_id_++;
  collectors_.emplace(id, std::move(refresh));
  return id;
}

void Registry::removeCollector(uint64_t id) {
  std::lock_guard render_lock(render_mu_);
  std::lock_guard lock(collectors_mu_);
  collectors_.erase(id);
}

std::string Registry::render() {
  std::lock_guard render_lock(render_mu_);
  std::string out;

  std::vector<std::function<void(Registry&)>> collectors;
  {
    std::lock_guard lock(collectors_mu_);
    for (const auto& [id, collector] : collectors_) {
      collectors.push_back(collector);
    }
  }
  for (const auto& collector : collectors) {
    try {
      collector(*this);
    } catch (const std::exception& e) {
      out += "# collector failed: ";
      appendEscaped(out, e.what(), false);
      out += '\n';
    } catch (...) {
      out += "# collector failed: unknown exception\n";
    }
  }

  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    appendEscaped(out, family.help, false);
    out += "\n# TYPE ";
    out += name;
    switch (family.type) {
      case Type::kCounter:
        out += " counter\n";
        for (const auto& [key, s] : family.series) {
          appendSample(out, name, "", s.label_text, "", s.counter->value());
        }
        break;
      case Type::kGauge:
        out += " gauge\n";
        for (const auto& [key, s] : family.series) {
          appendSample(out, name, "", s.label_text, "", s.gauge->value());
        }
        break;
      case Type::kHistogram:
        out += " histogram\n";
        for (const auto& [key, s] : family.series) {
          const Histogram::Snapshot snap = s.histogram->snapshot();
          std::string le;
          for (std::size_t i = 0; i <= snap.bounds.size(); ++i) {
            le = "le=\"";
            if (i < snap.bounds.size()) {
              appendNumber(le, snap.bounds[i]);
            } else {
              le += "+Inf";
            }
            le += '"';
            appendSample(out, name, "_bucket", s.label_text, le, snap.cumulative[i]);
          }
          appendSample(out, name, "_sum", s.label_text, "", snap.sum);
          appendSample(out, name, "_count", s.label_text, "", snap.count);
        }
        break;
    }
  }
  return out;
}

}  // namespace waflow::core::metrics
