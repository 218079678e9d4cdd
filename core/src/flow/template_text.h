// Scanning of the Lua that flow texts embed: the {{ expression }} parts of a template, and the
// `steps.<id>` references inside Lua code (for "references an undefined step" checks). Pure
// functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::flow {

struct TemplateExpression {
  size_t open = 0;    // offset of the "{{" in the text
  size_t offset = 0;  // offset of the code (first non-space character after "{{")
  std::string code;   // trimmed
};

struct TemplateError {
  size_t offset = 0;
  size_t length = 0;
  std::string message;
  std::string hint;
};

struct TemplateScan {
  std::vector<TemplateExpression> expressions;
  std::vector<TemplateError> errors;  // an unclosed "{{", an empty "{{ }}"
};

TemplateScan scanTemplate(std::string_view text);

struct StepReference {
  std::string step;   // the id after "steps."
  size_t offset = 0;  // of "steps" in the code
  size_t length = 0;  // of the whole reference
};

// `steps.<id>` and `steps["<id>"]` occurrences in Lua code, outside string literals and comments.
std::vector<StepReference> stepReferences(std::string_view code);

}  // namespace waflow::core::flow
