// The engine's AI request (abi.h, waflow_ai_request's request_json) as every provider plugin
// reads it, whatever its wire format: the JSON object, the model it asks for, and the time the
// whole call may take.
//
// Thread-safety: pure functions.
#pragma once

#include <waflow/sdk/types.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace waflow::ai_provider {

// The model to ask: the request's "model" (a flow step's choice), else the configured one.
// Throws waflow::Error(kInvalid) when neither names one.
std::string requestModel(const nlohmann::json& request, const std::string& configured);

// The engine's request_json parsed; throws waflow::Error(kInvalid) when it is not a JSON object.
nlohmann::json parseAiRequest(std::string_view request_json);

// How long the whole call may take: the request's "timeout_ms" (the flow step's timeout), 0 =
// only the per-attempt timeout.
std::chrono::milliseconds requestBudget(const nlohmann::json& request);

}  // namespace waflow::ai_provider
