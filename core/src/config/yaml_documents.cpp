#include "config/yaml_documents.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <sstream>

namespace waflow::core::config {

namespace {

// Records where a document's first node is, and whether the document is a lone null — the
// shape of the parser's stuck turn.
class FirstNodeRecorder : public YAML::EventHandler {
 public:
  void reset() {
    first_.reset();
    events_ = 0;
    lone_null_ = false;
  }
  const std::optional<YAML::Mark>& first() const { return first_; }
  bool loneNull() const { return events_ == 1 && lone_null_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    lone_null_ = events_ == 0;
    node(mark);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (!first_) {
      first_ = mark;
    }
    ++events_;
  }

  std::optional<YAML::Mark> first_;
  std::size_t events_ = 0;
  bool lone_null_ = false;
};

bool samePlace(const YAML::Mark& a, const YAML::Mark& b) {
  return a.pos == b.pos;
}

}  // namespace

YamlDocuments scanYamlDocuments(const std::string& text, std::size_t max_documents) {
  YamlDocuments documents;
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  FirstNodeRecorder recorder;
  std::optional<YAML::Mark> previous_null;
  while (documents.starts.size() < max_documents && parser.HandleNextDocument(recorder)) {
    if (!recorder.first()) {
      recorder.reset();
      continue;
    }
    YAML::Mark start = *recorder.first();
    // A lone null where the previous lone null stood: the parser did not consume the token.
    if (recorder.loneNull() && previous_null && samePlace(*previous_null, start)) {
      documents.stuck_at = start;
      if (start.pos >= 0 && static_cast<std::size_t>(start.pos) < text.size()) {
        documents.stuck_char = text[static_cast<std::size_t>(start.pos)];
      }
      documents.starts.pop_back();
      break;
    }
    previous_null = recorder.loneNull() ? std::optional<YAML::Mark>(start) : std::nullopt;
    documents.starts.push_back(start);
    recorder.reset();
  }
  return documents;
}

std::string describeStuckToken(const YamlDocuments& documents) {
  char c = documents.stuck_char;
  if (c >= 0x21 && c <= 0x7e) {
    return std::string("invalid YAML: unexpected '") + c + "' here";
  }
  return "invalid YAML: the parser cannot read past this point";
}

}  // namespace waflow::core::config
