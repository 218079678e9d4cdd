// EventBus: in-process publish/subscribe with per-conversation ordering.
//
// - Events with the same Event::conversation are handled one at a time, in publish order;
//   different conversations (and events without a conversation) run in parallel on the
//   worker threads. Workers take turns over ready conversations (a few events per turn), so
//   one busy conversation cannot starve the others.
// - The queue is bounded (Options::capacity events waiting, not counting those being
//   handled): tryPublish() never blocks, publish() waits a bounded time for space.
// - For each event, the matching handlers run in subscription order on a worker, with
//   log::RequestScope(event.request_id) set. A handler that throws is logged (logger "bus",
//   with handler name and event type) and counted; the next handler and event still run.
// - An async handler receives a Done; the conversation (and the rest of the event's handlers)
//   waits until it is called, from any thread. Use it for handlers that await an AI call.
// - subscribeWhenHandled() handlers run after all the others of the event are done.
//
// Thread-safety: all members are thread-safe, and may be called from handlers, except stop()
// and the destructor, which must not be called from a handler.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "bus/event.h"

namespace waflow::core::metrics {
class Registry;
}

namespace waflow::core::bus {

namespace detail {
class BusCore;
struct AsyncCall;
}  // namespace detail

// Completion of an async handler: a move-only callable, to be called exactly once (later
// calls do nothing). If destroyed uncalled it completes itself and logs a warning, so a lost
// Done can never wedge its conversation.
class Done {
 public:
  Done() = default;
  Done(Done&& other) noexcept;
  Done& operator=(Done&& other) noexcept;
  Done(const Done&) = delete;
  Done& operator=(const Done&) = delete;
  ~Done();

  void operator()();
  // True until called (or moved from).
  explicit operator bool() const { return call_ != nullptr; }

 private:
  friend class detail::BusCore;
  explicit Done(detail::AsyncCall* call) : call_(call) {}
  void complete(bool dropped);

  detail::AsyncCall* call_ = nullptr;
};

class EventBus {
 public:
  struct Options {
    std::size_t workers = 0;       // 0 = std::thread::hardware_concurrency()
    std::size_t capacity = 65536;  // events waiting to be handled
    // When set, the bus registers its metrics here (waflow_bus_*): published/handled/
    // rejected counts, queue depth, and per-handler error counts and durations (label
    // `handler`). Must outlive the bus.
    metrics::Registry* metrics = nullptr;
  };
  using Handler = std::function<void(const Event&)>;
  using Done = bus::Done;
  // The Event reference stays valid until done() is called.
  using AsyncHandler = std::function<void(const Event&, Done)>;

  enum class PublishResult { kAccepted, kFull, kStopped };

  struct Stats {
    std::size_t queued;     // waiting to be handled
    std::size_t in_flight;  // taken by a worker or waiting for an async handler's done()
    uint64_t published, handled, handler_errors, rejected_full;
    uint64_t dropped;  // accepted but never handled because stop() came first
  };

  explicit EventBus(Options options);
  ~EventBus();  // stop(5 s) unless already stopped
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // `pattern`: an exact type ("message.received"), a prefix ("message.*" matches
  // "message.status" and "message.a.b", not "message") or "*". `name` labels the handler in
  // logs and metrics. Throws std::invalid_argument for a malformed pattern. Returns an id for
  // unsubscribe(). Events already being handled may use the previous handler set.
  uint64_t subscribe(std::string pattern, Handler handler, std::string name);
  uint64_t subscribeAsync(std::string pattern, AsyncHandler handler, std::string name);
  // `handler` runs once every other handler of the event is done (async ones included, when
  // they call their Done), whenever those subscribed, before or after it: for work that must
  // follow the event's handling, such as marking a stored message handled.
  uint64_t subscribeWhenHandled(std::string pattern, Handler handler, std::string name);
  // Events taken by a worker after this returns no longer reach the handler; an invocation
  // already running is not waited for. Unknown ids are ignored.
  void unsubscribe(uint64_t id);

  // Whether any handler would receive an event of this type: publishers of optional
  // notifications skip building them when nobody listens.
  bool hasSubscribers(const std::string& type) const;

  // Never blocks. kFull when `capacity` events are waiting; kStopped after stop().
  PublishResult tryPublish(Event event);
  // Waits up to `max_wait` for space; then kFull.
  PublishResult publish(Event event, std::chrono::milliseconds max_wait);

  // Starts the workers. Events published before start() wait for it. Throws
  // std::logic_error when called after stop().
  void start();
  // Stops accepting events, lets the workers finish what is queued and in flight (including
  // async handlers) for up to `drain_timeout`, then joins them. Handlers still running at the
  // deadline are waited for; events not started by then are dropped and logged. Idempotent.
  void stop(std::chrono::milliseconds drain_timeout);

  Stats stats() const;

 private:
  std::shared_ptr<detail::BusCore> core_;  // shared with pending Done objects
};

}  // namespace waflow::core::bus
