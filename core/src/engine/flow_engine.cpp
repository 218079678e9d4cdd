// The facade: FlowEngine's methods, and the engine's parts put together (FlowEngine::Impl).
#include "engine/flow_engine.h"

#include "delivery/events.h"
#include "engine/flow_engine_impl.h"
#include "log/log.h"

namespace waflow::core::engine {
namespace {

lua::SandboxOptions luaOptions(const config::FlowsConfig& flows) {
  lua::SandboxOptions options;
  options.limits.time_budget = flows.lua_time_budget;
  options.limits.memory_limit = flows.lua_memory_limit;
  options.default_time_zone = flows.time_zone;
  options.log = [](const lua::LogLine& line) {
    log::get("lua")->info("{}:{}: [{}] {}", line.file, line.line, line.rule, line.text);
  };
  return options;
}

}  // namespace

FlowEngine::Impl::Impl(const config::Config& config, Services services)
    : config_(config),
      services_(std::move(services)),
      scheduler_(services_.storage, services_.io, services_.owner),
      lua_options_(luaOptions(config_.flows)),
      conversations_(services_.storage, config_.flows.cache_contacts),
      ai_(std::make_shared<steps::ProviderChain>(config_, services_.ai, services_.storage,
                                                 services_.metrics, services_.io)),
      steps_({config_, conversations_, scheduler_, services_.storage, services_.outbox,
              services_.bus, services_.http, services_.channels, services_.knowledge, *ai_,
              lua_options_}),
      watch_timer_(services_.io) {
  auto& m = services_.metrics;
  runs_started_ = &m.counter("waflow_flow_runs_total", "Flow runs started");
  runs_failed_ =
      &m.counter("waflow_flow_step_failures_total", "Flow steps that failed (after their retries)");
  messages_unhandled_ =
      &m.counter("waflow_flow_unhandled_total", "Messages no flow took and no auto-reply answered");
}

std::shared_ptr<const FlowSet> FlowEngine::Impl::current() const {
  std::lock_guard lock(set_mutex_);
  return set_;
}

FlowLua& FlowEngine::Impl::lua(const std::shared_ptr<const FlowSet>& set) const {
  return FlowLua::forThread(set, lua_options_);
}

// ---- FlowEngine ----------------------------------------------------------------------------

FlowEngine::FlowEngine(const config::Config& config, Services services)
    : impl_(std::make_shared<Impl>(config, std::move(services))) {}

FlowEngine::~FlowEngine() {
  impl_->stopped_ = true;
}

bool FlowEngine::load(std::vector<diag::Diagnostic>* diagnostics) {
  std::lock_guard lock(impl_->reload_mutex_);
  impl_->fingerprint_ = rulesFingerprint(impl_->config_);
  FlowSetLoad loaded = loadFlowSet(impl_->config_, 1);
  *diagnostics = loaded.diagnostics;
  for (const auto& secret : loaded.secrets) {
    log::addSecret(secret);
  }
  if (!loaded.set) {
    return false;
  }
  std::lock_guard set_lock(impl_->set_mutex_);
  impl_->set_ = loaded.set;
  return true;
}

void FlowEngine::handleInbound(const bus::Event& event, delivery::InboundNext next,
                               std::function<void()> done) {
  impl_->onMessage(event, std::move(next), std::move(done));
}

void FlowEngine::attach() {
  auto* impl = impl_.get();
  auto& bus = impl->services_.bus;
  bus.subscribeAsync(
      delivery::kMessageStatus,
      [impl](const bus::Event& e, bus::Done d) { impl->onStatus(e, std::move(d)); },
      "flows-status");
  bus.subscribeAsync(
      kFlowJob, [impl](const bus::Event& e, bus::Done d) { impl->onJob(e, std::move(d)); },
      "flows-jobs");
  bus.subscribeAsync(
      kFlowDispatch,
      [impl](const bus::Event& e, bus::Done d) { impl->onFlowEvent(e, std::move(d)); },
      "flows-dispatch");
  impl->syncEventSubscriptions(*impl->current());
}

void FlowEngine::Impl::syncEventSubscriptions(const FlowSet& set) {
  std::lock_guard lock(subscriptions_mutex_);
  for (auto it = event_subscriptions_.begin(); it != event_subscriptions_.end();) {
    if (set.event_names.count(it->first) == 0) {
      services_.bus.unsubscribe(it->second);
      it = event_subscriptions_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::string& name : set.event_names) {
    if (event_subscriptions_.count(name) == 0) {
      event_subscriptions_[name] = services_.bus.subscribeAsync(
          name, [this](const bus::Event& e, bus::Done d) { onAnyEvent(e, std::move(d)); },
          "flows-events");
    }
  }
}

void FlowEngine::start() {
  auto* impl = impl_.get();
  impl->scheduler_.start([impl](Scheduler::Job job) {
    bus::Event ev;
    ev.type = kFlowJob;
    ev.conversation = job.conversation;
    ev.request_id = job.id;
    ev.payload = "{}";
    ev.native = std::make_shared<const Scheduler::Job>(std::move(job));
    if (impl->services_.bus.tryPublish(std::move(ev)) != bus::EventBus::PublishResult::kAccepted) {
      flowLogger()->warn("the bus is full; a scheduled job waits for its lease to lapse");
    }
  });
  impl->registerSchedules(impl->current());
  impl->watch();
}

void FlowEngine::stop() {
  impl_->stopped_ = true;
  impl_->watch_timer_.cancel();
  impl_->ai_->flushUsage();
  impl_->scheduler_.stop();
}

FlowEngine::ReloadResult FlowEngine::reload(const std::string& reason) {
  return impl_->reloadNow(reason);
}

bool FlowEngine::publishEvent(const std::string& name, const Json& data, const std::string& channel,
                              const std::string& contact) {
  Json payload = data.is_object() ? data : Json{{"value", data}};
  if (!channel.empty()) {
    payload["channel"] = channel;
  }
  if (!contact.empty()) {
    payload["contact"] = contact;
  }
  bus::Event ev;
  ev.type = name;
  ev.conversation =
      channel.empty() || contact.empty() ? "" : delivery::conversationKey(channel, contact);
  ev.payload = payload.dump(-1, ' ', false, Json::error_handler_t::replace);
  ev.request_id = log::newRequestId();
  return impl_->services_.bus.tryPublish(std::move(ev)) == bus::EventBus::PublishResult::kAccepted;
}

bool FlowEngine::release(const std::string& channel, const std::string& contact) {
  bus::Event ev;
  ev.type = kFlowDispatch;
  ev.conversation = delivery::conversationKey(channel, contact);
  ev.request_id = log::newRequestId();
  ev.native =
      std::make_shared<const Dispatch>(Dispatch{"release", "", Json::object(), channel, contact});
  return impl_->services_.bus.tryPublish(std::move(ev)) == bus::EventBus::PublishResult::kAccepted;
}

uint64_t FlowEngine::version() const {
  auto set = impl_->current();
  return set ? set->version : 0;
}

}  // namespace waflow::core::engine
