// ResponseFile: the file one HTTP response body is streamed into (ClientRequest::response_file).
// It is opened on the first byte (or at completion, for an empty body), written as bytes arrive,
// and either kept (commit) or removed (discard). A ResponseFile that is destroyed without
// commit() removes what it created, so no failure path leaves a partial file behind.
//
// Thread-safety: none; one transfer's file is used on that transfer's strand only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace waflow::core {

class ResponseFile {
 public:
  ResponseFile() = default;
  ~ResponseFile() { discard(); }
  ResponseFile(const ResponseFile&) = delete;
  ResponseFile& operator=(const ResponseFile&) = delete;

  void setPath(std::string path) { path_ = std::move(path); }
  bool wanted() const { return !path_.empty(); }
  uint64_t bytes() const { return bytes_; }
  // Why the last open(), write() or commit() failed ("cannot write <path>: <reason>").
  const std::string& error() const { return error_; }

  // Creates (or truncates) the file; false with error() set on failure. Idempotent.
  bool open();
  // Appends; false with error() set when not every byte could be written (disk full, ...).
  bool write(const char* data, std::size_t size);
  // Closes the file and keeps it (an empty file when nothing was written); false with error() set
  // when closing fails, in which case the file is removed.
  bool commit();
  // Closes and removes the file if this object created it. Idempotent.
  void discard();

 private:
  bool fail(const char* what);

  std::string path_;
  std::string error_;
  int fd_ = -1;
  bool created_ = false;
  uint64_t bytes_ = 0;
};

}  // namespace waflow::core
