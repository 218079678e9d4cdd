// Must not compile: a channel plugin without send().
#include <waflow/sdk/plugin.hpp>
class NoSend {
 public:
  static constexpr waflow::PluginInfo kInfo{waflow::Kind::kChannel, "no-send", "1", "x"};
  NoSend(waflow::Host&, const waflow::Config&) {}
  waflow::Task<waflow::WebhookResponse> handleWebhook(waflow::WebhookRequest, waflow::Webhook) {
    co_return waflow::WebhookResponse{};
  }
};
WAFLOW_PLUGIN(NoSend)
