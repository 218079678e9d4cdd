#include "download_slots.h"

#include <algorithm>
#include <vector>

namespace waflow::cloudapi {

DownloadSlots::DownloadSlots(const waflow::Host& host, std::size_t limit)
    : host_(host), limit_(std::max<std::size_t>(limit, 1)) {}

DownloadSlots::Permit& DownloadSlots::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = other.owner_;
    other.owner_ = nullptr;
  }
  return *this;
}

void DownloadSlots::Permit::reset() {
  if (owner_ != nullptr) {
    owner_->release();
    owner_ = nullptr;
  }
}

bool DownloadSlots::tryTake() {
  std::lock_guard lock(mutex_);
  if (closed_ || running_ >= limit_ || !waiters_.empty()) {
    return false;
  }
  ++running_;
  return true;
}

bool DownloadSlots::Acquire::await_suspend(std::coroutine_handle<> handle) {
  std::lock_guard lock(slots_.mutex_);
  if (slots_.closed_) {
    return false;  // resume at once without a slot
  }
  if (slots_.running_ < slots_.limit_ && slots_.waiters_.empty()) {
    ++slots_.running_;  // freed since await_ready
    ready_ = true;
    return false;
  }
  waiter_.handle = handle;
  slots_.waiters_.push_back(&waiter_);
  return true;
}

void DownloadSlots::release() {
  Waiter* next = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (!waiters_.empty() && !closed_) {
      next = waiters_.front();  // the slot passes straight to the longest waiter
      waiters_.pop_front();
      next->granted = true;
    } else {
      --running_;
    }
  }
  if (next != nullptr) {
    host_.post([handle = next->handle] { handle.resume(); });
  }
}

void DownloadSlots::close() {
  std::vector<Waiter*> woken;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    woken.assign(waiters_.begin(), waiters_.end());
    waiters_.clear();
  }
  for (Waiter* w : woken) {
    host_.post([handle = w->handle] { handle.resume(); });
  }
}

std::size_t DownloadSlots::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

std::size_t DownloadSlots::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

}  // namespace waflow::cloudapi
