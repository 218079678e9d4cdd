#include "bus/event_bus.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bus/ring.h"
#include "log/log.h"
#include "metrics/metrics.h"

namespace waflow::core::bus {
namespace detail {
namespace {

// Events a worker takes from one conversation per turn: amortizes locking without letting a
// busy conversation hold a worker for long.
constexpr std::size_t kMaxBatch = 16;
// Conversations a worker takes per lock round trip (fewer when others are idle).
constexpr std::size_t kMaxTurns = 8;
// Idle conversations stay in the map (a conversation usually gets its next event soon, and
// re-inserting costs a hash, a node and a key copy) until the map reaches the sweep mark; a
// sweep then erases the idle ones and sets the mark to twice what is left, so sweeping costs
// O(1) amortized per new conversation and idle ones use at most about half the map.
constexpr std::size_t kMinSweepMark = 16384;
// A conversation queue that grew beyond this during a burst gives its memory back when idle.
constexpr std::size_t kMaxRetainedQueue = 64;
constexpr auto kDestructorDrain = std::chrono::seconds(5);

enum CallState : int { kRunning, kCompleted, kDetached };

}  // namespace

struct Subscription {
  enum class Match { kExact, kPrefix, kAll };

  uint64_t id = 0;
  std::string name;
  std::string pattern;  // for kPrefix: "message." (without the '*')
  Match match = Match::kExact;
  EventBus::Handler handler;  // exactly one of handler / async_handler is set
  EventBus::AsyncHandler async_handler;
  // subscribeWhenHandled(): kept after every other subscription, so it runs once they are done.
  bool after_all = false;
  metrics::Counter* errors = nullptr;  // null without a metrics registry
  metrics::Histogram* seconds = nullptr;

  bool matches(const std::string& type) const {
    switch (match) {
      case Match::kAll:
        return true;
      case Match::kPrefix:
        return type.size() > pattern.size() && type.starts_with(pattern);
      case Match::kExact:
        return type == pattern;
    }
    return false;
  }
};

using SubscriptionList = std::vector<Subscription>;
using Snapshot = std::shared_ptr<const SubscriptionList>;

struct Conversation;

// An event whose async handler has not called done() yet, with the rest of the worker's batch.
struct AsyncCall {
  std::shared_ptr<BusCore> core;         // keeps the bus state alive for a late done()
  Conversation* conversation = nullptr;  // null for events without a conversation
  Snapshot subscriptions;
  std::vector<Event> batch;
  std::size_t event_index = 0;
  std::size_t handler_index = 0;  // the async handler; processing resumes after it
  std::chrono::steady_clock::time_point started;
  std::atomic<int> state{kRunning};
};

struct Conversation {
  Ring<Event> pending{2};
  std::unique_ptr<AsyncCall> resume;  // set when done() hands the conversation back
  // In the ready queue, held by a worker, or waiting for done(). An inactive conversation
  // has no pending events and may be swept from the map.
  bool active = false;
};

class BusCore : public std::enable_shared_from_this<BusCore> {
 public:
  explicit BusCore(const EventBus::Options& options);

  uint64_t subscribe(std::string pattern, EventBus::Handler handler,
                     EventBus::AsyncHandler async_handler, std::string name,
                     bool after_all = false);
  void unsubscribe(uint64_t id);
  bool hasSubscribers(const std::string& type) const;
  EventBus::PublishResult publish(Event event, std::chrono::milliseconds max_wait);
  void start();
  void stop(std::chrono::milliseconds drain_timeout);
  EventBus::Stats stats() const;
  void removeCollector();

  // Done's half of the completion handshake (see invokeAsync).
  void complete(AsyncCall* call, bool dropped);

 private:
  struct RunResult {
    std::size_t completed = 0;  // events whose handlers all ran
    bool detached = false;      // the rest of the batch waits for an async handler's done()
  };
  enum class Phase { kCreated, kRunning, kDraining, kStopped };

  void workerLoop(std::size_t index);
  RunResult run(Conversation* conversation, std::vector<Event>& batch, std::size_t first_event,
                std::size_t first_handler, const Snapshot& subscriptions);
  void invokeSync(const Subscription& sub, const Event& event);
  bool invokeAsync(Conversation* conversation, std::vector<Event>& batch, std::size_t event_index,
                   std::size_t handler_index, const Snapshot& subscriptions);
  void reportError(const Subscription& sub, const Event& event, std::string_view what);

  bool wakeNeededLocked();
  void takeLocked(Ring<Event>& source, std::size_t count, std::vector<Event>& batch);
  void afterTakeLocked();  // wakes blocked publishers and, if work is left, another worker
  void settleLocked(Conversation* conversation, std::size_t taken, RunResult result);
  void resumeLocked(std::unique_ptr<AsyncCall> call);
  Conversation* conversationLocked(const std::string& key);
  void releaseLocked(Conversation* conversation);
  std::size_t dropAllLocked();

  const std::size_t worker_count_;
  const std::size_t capacity_;
  const std::shared_ptr<spdlog::logger> logger_ = log::get("bus");

  metrics::Registry* registry_;
  uint64_t collector_id_ = 0;
  metrics::Counter* published_metric_ = nullptr;
  metrics::Counter* handled_metric_ = nullptr;
  metrics::Counter* rejected_metric_ = nullptr;
  metrics::Counter* dropped_metric_ = nullptr;

  std::mutex lifecycle_mu_;  // serializes start() and stop()
  std::vector<std::thread> threads_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;     // workers wait for work
  std::condition_variable space_cv_;    // publish() waits for queue space
  std::condition_variable drained_cv_;  // stop() waits for the queue to drain
  Phase phase_ = Phase::kCreated;
  std::atomic<bool> abandon_{false};  // workers exit; unstarted events are dropped
  Snapshot subscriptions_ = std::make_shared<SubscriptionList>();
  uint64_t next_subscription_id_ = 1;

  std::unordered_map<std::string, Conversation> conversations_;
  std::size_t sweep_mark_ = kMinSweepMark;
  Ring<Conversation*> ready_{1024};
  Ring<Event> unordered_{1024};
  Ring<std::unique_ptr<AsyncCall>> resumed_{64};  // unordered events continuing after done()

  std::size_t queued_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t idle_workers_ = 0;
  std::size_t signaled_workers_ = 0;  // notified but not yet awake
  std::size_t waiting_publishers_ = 0;
  uint64_t published_ = 0;
  uint64_t handled_ = 0;
  uint64_t rejected_full_ = 0;
  uint64_t dropped_ = 0;
  std::atomic<uint64_t> handler_errors_{0};
};

BusCore::BusCore(const EventBus::Options& options)
    : worker_count_(options.workers != 0
                        ? options.workers
                        : std::max<std::size_t>(1, std::thread::hardware_concurrency())),
      capacity_(options.capacity),
      registry_(options.metrics) {
  if (capacity_ == 0) {
    throw std::invalid_argument("event bus capacity must be at least 1");
  }
  if (registry_ == nullptr) {
    return;
  }
  published_metric_ =
      &registry_->counter("waflow_bus_events_published_total", "Events accepted by the event bus.");
  handled_metric_ =
      &registry_->counter("waflow_bus_events_handled_total", "Events whose handlers have all run.");
  rejected_metric_ = &registry_->counter("waflow_bus_events_rejected_total",
                                         "Events refused because the bus queue was full.");
  dropped_metric_ = &registry_->counter("waflow_bus_events_dropped_total",
                                        "Events not handled because the bus stopped first.");
  collector_id_ = registry_->addCollector([this](metrics::Registry& registry) {
    const EventBus::Stats s = stats();
    registry.gauge("waflow_bus_queued_events", "Events waiting in the bus queue.")
        .set(static_cast<double>(s.queued));
    registry.gauge("waflow_bus_in_flight_events", "Events being handled (incl. async waits).")
        .set(static_cast<double>(s.in_flight));
  });
}

void BusCore::removeCollector() {
  if (registry_ != nullptr && collector_id_ != 0) {
    registry_->removeCollector(collector_id_);
    collector_id_ = 0;
  }
}

uint64_t BusCore::subscribe(std::string pattern, EventBus::Handler handler,
                            EventBus::AsyncHandler async_handler, std::string name,
                            bool after_all) {
  Subscription sub;
  const std::size_t star = pattern.find('*');
  if (pattern == "*") {
    sub.match = Subscription::Match::kAll;
  } else if (star == std::string::npos && !pattern.empty()) {
    sub.match = Subscription::Match::kExact;
  } else if (star == pattern.size() - 1 && pattern.size() > 2 &&
             pattern[pattern.size() - 2] == '.') {
    sub.match = Subscription::Match::kPrefix;
  } else {
    throw std::invalid_argument("invalid event pattern '" + pattern +
                                "': use an exact type (message.received), a prefix ending in "
                                "'.*' (message.*) or '*'");
  }
  if (!handler && !async_handler) {
    throw std::invalid_argument("subscribe('" + pattern + "'): the handler is empty");
  }
  sub.name = name.empty() ? pattern : std::move(name);
  sub.pattern = sub.match == Subscription::Match::kPrefix ? pattern.substr(0, pattern.size() - 1)
                                                          : std::move(pattern);
  sub.handler = std::move(handler);
  sub.async_handler = std::move(async_handler);
  sub.after_all = after_all;
  if (registry_ != nullptr) {
    const metrics::Labels labels = {{"handler", sub.name}};
    sub.errors = &registry_->counter("waflow_bus_handler_errors_total",
                                     "Exceptions thrown by event handlers.", labels);
    sub.seconds = &registry_->histogram("waflow_bus_handler_duration_seconds",
                                        "Time from calling an event handler to its completion.",
                                        metrics::defaultLatencyBuckets(), labels);
  }

  std::lock_guard lock(mu_);
  sub.id = next_subscription_id_++;
  const uint64_t id = sub.id;
  auto next = std::make_shared<SubscriptionList>(*subscriptions_);
  // Handlers run in list order, and an async one holds back those after it: a handler that
  // must see the event fully handled goes last, and a later ordinary one goes before it.
  auto position = after_all ? next->end()
                            : std::find_if(next->begin(), next->end(),
                                           [](const Subscription& s) { return s.after_all; });
  next->insert(position, std::move(sub));
  subscriptions_ = std::move(next);
  return id;
}

bool BusCore::hasSubscribers(const std::string& type) const {
  Snapshot subscriptions;
  {
    std::lock_guard lock(mu_);
    subscriptions = subscriptions_;
  }
  return std::any_of(subscriptions->begin(), subscriptions->end(),
                     [&type](const Subscription& sub) { return sub.matches(type); });
}

void BusCore::unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<SubscriptionList>(*subscriptions_);
  std::erase_if(*next, [id](const Subscription& sub) { return sub.id == id; });
  subscriptions_ = std::move(next);
}

EventBus::PublishResult BusCore::publish(Event event, std::chrono::milliseconds max_wait) {
  std::unique_lock lock(mu_);
  if (phase_ == Phase::kDraining || phase_ == Phase::kStopped) {
    return EventBus::PublishResult::kStopped;
  }
  if (queued_ >= capacity_ && max_wait.count() > 0) {
    ++waiting_publishers_;
    space_cv_.wait_for(lock, max_wait, [this] {
      return queued_ < capacity_ || phase_ == Phase::kDraining || phase_ == Phase::kStopped;
    });
    --waiting_publishers_;
    if (phase_ == Phase::kDraining || phase_ == Phase::kStopped) {
      return EventBus::PublishResult::kStopped;
    }
  }
  if (queued_ >= capacity_) {
    ++rejected_full_;
    if (rejected_metric_ != nullptr) {
      rejected_metric_->inc();
    }
    return EventBus::PublishResult::kFull;
  }

  bool became_ready = true;
  if (event.conversation.empty()) {
    unordered_.push(std::move(event));
  } else {
    Conversation* conversation = conversationLocked(event.conversation);
    conversation->pending.push(std::move(event));
    became_ready = !conversation->active;
    if (became_ready) {
      conversation->active = true;
      ready_.push(conversation);
    }
  }
  ++queued_;
  ++published_;
  if (published_metric_ != nullptr) {
    published_metric_->inc();
  }
  const bool wake = became_ready && wakeNeededLocked();
  lock.unlock();
  if (wake) {
    work_cv_.notify_one();
  }
  return EventBus::PublishResult::kAccepted;
}

void BusCore::start() {
  std::lock_guard lifecycle(lifecycle_mu_);
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::kStopped || phase_ == Phase::kDraining) {
      throw std::logic_error("EventBus::start() called after stop(): create a new bus instead");
    }
    if (phase_ == Phase::kRunning) {
      return;
    }
    phase_ = Phase::kRunning;
  }
  threads_.reserve(worker_count_);
  for (std::size_t i = 0; i < worker_count_; ++i) {
    threads_.emplace_back([this, i] { workerLoop(i); });
  }
}

void BusCore::stop(std::chrono::milliseconds drain_timeout) {
  std::lock_guard lifecycle(lifecycle_mu_);
  std::unique_lock lock(mu_);
  if (phase_ == Phase::kStopped) {
    return;
  }
  const bool started = phase_ == Phase::kRunning;
  phase_ = Phase::kDraining;
  space_cv_.notify_all();  // blocked publishers return kStopped
  if (started) {
    drained_cv_.wait_for(lock, drain_timeout, [this] { return queued_ == 0 && in_flight_ == 0; });
    abandon_.store(true);
    lock.unlock();
    work_cv_.notify_all();
    for (std::thread& thread : threads_) {
      thread.join();
    }
    threads_.clear();
    lock.lock();
  }
  phase_ = Phase::kStopped;
  abandon_.store(true);
  const std::size_t waiting_async = in_flight_;
  const std::size_t dropped = dropAllLocked();
  lock.unlock();
  if (dropped > 0) {
    logger_->warn("event bus stopped with {} events not handled ({} ms drain timeout{})", dropped,
                  drain_timeout.count(), started ? "" : ", bus never started");
  }
  if (waiting_async > 0) {
    logger_->warn(
        "event bus stopped while {} events waited for async handlers; their "
        "remaining handlers will not run",
        waiting_async);
  }
}

EventBus::Stats BusCore::stats() const {
  std::lock_guard lock(mu_);
  return {queued_,
          in_flight_,
          published_,
          handled_,
          handler_errors_.load(std::memory_order_relaxed),
          rejected_full_,
          dropped_};
}

// The bus's one scheduling loop: where the lock is taken and released around each kind of
// work (resumed async handlers, unordered events, conversations' turns) must be read at once
// to see that a conversation is never run by two workers.
void BusCore::workerLoop(std::size_t index) {
  const std::string thread_name = "waflow-bus-" + std::to_string(index);
  pthread_setname_np(pthread_self(), thread_name.substr(0, 15).c_str());

  struct Turn {
    Conversation* conversation = nullptr;
    std::unique_ptr<AsyncCall> resume;  // continue after an async handler's done()
    std::vector<Event> events;          // or run these newly taken events
    std::size_t taken = 0;
    RunResult result;
  };
  std::vector<Turn> turns(kMaxTurns);
  std::vector<Event> batch;
  batch.reserve(kMaxBatch);
  Snapshot subscriptions;
  bool prefer_unordered = false;  // alternate with conversations so neither starves

  std::unique_lock lock(mu_);
  while (!abandon_.load(std::memory_order_relaxed)) {
    if (subscriptions != subscriptions_) {
      subscriptions = subscriptions_;
    }

    if (!resumed_.empty()) {
      std::unique_ptr<AsyncCall> call = resumed_.pop();
      const std::size_t taken = call->batch.size() - call->event_index;
      lock.unlock();
      const RunResult result = run(nullptr, call->batch, call->event_index, call->handler_index + 1,
                                   call->subscriptions);
      call.reset();
      lock.lock();
      settleLocked(nullptr, taken, result);
      continue;
    }

    const bool take_unordered = !unordered_.empty() && (prefer_unordered || ready_.empty());
    if (take_unordered) {
      prefer_unordered = false;
      // Leave some for the other workers: these events may all run in parallel.
      const std::size_t count =
          std::clamp<std::size_t>(unordered_.size() / worker_count_, 1, kMaxBatch);
      takeLocked(unordered_, count, batch);
      afterTakeLocked();
      lock.unlock();
      const RunResult result = run(nullptr, batch, 0, 0, subscriptions);
      lock.lock();
      settleLocked(nullptr, count, result);
      batch.clear();
      continue;
    }

    if (!ready_.empty()) {
      prefer_unordered = true;
      // Several conversations per lock round trip, leaving a share for the other workers.
      const std::size_t count =
          std::clamp<std::size_t>(ready_.size() / worker_count_, 1, kMaxTurns);
      for (std::size_t k = 0; k < count; ++k) {
        Turn& turn = turns[k];
        turn.conversation = ready_.pop();
        if (turn.conversation->resume != nullptr) {
          turn.resume = std::move(turn.conversation->resume);
          turn.taken = turn.resume->batch.size() - turn.resume->event_index;
        } else {
          turn.taken = std::min(turn.conversation->pending.size(), kMaxBatch);
          takeLocked(turn.conversation->pending, turn.taken, turn.events);
        }
      }
      afterTakeLocked();
      lock.unlock();
      for (std::size_t k = 0; k < count; ++k) {
        Turn& turn = turns[k];
        if (turn.resume != nullptr) {
          AsyncCall& call = *turn.resume;
          turn.result = run(turn.conversation, call.batch, call.event_index, call.handler_index + 1,
                            call.subscriptions);
          turn.resume.reset();
        } else {
          turn.result = run(turn.conversation, turn.events, 0, 0, subscriptions);
          turn.events.clear();
        }
      }
      lock.lock();
      for (std::size_t k = 0; k < count; ++k) {
        settleLocked(turns[k].conversation, turns[k].taken, turns[k].result);
      }
      continue;
    }

    ++idle_workers_;
    work_cv_.wait(lock);
    --idle_workers_;
    if (signaled_workers_ > 0) {
      --signaled_workers_;
    }
  }
}

// Wake-ups cost a futex syscall and a context switch each, so at most one sleeping worker is
// being woken at a time; a worker that finds more work than it takes wakes the next one (see
// takeLocked), so parallelism still ramps up under load.
bool BusCore::wakeNeededLocked() {
  if (idle_workers_ > signaled_workers_ && signaled_workers_ == 0) {
    ++signaled_workers_;
    return true;
  }
  return false;
}

void BusCore::takeLocked(Ring<Event>& source, std::size_t count, std::vector<Event>& batch) {
  for (std::size_t i = 0; i < count; ++i) {
    batch.push_back(source.pop());
  }
  queued_ -= count;
  in_flight_ += count;
}

void BusCore::afterTakeLocked() {
  if (waiting_publishers_ > 0) {
    space_cv_.notify_all();
  }
  const bool more_work = !ready_.empty() || !unordered_.empty() || !resumed_.empty();
  if (more_work && wakeNeededLocked()) {
    work_cv_.notify_one();
  }
}

void BusCore::settleLocked(Conversation* conversation, std::size_t taken, RunResult result) {
  // Events left behind by a detached run stay in flight inside their AsyncCall.
  const std::size_t finished = result.detached ? result.completed : taken;
  in_flight_ -= finished;
  handled_ += result.completed;
  if (handled_metric_ != nullptr) {
    handled_metric_->inc(result.completed);
  }
  if (!result.detached && result.completed < taken) {  // abandoned at the drain deadline
    dropped_ += taken - result.completed;
    if (dropped_metric_ != nullptr) {
      dropped_metric_->inc(taken - result.completed);
    }
  }
  if (conversation != nullptr && !result.detached) {
    if (!conversation->pending.empty()) {
      ready_.push(conversation);  // back of the line: other conversations go first
    } else {
      releaseLocked(conversation);
    }
  }
  if (phase_ == Phase::kDraining && queued_ == 0 && in_flight_ == 0) {
    drained_cv_.notify_all();
  }
}

BusCore::RunResult BusCore::run(Conversation* conversation, std::vector<Event>& batch,
                                std::size_t first_event, std::size_t first_handler,
                                const Snapshot& subscriptions) {
  RunResult result;
  const SubscriptionList& subs = *subscriptions;
  std::size_t handler_start = first_handler;
  for (std::size_t i = first_event; i < batch.size(); ++i, handler_start = 0) {
    if (abandon_.load(std::memory_order_relaxed)) {
      return result;
    }
    // Stays valid across invokeAsync: moving the vector keeps its elements in place.
    const Event& event = batch[i];
    log::RequestScope scope(event.request_id);
    for (std::size_t h = handler_start; h < subs.size(); ++h) {
      const Subscription& sub = subs[h];
      if (!sub.matches(event.type)) {
        continue;
      }
      if (sub.handler) {
        invokeSync(sub, event);
      } else if (!invokeAsync(conversation, batch, i, h, subscriptions)) {
        result.detached = true;
        return result;
      }
    }
    ++result.completed;
  }
  return result;
}

void BusCore::invokeSync(const Subscription& sub, const Event& event) {
  const auto started = sub.seconds != nullptr ? std::chrono::steady_clock::now()
                                              : std::chrono::steady_clock::time_point{};
  try {
    sub.handler(event);
  } catch (const std::exception& e) {
    reportError(sub, event, e.what());
  } catch (...) {
    reportError(sub, event, "unknown exception (not derived from std::exception)");
  }
  if (sub.seconds != nullptr) {
    sub.seconds->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
}

// The handshake: the call starts kRunning. If done() runs before the handler returns, it
// flips the state to kCompleted and the worker simply carries on. Otherwise the worker flips
// it to kDetached, gives up the call and moves on; the later done() sees kDetached and
// hands the call (and with it the conversation) back to the workers via resumeLocked().
bool BusCore::invokeAsync(Conversation* conversation, std::vector<Event>& batch,
                          std::size_t event_index, std::size_t handler_index,
                          const Snapshot& subscriptions) {
  auto call = std::make_unique<AsyncCall>();
  call->core = shared_from_this();
  call->conversation = conversation;
  call->subscriptions = subscriptions;
  call->batch = std::move(batch);
  call->event_index = event_index;
  call->handler_index = handler_index;
  call->started = std::chrono::steady_clock::now();

  AsyncCall* raw = call.release();
  const Subscription& sub = (*subscriptions)[handler_index];
  const Event& event = raw->batch[event_index];
  try {
    sub.async_handler(event, Done(raw));
  } catch (const std::exception& e) {
    reportError(sub, event, e.what());
  } catch (...) {
    reportError(sub, event, "unknown exception (not derived from std::exception)");
  }
  int expected = kRunning;
  if (raw->state.compare_exchange_strong(expected, kDetached, std::memory_order_acq_rel)) {
    return false;  // `raw` now belongs to the pending done()
  }
  std::unique_ptr<AsyncCall> owned(raw);
  batch = std::move(owned->batch);
  return true;
}

void BusCore::complete(AsyncCall* call, bool dropped) {
  const Subscription& sub = (*call->subscriptions)[call->handler_index];
  if (dropped && std::uncaught_exceptions() == 0) {
    const Event& event = call->batch[call->event_index];
    logger_->warn(
        "async handler '{}' dropped its done() for event '{}' (conversation '{}') "
        "without calling it; completing it now",
        sub.name, event.type, event.conversation);
  }
  if (sub.seconds != nullptr) {
    sub.seconds->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - call->started).count());
  }
  int expected = kRunning;
  if (call->state.compare_exchange_strong(expected, kCompleted, std::memory_order_acq_rel)) {
    return;  // the worker is still inside the handler call and continues by itself
  }
  std::unique_ptr<AsyncCall> owned(call);
  std::unique_lock lock(mu_);
  resumeLocked(std::move(owned));
  const bool wake = wakeNeededLocked();
  lock.unlock();
  if (wake) {
    work_cv_.notify_one();
  }
}

void BusCore::resumeLocked(std::unique_ptr<AsyncCall> call) {
  if (phase_ == Phase::kStopped || abandon_.load()) {
    const std::size_t remaining = call->batch.size() - call->event_index;
    in_flight_ -= remaining;
    dropped_ += remaining;
    if (dropped_metric_ != nullptr) {
      dropped_metric_->inc(remaining);
    }
    return;
  }
  if (call->conversation != nullptr) {
    Conversation* conversation = call->conversation;
    conversation->resume = std::move(call);
    ready_.push(conversation);
  } else {
    resumed_.push(std::move(call));
  }
}

void BusCore::reportError(const Subscription& sub, const Event& event, std::string_view what) {
  handler_errors_.fetch_add(1, std::memory_order_relaxed);
  if (sub.errors != nullptr) {
    sub.errors->inc();
  }
  logger_->error("handler '{}' failed on event '{}' (conversation '{}'): {}", sub.name, event.type,
                 event.conversation, what);
}

Conversation* BusCore::conversationLocked(const std::string& key) {
  auto it = conversations_.find(key);
  if (it != conversations_.end()) {
    return &it->second;
  }
  if (conversations_.size() >= sweep_mark_) {
    std::erase_if(conversations_, [](const auto& entry) { return !entry.second.active; });
    sweep_mark_ = std::max(kMinSweepMark, conversations_.size() * 2);
  }
  auto [position, inserted] = conversations_.try_emplace(key);
  return &position->second;
}

void BusCore::releaseLocked(Conversation* conversation) {
  conversation->active = false;
  if (conversation->pending.capacity() > kMaxRetainedQueue) {
    conversation->pending.reset();
  }
}

std::size_t BusCore::dropAllLocked() {
  std::size_t dropped = queued_;
  while (!unordered_.empty()) {
    unordered_.pop();
  }
  while (!ready_.empty()) {
    ready_.pop();
  }
  std::vector<std::unique_ptr<AsyncCall>> calls;
  while (!resumed_.empty()) {
    calls.push_back(resumed_.pop());
  }
  for (auto& [key, conversation] : conversations_) {
    while (!conversation.pending.empty()) {
      conversation.pending.pop();
    }
    if (conversation.resume != nullptr) {
      calls.push_back(std::move(conversation.resume));
    }
  }
  for (const auto& call : calls) {
    const std::size_t remaining = call->batch.size() - call->event_index;
    in_flight_ -= remaining;
    dropped += remaining;
  }
  queued_ = 0;
  dropped_ += dropped;
  if (dropped_metric_ != nullptr) {
    dropped_metric_->inc(dropped);
  }
  return dropped;
}

}  // namespace detail

Done::Done(Done&& other) noexcept : call_(std::exchange(other.call_, nullptr)) {}

Done& Done::operator=(Done&& other) noexcept {
  if (this != &other) {
    complete(true);
    call_ = std::exchange(other.call_, nullptr);
  }
  return *this;
}

Done::~Done() {
  complete(true);
}

void Done::operator()() {
  complete(false);
}

void Done::complete(bool dropped) {
  detail::AsyncCall* call = std::exchange(call_, nullptr);
  if (call == nullptr) {
    return;
  }
  // Hold the bus state: completing may destroy `call` and with it the last other reference.
  const std::shared_ptr<detail::BusCore> core = call->core;
  core->complete(call, dropped);
}

EventBus::EventBus(Options options) : core_(std::make_shared<detail::BusCore>(options)) {}

EventBus::~EventBus() {
  core_->stop(detail::kDestructorDrain);
  core_->removeCollector();
}

uint64_t EventBus::subscribe(std::string pattern, Handler handler, std::string name) {
  return core_->subscribe(std::move(pattern), std::move(handler), nullptr, std::move(name));
}

uint64_t EventBus::subscribeAsync(std::string pattern, AsyncHandler handler, std::string name) {
  return core_->subscribe(std::move(pattern), nullptr, std::move(handler), std::move(name));
}

uint64_t EventBus::subscribeWhenHandled(std::string pattern, Handler handler, std::string name) {
  return core_->subscribe(std::move(pattern), std::move(handler), nullptr, std::move(name),
                          /*after_all=*/true);
}

bool EventBus::hasSubscribers(const std::string& type) const {
  return core_->hasSubscribers(type);
}

void EventBus::unsubscribe(uint64_t id) {
  core_->unsubscribe(id);
}

EventBus::PublishResult EventBus::tryPublish(Event event) {
  return core_->publish(std::move(event), std::chrono::milliseconds(0));
}

EventBus::PublishResult EventBus::publish(Event event, std::chrono::milliseconds max_wait) {
  return core_->publish(std::move(event), max_wait);
}

void EventBus::start() {
  core_->start();
}

void EventBus::stop(std::chrono::milliseconds drain_timeout) {
  core_->stop(drain_timeout);
}

EventBus::Stats EventBus::stats() const {
  return core_->stats();
}

}  // namespace waflow::core::bus
