#include "provider_client.h"

#include <algorithm>
#include <optional>

namespace waflow::ai_provider {

ClientOptions clientOptionsFrom(const nlohmann::json& config, std::string provider,
                                std::string default_base_url) {
  ClientOptions o;
  o.provider = std::move(provider);
  o.base_url = config.value("base_url", default_base_url);
  o.api_key = config.value("api_key", "");
  const nlohmann::json extra = config.value("extra_headers", nlohmann::json::object());
  for (const auto& [name, value] : extra.items()) {
    o.extra_headers.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
  }
  o.timeout = std::chrono::milliseconds(config.value("timeout", int64_t{60000}));
  o.max_retries = config.value("max_retries", 2);
  return o;
}

namespace {

using std::chrono::milliseconds;

std::string joinUrl(std::string base, const std::string& path) {
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base + path;
}

void setHeader(Headers& headers, const std::string& name, const std::string& value) {
  for (auto& [k, v] : headers) {
    if (detail::equalsIgnoreCase(k, name)) {
      v = value;
      return;
    }
  }
  headers.emplace_back(name, value);
}

std::string describeWait(milliseconds wait) {
  return std::to_string(wait.count()) + " ms";
}

}  // namespace

ProviderClient::ProviderClient(const Host& host, ClientOptions options)
    : host_(host),
      options_(std::move(options)),
      url_(joinUrl(options_.base_url, options_.path)),
      rng_(std::random_device{}()) {
  headers_ = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  if (!options_.api_key.empty()) {
    if (options_.key_header == KeyHeader::kXApiKey) {
      headers_.emplace_back("x-api-key", options_.api_key);
    } else {
      headers_.emplace_back("Authorization", "Bearer " + options_.api_key);
    }
  }
  for (const auto& [name, value] : options_.extra_headers) {
    setHeader(headers_, name, value);
  }
}

double ProviderClient::jitter() {
  std::lock_guard lock(rng_mutex_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

Task<std::string> ProviderClient::post(std::string body, milliseconds budget) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto remaining = [&]() -> std::optional<milliseconds> {
    if (budget.count() <= 0) {
      return std::nullopt;
    }
    return budget - std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  };
  const int attempts = 1 + std::max(0, options_.max_retries);
  Failure last;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    HttpRequest request;
    request.method = "POST";
    request.url = url_;
    request.headers = headers_;
    request.body = body;
    request.timeout = options_.timeout;
    if (auto left = remaining()) {
      request.timeout = std::max(milliseconds(1), std::min(options_.timeout, *left));
    }
    HttpResponse response = co_await host_.http(std::move(request));
    if (response.ok()) {
      std::optional<Failure> in_body;
      if (options_.ok_body_error) {
        in_body = options_.ok_body_error(response.body, options_.provider);
      }
      if (!in_body) {
        co_return std::move(response.body);
      }
      last = std::move(*in_body);
    } else if (response.transportOk()) {
      last = options_.classify_http_error(response.status, response.headers, response.body,
                                          options_.provider);
    } else {
      last = classifyTransportError(response.error, response.error_message, options_.provider,
                                    options_.timeout);
    }
    if (!last.retryable) {
      throw Error(last.rc, last.message, last.retry_after);
    }
    milliseconds wait =
        last.retry_after.count() > 0 ? last.retry_after : backoffDelay(attempt, jitter());
    const bool more = attempt + 1 < attempts;
    auto left = remaining();
    if (!more || last.retry_after > kMaxRetryAfter || (left && wait >= *left)) {
      // Not waiting here: the caller gets the wait (its fallback chain may move on meanwhile).
      std::string why = !more ? " (gave up after " + std::to_string(attempts) + " attempts)"
                              : " (retry in " + describeWait(wait) + ")";
      throw Error(Rc::kRetry, last.message + why, wait);
    }
    host_.warn(options_.provider + " attempt " + std::to_string(attempt + 1) + " of " +
               std::to_string(attempts) + " failed: " + last.message + "; retrying in " +
               describeWait(wait));
    co_await host_.sleep(wait);
  }
  throw Error(Rc::kRetry, last.message, last.retry_after);  // unreachable: the loop throws
}

}  // namespace waflow::ai_provider
