#include "daemon/shutdown_watchdog.h"

#include "log/log.h"

#include <cstdlib>

namespace waflow::core::daemon {

ShutdownWatchdog::~ShutdownWatchdog() {
  disarm();
}

void ShutdownWatchdog::arm(std::chrono::milliseconds limit) {
  std::lock_guard lock(mutex_);
  if (armed_ || disarmed_) {
    return;
  }
  armed_ = true;
  auto deadline = std::chrono::steady_clock::now() + limit;
  thread_ = std::thread([this, deadline, limit] { watch(deadline, limit); });
}

void ShutdownWatchdog::disarm() {
  {
    std::lock_guard lock(mutex_);
    disarmed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

void ShutdownWatchdog::watch(std::chrono::steady_clock::time_point deadline,
                             std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  if (cv_.wait_until(lock, deadline, [this] { return disarmed_; })) {
    return;
  }
  log::get("waflow")->error(
      "shutdown did not finish within {} ms (server.shutdown_timeout plus time to write what "
      "finished): something is still running and does not stop. Exiting now; messages not "
      "finished are handled again at the next start",
      limit.count());
  std::_Exit(kExitCode);
}

}  // namespace waflow::core::daemon
