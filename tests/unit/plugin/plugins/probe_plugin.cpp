// A test plugin that exercises every host service and the exception firewall.
// Operations (integration call): echo, http_get, sleep, publish, log_secret,
// throw, throw_retry, throw_int. Built several times with different ABI claims
// (WAFLOW_PLUGIN_ABI_MAJOR / WAFLOW_PLUGIN_ABI_MINOR) for the loader tests.
#include <waflow/sdk/plugin.hpp>

#include <stdexcept>

namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

class Probe {
 public:
  static constexpr waflow::PluginInfo kInfo{waflow::Kind::kIntegration, PROBE_NAME, "9.9.9",
                                            "Loader and host-service probe", R"({
        "type": "object",
        "properties": {
          "fail_create": {"type": "boolean", "default": false},
          "token": {"type": "string", "secret": true, "default": ""}
        }
      })"};

  Probe(waflow::Host& host, const waflow::Config& config)
      : host_(host), token_(config.value("token", "")) {
    if (config.value("fail_create", false)) {
      throw waflow::Error(waflow::Rc::kInvalid, "probe: api_key is required (set config.token)");
    }
  }

  waflow::Task<waflow::CallResult> call(std::string operation, waflow::Config input) {
    if (operation == "echo") {
      co_return waflow::CallResult{input.dump()};
    }
    if (operation == "http_get") {
      waflow::HttpRequest req;
      req.url = input.at("url").get<std::string>();
      req.headers = {{"X-Probe", "1"}};
      req.timeout = std::chrono::milliseconds(input.value("timeout_ms", 5000));
      waflow::HttpResponse resp = co_await host_.http(std::move(req));
      co_return waflow::CallResult{Json{
          {"status", resp.status},
          {"error", static_cast<int>(resp.error)},
          {"body", resp.body}}.dump()};
    }
    if (operation == "sleep") {
      auto start = std::chrono::steady_clock::now();
      co_await host_.sleep(std::chrono::milliseconds(input.value("ms", 50)));
      auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      co_return waflow::CallResult{Json{{"waited_ms", waited.count()}}.dump()};
    }
    if (operation == "publish") {
      bool ok = host_.publish({"probe.ping", "probe:1", input.dump(), ""});
      co_return waflow::CallResult{Json{{"published", ok}}.dump()};
    }
    if (operation == "log_secret") {
      host_.info("the token is " + token_);
      co_return waflow::CallResult{};
    }
    if (operation == "throw") {
      throw std::runtime_error("probe exploded");
    }
    if (operation == "throw_retry") {
      throw waflow::Error(waflow::Rc::kRetry, "probe rate limited", 1500ms);
    }
    if (operation == "throw_int") {
      throw 42;
    }
    throw waflow::Error(waflow::Rc::kUnsupported, "unknown operation " + operation);
  }

 private:
  waflow::Host& host_;
  std::string token_;
};

}  // namespace

WAFLOW_PLUGIN(Probe)
