#include "app/default_config.h"

namespace waflow::core::app {

std::string_view defaultConfigYaml() {
  return R"(# waflow's embedded default (no waflow.yaml found).
server:
  listen: 127.0.0.1:8080
data_dir: ./data
channels:
  sandbox:
    plugin: channel-sandbox
ai:
  mock:
    plugin: ai-mock
auto_reply:
  mode: ai
  ai: mock
  keywords:
    halo: "Halo! Selamat datang di waflow. Ketik apa saja dan saya akan menjawab."
    hello: "Hello! Welcome to waflow. Type anything and I will answer."
)";
}

config::LoadResult loadDefaultConfig() {
  return config::loadConfigString(defaultConfigYaml(), "<built-in default>", "");
}

}  // namespace waflow::core::app
