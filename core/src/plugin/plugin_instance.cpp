#include "plugin/plugin_instance.h"

#include "plugin/http_bridge.h"

#include "log/log.h"

#include <boost/asio/post.hpp>

#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace waflow::core::plugin {

using waflow::abiStr;
using waflow::view;

namespace {

PluginInstance& instanceOf(waflow_host_ctx* ctx) {
  return *reinterpret_cast<PluginInstance*>(ctx);
}

spdlog::level::level_enum toSpdlog(int32_t level) {
  switch (level) {
    case WAFLOW_LOG_TRACE:
      return spdlog::level::trace;
    case WAFLOW_LOG_DEBUG:
      return spdlog::level::debug;
    case WAFLOW_LOG_INFO:
      return spdlog::level::info;
    case WAFLOW_LOG_WARN:
      return spdlog::level::warn;
    default:
      return spdlog::level::err;
  }
}

std::vector<waflow_header> abiHeaders(const std::vector<std::pair<std::string, std::string>>& h) {
  std::vector<waflow_header> out;
  out.reserve(h.size());
  for (const auto& [k, v] : h) {
    out.push_back({abiStr(k), abiStr(v)});
  }
  return out;
}

// The state of one webhook exchange between the daemon and a channel plugin:
// the sink the plugin writes to, and what it collected.
struct WebhookExchange {
  waflow_webhook_sink sink{};
  std::mutex mutex;
  WebhookOutcome outcome;
  std::function<void(WebhookOutcome)> done;
  PluginInstance* instance = nullptr;
  std::function<void()> finished;  // releases the instance's outstanding count
};

int32_t sinkMessage(void* host, const waflow_inbound_message* m) {
  auto* ex = static_cast<WebhookExchange*>(host);
  waflow::InboundMessage msg;
  msg.id = std::string(view(m->id));
  msg.from = std::string(view(m->from));
  msg.from_user_id = std::string(view(m->from_user_id));
  msg.contact_name = std::string(view(m->contact_name));
  msg.type = std::string(view(m->type));
  msg.text = std::string(view(m->text));
  msg.reply_id = std::string(view(m->reply_id));
  msg.context_id = std::string(view(m->context_id));
  msg.recipient = std::string(view(m->recipient));
  msg.timestamp = m->timestamp;
  msg.raw_json = std::string(view(m->raw_json));
  if (msg.id.empty()) {
    return WAFLOW_ERR_INVALID;
  }
  std::lock_guard lock(ex->mutex);
  ex->outcome.messages.push_back(std::move(msg));
  return WAFLOW_OK;
}

int32_t sinkStatus(void* host, const waflow_status_update* s) {
  auto* ex = static_cast<WebhookExchange*>(host);
  waflow::StatusUpdate st;
  st.message_id = std::string(view(s->message_id));
  st.status = std::string(view(s->status));
  st.recipient = std::string(view(s->recipient));
  st.timestamp = s->timestamp;
  st.error_code = s->error_code;
  // A failed status carries the provider's error text: stored, published in message.status
  // and message.failed, so redacted like every error entering the core.
  const bool failed = s->error_code != 0 || s->error_message.size > 0;
  st.error_message = log::redacted(view(s->error_message));
  st.raw_json = failed ? log::redacted(view(s->raw_json)) : std::string(view(s->raw_json));
  std::lock_guard lock(ex->mutex);
  ex->outcome.statuses.push_back(std::move(st));
  return WAFLOW_OK;
}

void sinkRespond(void* host, int32_t status, waflow_str content_type, waflow_str body,
                 const waflow_header* headers, size_t header_count) {
  std::unique_ptr<WebhookExchange> ex(static_cast<WebhookExchange*>(host));
  WebhookOutcome outcome;
  {
    std::lock_guard lock(ex->mutex);
    outcome = std::move(ex->outcome);
  }
  outcome.response.status = (status >= 100 && status <= 599) ? status : 500;
  if (content_type.size > 0) {
    outcome.response.content_type = std::string(view(content_type));
  }
  outcome.response.body = std::string(view(body));
  for (size_t i = 0; i < header_count; ++i) {
    outcome.response.headers.emplace_back(std::string(view(headers[i].name)),
                                          std::string(view(headers[i].value)));
  }
  auto done = std::move(ex->done);
  auto finished = std::move(ex->finished);
  ex.reset();
  done(std::move(outcome));
  finished();
}

}  // namespace

// The C functions of waflow_host_api, with access to the instance's internals.
struct PluginInstance::Access {
  static void log(waflow_host_ctx* ctx, int32_t level, waflow_str message) {
    PluginInstance& self = instanceOf(ctx);
    if (level >= WAFLOW_LOG_ERROR) {
      self.errors_.fetch_add(1, std::memory_order_relaxed);
    }
    self.logger_->log(toSpdlog(level), "{}", view(message));
  }

  static uint64_t httpSend(waflow_host_ctx* ctx, const waflow_http_request* r,
                           waflow_http_callback callback, void* user) {
    PluginInstance& self = instanceOf(ctx);
    ClientRequest req = clientRequestFrom(*r);
    self.beginWork();
    return self.services_.http.send(std::move(req), [&self, callback, user](ClientResponse resp) {
      deliverResponse(resp, callback, user);
      self.endWork();
    });
  }

  static void count(waflow_host_ctx* ctx, waflow_str name, uint64_t delta) {
    instanceOf(ctx).counters_.add(view(name), delta);
  }

  static void httpCancel(waflow_host_ctx* ctx, uint64_t id) {
    instanceOf(ctx).services_.http.cancel(id);
  }

  static uint64_t timerStart(waflow_host_ctx* ctx, uint64_t delay_ms,
                             waflow_timer_callback callback, void* user) {
    PluginInstance& self = instanceOf(ctx);
    auto timer = std::make_shared<boost::asio::steady_timer>(self.services_.io);
    timer->expires_after(std::chrono::milliseconds(delay_ms));
    uint64_t id;
    {
      std::lock_guard lock(self.mutex_);
      id = ++self.next_timer_id_;
      self.timers_[id] = timer;
    }
    self.beginWork();
    timer->async_wait([&self, id, timer, callback, user](const boost::system::error_code& ec) {
      {
        std::lock_guard lock(self.mutex_);
        self.timers_.erase(id);
      }
      callback(user, ec ? 1 : 0);
      self.endWork();
    });
    return id;
  }

  static void timerCancel(waflow_host_ctx* ctx, uint64_t id) {
    PluginInstance& self = instanceOf(ctx);
    std::shared_ptr<boost::asio::steady_timer> timer;
    {
      std::lock_guard lock(self.mutex_);
      auto it = self.timers_.find(id);
      if (it == self.timers_.end()) {
        return;
      }
      timer = it->second;
    }
    // Cancelling from another thread races with the handler; post the cancel
    // onto the loop, where the timer's own operations run.
    boost::asio::post(self.services_.io, [timer] { timer->cancel(); });
  }

  static int32_t publish(waflow_host_ctx* ctx, const waflow_event* e) {
    PluginInstance& self = instanceOf(ctx);
    bus::Event ev;
    ev.type = std::string(view(e->type));
    ev.conversation = std::string(view(e->conversation));
    // Plugins publish what providers told them (channel.error, media.failed, ...): a provider
    // that echoes a token must not put it on the bus, where flows store and forward events.
    ev.payload = e->payload_json.size > 0 ? log::redacted(view(e->payload_json)) : "{}";
    ev.request_id = e->request_id.size > 0 ? std::string(view(e->request_id))
                                           : std::string(log::currentRequestId());
    if (ev.type.empty()) {
      return WAFLOW_ERR_INVALID;
    }
    auto result = self.services_.bus.tryPublish(std::move(ev));
    return result == bus::EventBus::PublishResult::kAccepted ? WAFLOW_OK : WAFLOW_ERR_BUSY;
  }

  static uint64_t subscribe(waflow_host_ctx* ctx, waflow_str pattern,
                            waflow_event_callback callback, void* user) {
    PluginInstance& self = instanceOf(ctx);
    uint64_t id = self.services_.bus.subscribe(
        std::string(view(pattern)),
        [callback, user](const bus::Event& ev) {
          waflow_event out{};
          out.struct_size = sizeof(out);
          out.type = abiStr(ev.type);
          out.conversation = abiStr(ev.conversation);
          out.payload_json = abiStr(ev.payload);
          out.request_id = abiStr(ev.request_id);
          callback(user, &out);
        },
        "plugin:" + self.id_);
    std::lock_guard lock(self.mutex_);
    self.subscriptions_.push_back(id);
    return id;
  }

  static void unsubscribe(waflow_host_ctx* ctx, uint64_t id) {
    PluginInstance& self = instanceOf(ctx);
    self.services_.bus.unsubscribe(id);
    std::lock_guard lock(self.mutex_);
    std::erase(self.subscriptions_, id);
  }

  static void registerSecret(waflow_host_ctx*, waflow_str value) { log::addSecret(view(value)); }

  static void post(waflow_host_ctx* ctx, void (*fn)(void*), void* user) {
    PluginInstance& self = instanceOf(ctx);
    self.beginWork();
    boost::asio::post(self.services_.io, [&self, fn, user] {
      fn(user);
      self.endWork();
    });
  }
};

PluginInstance::PluginInstance(std::shared_ptr<PluginLibrary> library, std::string id,
                               HostServices services)
    : library_(std::move(library)),
      id_(std::move(id)),
      services_(std::move(services)),
      logger_(log::get("plugin:" + id_)) {
  data_dir_ = (services_.data_dir / "plugins" / id_).string();
  api_.struct_size = sizeof(api_);
  api_.abi_major = WAFLOW_ABI_MAJOR;
  api_.abi_minor = WAFLOW_ABI_MINOR;
  api_.ctx = reinterpret_cast<waflow_host_ctx*>(this);
  api_.instance_id = abiStr(id_);
  api_.data_dir = abiStr(data_dir_);
  api_.log = &Access::log;
  api_.http_send = &Access::httpSend;
  api_.http_cancel = &Access::httpCancel;
  api_.timer_start = &Access::timerStart;
  api_.timer_cancel = &Access::timerCancel;
  api_.publish = &Access::publish;
  api_.subscribe = &Access::subscribe;
  api_.unsubscribe = &Access::unsubscribe;
  api_.register_secret = &Access::registerSecret;
  api_.post = &Access::post;
  api_.count = &Access::count;
}

PluginInstance::~PluginInstance() {
  if (instance_ != nullptr) {
    stop(std::chrono::seconds(5));
    library_->descriptor().destroy(instance_);
    instance_ = nullptr;
  }
}

bool PluginInstance::create(const std::string& config_json, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  if (ec) {
    *error = fmt::format("cannot create its data directory {}: {}", data_dir_, ec.message());
    return false;
  }
  waflow_error err{};
  int32_t rc = library_->descriptor().create(&api_, abiStr(config_json), &instance_, &err);
  if (rc != WAFLOW_OK || instance_ == nullptr) {
    instance_ = nullptr;
    err.message[WAFLOW_ERROR_MAX - 1] = '\0';
    *error = err.message[0] != '\0' ? err.message : fmt::format("create() returned code {}", rc);
    return false;
  }
  return true;
}

bool PluginInstance::start(std::string* error) {
  const auto& d = library_->descriptor();
  if (d.start != nullptr) {
    waflow_error err{};
    if (d.start(instance_, &err) != WAFLOW_OK) {
      err.message[WAFLOW_ERROR_MAX - 1] = '\0';
      *error = err.message;
      return false;
    }
  }
  started_ = true;
  return true;
}

void PluginInstance::stop(std::chrono::milliseconds drain) {
  if (stopped_ || instance_ == nullptr) {
    return;
  }
  stopped_ = true;
  const auto& d = library_->descriptor();
  if (d.stop != nullptr) {
    d.stop(instance_);
  }
  std::vector<uint64_t> subscriptions;
  std::vector<std::shared_ptr<boost::asio::steady_timer>> timers;
  {
    std::lock_guard lock(mutex_);
    subscriptions.swap(subscriptions_);
    for (auto& [id, t] : timers_) {
      timers.push_back(t);
    }
  }
  for (uint64_t id : subscriptions) {
    services_.bus.unsubscribe(id);
  }
  for (auto& t : timers) {
    boost::asio::post(services_.io, [t] { t->cancel(); });
  }
  // Callbacks still owed to the plugin run on the loop threads; wait for them
  // so destroy() never frees state a callback is about to use.
  auto deadline = std::chrono::steady_clock::now() + drain;
  while (outstanding_.load(std::memory_order_acquire) > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (outstanding_.load() > 0) {
    logger_->warn("{} callbacks still pending after {} ms; destroying anyway", outstanding_.load(),
                  drain.count());
  }
}

void PluginInstance::handleWebhook(const httpd::HttpRequest& request,
                                   std::function<void(WebhookOutcome)> done) {
  auto* ex = new WebhookExchange();
  ex->sink.struct_size = sizeof(ex->sink);
  ex->sink.host = ex;
  ex->sink.message = &sinkMessage;
  ex->sink.status = &sinkStatus;
  ex->sink.respond = &sinkRespond;
  ex->done = std::move(done);
  ex->instance = this;
  ex->finished = [this] { endWork(); };
  beginWork();

  auto headers = abiHeaders(request.headers);
  waflow_webhook_request r{};
  r.struct_size = sizeof(r);
  r.method = abiStr(request.method);
  r.path = abiStr(request.path);
  r.query = abiStr(request.query);
  r.headers = headers.data();
  r.header_count = headers.size();
  r.body = abiStr(request.body);
  r.remote_address = abiStr(request.remote_address);
  r.request_id = abiStr(request.request_id);
  library_->channelApi()->handle_webhook(instance_, &r, &ex->sink);
}

namespace {

// A plugin's error often quotes its provider's answer, which may echo a token: it is redacted
// here, where it enters the core, before anything logs, stores or publishes it.
template <typename Result>
CallOutcome outcomeOf(const Result* r) {
  CallOutcome o;
  o.rc = static_cast<waflow::Rc>(r->rc);
  o.error = log::redacted(view(r->error_message));
  o.retry_after = std::chrono::milliseconds(r->retry_after_ms);
  return o;
}

// Heap state carried through a C callback's `user` pointer.
struct Pending {
  PluginInstance* instance;
  std::function<void(CallOutcome)> done;
  std::function<void(bool failed)> finish;
};

}  // namespace

void PluginInstance::send(const waflow::OutboundMessage& m, std::function<void(CallOutcome)> done) {
  waflow_outbound_message msg{};
  msg.struct_size = sizeof(msg);
  msg.id = abiStr(m.id);
  msg.to = abiStr(m.to);
  msg.type = abiStr(m.type);
  msg.text = abiStr(m.text);
  msg.reply_to = abiStr(m.reply_to);
  msg.payload_json = abiStr(m.payload_json);
  beginWork();
  auto* pending = new Pending{this, std::move(done), [this](bool failed) {
                                if (failed) {
                                  errors_.fetch_add(1, std::memory_order_relaxed);
                                }
                                endWork();
                              }};
  library_->channelApi()->send(
      instance_, &msg,
      [](void* user, const waflow_send_result* r) {
        std::unique_ptr<Pending> p(static_cast<Pending*>(user));
        CallOutcome o = outcomeOf(r);
        o.value = std::string(view(r->provider_message_id));
        o.provider_error_code = r->provider_error_code;
        bool failed = !o.ok();
        p->done(std::move(o));
        p->finish(failed);
      },
      pending);
}

bool PluginInstance::ready(std::string* reason) {
  auto* api = library_->channelApi();
  if (api == nullptr || api->ready == nullptr) {
    return true;
  }
  waflow_error err{};
  if (api->ready(instance_, &err) == 1) {
    return true;
  }
  err.message[WAFLOW_ERROR_MAX - 1] = '\0';
  *reason = err.message[0] != '\0' ? err.message : "not ready";
  return false;
}

void PluginInstance::complete(const waflow::AiRequest& request,
                              std::function<void(CallOutcome)> done) {
  waflow_ai_request r{};
  r.struct_size = sizeof(r);
  r.request_json = abiStr(request.request_json);
  r.conversation = abiStr(request.conversation);
  r.request_id = abiStr(request.request_id);
  beginWork();
  auto* pending = new Pending{this, std::move(done), [this](bool failed) {
                                if (failed) {
                                  errors_.fetch_add(1, std::memory_order_relaxed);
                                }
                                endWork();
                              }};
  library_->aiApi()->complete(
      instance_, &r,
      [](void* user, const waflow_ai_result* res) {
        std::unique_ptr<Pending> p(static_cast<Pending*>(user));
        CallOutcome o = outcomeOf(res);
        o.value = std::string(view(res->content));
        o.detail_json = std::string(view(res->result_json));
        bool failed = !o.ok();
        p->done(std::move(o));
        p->finish(failed);
      },
      pending);
}

void PluginInstance::runOperation(OperationFn fn, const std::string& operation,
                                  const std::string& input_json,
                                  std::function<void(CallOutcome)> done) {
  beginWork();
  auto* pending = new Pending{this, std::move(done), [this](bool failed) {
                                if (failed) {
                                  errors_.fetch_add(1, std::memory_order_relaxed);
                                }
                                endWork();
                              }};
  fn(
      instance_, abiStr(operation), abiStr(input_json),
      [](void* user, const waflow_call_result* res) {
        std::unique_ptr<Pending> p(static_cast<Pending*>(user));
        CallOutcome o = outcomeOf(res);
        o.value = std::string(view(res->output_json));
        bool failed = !o.ok();
        p->done(std::move(o));
        p->finish(failed);
      },
      pending);
}

void PluginInstance::call(const std::string& operation, const std::string& input_json,
                          std::function<void(CallOutcome)> done) {
  runOperation(library_->integrationApi()->call, operation, input_json, std::move(done));
}

void PluginInstance::execute(const std::string& operation, const std::string& input_json,
                             std::function<void(CallOutcome)> done) {
  runOperation(library_->storageApi()->execute, operation, input_json, std::move(done));
}

}  // namespace waflow::core::plugin
