// The context every part of the flow loader shares while it reads one file: the file's text and
// the positions of its YAML nodes (line, column, byte offset), the diagnostics sink, the Lua
// snippets found so far and the step they are in, and the references to other flows, checked
// once every file is loaded. Also the small helpers the parts use to read nodes and values and
// to word messages. Internal to the loader (flow_loader.cpp and flow/load/).
//
// Thread-safety: a LoadContext belongs to the one thread loading its file; the free functions
// are pure.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "diag/diagnostic.h"
#include "flow/flow.h"
#include "flow/flow_loader.h"
#include "regex/user_regex.h"

namespace waflow::core::flow::load {

using nlohmann::json;

// ---- Words -----------------------------------------------------------------------------------

bool contains(const std::vector<std::string>& list, std::string_view item);
std::string quote(std::string_view text);
std::string joinList(const std::vector<std::string>& items);
// "message.received" -> "message-received", "business_hours" -> "business-hours": doc anchors.
std::string dotsToDashes(std::string text);
// "did you mean 'x'?", or the known names when they are few, or "".
std::string didYouMean(std::string_view word, const std::set<std::string>& known);

// ---- Nodes and values ------------------------------------------------------------------------

// The key node of `name` in a mapping (for positions), or an undefined node.
YAML::Node keyNode(const YAML::Node& map, std::string_view name);
// The value of `name` in a mapping, or an undefined node. (yaml-cpp's operator[] returns an
// invalid node for a missing key, on which most calls throw.)
YAML::Node child(const YAML::Node& map, const std::string& name);
Position posOf(const YAML::Node& node);
// A string or a list of strings, as a list (other items skipped).
std::vector<std::string> stringList(const json& value);
// object[key] when it is a string, else "".
std::string str(const json& object, const char* key);

// A reference to another flow (call, goto, schedule flow:, conversation in_flow), checked when
// every file is loaded (references.cpp).
struct FlowRef {
  std::string flow;
  Position pos;
  std::string what;  // "call", "goto", ...
  std::string anchor;
};

// ---- The file being loaded -------------------------------------------------------------------

class LoadContext {
 public:
  LoadContext(const FlowSource& source, const FlowLoadOptions& options, diag::DiagnosticList& out);

  const FlowSource& source() const { return source_; }
  const FlowLoadOptions& options() const { return options_; }
  // What flows may refer to (options().context).
  const FlowContext& known() const { return options_.context; }

  // Adds a diagnostic; the hint ends with the link to docs_page#anchor.
  void report(Position pos, std::string kind, std::string message, std::string hint,
              std::string_view anchor, diag::Severity severity = diag::Severity::kError,
              int length = 0);
  // report() at a node; a plain one-line scalar is underlined whole.
  void reportAt(const YAML::Node& node, std::string kind, std::string message, std::string hint,
                std::string_view anchor, diag::Severity severity = diag::Severity::kError);

  // Byte offset of a node's mark, and of where its text starts (after a quote or block header).
  std::optional<size_t> offsetOf(const YAML::Node& node) const;
  size_t contentStart(size_t offset) const;
  Position positionOfOffset(size_t offset) const;

  // The typed value (defaults filled, durations in milliseconds) of one list item; its
  // diagnostics were reported by the whole-file validation.
  json convertItem(const YAML::Node& item, const json& schema, const std::string& path);

  // A text and its {{ }} expressions, each one a snippet at its exact place in the file.
  Text makeText(const YAML::Node& node, const json& value, const std::string& where);
  // A whole value as a Lua expression (if:, rule:, match:, a lua: condition).
  LuaSnippet makeExpression(const YAML::Node& node, const json& value, const std::string& where);
  // The {{ }} of every string inside a JSON value (http body, emit data, ...).
  void collectTemplates(const YAML::Node& node, const json& value, const std::string& where);

  void checkRegex(const YAML::Node& node, const std::string& pattern, const std::string& what,
                  std::string_view anchor);
  void checkTimeZone(const YAML::Node& node, const std::string& tz, std::string_view anchor);
  // `id` is one of `known` (when that set is given), else a flow-refs error naming `what`.
  void checkKnown(const YAML::Node& node, const std::string& id,
                  const std::optional<std::set<std::string>>& known, const std::string& what,
                  std::string_view anchor);

  // The step being loaded: snippets found meanwhile belong to it (a step may only read the
  // output of steps above it), and classify names its insight after its id.
  void enterStep(int index) { current_step_ = index; }
  void setStepId(std::string id) { current_step_id_ = std::move(id); }
  void leaveStep() { current_step_ = -1; }
  const std::string& stepId() const { return current_step_id_; }

  // Every snippet found, in file order, and per snippet the step index (-1 outside steps).
  std::vector<LuaSnippet> takeSnippets() { return std::move(snippets_); }
  const std::vector<int>& snippetSteps() const { return snippet_steps_; }

  void referToFlow(FlowRef ref) { flow_refs_.push_back(std::move(ref)); }
  std::vector<FlowRef> takeFlowRefs() { return std::move(flow_refs_); }

 private:
  void addSnippet(const LuaSnippet& snippet);
  Position regexErrorPosition(const YAML::Node& node, const std::string& pattern,
                              const regex::RegexError& error) const;

  const FlowSource& source_;
  const FlowLoadOptions& options_;
  diag::DiagnosticList& out_;
  std::vector<size_t> line_starts_;
  std::vector<LuaSnippet> snippets_;
  std::vector<int> snippet_steps_;  // per snippets_ entry: the step index, -1 outside steps
  int current_step_ = -1;
  std::string current_step_id_;  // the id of the step being loaded ("" = none)
  std::vector<FlowRef> flow_refs_;
};

}  // namespace waflow::core::flow::load
