#include "engine/steps/ai/provider_chain.h"

#include "engine/basics.h"
#include "json/bounded_parse.h"

#include <waflow/sdk/storage.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>

namespace waflow::core::engine::steps {
namespace {

constexpr size_t kUsageBatch = 256;
constexpr std::chrono::milliseconds kUsageFlushDelay{200};

std::map<std::string, Json> pricesOf(const config::Config& config) {
  std::map<std::string, Json> prices;
  for (const auto& instance : config.ai) {
    prices.emplace(instance.id, instance.prices);
  }
  return prices;
}

// The usage record of one call, without its cost.
Json usageRecord(const AiCall& call, const std::string& provider, const plugin::CallOutcome& o,
                 int64_t latency_ms) {
  Json details = json_input::parseOrDiscarded(o.detail_json.empty() ? "{}" : o.detail_json);
  if (!details.is_object()) {
    details = Json::object();
  }
  const Json usage = details.value("usage", Json::object());
  auto tokens = [&](const char* name) {
    auto it = usage.find(name);
    return it != usage.end() && it->is_number_integer() ? it->get<int64_t>() : int64_t{0};
  };
  return {{"channel", call.channel},
          {"contact", call.contact},
          {"flow", call.flow},
          {"step", call.step},
          {"provider", provider},
          {"model", jsonString(details, "model")},
          {"prompt_tokens", tokens("prompt_tokens")},
          {"completion_tokens", tokens("completion_tokens")},
          {"cached_tokens", tokens("cached_tokens")},
          {"reasoning_tokens", tokens("reasoning_tokens")},
          {"cost", nullptr},
          {"ok", o.ok()},
          {"latency_ms", latency_ms},
          {"at", flowNowMs()}};
}

}  // namespace

ProviderChain::ProviderChain(const config::Config& config,
                             std::map<std::string, plugin::PluginInstance*> ai,
                             storage::StorageClient& storage, metrics::Registry& metrics,
                             boost::asio::io_context& io)
    : default_ai_(config.auto_reply.ai),
      prices_(pricesOf(config)),
      ai_(std::move(ai)),
      storage_(storage),
      metrics_(metrics),
      io_(io),
      usage_timer_(io) {}

std::vector<std::string> ProviderChain::defaultChain(const std::vector<std::string>& named) const {
  if (!named.empty()) {
    return named;
  }
  if (!default_ai_.empty() && ai_.count(default_ai_) != 0) {
    return {default_ai_};
  }
  if (ai_.size() == 1) {
    return {ai_.begin()->first};
  }
  return {};
}

std::shared_ptr<AiCall> ProviderChain::newCall(const Exec& x, const flow::Step& step,
                                               const std::vector<std::string>& providers) const {
  auto call = std::make_shared<AiCall>();
  call->chain = defaultChain(providers);
  call->timeout_ms = step.timeout_ms;
  call->flow = x.flow->id;
  call->step = step.id;
  call->where = stepWhere(*x.flow, &step, x.run.step);
  call->request_id = x.request_id;
  if (x.entry) {
    call->channel = x.entry->channel;
    call->contact = x.entry->contact;
    call->conversation = x.entry->key;
  }
  return call;
}

void ProviderChain::ask(std::shared_ptr<AiCall> call, std::function<void(AiAnswer)> done) {
  if (call->chain.empty()) {
    AiAnswer a;
    a.outcome.rc = waflow::Rc::kError;
    a.outcome.error = ai_.empty()
                          ? "no AI provider is configured (ai: in waflow.yaml)"
                          : "several AI instances are configured and none is named: set provider "
                            "in the step or auto_reply.ai";
    done(std::move(a));
    return;
  }
  askFrom(std::move(call), 0, std::move(done));
}

void ProviderChain::askFrom(std::shared_ptr<AiCall> call, size_t index,
                            std::function<void(AiAnswer)> done) {
  const std::string provider = call->chain[index];
  auto it = ai_.find(provider);
  plugin::PluginInstance* ai = it == ai_.end() ? nullptr : it->second;
  auto give_up_or_next = [this, call, index, provider, done](plugin::CallOutcome o) mutable {
    call->errors += (call->errors.empty() ? "" : "; ") + provider + ": " + o.error;
    if (index + 1 < call->chain.size()) {
      flowLogger()->warn("{}: AI '{}' failed ({}); trying '{}'", call->where, provider, o.error,
                         call->chain[index + 1]);
      askFrom(call, index + 1, std::move(done));
      return;
    }
    AiAnswer a;
    a.provider = provider;
    a.outcome = std::move(o);
    a.outcome.error = call->errors;
    done(std::move(a));
  };
  if (ai == nullptr) {
    plugin::CallOutcome o;
    o.rc = waflow::Rc::kError;
    o.error = "no AI instance '" + provider + "' in waflow.yaml";
    give_up_or_next(std::move(o));
    return;
  }
  Json request = call->request;
  if (call->timeout_ms) {
    request["timeout_ms"] = *call->timeout_ms;
  }
  waflow::AiRequest r{request.dump(-1, ' ', false, Json::error_handler_t::replace),
                      call->conversation, call->request_id};
  auto started = std::chrono::steady_clock::now();
  ai->complete(r, [this, call, provider, started, give_up_or_next = std::move(give_up_or_next),
                   done](plugin::CallOutcome o) mutable {
    auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (o.ok() && o.value.empty() && o.detail_json.find("tool_calls") == std::string::npos) {
      o.rc = waflow::Rc::kError;
      o.error = "the AI provider answered nothing";
    }
    Json usage = recordUsage(*call, provider, o, latency.count());
    if (!o.ok()) {
      give_up_or_next(std::move(o));
      return;
    }
    AiAnswer a;
    a.provider = provider;
    a.usage = std::move(usage);
    a.outcome = std::move(o);
    done(std::move(a));
  });
}

std::optional<double> ProviderChain::costOf(const std::string& provider, const Json& record) const {
  // The price table of the instance: the model's row, else "*".
  auto table = prices_.find(provider);
  if (table == prices_.end()) {
    return std::nullopt;
  }
  const Json& prices = table->second;
  auto row = prices.find(record["model"].get<std::string>());
  if (row == prices.end()) {
    row = prices.find("*");
  }
  if (row == prices.end() || !row->is_object()) {
    return std::nullopt;
  }
  double in = row->value("input", 0.0);
  double cached_in = row->value("cached_input", in);
  double out = row->value("output", 0.0);
  int64_t prompt = record["prompt_tokens"];
  int64_t cached = std::min(record["cached_tokens"].get<int64_t>(), prompt);
  int64_t completion = record["completion_tokens"];
  return ((prompt - cached) * in + cached * cached_in + completion * out) / 1e6;
}

void ProviderChain::countUsage(const std::string& provider, const Json& record, bool ok) {
  metrics_
      .counter("waflow_ai_calls_total", "AI provider calls by instance and outcome.",
               {{"provider", provider}, {"outcome", ok ? "ok" : "error"}})
      .inc();
  for (const char* kind : {"prompt_tokens", "completion_tokens"}) {
    if (int64_t n = record[kind]; n > 0) {
      metrics_
          .counter("waflow_ai_tokens_total", "Tokens used by AI calls, by instance and kind.",
                   {{"provider", provider},
                    {"kind", kind == std::string("prompt_tokens") ? "prompt" : "completion"}})
          .inc(static_cast<uint64_t>(n));
    }
  }
}

Json ProviderChain::recordUsage(const AiCall& call, const std::string& provider,
                                const plugin::CallOutcome& o, int64_t latency_ms) {
  Json record = usageRecord(call, provider, o, latency_ms);
  if (o.ok()) {
    if (std::optional<double> cost = costOf(provider, record)) {
      record["cost"] = *cost;
    }
  }
  countUsage(provider, record, o.ok());
  Json summary = {{"provider", provider},
                  {"model", record["model"]},
                  {"prompt_tokens", record["prompt_tokens"]},
                  {"completion_tokens", record["completion_tokens"]},
                  {"cost", record["cost"]}};
  queueUsage(std::move(record));
  return summary;
}

void ProviderChain::queueUsage(Json record) {
  bool full = false;
  bool arm = false;
  {
    std::lock_guard lock(usage_mutex_);
    pending_usage_.push_back(std::move(record));
    full = pending_usage_.size() >= kUsageBatch;
    arm = !full && !usage_flush_armed_;
    usage_flush_armed_ = usage_flush_armed_ || arm;
  }
  if (full) {
    flushUsage();
  } else if (arm) {
    // The timer is used from the I/O threads only.
    boost::asio::post(io_, [self = shared_from_this()] {
      self->usage_timer_.expires_after(kUsageFlushDelay);
      self->usage_timer_.async_wait(
          [self](const boost::system::error_code&) { self->flushUsage(); });
    });
  }
}

void ProviderChain::flushUsage() {
  std::vector<Json> batch;
  {
    std::lock_guard lock(usage_mutex_);
    batch.swap(pending_usage_);
    usage_flush_armed_ = false;
  }
  if (batch.empty()) {
    return;
  }
  size_t n = batch.size();
  storage_.call(waflow::storage::kUsageAdd, {{"records", std::move(batch)}},
                [n](plugin::CallOutcome stored, Json) {
                  if (!stored.ok()) {
                    flowLogger()->warn("token usage of {} AI call(s) was not recorded: {}", n,
                                       stored.error);
                  }
                });
}

}  // namespace waflow::core::engine::steps
