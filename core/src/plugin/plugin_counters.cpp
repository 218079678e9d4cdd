#include "plugin/plugin_counters.h"

#include <algorithm>

namespace waflow::core::plugin {
namespace {

bool validName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

bool PluginCounters::add(std::string_view name, uint64_t delta) {
  if (!validName(name)) {
    return false;
  }
  std::lock_guard lock(mutex_);
  auto it = counts_.find(name);
  if (it == counts_.end()) {
    if (counts_.size() >= kMaxNames) {
      return false;
    }
    it = counts_.emplace(std::string(name), 0).first;
  }
  it->second += delta;
  return true;
}

std::map<std::string, uint64_t> PluginCounters::snapshot() const {
  std::lock_guard lock(mutex_);
  return {counts_.begin(), counts_.end()};
}

}  // namespace waflow::core::plugin
