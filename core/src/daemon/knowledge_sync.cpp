// Keeping the knowledge bases of waflow.yaml indexed: retiring the indexes of bases taken out
// of the config, syncing at start, on reload and (with flows.watch) every watch interval.
// Part of Daemon::Impl.
#include "daemon/daemon_impl.h"

#include <fmt/format.h>

namespace waflow::core::daemon {

void Daemon::Impl::retireKnowledge() {
  std::vector<std::string> ids;
  for (const auto& [id, entry] : config_.knowledge) {
    ids.push_back(id);
  }
  knowledge::KnowledgeBase::retainOnly(
      *storage_, ids,
      [this](std::vector<std::pair<std::string, int64_t>> removed, std::string error) {
        if (!error.empty()) {
          logger_->warn("the index of knowledge bases no longer configured was not removed: {}",
                        error);
          return;
        }
        for (const auto& [id, documents] : removed) {
          logger_->info(
              "knowledge '{}' is no longer in the config: its index ({} file(s)) was "
              "removed",
              id, documents);
        }
      });
}

void Daemon::Impl::syncKnowledge(const std::string& why) {
  for (const auto& kb : knowledge_) {
    kb->sync([this, id = kb->id(), why](knowledge::KnowledgeBase::SyncReport r) {
      if (r.indexed > 0 || r.removed > 0 || why == "start") {
        logger_->info(
            "knowledge '{}' ({}): {} file(s) indexed ({} passages), {} removed, {} "
            "unchanged",
            id, why, r.indexed, r.chunks, r.removed, r.unchanged);
      }
      {
        // A file that stays broken is reported once, not at every watch tick.
        std::lock_guard lock(knowledge_mutex_);
        if (knowledge_errors_[id] == r.errors) {
          return;
        }
        knowledge_errors_[id] = r.errors;
      }
      for (const auto& e : r.errors) {
        logger_->error("knowledge '{}': {} (the file's previous index is kept)", id, e);
      }
    });
  }
  if (why == "start" && config_.flows.watch) {
    watchKnowledge();
  }
}

void Daemon::Impl::watchKnowledge() {
  knowledge_timer_.expires_after(config_.flows.watch_interval);
  knowledge_timer_.async_wait([this](const boost::system::error_code& e) {
    if (e || stopping_.load()) {
      return;
    }
    syncKnowledge("file watch");
    watchKnowledge();
  });
}

}  // namespace waflow::core::daemon
