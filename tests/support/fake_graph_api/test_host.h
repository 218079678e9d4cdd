// TestHost: a small but real waflow_host_api for running plugin-side code (SDK coroutines) in
// tests without the daemon: HTTP through the core HttpClient (libcurl on an Asio loop), timers on
// asio::steady_timer, post() onto the same loop thread, an in-memory bus (publish records the
// event and delivers it to matching subscribers), logs kept in memory.
//
// Thread-safety: the api() table may be used from any thread, as the ABI requires; run() blocks
// the calling thread until the task finishes on the loop thread. Destroy the TestHost only after
// the tasks it runs have finished.
#pragma once

#include <waflow/sdk/abi.h>
#include <waflow/sdk/host.hpp>
#include <waflow/sdk/task.hpp>
#include <waflow/sdk/types.hpp>

#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace waflow::test {

class TestHost {
 public:
  // `data_dir` is reported by Host::dataDir() (not created here).
  explicit TestHost(std::string data_dir = {}, std::string instance_id = "test");
  ~TestHost();
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  const waflow_host_api* api() const;
  waflow::Host& host() { return host_; }

  // Starts `task` and blocks until it finishes: returns its value or rethrows its exception.
  // Throws std::runtime_error if it has not finished within `timeout`.
  template <typename T>
  T run(waflow::Task<T> task, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto state = std::make_shared<std::promise<Holder<T>>>();
    auto future = state->get_future();
    if constexpr (std::is_void_v<T>) {
      waflow::spawn(std::move(task), [state](std::exception_ptr error) {
        if (error) {
          state->set_exception(error);
        } else {
          state->set_value(Holder<T>{});
        }
      });
    } else {
      waflow::spawn(std::move(task), [state](std::optional<T> value, std::exception_ptr error) {
        if (error) {
          state->set_exception(error);
        } else {
          state->set_value(Holder<T>{std::move(*value)});
        }
      });
    }
    if (future.wait_for(timeout) != std::future_status::ready) {
      throw std::runtime_error("TestHost::run: the task did not finish in time");
    }
    if constexpr (std::is_void_v<T>) {
      future.get();
    } else {
      return std::move(future.get().value);
    }
  }

  // "<level>: <message>" for every host.log() call, in order.
  std::vector<std::string> logs() const;
  std::vector<waflow::Event> published() const;
  std::vector<std::string> secrets() const;
  uint64_t httpRequests() const;
  // The total of host.count(name, ...) calls.
  uint64_t counted(const std::string& name) const;

  struct Impl;

 private:
  template <typename T>
  struct Holder {
    T value;
  };
  std::unique_ptr<Impl> impl_;
  waflow::Host host_;
};

template <>
struct TestHost::Holder<void> {};

}  // namespace waflow::test
