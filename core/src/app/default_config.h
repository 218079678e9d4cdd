// The embedded default: what `waflow run` uses when there is no waflow.yaml.
// A sandbox channel, the mock AI and an auto-reply through it, so a newcomer
// sees a working bot without any account. It is ordinary YAML loaded by the
// same loader as a user's file, so it is validated the same way.
//
// Thread-safety: pure functions.
#pragma once

#include "config/config.h"

#include <string_view>

namespace waflow::core::app {

std::string_view defaultConfigYaml();
config::LoadResult loadDefaultConfig();

}  // namespace waflow::core::app
