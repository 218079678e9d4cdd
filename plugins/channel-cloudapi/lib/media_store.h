// MediaStore: the files of one channel's media_dir, kept within a quota (media_quota, total
// bytes) and a retention (media_retention, age).
//
// A download is written to a partial file (temporaryPath(), a name starting with ".partial-"
// that nothing else uses) and moved into place by commit() only once it is complete and checked.
// When a committed file would take the directory past the quota, the oldest files (by
// modification time) are deleted first, so the newest media, the likeliest to be needed, stays;
// a file larger than the whole quota is refused. sweep() deletes files older than the
// retention, and rescans the directory so files added or removed by hand are accounted for.
// Partial files left by a crash are removed by load(). Sub-directories are left alone.
//
// Thread-safety: every member may be called from any thread; file operations run under one
// mutex (they are renames, unlinks and directory scans, never content).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

namespace waflow::cloudapi {

class MediaStore {
 public:
  // quota_bytes 0 = no quota; retention 0 = files never expire.
  MediaStore(std::filesystem::path dir, uint64_t quota_bytes, std::chrono::milliseconds retention);

  struct Swept {
    std::size_t expired = 0;  // deleted for their age
    std::size_t partial = 0;  // partial files removed (load() only)
  };
  // Creates the directory if needed, removes partial files left behind, learns every file's
  // size and age. Throws waflow::Error(kInvalid) when the directory cannot be created or read.
  Swept load();

  // A fresh partial-file path for media `name` in the directory.
  std::filesystem::path temporaryPath(const std::string& name) const;

  // Throws waflow::Error(kInvalid) when `bytes` could never fit in the quota.
  void checkFits(const std::string& what, uint64_t bytes) const;

  // Moves the complete file `temp` (of `bytes` bytes) to <dir>/<name>, replacing an older copy,
  // and deletes the oldest other files until the directory is within the quota. Returns how
  // many were deleted. On failure `temp` is removed and waflow::Error is thrown.
  std::size_t commit(const std::filesystem::path& temp, const std::string& name, uint64_t bytes);

  // Deletes files last written before now - retention (nothing when retention is 0).
  Swept sweep(std::filesystem::file_time_type now = std::filesystem::file_time_type::clock::now());

  uint64_t usedBytes() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Entry {
    uint64_t bytes = 0;
    std::filesystem::file_time_type written;
  };
  Swept rescanLocked(bool remove_partials, std::filesystem::file_time_type cutoff);
  std::size_t evictLocked(const std::string& keep);
  void removeLocked(std::map<std::string, Entry>::iterator it);

  const std::filesystem::path dir_;
  const uint64_t quota_;
  const std::chrono::milliseconds retention_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> files_;
  uint64_t used_ = 0;
};

}  // namespace waflow::cloudapi
