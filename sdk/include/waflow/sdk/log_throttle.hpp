// waflow::LogThrottle — keeps a flood of refusals (forged webhook signatures, wrong verify
// tokens) from flooding the log and burying everything else in it. Per (kind, source), e.g.
// ("bad signature", "203.0.113.9"), the first refusal of each interval is logged and the rest
// are counted; the next one logged after the interval is preceded by a summary line:
//   … and 41 more refusals of this kind (bad signature) from 203.0.113.9 in the 10 s after
//   the last one logged
// The summary comes with that next refusal (no timer runs): a flood that stops leaves its
// last count unreported, which is what a quiet log should look like anyway.
//
// Memory is bounded: at most `max_sources` (kind, source) pairs are tracked, sources are cut
// to 64 bytes, and once the table is full (and nothing in it has expired) new sources share one
// "(other sources)" entry per kind.
//
// Header-only and self-contained, so the daemon and any plugin use the same one without an ABI
// change. Thread-safety: every member function may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace waflow {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(std::chrono::milliseconds interval = std::chrono::seconds(10),
                       std::size_t max_sources = 1024)
      : interval_(interval), max_sources_(max_sources) {}

  struct Verdict {
    bool log = false;        // log this refusal
    uint64_t held_back = 0;  // refusals not logged since the last one that was (when log)
    std::string source;      // the source as tracked ("(other sources)" when the table is full)
  };

  // Counts one refusal and says whether to log it.
  Verdict admit(std::string_view kind, std::string_view source, Clock::time_point now) {
    std::string tracked(source.substr(0, kMaxSourceBytes));
    std::lock_guard lock(mu_);
    auto it = entries_.find(key(kind, tracked));
    if (it == entries_.end()) {
      if (entries_.size() >= max_sources_) {
        sweep(now);
      }
      if (entries_.size() >= max_sources_) {
        tracked = kOtherSources;
        it = entries_.find(key(kind, tracked));
      }
    }
    if (it == entries_.end()) {
      entries_.emplace(key(kind, tracked), Entry{now, 0, std::string(kind)});
      return {true, 0, std::move(tracked)};
    }
    Entry& entry = it->second;
    if (now - entry.window_start < interval_) {
      ++entry.held_back;
      return {false, 0, std::move(tracked)};
    }
    Verdict verdict{true, entry.held_back, std::move(tracked)};
    entry = Entry{now, 0, std::move(entry.kind)};
    return verdict;
  }

  // Logs one refusal through `write(std::string_view line)`: the summary of the refusals held
  // back (if any), then `message`; or nothing, when this refusal is held back.
  template <typename Write>
  void log(std::string_view kind, std::string_view source, std::string_view message, Write&& write,
           Clock::time_point now = Clock::now()) {
    Verdict verdict = admit(kind, source, now);
    if (!verdict.log) {
      return;
    }
    if (verdict.held_back > 0) {
      write(summary(kind, verdict));
    }
    write(message);
  }

  std::string summary(std::string_view kind, const Verdict& verdict) const {
    return "… and " + std::to_string(verdict.held_back) + " more refusal" +
           (verdict.held_back == 1 ? "" : "s") + " of this kind (" + std::string(kind) + ") from " +
           verdict.source + " in the " + intervalText() + " after the last one logged";
  }

 private:
  static constexpr std::size_t kMaxSourceBytes = 64;
  static constexpr std::string_view kOtherSources = "(other sources)";

  struct Entry {
    Clock::time_point window_start;
    uint64_t held_back = 0;
    std::string kind;
  };

  static std::string key(std::string_view kind, std::string_view source) {
    std::string k(kind);
    k += '\0';
    k += source;
    return k;
  }

  // Drops the entries whose interval is over; what they held back moves to their kind's
  // "(other sources)" entry, so no count is silently lost.
  void sweep(Clock::time_point now) {
    std::unordered_map<std::string, uint64_t> moved;  // kind -> held back
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (now - it->second.window_start >= interval_) {
        if (it->second.held_back > 0) {
          moved[it->second.kind] += it->second.held_back;
        }
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [kind, held_back] : moved) {
      auto [it, inserted] =
          entries_.try_emplace(key(kind, kOtherSources), Entry{now - interval_, 0, kind});
      it->second.held_back += held_back;
    }
  }

  std::string intervalText() const {
    const auto ms = interval_.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
  }

  const std::chrono::milliseconds interval_;
  const std::size_t max_sources_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace waflow
