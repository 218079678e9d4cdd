#include "daemon/context_threads.h"

#include <pthread.h>

#include <algorithm>

namespace waflow::core::daemon {

ContextThreads::ContextThreads(boost::asio::io_context& io, std::string name)
    : io_(io), name_(std::move(name)) {}

ContextThreads::~ContextThreads() {
  stop();
}

void ContextThreads::start(std::size_t count) {
  guard_.emplace(boost::asio::make_work_guard(io_));
  for (std::size_t i = 0; i < std::max<std::size_t>(count, 1); ++i) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
      io_.run();
    });
  }
}

void ContextThreads::stop() {
  guard_.reset();
  if (!threads_.empty()) {
    io_.stop();
  }
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
}

}  // namespace waflow::core::daemon
