// The AI provider chain of an ai or classify step: the named providers (else the configured
// default chain), each tried in turn when the one before fails; and the token usage of every
// call with its cost, batched into storage (usage.add).
#include "engine/flow_engine_impl.h"

#include "json/bounded_parse.h"
#include "storage/storage_client.h"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace waflow::core::engine {

// ---- the provider chain -------------------------------------------------------------------

plugin::PluginInstance* FlowEngine::Impl::aiInstance(const std::string& id) const {
  auto it = services_.ai.find(id);
  return it == services_.ai.end() ? nullptr : it->second;
}

std::vector<std::string> FlowEngine::Impl::aiChain(const std::vector<std::string>& named) const {
  if (!named.empty()) {
    return named;
  }
  if (!config_.auto_reply.ai.empty() && services_.ai.count(config_.auto_reply.ai) != 0) {
    return {config_.auto_reply.ai};
  }
  if (services_.ai.size() == 1) {
    return {services_.ai.begin()->first};
  }
  return {};
}

void FlowEngine::Impl::callAiChain(std::shared_ptr<AiCall> call, size_t index,
                                   std::function<void(AiAnswer)> done) {
  if (call->chain.empty()) {
    AiAnswer a;
    a.outcome.rc = waflow::Rc::kError;
    a.outcome.error = services_.ai.empty()
                          ? "no AI provider is configured (ai: in waflow.yaml)"
                          : "several AI instances are configured and none is named: set provider "
                            "in the step or auto_reply.ai";
    done(std::move(a));
    return;
  }
  const std::string provider = call->chain[index];
  plugin::PluginInstance* ai = aiInstance(provider);
  auto give_up_or_next = [this, call, index, provider, done](plugin::CallOutcome o) mutable {
    call->errors += (call->errors.empty() ? "" : "; ") + provider + ": " + o.error;
    if (index + 1 < call->chain.size()) {
      flowLogger()->warn("{}: AI '{}' failed ({}); trying '{}'", call->where, provider, o.error,
                         call->chain[index + 1]);
      callAiChain(call, index + 1, std::move(done));
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

Json FlowEngine::Impl::recordUsage(const AiCall& call, const std::string& provider,
                                   const plugin::CallOutcome& o, int64_t latency_ms) {
  Json details = json_input::parseOrDiscarded(o.detail_json.empty() ? "{}" : o.detail_json);
  if (!details.is_object()) {
    details = Json::object();
  }
  const Json usage = details.value("usage", Json::object());
  auto tokens = [&](const char* name) {
    auto it = usage.find(name);
    return it != usage.end() && it->is_number_integer() ? it->get<int64_t>() : int64_t{0};
  };
  Json record = {{"channel", call.channel},
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
  // The price table of the instance: the model's row, else "*".
  for (const auto& instance : config_.ai) {
    if (instance.id != provider) {
      continue;
    }
    const Json& prices = instance.prices;
    const std::string model = record["model"];
    auto row = prices.find(model);
    if (row == prices.end()) {
      row = prices.find("*");
    }
    if (row != prices.end() && row->is_object() && o.ok()) {
      double in = row->value("input", 0.0);
      double cached_in = row->value("cached_input", in);
      double out = row->value("output", 0.0);
      int64_t prompt = record["prompt_tokens"];
      int64_t cached = std::min(record["cached_tokens"].get<int64_t>(), prompt);
      int64_t completion = record["completion_tokens"];
      record["cost"] = ((prompt - cached) * in + cached * cached_in + completion * out) / 1e6;
    }
  }
  services_.metrics
      .counter("waflow_ai_calls_total", "AI provider calls by instance and outcome.",
               {{"provider", provider}, {"outcome", o.ok() ? "ok" : "error"}})
      .inc();
  for (const char* kind : {"prompt_tokens", "completion_tokens"}) {
    if (int64_t n = record[kind]; n > 0) {
      services_.metrics
          .counter("waflow_ai_tokens_total", "Tokens used by AI calls, by instance and kind.",
                   {{"provider", provider},
                    {"kind", kind == std::string("prompt_tokens") ? "prompt" : "completion"}})
          .inc(static_cast<uint64_t>(n));
    }
  }
  Json summary = {{"provider", provider},
                  {"model", record["model"]},
                  {"prompt_tokens", record["prompt_tokens"]},
                  {"completion_tokens", record["completion_tokens"]},
                  {"cost", record["cost"]}};
  queueUsage(std::move(record));
  return summary;
}

namespace {
constexpr size_t kUsageBatch = 256;
constexpr std::chrono::milliseconds kUsageFlushDelay{200};
}  // namespace

void FlowEngine::Impl::queueUsage(Json record) {
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
    boost::asio::post(services_.io, [self = shared_from_this()] {
      self->usage_timer_.expires_after(kUsageFlushDelay);
      self->usage_timer_.async_wait(
          [self](const boost::system::error_code&) { self->flushUsage(); });
    });
  }
}

void FlowEngine::Impl::flushUsage() {
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
  services_.storage.call(waflow::storage::kUsageAdd, {{"records", std::move(batch)}},
                         [n](plugin::CallOutcome stored, Json) {
                           if (!stored.ok()) {
                             flowLogger()->warn("token usage of {} AI call(s) was not recorded: {}",
                                                n, stored.error);
                           }
                         });
}

std::shared_ptr<FlowEngine::Impl::AiCall> FlowEngine::Impl::newAiCall(
    const ExecPtr& x, const flow::Step& step, const std::vector<std::string>& providers) {
  auto call = std::make_shared<AiCall>();
  call->chain = aiChain(providers);
  call->timeout_ms = step.timeout_ms;
  call->flow = x->flow->id;
  call->step = step.id;
  call->where = stepWhere(*x->flow, &step, x->run.step);
  call->request_id = x->request_id;
  if (x->entry) {
    call->channel = x->entry->channel;
    call->contact = x->entry->contact;
    call->conversation = x->entry->key;
  }
  return call;
}
}  // namespace waflow::core::engine
