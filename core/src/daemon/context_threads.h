// ContextThreads — a fixed number of named threads running one io_context until stopped.
//
// The daemon keeps two: the I/O threads (the HTTP server and client: accept, read, parse,
// write) and the workers (flows, Lua rules, plugin callbacks, timers, storage completions).
// Keeping them apart is what lets /healthz and a webhook's acknowledgement answer in
// milliseconds while every worker is busy with a slow rule or a slow plugin.
//
// Thread-safety: start() and stop() are called by the owner, from one thread, never from one
// of the pool's own threads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace waflow::core::daemon {

class ContextThreads {
 public:
  // `name` labels the threads (at most 15 characters, as Linux allows), e.g. "waflow-io".
  ContextThreads(boost::asio::io_context& io, std::string name);
  ~ContextThreads();  // stop()
  ContextThreads(const ContextThreads&) = delete;
  ContextThreads& operator=(const ContextThreads&) = delete;

  // Keeps the context running even when it has no work, on `count` threads (at least 1).
  void start(std::size_t count);
  // Lets the context run out of work and stops it; joins the threads. Handlers still queued
  // are destroyed without running when the context is destroyed. Idempotent.
  void stop();
  std::size_t size() const { return threads_.size(); }

 private:
  boost::asio::io_context& io_;
  std::string name_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::vector<std::thread> threads_;
};

}  // namespace waflow::core::daemon
