// waflow::Host — the services the daemon gives one plugin instance.
//
// A Host wraps the waflow_host_api table the instance received at creation:
// logging tagged with the instance, outbound HTTP and timers on the daemon's
// event loop (awaitable from a Task), publishing and subscribing to bus
// events, and secret registration. It is the only way a plugin reaches the
// daemon.
//
// Thread-safety: every member function may be called from any thread.
// Awaiting http() or sleep() resumes the coroutine on a host thread.
#pragma once

#include <waflow/sdk/abi.h>
#include <waflow/sdk/task.hpp>
#include <waflow/sdk/types.hpp>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace waflow {

// True when a struct written by the other side is big enough to hold `field`.
#define WAFLOW_HAS_FIELD(ptr, type, field) \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)nullptr)->field))

class Host {
 public:
  explicit Host(const waflow_host_api* api) : api_(api) {}
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  std::string_view instanceId() const { return view(api_->instance_id); }
  // A directory this instance may write to; it exists.
  std::string_view dataDir() const { return view(api_->data_dir); }

  void log(waflow_log_level level, std::string_view message) const {
    api_->log(api_->ctx, level, abiStr(message));
  }
  void trace(std::string_view m) const { log(WAFLOW_LOG_TRACE, m); }
  void debug(std::string_view m) const { log(WAFLOW_LOG_DEBUG, m); }
  void info(std::string_view m) const { log(WAFLOW_LOG_INFO, m); }
  void warn(std::string_view m) const { log(WAFLOW_LOG_WARN, m); }
  void error(std::string_view m) const { log(WAFLOW_LOG_ERROR, m); }

  // `co_await host.http(request)`: never throws for HTTP or transport errors;
  // inspect the response's error and status.
  class HttpAwaitable {
   public:
    HttpAwaitable(const waflow_host_api* api, HttpRequest request)
        : api_(api), request_(std::move(request)) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> handle) {
      handle_ = handle;
      std::vector<waflow_header> headers;
      headers.reserve(request_.headers.size());
      for (const auto& [name, value] : request_.headers) {
        headers.push_back({abiStr(name), abiStr(value)});
      }
      waflow_http_request r{};
      r.struct_size = sizeof(r);
      r.method = abiStr(request_.method);
      r.url = abiStr(request_.url);
      r.headers = headers.data();
      r.header_count = headers.size();
      r.body = abiStr(request_.body);
      r.timeout_ms = static_cast<uint32_t>(request_.timeout.count());
      r.flags = request_.verify_tls ? 0u : WAFLOW_HTTP_INSECURE_SKIP_TLS_VERIFY;
      r.response_file = abiStr(request_.response_file);
      r.max_response_bytes = request_.max_response_bytes;
      api_->http_send(api_->ctx, &r, &HttpAwaitable::onDone, this);
    }
    HttpResponse await_resume() { return std::move(response_); }

   private:
    static void onDone(void* user, const waflow_http_response* r) {
      auto* self = static_cast<HttpAwaitable*>(user);
      self->response_.status = r->status;
      self->response_.error = static_cast<waflow_http_error>(r->error);
      self->response_.error_message = std::string(view(r->error_message));
      self->response_.body = std::string(view(r->body));
      self->response_.elapsed = std::chrono::microseconds(r->elapsed_us);
      if (r->struct_size >= offsetof(waflow_http_response, request_sent) + sizeof(uint32_t)) {
        self->response_.request_sent = r->request_sent != 0;
      }
      for (std::size_t i = 0; i < r->header_count; ++i) {
        self->response_.headers.emplace_back(std::string(view(r->headers[i].name)),
                                             std::string(view(r->headers[i].value)));
      }
      self->handle_.resume();
    }
    const waflow_host_api* api_;
    HttpRequest request_;
    HttpResponse response_;
    std::coroutine_handle<> handle_;
  };
  HttpAwaitable http(HttpRequest request) const { return HttpAwaitable(api_, std::move(request)); }

  // `co_await host.sleep(250ms)`.
  class SleepAwaitable {
   public:
    SleepAwaitable(const waflow_host_api* api, std::chrono::milliseconds delay)
        : api_(api), delay_(delay) {}
    bool await_ready() const noexcept { return delay_.count() <= 0; }
    void await_suspend(std::coroutine_handle<> handle) {
      handle_ = handle;
      api_->timer_start(api_->ctx, static_cast<uint64_t>(delay_.count()), &SleepAwaitable::onFire,
                        this);
    }
    void await_resume() const noexcept {}

   private:
    static void onFire(void* user, int32_t /*cancelled*/) {
      static_cast<SleepAwaitable*>(user)->handle_.resume();
    }
    const waflow_host_api* api_;
    std::chrono::milliseconds delay_;
    std::coroutine_handle<> handle_;
  };
  SleepAwaitable sleep(std::chrono::milliseconds delay) const {
    return SleepAwaitable(api_, delay);
  }

  // Calls `fn(cancelled)` once after `delay`, or with true after cancelTimer().
  uint64_t startTimer(std::chrono::milliseconds delay,
                      std::function<void(bool cancelled)> fn) const {
    auto* heap = new std::function<void(bool)>(std::move(fn));
    return api_->timer_start(
        api_->ctx, static_cast<uint64_t>(delay.count() < 0 ? 0 : delay.count()),
        [](void* user, int32_t cancelled) {
          std::unique_ptr<std::function<void(bool)>> f(
              static_cast<std::function<void(bool)>*>(user));
          (*f)(cancelled != 0);
        },
        heap);
  }
  void cancelTimer(uint64_t id) const { api_->timer_cancel(api_->ctx, id); }

  // Runs fn on a host thread soon (never inline).
  void post(std::function<void()> fn) const {
    auto* heap = new std::function<void()>(std::move(fn));
    api_->post(
        api_->ctx,
        [](void* user) {
          std::unique_ptr<std::function<void()>> f(static_cast<std::function<void()>*>(user));
          (*f)();
        },
        heap);
  }

  // Publishes an event on the daemon's bus. Returns false when the bus is full.
  bool publish(const Event& event) const {
    waflow_event e{};
    e.struct_size = sizeof(e);
    e.type = abiStr(event.type);
    e.conversation = abiStr(event.conversation);
    e.payload_json = abiStr(event.payload_json);
    e.request_id = abiStr(event.request_id);
    return api_->publish(api_->ctx, &e) == WAFLOW_OK;
  }

  // Calls `fn` for every bus event matching `pattern` ("order.paid",
  // "message.*", "*") until unsubscribe() or the instance is destroyed.
  uint64_t subscribe(std::string_view pattern, std::function<void(const Event&)> fn) {
    auto holder = std::make_unique<std::function<void(const Event&)>>(std::move(fn));
    uint64_t id = api_->subscribe(
        api_->ctx, abiStr(pattern),
        [](void* user, const waflow_event* e) {
          Event ev{std::string(view(e->type)), std::string(view(e->conversation)),
                   std::string(view(e->payload_json)), std::string(view(e->request_id))};
          (*static_cast<std::function<void(const Event&)>*>(user))(ev);
        },
        holder.get());
    std::lock_guard lock(mutex_);
    subscriptions_.push_back(std::move(holder));
    return id;
  }
  void unsubscribe(uint64_t id) { api_->unsubscribe(api_->ctx, id); }

  // Adds `delta` to this instance's counter `name` ([a-z0-9_]{1,64}), shown at /metrics as
  // waflow_plugin_events_total{instance,plugin,event="<name>"}. Does nothing on a host older
  // than ABI 1.2.
  void count(std::string_view name, uint64_t delta = 1) const {
    if (WAFLOW_HAS_FIELD(api_, waflow_host_api, count) && api_->count != nullptr) {
      api_->count(api_->ctx, abiStr(name), delta);
    }
  }

  // A value learned at run time that must never be logged.
  void registerSecret(std::string_view value) const {
    api_->register_secret(api_->ctx, abiStr(value));
  }

  const waflow_host_api* abi() const noexcept { return api_; }

 private:
  const waflow_host_api* api_;
  std::mutex mutex_;
  // Kept until the instance is destroyed: the host may still be delivering an
  // event when unsubscribe() returns.
  std::vector<std::unique_ptr<std::function<void(const Event&)>>> subscriptions_;
};

// A one-shot wake-up a coroutine can await with a timeout, e.g. a long poll
// waiting for the next reply. Copies share the same state.
//
// Thread-safety: notify() and wait() may race from any threads.
class Signal {
 public:
  Signal() : state_(std::make_shared<State>()) {}

  // Wakes every current and future waiter.
  void notify() {
    std::vector<Waiter*> woken;
    {
      std::lock_guard lock(state_->mutex);
      state_->notified = true;
      woken.swap(state_->waiters);
    }
    for (Waiter* w : woken) {
      w->result = true;
      w->host->cancelTimer(w->timer);  // its callback sees the waiter gone
      w->host->post([h = w->handle] { h.resume(); });
    }
  }
  bool notified() const {
    std::lock_guard lock(state_->mutex);
    return state_->notified;
  }

  // `co_await signal.wait(host, 25s)`: true when notified, false on timeout.
  auto wait(const Host& host, std::chrono::milliseconds timeout) {
    struct Awaitable {
      std::shared_ptr<State> state;
      Waiter waiter;
      bool await_ready() {
        std::lock_guard lock(state->mutex);
        waiter.result = state->notified;  // already notified: resume at once with true
        return waiter.result;
      }
      bool await_suspend(std::coroutine_handle<> h) {
        waiter.handle = h;
        std::lock_guard lock(state->mutex);
        if (state->notified) {
          waiter.result = true;
          return false;
        }
        state->waiters.push_back(&waiter);
        auto* self = this;
        auto st = state;
        waiter.timer = waiter.host->startTimer(timeout, [st, self](bool cancelled) {
          if (cancelled) {
            return;
          }
          {
            std::lock_guard l(st->mutex);
            auto& ws = st->waiters;
            auto it = std::find(ws.begin(), ws.end(), &self->waiter);
            if (it == ws.end()) {
              return;  // notify() got there first
            }
            ws.erase(it);
          }
          self->waiter.result = false;
          self->waiter.handle.resume();
        });
        return true;
      }
      bool await_resume() const noexcept { return waiter.result; }
      std::chrono::milliseconds timeout;
    };
    Awaitable a{state_, Waiter{}, timeout};
    a.waiter.host = &host;
    return a;
  }

 private:
  struct Waiter {
    const Host* host = nullptr;
    std::coroutine_handle<> handle;
    uint64_t timer = 0;
    bool result = false;
  };
  struct State {
    mutable std::mutex mutex;
    bool notified = false;
    std::vector<Waiter*> waiters;
  };
  std::shared_ptr<State> state_;
};

}  // namespace waflow
