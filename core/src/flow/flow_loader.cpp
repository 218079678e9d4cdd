// The flow loader's entry points (flow_loader.h): reading a directory or a file, loading every
// file by its parts (flow/load/, one file at a time) and the checks across files.
#include "flow/flow_loader.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "flow/load/loaders.h"

namespace waflow::core::flow {
namespace {

bool readFile(const std::filesystem::path& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  text = buffer.str();
  return !in.bad();
}

diag::Diagnostic internalError(const std::string& file, const std::string& what) {
  diag::Diagnostic d;
  d.file = file;
  d.kind = "flow-internal";
  d.message = "this flow could not be read (" + what + ")";
  d.hint =
      "fix the other problems reported for this file; if there are none, please report "
      "this as a bug with the file";
  return d;
}

}  // namespace

bool FlowLoadResult::ok() const {
  return std::none_of(diagnostics.begin(), diagnostics.end(), [](const diag::Diagnostic& d) {
    return d.severity == diag::Severity::kError;
  });
}

FlowLoadResult loadFlowSources(const std::vector<FlowSource>& sources,
                               const FlowLoadOptions& options) {
  FlowLoadResult result;
  diag::DiagnosticList diagnostics;
  std::vector<std::vector<load::FlowRef>> refs;
  for (const FlowSource& source : sources) {
    result.files.push_back(source.file);
    load::LoadedFile loaded;
    try {
      loaded = load::loadFile(source, options, diagnostics, result.secrets);
    } catch (const std::exception& e) {
      // A shape the schema check let through and the loader did not expect: this file is
      // refused with a message, never the whole process (validate, start or a hot reload).
      diagnostics.add(internalError(source.file, e.what()));
    }
    if (loaded.flow) {
      result.flows.push_back(std::move(*loaded.flow));
      refs.push_back(std::move(loaded.flow_refs));
    }
  }
  load::checkFlowReferences(result.flows, refs, options, diagnostics);
  result.diagnostics = diagnostics.takeSorted();
  return result;
}

FlowLoadResult loadFlows(const std::filesystem::path& path, const FlowLoadOptions& options) {
  std::vector<FlowSource> sources;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  FlowLoadResult failed;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      const std::string ext = entry.path().extension().string();
      if (name.empty() || name[0] == '.' || (ext != ".yaml" && ext != ".yml") ||
          !entry.is_regular_file(ec)) {
        continue;
      }
      files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else if (std::filesystem::exists(path, ec)) {
    files.push_back(path);
  } else {
    diag::Diagnostic d;
    d.file = path.string();
    d.kind = "flow-file";
    d.message = "no such file or directory";
    d.hint = "flows are read from a directory of .yaml files or from one file";
    failed.diagnostics.push_back(std::move(d));
    return failed;
  }
  for (const std::filesystem::path& file : files) {
    FlowSource source{file.string(), {}};
    if (!readFile(file, source.text)) {
      diag::Diagnostic d;
      d.file = file.string();
      d.kind = "flow-file";
      d.message = "cannot read the file";
      d.hint = "check that it exists and is readable by the user running waflow";
      failed.diagnostics.push_back(std::move(d));
      continue;
    }
    sources.push_back(std::move(source));
  }
  FlowLoadResult result = loadFlowSources(sources, options);
  result.diagnostics.insert(result.diagnostics.end(), failed.diagnostics.begin(),
                            failed.diagnostics.end());
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(), diag::locationLess);
  return result;
}

}  // namespace waflow::core::flow
