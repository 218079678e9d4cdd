// Mailboxes — the sandbox channel's replies, kept per contact for local listeners (`waflow
// chat`, tests) to read with a long poll.
//
// Memory is bounded three ways, because whoever reaches the sandbox can make the bot answer
// as many contacts as it likes: each mailbox keeps at most `replies_per_contact` replies and
// `bytes_per_contact` bytes (its oldest replies are dropped first); all mailboxes together
// keep at most `total_bytes` (the oldest replies of the mailbox used longest ago are dropped
// first); and at most `contacts` mailboxes exist (the one used longest ago goes whole).
// Dropped replies are counted, per mailbox and in total; the newest reply is always kept.
//
// Thread-safety: all methods may be called from any thread (one mutex).
#pragma once

#include <waflow/sdk/host.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace waflow::sandbox {

class Mailboxes {
 public:
  struct Limits {
    std::size_t replies_per_contact = 1000;
    std::size_t bytes_per_contact = 1024 * 1024;
    std::size_t total_bytes = 64 * 1024 * 1024;
    std::size_t contacts = 10000;
  };

  explicit Mailboxes(Limits limits) : limits_(limits) {}

  // Queues `reply` for `contact`, numbering it ("seq"); returns the signal to notify so that
  // waiting listeners read it.
  waflow::Signal put(const std::string& contact, nlohmann::json reply);
  // Counts a typing indicator shown to `contact`; returns the signal to notify.
  waflow::Signal typing(const std::string& contact);

  struct Read {
    nlohmann::json replies = nlohmann::json::array();  // with seq > after, oldest first
    uint64_t next = 0;                                 // the seq to pass as `after` next time
    uint64_t typing = 0;                               // typing indicators shown so far
    uint64_t dropped = 0;    // replies of this contact dropped to stay within the limits
    waflow::Signal arrived;  // notified when something new arrives
  };
  Read read(const std::string& contact, uint64_t after);

  uint64_t droppedTotal() const;
  std::size_t totalBytes() const;

 private:
  struct Stored {
    nlohmann::json reply;
    std::size_t bytes;
  };
  struct Mailbox {
    std::deque<Stored> replies;
    std::size_t bytes = 0;
    uint64_t last_seq = 0;
    waflow::Signal arrived;  // replaced after each notify
    uint64_t touch = 0;      // key in touched_
    uint64_t typing = 0;
    uint64_t dropped = 0;
  };

  // The contact's mailbox, created on first use (dropping the one used longest ago when
  // there are too many). Caller holds mutex_.
  Mailbox& mailbox(const std::string& contact);
  void dropOldest(Mailbox& box);
  // Drops replies until the total fits, sparing `keep`'s newest reply. Caller holds mutex_.
  void fitTotal(const Mailbox& keep);
  // Swaps in a fresh signal and returns the one to notify. Caller holds mutex_.
  static waflow::Signal wake(Mailbox& box);

  const Limits limits_;
  mutable std::mutex mutex_;
  std::map<std::string, Mailbox> mailboxes_;
  std::map<uint64_t, std::string> touched_;  // last use -> contact, oldest first
  uint64_t clock_ = 0;
  std::size_t total_bytes_ = 0;
  uint64_t dropped_total_ = 0;
};

}  // namespace waflow::sandbox
