// StorageHarness — runs a storage plugin through the real loader
// (PluginCatalog) and host (PluginInstance with an io_context, HttpClient and
// EventBus), and calls its operations the way the daemon does.
//
// A Backend describes one storage plugin for the conformance suite: its name,
// a config for a fresh, empty store, and optional hooks for what only the
// backend itself can do from outside (hold its write lock, read or change its
// schema version). Adding a backend to the suite is one Backend value.
//
// Thread-safety: the fixture's methods are called from the test thread;
// operation callbacks arrive on the io threads.
#pragma once

#include "plugin/plugin_catalog.h"
#include "plugin/plugin_instance.h"

#include "bus/event_bus.h"
#include "http_client/http_client.h"

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace waflow::test::storage {

using Json = nlohmann::json;
using core::plugin::CallOutcome;
using core::plugin::PluginInstance;

struct Backend {
  std::string name;    // the test-name suffix: "sqlite"
  std::string plugin;  // the plugin's name: "storage-sqlite"
  // The config of a fresh, empty store whose files (if any) live in `dir`.
  std::function<Json(const std::filesystem::path& dir)> config;
  // Optional: while the returned object lives, the backend's writes cannot
  // commit (another session holds its write lock), so they queue up.
  std::function<std::shared_ptr<void>(const Json& config)> block_writes;
  // Optional: the schema version recorded in the store, and a way to set it.
  std::function<int64_t(const Json& config)> schema_version;
  std::function<void(const Json& config, int64_t version)> set_schema_version;
};

// Test names show the backend, not the bytes of the struct.
inline void PrintTo(const Backend& backend, std::ostream* os) {
  *os << backend.plugin;
}

// Operations started together; wait() collects their outcomes in order.
class Calls {
 public:
  explicit Calls(std::size_t n) : state_(std::make_shared<State>(n)) {}
  std::function<void(CallOutcome)> slot(std::size_t i);
  // Waits up to 60 s for every outcome (a hang fails the test, not a timing).
  std::vector<CallOutcome> wait();

 private:
  struct State {
    explicit State(std::size_t n) : outcomes(n), remaining(n) {}
    std::mutex mutex;
    std::condition_variable done;
    std::vector<CallOutcome> outcomes;
    std::size_t remaining;
  };
  std::shared_ptr<State> state_;
};

class StorageHarness {
 public:
  explicit StorageHarness(std::string test_name);
  ~StorageHarness();

  const std::filesystem::path& dir() const { return dir_; }
  core::plugin::HostServices services() { return {io_, http_, bus_, dir_ / "data"}; }

  // Creates and starts an instance; returns false with the plugin's message.
  bool open(const std::string& plugin, const Json& config, std::string* error);
  void openOrFail(const std::string& plugin, const Json& config);
  // Stops and destroys the instance, as the daemon does at shutdown.
  void close();
  PluginInstance& instance() { return *instance_; }

  CallOutcome exec(const std::string& op, const Json& input);
  // exec() that must succeed; returns the output.
  Json ok(const std::string& op, const Json& input);
  // Starts every call from `threads` threads at once; returns without waiting.
  Calls start(const std::vector<std::pair<std::string, Json>>& calls, int threads = 4);

 private:
  std::filesystem::path dir_;
  core::plugin::PluginCatalog catalog_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  core::HttpClient http_{io_};
  core::bus::EventBus bus_{core::bus::EventBus::Options{2, 1024, nullptr}};
  std::unique_ptr<PluginInstance> instance_;
};

// Realistic operation inputs.
Json inboxMessage(const std::string& id, const std::string& contact = "6281200000001",
                  int64_t received_at = 1700000000000, const std::string& name = "Budi");
Json outboxMessage(const std::string& id, const std::string& conversation, int64_t not_before = 0);
Json status(const std::string& message_id, const std::string& status, int64_t timestamp,
            int64_t error_code = 0);
// The ids of an output's "messages" (or another array key), in order.
std::vector<std::string> ids(const Json& output, const char* key = "messages");

}  // namespace waflow::test::storage
