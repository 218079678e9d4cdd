// A bounded look at the documents of a YAML stream, made before it is loaded into nodes.
//
// yaml-cpp 0.7 (Debian 12's) has a parser fault: a token that cannot start a node where it
// stands — a ',' at the start of a file, for one — is reported as a null document without being
// consumed, so the next document starts on the same token again. `YAML::LoadAll` then loops
// forever, allocating a null node per turn until memory runs out (yaml-cpp issue 1040, fixed
// upstream in 0.8.1 by pull request 1319), and `YAML::Load` quietly returns null, which would
// read a garbled config file as an empty one. This scan walks the stream's documents with a
// progress check, so an operator's file is never loaded with a stuck token in it.
//
// Thread-safety: pure functions.
#pragma once

#include <yaml-cpp/mark.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace waflow::core::config {

struct YamlDocuments {
  // Where each document's first node starts (at most `max_documents`).
  std::vector<YAML::Mark> starts;
  // Set when the parser stopped making progress: the position of the token it could not read,
  // and that token's first character.
  std::optional<YAML::Mark> stuck_at;
  char stuck_char = 0;
};

// Walks the documents of `text`, stopping after `max_documents` or at the first token the
// parser cannot get past. Throws YAML::ParserException for YAML the parser rejects outright,
// exactly as YAML::Load does.
YamlDocuments scanYamlDocuments(const std::string& text, std::size_t max_documents);

// The message for a stuck token: "unexpected ',' here".
std::string describeStuckToken(const YamlDocuments& documents);

}  // namespace waflow::core::config
