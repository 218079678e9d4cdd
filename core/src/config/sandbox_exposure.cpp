#include "config/sandbox_exposure.h"

#include "config/token_strength.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

namespace waflow::core::config {

bool isLoopbackHost(std::string_view host) {
  if (host == "localhost") {
    return true;
  }
  const std::string text(host);
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) {
    return bytes[0] == 127;
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) {
    return false;  // a host name other than localhost: it may resolve to anything
  }
  static constexpr std::array<unsigned char, 16> kLoopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                                              0, 0, 0, 0, 0, 0, 0, 1};
  const bool mapped =
      std::all_of(bytes.begin(), bytes.begin() + 10, [](auto b) { return b == 0; }) &&
      bytes[10] == 0xff && bytes[11] == 0xff;
  return bytes == kLoopback || (mapped && bytes[12] == 127);
}

std::vector<const InstanceConfig*> exposedSandboxChannels(
    const Config& config, const std::function<bool(const InstanceConfig&)>& has_token) {
  std::vector<const InstanceConfig*> exposed;
  if (isLoopbackHost(config.server.address)) {
    return exposed;
  }
  for (const InstanceConfig& channel : config.channels) {
    if (channel.plugin == kSandboxPlugin && !has_token(channel)) {
      exposed.push_back(&channel);
    }
  }
  return exposed;
}

bool writesSandboxToken(const InstanceConfig& channel) {
  if (!channel.config.IsDefined() || !channel.config.IsMap()) {
    return false;
  }
  const YAML::Node token = channel.config["token"];
  if (!token.IsDefined() || !token.IsScalar() || token.Scalar().empty()) {
    return false;
  }
  const std::string& text = token.Scalar();
  return text.find("${") != std::string::npos || !tokenWeakness(text);
}

diag::Diagnostic sandboxExposure(const Config& config,
                                 const std::vector<const InstanceConfig*>& channels,
                                 diag::Severity severity) {
  std::string names;
  std::string example;
  for (const InstanceConfig* c : channels) {
    names += (names.empty() ? "'" : ", '") + c->id + "'";
    if (example.empty()) {
      example = "channels." + c->id + ".config.token";
    }
  }
  diag::Diagnostic d;
  d.file = config.file;
  d.severity = severity;
  d.kind = "sandbox-exposed";
  if (config.root.IsDefined() && config.root.IsMap() && config.root["server"].IsMap()) {
    const YAML::Node listen = config.root["server"]["listen"];
    if (listen.IsDefined() && !listen.Mark().is_null()) {
      d.line = listen.Mark().line + 1;
      d.column = listen.Mark().column + 1;
    }
  }
  d.message = "server.listen: " + config.server.address +
              " is reachable from other machines, and the sandbox channel " + names +
              " has no token (or a weak one): anyone who reaches it could write as any customer "
              "and read every reply";
  if (severity == diag::Severity::kWarning) {
    d.message += "; `waflow run` refuses to start like this";
  }
  d.hint = "listen on 127.0.0.1 (e.g. listen: 127.0.0.1:8080), or set " + example +
           ": ${SANDBOX_TOKEN} (make one with `openssl rand -hex 32`; `waflow chat --token` "
           "sends it)";
  return d;
}

}  // namespace waflow::core::config
