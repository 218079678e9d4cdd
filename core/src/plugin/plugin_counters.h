// PluginCounters: the named event counters one plugin instance keeps through the host service
// `count` (ABI 1.2), e.g. channel-cloudapi's "foreign_number_refused". The daemon renders them
// as waflow_plugin_events_total{instance,plugin,event}. Names are [a-z0-9_], 1 to 64 characters,
// and an instance has at most kMaxNames of them, so a plugin cannot blow up /metrics; other
// names are ignored.
//
// Thread-safety: add() and snapshot() may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace waflow::core::plugin {

class PluginCounters {
 public:
  static constexpr std::size_t kMaxNames = 64;

  // False when the name was ignored (invalid, or one name too many).
  bool add(std::string_view name, uint64_t delta);
  std::map<std::string, uint64_t> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t, std::less<>> counts_;
};

}  // namespace waflow::core::plugin
