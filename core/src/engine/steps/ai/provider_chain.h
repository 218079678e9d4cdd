// ProviderChain — the AI provider chain of ai and classify steps: the instances a step names
// (else the configured default), each tried in turn when the one before fails; and the token
// usage of every call with its cost from the instance's price table, counted in /metrics and
// stored in batches (usage.add).
//
// Thread-safety: all methods may be called from any thread. Hold it in a shared_ptr: the
// usage flush timer keeps it alive while armed.
#pragma once

#include "config/config.h"
#include "engine/exec.h"
#include "metrics/metrics.h"
#include "plugin/plugin_instance.h"
#include "storage/storage_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace waflow::core::engine::steps {

// One AI request and where it comes from: token usage is recorded against these.
struct AiCall {
  std::vector<std::string> chain;  // AI instances, tried in order until one answers
  nlohmann::json request;          // waflow_ai_request's request_json
  std::optional<int64_t> timeout_ms;
  std::string channel, contact, conversation, flow, step, where, request_id;
  std::string errors;  // of the instances tried so far
};

struct AiAnswer {
  plugin::CallOutcome outcome;  // the last instance's; error lists every instance's
  std::string provider;         // the instance that answered (or failed last)
  nlohmann::json usage = nlohmann::json::object();  // {provider, model, prompt_tokens, ...}
};

class ProviderChain : public std::enable_shared_from_this<ProviderChain> {
 public:
  // `config`: auto_reply.ai (the default instance) and each ai instance's price table.
  ProviderChain(const config::Config& config, std::map<std::string, plugin::PluginInstance*> ai,
                storage::StorageClient& storage, metrics::Registry& metrics,
                boost::asio::io_context& io);
  ProviderChain(const ProviderChain&) = delete;
  ProviderChain& operator=(const ProviderChain&) = delete;

  // A call for the run's step: the instances it names, else the default one (auto_reply.ai,
  // or the only instance).
  std::shared_ptr<AiCall> newCall(const Exec& x, const flow::Step& step,
                                  const std::vector<std::string>& providers) const;
  // Asks each instance of the chain in turn until one answers.
  void ask(std::shared_ptr<AiCall> call, std::function<void(AiAnswer)> done);
  // Stores the usage waiting for its batch now (at stop).
  void flushUsage();

 private:
  std::vector<std::string> defaultChain(const std::vector<std::string>& named) const;
  void askFrom(std::shared_ptr<AiCall> call, size_t index, std::function<void(AiAnswer)> done);
  // Records the call's usage with its cost and returns its summary.
  nlohmann::json recordUsage(const AiCall& call, const std::string& provider,
                             const plugin::CallOutcome& o, int64_t latency_ms);
  std::optional<double> costOf(const std::string& provider, const nlohmann::json& record) const;
  void countUsage(const std::string& provider, const nlohmann::json& record, bool ok);
  void queueUsage(nlohmann::json record);

  const std::string default_ai_;                        // auto_reply.ai
  const std::map<std::string, nlohmann::json> prices_;  // by instance: {model|"*": {input, ...}}
  const std::map<std::string, plugin::PluginInstance*> ai_;
  storage::StorageClient& storage_;
  metrics::Registry& metrics_;
  boost::asio::io_context& io_;
  // Token usage waits here and is stored in batches (one usage.add per kUsageBatch records or
  // per kUsageFlushDelay): a write per AI call cost as much as the rest of the call.
  std::mutex usage_mutex_;
  std::vector<nlohmann::json> pending_usage_;
  bool usage_flush_armed_ = false;
  boost::asio::steady_timer usage_timer_;
};

}  // namespace waflow::core::engine::steps
