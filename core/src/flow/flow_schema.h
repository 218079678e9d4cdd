// The JSON Schema of flow files, docs/schema/flow.schema.json, embedded at build time: the text
// editors use and, with its local $refs inlined, what the loader validates with. Also the
// per-trigger key table, read from the schema's allOf/if/then blocks so the loader's "does not
// apply to this trigger" checks follow the published schema. Parsed once; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace waflow::core::flow {

// The schema file's text, byte for byte.
std::string_view flowSchemaText();

// The schema with every "$ref": "#/definitions/<name>" replaced by that definition (keys written
// beside the $ref, such as a description, win), in the subset config::validateNode reads.
const nlohmann::json& flowSchema();

// Replaces local "#/definitions/..." references of `document` (non-recursive definitions only).
// Throws std::runtime_error on a reference it cannot resolve or a cycle.
nlohmann::json inlineDefinitions(const nlohmann::json& document);

struct TriggerKeys {
  std::vector<std::string> allowed;   // keys a trigger of this kind may have (including on, id)
  std::vector<std::string> required;  // keys it must have, besides on
};

// Trigger kind ("message.received", ...) -> its keys.
const std::map<std::string, TriggerKeys>& triggerKeys();

}  // namespace waflow::core::flow
