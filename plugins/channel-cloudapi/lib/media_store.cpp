#include "media_store.h"

#include "media.h"

#include <waflow/sdk/plugin.hpp>

namespace waflow::cloudapi {
namespace {

namespace fs = std::filesystem;
using waflow::Rc;

constexpr std::string_view kPartialPrefix = ".partial-";

}  // namespace

MediaStore::MediaStore(fs::path dir, uint64_t quota_bytes, std::chrono::milliseconds retention)
    : dir_(std::move(dir)), quota_(quota_bytes), retention_(retention) {}

MediaStore::Swept MediaStore::load() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    throw waflow::Error(Rc::kInvalid,
                        "media_dir '" + dir_.string() + "' cannot be created: " + ec.message());
  }
  std::lock_guard lock(mutex_);
  return rescanLocked(/*remove_partials=*/true, fs::file_time_type::min());
}

fs::path MediaStore::temporaryPath(const std::string& name) const {
  return dir_ / (std::string(kPartialPrefix) + name + "-" + randomHex(6));
}

void MediaStore::checkFits(const std::string& what, uint64_t bytes) const {
  if (quota_ > 0 && bytes > quota_) {
    throw waflow::Error(Rc::kInvalid, what + " is " + std::to_string(bytes) +
                                          " bytes, more than the whole media_quota (" +
                                          std::to_string(quota_) + ")");
  }
}

std::size_t MediaStore::commit(const fs::path& temp, const std::string& name, uint64_t bytes) {
  std::error_code ec;
  try {
    checkFits("media " + name, bytes);
  } catch (...) {
    fs::remove(temp, ec);
    throw;
  }
  std::lock_guard lock(mutex_);
  fs::rename(temp, dir_ / name, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw waflow::Error(Rc::kError, "cannot move " + temp.string() + " to " +
                                        (dir_ / name).string() + ": " + ec.message());
  }
  if (auto old = files_.find(name); old != files_.end()) {
    used_ -= old->second.bytes;
    files_.erase(old);
  }
  fs::file_time_type written = fs::last_write_time(dir_ / name, ec);
  files_[name] = Entry{bytes, ec ? fs::file_time_type::clock::now() : written};
  used_ += bytes;
  return evictLocked(name);
}

std::size_t MediaStore::evictLocked(const std::string& keep) {
  std::size_t evicted = 0;
  while (quota_ > 0 && used_ > quota_) {
    auto oldest = files_.end();
    for (auto it = files_.begin(); it != files_.end(); ++it) {
      if (it->first != keep &&
          (oldest == files_.end() || it->second.written < oldest->second.written)) {
        oldest = it;
      }
    }
    if (oldest == files_.end()) {
      break;
    }
    removeLocked(oldest);
    ++evicted;
  }
  return evicted;
}

void MediaStore::removeLocked(std::map<std::string, Entry>::iterator it) {
  std::error_code ec;
  fs::remove(dir_ / it->first, ec);
  used_ -= it->second.bytes;
  files_.erase(it);
}

MediaStore::Swept MediaStore::sweep(fs::file_time_type now) {
  std::lock_guard lock(mutex_);
  fs::file_time_type cutoff = retention_.count() > 0 ? now - retention_ : fs::file_time_type::min();
  return rescanLocked(/*remove_partials=*/false, cutoff);
}

MediaStore::Swept MediaStore::rescanLocked(bool remove_partials, fs::file_time_type cutoff) {
  Swept swept;
  files_.clear();
  used_ = 0;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) {
    throw waflow::Error(Rc::kInvalid,
                        "media_dir '" + dir_.string() + "' cannot be read: " + ec.message());
  }
  for (const fs::directory_entry& entry : it) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || entry.is_symlink(ec)) {
      continue;
    }
    if (name.starts_with(kPartialPrefix)) {
      // In progress (sweep), or left by a crash (load).
      if (remove_partials && fs::remove(entry.path(), ec)) {
        ++swept.partial;
      }
      continue;
    }
    fs::file_time_type written = entry.last_write_time(ec);
    if (ec) {
      continue;
    }
    if (written < cutoff) {
      if (fs::remove(entry.path(), ec)) {
        ++swept.expired;
      }
      continue;
    }
    uint64_t bytes = entry.file_size(ec);
    files_[name] = Entry{bytes, written};
    used_ += bytes;
  }
  evictLocked("");
  return swept;
}

uint64_t MediaStore::usedBytes() const {
  std::lock_guard lock(mutex_);
  return used_;
}

}  // namespace waflow::cloudapi
