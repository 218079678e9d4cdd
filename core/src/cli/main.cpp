// `waflow`: the command line. Thin by design: each subcommand parses its
// flags, then hands over to the app or chat modules.
#include "cli/chat.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/default_config.h"
#include "daemon/plugin_plan.h"
#include "diag/render.h"
#include "engine/rules_check.h"
#include "log/log.h"
#include "plugin/plugin_catalog.h"

#include <curl/curl.h>
#include <spdlog/version.h>
#include <waflow/sdk/abi.h>
#include <CLI/CLI.hpp>
#include <boost/version.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

namespace {

using namespace waflow::core;

// Which config a command uses: -c, then $WAFLOW_CONFIG, then ./waflow.yaml,
// then the embedded default.
struct ConfigChoice {
  std::string path;  // "" = embedded default
  bool explicit_path = false;
};

ConfigChoice chooseConfig(const std::string& flag) {
  if (!flag.empty()) {
    return {flag, true};
  }
  if (const char* env = std::getenv("WAFLOW_CONFIG"); env != nullptr && *env != '\0') {
    return {env, true};
  }
  if (std::filesystem::exists("waflow.yaml")) {
    return {"waflow.yaml", false};
  }
  return {"", false};
}

config::LoadResult loadChosen(const ConfigChoice& choice) {
  return choice.path.empty() ? daemon::loadDefaultConfig() : config::loadConfigFile(choice.path);
}

// Secrets registered with log::addSecret() before the call are masked, snippets included.
void printDiagnostics(const std::vector<diag::Diagnostic>& diagnostics, bool json) {
  diag::SourceCache sources;
  sources.registerText("<built-in default>", daemon::defaultConfigYaml());
  if (json) {
    std::cout << diag::renderJson(diagnostics, sources, &log::redactor()) << "\n";
  } else {
    std::cerr << diag::renderText(diagnostics, sources, &log::redactor());
  }
}

void addSecrets(const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    log::addSecret(s);
  }
}

int countErrors(const std::vector<diag::Diagnostic>& diagnostics) {
  int n = 0;
  for (const auto& d : diagnostics) {
    n += d.severity == diag::Severity::kError ? 1 : 0;
  }
  return n;
}

// "host:port" or "[v6]:port" -> address and port; false when malformed.
bool parseListen(const std::string& listen, std::string* address, uint16_t* port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return false;
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  char* end = nullptr;
  long p = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || p < 0 || p > 65535 || host.empty()) {
    return false;
  }
  *address = host;
  *port = static_cast<uint16_t>(p);
  return true;
}

int runCommand(const std::string& config_flag, const std::vector<std::string>& plugin_dirs,
               const std::string& log_level, const std::string& listen) {
  ConfigChoice choice = chooseConfig(config_flag);
  auto loaded = loadChosen(choice);
  if (loaded.config || loaded.partial) {
    addSecrets((loaded.config ? loaded.config : loaded.partial)->secrets);
  }
  if (!loaded.config) {
    printDiagnostics(loaded.diagnostics, false);
    std::cerr << fmt::format(
        "waflow: {} has errors; fix them and run again (`waflow validate` "
        "lists them all)\n",
        choice.path);
    return 1;
  }
  config::Config cfg = std::move(*loaded.config);
  if (!log_level.empty()) {
    cfg.log.level = log_level;
  }
  if (!listen.empty() && !parseListen(listen, &cfg.server.address, &cfg.server.port)) {
    std::cerr << fmt::format("waflow: --listen '{}' is not host:port (e.g. 0.0.0.0:8080)\n",
                             listen);
    return 2;
  }
  log::init({cfg.log.level, cfg.log.format, cfg.log.file});
  if (!loaded.diagnostics.empty()) {
    printDiagnostics(loaded.diagnostics, false);  // warnings
  }
  auto logger = log::get("waflow");
  if (choice.path.empty()) {
    logger->info(
        "no waflow.yaml here: running the built-in demo (sandbox channel + mock AI). "
        "Talk to it with `waflow chat`.");
  } else {
    logger->info("config: {}", choice.path);
  }
  daemon::Daemon daemon(std::move(cfg), {plugin_dirs, true});
  std::string error;
  std::vector<diag::Diagnostic> diagnostics;
  if (!daemon.start(&error, &diagnostics)) {
    if (!diagnostics.empty()) {
      printDiagnostics(diagnostics, false);
    }
    logger->error("cannot start: {}", error);
    return 1;
  }
  return daemon.wait();
}

int validateCommand(const std::string& config_flag, const std::vector<std::string>& plugin_dirs,
                    const std::string& format) {
  bool json = format == "json";
  ConfigChoice choice = chooseConfig(config_flag);
  auto loaded = loadChosen(choice);
  std::vector<diag::Diagnostic> all = loaded.diagnostics;
  std::string described = choice.path.empty() ? "the built-in default config" : choice.path;
  const auto& readable = loaded.config ? loaded.config : loaded.partial;
  engine::RulesCheck rules;
  if (readable) {
    addSecrets(readable->secrets);
    plugin::PluginCatalog catalog;
    catalog.scan(daemon::pluginSearchPath(plugin_dirs, *readable));
    auto plan = daemon::planInstances(*readable, catalog);
    addSecrets(plan.secrets);
    all.insert(all.end(), plan.diagnostics.begin(), plan.diagnostics.end());
    rules = engine::checkFlowsAndScripts(*readable);
    addSecrets(rules.secrets);
    all.insert(all.end(), rules.diagnostics.begin(), rules.diagnostics.end());
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
    });
  }
  int errors = countErrors(all);
  if (json) {
    printDiagnostics(all, true);
  } else {
    if (!all.empty()) {
      printDiagnostics(all, false);
    }
    if (errors == 0) {
      const auto& c = *loaded.config;
      std::cout << fmt::format(
          "{} is valid: {} channel(s), {} AI provider(s), {} integration(s), {} flow(s), {} "
          "script(s)\n",
          described, c.channels.size(), c.ai.size(), c.integrations.size(), rules.flows,
          rules.scripts);
    } else {
      std::cerr << fmt::format("{}: {} error(s)\n", described, errors);
    }
  }
  return errors == 0 ? 0 : 1;
}

int pluginsCommand(const std::string& config_flag, const std::vector<std::string>& plugin_dirs,
                   const std::string& format) {
  ConfigChoice choice = chooseConfig(config_flag);
  auto loaded = loadChosen(choice);
  config::Config cfg = loaded.config ? *loaded.config : config::Config{};
  plugin::PluginCatalog catalog;
  catalog.scan(daemon::pluginSearchPath(plugin_dirs, cfg));
  if (format == "json") {
    nlohmann::json out = {{"plugins", nlohmann::json::array()},
                          {"failures", nlohmann::json::array()},
                          {"searched", nlohmann::json::array()}};
    for (const auto& p : catalog.plugins()) {
      nlohmann::json keys = nlohmann::json::array();
      for (const auto& k : p->configKeys()) {
        keys.push_back({{"name", k.name},
                        {"type", k.type},
                        {"default", k.default_value},
                        {"required", k.required},
                        {"secret", k.secret},
                        {"description", k.description}});
      }
      out["plugins"].push_back({{"name", p->name()},
                                {"kind", p->kindName()},
                                {"version", p->version()},
                                {"abi", p->abiVersion()},
                                {"path", p->path().string()},
                                {"description", p->description()},
                                {"config", keys}});
    }
    for (const auto& f : catalog.failures()) {
      out["failures"].push_back({{"path", f.file.string()}, {"reason", f.reason}});
    }
    for (const auto& s : catalog.searched()) {
      out["searched"].push_back(s.string());
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (catalog.plugins().empty()) {
    std::cout << "No plugins found.\n";
  }
  for (const auto& p : catalog.plugins()) {
    std::cout << fmt::format("{}  ({} plugin, version {}, ABI {})\n  {}\n  {}\n", p->name(),
                             p->kindName(), p->version(), p->abiVersion(), p->description(),
                             p->path().string());
    auto keys = p->configKeys();
    if (keys.empty()) {
      std::cout << "  config: (no keys)\n";
    } else {
      std::cout << "  config:\n";
    }
    for (const auto& k : keys) {
      std::string extra;
      if (k.required) {
        extra += ", required";
      }
      if (!k.default_value.empty()) {
        extra += ", default " + k.default_value;
      }
      if (k.secret) {
        extra += ", secret";
      }
      std::cout << fmt::format("    {} ({}{}){}{}\n", k.name, k.type.empty() ? "any" : k.type,
                               extra, k.description.empty() ? "" : ": ", k.description);
    }
    std::cout << "\n";
  }
  for (const auto& f : catalog.failures()) {
    std::cout << fmt::format("not loaded: {}\n  {}\n", f.file.string(), f.reason);
  }
  std::cout << "Searched:";
  for (const auto& s : catalog.searched()) {
    std::cout << " " << s.string();
  }
  std::cout << "\n";
  return 0;
}

int versionCommand() {
  std::cout << fmt::format("waflow {}\nplugin ABI {}.{}\nBoost {}.{}.{}, {}, spdlog {}.{}.{}\n",
                           WAFLOW_VERSION, WAFLOW_ABI_MAJOR, WAFLOW_ABI_MINOR,
                           BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100,
                           curl_version(), SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH);
  return 0;
}

}  // namespace

// jemalloc (linked into this executable) reads its settings from this symbol at its first
// allocation. One arena per CPU instead of four keeps the idle daemon under 20 MB on the small
// VPSes waflow targets, and still gives every I/O thread its own arena. MALLOC_CONF in the
// environment overrides it.
extern "C" {
__attribute__((used)) const char* malloc_conf = "percpu_arena:percpu";
}

int main(int argc, char** argv) {
  CLI::App app{
      "waflow: WhatsApp AI chatbots and automations.\n\n"
      "Start with `waflow run`: with no waflow.yaml it runs a demo bot on a local sandbox\n"
      "channel, and `waflow chat` (in another terminal) lets you talk to it.",
      "waflow"};
  app.require_subcommand(1);
  app.fallthrough();

  std::string config_flag;
  std::vector<std::string> plugin_dirs;
  std::string format = "text";
  std::string log_level;
  std::string listen;

  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option("-c,--config", config_flag,
                    "Config file (default: $WAFLOW_CONFIG, else ./waflow.yaml, else the built-in "
                    "demo)");
    cmd->add_option("--plugin-dir", plugin_dirs,
                    "Extra directory to search for plugins (repeatable; searched first)");
  };

  auto* run = app.add_subcommand("run", "Start the daemon and serve webhooks until Ctrl-C");
  add_common(run);
  run->add_option("--log-level", log_level, "Override log.level: trace, debug, info, warn, error");
  run->add_option("--listen", listen,
                  "Override server.listen, e.g. 0.0.0.0:8080 (port 0 picks a free port)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  auto* validate = app.add_subcommand(
      "validate", "Check the config and the plugins it names; list every problem, exit 1 if any");
  add_common(validate);
  validate->add_option("--format", format, "text (default) or json, for editors and CI")
      ->check(CLI::IsMember({"text", "json"}));

  auto* plugins =
      app.add_subcommand("plugins", "List the plugins found and the config keys each accepts");
  add_common(plugins);
  plugins->add_option("--format", format, "text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));

  cli::ChatOptions chat_options;
  auto* chat = app.add_subcommand(
      "chat", "Talk to a running daemon's sandbox channel from this terminal, as a customer");
  chat->add_option("--url", chat_options.url, "The daemon's address")->capture_default_str();
  chat->add_option("--channel", chat_options.channel, "The sandbox channel's id")
      ->capture_default_str();
  chat->add_option("--from", chat_options.from, "Your pretend WhatsApp number")
      ->capture_default_str();
  chat->add_option("--name", chat_options.name, "Your pretend profile name")->capture_default_str();
  chat->add_option("--wait", chat_options.wait_seconds,
                   "When input ends, wait this many seconds for outstanding replies")
      ->capture_default_str();
  chat->add_option("--token", chat_options.token,
                   "The sandbox channel's token (its config `token`), when it has one")
      ->envname("WAFLOW_SANDBOX_TOKEN");

  app.add_subcommand("version", "Print waflow's version and the plugin ABI it speaks");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (run->parsed()) {
    return runCommand(config_flag, plugin_dirs, log_level, listen);
  }
  if (validate->parsed()) {
    return validateCommand(config_flag, plugin_dirs, format);
  }
  if (plugins->parsed()) {
    return pluginsCommand(config_flag, plugin_dirs, format);
  }
  if (chat->parsed()) {
    return cli::runChat(chat_options);
  }
  return versionCommand();
}
