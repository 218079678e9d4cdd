// The header-only SDK layer on its own: Task and spawn, exception transport,
// query decoding, and Signal (driven by a tiny in-test host table).
#include <waflow/sdk/plugin.hpp>

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace {

waflow::Task<int> answer() {
  co_return 42;
}
waflow::Task<int> sum() {
  int a = co_await answer();
  int b = co_await answer();
  co_return a + b;
}
waflow::Task<int> failing() {
  co_await answer();
  throw waflow::Error(waflow::Rc::kRetry, "slow down", std::chrono::milliseconds(250));
}
waflow::Task<void> nothing() {
  co_return;
}

TEST(SdkTask, NestedAwaitsProduceTheValue) {
  std::optional<int> got;
  waflow::spawn(sum(), [&](std::optional<int> v, std::exception_ptr e) {
    EXPECT_FALSE(e);
    got = v;
  });
  EXPECT_EQ(got, 84);
}

TEST(SdkTask, ExceptionsTravelToTheAwaiterAndBecomeFailures) {
  std::exception_ptr error;
  waflow::spawn(failing(), [&](std::optional<int> v, std::exception_ptr e) {
    EXPECT_FALSE(v.has_value());
    error = e;
  });
  ASSERT_TRUE(error);
  auto failure = waflow::detail::describe(error);
  EXPECT_EQ(failure.code, waflow::Rc::kRetry);
  EXPECT_EQ(failure.message, "slow down");
  EXPECT_EQ(failure.retry_after_ms, 250u);
}

TEST(SdkTask, VoidTasksComplete) {
  bool done = false;
  waflow::spawn(nothing(), [&](std::exception_ptr e) {
    EXPECT_FALSE(e);
    done = true;
  });
  EXPECT_TRUE(done);
}

TEST(SdkTask, LongChainsDoNotGrowTheStack) {
#if defined(__SANITIZE_ADDRESS__)
  // Symmetric transfer is a tail call, which g++ makes only when optimizing and never under
  // AddressSanitizer: the property holds for the shipped builds, not for this one.
  GTEST_SKIP() << "symmetric transfer needs the tail calls an AddressSanitizer build lacks";
#endif
  // Symmetric transfer: 100,000 nested awaits would overflow a naive stack.
  struct Chain {
    static waflow::Task<int> depth(int n) {
      if (n == 0) {
        co_return 0;
      }
      co_return 1 + co_await depth(n - 1);
    }
  };
  std::optional<int> got;
  waflow::spawn(Chain::depth(100000), [&](std::optional<int> v, std::exception_ptr) { got = v; });
  EXPECT_EQ(got, 100000);
}

TEST(SdkTypes, QueryParametersArePercentDecoded) {
  waflow::WebhookRequest r;
  r.query = "hub.mode=subscribe&hub.challenge=a%20b+c&empty=&flag&x=%zz";
  EXPECT_EQ(r.queryParam("hub.mode"), "subscribe");
  EXPECT_EQ(r.queryParam("hub.challenge"), "a b c");
  EXPECT_EQ(r.queryParam("empty"), "");
  EXPECT_EQ(r.queryParam("flag"), "");
  EXPECT_EQ(r.queryParam("x"), "%zz");
  EXPECT_FALSE(r.queryParam("missing").has_value());
}

TEST(SdkTypes, HeadersAreCaseInsensitive) {
  waflow::HttpResponse r;
  r.headers = {{"retry-after", "3"}};
  EXPECT_EQ(r.header("Retry-After"), "3");
  EXPECT_FALSE(r.header("X-Other").has_value());
}

// A minimal host: timers and posts run on one thread, in order.
class FakeHost {
 public:
  FakeHost() : thread_([this] { loop(); }) {
    api_.struct_size = sizeof(api_);
    api_.ctx = reinterpret_cast<waflow_host_ctx*>(this);
    api_.timer_start = [](waflow_host_ctx* c, uint64_t ms, waflow_timer_callback cb, void* u) {
      return self(c)->add(ms, cb, u);
    };
    api_.timer_cancel = [](waflow_host_ctx* c, uint64_t id) { self(c)->cancel(id); };
    api_.post = [](waflow_host_ctx* c, void (*fn)(void*), void* u) {
      self(c)->add(
          0, [](void* p, int32_t) { reinterpret_cast<Post*>(p)->run(); }, new Post{fn, u});
    };
  }
  ~FakeHost() {
    {
      std::lock_guard l(m_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  const waflow_host_api* api() const { return &api_; }

 private:
  struct Post {
    void (*fn)(void*);
    void* user;
    void run() {
      fn(user);
      delete this;
    }
  };
  struct Timer {
    std::chrono::steady_clock::time_point due;
    waflow_timer_callback cb;
    void* user;
    bool cancelled = false;
  };
  static FakeHost* self(waflow_host_ctx* c) { return reinterpret_cast<FakeHost*>(c); }
  uint64_t add(uint64_t ms, waflow_timer_callback cb, void* user) {
    std::lock_guard l(m_);
    timers_[++next_] = {std::chrono::steady_clock::now() + std::chrono::milliseconds(ms), cb, user};
    cv_.notify_all();
    return next_;
  }
  void cancel(uint64_t id) {
    std::lock_guard l(m_);
    if (auto it = timers_.find(id); it != timers_.end()) {
      it->second.cancelled = true;
      it->second.due = std::chrono::steady_clock::now();
      cv_.notify_all();
    }
  }
  void loop() {
    std::unique_lock l(m_);
    while (!stop_ || !timers_.empty()) {
      auto now = std::chrono::steady_clock::now();
      auto it = std::min_element(timers_.begin(), timers_.end(),
                                 [](auto& a, auto& b) { return a.second.due < b.second.due; });
      if (it == timers_.end()) {
        cv_.wait(l);
        continue;
      }
      if (it->second.due > now) {
        cv_.wait_until(l, it->second.due);
        continue;
      }
      Timer t = it->second;
      timers_.erase(it);
      l.unlock();
      t.cb(t.user, t.cancelled ? 1 : 0);
      l.lock();
    }
  }
  waflow_host_api api_{};
  std::mutex m_;
  std::condition_variable cv_;
  std::map<uint64_t, Timer> timers_;
  uint64_t next_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

waflow::Task<bool> waitOn(waflow::Signal s, const waflow::Host& host, int ms) {
  co_return co_await s.wait(host, std::chrono::milliseconds(ms));
}

TEST(SdkSignal, NotifyWakesAWaiterBeforeItsTimeout) {
  FakeHost fake;
  waflow::Host host(fake.api());
  waflow::Signal signal;
  std::promise<bool> result;
  waflow::spawn(waitOn(signal, host, 60000),
                [&](std::optional<bool> v, std::exception_ptr) { result.set_value(*v); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  signal.notify();
  // true = notified; a timeout would answer false (and only after a minute).
  EXPECT_TRUE(result.get_future().get());
}

TEST(SdkSignal, TimeoutWithoutNotify) {
  FakeHost fake;
  waflow::Host host(fake.api());
  waflow::Signal signal;
  std::promise<bool> result;
  waflow::spawn(waitOn(signal, host, 30),
                [&](std::optional<bool> v, std::exception_ptr) { result.set_value(*v); });
  EXPECT_FALSE(result.get_future().get());
}

TEST(SdkSignal, AlreadyNotifiedDoesNotWait) {
  FakeHost fake;
  waflow::Host host(fake.api());
  waflow::Signal signal;
  signal.notify();
  std::optional<bool> got;
  waflow::spawn(waitOn(signal, host, 5000),
                [&](std::optional<bool> v, std::exception_ptr) { got = v; });
  EXPECT_EQ(got, true);  // completed inline, no timer involved
}

}  // namespace
