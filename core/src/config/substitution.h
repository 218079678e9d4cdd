// ${...} substitution in config strings: ${NAME} and ${NAME:-default} read environment
// variables, ${file:path} reads a file (path relative to the config file's directory), and
// $${ is a literal ${. Thread-safe if the EnvLookup is.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::config {

// Returns the value of an environment variable, or nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Looks the name up in the process environment (std::getenv).
std::optional<std::string> processEnv(const std::string& name);

struct SubstitutionContext {
  std::string base_dir;  // where ${file:relative} paths start; "" = the current directory
  EnvLookup env = processEnv;
};

struct SubstitutionError {
  std::string kind;  // "env" (variables, syntax) or "file" (${file:}); callers add a prefix
  std::string message;
  std::string hint;
  size_t offset = 0;  // byte offset of the ${ in the input
  size_t length = 0;  // length of the whole ${...} expression
};

struct SubstitutionResult {
  std::string value;
  bool substituted = false;             // at least one ${...} was replaced
  std::vector<std::string> inserted;    // the non-empty texts that replaced ${...}
  std::vector<std::string> from_files;  // those that came from ${file:...}: always secrets
  std::vector<SubstitutionError> errors;
};

SubstitutionResult substitute(std::string_view text, const SubstitutionContext& context);

}  // namespace waflow::core::config
