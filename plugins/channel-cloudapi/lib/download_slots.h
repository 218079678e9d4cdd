// DownloadSlots: at most N media downloads of one channel run at once (max_concurrent_downloads);
// the others wait, and get their turn in the order they asked. A coroutine holds a slot as a
// Permit for the length of its download:
//
//   DownloadSlots::Permit permit = co_await slots.acquire();
//   if (!permit) { ... the channel is stopping ... }
//
// A waiter is resumed through Host::post, never inline inside the release that freed its slot.
// close() (the channel stopping) wakes every waiter with an empty Permit and refuses later
// acquires.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <waflow/sdk/host.hpp>

#include <coroutine>
#include <cstddef>
#include <deque>
#include <mutex>

namespace waflow::cloudapi {

class DownloadSlots {
 public:
  DownloadSlots(const waflow::Host& host, std::size_t limit);
  DownloadSlots(const DownloadSlots&) = delete;
  DownloadSlots& operator=(const DownloadSlots&) = delete;

  class Permit {
   public:
    Permit() = default;
    explicit Permit(DownloadSlots* owner) : owner_(owner) {}
    Permit(Permit&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Permit& operator=(Permit&& other) noexcept;
    ~Permit() { reset(); }
    explicit operator bool() const { return owner_ != nullptr; }
    void reset();

   private:
    DownloadSlots* owner_ = nullptr;
  };

  struct Waiter {
    std::coroutine_handle<> handle;
    bool granted = false;
  };

  class Acquire {
   public:
    explicit Acquire(DownloadSlots& slots) : slots_(slots) {}
    bool await_ready() {
      ready_ = slots_.tryTake();
      return ready_;
    }
    bool await_suspend(std::coroutine_handle<> handle);
    Permit await_resume() { return ready_ || waiter_.granted ? Permit(&slots_) : Permit(); }

   private:
    DownloadSlots& slots_;
    Waiter waiter_;
    bool ready_ = false;
  };

  Acquire acquire() { return Acquire(*this); }

  // Wakes every waiter without a slot and refuses later acquires.
  void close();

  std::size_t running() const;
  std::size_t waiting() const;

 private:
  bool tryTake();
  void release();

  const waflow::Host& host_;
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::size_t running_ = 0;
  bool closed_ = false;
  std::deque<Waiter*> waiters_;
};

}  // namespace waflow::cloudapi
