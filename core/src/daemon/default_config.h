// The embedded default: what `waflow run` uses when there is no waflow.yaml.
// A sandbox channel and an auto-reply through an AI provider, so a newcomer
// sees a working bot without any account: the mock AI, or a real model when
// its key is in the environment (OPENAI_API_KEY, then ANTHROPIC_API_KEY, then
// DEEPSEEK_API_KEY; OPENAI_BASE_URL and *_MODEL change the server and the
// model). It is ordinary YAML loaded by the same loader as a user's file, so
// it is validated the same way, and keys stay ${...} references (never in the
// text, so never in a diagnostic).
//
// Thread-safety: pure functions of the environment.
#pragma once

#include "config/config.h"

#include <string>

namespace waflow::core::daemon {

std::string defaultConfigYaml();
config::LoadResult loadDefaultConfig();

}  // namespace waflow::core::daemon
