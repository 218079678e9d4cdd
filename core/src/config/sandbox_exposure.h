// The sandbox channel (channel-sandbox) lets whoever reaches it write as any customer and
// read any customer's replies: that is its purpose on a developer's machine, and a hole on a
// public address. These checks find sandbox channels that would be served on an address other
// machines can reach without a token of their own, for a warning in `waflow validate` (at the
// server.listen line) and a refusal in `waflow run`.
//
// Thread-safety: pure functions.
#pragma once

#include "config/config.h"
#include "diag/diagnostic.h"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::config {

inline constexpr std::string_view kSandboxPlugin = "channel-sandbox";

// True for addresses only this machine reaches: 127.0.0.0/8, ::1 (also IPv4-mapped) and
// "localhost". 0.0.0.0, :: and every other address or name count as public.
bool isLoopbackHost(std::string_view host);

// The channels of plugin channel-sandbox for which `has_token` is false, when
// config.server.address is not loopback; empty otherwise.
std::vector<const InstanceConfig*> exposedSandboxChannels(
    const Config& config, const std::function<bool(const InstanceConfig&)>& has_token);

// Whether the channel's `config:` block, as written, gives a token (a non-empty value that is
// either a ${...} substitution or strong enough): what `waflow validate` can know.
bool writesSandboxToken(const InstanceConfig& channel);

// The problem, at server.listen when it is written in the file.
diag::Diagnostic sandboxExposure(const Config& config,
                                 const std::vector<const InstanceConfig*>& channels,
                                 diag::Severity severity);

}  // namespace waflow::core::config
