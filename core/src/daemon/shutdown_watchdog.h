// ShutdownWatchdog — ends the process when a graceful shutdown overruns its time.
//
// A graceful shutdown waits for in-flight work: a request being answered, a flow step, a
// plugin call. Something that never returns (a plugin stuck in a loop, a rule stuck where no
// budget reaches) would make SIGTERM a no-op. Armed when the shutdown starts, the watchdog
// waits on its own thread; if the shutdown has not disarmed it by the limit, it logs what
// happened and exits the process with kExitCode. Nothing acknowledged is
// lost: a message whose handling was cut short is still pending in storage, handled again at
// the next start, and quarantined if it keeps failing (docs/security.md).
//
// Thread-safety: arm() and disarm() may be called from any thread, but not concurrently with
// the destructor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace waflow::core::daemon {

class ShutdownWatchdog {
 public:
  static constexpr int kExitCode = 70;  // EX_SOFTWARE: an internal error, not a clean stop

  ShutdownWatchdog() = default;
  ~ShutdownWatchdog();  // disarm()
  ShutdownWatchdog(const ShutdownWatchdog&) = delete;
  ShutdownWatchdog& operator=(const ShutdownWatchdog&) = delete;

  // Starts counting `limit`; arming twice keeps the first deadline.
  void arm(std::chrono::milliseconds limit);
  // The shutdown finished in time: the process is left alone.
  void disarm();

 private:
  void watch(std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds limit);

  std::mutex mutex_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool disarmed_ = false;
  std::thread thread_;
};

}  // namespace waflow::core::daemon
