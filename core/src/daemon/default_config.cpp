#include "daemon/default_config.h"

#include <cstdlib>
#include <string>

namespace waflow::core::daemon {

namespace {

bool hasEnv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

// A provider the demo uses when its API key is in the environment, first match wins.
struct DemoProvider {
  const char* instance;  // the `ai:` instance id
  const char* plugin;
  const char* env;  // prefix of <ENV>_API_KEY, <ENV>_BASE_URL and <ENV>_MODEL
  const char* base_url;
  const char* model;
};

constexpr DemoProvider kDemoProviders[] = {
    {"openai", "ai-openai", "OPENAI", "https://api.openai.com/v1", "gpt-4o-mini"},
    {"claude", "ai-anthropic", "ANTHROPIC", "https://api.anthropic.com/v1", "claude-haiku-4-5"},
    {"deepseek", "ai-deepseek", "DEEPSEEK", "https://api.deepseek.com", "deepseek-flash"},
};

// The `ai:` section and the auto-reply's instance: a provider whose key is set, else the mock.
std::string aiSection() {
  for (const DemoProvider& p : kDemoProviders) {
    const std::string env = p.env;
    if (hasEnv((env + "_API_KEY").c_str())) {
      return "ai:\n  " + std::string(p.instance) + ":\n    plugin: " + p.plugin +
             "\n    config:\n      api_key: ${" + env + "_API_KEY}\n      base_url: ${" + env +
             "_BASE_URL:-" + p.base_url + "}\n      model: ${" + env + "_MODEL:-" + p.model + "}\n";
    }
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

}  // namespace waflow::core::daemon
