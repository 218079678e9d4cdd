// Loading and validation of flow files: every *.yaml / *.yml in a flows directory (or one file)
// becomes a Flow (flow.h), and every problem found becomes a diag::Diagnostic with the file,
// line and column, a message, a hint and a link to the docs section ("see docs/flows.md#...",
// at the end of the hint). All problems are collected, not just the first:
//   - YAML syntax (kind flow-yaml);
//   - structure, types and unknown keys against docs/schema/flow.schema.json, with did-you-mean
//     (flow-schema), including "exactly one kind per step/condition" and per-trigger keys;
//   - duplicate flow ids across files and duplicate step ids in a flow (flow-ids);
//   - references to undefined steps (on_error goto:, steps.<id> in Lua), flows (call, goto,
//     schedule flow:, conversation in_flow), channels, AI instances and script functions
//     (flow-refs), checked against FlowContext when its sets are given;
//   - cron expressions (flow-cron), time zones (flow-tz), regexes (flow-regex), {{ }} syntax
//     (flow-template), and other values such as business hours and dates (flow-value);
//   - warnings for steps that can never run (flow-unreachable) and keys without effect.
// Lua code is not compiled here: FlowLoadOptions::check_lua, when set, is called for every
// snippet and its diagnostics are added.
// Stateless functions; thread-safe if the options' callbacks are.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/substitution.h"
#include "diag/diagnostic.h"
#include "flow/flow.h"

namespace waflow::core::flow {

// What flows may refer to. A set left as nullopt is not checked (e.g. `waflow validate` run on
// flows alone, without a waflow.yaml).
struct FlowContext {
  std::optional<std::set<std::string>> channels;          // channel instance ids
  std::optional<std::set<std::string>> ai;                // AI instance ids
  std::optional<std::set<std::string>> script_functions;  // functions defined in scripts/
  std::optional<std::set<std::string>> knowledge;         // knowledge base ids
};

// Checks one Lua snippet (e.g. compiles it); returns a diagnostic for a problem, whose file,
// line and column default to the snippet's when left 0.
using LuaSnippetCheck = std::function<std::optional<diag::Diagnostic>(const LuaSnippet&)>;

struct FlowLoadOptions {
  FlowContext context;
  // ${NAME} and ${file:...} in flow files, as in waflow.yaml.
  config::SubstitutionContext subst;
  LuaSnippetCheck check_lua;
  // The page diagnostics link to.
  std::string docs_page = "docs/flows.md";
};

// A flow file's name (as shown in diagnostics) and contents.
struct FlowSource {
  std::string file;
  std::string text;
};

struct FlowLoadResult {
  // Every flow that could be built, in file order; complete only when ok().
  std::vector<Flow> flows;
  std::vector<diag::Diagnostic> diagnostics;  // sorted by file, line, column
  std::vector<std::string> files;             // the files read, in order
  std::vector<std::string> secrets;           // ${...} values the logger must redact
  bool ok() const;                            // no errors (warnings allowed)
};

// Loads `path`: a directory (its *.yaml and *.yml files, not recursively, in name order; hidden
// files skipped) or a single file. Diagnostics name files as `path` joined with the file name.
FlowLoadResult loadFlows(const std::filesystem::path& path, const FlowLoadOptions& options = {});

// Loads flow files given as text (tests, stdin, files read elsewhere). Cross-file checks
// (duplicate ids, references to flows) cover all of `sources`.
FlowLoadResult loadFlowSources(const std::vector<FlowSource>& sources,
                               const FlowLoadOptions& options = {});

}  // namespace waflow::core::flow
