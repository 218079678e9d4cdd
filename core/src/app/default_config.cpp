#include "app/default_config.h"

#include <cstdlib>

namespace waflow::core::app {

namespace {

bool hasEnv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

// The `ai:` section and the auto-reply's instance: a provider whose key is set, else the mock.
std::string aiSection() {
  if (hasEnv("OPENAI_API_KEY")) {
    return R"(ai:
  openai:
    plugin: ai-openai
    config:
      api_key: ${OPENAI_API_KEY}
      base_url: ${OPENAI_BASE_URL:-https://api.openai.com/v1}
      model: ${OPENAI_MODEL:-gpt-4o-mini}
)";
  }
  if (hasEnv("ANTHROPIC_API_KEY")) {
    return R"(ai:
  claude:
    plugin: ai-anthropic
    config:
      api_key: ${ANTHROPIC_API_KEY}
      base_url: ${ANTHROPIC_BASE_URL:-https://api.anthropic.com/v1}
      model: ${ANTHROPIC_MODEL:-claude-haiku-4-5}
)";
  }
  if (hasEnv("DEEPSEEK_API_KEY")) {
    return R"(ai:
  deepseek:
    plugin: ai-deepseek
    config:
      api_key: ${DEEPSEEK_API_KEY}
      base_url: ${DEEPSEEK_BASE_URL:-https://api.deepseek.com}
      model: ${DEEPSEEK_MODEL:-deepseek-flash}
)";
  }
  return R"(ai:
  mock:
    plugin: ai-mock
)";
}

}  // namespace

std::string defaultConfigYaml() {
  return R"(# waflow's embedded default (no waflow.yaml found).
server:
  listen: 127.0.0.1:8080
data_dir: ./data
channels:
  sandbox:
    plugin: channel-sandbox
)" + aiSection() +
         R"(auto_reply:
  mode: ai
  keywords:
    halo: "Halo! Selamat datang di waflow. Ketik apa saja dan saya akan menjawab."
    hello: "Hello! Welcome to waflow. Type anything and I will answer."
)";
}

config::LoadResult loadDefaultConfig() {
  return config::loadConfigString(defaultConfigYaml(), "<built-in default>", "");
}

}  // namespace waflow::core::app
