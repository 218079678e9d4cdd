#include <utility>  // before Asio: g++ 12 coroutine workaround (see design.md)

#include "test_host.h"

#include "http_client/http_client.h"
#include "plugin/http_bridge.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace waflow::test {
namespace {

namespace asio = boost::asio;
using core::ClientRequest;
using core::ClientResponse;

const char* levelName(int32_t level) {
  switch (level) {
    case WAFLOW_LOG_TRACE:
      return "trace";
    case WAFLOW_LOG_DEBUG:
      return "debug";
    case WAFLOW_LOG_INFO:
      return "info";
    case WAFLOW_LOG_WARN:
      return "warn";
    default:
      return "error";
  }
}

bool matches(const std::string& pattern, const std::string& type) {
  if (pattern == "*") {
    return true;
  }
  if (pattern.size() >= 2 && pattern.ends_with(".*")) {
    return type.starts_with(pattern.substr(0, pattern.size() - 1));
  }
  return pattern == type;
}

}  // namespace

struct TestHost::Impl {
  std::string data_dir;
  std::string instance_id;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::unique_ptr<core::HttpClient> http;
  std::thread thread;
  waflow_host_api api{};

  mutable std::mutex mutex;
  std::map<uint64_t, std::shared_ptr<asio::steady_timer>> timers;
  uint64_t next_timer = 0;
  struct Subscription {
    std::string pattern;
    waflow_event_callback callback;
    void* user;
  };
  std::map<uint64_t, Subscription> subscriptions;
  uint64_t next_subscription = 0;
  std::vector<std::string> logs;
  std::vector<waflow::Event> events;
  std::vector<std::string> secrets;
  std::map<std::string, uint64_t> counts;
  std::atomic<uint64_t> http_requests{0};

  static Impl& of(waflow_host_ctx* ctx) { return *reinterpret_cast<Impl*>(ctx); }

  static void log(waflow_host_ctx* ctx, int32_t level, waflow_str message) {
    Impl& self = of(ctx);
    std::lock_guard lock(self.mutex);
    self.logs.push_back(std::string(levelName(level)) + ": " + std::string(view(message)));
  }

  static uint64_t httpSend(waflow_host_ctx* ctx, const waflow_http_request* r,
                           waflow_http_callback callback, void* user) {
    Impl& self = of(ctx);
    self.http_requests.fetch_add(1);
    ClientRequest req = core::plugin::clientRequestFrom(*r);
    return self.http->send(std::move(req), [callback, user](ClientResponse resp) {
      core::plugin::deliverResponse(resp, callback, user);
    });
  }

  static void httpCancel(waflow_host_ctx* ctx, uint64_t id) { of(ctx).http->cancel(id); }

  static uint64_t timerStart(waflow_host_ctx* ctx, uint64_t delay_ms,
                             waflow_timer_callback callback, void* user) {
    Impl& self = of(ctx);
    auto timer = std::make_shared<asio::steady_timer>(self.ioc);
    timer->expires_after(std::chrono::milliseconds(delay_ms));
    uint64_t id;
    {
      std::lock_guard lock(self.mutex);
      id = ++self.next_timer;
      self.timers[id] = timer;
    }
    timer->async_wait([&self, id, timer, callback, user](const boost::system::error_code& ec) {
      {
        std::lock_guard lock(self.mutex);
        self.timers.erase(id);
      }
      callback(user, ec ? 1 : 0);
    });
    return id;
  }

  static void timerCancel(waflow_host_ctx* ctx, uint64_t id) {
    Impl& self = of(ctx);
    std::shared_ptr<asio::steady_timer> timer;
    {
      std::lock_guard lock(self.mutex);
      auto it = self.timers.find(id);
      if (it == self.timers.end()) {
        return;
      }
      timer = it->second;
    }
    asio::post(self.ioc, [timer] { timer->cancel(); });
  }

  static int32_t publish(waflow_host_ctx* ctx, const waflow_event* e) {
    Impl& self = of(ctx);
    waflow::Event ev{std::string(view(e->type)), std::string(view(e->conversation)),
                     e->payload_json.size > 0 ? std::string(view(e->payload_json)) : "{}",
                     std::string(view(e->request_id))};
    if (ev.type.empty()) {
      return WAFLOW_ERR_INVALID;
    }
    std::vector<Subscription> targets;
    {
      std::lock_guard lock(self.mutex);
      self.events.push_back(ev);
      for (const auto& [id, sub] : self.subscriptions) {
        if (matches(sub.pattern, ev.type)) {
          targets.push_back(sub);
        }
      }
    }
    for (const Subscription& sub : targets) {
      asio::post(self.ioc, [sub, ev] {
        waflow_event out{};
        out.struct_size = sizeof(out);
        out.type = abiStr(ev.type);
        out.conversation = abiStr(ev.conversation);
        out.payload_json = abiStr(ev.payload_json);
        out.request_id = abiStr(ev.request_id);
        sub.callback(sub.user, &out);
      });
    }
    return WAFLOW_OK;
  }

  static uint64_t subscribe(waflow_host_ctx* ctx, waflow_str pattern,
                            waflow_event_callback callback, void* user) {
    Impl& self = of(ctx);
    std::lock_guard lock(self.mutex);
    uint64_t id = ++self.next_subscription;
    self.subscriptions[id] = {std::string(view(pattern)), callback, user};
    return id;
  }

  static void unsubscribe(waflow_host_ctx* ctx, uint64_t id) {
    Impl& self = of(ctx);
    std::lock_guard lock(self.mutex);
    self.subscriptions.erase(id);
  }

  static void registerSecret(waflow_host_ctx* ctx, waflow_str value) {
    Impl& self = of(ctx);
    std::lock_guard lock(self.mutex);
    self.secrets.emplace_back(view(value));
  }

  static void count(waflow_host_ctx* ctx, waflow_str name, uint64_t delta) {
    Impl& self = of(ctx);
    std::lock_guard lock(self.mutex);
    self.counts[std::string(view(name))] += delta;
  }

  static void post(waflow_host_ctx* ctx, void (*fn)(void*), void* user) {
    asio::post(of(ctx).ioc, [fn, user] { fn(user); });
  }
};

namespace {
const waflow_host_api* buildApi(TestHost::Impl& impl) {
  waflow_host_api& a = impl.api;
  a.struct_size = sizeof(a);
  a.abi_major = WAFLOW_ABI_MAJOR;
  a.abi_minor = WAFLOW_ABI_MINOR;
  a.ctx = reinterpret_cast<waflow_host_ctx*>(&impl);
  a.instance_id = abiStr(impl.instance_id);
  a.data_dir = abiStr(impl.data_dir);
  a.log = &TestHost::Impl::log;
  a.http_send = &TestHost::Impl::httpSend;
  a.http_cancel = &TestHost::Impl::httpCancel;
  a.timer_start = &TestHost::Impl::timerStart;
  a.timer_cancel = &TestHost::Impl::timerCancel;
  a.publish = &TestHost::Impl::publish;
  a.subscribe = &TestHost::Impl::subscribe;
  a.unsubscribe = &TestHost::Impl::unsubscribe;
  a.register_secret = &TestHost::Impl::registerSecret;
  a.post = &TestHost::Impl::post;
  a.count = &TestHost::Impl::count;
  return &a;
}

std::unique_ptr<TestHost::Impl> makeImpl(std::string data_dir, std::string instance_id) {
  auto impl = std::make_unique<TestHost::Impl>();
  impl->data_dir = std::move(data_dir);
  impl->instance_id = std::move(instance_id);
  core::ClientOptions options;
  options.max_response_bytes = 256 * 1024 * 1024;
  impl->http = std::make_unique<core::HttpClient>(impl->ioc, options);
  buildApi(*impl);
  impl->thread = std::thread([raw = impl.get()] { raw->ioc.run(); });
  return impl;
}
}  // namespace

TestHost::TestHost(std::string data_dir, std::string instance_id)
    : impl_(makeImpl(std::move(data_dir), std::move(instance_id))), host_(&impl_->api) {}

TestHost::~TestHost() {
  // Deliver kShutdown to pending requests and cancel timers so their callbacks run once, then let
  // the loop drain; stop it outright if something keeps it busy.
  impl_->http->shutdown();
  asio::post(impl_->ioc, [impl = impl_.get()] {
    std::lock_guard lock(impl->mutex);
    for (auto& [id, timer] : impl->timers) {
      timer->cancel();
    }
  });
  impl_->work.reset();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!impl_->ioc.stopped() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->ioc.stop();
  impl_->thread.join();
  impl_->http.reset();
}

const waflow_host_api* TestHost::api() const {
  return &impl_->api;
}

std::vector<std::string> TestHost::logs() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->logs;
}

std::vector<waflow::Event> TestHost::published() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->events;
}

std::vector<std::string> TestHost::secrets() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->secrets;
}

uint64_t TestHost::counted(const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->counts.find(name);
  return it == impl_->counts.end() ? 0 : it->second;
}

uint64_t TestHost::httpRequests() const {
  return impl_->http_requests.load();
}

}  // namespace waflow::test
