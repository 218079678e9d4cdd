// Daemon — the running waflow process: plugins, event bus, HTTP server and
// client, and the built-in auto-reply, wired together from one Config.
//
//   Daemon daemon(config, options);
//   if (!daemon.start(&error)) { print error; exit 1 }
//   return daemon.wait();   // until SIGINT/SIGTERM or requestStop()
//
// Shutdown is graceful and ordered so nothing accepted is dropped: the server
// stops accepting and finishes in-flight requests; the bus drains queued
// events (whose handlers may still call AI providers and send replies); then
// plugin instances stop and are destroyed; then the HTTP client and the
// threads end.
//
// Thread-safety: start() and wait() from one thread; requestStop() and port()
// from any thread.
#pragma once

#include "config/config.h"
#include "diag/diagnostic.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace waflow::core::daemon {

class Daemon {
 public:
  struct Options {
    std::vector<std::string> plugin_dirs;  // --plugin-dir, searched first
    bool handle_signals = true;            // SIGINT/SIGTERM trigger a graceful stop
  };

  Daemon(config::Config config, Options options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads plugins, creates and starts the instances, binds the server and
  // starts the threads. On failure returns false with `diagnostics` (config
  // problems at file:line:col) and/or `error` (everything else) filled.
  bool start(std::string* error, std::vector<diag::Diagnostic>* diagnostics);
  uint16_t port() const;
  void requestStop();
  // Blocks until a stop is requested, shuts down gracefully, returns the exit
  // code (0).
  int wait();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace waflow::core::daemon
