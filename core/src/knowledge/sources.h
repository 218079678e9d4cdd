// Knowledge sources on disk: the files a `knowledge:` entry names (files, or folders searched
// recursively for .md, .markdown, .txt and .csv files), their SHA-256 checksums, and the
// passages retrieved from them as they are shown to an AI model.
//
// Thread-safety: stateless functions; safe from any thread (they read the file system).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::core::knowledge {

struct SourceFile {
  std::string path;  // absolute (or as configured when given absolute)
  std::string name;  // what the passages cite: relative to the base directory when under it
};

struct SourceList {
  std::vector<SourceFile> files;    // sorted by name, each once
  std::vector<std::string> errors;  // sources that do not exist or cannot be read
};

// The files of `sources` (paths relative to `base_dir` unless absolute). A file source of an
// unsupported type is an error; in folders such files are skipped, as are hidden files and
// folders (names starting with '.').
SourceList listSources(const std::vector<std::string>& sources, const std::string& base_dir);

// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

// Reads a whole file; false (with `error` set to the reason) when it cannot be read.
bool readFile(const std::string& path, std::string& contents, std::string& error);

// One retrieved passage.
struct Passage {
  std::string knowledge;  // the knowledge id it came from
  std::string path;       // the source file, as SourceFile::name
  std::string title;      // heading path or FAQ question; may be empty
  std::string text;
  double score = 0;  // higher is better; comparable only within one result list
};

// The passages as prompt text, numbered, each with its source:
//   [1] faq.csv: Berapa ongkir ke Surabaya?
//   Ongkir ke Surabaya Rp10.000 ...
// "" for no passages.
std::string formatPassages(const std::vector<Passage>& passages);

}  // namespace waflow::core::knowledge
