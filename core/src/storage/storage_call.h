// callStorage — one storage operation with JSON in and out: the input is serialised, the
// answer parsed, and `done(outcome, output)` called with the parsed output (null when the call
// failed or answered something that is not JSON; outcome.error then says why).
//
// Thread-safety: as PluginInstance::execute(); `done` runs on the storage's completion thread.
#pragma once

#include "plugin/plugin_instance.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <utility>

namespace waflow::core::storage {

inline void callStorage(plugin::PluginInstance& storage, const std::string& operation,
                        const nlohmann::json& input,
                        std::function<void(const plugin::CallOutcome&, nlohmann::json)> done) {
  storage.execute(operation, input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  [operation, done = std::move(done)](plugin::CallOutcome outcome) {
                    nlohmann::json output;
                    if (outcome.ok()) {
                      output = nlohmann::json::parse(outcome.value, nullptr, false);
                      if (output.is_discarded()) {
                        output = nullptr;
                        outcome.rc = waflow::Rc::kError;
                        outcome.error = operation + ": the storage answered invalid JSON";
                      }
                    }
                    done(outcome, std::move(output));
                  });
}

}  // namespace waflow::core::storage
