// waflow::Task<T> — the coroutine type plugin code returns.
//
// A Task is lazy: it starts when awaited (or when the SDK starts it for a
// host call) and resumes its awaiter when it finishes, by symmetric transfer,
// so long chains of co_await use no extra stack. An exception thrown inside a
// Task is carried to whoever awaits it.
//
// Thread-safety: a Task is a single-owner value. Where it resumes depends on
// what it awaits: host completions (HTTP, timers) resume it on a host thread.
#pragma once

#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace waflow {

template <typename T = void>
class [[nodiscard]] Task;

namespace detail {

// Resumes whoever awaited the finished task, or nothing.
struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> done) noexcept {
    auto next = done.promise().continuation;
    return next ? next : std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

struct PromiseBase {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

}  // namespace detail

namespace detail {

// What Task<T> and Task<void> share: ownership of the coroutine frame and
// the awaiter protocol (start the task, resume the awaiter when it ends).
template <typename Promise>
class TaskBase {
 public:
  TaskBase(TaskBase&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  TaskBase& operator=(TaskBase&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  TaskBase(const TaskBase&) = delete;
  TaskBase& operator=(const TaskBase&) = delete;
  ~TaskBase() { reset(); }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    handle_.promise().continuation = awaiter;
    return handle_;
  }

 protected:
  explicit TaskBase(std::coroutine_handle<Promise> h) : handle_(h) {}
  Promise& promise() const { return handle_.promise(); }
  void rethrowIfFailed() const {
    if (promise().error) {
      std::rethrow_exception(promise().error);
    }
  }

 private:
  void reset() {
    if (handle_) {
      handle_.destroy();
      handle_ = {};
    }
  }
  std::coroutine_handle<Promise> handle_;
};

template <typename T>
struct ValuePromise;
struct VoidPromise;

}  // namespace detail

template <typename T>
class [[nodiscard]] Task : public detail::TaskBase<detail::ValuePromise<T>> {
 public:
  using promise_type = detail::ValuePromise<T>;
  T await_resume() {
    this->rethrowIfFailed();
    return std::move(*this->promise().value);
  }

 private:
  friend promise_type;
  explicit Task(std::coroutine_handle<promise_type> h) : detail::TaskBase<promise_type>(h) {}
};

template <>
class [[nodiscard]] Task<void> : public detail::TaskBase<detail::VoidPromise> {
 public:
  using promise_type = detail::VoidPromise;
  void await_resume() { rethrowIfFailed(); }

 private:
  friend promise_type;
  explicit Task(std::coroutine_handle<promise_type> h) : detail::TaskBase<promise_type>(h) {}
};

namespace detail {

template <typename T>
struct ValuePromise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() {
    return Task<T>(std::coroutine_handle<ValuePromise>::from_promise(*this));
  }
  template <typename U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};

struct VoidPromise : PromiseBase {
  Task<void> get_return_object() {
    return Task<void>(std::coroutine_handle<VoidPromise>::from_promise(*this));
  }
  void return_void() noexcept {}
};

}  // namespace detail

namespace detail {

// A fire-and-forget coroutine frame that owns itself: it runs to completion
// and frees its frame. Used to drive a Task from a C callback.
struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};

template <typename T>
using Outcome =
    std::conditional_t<std::is_void_v<T>, std::variant<std::monostate, std::exception_ptr>,
                       std::variant<std::monostate, T, std::exception_ptr>>;

}  // namespace detail

// Starts `task` now and calls `done` with its outcome (the value, or the
// exception it threw) when it finishes. `done` must not throw.
template <typename T, typename Done>
void spawn(Task<T> task, Done done) {
  [](Task<T> t, Done d) -> detail::Detached {
    if constexpr (std::is_void_v<T>) {
      std::exception_ptr error;
      try {
        co_await std::move(t);
      } catch (...) {
        error = std::current_exception();
      }
      d(error);
    } else {
      std::optional<T> value;
      std::exception_ptr error;
      try {
        value.emplace(co_await std::move(t));
      } catch (...) {
        error = std::current_exception();
      }
      d(std::move(value), error);
    }
  }(std::move(task), std::move(done));
}

}  // namespace waflow
