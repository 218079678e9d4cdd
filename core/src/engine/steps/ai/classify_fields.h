// The fields of a classification: what the model is told to answer (their JSON Schema and a
// plain-text description) and the check of what it answered (the first JSON object in the
// answer, enums in their declared spelling, numbers as numbers). Shared by the classify step and
// by an ai step that asks for fields.
//
// Thread-safety: pure functions.
#pragma once

#include "flow/flow.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace waflow::core::engine {

// The first JSON object in an answer: models wrap JSON in ```json fences or add a sentence.
nlohmann::json firstJsonObject(const std::string& answer);

// The category an AI answer names: {"category": "x"}, or the answer itself, compared without
// case and punctuation, or else the first category name found in it. `categories` are pairs of
// name and description.
std::optional<std::string> categoryIn(
    const std::string& answer, const std::vector<std::pair<std::string, std::string>>& categories);

// Checks an answer against the fields; the fields' values (enums in their declared spelling,
// numbers as numbers) on success, else why not.
std::variant<nlohmann::json, std::string> checkFields(
    const std::string& answer, const std::vector<flow::ClassifyField>& fields);

// The JSON Schema of an object holding the fields (for providers with structured output).
nlohmann::json fieldsSchema(const std::vector<flow::ClassifyField>& fields);

// The fields described in plain text, one per line, for the prompt.
std::string fieldsInstructions(const std::vector<flow::ClassifyField>& fields);

}  // namespace waflow::core::engine
