#include "http_client/response_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace waflow::core {

bool ResponseFile::fail(const char* what) {
  error_ = std::string("cannot ") + what + " response file " + path_ + ": " + std::strerror(errno);
  discard();
  return false;
}

bool ResponseFile::open() {
  if (fd_ >= 0) {
    return true;
  }
  // O_NOFOLLOW: a symbolic link planted at the path must not redirect the write elsewhere.
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd_ < 0) {
    return fail("create");
  }
  created_ = true;
  return true;
}

bool ResponseFile::write(const char* data, std::size_t size) {
  if (!open()) {
    return false;
  }
  while (size > 0) {
    ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return fail("write");
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    bytes_ += static_cast<uint64_t>(n);
  }
  return true;
}

bool ResponseFile::commit() {
  if (!open()) {
    return false;
  }
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    return fail("close");
  }
  created_ = false;  // kept: no longer ours to remove
  return true;
}

void ResponseFile::discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (created_) {
    ::unlink(path_.c_str());
    created_ = false;
  }
}

}  // namespace waflow::core
